"""The supervisor's page, the hall's big screen, the result announcement and the printed
report in a headless Chromium on a real server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from test_listing_timed_ws import listing_lot
from web_support import SUPERVISOR_TOKEN, Server

from auction.trade.results import publicity_end
from web.workdays import china_calendar

pytestmark = pytest.mark.browser

WAIT = 10_000


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Any]:
    contexts = []
    errors: list[str] = []

    async def open_(url: str, **context: Any) -> Page:
        ctx = await browser.new_context(**context)
        contexts.append(ctx)
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{url}: {exc}"))
        await page.goto(url)
        return page

    open_.errors = errors  # type: ignore[attr-defined]
    yield open_
    for ctx in contexts:
        await ctx.close()
    assert errors == []


async def test_a_token_link_opened_in_a_tab_already_on_the_supervisor_page_signs_it_in(
        server: Server, open_page: Any) -> None:
    lot_id = await server.make_lot()
    page = await open_page(f"{server.base}/supervisor")
    await expect(page.locator("#message")).to_have_attribute("data-kind", "error")
    await page.evaluate("(token) => { location.hash = `token=${token}`; }", SUPERVISOR_TOKEN)
    await expect(page.locator(f'#lots tr[data-lot-id="{lot_id}"]')).to_have_count(1, timeout=WAIT)
    await expect(page.locator("#message")).to_be_hidden()
    assert "#token" not in page.url


async def test_the_board_of_an_unknown_lot_says_so_instead_of_connecting(
        server: Server, open_page: Any) -> None:
    page = await open_page(f"{server.base}/board/NO-SUCH-LOT")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "unknown", timeout=WAIT)
    await expect(page.locator("#conn")).to_have_text("未找到该标的")
    await expect(page.locator("#message")).to_contain_text("NO-SUCH-LOT")
    await asyncio.sleep(2.5)  # no retry brings "connecting" back
    await expect(page.locator("#conn")).to_have_attribute("data-state", "unknown")


async def test_the_board_shows_a_clock_a_live_chart_and_the_final_price_after_the_end(
        server: Server, open_page: Any) -> None:
    lot_id, (t1, t2) = await server.open_lot(duration_s=4)
    page = await open_page(f"{server.base}/board/{lot_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    clock = page.locator("#wall-clock")
    await expect(clock).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    first = await clock.text_content()
    await expect(clock).not_to_have_text(first or "", timeout=3000)  # it runs
    one, two = await server.connect(), await server.connect()
    await one.subscribe(lot_id, t1)
    await two.subscribe(lot_id, t2)
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    await expect(page.locator("#chart")).to_have_attribute("data-points", "1", timeout=WAIT)
    assert (await two.bid(lot_id, "110.00"))["type"] == "ack"
    await expect(page.locator("#chart")).to_have_attribute("data-points", "2", timeout=WAIT)
    await expect(page.locator("#best-label")).to_have_text("当前最高价")
    await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                            timeout=WAIT)
    await expect(page.locator("#best-label")).to_have_text("成交价")
    await expect(page.locator("#best")).to_have_attribute("data-amount", "110.00")
    await expect(page.locator("#chart .chart-dot.winning")).to_have_attribute("data-amount",
                                                                             "110.00")
    await page.click("#lang-toggle")
    await expect(page.locator("#best-label")).to_have_text("Final price")


@pytest.mark.parametrize(("small", "large"), [((1280, 720), (3840, 2160))])
async def test_the_board_scales_to_the_display_it_is_shown_on(
        server: Server, open_page: Any, small: tuple[int, int], large: tuple[int, int]) -> None:
    lot_id, _ = await server.open_lot()
    sizes = {}
    for width, height in (small, large):
        page = await open_page(f"{server.base}/board/{lot_id}",
                               viewport={"width": width, "height": height})
        await expect(page.locator("#conn")).to_have_attribute("data-state", "online",
                                                              timeout=WAIT)
        sizes[width] = await page.evaluate("""() => ({
          price: parseFloat(getComputedStyle(document.getElementById('countdown')).fontSize),
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        })""")
        assert sizes[width]["overflow"] <= 0, sizes
        await expect(page.locator("#fullscreen")).to_be_visible()
    assert sizes[large[0]]["price"] >= 2 * sizes[small[0]]["price"], sizes


async def test_the_board_explains_a_lottery_in_words(server: Server, open_page: Any) -> None:
    lot_id, (t1, t2, _) = await listing_lot(server, 3, ends_ms=60_000, cap="150.00",
                                            cap_rule="lottery", cap_confirm_s=1)
    page = await open_page(f"{server.base}/board/{lot_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    await expect(page.locator("#lottery")).to_be_hidden()
    one, two = await server.connect(), await server.connect()
    await one.subscribe(lot_id, t1)
    await two.subscribe(lot_id, t2)
    assert (await one.bid(lot_id, "150.00"))["type"] == "ack"
    await expect(page.locator("#lottery-text")).to_contain_text("公开摇号", timeout=WAIT)
    assert (await two.act(lot_id, "accept_cap"))["type"] == "ack"
    await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                            timeout=WAIT)
    result = await server.ok("GET", f"/api/lots/{lot_id}")
    draw = result.get("state", result)["play"]["draw"]
    text = page.locator("#lottery-text")
    await expect(text).to_contain_text(draw["seed"])
    await expect(text).to_contain_text(f"竞买号 {draw['winner_no']}，竞得本标的")
    await expect(text).to_contain_text("、".join(draw["candidates"]))


async def test_the_result_announcement_names_its_issuer_contact_and_publicity_period(
        make_server: Any, open_page: Any) -> None:
    server = await make_server(center_name="某市公共资源交易中心", center_contact="0571-8888 6666",
                               publicity_days=7)
    lot_id, _ = await server.open_lot()
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "标的信息有误"})
    result = await server.ok("GET", f"/api/lots/{lot_id}/result", token=None)
    assert result["issuer"] == {"name": "某市公共资源交易中心", "contact": "0571-8888 6666"}
    ends = publicity_end(result["publicity"]["from"], 7, china_calendar())  # working days
    assert result["publicity"]["until"] == ends
    page = await open_page(f"{server.base}/result/{lot_id}")
    await expect(page.locator('#notice-info dd[data-field="issuer"]')).to_have_text(
        "某市公共资源交易中心", timeout=WAIT)
    await expect(page.locator('#notice-info dd[data-field="contact"]')).to_have_text(
        "0571-8888 6666")
    await expect(page.locator('#notice-info dd[data-field="publicity"]')).to_contain_text(
        "（7 个工作日）")


async def test_the_result_announcement_says_a_lot_was_decided_by_lottery(
        server: Server, open_page: Any) -> None:
    lot_id, (t1, t2, _) = await listing_lot(server, 3, ends_ms=60_000, cap="150.00",
                                            cap_rule="lottery", cap_confirm_s=1)
    one, two = await server.connect(), await server.connect()
    await one.subscribe(lot_id, t1)
    await two.subscribe(lot_id, t2)
    assert (await one.bid(lot_id, "150.00"))["type"] == "ack"
    await asyncio.sleep(0.2)
    assert (await two.act(lot_id, "accept_cap"))["type"] == "ack"
    async with asyncio.timeout(10):  # the draw, then the record holds the end
        while (answer := await server.call("GET", f"/api/lots/{lot_id}/result",
                                           token=None))[0] != 200:
            await asyncio.sleep(0.2)
    result = answer[1]
    draw = result["draw"]
    assert draw["winner_no"] == result["outcome"]["bidder_no"] and len(draw["candidates"]) == 2
    page = await open_page(f"{server.base}/result/{lot_id}")
    text = page.locator("#lottery-text")
    await expect(text).to_contain_text("公开摇号", timeout=WAIT)
    await expect(text).to_contain_text(f"竞买号 {draw['winner_no']}，竞得本标的")
    await page.click("#lang-toggle")
    await expect(text).to_contain_text(f"bidder {draw['winner_no']}, wins the lot")


async def test_the_printed_report_has_a_header_signatures_page_numbers_and_reads_in_words(
        make_server: Any, open_page: Any) -> None:
    server = await make_server(center_name="某市公共资源交易中心")
    lot_id = await server.make_lot()
    for bidder in ("b1", "b2"):
        await server.register(lot_id, bidder, deposit=False)
        await server.ok("POST", f"/api/lots/{lot_id}/bidders/{bidder}/deposit",
                        {"amount": "50.00", "account": "6222 0000 1111"})  # one account
    await server.open(lot_id)
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "标的信息有误"})
    page = await open_page(f"{server.base}/report/{lot_id}#token={SUPERVISOR_TOKEN}")
    await expect(page.locator("#center-name")).to_have_text("某市公共资源交易中心", timeout=WAIT)
    await expect(page.locator(".doc-title")).to_have_text("竞价过程报告")
    await expect(page.locator("#signatures")).to_contain_text("监督人（签字）")
    await expect(page.locator("#signatures")).to_contain_text("交易中心（盖章）")
    cancelled = page.locator("#actions tbody tr", has_text="取消标的")
    await expect(cancelled).to_contain_text("标的信息有误")
    # No event names, raw JSON or Unix milliseconds in what a reader sees.
    for table in ("#actions", "#timeline"):
        text = await page.locator(f"{table} tbody").inner_text()
        assert text.strip()
        for raw in ("LotCancelled", "DepositConfirmed", "{", "}", "="):
            assert raw not in text, (table, raw, text)
        assert not re.search(r"\d{13}", text), (table, text)
    flags = page.locator('#flags li[data-check="shared_account"]')
    await expect(flags).to_have_count(1)
    evidence = await flags.locator(".evidence").all_inner_texts()
    assert evidence and not any("{" in e or '"' in e for e in evidence), evidence
    # Printed: A4 margins and page numbers; the toolbar stays off paper, the header on it.
    page_rule = await page.evaluate("""() => {
      for (const sheet of document.styleSheets) for (const rule of sheet.cssRules) {
        if (rule instanceof CSSPageRule) return rule.cssText;
      }
      return "";
    }""")
    assert "margin" in page_rule and "counter(page)" in page_rule, page_rule
    await page.emulate_media(media="print")
    await expect(page.locator(".toolbar")).to_be_hidden()
    await expect(page.locator(".doc-head")).to_be_visible()
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
