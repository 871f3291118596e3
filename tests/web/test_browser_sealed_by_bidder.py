"""A bidder-sealed lot (``sealing: bidder``) played through the pages in a headless
Chromium: each room commits a hash of the price and a random salt kept in the browser
and offered as a bid file; at the opening one room reveals by itself, another bidder
(on a fresh browser without the price) reveals from its downloaded bid file; the board
shows no price before the window ends, then every revealed bid and the winner."""

from pathlib import Path

import pytest
from browser_pages import Pages
from lotplay import staff_get, staff_post
from playwright.async_api import Page, expect

import engine.signatures  # noqa: F401 (registers the signature algorithms verify checks)
from auction.verify import dumps, verify
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


FIRST_S, ROUND_REVEAL_S, TURN_S = 8, 6, 2


async def test_a_multi_round_room_seals_the_initial_bid_and_reveals_it_by_itself(
        auction_server: ServerProcess, pages: Pages) -> None:
    """The initial bids of a bidder-sealed multi_round lot whose actions are signed: A's
    room commits and reveals by itself when the window opens; B commits and never comes
    back (its bid is void, it takes no turn); the rounds run on A's revealed price; the
    signed commitments and reveal verify."""
    server = auction_server
    session = await staff_post(server, "/api/sessions", {"name": "政府采购 轮次 自行解密"})
    lot = await staff_post(server, "/api/lots", {
        "session_id": session["session_id"], "title": "办公设备采购（首次报价自行密封）",
        "format": "multi_round", "params": {
            "step": "1.00", "ceiling": "5000.00", "deposit": "100.00", "rounds": 1,
            "turn_s": TURN_S, "first_pause_s": FIRST_S, "pause_s": 1, "sealing": "bidder",
            "reveal_s": ROUND_REVEAL_S, "signatures": "required"}})
    lot_id = lot["lot_id"]
    rooms: dict[str, str] = {}
    numbers: dict[str, str] = {}
    for bidder_id in ("A", "B"):
        reg = await staff_post(server, f"/api/lots/{lot_id}/bidders",
                               {"bidder_id": bidder_id, "name": f"供应商 {bidder_id}"})
        await staff_post(server, f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit",
                         {"amount": "100.00", "account": f"6222-{bidder_id}"})
        rooms[bidder_id] = f"{server.base}/room/{lot_id}#token={reg['token']}"
        numbers[bidder_id] = reg["bidder_no"]
    board = await pages.open(f"{server.base}/board/{lot_id}")
    room_a = await pages.open(rooms["A"])
    room_b = await pages.open(rooms["B"])
    for page in (board, room_a, room_b):
        await expect(page.locator("#conn")).to_have_attribute("data-state", "online",
                                                              timeout=WAIT)
    for room in (room_a, room_b):
        await expect(room.locator("#signing")).to_have_attribute("data-state", "on",
                                                                 timeout=WAIT)
    await staff_post(server, f"/api/lots/{lot_id}/schedule", {})
    await staff_post(server, f"/api/lots/{lot_id}/start", {})
    await expect(room_a.locator("#sealed-form")).to_be_visible(timeout=WAIT)
    await expect(room_a.locator("#bid-card")).to_be_hidden()

    await submit(room_a, A_PRICE)
    await expect(room_a.locator("#sealed-mine")).to_contain_text("4,100.55")
    await expect(room_a.locator("#sealed-form")).to_be_hidden()
    await submit(room_b, B_PRICE)
    await room_b.context.close()  # B's price goes with its browser
    await expect(board.locator(".mr-phase")).to_have_attribute("data-phase", "prebid")
    text = await board.locator("body").inner_text()
    assert all(p not in text for p in ("4,100.55", "4100.55", "4,250.00", "4250.00"))

    # The first pause ends: the window opens, A's room reveals by itself.
    await expect(room_a.locator("#sealed-revealed")).to_be_visible(
        timeout=FIRST_S * 1000 + WAIT)
    await expect(board.locator("#mr-revealed-count")).to_contain_text("1", timeout=WAIT)
    assert "4,100.55" not in await board.locator("body").inner_text()

    # The window ends: B's bid is void; A alone takes its turn and wins at its price.
    await expect(board.locator("#mr-voided")).to_contain_text(
        numbers["B"], timeout=ROUND_REVEAL_S * 1000 + WAIT)
    await expect(board.locator(".mr-table tbody tr")).to_have_count(1, timeout=WAIT)
    await expect(board.locator(".mr-table")).to_contain_text("4,100.55")
    await expect(board.locator("#status")).to_have_attribute(
        "data-status", "awarded", timeout=TURN_S * 1000 + WAIT)
    await expect(board.locator("#result")).to_contain_text(numbers["A"])
    export = await staff_get(server, f"/api/lots/{lot_id}/export")
    signed = [e["event"] for e in export["events"]
              if e["event"]["type"] in ("BidCommitted", "BidRevealed")]
    assert len(signed) == 3 and all(e["signed"]["sig"] for e in signed)
    assert verify(dumps(export)).ok
    assert pages.errors == []
