"""Proxy bidding and session closing modes through the pages, in a headless Chromium: a
bidder leaves a maximum in its room and the engine answers a rival's bid for it; the
rival never sees the maximum; the host console creates a staggered session."""

from __future__ import annotations

import pytest
from browser_pages import Pages
from lotplay import make_lot, staff_get
from playwright.async_api import expect
from test_browser_e2e import WAIT

from helpers import ServerProcess

pytestmark = pytest.mark.browser


async def test_a_proxy_maximum_left_in_the_room_bids_for_its_bidder(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot = await make_lot(server, "english", {
        "start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 600,
        "proxy": True}, title="国有土地 A-7", session="proxy sale", name="Company {}")
    urls, numbers = lot.rooms, lot.numbers

    room_a = await pages.open(urls["A"])
    room_b = await pages.open(urls["B"])
    for room in (room_a, room_b):
        await expect(room.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)
        await expect(room.locator("#proxy-form")).to_be_visible()
    await room_a.fill("#proxy-amount", "300")
    await room_a.click("#proxy-btn")
    await room_a.click("#confirm-bid")
    await expect(room_a.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(room_a.locator("#proxy-current")).to_have_attribute("data-amount", "300.00")
    await expect(room_b.locator("#leader")).to_have_text(numbers["A"], timeout=WAIT)

    await room_b.fill("#amount", "150.00")
    await room_b.click("#bid-btn")
    await room_b.click("#confirm-bid")
    await expect(room_b.locator("#best")).to_contain_text("160.00", timeout=WAIT)
    await expect(room_b.locator("#leader")).to_have_text(numbers["A"])
    await expect(room_a.locator("#best")).to_contain_text("160.00", timeout=WAIT)
    await expect(room_b.locator("#proxy-current")).to_have_attribute("data-amount", "")
    assert "300" not in await room_b.locator("body").inner_text()

    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await host.fill("#session-name", "矿业权 staggered")
    await host.select_option("#session-mode", "staggered")
    await host.fill("#session-stagger", "30")
    await host.click("#create-session")
    await expect(host.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    sessions = (await staff_get(server, "/api/sessions"))["sessions"]
    assert [(s["mode"], s["stagger_s"]) for s in sessions] == [("parallel", 0),
                                                                ("staggered", 30)]
    assert pages.errors == []
