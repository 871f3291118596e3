"""A reserve entered late through the pages, in a headless Chromium on a real server: the
host console enters it (the page shows the commitment, never keeps the amount), the
supervisor page approves it, and the room and board say what the lot's reserve is
("无保留价" for a lot without one), in Chinese and English."""

from __future__ import annotations

import pytest
from browser_pages import Pages
from playwright.async_api import expect
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server

pytestmark = pytest.mark.browser

WAIT = 10_000


async def test_a_host_enters_the_reserve_and_a_supervisor_approves_it_on_their_pages(
        server: Server, pages: Pages) -> None:
    lot_id = await server.make_lot(reserve_entry={"before_close_s": 60})
    await server.register(lot_id, "b1")
    host = await pages.open(f"{server.base}/host#token={HOST_TOKEN}")
    await host.locator(f'#lots .lot-item[data-lot-id="{lot_id}"]').click(timeout=WAIT)
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    await expect(host.locator("#reserve-entry-row")).to_be_visible()
    await expect(host.locator("#reserve")).to_have_text("待录入（开拍前未录入即无保留价）")
    await host.fill("#reserve-amount", "7,654.32")
    await host.click("#enter-reserve")
    await expect(host.locator("#reserve-commitment")).to_contain_text("承诺值 ", timeout=WAIT)
    state = server.engine.lot(lot_id)
    assert state is not None and state.witnessed.status == "entered"
    assert state.witnessed.amount == 765432
    digest = state.witnessed.commitment
    await expect(host.locator("#reserve-commitment")).to_have_text(f"承诺值 {digest}")
    await expect(host.locator("#reserve-amount")).to_have_value("")
    assert "7654.32" not in await host.content() and "7,654.32" not in await host.content()
    await host.click("#lang-toggle")
    await expect(host.locator("#reserve")).to_have_text(
        "Entered, awaiting a supervisor's approval (sealed until the end)")
    await expect(host.locator("#enter-reserve")).to_have_text("Enter")

    supervisor = await pages.open(f"{server.base}/supervisor#token={SUPERVISOR_TOKEN}")
    item = supervisor.locator(f'#reserves li[data-lot-id="{lot_id}"]')
    await expect(item).to_contain_text(digest, timeout=WAIT)
    await expect(item).to_contain_text("录入，承诺值")
    await supervisor.click("#lang-toggle")
    await expect(item).to_contain_text("entered by")
    await item.locator(".approve-reserve").click()
    await expect(supervisor.locator("#message")).to_have_text("Reserve approved", timeout=WAIT)
    await expect(supervisor.locator("#reserves li.empty")).to_have_text(
        "No reserve awaits approval")
    assert state.witnessed.status == "approved" and state.witnessed.approved_by
    await expect(host.locator("#reserve")).to_have_text(
        "Entered and approved by a supervisor (sealed, revealed at the end)", timeout=WAIT)
    await expect(host.locator("#enter-reserve")).to_be_disabled()
    assert not pages.errors


async def test_the_room_and_board_say_whether_the_lot_has_a_reserve(
        server: Server, pages: Pages) -> None:
    plain, tokens = await server.open_lot(bidders=1)
    witnessed = await server.make_lot(reserve_entry={"before_close_s": 60})
    board, room = await pages.online(f"{server.base}/board/{plain}",
                                     f"{server.base}/room/{plain}#token={tokens[0]}")
    for page in (board, room):
        await expect(page.locator("#lot-info")).to_contain_text("保留价无保留价")
    await room.click("#lang-toggle")
    await expect(room.locator("#lot-info")).to_contain_text("No reserve")
    (other,) = await pages.online(f"{server.base}/board/{witnessed}")
    await expect(other.locator("#lot-info")).to_contain_text(
        "待录入（开拍前未录入即无保留价）")
    await server.open(witnessed)
    await expect(other.locator("#lot-info")).to_contain_text("保留价无保留价", timeout=WAIT)
    assert not pages.errors
