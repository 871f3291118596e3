"""The record pages in a headless Chromium against a real `auction serve` process: the
result announcement (before and after the end, with its chart), the supervisor page with
its collusion flags and links, and the printable report where a host settles a deposit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from browser_pages import Pages
from lotplay import make_lot, staff_request
from playwright.async_api import expect

from helpers import ServerProcess
from web.client import LotClient

pytestmark = pytest.mark.browser

WAIT = 15_000
DURATION_S = 5


async def played_lot(server: ServerProcess) -> tuple[str, dict[str, str]]:
    """A lot of a few seconds where two bidders bid from this machine; returns its id
    and the bidder numbers by bidder id. The lot is still open on return."""
    lot = await make_lot(server, "english", {
        "start_price": "1000000.00", "step": "10000.00", "deposit": "50000.00",
        "duration_s": DURATION_S}, ("co-a", "co-b"), title="国有建设用地使用权 东区-7",
        name="{} 有限公司", account="6222-{}")
    lot_id, numbers = lot.lot_id, lot.numbers
    clients = [LotClient(server.ws_url, lot_id, b.token) for b in lot.bidders.values()]
    for client in clients:
        await client.connect()
        await client.wait_for(lambda c: bool(c.state))
    for i, amount in enumerate(["1000000.00", "1010000.00", "1020000.00"]):
        answer = await clients[i % 2].bid(amount)
        assert answer["type"] == "ack", answer
    for client in clients:
        await client.close()
    return lot_id, numbers


async def test_the_result_page_announces_the_result_with_its_chart(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot_id, numbers = await played_lot(server)
    page = await pages.open(f"{server.base}/result/{lot_id}")
    message = page.locator("#message")
    await expect(message).to_contain_text("尚未结束", timeout=WAIT)  # still open
    await expect(page.locator("#figures")).to_be_hidden()

    await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                            timeout=(DURATION_S + 10) * 1000)
    await expect(message).to_be_hidden()
    await expect(page.locator("#winner-no")).to_have_text(numbers["co-a"])
    await expect(page.locator("#price")).to_have_attribute("data-amount", "1020000.00")
    await expect(page.locator("#price")).to_have_text("¥1,020,000.00")
    await expect(page.locator("#bidders")).to_have_text("2")
    await expect(page.locator("#bid-count")).to_have_text("3")
    await expect(page.locator("#result")).to_contain_text(numbers["co-a"])
    dots = page.locator("#chart circle.chart-dot")
    await expect(dots).to_have_count(3)
    await expect(page.locator("#chart circle.winning")).to_have_attribute("data-amount",
                                                                          "1020000.00")
    assert await dots.nth(0).get_attribute("data-bidder-no") == numbers["co-a"]
    await expect(page.locator("#chart polyline.chart-line")).to_have_count(1)
    await expect(page.locator("#history tbody tr")).to_have_count(3)
    result = await staff_request(server, "GET", f"/api/lots/{lot_id}/result")
    await expect(page.locator("#record .hash").first).to_have_text(
        result["record"]["outcome_hash"])
    body = await page.locator("main").inner_text()
    assert "co-a" not in body and "6222" not in body and "127.0.0.1" not in body

    await page.click("#lang-toggle")
    await expect(page.locator("#result")).to_contain_text(f"Awarded to bidder {numbers['co-a']}")
    await expect(page.locator("h2", has_text="Price history")).to_be_visible()
    assert pages.errors == []


async def test_the_supervisor_page_shows_flags_and_leads_to_the_report(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot_id, numbers = await played_lot(server)
    await asyncio.sleep(DURATION_S + 1)

    page = await pages.open(f"{server.base}/supervisor#token={ServerProcess.SUPERVISOR_TOKEN}",
                            accept_downloads=True)
    row = page.locator(f'#lots tr[data-lot-id="{lot_id}"]')
    await expect(row).to_be_visible(timeout=WAIT)
    await expect(row).not_to_have_attribute("data-flags", "0")
    flag = page.locator('#per-lot li[data-check="shared_address"]')
    await expect(flag).to_contain_text("127.0.0.1")
    await expect(flag).to_contain_text(numbers["co-a"])
    await expect(page.locator("#across li.empty")).to_be_visible()
    async with page.expect_download() as download:
        await row.locator("button").click()
    saved = await (await download.value).path()
    assert b'"format_version":1' in Path(saved).read_bytes()

    await row.locator("a.report-link").click()
    await expect(page).to_have_url(f"{server.base}/report/{lot_id}")
    await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                            timeout=WAIT)
    bids = page.locator("#bids tbody tr")
    await expect(bids).to_have_count(3)
    await expect(bids.first).to_contain_text("co-a 有限公司")
    await expect(bids.first).to_contain_text("127.0.0.1")
    await expect(page.locator('#flags li[data-check="shared_address"]')).to_be_visible()
    await expect(page.locator("#connections tbody tr")).to_have_count(4)
    await expect(page.locator("#timeline tbody tr")).to_have_count(
        len((await staff_request(server, "GET", f"/api/lots/{lot_id}/events",
                                 token=ServerProcess.SUPERVISOR_TOKEN))["events"]))
    async with page.expect_download() as download:
        await page.click("#csv")
    csv_bytes = Path(await (await download.value).path()).read_bytes()
    assert csv_bytes.startswith("\ufeff".encode()) and "co-b 有限公司".encode() in csv_bytes

    # A supervisor may not settle deposits: the server says so.
    loser = page.locator('#deposits tr[data-bidder-id="co-b"]')
    await expect(loser).to_have_attribute("data-status", "refundable")
    await loser.locator(".settle-reason").fill("退还至原账户")
    await loser.locator('button[data-action="refund"]').click()
    await expect(page.locator("#message")).to_have_attribute("data-code", "forbidden")
    assert pages.errors == []


async def test_a_host_settles_a_deposit_on_the_report_page(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot_id, _ = await played_lot(server)
    await asyncio.sleep(DURATION_S + 1)
    page = await pages.open(f"{server.base}/report/{lot_id}#token={ServerProcess.HOST_TOKEN}")
    loser = page.locator('#deposits tr[data-bidder-id="co-b"]')
    await expect(loser).to_have_attribute("data-status", "refundable", timeout=WAIT)
    await loser.locator('button[data-action="refund"]').click()
    await expect(page.locator("#message")).to_have_attribute("data-code", "reason_required")
    await loser.locator(".settle-reason").fill("退还至原账户")
    await loser.locator('button[data-action="refund"]').click()
    await expect(loser).to_have_attribute("data-status", "refunded", timeout=WAIT)
    await expect(loser.locator(".dep-status")).to_have_text("已退还")
    winner = page.locator('#deposits tr[data-bidder-id="co-a"]')
    await winner.locator(".settle-reason").fill("转为成交价款")
    await winner.locator('button[data-action="apply"]').click()
    await expect(winner).to_have_attribute("data-status", "applied", timeout=WAIT)
    ledger = await staff_request(server, "GET", f"/api/lots/{lot_id}/deposits")
    assert {d["bidder_id"]: d["status"] for d in ledger["deposits"]} == {
        "co-a": "applied", "co-b": "refunded"}
    await expect(page.locator("#actions tbody tr", has_text="退还保证金")).to_contain_text(
        "退还至原账户")
    assert pages.errors == []
