"""The host console and the report's deposit controls in a headless Chromium, on a real
server: one request per submit however often it is clicked, confirmations before
irreversible actions (and a warning before starting a lot nobody may bid in), the labels
a host reads, and the extension asked as a closing time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Dialog, Page, expect
from web_support import HOST_TOKEN, Server

pytestmark = pytest.mark.browser

WAIT = 10_000
#: The center's time zone (the default setting), in which the console reads date-times.
CENTER = ZoneInfo("Asia/Shanghai")


class Console:
    """A page in its own context; each dialog's text is kept, and answered with
    ``self.answer`` (True: accept, False: dismiss)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.answer = True
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    async def dialogs_reach(self, n: int) -> None:
        async with asyncio.timeout(WAIT / 1000):
            while len(self.dialogs) < n:
                await asyncio.sleep(0.05)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        asyncio.ensure_future(dialog.accept() if self.answer else dialog.dismiss())


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Any]:
    contexts = []

    async def open_(url: str) -> Console:
        context = await browser.new_context()
        contexts.append(context)
        console = Console(await context.new_page())
        await console.page.goto(url)
        return console

    yield open_
    for context in contexts:
        await context.close()


async def host_console(server: Server, open_page: Any, lot_id: str | None = None) -> Console:
    """The host console with the staff token; ``lot_id`` selected and live."""
    console = await open_page(f"{server.base}/host#token={HOST_TOKEN}")
    page = console.page
    if lot_id is not None:
        await page.locator(f'#lots .lot-item[data-lot-id="{lot_id}"]').click(timeout=WAIT)
        await expect(page.locator("#selected")).to_have_attribute("data-lot-id", lot_id)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    return console


async def lot_status(server: Server, lot_id: str) -> str:
    lot = await server.ok("GET", f"/api/lots/{lot_id}")
    return str(lot.get("state", lot)["status"])


async def test_a_double_click_on_each_host_submit_sends_one_request(
        server: Server, open_page: Any) -> None:
    console = await host_console(server, open_page)
    page = console.page
    await page.fill("#session-name", "双击测试")
    await page.dblclick("#create-session")
    await expect(page.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await page.fill("#lot-title", "某地块")
    await page.dblclick("#create-lot")
    await expect(page.locator("#selected")).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await page.locator("#selected").get_attribute("data-lot-id")
    await page.fill("#bidder-id", "A")
    await page.fill("#bidder-name", "甲公司")
    await page.dblclick("#register")
    link = page.locator('#bidder-links li[data-bidder-id="A"]')
    await expect(link).to_have_count(1, timeout=WAIT)
    # A double click's second click coming after the answer (a fast server, a slow
    # machine) is still the same submit: nothing more is sent, nothing shown is cleared.
    for button in ("#create-session", "#create-lot", "#register"):
        await page.dispatch_event(button, "click", {"detail": 2})
    await asyncio.sleep(0.5)  # a second request, had one gone out, has landed by now
    sessions = await server.ok("GET", "/api/sessions")
    lots = await server.ok("GET", "/api/lots")
    events = await server.ok("GET", f"/api/lots/{lot_id}/events")
    assert len(sessions.get("sessions", sessions)) == 1
    assert len(lots.get("lots", lots)) == 1
    assert [e["event"]["type"] for e in events["events"]].count("BidderRegistered") == 1
    await expect(page.locator("#message")).to_have_attribute("data-kind", "ok")
    assert console.errors == []


async def test_starting_a_lot_asks_first_and_warns_when_no_bidder_is_eligible(
        server: Server, open_page: Any) -> None:
    lot_id = await server.make_lot()
    await server.register(lot_id, "A", deposit=False)
    await server.ok("POST", f"/api/lots/{lot_id}/schedule", {})
    console = await host_console(server, open_page, lot_id)
    page = console.page
    await expect(page.locator("#start")).to_be_enabled(timeout=WAIT)
    console.answer = False
    await page.click("#start")
    await console.dialogs_reach(1)
    assert "没有具备资格" in console.dialogs[0]
    await asyncio.sleep(0.3)
    assert await lot_status(server, lot_id) == "scheduled"

    await server.ok("POST", f"/api/lots/{lot_id}/bidders/A/deposit",
                    {"amount": "50.00", "account": "acct-A"})
    await expect(page.locator('#register-table tr[data-bidder-id="A"] td.ok')).to_have_count(
        1, timeout=WAIT)
    console.answer = True
    await page.click("#start")
    await expect(page.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT)
    assert len(console.dialogs) == 2 and "没有具备资格" not in console.dialogs[1]
    assert console.errors == []


async def test_cancelling_a_lot_asks_first_and_a_refusal_changes_nothing(
        server: Server, open_page: Any) -> None:
    lot_id, _ = await server.open_lot()
    console = await host_console(server, open_page, lot_id)
    page = console.page
    await page.fill("#reason", "挂牌信息有误")
    console.answer = False
    await page.click("#cancel")
    await console.dialogs_reach(1)
    assert "挂牌信息有误" in console.dialogs[0]
    await asyncio.sleep(0.3)
    assert await lot_status(server, lot_id) == "open"
    console.answer = True
    await page.click("#cancel")
    await expect(page.locator("#status")).to_have_attribute("data-status", "cancelled",
                                                            timeout=WAIT)


async def test_the_register_button_says_register_in_either_language(
        server: Server, open_page: Any) -> None:
    console = await host_console(server, open_page)
    page = console.page
    await expect(page.locator("#register")).to_have_text("报名")
    await page.click("#lang-toggle")
    await expect(page.locator("#register")).to_have_text("Register")


async def test_a_reverse_lot_labels_its_ceiling_and_a_forward_one_its_reserve(
        server: Server, open_page: Any) -> None:
    reverse = await server.make_lot(direction="reverse", ceiling="500.00", start_price="500.00")
    forward = await server.make_lot(reserve="200.00")
    console = await host_console(server, open_page, reverse)
    page = console.page
    await expect(page.locator("#reserve-label")).to_have_text("最高限价")
    await page.locator(f'#lots .lot-item[data-lot-id="{forward}"]').click()
    await expect(page.locator("#reserve-label")).to_have_text("保留价", timeout=WAIT)


async def test_extend_asks_for_the_new_closing_time_and_closes_the_lot_then(
        server: Server, open_page: Any) -> None:
    lot_id, _ = await server.open_lot()
    console = await host_console(server, open_page, lot_id)
    page = console.page
    state = await server.ok("GET", f"/api/lots/{lot_id}")
    closes_at = state.get("state", state)["closes_at"]
    assert await page.locator("#extend-to").get_attribute("type") == "datetime-local"
    await page.fill("#reason", "系统故障补时")
    # Earlier than the current close: refused in the page, nothing sent.
    earlier = datetime.fromtimestamp((closes_at - 60_000) / 1000, CENTER).strftime(
        "%Y-%m-%dT%H:%M:%S")
    await page.fill("#extend-to", earlier)
    await page.click("#extend")
    await expect(page.locator('.field-error[data-for="extend-to"]')).to_contain_text(
        "须晚于当前截止时间")
    # A whole new closing time, an hour after the present one.
    target = (closes_at // 1000 + 3600) * 1000
    await page.fill("#extend-to",
                    datetime.fromtimestamp(target / 1000, CENTER).strftime("%Y-%m-%dT%H:%M:%S"))
    await page.click("#extend")
    await expect(page.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    state = await server.ok("GET", f"/api/lots/{lot_id}")
    assert state.get("state", state)["closes_at"] == target


async def test_each_deposit_has_its_own_reason_and_a_forfeit_asks_first(
        server: Server, open_page: Any) -> None:
    lot_id, _ = await server.open_lot()
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "流拍测试"})
    console = await open_page(f"{server.base}/report/{lot_id}#token={HOST_TOKEN}")
    page = console.page
    first = page.locator('#deposits tr[data-bidder-id="b1"]')
    second = page.locator('#deposits tr[data-bidder-id="b2"]')
    await expect(first.locator('button[data-action="forfeit"]')).to_have_count(1, timeout=WAIT)
    await expect(page.locator("#deposits .settle-reason")).to_have_count(2)
    # A reason typed for one bidder is not taken for another.
    await first.locator(".settle-reason").fill("违规报价，没收保证金")
    await second.locator('button[data-action="refund"]').click()
    await expect(page.locator("#message")).to_have_attribute("data-code", "reason_required")
    assert console.dialogs == []
    # A forfeit is asked for first; refused, nothing changes.
    console.answer = False
    await first.locator('button[data-action="forfeit"]').click()
    await console.dialogs_reach(1)
    assert "没收" in console.dialogs[0] and "违规报价，没收保证金" in console.dialogs[0]
    await asyncio.sleep(0.3)
    ledger = await server.ok("GET", f"/api/lots/{lot_id}/deposits")
    assert {d["bidder_id"]: d["status"] for d in ledger["deposits"]} == {
        "b1": "refundable", "b2": "refundable"}
    console.answer = True
    await first.locator('button[data-action="forfeit"]').click()
    await expect(first).to_have_attribute("data-status", "forfeited", timeout=WAIT)
    await expect(second).to_have_attribute("data-status", "refundable")
    assert console.errors == []


async def test_an_error_is_shown_next_to_its_field_in_the_page_s_language_only(
        server: Server, open_page: Any) -> None:
    await server.ok("POST", "/api/sessions", {"name": "s"})
    console = await host_console(server, open_page)
    page = console.page
    await expect(page.locator("#lot-session option")).to_have_count(1, timeout=WAIT)
    await page.fill("#lot-title", "某地块")
    await page.fill("#lot-step", "abc")
    await page.click("#create-lot")
    error = page.locator('.field-error[data-for="lot-step"]')
    await expect(error).to_have_text("金额格式不正确", timeout=WAIT)
    await expect(page.locator("#lot-step")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#message")).to_be_hidden()
    # The error sits right under its field, not at the top of the page.
    field = await page.locator("#lot-step").bounding_box()
    box = await error.bounding_box()
    assert field and box and 0 <= box["y"] - (field["y"] + field["height"]) < 40
    await page.click("#lang-toggle")
    await expect(error).to_have_text("The amount is not a valid decimal amount.")
    # A missing reason is shown at the reason field; a good submit clears the errors.
    lot_id = await server.make_lot()
    await page.click("#lang-toggle")
    await page.locator(f'#lots .lot-item[data-lot-id="{lot_id}"]').click(timeout=WAIT * 2)
    await server.ok("POST", f"/api/lots/{lot_id}/schedule", {})
    await server.ok("POST", f"/api/lots/{lot_id}/start", {})
    await expect(page.locator("#pause")).to_be_enabled(timeout=WAIT)
    await page.click("#pause")
    await expect(page.locator('.field-error[data-for="reason"]')).to_have_text("请填写操作理由")
    await page.fill("#reason", "网络故障")
    await page.click("#pause")
    await expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=WAIT)
    await expect(page.locator(".field-error")).to_have_count(0)
    assert console.errors == []


async def test_each_format_is_created_from_a_labelled_form_with_date_time_pickers(
        server: Server, open_page: Any) -> None:
    await server.ok("POST", "/api/sessions", {"name": "s"})
    console = await host_console(server, open_page)
    page = console.page
    await expect(page.locator("#lot-session option")).to_have_count(1, timeout=WAIT)
    names = await page.locator("#lot-format option").all_inner_texts()
    assert "密封报价" in names and "挂牌+限时竞价" in names and "sealed" not in names
    await page.select_option("#lot-format", "sealed")
    await expect(page.locator("#lot-format-fields")).to_be_visible()
    await expect(page.locator("#lp-ceiling")).to_have_value("500000.00")
    assert await page.locator("#lp-opens_at").get_attribute("type") == "datetime-local"
    label = page.locator("#lot-format-fields label", has=page.locator("#lp-ceiling"))
    await expect(label).to_contain_text("最高限价")
    # A bad amount is refused next to its field.
    await page.fill("#lot-title", "某工程施工总承包")
    await page.fill("#lp-ceiling", "五十万")
    await page.click("#create-lot")
    await expect(page.locator('.field-error[data-for="lp-ceiling"]')).to_have_text(
        "金额格式不正确", timeout=WAIT)
    # The start time is picked as a date and a time; the lot opens then.
    await page.fill("#lp-ceiling", "480000.00")
    opens = datetime.now().replace(second=0, microsecond=0).timestamp() + 2 * 3600
    await page.fill("#lp-opens_at",
                    datetime.fromtimestamp(opens, CENTER).strftime("%Y-%m-%dT%H:%M"))
    await page.click("#create-lot")
    await expect(page.locator("#selected")).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await page.locator("#selected").get_attribute("data-lot-id")
    lot = await server.ok("GET", f"/api/lots/{lot_id}")
    assert lot["format"] == "sealed"
    assert lot["params"]["ceiling"] == "480000.00"
    assert lot["opens_at"] == int(opens * 1000)
    await page.click("#lang-toggle")
    await expect(page.locator("#lot-format option[value='sealed']")).to_have_text("Sealed bids")
    await expect(label).to_contain_text("Ceiling")
    assert console.errors == []


async def test_date_times_are_read_in_the_center_s_time_zone_not_the_computer_s(
        server: Server, browser: Browser) -> None:
    await server.ok("POST", "/api/sessions", {"name": "s"})
    context = await browser.new_context(timezone_id="America/New_York")
    try:
        page = await context.new_page()
        await page.goto(f"{server.base}/host#token={HOST_TOKEN}")
        await expect(page.locator("#time-zone")).to_have_text("Asia/Shanghai", timeout=WAIT)
        await expect(page.locator("#lot-session option")).to_have_count(1, timeout=WAIT)
        await page.fill("#lot-title", "某地块")
        await page.fill("#lot-opens-at", "2030-01-01T10:00")
        await page.click("#create-lot")
        await expect(page.locator("#selected")).not_to_have_attribute("data-lot-id", "",
                                                                      timeout=WAIT)
        lot_id = await page.locator("#selected").get_attribute("data-lot-id")
        lot = await server.ok("GET", f"/api/lots/{lot_id}")
        assert lot["opens_at"] == int(datetime(2030, 1, 1, 10, 0, tzinfo=CENTER).timestamp()
                                      * 1000)
    finally:
        await context.close()


async def test_the_console_sets_a_lots_extend_on_minimum_confirmation_counts_restart_default(
        server: Server, open_page: Any) -> None:
    console = await host_console(server, open_page)
    page = console.page
    await page.fill("#session-name", "规则")
    await page.click("#create-session")
    await expect(page.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await page.fill("#lot-title", "某矿业权")
    await page.fill("#lot-extend-window", "60")
    await page.fill("#lot-extend", "120")
    await page.select_option("#lot-extend-on", "leader_change")
    await page.fill("#lot-min-bidders", "3")
    await page.fill("#lot-confirm-above", "5")
    await page.select_option("#lot-show-counts", "after_open")
    await page.check("#lot-restart-allowed")
    await page.select_option("#lot-on-default", "runner_up")
    await page.click("#create-lot")
    await expect(page.locator("#selected")).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await page.locator("#selected").get_attribute("data-lot-id")
    params = (await server.ok("GET", f"/api/lots/{lot_id}"))["params"]
    assert (params["extend_on"], params["min_bidders"], params["confirm_above_steps"],
            params["show_counts"], params["restart_allowed"], params["on_default"]) == (
        "leader_change", 3, 5, "after_open", True, "runner_up")
    assert console.errors == []


@pytest.mark.parametrize("path", ["/host", "/review", "/supervisor"])
async def test_a_token_typed_before_the_page_s_script_ran_is_kept(
        server: Server, browser: Browser, path: str) -> None:
    """On a slow page a person may type the staff token before the scripts have run; they
    take it instead of wiping the field."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        release = asyncio.Event()

        async def slow(route: Any) -> None:
            await release.wait()
            await route.continue_()

        await page.route("**/static/ui.js", slow)
        await page.goto(f"{server.base}{path}", wait_until="commit")
        await page.fill("#staff-token", HOST_TOKEN, timeout=WAIT)
        release.set()
        # The page's script keeps the token (and stores it for the tab) once it has run;
        # without this the script wiped the field and nothing was ever stored.
        await page.wait_for_function("sessionStorage.getItem('auction.staffToken') !== null",
                                     timeout=WAIT)
        assert await page.evaluate("sessionStorage.getItem('auction.staffToken')") == HOST_TOKEN
        assert await page.input_value("#staff-token") == HOST_TOKEN
        assert errors == []
        if path == "/host":
            await page.fill("#session-name", "typed early")
            await page.click("#create-session")
            await expect(page.locator("#message")).to_have_attribute("data-kind", "ok",
                                                                     timeout=WAIT)
        else:
            await expect(page.locator("#message")).not_to_contain_text("令牌")
    finally:
        await context.close()


async def test_a_page_s_script_has_run_by_its_load_event_while_the_error_texts_are_slow(
        server: Server, browser: Browser) -> None:
    """The catalogue of error texts is fetched without holding the page's script up: by
    the load event the console answers clicks (a top-level await on it made the load
    event come first, and a click then did nothing)."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        release = asyncio.Event()

        async def slow(route: Any) -> None:
            await release.wait()
            await route.continue_()

        await page.route("**/api/errors.json", slow)
        await page.goto(f"{server.base}/host#token={HOST_TOKEN}")  # (waits for load)
        await page.fill("#session-name", "before the texts")
        await page.click("#create-session")
        await expect(page.locator("#message")).to_have_attribute("data-kind", "ok",
                                                                 timeout=WAIT)
        await expect(page.locator("#lot-session option")).to_have_count(1)
        release.set()
    finally:
        await context.close()
