"""Deposits through the bank in a headless Chromium: a bidder reads its deposit reference
in the room, pays by a (simulated, signed) bank notification and bids; a second bidder
paying from another company's account is refused with the reason shown; staff export the
refund file from the host console and see a runner-up's deposit held for its offer."""

from __future__ import annotations

import re
import time

import orjson
import pytest
from browser_pages import Pages
from playwright.async_api import Page, expect
from test_bank_http import BANK_SECRET as HTTP_BANK_SECRET
from test_bank_http import ranked_lot
from test_browser_e2e import bid, expect_accepted, expect_rejected
from web_support import HOST_TOKEN, Server, ServerFactory

from web.bank import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

pytestmark = pytest.mark.browser

WAIT = 10_000
BANK_SECRET = b"bank-secret-of-the-browser-test"


async def pay(server: Server, txn: str, reference: str, payer: str, account: str) -> str:
    """The bank notifies a transfer of the deposit (50.00) to ``reference``: the outcome
    the server answers (``matched``, ``foreign_payer``...)."""
    raw = orjson.dumps({"transaction_id": txn, "reference": f"保证金 {reference}",
                        "payer_account": account, "payer_name": payer, "amount": "50.00",
                        "value_time": int(time.time() * 1000)})
    stamp = str(int(time.time() * 1000))
    status, body = await server.call("POST", "/api/bank/notifications", token=None, data=raw,
                                     headers={"Content-Type": "application/json",
                                              TIMESTAMP_HEADER: stamp,
                                              SIGNATURE_HEADER: sign(BANK_SECRET, stamp, raw)})
    assert status == 200, body
    outcome: str = body["outcome"]
    return outcome


async def reference_in(room: Page) -> str:
    reference = room.locator("#deposit-card .reference").first
    await expect(reference).to_have_text(re.compile(r"^BZ\d{10}$"), timeout=WAIT)
    return await reference.inner_text()


async def test_a_bidder_pays_through_the_bank_and_bids_and_a_foreign_payer_is_refused(
        make_server: ServerFactory, pages: Pages) -> None:
    # no publicity period (0 working days): the ended lot's refunds are payable at once
    server = await make_server(bank_secret=BANK_SECRET, publicity_days=0)
    lot_id = await server.make_lot()
    passes = {b: await server.register(lot_id, b, deposit=False, name=name)
              for b, name in (("a", "甲公司"), ("b", "乙公司"))}
    rooms = {b: await pages.open(server.base + p["room_url"]) for b, p in passes.items()}
    card_a = rooms["a"].locator("#deposit-card")
    await expect(card_a).to_contain_text("甲公司", timeout=WAIT)
    await expect(card_a).to_contain_text("50.00")
    ref_a = await reference_in(rooms["a"])
    assert ref_a == passes["a"]["deposit_reference"]
    assert await pay(server, "T-A", ref_a, "甲公司", "6222-0001") == "matched"
    await expect(card_a.locator(".deposit-state")).to_have_attribute(
        "data-state", "matched", timeout=WAIT)
    await expect(card_a).to_contain_text("保证金已到账并确认")

    ref_b = await reference_in(rooms["b"])
    assert await pay(server, "T-B", ref_b, "丙公司", "6222-0009") == "foreign_payer"
    arrival = rooms["b"].locator('#deposit-card .arrival[data-outcome="foreign_payer"]')
    await expect(arrival).to_contain_text("付款户名与申请人不一致", timeout=WAIT)
    await rooms["b"].click("#lang-toggle")
    await expect(arrival).to_contain_text("The payer is not the applicant")

    await server.open(lot_id)
    await bid(rooms["a"], "100.00")
    await expect_accepted(rooms["a"], "100.00")
    await bid(rooms["b"], "110.00")
    await expect_rejected(rooms["b"], "deposit_missing")

    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "演示 / demo"})
    host = await pages.open(f"{server.base}/host#token={HOST_TOKEN}", accept_downloads=True)
    await expect(host.locator("#bank-card .bank-table tr[data-txn='T-B']").first).to_contain_text(
        "付款户名与申请人不一致", timeout=WAIT)
    row = host.locator(f"#bank-card .bank-references tr[data-reference='{ref_a}']")
    await expect(row).to_contain_text("甲公司")
    await expect(row).to_have_attribute("data-state", "matched")
    async with host.expect_download(timeout=WAIT) as download_info:
        await host.click("#bank-export")
    download = await download_info.value
    path = await download.path()
    text = path.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("退款编号,收款账号,收款户名,金额")
    assert "T-A,6222-0001,甲公司,50.00,退还保证金" in text
    assert "T-B,6222-0009,丙公司,50.00,退回款项" in text
    await expect(host.locator("#bank-card .bank-note")).to_contain_text("已导出 2 笔退款")
    # the bank's result file: both refunds paid; the ledger of the ended lot is at zero
    result = "退款编号,银行流水号,状态\nT-A,BK-1,成功\nT-B,BK-2,成功\n".encode("gbk")
    await host.locator("#bank-confirmations").set_input_files(
        files=[{"name": "result.csv", "mimeType": "text/csv", "buffer": result}])
    await expect(host.locator("#bank-card .bank-note")).to_contain_text("已确认 2 笔退款",
                                                                        timeout=WAIT)
    await expect(host.locator("#bank-card .bank-zero")).to_have_attribute("data-zero", "true")
    assert pages.errors == []


async def test_staff_see_the_runner_up_s_deposit_held_for_its_offer_not_due(
        make_server: ServerFactory, pages: Pages) -> None:
    server = await make_server(bank_secret=HTTP_BANK_SECRET, publicity_days=0)
    await ranked_lot(server, "H", on_default="runner_up")  # a wins, b runner-up, c third
    host = await pages.open(f"{server.base}/host#token={HOST_TOKEN}")
    held = host.locator("#bank-card .bank-table tr[data-txn='H-b']")
    await expect(held).to_have_attribute("data-outcome", "runner_up_offer", timeout=WAIT)
    await expect(held).to_contain_text("作为候补保留")
    await expect(host.locator("#bank-card")).to_contain_text("作为候补保留的保证金（暂不退还）")
    await expect(host.locator("#bank-card .bank-table tr[data-txn='H-c']")).to_contain_text(
        "待退")
    await host.click("#lang-toggle")
    await expect(held).to_contain_text("Held for the runner-up offer.")
    assert pages.errors == []
