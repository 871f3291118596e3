"""A multi-unit lot played through the pages, in a headless Chromium: the rooms show the
units, the cut-off and whether their bidder holds a unit; a bidder pushed below the
cut-off is told; the board shows the cut-off; at the close every winner is listed at the
uniform price."""

from __future__ import annotations

import pytest
from browser_pages import Pages
from lotplay import make_lot
from playwright.async_api import Page, expect
from test_browser_e2e import WAIT

from helpers import ServerProcess

pytestmark = pytest.mark.browser

DURATION_S = 30


async def bid(room: Page, amount: str) -> None:
    await room.fill("#amount", amount)
    await room.click("#bid-btn")
    await room.click("#confirm-bid")
    await expect(room.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def test_a_multi_unit_lot_plays_to_several_awards_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot = await make_lot(server, "english", {
        "start_price": "100.00", "step": "10.00", "deposit": "50.00",
        "duration_s": DURATION_S, "units": 2, "pricing": "uniform",
        "max_units_per_bidder": 2}, ("A", "B", "C"), title="小客车指标 2 个",
        session="plates", name="Company {}")
    urls, numbers = lot.rooms, lot.numbers
    board = await pages.open(f"{server.base}/board/{lot.lot_id}")
    rooms = {b: await pages.open(urls[b]) for b in "ABC"}
    for room in rooms.values():
        await expect(room.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)
        await expect(room.locator("#units-line")).to_be_visible()
        await expect(room.locator("#units-field")).to_be_visible()
    await expect(board.locator("#units-line")).to_contain_text("0/2", timeout=WAIT)
    await expect(rooms["A"].locator("#lot-info")).to_contain_text("统一按最低中标价成交")

    await bid(rooms["A"], "100.00")
    await bid(rooms["B"], "120.00")
    await expect(board.locator("#cut-off")).to_have_attribute("data-amount", "100.00",
                                                              timeout=WAIT)
    await expect(rooms["A"].locator("#units-held")).to_have_attribute("data-held", "1",
                                                                      timeout=WAIT)
    await expect(rooms["C"].locator("#next-min")).to_have_attribute("data-amount", "110.00",
                                                                    timeout=WAIT)

    await bid(rooms["C"], "110.00")
    await expect(rooms["A"].locator("#units-held")).to_have_attribute("data-held", "0",
                                                                      timeout=WAIT)
    await expect(rooms["A"].locator("#notices")).to_contain_text("分配线")
    await expect(board.locator("#cut-off")).to_have_attribute("data-amount", "110.00",
                                                              timeout=WAIT)
    # The leader may bid again in a multi-unit lot.
    await expect(rooms["B"].locator("#bid-btn")).to_be_enabled()

    end_wait = (DURATION_S + 15) * 1000
    result = board.locator("#result")
    await expect(result).to_contain_text(numbers["C"], timeout=end_wait)
    await expect(result).to_contain_text(numbers["B"])
    await expect(result).to_contain_text("110.00")
    await expect(rooms["C"].locator("#result-you")).to_have_text("恭喜，您已竞得本标的。",
                                                                 timeout=WAIT)
    await expect(rooms["A"].locator("#result-you")).to_have_text("本标的已由其他竞买人竞得。",
                                                                 timeout=WAIT)
    assert pages.errors == []
