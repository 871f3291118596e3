"""Pre-emptive purchase rights (优先购买权) played through the pages in a headless Chromium:
the holder's room offers "match the price" when it may, the holder matches a rival's best
and wins at the equal price; under ``at_end`` the window opens once bidding ends and the
holder matches inside it (lots set up over the host API)."""

from __future__ import annotations

import pytest
from browser_pages import Pages
from lotplay import make_lot, staff_get, staff_request
from playwright.async_api import Page, expect
from test_browser_e2e import WAIT

from helpers import ServerProcess

pytestmark = pytest.mark.browser

#: Long enough for the lot's short bidding time to run out.
END_WAIT = 60_000


async def bid(room: Page, amount: str) -> None:
    await room.fill("#amount", amount)
    await room.click("#bid-btn")
    await room.click("#confirm-bid")
    await expect(room.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def match(room: Page, amount: str) -> None:
    button = room.locator("#match-btn")
    await expect(button).to_be_enabled(timeout=WAIT)
    await expect(button).to_have_attribute("data-amount", amount)
    await button.click()
    await expect(room.locator("#confirm-amount")).to_have_attribute("data-amount", amount)
    await room.click("#confirm-bid")
    await expect(room.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def test_a_holder_matches_the_best_price_in_its_room_and_wins_at_the_equal_price(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot = await make_lot(server, "english", {
        "start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 25,
        "preemption": {"holders": ["H"]}}, ("A", "H"),
        title="某公司 30% 股权", session="产权转让 2026-12", name="公司 {}")
    urls, numbers = lot.rooms, lot.numbers

    board = await pages.open(f"{server.base}/board/{lot.lot_id}")
    rival = await pages.open(urls["A"])
    holder = await pages.open(urls["H"])
    for room in (board, rival, holder):
        await expect(room.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)
    # The rules say how many holders there are, never who.
    await expect(rival.locator("#lot-info")).to_contain_text("1 名优先购买权人")
    # Only the holder has the button, disabled while there is no best to match.
    await expect(holder.locator("#preempt")).to_be_visible()
    await expect(holder.locator("#preempt")).to_have_attribute("data-priority", "1")
    await expect(holder.locator("#match-btn")).to_be_disabled()
    await expect(rival.locator("#preempt")).to_be_hidden()

    await bid(rival, "110.00")
    await match(holder, "110.00")
    await expect(rival.locator("#leader")).to_have_text(numbers["H"], timeout=WAIT)
    await expect(rival.locator("#preempt-public")).to_contain_text(numbers["H"])
    await expect(board.locator("#preempt-public")).to_contain_text(numbers["H"], timeout=WAIT)
    await expect(holder.locator("#match-btn")).to_be_disabled()
    # A non-holder must still beat the price by a step.
    await rival.fill("#amount", "110.00")
    await rival.click("#bid-btn")
    await rival.click("#confirm-bid")
    await expect(rival.locator("#message")).to_have_attribute("data-kind", "error",
                                                              timeout=WAIT)
    await bid(rival, "120.00")
    await match(holder, "120.00")

    for room in (board, rival, holder):
        await expect(room.locator("#result")).to_contain_text(numbers["H"], timeout=END_WAIT)
        await expect(room.locator("#result")).to_contain_text("120.00")
    await expect(holder.locator("#preempt")).to_be_hidden()
    assert pages.errors == []


async def test_at_the_end_the_holder_is_offered_the_final_price_and_matches_it_in_the_window(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot = await make_lot(server, "english", {
        "start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 15,
        "preemption": {"holders": ["H"], "exercise": "at_end", "window_s": 30}},
        ("A", "H"), title="承租房屋 12 号", session="产权转让 2026-12", name="公司 {}")
    urls, numbers = lot.rooms, lot.numbers

    rival = await pages.open(urls["A"])
    holder = await pages.open(urls["H"])
    for room in (rival, holder):
        await expect(room.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)
    await bid(rival, "130.00")
    # While bidding runs the holder only bids by steps.
    await expect(holder.locator("#match-btn")).to_be_disabled()

    # Bidding ends: the window offers the final price.
    await expect(holder.locator("#match-btn")).to_be_enabled(timeout=END_WAIT)
    await expect(rival.locator("#preempt-public")).to_contain_text("130.00", timeout=WAIT)
    await match(holder, "130.00")
    for room in (rival, holder):
        await expect(room.locator("#result")).to_contain_text(numbers["H"], timeout=END_WAIT)
        await expect(room.locator("#result")).to_contain_text("130.00")
    assert pages.errors == []


async def test_the_host_console_creates_a_lot_naming_holders_in_order_of_priority(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    await staff_request(server, "POST", "/api/sessions", {"name": "产权转让 2026-12"})
    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await expect(host.locator("#lot-session option")).to_have_count(1, timeout=WAIT)
    await host.fill("#lot-title", "某公司 30% 股权")
    await host.fill("#lot-preempt-holders", "co-2， co-1")
    await host.select_option("#lot-preempt-exercise", "at_end")
    await host.fill("#lot-preempt-window", "x")
    await host.click("#create-lot")
    await expect(host.locator('.field-error[data-for="lot-preempt-window"]')).to_be_visible(
        timeout=WAIT)
    await host.fill("#lot-preempt-window", "120")
    await host.click("#create-lot")
    await expect(host.locator("#selected")).not_to_have_attribute("data-lot-id", "",
                                                                  timeout=WAIT)
    lot_id = await host.locator("#selected").get_attribute("data-lot-id")
    lot = await staff_get(server, f"/api/lots/{lot_id}")
    assert lot["params"]["preemption"] == {"holders": 2, "exercise": "at_end", "window_s": 120}
    assert lot["preemption"]["holders"] == ["co-2", "co-1"]
    assert pages.errors == []
