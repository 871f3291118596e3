"""A multi_round lot in the pages (headless Chromium, a real `auction serve`): the rooms
take sealed initial bids, the board and rooms show whose turn it is and the table of
price, coefficient and adjusted price, the bid form is enabled only in the bidder's turn,
and the lot ends awarded to the lowest adjusted price."""

from __future__ import annotations

import contextlib

import pytest
from lotplay import make_lot, staff_post
from playwright.async_api import Browser, BrowserContext, Page, expect

from helpers import ServerProcess

pytestmark = pytest.mark.browser

WAIT = 15_000


async def test_a_multi_round_lot_is_played_through_the_pages(
        auction_server: ServerProcess, browser: Browser) -> None:
    server = auction_server
    lot = await make_lot(server, "multi_round", {
        "step": "1.00", "ceiling": "1000.00", "deposit": "10.00", "rounds": 1, "turn_s": 4,
        "first_pause_s": 5, "pause_s": 1, "coefficients": {"B": "0.25"}},
        title="办公设备采购 第3包", session="2026年第3期 政府采购", name="公司 {}", start=False)
    lot_id = lot.lot_id
    no_a, no_b = lot.numbers["A"], lot.numbers["B"]

    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def open_page(url: str) -> Page:
        context = await browser.new_context()
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{url}: {exc}"))
        await page.goto(url)
        return page

    try:
        board = await open_page(f"{server.base}/board/{lot_id}")
        room_a = await open_page(lot.rooms["A"])
        room_b = await open_page(lot.rooms["B"])
        for page in (board, room_a, room_b):
            await expect(page.locator("#conn")).to_have_attribute("data-state", "online",
                                                                  timeout=WAIT)
        await staff_post(server, f"/api/lots/{lot_id}/schedule", {})
        await staff_post(server, f"/api/lots/{lot_id}/start", {})

        # Initial bids: sealed; the form closes once a bidder has entered.
        for room in (board, room_a, room_b):
            await expect(room.locator(".mr-phase")).to_have_attribute("data-phase", "prebid",
                                                                      timeout=WAIT)
        await expect(room_a.locator("#bid-btn")).to_be_enabled()
        await room_a.fill("#amount", "900.00")
        await room_a.click("#bid-btn")
        await room_a.click("#confirm-bid")
        await room_b.fill("#amount", "1000.00")
        await room_b.click("#bid-btn")
        await room_b.click("#confirm-bid")
        await expect(room_a.locator("#bid-card")).to_have_attribute("data-mr-allowed", "no",
                                                                    timeout=WAIT)
        await expect(room_b.locator("#bid-card")).to_have_attribute("data-mr-allowed", "no",
                                                                    timeout=WAIT)
        await expect(board.locator("#play")).not_to_contain_text("900.00")

        # Round 1: A (900.00 / 1) is worse than B (1000.00 / 1.25 = 800.00): A goes first.
        await expect(board.locator(".mr-turn")).to_have_attribute("data-turn-no", no_a,
                                                                  timeout=WAIT)
        rows = board.locator(".mr-table tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text(no_b)
        await expect(rows.nth(0)).to_contain_text("0.25")
        await expect(rows.nth(0)).to_contain_text("800.00")
        await expect(room_a.locator("#bid-card")).to_have_attribute("data-mr-allowed", "yes")
        await expect(room_a.locator("#bid-btn")).to_be_enabled()
        await expect(room_b.locator("#bid-btn")).to_be_disabled()
        await room_a.fill("#amount", "790.00")
        await room_a.click("#bid-btn")
        await room_a.click("#confirm-bid")
        await expect(room_a.locator(".mr-you")).to_contain_text("790.00", timeout=WAIT)
        await expect(board.locator("#play")).not_to_contain_text("790.00")

        # A's bid is revealed when its turn ends; then B's turn.
        await expect(board.locator(".mr-turn")).to_have_attribute("data-turn-no", no_b,
                                                                  timeout=WAIT)
        await expect(board.locator("#play")).to_contain_text("790.00")
        await expect(room_b.locator("#bid-btn")).to_be_enabled()
        await expect(room_a.locator("#bid-btn")).to_be_disabled()

        # Nobody bids again: A's 790.00 beats B's adjusted 800.00.
        for page in (board, room_a, room_b):
            await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                                    timeout=WAIT)
        await expect(board.locator(".mr-phase")).to_have_attribute("data-phase", "done")
        await expect(board.locator("#result")).to_contain_text(no_a)
        assert errors == []
    finally:
        for context in contexts:
            with contextlib.suppress(Exception):
                await context.close()
