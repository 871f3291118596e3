"""Deposits and payments through the bank over real HTTP: signed notifications (forged,
replayed, repeated, conflicting), statement import in GBK, refunds exported and confirmed
until the ledger of each ended lot is zero, the payment of the price."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import time
from typing import Any

import orjson
import pytest
from web_support import HOST_TOKEN, Server, ServerFactory

from auction.model import DepositConfirmed, DepositRefunded
from auction.trade.deposits_bank import DECIDER, LEDGER_ID, BankRefundConfirmed
from auction.workdays import china_midnight_ms
from engine.eventlog import LogUnavailable
from web.bank import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DepositOutcome,
    lot_end,
    parse_confirmations,
    sign,
)
from web.keys import BANK, TRADE

BANK_SECRET = b"bank-secret-for-the-tests-0123"


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    # no publicity period (0 working days): a lot's refunds are payable once it ended
    return await make_server(bank_secret=BANK_SECRET, publicity_days=0)


def now_ms() -> int:
    return int(time.time() * 1000)


async def notify(server: Server, *, stamp: int | None = None, secret: bytes = BANK_SECRET,
                 body: bytes | None = None, **fields: Any) -> tuple[int, Any]:
    """Send a signed bank notification of ``fields`` (or the raw ``body``)."""
    now = server.engine.now()  # the server's clock: the bank's times are close to it
    raw = body if body is not None else orjson.dumps(
        {"amount": "50.00", "value_time": now, "payer_account": "6222-001", **fields})
    ts = str(now if stamp is None else stamp)
    return await server.call("POST", "/api/bank/notifications", token=None, data=raw,
                             headers={"Content-Type": "application/json",
                                      TIMESTAMP_HEADER: ts,
                                      SIGNATURE_HEADER: sign(secret, ts, raw)})


async def registered(server: Server, lot_id: str, bidder_id: str,
                     name: str) -> dict[str, Any]:
    return await server.register(lot_id, bidder_id, deposit=False, name=name)


async def test_a_deposit_paid_by_a_signed_notification_confirms_the_bidder_with_actor_bank(
        server: Server) -> None:
    heard: list[DepositOutcome] = []

    async def listener(outcome: DepositOutcome) -> None:
        heard.append(outcome)

    server.app[BANK].listeners.append(listener)
    lot_id = await server.make_lot()
    reg = await registered(server, lot_id, "b1", "甲公司")
    ref = reg["deposit_reference"]
    assert ref.startswith("BZ") and len(ref) == 12
    status, answer = await notify(server, transaction_id="T-1", reference=f"保证金 {ref}",
                                  payer_name="甲公司")
    assert status == 200, answer
    assert (answer["outcome"], answer["reference"], answer["duplicate"]) == (
        "matched", ref, False)
    state = server.engine.lot(lot_id)
    assert state is not None and state.bidders["b1"].deposit == 5000
    records = await server.engine.history(lot_id)
    [confirmed] = [r.event for r in records if isinstance(r.event, DepositConfirmed)]
    assert (confirmed.actor, confirmed.account) == ("bank", "6222-001")
    mine = await server.ok("GET", f"/api/lots/{lot_id}/deposit", token=reg["token"])
    [party] = mine["parties"]
    assert party["deposit"]["status"] == "matched"
    assert party["deposit_status"] == "confirmed"
    assert heard == [DepositOutcome(lot_id, "b1", ref, "T-1", "matched", "deposit", 5000,
                                    "6222-001")]


async def test_a_host_confirming_a_bank_paid_deposit_by_hand_must_give_a_reason(
        server: Server) -> None:
    lot_id = await server.make_lot()
    await registered(server, lot_id, "b1", "甲公司")
    path = f"/api/lots/{lot_id}/bidders/b1/deposit"
    body = {"amount": "50.00", "account": "6222-001"}
    status, error = await server.call("POST", path, body)
    assert (status, error["error"]["code"]) == (400, "reason_required")
    await server.ok("POST", path, {**body, "reason": "银行回单已核对 / bank slip checked"})
    [confirmed] = [r.event for r in await server.engine.history(lot_id)
                   if isinstance(r.event, DepositConfirmed)]
    assert (confirmed.actor, confirmed.reason) == ("alice", "银行回单已核对 / bank slip checked")


async def test_a_deposit_from_another_companys_account_is_flagged_and_the_bidder_sees_why(
        server: Server) -> None:
    lot_id = await server.make_lot()
    reg = await registered(server, lot_id, "b2", "乙公司")
    status, answer = await notify(server, transaction_id="T-2",
                                  reference=reg["deposit_reference"], payer_name="丙公司")
    assert (status, answer["outcome"]) == (200, "foreign_payer")
    assert answer["message"]["en"].startswith("The payer is not the applicant")
    state = server.engine.lot(lot_id)
    assert state is not None and state.bidders["b2"].deposit is None
    mine = await server.ok("GET", f"/api/lots/{lot_id}/deposit", token=reg["token"])
    [arrival] = mine["parties"][0]["deposit"]["arrivals"]
    assert arrival["outcome"] == "foreign_payer"
    assert mine["parties"][0]["deposit"]["status"] == "awaiting"


async def test_the_same_notification_twice_changes_nothing_and_other_content_is_refused(
        server: Server) -> None:
    lot_id = await server.make_lot()
    reg = await registered(server, lot_id, "b1", "甲公司")
    fields = {"transaction_id": "T-9", "reference": reg["deposit_reference"],
              "payer_name": "甲公司", "value_time": now_ms()}
    assert (await notify(server, **fields))[1]["duplicate"] is False
    before = await server.engine.aggregates.records("bank_ledger", LEDGER_ID)
    status, again = await notify(server, **fields)
    assert (status, again["outcome"], again["duplicate"]) == (200, "matched", True)
    assert await server.engine.aggregates.records("bank_ledger", LEDGER_ID) == before
    status, conflict = await notify(server, **{**fields, "amount": "51.00"})
    assert (status, conflict["error"]["code"]) == (409, "conflict")
    deposits = [r for r in await server.engine.history(lot_id)
                if isinstance(r.event, DepositConfirmed)]
    assert len(deposits) == 1


async def test_a_forged_or_replayed_notification_is_refused_and_changes_nothing(
        server: Server) -> None:
    lot_id = await server.make_lot()
    reg = await registered(server, lot_id, "b1", "甲公司")
    fields = {"transaction_id": "T-5", "reference": reg["deposit_reference"],
              "payer_name": "甲公司"}
    forged = await notify(server, secret=b"not-the-banks-secret-000", **fields)
    assert forged[0] == 401 and forged[1]["error"]["code"] == "bad_signature"
    replayed = await notify(server, stamp=now_ms() - 301_000, **fields)
    assert replayed[0] == 401 and "replay" in replayed[1]["error"]["detail"]
    ahead = await notify(server, stamp=now_ms() + 301_000, **fields)
    assert ahead[0] == 401
    raw = orjson.dumps({"transaction_id": "T-5", "reference": "x", "payer_account": "1",
                        "payer_name": "甲公司", "amount": "50.00", "value_time": 1})
    status, unsigned = await server.call("POST", "/api/bank/notifications", token=None,
                                         data=raw)
    assert (status, unsigned["error"]["code"]) == (401, "bad_signature")
    ts = str(now_ms())
    tampered = raw.replace(b"50.00", b"5.00")
    status, _ = await server.call("POST", "/api/bank/notifications", token=None,
                                  data=tampered, headers={
                                      TIMESTAMP_HEADER: ts,
                                      SIGNATURE_HEADER: sign(BANK_SECRET, ts, raw)})
    assert status == 401
    assert await server.engine.aggregates.records("bank_ledger", LEDGER_ID) == [
        r for r in await server.engine.aggregates.records("bank_ledger", LEDGER_ID)
        if r.event.__class__.__name__ == "BankReferenceOpened"]


async def test_without_a_bank_secret_the_endpoint_is_off(make_server: ServerFactory) -> None:
    server = await make_server()
    status, body = await notify(server, transaction_id="T", reference="x", payer_name="n")
    assert (status, body["error"]["code"]) == (503, "bank_not_configured")


STATEMENT = """交易时间,付款账号,付款户名,金额,摘要,附言,流水号
{on_time},6222-001,甲公司,50.00,保证金,{ref_a},S-1
{on_time},6222-002,乙公司,49.99,保证金,{ref_b},S-2
{late},6222-003,丙公司,50.00,保证金,{ref_c},S-3
{on_time},6222-004,丁公司,50.00,,转账,S-4
{on_time},6222-005,戊公司,-10.00,退款,,S-5
"""


async def test_a_gbk_statement_is_imported_and_matched_row_by_row(server: Server) -> None:
    opens = now_ms() + 3_600_000
    lot_id = await server.make_lot(opens_at=opens)
    refs = {b: (await registered(server, lot_id, b, n))["deposit_reference"]
            for b, n in (("a", "甲公司"), ("b", "乙公司"), ("c", "丙公司"))}
    text = STATEMENT.format(on_time=time.strftime("%Y-%m-%d %H:%M:%S",
                                                  time.gmtime(now_ms() / 1000 + 8 * 3600)),
                            late=time.strftime("%Y-%m-%d %H:%M:%S",
                                               time.gmtime(opens / 1000 + 8 * 3600 + 60)),
                            ref_a=refs["a"], ref_b=refs["b"], ref_c=refs["c"])
    body = {"content_base64": base64.b64encode(text.encode("gbk")).decode()}
    result = await server.ok("POST", "/api/bank/statements", body)
    assert (result["rows"], result["new"], result["skipped"]) == (4, 4, 1)
    assert [t["outcome"] for t in result["transfers"]] == [
        "matched", "short", "late", "unknown_reference"]
    again = await server.ok("POST", "/api/bank/statements", body)
    assert again["new"] == 0
    bad = base64.b64encode("交易时间,金额\n".encode()).decode()
    status, error = await server.call("POST", "/api/bank/statements", {"content_base64": bad})
    assert (status, error["error"]["code"]) == (400, "bad_statement")
    status, _ = await server.call("POST", "/api/bank/statements",
                                  {"content_base64": body["content_base64"]},
                                  token="supervisor-token-for-web-tests")
    assert status == 403


async def awarded_lot(server: Server,
                      txn: str = "D") -> tuple[str, dict[str, dict[str, Any]]]:
    """A lot awarded to ``a`` (bid), ``b`` paid and lost, ``c`` paid short (flagged); the
    bank's transaction ids ``txn-0``, ``txn-1``, ``txn-2``."""
    lot_id = await server.make_lot(duration_s=1)
    names = {"a": "甲公司", "b": "乙公司", "c": "丙公司"}
    regs = {b: await registered(server, lot_id, b, n) for b, n in names.items()}
    for i, (bidder, amount) in enumerate((("a", "50.00"), ("b", "50.00"), ("c", "5.00"))):
        _, answer = await notify(server, transaction_id=f"{txn}-{i}",
                                 reference=regs[bidder]["deposit_reference"],
                                 payer_name=names[bidder], payer_account=f"6222-{bidder}",
                                 amount=amount)
        assert answer["outcome"] == ("matched" if bidder != "c" else "short"), answer
    await server.open(lot_id)
    client = await server.connect()
    await client.subscribe(lot_id, regs["a"]["token"])
    assert (await client.bid(lot_id, "100.00"))["type"] == "ack"
    for _ in range(100):
        state = server.engine.read(lot_id)
        if state is not None and state.status == "awarded":
            break
        await asyncio.sleep(0.05)
    return lot_id, regs


async def test_refunds_are_exported_and_confirmed_and_the_ended_lots_ledger_reaches_zero(
        server: Server) -> None:
    lot_id, regs = await awarded_lot(server)
    heard: list[DepositOutcome] = []

    async def listener(outcome: DepositOutcome) -> None:
        heard.append(outcome)

    server.app[BANK].listeners.append(listener)
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["balances"] == {lot_id: "105.00"}
    assert {r["transaction_id"] for r in ledger["refunds"]} == {"D-1", "D-2"}
    async with server.http.post(server.base + "/api/bank/refunds/export?encoding=gbk",
                                headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        data = await resp.read()
        assert resp.headers["X-Refund-Count"] == "2"
    text = data.decode("gb18030")
    assert text.splitlines()[0] == "退款编号,收款账号,收款户名,金额,附言,标的,原流水号,应退日期"
    assert "D-1,6222-b,乙公司,50.00,退还保证金" in text
    assert "D-2,6222-c,丙公司,5.00,退回款项" in text
    confirmation = "退款编号,银行流水号,状态\nD-1,B-1,成功\nD-2,B-2,成功\nD-0,B-0,失败\n"
    items = [{"transaction_id": t, "bank_transaction_id": b}
             for t, b in parse_confirmations(confirmation.encode("gbk"))]
    assert len(items) == 2
    done = await server.ok("POST", "/api/bank/refunds/confirmations", {"confirmations": items})
    assert [t["status"] for t in done["confirmed"]] == ["refunded", "refunded"]
    refunded = [r.event for r in await server.engine.history(lot_id)
                if isinstance(r.event, DepositRefunded)]
    assert [(e.bidder_id, e.actor) for e in refunded] == [("b", "bank")]
    assert await server.app[BANK].payment_status(lot_id, "a") == "none"
    # the winner pays the price less its deposit; its deposit is applied to it
    notice = await server.ok("POST", f"/api/lots/{lot_id}/payment", {})
    assert (notice["amount"], notice["payment"], notice["party_id"]) == ("50.00", "awaiting",
                                                                        "a")
    mine = await server.ok("GET", f"/api/lots/{lot_id}/deposit", token=regs["a"]["token"])
    assert mine["parties"][0]["payment"]["reference"] == notice["reference"]
    _, paid = await notify(server, transaction_id="P-1", reference=notice["reference"],
                           payer_name="甲公司", payer_account="6222-a")
    assert paid["outcome"] == "matched"
    state = server.engine.lot(lot_id)
    assert state is not None and state.bidders["a"].settled == "applied"
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["balances"] == {lot_id: "0.00"}
    assert ledger["ended_lots_at_zero"] is True
    assert ledger["payments"][0]["payment"] == "paid"
    assert ledger["overdue"] == []
    assert await server.app[BANK].payment_status(lot_id, "a") == "paid"
    assert [(o.party_id, o.purpose, o.outcome) for o in heard] == [
        ("b", "refund", "refunded"), ("c", "refund", "refunded"), ("a", "payment", "matched")]
    bank_state = await server.engine.aggregates.state(DECIDER, LEDGER_ID)
    assert {t.status for t in bank_state.transfers.values()} == {
        "refunded", "applied", "paid"}


async def test_the_refund_files_are_kept_in_the_object_store_named_by_their_hash_in_the_ledger(
        server: Server) -> None:
    await awarded_lot(server, "K")
    async with server.http.post(server.base + "/api/bank/refunds/export",
                                headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200
        exported, batch = await resp.read(), resp.headers["X-Refund-Batch"]
    ledger = await server.ok("GET", "/api/bank/ledger")
    [kept] = ledger["batches"]
    assert (kept["batch_id"], kept["file_sha256"]) == (batch, hashlib.sha256(exported).hexdigest())
    store = server.app[TRADE].store
    assert await store.get(kept["file_sha256"]) == exported
    async with server.http.get(server.base + kept["file"],
                               headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200 and await resp.read() == exported
    result = "退款编号,银行流水号,状态\nK-1,BK-1,成功\nK-2,BK-2,成功\n".encode("gbk")
    done = await server.ok("POST", "/api/bank/refunds/confirmations/file",
                           {"content_base64": base64.b64encode(result).decode()})
    assert done["file_sha256"] == hashlib.sha256(result).hexdigest()
    assert await store.get(done["file_sha256"]) == result
    records = await server.engine.aggregates.records(DECIDER.kind, LEDGER_ID)
    confirmed = [r.event for r in records if isinstance(r.event, BankRefundConfirmed)]
    assert [(e.transaction_id, e.file_sha256) for e in confirmed] == [
        ("K-1", done["file_sha256"]), ("K-2", done["file_sha256"])]


def china(day: dt.date, hour: int = 10) -> int:
    return china_midnight_ms(day) + hour * 3_600_000


async def test_refunds_fall_due_on_the_right_working_day_after_the_result_notice_ends(
        make_server: ServerFactory) -> None:
    """Around National Day 2025 (1 to 8 October off; Sunday 28 September and Saturday
    11 October working days) with the center's own day off on Monday 29 September: the
    deposits of a lot whose notice was published (``land``: 4 working days) and of one
    whose notice was not (the default kind: 2) fall due 3 working days after each notice
    ends; a suspended award holds them until it is reinstated."""
    shift = [china(dt.date(2025, 9, 26)) - now_ms()]  # a Friday morning, China time
    server = await make_server(
        clock=lambda: now_ms() + shift[0], bank_secret=BANK_SECRET, publicity_days=2,
        publicity_kinds={"land": 4}, refund_days=3, center_holidays=("2025-09-29",))

    def on(day: dt.date) -> None:
        shift[0] = china(day) - now_ms()

    async def due(lot_id: str) -> list[tuple[str, str, str]]:
        ledger = await server.ok("GET", "/api/bank/ledger")
        return [(r["transaction_id"], r["payable_on"], r["due_on"]) for r in ledger["refunds"]
                if r["lot_id"] == lot_id and r["outcome"] == "matched"]

    default_kind, _ = await awarded_lot(server, "N")
    land, _ = await awarded_lot(server, "L")
    objected, regs = await awarded_lot(server, "O")
    await server.ok("POST", f"/api/lots/{land}/notice", {"trade_kind": "land"})
    await server.ok("POST", f"/api/lots/{objected}/objections", {"text": "报价异常"},
                    token=regs["b"]["token"])
    await server.ok("POST", f"/api/lots/{objected}/objections/O-1/answer", {
        "outcome": "upheld", "effect": "suspended", "reason": "异议成立，暂停成交"})
    assert await due(default_kind) == await due(land) == []  # the notices run
    # the default kind: 28 and 30 September; refunds: 9, 10 and 11 October
    on(dt.date(2025, 10, 1))
    assert await due(default_kind) == [("N-1", "2025-09-30", "2025-10-11")]
    assert await due(land) == [] and await due(objected) == []  # suspended: held
    # land: 28, 30 September, 9 and 10 October; refunds: 11, 13 and 14 October
    on(dt.date(2025, 10, 11))
    assert await due(land) == [("L-1", "2025-10-10", "2025-10-14")]
    assert await due(objected) == []
    await server.ok("POST", f"/api/lots/{objected}/award", {
        "effect": "reinstated", "reason": "复核维持原成交结果"})
    on(dt.date(2025, 10, 12))  # counted from the reinstatement: 13, 14 and 15 October
    assert await due(objected) == [("O-1", "2025-10-11", "2025-10-15")]


async def test_a_reverse_lots_winner_pays_nothing_and_its_deposit_is_refunded_with_the_others(
        server: Server) -> None:
    lot_id = await server.make_lot(direction="reverse", start_price="100.00",
                                   ceiling="100.00", duration_s=1)
    regs = {b: await registered(server, lot_id, b, n) for b, n in (("a", "甲"), ("b", "乙"))}
    for bidder, name in (("a", "甲"), ("b", "乙")):
        await notify(server, transaction_id=f"R-{bidder}",
                     reference=regs[bidder]["deposit_reference"], payer_name=name)
    await server.open(lot_id)
    client = await server.connect()
    await client.subscribe(lot_id, regs["a"]["token"])
    assert (await client.bid(lot_id, "90.00"))["type"] == "ack"
    for _ in range(100):
        if server.engine.read(lot_id).status == "awarded":  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    status, error = await server.call("POST", f"/api/lots/{lot_id}/payment", {})
    assert (status, error["error"]["code"]) == (409, "invalid_state")
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert {r["transaction_id"] for r in ledger["refunds"]} == {"R-a", "R-b"}


async def test_a_notification_the_ledger_cannot_make_durable_answers_503_and_the_retry_counts(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    lot_id = await server.make_lot()
    reg = await registered(server, lot_id, "b1", "甲公司")

    async def down(*args: object) -> bool:
        raise LogUnavailable("the disk is full")

    monkeypatch.setattr(server.engine.aggregates.log, "append", down)
    fields = {"transaction_id": "T-R", "reference": reg["deposit_reference"],
              "payer_name": "甲公司", "value_time": now_ms()}
    status, error = await notify(server, **fields)
    assert (status, error["error"]["code"]) == (503, "unavailable")
    monkeypatch.undo()
    status, answer = await notify(server, **fields)
    assert (status, answer["outcome"], answer["duplicate"]) == (200, "matched", False)


async def test_a_deposit_paid_from_another_bidders_account_is_a_collusion_flag(
        server: Server) -> None:
    lot_id = await server.make_lot()
    regs = {b: await registered(server, lot_id, b, n) for b, n in (("a", "甲公司"),
                                                                   ("b", "乙公司"))}
    await notify(server, transaction_id="C-1", reference=regs["a"]["deposit_reference"],
                 payer_name="甲公司", payer_account="6222-a")
    _, flagged = await notify(server, transaction_id="C-2",
                              reference=regs["b"]["deposit_reference"],
                              payer_name="甲公司", payer_account="6222-a")
    assert flagged["outcome"] == "foreign_payer"
    found = await server.ok("GET", f"/api/lots/{lot_id}/collusion")
    [flag] = [f for f in found["flags"] if f["check"] == "shared_account"]
    assert {b["bidder_id"] for b in flag["bidders"]} == {"a", "b"}
    assert flag["evidence"]["uses"]["b"] == [{"lot_id": lot_id, "transaction_id": "C-2",
                                              "how": "bank"}]
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["shared_payers"][0]["payer_account"] == "6222-a"


async def test_a_deposit_forfeited_on_the_lot_leaves_the_ledger_without_a_refund(
        server: Server) -> None:
    lot_id = await server.make_lot()
    regs = {b: await registered(server, lot_id, b, n) for b, n in (("a", "甲"), ("b", "乙"))}
    for bidder, name in (("a", "甲"), ("b", "乙")):
        await notify(server, transaction_id=f"F-{bidder}",
                     reference=regs[bidder]["deposit_reference"], payer_name=name)
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "撤牌 / withdrawn"})
    await server.ok("POST", f"/api/lots/{lot_id}/bidders/b/deposit/forfeit",
                    {"reason": "违规 / breach of the terms"})
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert [r["transaction_id"] for r in ledger["refunds"]] == ["F-a"]
    assert {t["transaction_id"]: t["status"] for t in ledger["transfers"]} == {
        "F-a": "held", "F-b": "forfeited"}
    assert ledger["balances"] == {lot_id: "50.00"}


async def ranked_lot(server: Server, txn: str,
                     **params: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """A lot whose bidders all paid their deposits by the bank (``txn-a``, ``txn-b``,
    ``txn-c``) and bid c 100.00, b 110.00, a 120.00: a wins, b is the runner-up, c third."""
    lot_id = await server.make_lot(duration_s=3, **params)
    names = {"a": "甲公司", "b": "乙公司", "c": "丙公司"}
    regs = {b: await registered(server, lot_id, b, n) for b, n in names.items()}
    for bidder, name in names.items():
        _, answer = await notify(server, transaction_id=f"{txn}-{bidder}",
                                 reference=regs[bidder]["deposit_reference"],
                                 payer_name=name, payer_account=f"6222-{bidder}")
        assert answer["outcome"] == "matched", answer
    await server.open(lot_id)
    for bidder, amount in (("c", "100.00"), ("b", "110.00"), ("a", "120.00")):
        client = await server.connect()
        await client.subscribe(lot_id, regs[bidder]["token"])
        assert (await client.bid(lot_id, amount))["type"] == "ack"
    for _ in range(200):  # until the permanent record holds the end
        if (await lot_end(server.engine, server.app[BANK].settings, lot_id)).notice_ends_at:
            break
        await asyncio.sleep(0.05)
    state = server.engine.lot(lot_id)
    assert state is not None and state.outcome is not None and state.outcome.bidder_id == "a"
    return lot_id, regs


async def export_file(server: Server) -> str:
    async with server.http.post(server.base + "/api/bank/refunds/export",
                                headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200
        return (await resp.read()).decode()


async def pay_price(server: Server, lot_id: str, bidder: str, name: str, txn: str) -> None:
    notice = await server.ok("POST", f"/api/lots/{lot_id}/payment", {})
    assert notice["party_id"] == bidder
    _, paid = await notify(server, transaction_id=txn, reference=notice["reference"],
                           payer_name=name, payer_account=f"6222-{bidder}",
                           amount=notice["amount"])
    assert paid["outcome"] == "matched", paid


async def test_the_runner_up_s_deposit_is_not_in_the_refund_file_while_the_winner_has_not_paid(
        make_server: ServerFactory) -> None:
    """A lot whose rule offers the runner-up the lot on a default (``on_default``
    ``runner_up``), ended on Wednesday 11 March 2026 with no publicity period: the third's
    deposit falls due 3 working days later (16 March) and is exported; the runner-up's is
    held, shown with its reason, never due nor overdue; once the winner paid (Tuesday 17
    March) it falls due 3 working days after that day (20 March)."""
    shift = [china(dt.date(2026, 3, 11)) - now_ms()]
    server = await make_server(clock=lambda: now_ms() + shift[0], bank_secret=BANK_SECRET,
                               publicity_days=0, refund_days=3)
    lot_id, _ = await ranked_lot(server, "H", on_default="runner_up")
    assert (await server.ok("GET", f"/api/lots/{lot_id}"))["params"]["on_default"] == \
        "runner_up"
    shift[0] = china(dt.date(2026, 3, 12)) - now_ms()
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert [(r["transaction_id"], r["due_on"]) for r in ledger["refunds"]] == [
        ("H-c", "2026-03-16")]
    [held] = ledger["held"]
    assert (held["transaction_id"], held["reason"], held["reason_text"]["zh"],
            held["reason_text"]["en"]) == ("H-b", "runner_up_offer", "作为候补保留",
                                           "Held for the runner-up offer.")
    text = await export_file(server)
    assert "H-c,6222-c,丙公司" in text and "H-b" not in text and "H-a" not in text
    shift[0] = china(dt.date(2026, 3, 17)) - now_ms()  # the winner has not paid yet
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert [r["transaction_id"] for r in ledger["refunds"]] == ["H-c"]  # overdue: not b
    assert [r["transaction_id"] for r in ledger["overdue"]] == ["H-c"]
    assert [t["transaction_id"] for t in ledger["held"]] == ["H-b"]
    assert "H-b" not in await export_file(server)
    await pay_price(server, lot_id, "a", "甲公司", "H-pa")
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["held"] == []
    assert [(r["transaction_id"], r["payable_on"], r["due_on"], r["refund"])
            for r in ledger["refunds"] if r["transaction_id"] == "H-b"] == [
        ("H-b", "2026-03-17", "2026-03-20", "due")]
    assert "H-b,6222-b,乙公司,50.00,退还保证金" in await export_file(server)


async def test_after_the_winner_defaults_the_runner_up_s_deposit_goes_to_its_price(
        server: Server) -> None:
    """The winner defaults and the runner-up is offered the lot: the former winner's
    deposit is forfeited, the runner-up's is applied to the price it pays, the third's is
    refunded normally, and the lot's ledger reaches zero."""
    lot_id, _ = await ranked_lot(server, "R", on_default="runner_up")
    text = await export_file(server)
    assert "R-c" in text and "R-b" not in text
    await server.ok("POST", f"/api/lots/{lot_id}/default",
                    {"reason": "逾期未缴纳成交价款", "then": "runner_up"})
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["held"] == [] and [r["transaction_id"] for r in ledger["refunds"]] == ["R-c"]
    await pay_price(server, lot_id, "b", "乙公司", "R-pb")  # 110.00 less its 50.00
    state = server.engine.lot(lot_id)
    assert state is not None
    assert (state.bidders["a"].settled, state.bidders["b"].settled) == ("forfeited", "applied")
    await server.ok("POST", "/api/bank/refunds/confirmations", {"confirmations": [
        {"transaction_id": "R-c", "bank_transaction_id": "B-c"}]})
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert {t["transaction_id"]: t["status"] for t in ledger["transfers"]} == {
        "R-a": "forfeited", "R-b": "applied", "R-c": "refunded", "R-pb": "paid"}
    assert ledger["balances"] == {lot_id: "0.00"} and ledger["ended_lots_at_zero"] is True


async def test_a_lot_whose_rule_relists_instead_of_offering_the_runner_up_holds_nothing(
        server: Server) -> None:
    lot_id, _ = await ranked_lot(server, "X", on_default="relist")
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["held"] == []
    assert {r["transaction_id"] for r in ledger["refunds"]} == {"X-b", "X-c"}
    status, error = await server.call("POST", f"/api/lots/{lot_id}/default",
                                      {"reason": "逾期未缴纳成交价款", "then": "runner_up"})
    assert (status, error["error"]["code"]) == (409, "relist_only")


async def test_each_winner_of_a_multi_unit_lot_pays_for_its_units_and_only_losers_are_refunded(
        server: Server) -> None:
    lot_id = await server.make_lot(duration_s=1, units=2)
    names = {"a": "甲公司", "b": "乙公司", "c": "丙公司"}
    regs = {b: await registered(server, lot_id, b, n) for b, n in names.items()}
    for txn, bidder in enumerate(names):
        await notify(server, transaction_id=f"D-{txn}",
                     reference=regs[bidder]["deposit_reference"], payer_name=names[bidder],
                     payer_account=f"6222-{bidder}")
    await server.open(lot_id)
    for bidder, price in (("a", "100.00"), ("b", "110.00"), ("c", "120.00")):
        client = await server.connect()
        await client.subscribe(lot_id, regs[bidder]["token"])
        assert (await client.bid(lot_id, price))["type"] == "ack"
    for _ in range(100):
        state = server.engine.read(lot_id)
        if state is not None and state.status == "awarded":
            break
        await asyncio.sleep(0.05)
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert {r["transaction_id"] for r in ledger["refunds"]} == {"D-0"}  # a lost
    first = await server.ok("POST", f"/api/lots/{lot_id}/payment", {})
    assert (first["party_id"], first["amount"]) == ("c", "70.00")
    second = await server.ok("POST", f"/api/lots/{lot_id}/payment",
                             {"bidder_no": regs["b"]["bidder_no"]})
    assert (second["party_id"], second["amount"]) == ("b", "60.00")
    status, error = await server.call("POST", f"/api/lots/{lot_id}/payment",
                                      {"bidder_no": regs["a"]["bidder_no"]})
    assert status == 409 and error["error"]["code"] == "invalid_state"
    for txn, (bidder, notice) in enumerate((("c", first), ("b", second))):
        _, paid = await notify(server, transaction_id=f"P-{txn}",
                               reference=notice["reference"], payer_name=names[bidder],
                               payer_account=f"6222-{bidder}", amount=notice["amount"])
        assert paid["outcome"] == "matched"
    state = server.engine.lot(lot_id)
    assert state is not None
    assert {b: state.bidders[b].settled for b in names} == {
        "a": None, "b": "applied", "c": "applied"}
