"""From a notice to a bid through the pages, in a headless Chromium against a real server
(the pages opened at http://localhost:PORT: WebAuthn takes no IP address as its relying
party): a bidder registers (the TOTP key shown once), logs in with its second factor,
adds a passkey (Chromium's virtual authenticator over CDP) and logs in again with the
passkey alone; it applies from the notice accepting the terms and uploads a document; a
reviewer approves it; it pays its deposit to the reference its portal shows, by a signed
bank notification; the room link appears in its account by itself. A second bidder,
paying from another company's account, is refused with the reason in its portal and never
gets a room. An amendment of the notice brings the bidding time forward: the lot opens by
itself then, and the first bidder enters its room and bids."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from browser_pages import Pages
from playwright.async_api import Page, expect
from test_browser_bank import BANK_SECRET, pay
from test_browser_e2e import bid, expect_accepted
from web_support import HOST_TOKEN, ServerFactory

from auction.state import OPEN, SCHEDULED
from auction.trade.identity import uscc_check_char

pytestmark = pytest.mark.browser

WAIT = 10_000
DAY = 86_400_000
CODE_A = "91350100M000100Y43"
CODE_B = "91110000MA0123456" + uscc_check_char("91110000MA0123456")
PASSWORD = "Correct-Horse-9"
PDF = b"%PDF-1.4\n% business licence\n" + b"0" * 4000


async def virtual_authenticator(page: Page) -> None:
    """A platform authenticator in the page's Chromium (CDP WebAuthn domain): resident
    keys, user verification, the user always present and verified."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})


async def register_and_log_in(page: Page, name: str, code: str) -> None:
    await page.fill("#reg-name", name)
    await page.fill("#reg-code", code)
    await page.fill("#reg-contact", "张三")
    await page.fill("#reg-phone", "13800000000")
    await page.fill("#reg-email", f"{code[-4:].lower()}@example.cn")
    await page.fill("#reg-password", PASSWORD)
    await page.click("#register")
    secret_el = page.locator("#totp-secret")
    await expect(secret_el).not_to_be_empty(timeout=WAIT)
    totp = pyotp.TOTP(await secret_el.inner_text())
    await page.fill("#login-password", PASSWORD)
    await page.fill("#login-otp", f"{(int(totp.now()) + 1) % 1_000_000:06d}")
    await page.click("#login")
    await expect(page.locator("#message")).to_have_attribute("data-code", "login_failed",
                                                             timeout=WAIT)
    await page.fill("#login-password", PASSWORD)
    await page.fill("#login-otp", totp.now())
    await page.click("#login")
    await expect(page.locator("#signed-in")).to_be_visible(timeout=WAIT)


async def apply_with_licence(page: Page, base: str, notice_id: str, lot_id: str) -> None:
    await page.goto(f"{base}/notice/{notice_id}")
    card = page.locator(f'#lots .lot-card[data-lot-id="{lot_id}"]')
    await card.locator(".accept-terms").check()
    await card.locator(".apply").click()
    await expect(page.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await page.goto(f"{base}/portal")
    application = page.locator(f'#applications .application[data-lot-id="{lot_id}"]')
    await expect(application).to_have_attribute("data-status", "submitted", timeout=WAIT)
    await application.locator(".doc-name").fill("营业执照")
    await application.locator(".doc-file").set_input_files(
        files=[{"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await application.locator(".doc-upload").click()
    await expect(application.locator(".documents li")).to_have_count(1, timeout=WAIT)
    await expect(application.locator(".room-link")).to_have_count(0)


async def reference_in_portal(page: Page, lot_id: str) -> str:
    await page.goto(page.url)
    application = page.locator(f'#applications .application[data-lot-id="{lot_id}"]')
    reference = application.locator(".deposit-instructions .reference")
    await expect(reference).to_have_text(re.compile(r"^BZ\d{10}$"), timeout=WAIT)
    return await reference.inner_text()


async def test_a_bidder_goes_from_the_notice_to_its_room_and_a_foreign_payer_is_refused(
        make_server: ServerFactory, pages: Pages) -> None:
    server = await make_server(bank_secret=BANK_SECRET, trade_periods=("other=0c/0w",))
    base = server.base.replace("127.0.0.1", "localhost")
    lot_id = await server.make_lot()
    now = int(time.time() * 1000)
    schedule = {"title": "某公司设备转让公告", "kind": "other", "apply_from": now - 1000,
                "apply_until": now + 20 * DAY, "deposit_until": now + 20 * DAY,
                "bidding_at": now + 25 * DAY, "terms": "竞买须知：……", "lot_ids": [lot_id],
                "documents": ["营业执照"]}
    notice = await server.ok("POST", "/api/notices", schedule)
    notice_id = notice["notice_id"]
    lot = server.engine.lot(lot_id)
    assert lot is not None and (lot.status, lot.opens_at) == (SCHEDULED, now + 25 * DAY)

    # The first bidder: password and TOTP, then a passkey, then the passkey alone.
    bidder = await pages.open(f"{base}/portal")
    await virtual_authenticator(bidder)
    await register_and_log_in(bidder, "甲设备有限公司", CODE_A)
    await bidder.click("#add-passkey")
    await expect(bidder.locator("#message")).to_have_attribute("data-kind", "ok", timeout=WAIT)
    await expect(bidder.locator("#passkeys .passkey")).to_have_count(1, timeout=WAIT)
    await bidder.click("#logout")
    await expect(bidder.locator("#signed-out")).to_be_visible(timeout=WAIT)
    await bidder.click("#passkey-login")
    await expect(bidder.locator("#signed-in")).to_be_visible(timeout=WAIT)
    await expect(bidder.locator("#account-name")).to_have_text("甲设备有限公司")
    await apply_with_licence(bidder, base, notice_id, lot_id)

    # The second bidder applies the same way, with its password and TOTP.
    other = await pages.open(f"{base}/portal")
    await register_and_log_in(other, "乙贸易有限公司", CODE_B)
    await apply_with_licence(other, base, notice_id, lot_id)

    reviewer = await pages.open(f"{base}/review#token={HOST_TOKEN}")
    queued = reviewer.locator("#queue .application")
    await expect(queued).to_have_count(2, timeout=WAIT)
    submitted = reviewer.locator('#queue .application[data-status="submitted"]')
    for left in (1, 0):
        await submitted.locator(".approve").first.click()
        await expect(submitted).to_have_count(left, timeout=WAIT)
    counted = reviewer.locator(f'#lot-counts .qualified[data-lot-id="{lot_id}"]')
    await expect(counted).to_have_attribute("data-qualified", "0", timeout=WAIT)

    # Each pays to the reference its portal shows; the second from another company.
    paid = await pay(server, "T-A", await reference_in_portal(bidder, lot_id), "甲设备有限公司",
                     "6222-0001")
    assert paid == "matched"
    paid = await pay(server, "T-B", await reference_in_portal(other, lot_id), "丙公司",
                     "6222-0009")
    assert paid == "foreign_payer"
    await other.reload()
    refused = other.locator(f'#applications .application[data-lot-id="{lot_id}"] '
                            '.arrival[data-outcome="foreign_payer"]')
    await expect(refused).to_contain_text("付款户名与申请人不一致", timeout=WAIT)
    await other.click("#lang-toggle")
    await expect(refused).to_contain_text("The payer is not the applicant")
    await expect(other.locator(".room-link")).to_have_count(0)

    await bidder.reload()
    mine = bidder.locator(f'#applications .application[data-lot-id="{lot_id}"]')
    await expect(mine.locator(".room-link")).to_have_count(1, timeout=WAIT)
    await reviewer.click("#refresh")
    await expect(counted).to_have_attribute("data-qualified", "1", timeout=WAIT)

    # An amendment brings bidding forward: the lot opens by itself at the new time.
    now = int(time.time() * 1000)
    await server.ok("POST", f"/api/notices/{notice_id}/amend", {
        **schedule, "apply_until": now + 2000, "deposit_until": now + 2000,
        "bidding_at": now + 3000, "reason": "竞价时间提前 / bidding brought forward"})
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.opens_at == now + 3000
    status, error = await server.call("POST", f"/api/lots/{lot_id}/start", {})
    assert status == 409 and error["error"]["code"] == "too_early"
    await bidder.goto(f"{base}/notice/{notice_id}")
    await expect(bidder.locator(f'#lots .qualified[data-lot-id="{lot_id}"]')).to_have_attribute(
        "data-qualified", "1", timeout=WAIT)
    await bidder.goto(f"{base}/portal")
    await mine.locator(".room-link").click()
    await bidder.wait_for_url(f"**/room/{lot_id}**")
    await expect(bidder.locator("#conn")).to_have_attribute("data-state", "online",
                                                            timeout=WAIT)
    deadline = time.time() + 10
    while (lot := server.engine.read(lot_id)) is not None and lot.status != OPEN:
        assert time.time() < deadline, "the lot did not open at its notice's bidding time"
        await bidder.wait_for_timeout(200)
    await bid(bidder, "100.00")
    await expect_accepted(bidder, "100.00")
    records = await server.engine.history(lot_id)
    scheduled = [r.event for r in records if type(r.event).__name__ == "LotScheduled"]
    assert [e.reason.split(":")[0] for e in scheduled] == [
        f"公告 notice {notice_id}", f"更正公告 amendment of notice {notice_id}"]
    assert not pages.errors, pages.errors


async def test_a_failure_of_the_server_does_not_show_a_signed_in_bidder_the_login_form(
        make_server: ServerFactory, pages: Pages) -> None:
    server = await make_server()
    page = await pages.open(f"{server.base}/portal")
    await register_and_log_in(page, "丁科技有限公司", CODE_A)
    await expect(page.locator("#signed-in")).to_be_visible(timeout=WAIT)
    failed: list[int] = []

    async def fail_twice(route: Any) -> None:
        if len(failed) < 2:
            failed.append(503)
            await route.fulfill(status=503, content_type="application/json",
                                body='{"error":{"code":"unavailable","message":"","detail":""}}')
        else:
            await route.continue_()

    await page.route("**/api/account", fail_twice)
    await page.reload()
    await expect(page.locator("#signed-in")).to_be_visible(timeout=WAIT)
    await expect(page.locator("#account-name")).to_have_text("丁科技有限公司")
    assert failed == [503, 503]
    # a 401 is signed out at once
    await page.unroute("**/api/account")
    await page.context.clear_cookies()
    await page.reload()
    await expect(page.locator("#signed-out")).to_be_visible(timeout=WAIT)
