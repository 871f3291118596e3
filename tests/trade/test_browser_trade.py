"""From a notice to a bid through the pages, in a headless Chromium against a real
`auction serve`: a bidder registers (the TOTP key shown once), logs in with its second
factor, applies from the notice accepting the terms, uploads a document; a reviewer
approves it and confirms the deposit by hand in the reviewer queue; the room link appears
in the bidder's account by itself, and the bidder enters its room and bids."""

from __future__ import annotations

import time

import pyotp
import pytest
from browser_pages import Pages
from lotplay import staff_post
from playwright.async_api import expect

from helpers import ServerProcess

pytestmark = pytest.mark.browser

WAIT = 10_000
DAY = 86_400_000
CODE = "91350100M000100Y43"
PDF = b"%PDF-1.4\n% business licence\n" + b"0" * 4000


async def test_a_bidder_goes_from_the_notice_to_its_room_through_the_pages(
        auction_server: ServerProcess, pages: Pages) -> None:
    server = auction_server
    session = await staff_post(server, "/api/sessions", {"name": "2026年第9期"})
    lot = await staff_post(server, "/api/lots", {
        "session_id": session["session_id"], "title": "某公司设备转让", "format": "english",
        "params": {"start_price": "100.00", "step": "10.00", "duration_s": 600,
                   "deposit": "50.00"}})
    lot_id = lot["lot_id"]
    now = int(time.time() * 1000)
    notice = await staff_post(server, "/api/notices", {
        "title": "某公司设备转让公告", "kind": "other", "apply_from": now - 1000,
        "apply_until": now + 20 * DAY, "deposit_until": now + 20 * DAY,
        "bidding_at": now + 25 * DAY, "terms": "竞买须知：……", "lot_ids": [lot_id],
        "documents": ["营业执照"]})

    bidder = await pages.open(f"{server.base}/portal")
    await bidder.fill("#reg-name", "甲设备有限公司")
    await bidder.fill("#reg-code", CODE)
    await bidder.fill("#reg-contact", "张三")
    await bidder.fill("#reg-phone", "13800000000")
    await bidder.fill("#reg-email", "zhang@example.cn")
    await bidder.fill("#reg-password", "Correct-Horse-9")
    await bidder.click("#register")
    secret_el = bidder.locator("#totp-secret")
    await expect(secret_el).not_to_be_empty(timeout=WAIT)
    totp = pyotp.TOTP(await secret_el.inner_text())

    await bidder.fill("#login-password", "Correct-Horse-9")
    await bidder.fill("#login-otp", f"{(int(totp.now()) + 1) % 1_000_000:06d}")
    await bidder.click("#login")
    await expect(bidder.locator("#message")).to_have_attribute("data-code", "login_failed",
                                                               timeout=WAIT)
    await bidder.fill("#login-password", "Correct-Horse-9")
    await bidder.fill("#login-otp", totp.now())
    await bidder.click("#login")
    await expect(bidder.locator("#signed-in")).to_be_visible(timeout=WAIT)

    await bidder.goto(f"{server.base}/notice/{notice['notice_id']}")
    card = bidder.locator(f'#lots .lot-card[data-lot-id="{lot_id}"]')
    await card.locator(".accept-terms").check()
    await card.locator(".apply").click()
    await expect(bidder.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)

    await bidder.goto(f"{server.base}/portal")
    application = bidder.locator(f'#applications .application[data-lot-id="{lot_id}"]')
    await expect(application).to_have_attribute("data-status", "submitted", timeout=WAIT)
    await application.locator(".doc-name").fill("营业执照")
    await application.locator(".doc-file").set_input_files(
        files=[{"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await application.locator(".doc-upload").click()
    await expect(application.locator(".documents li")).to_have_count(1, timeout=WAIT)
    await expect(application.locator(".room-link")).to_have_count(0)

    reviewer = await pages.open(f"{server.base}/review#token={ServerProcess.HOST_TOKEN}")
    queued = reviewer.locator("#queue .application")
    await expect(queued).to_have_count(1, timeout=WAIT)
    await queued.locator(".approve").click()
    await reviewer.select_option("#status", "approved")
    approved = reviewer.locator('#queue .application[data-status="approved"]')
    await expect(approved).to_have_count(1, timeout=WAIT)
    await approved.locator(".deposit-account").fill("6222 0200 0000 0001")
    await approved.locator(".deposit-reason").fill("银行回单已核对")
    await approved.locator(".confirm-deposit").click()
    await expect(approved.locator(".confirm-deposit")).to_have_count(0, timeout=WAIT)

    await staff_post(server, f"/api/lots/{lot_id}/schedule", {})
    await staff_post(server, f"/api/lots/{lot_id}/start", {})
    await bidder.reload()
    room_link = bidder.locator(f'#applications .application[data-lot-id="{lot_id}"] .room-link')
    await expect(room_link).to_have_count(1, timeout=WAIT)
    await room_link.click()
    await bidder.wait_for_url(f"**/room/{lot_id}**")
    await bidder.fill("#amount", "100.00")
    await bidder.click("#bid-btn")
    await bidder.click("#confirm-bid")
    message = bidder.locator("#message")
    await expect(message).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(message).to_contain_text("100")
    assert not pages.errors, pages.errors
