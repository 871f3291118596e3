"""A signed english lot played through the pages in a headless Chromium against a real
`auction serve` process: each bidder's room makes a non-extractable WebCrypto key, enrols
it, signs every bid; the acknowledgements' receipts are kept and saved as a file that
`auction verify --receipts` proves against the lot's export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_pages import Pages
from lotplay import staff_get
from playwright.async_api import expect
from test_browser_e2e import WAIT, expect_accepted
from test_browser_room import confirmed_bid, english_lot, open_room

from auction.verify import dumps
from helpers import ServerProcess

pytestmark = pytest.mark.browser
AUCTION = Path(sys.executable).with_name("auction")


async def test_a_signed_english_lot_is_played_through_the_rooms_and_its_receipts_verify(
        auction_server: ServerProcess, pages: Pages, tmp_path: Path) -> None:
    server = auction_server
    lot_id, urls = await english_lot(server, signatures="required")
    a = await open_room(pages, server.base, urls["A"])
    b = await open_room(pages, server.base, urls["B"])
    for room in (a, b):
        await expect(room.locator("#signing")).to_have_attribute("data-state", "on",
                                                                 timeout=WAIT)
    # the private key cannot be read out of the browser
    extractable = await a.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open("auction-keys", 1);
                                               r.onsuccess = () => ok(r.result); });
        const pair = await new Promise((ok) => {
            const r = db.transaction("keys").objectStore("keys").getAll();
            r.onsuccess = () => ok(r.result[0]); });
        return [pair.privateKey.extractable, pair.privateKey.algorithm.namedCurve];
    }""")
    assert extractable == [False, "P-256"]

    await confirmed_bid(a, "1000.00")
    await expect_accepted(a, "1,000.00")
    await confirmed_bid(b, "1010.00")
    await expect_accepted(b, "1,010.00")
    await expect(a.locator("#best")).to_have_attribute("data-amount", "1010.00", timeout=WAIT)
    await confirmed_bid(a, "1020.00")
    await expect_accepted(a, "1,020.00")

    # a reload signs with the same key: no second enrolment
    await a.reload()
    await expect(a.locator("#signing")).to_have_attribute("data-state", "on", timeout=WAIT)
    await expect(a.locator("#best")).to_have_attribute("data-amount", "1020.00", timeout=WAIT)
    await confirmed_bid(b, "1030.00")
    await expect_accepted(b, "1,030.00")

    export = await staff_get(server, f"/api/lots/{lot_id}/export")
    events = [e["event"] for e in export["events"]]
    assert [e["type"] for e in events].count("KeyEnrolled") == 2
    bids = [e for e in events if e["type"] == "BidAccepted"]
    assert len(bids) == 4 and all(e["signed"]["sig"] for e in bids)

    # A's receipts, saved from its room, are held by the export
    await expect(a.locator("#receipts-btn")).to_be_visible()
    async with a.expect_download() as download_info:
        await a.click("#receipts-btn")
    receipts = tmp_path / "receipts.json"
    await (await download_info.value).save_as(receipts)
    saved = json.loads(receipts.read_text())
    assert [r["amount"] for r in saved["receipts"] if r["act"] is None] == ["1000.00", "1020.00"]
    path = tmp_path / "export.json"
    path.write_text(dumps(export))
    done = subprocess.run([str(AUCTION), "verify", "--receipts", str(receipts), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout and " 0 not." in done.stdout
