"""After the auction through the pages, in a headless Chromium: the winner downloads the
transaction confirmation from its room and signs it, the other bidder sees none; a losing
bidder objects and reads the answer; the host console shows the webhooks' delivery log
and sends a milestone again."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from browser_pages import Pages
from lotplay import setup_lot, staff_get, staff_post
from playwright.async_api import expect
from receiver import Receiver
from test_browser_e2e import WAIT, expect_accepted
from test_browser_room import confirmed_bid, english_lot, open_room

from helpers import ServerProcess

pytestmark = pytest.mark.browser


async def ended(server: ServerProcess, lot_id: str) -> None:
    async with asyncio.timeout(15):
        while (await staff_get(server, f"/api/lots/{lot_id}"))["status"] != "awarded":
            await asyncio.sleep(0.1)


async def test_the_winner_downloads_and_signs_the_confirmation_from_its_room(
        auction_server: ServerProcess, pages: Pages, tmp_path: Path) -> None:
    server = auction_server
    lot_id, urls = await english_lot(server, duration_s=6)
    winner = await open_room(pages, server.base, urls["A"])
    await confirmed_bid(winner)
    await expect_accepted(winner, "1,000.00")
    await ended(server, lot_id)
    issued = await staff_post(server, f"/api/lots/{lot_id}/confirmation", {})

    card = winner.locator("#after-card")
    await expect(card).to_be_visible(timeout=WAIT)
    await expect(winner.locator("#conf-status")).to_contain_text("¥1,000.00")
    await winner.click("#conf-sign")  # not before the document was downloaded
    await expect(winner.locator("#after-message")).to_have_text("请先下载并核对成交确认书。")
    async with winner.expect_download() as info:
        await winner.click("#conf-download")
    download = await info.value
    saved = tmp_path / "confirmation.pdf"
    await download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == issued["document_sha256"]
    await winner.click("#conf-sign")
    await expect(winner.locator("#conf-status")).to_have_attribute("data-status", "signed")
    await expect(winner.locator("#conf-sign")).to_be_hidden()
    assert (await staff_get(server, f"/api/lots/{lot_id}/confirmation"))["status"] == "signed"

    loser = await pages.open(server.base + urls["B"])
    await expect(loser.locator("#status")).to_have_attribute("data-status", "awarded",
                                                             timeout=WAIT)
    await loser.wait_for_timeout(500)
    await expect(loser.locator("#after-card")).to_be_hidden()
    assert not pages.errors


async def test_a_losing_bidder_files_an_objection_from_its_room_and_sees_the_answer(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    lot_id, urls = await english_lot(server, duration_s=6)
    winner = await open_room(pages, server.base, urls["A"])
    await confirmed_bid(winner)
    await expect_accepted(winner, "1,000.00")
    await ended(server, lot_id)
    await staff_post(server, f"/api/lots/{lot_id}/notice", {"trade_kind": "land"})

    loser = await pages.open(server.base + urls["B"])
    card = loser.locator("#notice-card")
    await expect(card).to_be_visible(timeout=WAIT)
    await expect(loser.locator("#notice-period")).to_contain_text("个工作日")
    await loser.fill("#objection-text", "A 公司与本公司使用同一网络地址，请核查")
    await loser.click("#objection-submit")
    await expect(loser.locator("#notice-message")).to_have_text("异议已提交，请等待答复。")
    mine = loser.locator('.objection[data-mine="true"]')
    await expect(mine).to_contain_text("待答复")
    await expect(mine).to_contain_text("A 公司与本公司使用同一网络地址，请核查")

    await staff_post(server, f"/api/lots/{lot_id}/objections/O-1/answer",
                     {"outcome": "dismissed", "reason": "经核查，双方网络地址不同，异议不成立"})
    await expect(mine).to_have_attribute("data-outcome", "dismissed", timeout=WAIT)
    await expect(mine).to_contain_text("答复：经核查，双方网络地址不同，异议不成立")
    # The winner reads the answer, not who objected nor what it wrote.
    other = winner.locator(".objection")
    await expect(other).to_contain_text("经核查，双方网络地址不同", timeout=WAIT)
    await expect(other).not_to_contain_text("同一网络地址，请核查")
    await expect(other).to_have_attribute("data-mine", "false")
    assert not pages.errors


async def test_the_host_console_shows_the_delivery_log_and_resends_a_milestone(
        tmp_path: Path, pages: Pages) -> None:
    receiver = Receiver()
    await receiver.start()
    server = ServerProcess(str(tmp_path), extra_env={
        "AUCTION_WEBHOOK_URL": receiver.url, "AUCTION_WEBHOOK_SECRET": "s" * 32})
    await server.start()
    try:
        lot_id, _ = await setup_lot(server, duration_s=1, bidders=1)  # no bid: it fails
        await receiver.wait_for(lambda: "lot.failed" in {p.json["milestone"]
                                                         for p in receiver.posts})
        failed = receiver.keys("lot.failed")[0]
        console = await pages.open(f"{server.base}/host#token={server.HOST_TOKEN}")
        row = console.locator(f'#webhooks tr[data-key="{failed}"]')
        await expect(row).to_have_attribute("data-delivered", "true", timeout=WAIT)
        await row.locator(".webhook-resend").click()
        await expect(console.locator("#webhook-message")).to_have_text("请填写重发理由")
        await console.fill("#webhook-reason", "省平台未收到")
        await row.locator(".webhook-resend").click()
        await expect(console.locator("#webhook-message")).to_contain_text(failed)
        await receiver.wait_for(lambda: receiver.keys().count(failed) == 2)
        first, second = (p for p in receiver.posts if p.key == failed)
        assert first.body == second.body
        assert not pages.errors
    finally:
        server.stop()
        await receiver.stop()
