"""A dutch lot (and a japanese one) played to its end in a headless Chromium through the
pages: the host console creates it from its format's JSON template, the room shows the
clock's falling price and accepts it, the board shows the winner and the price."""

from __future__ import annotations

from typing import Any

import pytest
from browser_pages import Pages
from lotplay import staff_get
from playwright.async_api import Page, expect
from test_browser_e2e import WAIT, host_ok

from helpers import ServerProcess

pytestmark = pytest.mark.browser


async def host_lot(server: ServerProcess, pages: Pages, fmt: str, params: dict[str, Any],
                   bidders: tuple[str, ...]) -> tuple[Page, str, dict[str, str], dict[str, str]]:
    """The host console with a scheduled ``fmt`` lot and eligible ``bidders``: (host page,
    lot id, bidder numbers, room links)."""
    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await host.fill("#session-name", "时钟竞价 clock session")
    await host.click("#create-session")
    await host_ok(host)
    await expect(host.locator("#lot-session option")).to_have_count(1)
    await host.select_option("#lot-format", fmt)
    # The format's own form, filled from its template; each parameter typed in its field.
    assert int(await host.locator("#lp-tick_s").input_value()) > 0
    assert await host.locator("#lp-start_price").input_value()
    for key, value in params.items():
        field = host.locator(f"#lp-{key}")
        if await field.evaluate("el => el.tagName") == "SELECT":
            await field.select_option(str(value))
        else:
            await field.fill(str(value))
    await host.fill("#lot-title", f"{fmt} 国有产权 C-7")
    await host.click("#create-lot")
    await host_ok(host)
    selected = host.locator("#selected")
    await expect(selected).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await selected.get_attribute("data-lot-id") or ""
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    numbers: dict[str, str] = {}
    urls: dict[str, str] = {}
    for bidder_id in bidders:
        await host.fill("#bidder-id", bidder_id)
        await host.fill("#bidder-name", f"公司 {bidder_id}")
        await host.click("#register")
        item = host.locator(f'#bidder-links li[data-bidder-id="{bidder_id}"]')
        await expect(item).to_have_count(1, timeout=WAIT)
        numbers[bidder_id] = await item.get_attribute("data-bidder-no") or ""
        urls[bidder_id] = await item.locator(".room-link").get_attribute("href") or ""
        await host.select_option("#deposit-bidder", bidder_id)
        await host.fill("#deposit-amount", params["deposit"])
        await host.fill("#deposit-account", f"6222 0210 0000 000{bidder_id}")
        await host.click("#confirm-deposit")
        await host_ok(host)
        row = host.locator(f'#register-table tbody tr[data-bidder-id="{bidder_id}"]')
        await expect(row.locator("td.ok")).to_have_count(1, timeout=WAIT)
    await host.click("#schedule")
    await expect(host.locator("#status")).to_have_attribute("data-status", "scheduled",
                                                            timeout=WAIT)
    return host, lot_id, numbers, urls


async def price_of(page: Page) -> str:
    return await page.locator("#clock-price").get_attribute("data-amount") or ""


async def test_a_dutch_lot_is_played_to_its_end_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    params = {"start_price": "1000.00", "step": "10.00", "tick_s": 1, "floor": "900.00",
              "deposit": "100.00"}
    host, lot_id, numbers, urls = await host_lot(server, pages, "dutch", params, ("A", "B"))
    board, room_a, room_b = await pages.online(f"{server.base}/board/{lot_id}", urls["A"],
                                               urls["B"], timeout=WAIT)
    await expect(room_a.locator("#bid-card")).to_be_hidden()
    await expect(room_a.locator("#clock-price")).to_have_attribute("data-amount", "1000.00")
    await expect(room_a.locator("#accept-btn")).to_be_disabled()  # not open yet

    await host.click("#start")
    for page in (host, board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)
    # The price falls, step by step, in the room and on the board.
    await expect(room_b.locator("#clock-price")).to_have_attribute("data-amount", "990.00",
                                                                   timeout=WAIT)
    await expect(room_b.locator("#clock-price")).to_have_attribute("data-amount", "980.00",
                                                                   timeout=WAIT)
    await expect(board.locator("#clock-price")).not_to_have_attribute(
        "data-amount", "1000.00", timeout=WAIT)
    assert int(await room_b.locator("#clock-next").get_attribute("data-ms") or "9999") <= 1000

    await expect(room_b.locator("#accept-btn")).to_be_enabled()
    await room_b.click("#accept-btn")
    message = room_b.locator("#message")
    await expect(message).to_have_attribute("data-kind", "ok", timeout=WAIT)

    for page in (host, board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                                timeout=WAIT)
    result = await board.locator("#result").text_content() or ""
    assert numbers["B"] in result
    state = await api_state(server, lot_id)
    price = state["outcome"]["amount"]
    assert state["outcome"]["bidder_no"] == numbers["B"]
    assert "900.00" <= price <= "980.00"
    assert price.replace(".00", "") in result.replace(",", "")
    await expect(board.locator("#clock-price")).to_have_attribute("data-amount", price,
                                                                  timeout=WAIT)
    await expect(room_a.locator("#accept-btn")).to_be_disabled()
    assert pages.errors == []


async def api_state(server: ServerProcess, lot_id: str) -> Any:
    return await staff_get(server, f"/api/lots/{lot_id}")


async def test_a_japanese_lot_is_played_to_its_end_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    params = {"start_price": "1000.00", "step": "10.00", "tick_s": 3, "deposit": "100.00",
              "tie_rule": "earliest"}
    host, lot_id, numbers, urls = await host_lot(server, pages, "japanese", params, ("A", "B"))
    board, room_a, room_b = await pages.online(f"{server.base}/board/{lot_id}", urls["A"],
                                               urls["B"], timeout=WAIT)
    await expect(room_a.locator("#bid-card")).to_be_hidden()
    await host.click("#start")
    await expect(board.locator("#clock-in")).to_have_attribute("data-n", "2", timeout=WAIT)
    await expect(room_a.locator("#clock-status")).to_have_attribute("data-status", "in",
                                                                    timeout=WAIT)
    for room in (room_a, room_b):
        await room.click("#stay-btn")
        await expect(room.locator("#clock-status")).to_have_attribute(
            "data-status", "confirmed", timeout=WAIT)
    # The next level: A drops out, B stays and wins at that level.
    await expect(room_a.locator("#clock-price")).to_have_attribute("data-amount", "1010.00",
                                                                   timeout=WAIT)
    await room_a.click("#drop-btn")
    await expect(room_a.locator("#clock-status")).to_have_attribute("data-status", "out",
                                                                    timeout=WAIT)
    await expect(room_b.locator("#clock-price")).to_have_attribute("data-amount", "1010.00",
                                                                   timeout=WAIT)
    await room_b.click("#stay-btn")
    for page in (board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "awarded",
                                                                timeout=WAIT)
    result = await board.locator("#result").text_content() or ""
    assert numbers["B"] in result and "1,010.00" in result
    assert pages.errors == []
