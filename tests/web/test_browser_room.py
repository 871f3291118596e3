"""The bidder room under pressure, in a headless Chromium against a real `auction serve`
process: the confirmation before a bid, a lost network (the WebSocket really cut by a TCP
proxy the test runs, and the browser's own offline signal), dated notices, the phone
layout, reverse lots, long listings and the end of a lot."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

import pytest
from browser_pages import Pages
from capitals import CAPITALS
from lotplay import make_lot, staff_get, staff_post
from playwright.async_api import Browser, Page, expect
from test_browser_e2e import WAIT, expect_accepted

from helpers import ServerProcess

pytestmark = pytest.mark.browser


class CuttableProxy:
    """A TCP proxy in front of the server. `cut()` stops forwarding on every connection
    and holds new ones without answering (a network gone silent, not a closed socket);
    `restore()` forwards new connections again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_off = False
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.cut_off = True

    def restore(self) -> None:
        self.cut_off = False

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if self.cut_off:
                    continue  # swallowed: nothing reaches the other side any more
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, ConnectionError):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        if self.cut_off:
            with contextlib.suppress(OSError, ConnectionError):
                while await reader.read(65536):
                    pass  # held, never answered
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers.append(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def close(self) -> None:
        for writer in self.writers:
            with contextlib.suppress(Exception):
                writer.close()
        if self.server is not None:
            self.server.close()


async def english_lot(server: ServerProcess, bidders: tuple[str, ...] = ("A", "B"),
                      **params: Any) -> tuple[str, dict[str, str]]:
    """An open english lot (start 1000.00, step 10.00 unless `params` say otherwise) and
    the room URL of each bidder."""
    lot = await make_lot(server, "english", {
        "direction": "forward", "currency": "CNY", "start_price": "1000.00", "step": "10.00",
        "deposit": "100.00", "duration_s": 600, **params}, bidders,
        title="某地块国有建设用地使用权", session="room")
    return lot.lot_id, {b: url.removeprefix(server.base) for b, url in lot.rooms.items()}


async def open_room(opened: Pages, base: str, path: str) -> Page:
    room = await opened.open(base + path)
    await expect(room.locator("#conn")).to_have_attribute("data-state", "online", timeout=WAIT)
    await expect(room.locator("#status")).to_have_attribute("data-status", "open", timeout=WAIT)
    return room


async def confirmed_bid(room: Page, amount: str | None = None) -> None:
    if amount is not None:
        await room.fill("#amount", amount)
    await room.click("#bid-btn")
    await room.click("#confirm-bid")


async def test_a_bid_goes_out_only_once_confirmed_in_figures_capitals_and_wan(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server)
    room = await open_room(pages, server.base, urls["A"])

    # The price cap typed by mistake, 45 steps over the minimum: the dialog warns.
    await room.fill("#amount", "1450")
    await room.click("#bid-btn")
    dialog = room.locator("#confirm")
    await expect(dialog).to_be_visible()
    await expect(room.locator("#confirm-amount")).to_have_text("¥1,450.00")
    await expect(room.locator("#confirm-capital")).to_have_text("人民币壹仟肆佰伍拾元整")
    await expect(room.locator("#confirm-wan")).to_have_text("0.145 万元")
    await expect(room.locator("#confirm-steps")).to_have_attribute("data-steps", "46")
    await expect(room.locator("#confirm-warning")).to_be_visible()
    await expect(room.locator("#confirm-warning")).to_contain_text("45 个幅度")
    await expect(room.locator("#confirm-cancel")).to_be_focused()
    await room.click("#confirm-cancel")
    await expect(dialog).to_be_hidden()
    await asyncio.sleep(0.5)
    assert (await staff_get(server, f"/api/lots/{lot_id}"))["bid_count"] == 0

    # +N steps with N chosen by the bidder, then a confirmed bid without a warning.
    await room.fill("#steps-n", "3")
    await expect(room.locator("#step-2")).to_have_text("+3 个幅度")
    await room.fill("#amount", "")
    await room.click("#step-2")
    await expect(room.locator("#amount")).to_have_value("1020.00")
    await room.click("#bid-btn")
    await expect(room.locator("#confirm-capital")).to_have_text("人民币壹仟零贰拾元整")
    await expect(room.locator("#confirm-warning")).to_be_hidden()
    await room.click("#confirm-bid")
    await expect_accepted(room, "1,020.00")
    assert (await staff_get(server, f"/api/lots/{lot_id}"))["best"] == "1020.00"


async def test_a_websocket_cut_in_the_last_minutes_shows_a_banner_at_once_and_blocks_bidding(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    _, urls = await english_lot(server, duration_s=240)  # within the last minutes
    proxy = CuttableProxy(server.port)
    await proxy.start()
    try:
        room = await open_room(pages, proxy.base, urls["A"])
        await expect(room.locator("#bid-btn")).to_be_enabled()
        cut_at = time.monotonic()
        proxy.cut()
        banner = room.locator("#net-banner")
        await expect(banner).to_have_attribute("data-state", "lost", timeout=7_000)
        assert time.monotonic() - cut_at < 7
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("网络连接已中断")
        await expect(room.locator("#conn")).not_to_have_attribute("data-state", "online")
        await expect(room.locator("body")).to_have_class(re.compile(r"\bnet-down\b"))
        await expect(room.locator("#bid-btn")).to_be_disabled()
        await expect(room.locator("#amount")).to_be_disabled()
        grey = await room.locator(".price-card").evaluate("el => getComputedStyle(el).filter")
        assert "grayscale" in grey

        proxy.restore()
        await expect(banner).to_have_attribute("data-state", "back", timeout=20_000)
        await expect(banner).to_contain_text("连接已恢复")
        await expect(room.locator("#conn")).to_have_attribute("data-state", "online")
        await expect(room.locator("#bid-btn")).to_be_enabled()
        assert pages.errors == []
    finally:
        await proxy.close()


async def test_the_browser_going_offline_shows_the_banner_without_waiting_for_a_ping(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    _, urls = await english_lot(server, duration_s=3600)  # far from the end: slow heartbeat
    room = await open_room(pages, server.base, urls["A"])
    await room.context.set_offline(True)
    await expect(room.locator("#net-banner")).to_have_attribute("data-state", "lost",
                                                                timeout=1_500)
    await expect(room.locator("#bid-btn")).to_be_disabled()
    await room.context.set_offline(False)
    await expect(room.locator("#net-banner")).to_have_attribute("data-state", "back",
                                                                timeout=WAIT)


async def test_outbid_extension_pause_and_resume_each_show_a_dated_notice_and_stale_ones_go(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server, duration_s=30, extend_window_s=60, extend_s=120)
    room_a = await open_room(pages, server.base, urls["A"])
    room_b = await open_room(pages, server.base, urls["B"])
    notices = room_a.locator("#notices")
    assert await notices.get_attribute("aria-live") == "assertive"

    await confirmed_bid(room_a)
    await expect_accepted(room_a, "1,000.00")
    extended = notices.locator('li[data-kind="extended"]')
    await expect(extended).to_have_count(1, timeout=WAIT)
    await expect(extended).to_contain_text("竞价延时至")
    await expect(extended.locator("time")).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"))

    await expect(room_b.locator("#amount")).to_have_value("1010.00", timeout=WAIT)
    await confirmed_bid(room_b)
    outbid = notices.locator('li[data-kind="outbid"]')
    await expect(outbid).to_have_count(1, timeout=WAIT)
    await expect(outbid).to_contain_text("您的报价已被超越，当前最高价 ¥1,010.00")
    await expect(room_a.locator("#message")).to_be_hidden()  # "报价成功" is stale now

    await staff_post(server, f"/api/lots/{lot_id}/pause", {"reason": "网络设备故障"})
    paused = notices.locator('li[data-kind="paused"]')
    await expect(paused).to_have_count(1, timeout=WAIT)
    await expect(paused).to_contain_text("竞价已暂停：网络设备故障")
    await staff_post(server, f"/api/lots/{lot_id}/resume", {"reason": "故障已排除"})
    await expect(notices.locator('li[data-kind="resumed"]')).to_have_count(1, timeout=WAIT)
    await expect(paused).to_have_count(0)
    assert pages.errors == []


async def test_on_a_phone_the_price_countdown_and_bid_button_stay_on_screen(
        auction_server: ServerProcess, browser: Browser) -> None:  # noqa: F811
    server = auction_server
    _, urls = await english_lot(server)
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    try:
        room = await context.new_page()
        await room.goto(server.base + urls["A"])
        await expect(room.locator("#conn")).to_have_attribute("data-state", "online",
                                                              timeout=WAIT)
        await expect(room.locator("#best")).to_be_visible()
        for scroll in ("0", "document.documentElement.scrollHeight"):
            await room.evaluate(f"window.scrollTo(0, {scroll})")
            await asyncio.sleep(0.2)
            for selector in ("#best", "#countdown", "#bid-btn", "#amount"):
                box = await room.locator(selector).bounding_box()
                assert box is not None, selector
                assert box["y"] >= 0 and box["y"] + box["height"] <= 844, (scroll, selector, box)
        assert await room.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        await context.close()


async def test_a_reverse_lot_speaks_of_lowest_offers_and_its_leader_cannot_press_bid(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    _, urls = await english_lot(server, direction="reverse", start_price="1000.00",
                                ceiling="1000.00", duration_s=62)
    room = await open_room(pages, server.base, urls["A"])
    await expect(room.locator("#best-label")).to_have_text("当前最低价")
    await expect(room.locator("#lot-info")).to_contain_text("降价规则")
    await expect(room.locator("#lot-info")).not_to_contain_text("加价")
    await confirmed_bid(room)
    await expect_accepted(room, "1,000.00")
    await expect(room.locator("#bid-btn")).to_be_disabled(timeout=WAIT)
    await expect(room.locator("#leader-note")).to_have_text("您已是当前最低报价者，无需再次出价")
    await expect(room.locator("#step-1")).to_be_disabled()
    # Screen readers: the price is a live region; the minute mark is read out.
    assert await room.locator(".price-card .price").get_attribute("aria-live") == "polite"
    await expect(room.locator("#countdown-say")).to_contain_text("剩余", timeout=WAIT)


async def test_a_ten_day_listing_prints_no_null_and_counts_down_in_days_with_a_date(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    ends = int(time.time() * 1000) + 10 * 86_400_000
    lot = await make_lot(server, "listing_timed", {
        "start_price": "1000.00", "step": "10.00", "deposit": "100.00",
        "listing_ends_at": ends, "confirm_s": 5, "countdown_s": 4}, ["A"],
        title="挂牌地块", session="挂牌")
    room = await open_room(pages, server.base, lot.rooms["A"].removeprefix(server.base))
    await expect(room.locator("#lt-phase")).to_be_visible(timeout=WAIT)
    text = await room.locator("main").inner_text()
    assert "null" not in text and "undefined" not in text, text
    await expect(room.locator("#countdown")).to_have_text(
        re.compile(r"^(9|10) 天 \d{2}:\d{2}:\d{2}$"))
    await expect(room.locator("#lt-clock")).to_have_text(re.compile(r"天"))
    day = time.strftime("%Y-%m-%d", time.localtime(ends / 1000))
    await expect(room.locator("#closes-at")).to_contain_text(day)
    fits = await room.locator(".clock-card").evaluate("el => el.scrollWidth <= el.clientWidth")
    assert fits


async def test_a_cancelled_lot_claims_no_lead_and_an_ended_one_links_its_result(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server)
    room = await open_room(pages, server.base, urls["A"])
    await confirmed_bid(room)
    await expect_accepted(room, "1,000.00")
    await expect(room.locator("#leading-badge")).to_have_text("您当前领先")
    await staff_post(server, f"/api/lots/{lot_id}/cancel", {"reason": "法院裁定中止"})
    await expect(room.locator("#status")).to_have_attribute("data-status", "cancelled",
                                                            timeout=WAIT)
    await expect(room.locator("#leading-badge")).to_have_text("")
    await expect(room.locator("#my-rank")).to_have_text("—")
    await expect(room.locator("#leader-you")).to_have_text("")
    await expect(room.locator("main")).not_to_contain_text("您当前领先")
    await expect(room.locator("#message")).to_be_hidden()  # "报价成功" is stale now
    link = room.locator("#result-link")
    await expect(link).to_be_visible()
    assert await link.get_attribute("href") == f"/result/{lot_id}"


async def test_a_jump_past_the_lots_confirmation_threshold_is_confirmed_and_recorded_so(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server, confirm_above_steps=3)
    room = await open_room(pages, server.base, urls["A"])
    # Four steps past the minimum (1000.00): within the lot's three, no warning.
    await room.fill("#amount", "1030")
    await room.click("#bid-btn")
    await expect(room.locator("#confirm-warning")).to_be_hidden()
    await room.click("#confirm-bid")
    await expect_accepted(room, "1,030.00")
    # B's next price is 1040.00: 1100.00 is six steps past it, more than three. The
    # dialog warns, and the bid goes out confirmed.
    room_b = await open_room(pages, server.base, urls["B"])
    await room_b.fill("#amount", "1100")
    await room_b.click("#bid-btn")
    await expect(room_b.locator("#confirm-warning")).to_be_visible()
    await expect(room_b.locator("#confirm-cancel")).to_be_focused()
    await room_b.click("#confirm-bid")
    await expect_accepted(room_b, "1,100.00")
    events = (await staff_get(server, f"/api/lots/{lot_id}/events"))["events"]
    bids = [e["event"] for e in events if e["event"]["type"] == "BidAccepted"]
    assert [b.get("confirmed", False) for b in bids] == [False, True]


async def test_an_emergency_notice_shows_on_the_board_and_in_every_room_until_resumed(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server, restart_allowed=True)
    rooms = [await open_room(pages, server.base, urls[b]) for b in ("A", "B")]
    board = await pages.open(f"{server.base}/board/{lot_id}")
    await confirmed_bid(rooms[0], "1050")
    await expect_accepted(rooms[0], "1,050.00")
    await staff_post(server, f"/api/lots/{lot_id}/pause",
                     {"reason": "机房断电", "notice": "因交易系统故障暂停竞价"})
    for page in (*rooms, board):
        notice = page.locator("#lot-notice")
        await expect(notice).to_be_visible(timeout=WAIT)
        await expect(notice).to_have_text("暂停公告：因交易系统故障暂停竞价")
    await staff_post(server, f"/api/lots/{lot_id}/resume",
                     {"reason": "恢复供电", "restart": True})
    for page in (*rooms, board):
        await expect(page.locator("#lot-notice")).to_be_hidden(timeout=WAIT)
    await expect(rooms[1].locator("#notices")).to_contain_text("从起始价重新开始")
    # The earlier bid is void: the next price is the start price again.
    await expect(rooms[1].locator("#history")).not_to_contain_text("1,050.00")
    await confirmed_bid(rooms[1], "1000")
    await expect_accepted(rooms[1], "1,000.00")


async def test_a_question_goes_to_the_host_only_and_a_public_answer_names_no_bidder(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    server = auction_server
    lot_id, urls = await english_lot(server)
    asker, other = [await open_room(pages, server.base, urls[b]) for b in ("A", "B")]
    await staff_post(server, f"/api/lots/{lot_id}/announce", {"text": "本场延时规则为 5 分钟"})
    for room in (asker, other):
        await expect(room.locator("#notices")).to_contain_text("主持人公告：本场延时规则为 5 分钟",
                                                               timeout=WAIT)
    await asker.select_option("#ask-kind", "objection")
    await asker.fill("#ask-text", "我的报价为何未显示？")
    await asker.click("#ask-btn")
    mine = asker.locator("#my-questions li")
    await expect(mine).to_contain_text("我的报价为何未显示？", timeout=WAIT)
    await expect(mine).to_contain_text("等待答复")
    staff = await staff_get(server, f"/api/lots/{lot_id}")
    (question,) = staff["questions"]
    assert question["kind"] == "objection" and question["bidder_id"] == "A"
    await staff_post(server, f"/api/lots/{lot_id}/questions/{question['seq']}/answer",
                     {"text": "已刷新，请查看报价记录", "public": True})
    await expect(mine).to_contain_text("答复：已刷新，请查看报价记录", timeout=WAIT)
    await expect(other.locator("#notices")).to_contain_text("已刷新，请查看报价记录",
                                                            timeout=WAIT)
    assert await other.locator("#my-questions li").count() == 0
    asker_no = next(b["bidder_no"] for b in staff["register"] if b["bidder_id"] == "A")
    assert asker_no not in await other.locator("#notices").inner_text()


WAN = [("1030.00", 2, "0.103"), ("45000000.00", 2, "4,500"), ("0.01", 2, "0.000001"),
       ("123456789", 0, "12,345.6789")]


async def test_the_confirmation_writes_amounts_in_capital_numerals_and_wan_exactly(
        auction_server: ServerProcess, pages: Pages) -> None:  # noqa: F811
    page = await pages.open(f"{auction_server.base}/")
    got = await page.evaluate("""async ([capitals, wan]) => {
        const m = await import("/static/money.js");
        return [capitals.map(([a]) => m.capitalAmount(a)),
                wan.map(([a, d]) => m.inWan(a, d))];
    }""", [CAPITALS, WAN])
    assert got[0] == [text for _, text in CAPITALS]
    assert got[1] == [text for _, _, text in WAN]
