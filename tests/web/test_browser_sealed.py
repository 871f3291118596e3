"""A sealed lot played to its end through the pages in a headless Chromium: bidders submit
and revise sealed bids in their rooms; before the opening the board and the host console
show only how many bids are in, never a price; at the opening the board shows every
final bid and the winner."""


import pytest
from browser_pages import Pages
from lotplay import make_lot, staff_post
from playwright.async_api import Page, expect

from helpers import ServerProcess

pytestmark = pytest.mark.browser

WAIT = 10_000
DURATION_S = 14
#: The sealed prices typed in the rooms: none may show on the board or the host console
#: before the opening.
A_FIRST, A_FINAL, B_FINAL = "4321.09", "4100.55", "4250.00"


async def submit(room: Page, amount: str) -> None:
    await room.fill("#sealed-amount", amount)
    await room.click("#sealed-submit")
    await room.click("#confirm-bid")
    message = room.locator("#message")
    await expect(message).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def test_a_sealed_lot_is_played_to_its_opening_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot = await make_lot(server, "sealed", {
        "direction": "reverse", "ceiling": "5000.00", "deposit": "100.00",
        "duration_s": DURATION_S, "revisions": 1}, title="食堂设备采购（密封报价）",
        session="政府采购 密封报价", name="供应商 {}", account="6222-{}", start=False)
    lot_id, rooms = lot.lot_id, lot.rooms

    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await host.locator(f'#lots .lot-item[data-lot-id="{lot_id}"]').click(timeout=WAIT)
    board, room_a, room_b = await pages.online(f"{server.base}/board/{lot_id}", rooms["A"],
                                               rooms["B"], timeout=WAIT)
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    await staff_post(server, f"/api/lots/{lot_id}/schedule", {})
    await staff_post(server, f"/api/lots/{lot_id}/start", {})
    for page in (host, board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)

    # The room has the sealed form instead of the english one.
    await expect(room_a.locator("#bid-card")).to_be_hidden()
    await expect(room_a.locator("#sealed-mine")).to_have_text("尚未报价")
    await expect(room_a.locator("#sealed-left")).to_have_text("1")

    # A submits, then revises; B submits once.
    await submit(room_a, A_FIRST)
    await expect(room_a.locator("#sealed-mine")).to_contain_text("4,321.09")
    await expect(room_a.locator("#sealed-left")).to_have_text("1")
    await submit(room_a, A_FINAL)
    await expect(room_a.locator("#sealed-mine")).to_contain_text("4,100.55")
    await expect(room_a.locator("#sealed-left")).to_have_text("0")
    await expect(room_a.locator("#sealed-form")).to_be_hidden()
    await submit(room_b, B_FINAL)

    # Before the opening: counts only, on the board, the host console and the other room.
    await expect(board.locator("#sealed-count")).to_have_text("3", timeout=WAIT)
    await expect(board.locator("#sealed-bidders")).to_have_text("2")
    await expect(host.locator("#sealed-count")).to_have_text("3", timeout=WAIT)
    await expect(room_b.locator("#sealed-count")).to_have_text("3", timeout=WAIT)
    for page, name in ((board, "board"), (host, "host"), (room_b, "room B")):
        text = await page.locator("body").inner_text()
        for amount in ("4321.09", "4,321.09", "4100.55", "4,100.55"):
            assert amount not in text, (name, amount)
    for page in (board, host):
        text = await page.locator("body").inner_text()
        assert "4,250.00" not in text and "4250.00" not in text
    await expect(board.locator("#sealed-table")).to_have_count(0)

    # The opening: every page shows all final bids and the winner (the lowest price).
    rows = board.locator("#sealed-table tbody tr")
    await expect(rows).to_have_count(2, timeout=DURATION_S * 1000 + WAIT)
    await expect(board.locator("#status")).to_have_attribute("data-status", "awarded",
                                                             timeout=WAIT)
    table = await board.locator("#sealed-table").inner_text()
    assert "4,250.00" in table and "4,100.55" in table and "4,321.09" not in table
    winner = board.locator('#sealed-table tbody tr[data-winner="true"]')
    await expect(winner).to_have_count(1)
    await expect(winner).to_contain_text("4,100.55")
    await expect(host.locator("#sealed-table tbody tr")).to_have_count(2, timeout=WAIT)
    await expect(room_b.locator("#sealed-table tbody tr")).to_have_count(2, timeout=WAIT)
    assert pages.errors == []
