"""The product end to end in a headless Chromium: a real `auction serve` process, the host
console, two bidder rooms and the public board, each in its own browser context, and a
lot played to its end only through the pages; then a room that reconnects by itself
after the server is killed and started again."""

from __future__ import annotations

import pytest
from browser_pages import Pages
from lotplay import make_lot, staff_get
from playwright.async_api import Page, expect

from helpers import ServerProcess

pytestmark = pytest.mark.browser

#: Timeout of an `expect` that waits for the server or another page (ms).
WAIT = 10_000
DURATION_S = 14


async def bid(room: Page, amount: str | None = None) -> None:
    """Type `amount` (or keep the pre-filled one), press the bid button and confirm."""
    if amount is not None:
        await room.fill("#amount", amount)
    await room.click("#bid-btn")
    await room.click("#confirm-bid")


async def expect_accepted(room: Page, amount: str) -> None:
    message = room.locator("#message")
    await expect(message).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(message).to_contain_text(amount)


async def expect_rejected(room: Page, code: str) -> None:
    message = room.locator("#message")
    await expect(message).to_have_attribute("data-code", code, timeout=WAIT)
    await expect(message).to_have_attribute("data-kind", "error")
    await expect(message).to_be_visible()


async def host_ok(host: Page) -> None:
    """The last host action succeeded (the message is an `ok` one)."""
    await expect(host.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)


async def test_a_lot_is_played_to_its_end_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    # --------------------------------------------------------------- host: set up the lot
    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")  # `change`: the console loads with the token

    await host.fill("#session-name", "2025年第1期 国有产权网上竞价")
    await host.click("#create-session")
    await host_ok(host)
    await expect(host.locator("#lot-session option")).to_have_count(1)
    session_id = await host.locator("#lot-session").input_value()
    assert session_id

    await host.fill("#lot-title", "某国有企业 30% 股权转让")
    await host.select_option("#lot-direction", "forward")
    await host.fill("#lot-start", "1000.00")
    await host.fill("#lot-step", "10.00")
    await host.fill("#lot-deposit", "100.00")
    await host.fill("#lot-duration", str(DURATION_S))
    await host.fill("#lot-reserve", "1025.00")  # met only by the last bid (1030.00)
    await host.click("#create-lot")
    await host_ok(host)
    selected = host.locator("#selected")
    await expect(selected).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await selected.get_attribute("data-lot-id")
    assert lot_id
    await expect(host.locator(f'#lots .lot-item[data-lot-id="{lot_id}"]')).to_have_count(1)
    await expect(host.locator("#status")).to_have_attribute("data-status", "draft", timeout=WAIT)
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)

    for bidder_id, name in [("A", "甲建设有限公司"), ("B", "乙置业集团")]:
        await host.fill("#bidder-id", bidder_id)
        await host.fill("#bidder-name", name)
        await host.click("#register")
        await expect(host.locator(f'#bidder-links li[data-bidder-id="{bidder_id}"]')).to_have_count(
            1, timeout=WAIT)
    links = host.locator("#bidder-links .room-link")
    await expect(links).to_have_count(2)
    await expect(host.locator("#register-table tbody tr")).to_have_count(2, timeout=WAIT)
    numbers: dict[str, str] = {}
    urls: dict[str, str] = {}
    for bidder_id in ("A", "B"):
        item = host.locator(f'#bidder-links li[data-bidder-id="{bidder_id}"]')
        numbers[bidder_id] = await item.get_attribute("data-bidder-no") or ""
        urls[bidder_id] = await item.locator(".room-link").get_attribute("href") or ""
        assert numbers[bidder_id] and f"/room/{lot_id}#token=" in urls[bidder_id]
    assert numbers["A"] != numbers["B"]
    no_a, no_b = numbers["A"], numbers["B"]

    for bidder_id in ("A", "B"):
        await host.select_option("#deposit-bidder", bidder_id)
        await host.fill("#deposit-amount", "100.00")
        await host.fill("#deposit-account", f"6222 0210 0000 000{bidder_id}")
        await host.click("#confirm-deposit")
        await host_ok(host)
        row = host.locator(f'#register-table tbody tr[data-bidder-id="{bidder_id}"]')
        await expect(row.locator("td.ok")).to_have_count(1, timeout=WAIT)  # eligible

    await expect(host.locator("#start")).to_be_disabled()
    await host.click("#schedule")
    await expect(host.locator("#status")).to_have_attribute("data-status", "scheduled",
                                                            timeout=WAIT)

    # ------------------------------------------------- rooms and board, before the start
    board, room_a, room_b = await pages.online(f"{server.base}/board/{lot_id}", urls["A"],
                                               urls["B"], timeout=WAIT)
    for page in (board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "scheduled")
    assert "#token" not in room_a.url  # the token leaves the address bar
    await expect(room_a.locator("#my-no")).to_have_text(no_a)
    await expect(room_b.locator("#my-no")).to_have_text(no_b)
    await expect(board.locator("#bidders")).to_have_text("2")

    await expect(host.locator("#start")).to_be_enabled()
    await host.click("#start")
    for page in (host, board, room_a, room_b):
        await expect(page.locator("#status")).to_have_attribute("data-status", "open",
                                                                timeout=WAIT)

    # ------------------------------------------------------------------------- bidding
    # A bids the pre-filled minimum: the start price.
    await expect(room_a.locator("#amount")).to_have_value("1000.00")
    await expect(room_a.locator("#next-min")).to_have_attribute("data-amount", "1000.00")
    await bid(room_a)
    await expect_accepted(room_a, "1,000.00")
    await expect(room_a.locator("#own-bids li[data-seq]")).to_have_count(1)
    await expect(room_a.locator("#leader")).to_have_text(no_a)
    await expect(board.locator("#best")).to_have_attribute("data-amount", "1000.00",
                                                           timeout=WAIT)
    await expect(board.locator("#leader")).to_have_text(no_a)
    await expect(board.locator("#bid-count")).to_have_text("1")

    # The countdown runs (on every page; checked on the board and the host).
    countdown = board.locator("#countdown")
    await expect(countdown).to_have_attribute("data-phase", "urgent")
    first_ms = int(await countdown.get_attribute("data-ms") or "0")
    assert 0 < first_ms <= DURATION_S * 1000
    await board.wait_for_function(
        "ms => Number(document.querySelector('#countdown').dataset.ms) < ms - 500",
        arg=first_ms, timeout=WAIT)
    await host.wait_for_function(
        "ms => Number(document.querySelector('#countdown').dataset.ms) < ms - 500",
        arg=first_ms, timeout=WAIT)

    # B sees A's price and outbids by two steps.
    await expect(room_b.locator("#best")).to_have_attribute("data-amount", "1000.00",
                                                            timeout=WAIT)
    await expect(room_b.locator("#leader")).to_have_text(no_a)
    await expect(room_b.locator("#amount")).to_have_value("1010.00")
    await room_b.click("#step-2")
    await expect(room_b.locator("#amount")).to_have_value("1020.00")
    await bid(room_b)
    await expect_accepted(room_b, "1,020.00")
    await expect(board.locator("#best")).to_have_attribute("data-amount", "1020.00",
                                                           timeout=WAIT)
    await expect(board.locator("#leader")).to_have_text(no_b)

    # A tries a bid that does not improve on the best, then one off the step.
    await expect(room_a.locator("#best")).to_have_attribute("data-amount", "1020.00",
                                                            timeout=WAIT)
    await bid(room_a, "1020.00")
    await expect_rejected(room_a, "not_improving")
    await bid(room_a, "1035.00")
    await expect_rejected(room_a, "off_step")

    # B, the leader, may not bid again: its button is disabled and says why.
    await expect(room_b.locator("#amount")).to_have_value("1030.00", timeout=WAIT)
    await expect(room_b.locator("#bid-btn")).to_be_disabled()
    await expect(room_b.locator("#leader-note")).to_have_text("您已是当前最高报价者，无需再次出价")

    # A outbids by one step.
    await room_a.fill("#amount", "")
    await room_a.click("#step-1")
    await expect(room_a.locator("#amount")).to_have_value("1030.00")
    await bid(room_a)
    await expect_accepted(room_a, "1,030.00")
    await expect(room_a.locator("#own-bids li[data-seq]")).to_have_count(2)

    # Everyone sees the three accepted bids, and only those.
    await expect(board.locator("#best")).to_have_attribute("data-amount", "1030.00",
                                                           timeout=WAIT)
    await expect(board.locator("#leader")).to_have_text(no_a)
    await expect(board.locator("#bid-count")).to_have_text("3")
    expected = [(no_a, "1030.00"), (no_b, "1020.00"), (no_a, "1000.00")]  # newest first
    rows = host.locator("#bids tbody tr")
    await expect(rows).to_have_count(3, timeout=WAIT)
    for i, (no, amount) in enumerate(expected):
        await expect(rows.nth(i)).to_have_attribute("data-amount", amount)
        await expect(rows.nth(i).locator("td.no")).to_have_text(no)
    for page in (board, room_a, room_b):
        items = page.locator("#history li[data-seq]")
        await expect(items).to_have_count(3, timeout=WAIT)
        for i, (no, amount) in enumerate(expected):
            await expect(items.nth(i)).to_have_attribute("data-amount", amount)
            await expect(items.nth(i).locator(".no")).to_have_text(no)
    await expect(host.locator("#leader")).to_have_text(no_a)

    # -------------------------------------------------------------------- the end
    end_wait = (DURATION_S + 15) * 1000
    result = board.locator("#result")
    await expect(result).to_contain_text(no_a, timeout=end_wait)
    await expect(result).to_contain_text("1,030.00")
    await expect(board.locator("#status")).to_have_attribute("data-status", "awarded")
    await expect(board.locator("#countdown")).to_have_attribute("data-phase", "ended")
    await expect(room_a.locator("#result-you")).to_have_text("恭喜，您已竞得本标的。",
                                                             timeout=WAIT)
    await expect(room_a.locator("#result")).to_contain_text(no_a)
    await expect(room_a.locator("#bid-card")).to_be_hidden()
    await expect(room_b.locator("#result-you")).to_have_text("本标的已由其他竞买人竞得。",
                                                             timeout=WAIT)
    await expect(room_b.locator("#bid-card")).to_be_hidden()
    await expect(host.locator("#status")).to_have_attribute("data-status", "awarded",
                                                            timeout=WAIT)
    await expect(host.locator("#result")).to_contain_text(no_a)
    for control in ("#schedule", "#start", "#pause", "#resume", "#extend", "#cancel"):
        await expect(host.locator(control)).to_be_disabled()

    # The API (supervisor) tells the same story.
    lot = await staff_get(server, f"/api/lots/{lot_id}")
    assert lot["status"] == "awarded"
    assert lot["outcome"]["status"] == "awarded"
    assert lot["outcome"]["bidder_no"] == no_a
    assert lot["outcome"]["bidder_id"] == "A"
    assert lot["outcome"]["amount"] == "1030.00"
    assert lot["best"] == "1030.00" and lot["leader_no"] == no_a
    assert lot["bid_count"] == 3
    assert lot["reserve"] == "1025.00"
    bids = (await staff_get(server, f"/api/lots/{lot_id}/bids"))
    bid_list = bids["bids"] if isinstance(bids, dict) else bids
    assert [(b["bidder_no"], b["amount"]) for b in bid_list] == expected[::-1]

    assert pages.errors == []


async def test_a_room_reconnects_by_itself_after_the_server_restarts(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    # The lot is set up through the API: this test is about the room's connection.
    lot = await make_lot(server, "english", {
        "direction": "forward", "currency": "CNY", "start_price": "100.00", "step": "10.00",
        "deposit": "50.00", "duration_s": 300}, title="reconnect", session="reconnect")
    lot_id, urls = lot.lot_id, list(lot.rooms.values())

    restarted: ServerProcess | None = None
    try:
        room_a = await pages.open(urls[0])
        room_b = await pages.open(urls[1])
        for room in (room_a, room_b):
            await expect(room.locator("#conn")).to_have_attribute("data-state", "online",
                                                                  timeout=WAIT)
        await bid(room_b)
        await expect_accepted(room_b, "100.00")
        await expect(room_a.locator("#amount")).to_have_value("110.00", timeout=WAIT)
        await bid(room_a)
        await expect_accepted(room_a, "110.00")
        history = room_a.locator("#history li[data-seq]")
        await expect(history).to_have_count(2, timeout=WAIT)
        await expect(room_b.locator("#history li[data-seq]")).to_have_count(2, timeout=WAIT)

        server.kill()
        for room in (room_a, room_b):
            await expect(room.locator("#conn")).to_have_attribute("data-state", "offline",
                                                                  timeout=WAIT)
        restarted = ServerProcess(server.data_dir, port=server.port)
        await restarted.start()
        for room in (room_a, room_b):
            await expect(room.locator("#conn")).to_have_attribute("data-state", "online",
                                                                  timeout=15_000)

        # A new bid from the other room reaches the first room once; nothing is repeated.
        await expect(room_b.locator("#amount")).to_have_value("120.00")
        await bid(room_b)
        await expect_accepted(room_b, "120.00")
        await expect(room_a.locator("#best")).to_have_attribute("data-amount", "120.00",
                                                                timeout=WAIT)
        await expect(history).to_have_count(3)
        await expect(room_a.locator("#history li[data-amount='120.00']")).to_have_count(1)
        amounts = await history.evaluate_all("items => items.map(li => li.dataset.amount)")
        assert amounts == ["120.00", "110.00", "100.00"]
        seqs = await history.evaluate_all("items => items.map(li => li.dataset.seq)")
        assert len(set(seqs)) == 3, seqs
        await expect(room_a.locator("#own-bids li[data-seq]")).to_have_count(1)
        await expect(room_a.locator("#amount")).to_have_value("130.00")
        lot_state = await staff_get(restarted, f"/api/lots/{lot_id}")
        assert lot_state["bid_count"] == 3 and lot_state["best"] == "120.00"
        assert pages.errors == []
    finally:
        await pages.close()
        if restarted is not None:
            restarted.stop()


async def test_the_host_console_records_a_reason_with_every_staff_action(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    host = await pages.open(f"{server.base}/host")
    await host.fill("#staff-token", ServerProcess.HOST_TOKEN)
    await host.press("#staff-token", "Tab")
    await host.fill("#session-name", "第2期")
    await host.click("#create-session")
    await host_ok(host)
    await host.fill("#lot-title", "车辆 A")
    await host.fill("#lot-deposit", "100.00")
    await host.click("#create-lot")
    await host_ok(host)
    selected = host.locator("#selected")
    await expect(selected).not_to_have_attribute("data-lot-id", "", timeout=WAIT)
    lot_id = await selected.get_attribute("data-lot-id")
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)

    await host.fill("#bidder-id", "A")
    await host.fill("#bidder-name", "甲公司")
    await host.fill("#bidder-reason", "报名材料齐全")
    await host.click("#register")
    await expect(host.locator('#bidder-links li[data-bidder-id="A"]')).to_have_count(
        1, timeout=WAIT)
    await expect(host.locator("#bidder-reason")).to_have_value("")
    await host.select_option("#deposit-bidder", "A")
    await host.fill("#deposit-amount", "100.00")
    await host.fill("#deposit-account", "6222 0210 0000 0001")
    await host.fill("#deposit-reason", "银行回单 0042")
    await host.click("#confirm-deposit")
    await host_ok(host)
    await host.fill("#reason", "按公告排期")
    await host.click("#schedule")
    await expect(host.locator("#status")).to_have_attribute("data-status", "scheduled",
                                                            timeout=WAIT)
    await host.fill("#reason", "准时开始")
    await host.click("#start")
    await expect(host.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT)

    events = (await staff_get(server, f"/api/lots/{lot_id}/events"))["events"]
    assert [(e["event"]["type"], e["event"].get("reason")) for e in events] == [
        ("LotCreated", None), ("BidderRegistered", "报名材料齐全"),
        ("DepositConfirmed", "银行回单 0042"), ("LotScheduled", "按公告排期"),
        ("LotOpened", "准时开始")]
    assert {e["event"]["actor"] for e in events} == {"host1"}
    assert not pages.errors, pages.errors
