"""A bidder-sealed lot (``sealing: bidder``) played through the pages in a headless
Chromium: each room commits a hash of the price and a random salt kept in the browser
and offered as a bid file; at the opening one room reveals by itself, another bidder
(on a fresh browser without the price) reveals from its downloaded bid file; the board
shows no price before the window ends, then every revealed bid and the winner."""

from pathlib import Path

import pytest
from browser_pages import Pages
from lotplay import staff_post
from playwright.async_api import Page, expect

from helpers import ServerProcess

pytestmark = pytest.mark.browser

WAIT = 10_000
DURATION_S = 10
REVEAL_S = 8
A_PRICE, B_PRICE = "4100.55", "4250.00"


async def submit(room: Page, amount: str) -> None:
    await room.fill("#sealed-amount", amount)
    await room.click("#sealed-submit")
    await room.click("#confirm-bid")
    await expect(room.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def test_a_bidder_sealed_lot_is_revealed_from_the_browser_and_from_a_bid_file(
        auction_server: ServerProcess, pages: Pages, tmp_path: Path) -> None:
    server = auction_server
    session = await staff_post(server, "/api/sessions", {"name": "政府采购 自行解密"})
    lot = await staff_post(server, "/api/lots", {
        "session_id": session["session_id"], "title": "设备采购（竞买人自行密封）",
        "format": "sealed", "params": {
            "deposit": "100.00", "duration_s": DURATION_S, "sealing": "bidder",
            "reveal_s": REVEAL_S}})
    lot_id = lot["lot_id"]
    rooms: dict[str, str] = {}
    for bidder_id in ("A", "B"):
        reg = await staff_post(server, f"/api/lots/{lot_id}/bidders",
                               {"bidder_id": bidder_id, "name": f"供应商 {bidder_id}"})
        await staff_post(server, f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit",
                         {"amount": "100.00", "account": f"6222-{bidder_id}"})
        rooms[bidder_id] = f"{server.base}/room/{lot_id}#token={reg['token']}"
    board = await pages.open(f"{server.base}/board/{lot_id}")
    room_a = await pages.open(rooms["A"])
    room_b = await pages.open(rooms["B"], accept_downloads=True)
    for page in (board, room_a, room_b):
        await expect(page.locator("#conn")).to_have_attribute("data-state", "online",
                                                              timeout=WAIT)
    await staff_post(server, f"/api/lots/{lot_id}/schedule", {})
    await staff_post(server, f"/api/lots/{lot_id}/start", {})
    await expect(room_a.locator("#sealed-form")).to_be_visible(timeout=WAIT)

    await submit(room_a, A_PRICE)
    await expect(room_a.locator("#sealed-mine")).to_contain_text("4,100.55")
    await submit(room_b, B_PRICE)
    async with room_b.expect_download() as download:
        await room_b.click("#sealed-file")
    bid_file = tmp_path / "bid.json"
    await (await download.value).save_as(bid_file)
    assert "4250.00" in bid_file.read_text()
    # B goes on from another browser, which has no price: only its bid file.
    await room_b.context.close()
    room_b = await pages.open(rooms["B"])
    await expect(room_b.locator("#sealed-mine")).to_contain_text("报价文件", timeout=WAIT)
    await expect(board.locator("#sealed-count")).to_have_text("2", timeout=WAIT)
    text = await board.locator("body").inner_text()
    assert all(p not in text for p in ("4,100.55", "4100.55", "4,250.00", "4250.00"))

    # The opening: A's room reveals by itself; B uploads its bid file.
    await expect(room_a.locator("#sealed-revealed")).to_be_visible(
        timeout=DURATION_S * 1000 + WAIT)
    await room_b.locator("#sealed-upload").set_input_files(bid_file)
    await expect(room_b.locator("#sealed-revealed")).to_be_visible(timeout=WAIT)
    await expect(board.locator("#sealed-revealed-count")).to_have_text("2 / 2", timeout=WAIT)
    text = await board.locator("body").inner_text()
    assert all(p not in text for p in ("4,100.55", "4,250.00"))

    # The end of the window: every revealed bid and the winner (forward: the highest).
    rows = board.locator("#sealed-table tbody tr")
    await expect(rows).to_have_count(2, timeout=REVEAL_S * 1000 + WAIT)
    await expect(board.locator("#status")).to_have_attribute("data-status", "awarded",
                                                             timeout=WAIT)
    winner = board.locator('#sealed-table tbody tr[data-winner="true"]')
    await expect(winner).to_contain_text("4,250.00")
    assert pages.errors == []
