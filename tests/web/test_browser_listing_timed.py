"""A ``listing_timed`` lot played to its end through the pages in a headless Chromium: a
bidder bids in its room during the listing, confirms in the confirm window, bids in timed
bidding, the countdown closes the lot and the public board shows the phases and the
result (the lot is set up over the host API, with times in seconds)."""

from __future__ import annotations

import re
import time

import pytest
from browser_pages import Pages
from lotplay import make_lot
from playwright.async_api import expect
from test_browser_e2e import WAIT

from helpers import ServerProcess

pytestmark = pytest.mark.browser


async def bid(room: object, amount: str) -> None:
    await room.fill("#amount", amount)  # type: ignore[attr-defined]
    await room.click("#bid-btn")  # type: ignore[attr-defined]
    await room.click("#confirm-bid")  # type: ignore[attr-defined]


async def test_a_listing_timed_lot_is_played_to_its_end_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot = await make_lot(server, "listing_timed", {
        "start_price": "1000.00", "step": "10.00", "deposit": "100.00",
        "listing_ends_at": int(time.time() * 1000) + 15_000, "confirm_s": 5,
        "countdown_s": 4, "cap": "2000.00", "cap_rule": "lottery"},
        title="XQ-2026-07 地块", session="2026年第7期 土地挂牌", name="公司 {}")
    lot_id, urls, numbers = lot.lot_id, lot.rooms, lot.numbers

    board = await pages.open(f"{server.base}/board/{lot_id}")
    room_a = await pages.open(urls["A"])
    room_b = await pages.open(urls["B"])
    for page in (board, room_a, room_b):
        await expect(page.locator("#lt-phase")).to_have_attribute("data-phase", "listing",
                                                                  timeout=WAIT)
    await expect(board.locator("#lt-cap")).to_contain_text("2,000.00")
    await expect(board.locator(".lt-hash")).to_have_count(1)

    # The host console: the format's template, and the lot's phase and confirmations.
    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await host.select_option("#lot-format", "listing_timed")
    await expect(host.locator("#lp-listing_ends_at")).to_have_value(
        re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"), timeout=WAIT)
    await host.click(f'#lots .lot-item[data-lot-id="{lot_id}"]', timeout=WAIT)
    await expect(host.locator("#lt-phase")).to_have_attribute("data-phase", "listing",
                                                              timeout=WAIT)

    # Listing: A bids the start price, B one step more.
    await bid(room_a, "1000.00")
    await expect(room_a.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(room_b.locator("#best")).to_have_attribute("data-amount", "1000.00",
                                                            timeout=WAIT)
    await bid(room_b, "1010.00")
    await expect(room_b.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(board.locator("#best")).to_have_attribute("data-amount", "1010.00",
                                                           timeout=WAIT)

    # The listing ends: A confirms in its room; B lets the window pass.
    confirm = room_a.locator("#lt-confirm")
    await expect(confirm).to_be_visible(timeout=20_000)
    await expect(room_a.locator("#bid-card")).to_be_hidden()
    await expect(board.locator("#lt-phase")).to_have_attribute("data-phase", "confirm",
                                                               timeout=WAIT)
    await confirm.click()
    await expect(room_a.locator("#lt-you-confirmed")).to_be_visible(timeout=WAIT)
    await expect(board.locator("#lt-confirmed")).to_contain_text("1", timeout=WAIT)
    await expect(host.locator("#lt-confirmed-nos")).to_contain_text(numbers["A"], timeout=WAIT)

    # Timed bidding: A bids; B, who did not confirm, has no bid form.
    await expect(room_a.locator("#lt-phase")).to_have_attribute("data-phase", "timed",
                                                                timeout=15_000)
    await expect(board.locator("#lt-phase")).to_have_attribute("data-phase", "timed",
                                                               timeout=WAIT)
    await expect(room_b.locator("#bid-card")).to_be_hidden(timeout=WAIT)
    await expect(room_a.locator("#bid-card")).to_be_visible()
    await bid(room_a, "1020.00")
    await expect(room_a.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(board.locator("#best")).to_have_attribute("data-amount", "1020.00",
                                                           timeout=WAIT)
    clock = board.locator("#lt-clock")
    await expect(clock).not_to_have_text("00:00")

    # The countdown runs out: the board shows the result.
    await expect(board.locator("#status")).to_have_attribute("data-status", "awarded",
                                                             timeout=15_000)
    await expect(board.locator("#lt-phase")).to_have_attribute("data-phase", "ended")
    await expect(board.locator("#result")).to_contain_text(numbers["A"])
    await expect(board.locator("#result")).to_contain_text("1,020.00")
    await expect(room_a.locator("#result")).to_contain_text(numbers["A"], timeout=WAIT)
    assert pages.errors == []
