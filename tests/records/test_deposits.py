"""The deposits ledger: statuses, the settlements allowed after the lot ended, what the
public sees of them, and the ledger report."""

from __future__ import annotations

import pytest

from auction.deposits import (
    APPLIED,
    CONFIRMED,
    FORFEITED,
    PENDING,
    REFUNDABLE,
    REFUNDED,
    deposit_status,
    ledger,
)
from auction.lot import replay
from auction.model import (
    ApplyDeposit,
    CancelLot,
    ConfirmDeposit,
    DepositApplied,
    DepositForfeited,
    DepositRefunded,
    ForfeitDeposit,
    PlaceBid,
    RefundDeposit,
    Rejection,
)
from auction.views import BIDDER, PUBLIC, STAFF, redact

from .sim import HOST, T0, SimLot, cny, params

AFTER = T0 + 4_000_000


def awarded() -> SimLot:
    """Awarded to ``a``; ``b`` bid and lost; ``c`` paid a deposit and never bid; ``d``
    registered without a deposit."""
    lot = SimLot()
    for bidder_id in "abc":
        lot.register(bidder_id, f"10{ord(bidder_id)}")
    lot.register("d", "1999", deposit=False)
    lot.open()
    lot.bid("b", "1000000.00", T0 + 1000)
    lot.bid("a", "1010000.00", T0 + 2000)
    lot.close()
    return lot


def statuses(lot: SimLot) -> dict[str, str]:
    return {b.bidder_id: deposit_status(lot.s, b) for b in lot.s.bidders.values()}


def refuse(lot: SimLot, command: object, code: str, detail: str = "") -> None:
    before = statuses(lot)
    decision = lot.decide(command, AFTER)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection), decision
    assert decision.code == code, decision
    if detail:
        assert decision.detail == detail, decision
    assert statuses(lot) == before


def test_deposits_are_pending_then_confirmed_while_the_lot_runs() -> None:
    lot = SimLot()
    lot.register("a", deposit=False)
    assert statuses(lot) == {"a": PENDING}
    lot.do(ConfirmDeposit(bidder_id="a", amount=cny("50000.00"), account="x", actor=HOST), T0)
    lot.open()
    assert statuses(lot) == {"a": CONFIRMED}


def test_after_the_award_the_losers_deposits_become_refundable_by_themselves() -> None:
    lot = awarded()
    assert statuses(lot) == {"a": CONFIRMED, "b": REFUNDABLE, "c": REFUNDABLE, "d": PENDING}


@pytest.mark.parametrize("end", ["failed", "cancelled"])
def test_when_the_lot_fails_or_is_cancelled_every_deposit_is_refundable(end: str) -> None:
    lot = SimLot()
    lot.register("a")
    lot.register("b", deposit=False)
    lot.open()
    if end == "failed":
        lot.close()
    else:
        lot.do(CancelLot(actor=HOST, reason="终止"), T0 + 5)
    assert lot.s.status == end
    assert statuses(lot) == {"a": REFUNDABLE, "b": PENDING}
    refuse(lot, ApplyDeposit(bidder_id="a", actor=HOST, reason="x"), "invalid_state",
           "only the winner's deposit can be applied")
    lot.do(RefundDeposit(bidder_id="a", actor=HOST, reason="退还"), AFTER)
    assert statuses(lot)["a"] == REFUNDED


def test_staff_refund_forfeit_and_apply_are_recorded_with_amount_and_reason() -> None:
    lot = awarded()
    refund = lot.do(RefundDeposit(bidder_id="b", actor=HOST, reason="退还原账户"), AFTER)
    forfeit = lot.do(ForfeitDeposit(bidder_id="c", actor=HOST, reason="围标"), AFTER + 1)
    apply = lot.do(ApplyDeposit(bidder_id="a", actor=HOST, reason="转为价款"), AFTER + 2)
    deposit = cny("50000.00")
    assert refund == [DepositRefunded(at=AFTER, actor=HOST, bidder_id="b", amount=deposit,
                                      reason="退还原账户")]
    assert forfeit == [DepositForfeited(at=AFTER + 1, actor=HOST, bidder_id="c",
                                        amount=deposit, reason="围标")]
    assert apply == [DepositApplied(at=AFTER + 2, actor=HOST, bidder_id="a", amount=deposit,
                                    reason="转为价款")]
    assert statuses(lot) == {"a": APPLIED, "b": REFUNDED, "c": FORFEITED, "d": PENDING}
    assert replay(lot.events) == lot.s


def test_settled_deposits_are_final() -> None:
    lot = awarded()
    lot.do(RefundDeposit(bidder_id="b", actor=HOST, reason="退还"), AFTER)
    lot.do(ApplyDeposit(bidder_id="a", actor=HOST, reason="价款"), AFTER)
    for command in (RefundDeposit, ForfeitDeposit, ApplyDeposit):
        refuse(lot, command(bidder_id="b", actor=HOST, reason="again"), "invalid_state",
               "only the winner's deposit can be applied" if command is ApplyDeposit
               else "the deposit is refunded")
        refuse(lot, command(bidder_id="a", actor=HOST, reason="again"), "invalid_state",
               "the deposit is applied")


def test_the_winners_deposit_may_be_refunded_or_forfeited_instead_of_applied() -> None:
    lot = awarded()
    lot.do(RefundDeposit(bidder_id="a", actor=HOST, reason="价款已付清"), AFTER)
    assert statuses(lot)["a"] == REFUNDED
    lot = awarded()
    lot.do(ForfeitDeposit(bidder_id="a", actor=HOST, reason="悔拍"), AFTER)
    assert statuses(lot)["a"] == FORFEITED


def test_only_the_winners_deposit_is_applied_and_a_missing_one_is_not_settled() -> None:
    lot = awarded()
    refuse(lot, ApplyDeposit(bidder_id="b", actor=HOST, reason="x"), "invalid_state",
           "only the winner's deposit can be applied")
    for command in (RefundDeposit, ForfeitDeposit):
        refuse(lot, command(bidder_id="d", actor=HOST, reason="x"), "invalid_state",
               "the deposit is pending")


def test_deposits_are_not_settled_before_the_lot_has_ended() -> None:
    lot = SimLot()
    lot.register("a")
    for at_open in (False, True):
        if at_open:
            lot.open()
        for command in (RefundDeposit, ForfeitDeposit, ApplyDeposit):
            refuse(lot, command(bidder_id="a", actor=HOST, reason="x"), "invalid_state",
                   "deposits are settled after the lot has ended")


@pytest.mark.parametrize("command, code", [
    (RefundDeposit(bidder_id="b", actor=HOST, reason=" "), "reason_required"),
    (ForfeitDeposit(bidder_id="b", actor=HOST, reason=""), "reason_required"),
    (ApplyDeposit(bidder_id="a", actor=HOST, reason=None), "reason_required"),  # type: ignore
    (RefundDeposit(bidder_id="b", actor=HOST, reason="x" * 501), "invalid_params"),
    (RefundDeposit(bidder_id="b", actor="", reason="x"), "invalid_params"),
    (RefundDeposit(bidder_id="zz", actor=HOST, reason="x"), "unknown_bidder"),
    (RefundDeposit(bidder_id=7, actor=HOST, reason="x"), "unknown_bidder"),  # type: ignore
])
def test_bad_settlements_are_refused(command: object, code: str) -> None:
    refuse(awarded(), command, code)


def test_after_the_end_settlements_are_the_only_commands_taken() -> None:
    lot = awarded()
    refuse(lot, ConfirmDeposit(bidder_id="d", amount=cny("50000.00"), account="x", actor=HOST),
           "invalid_state")
    refuse(lot, PlaceBid(bidder_id="b", amount=cny("2000000.00")), "closed")
    refuse(lot, CancelLot(actor=HOST, reason="x"), "invalid_state")
    lot.do(RefundDeposit(bidder_id="b", actor=HOST, reason="退还"), AFTER)


def test_the_public_sees_no_settlement_but_that_it_happened() -> None:
    lot = awarded()
    lot.do(RefundDeposit(bidder_id="b", actor=HOST, reason="退还原账户"), AFTER)
    record = lot.records[-1]
    assert redact(lot.s, record, PUBLIC) == {"seq": record.seq, "type": "DepositRefunded",
                                             "at": AFTER}
    # Under price visibility bidders share the public view; under rank the bidder
    # concerned learns that the event is its own.
    assert redact(lot.s, record, BIDDER, "b") == redact(lot.s, record, PUBLIC)
    ranked = SimLot("L-R", params(visibility="rank"))
    ranked.register("a")
    ranked.open().close()
    ranked.do(RefundDeposit(bidder_id="a", actor=HOST, reason="退还"), AFTER)
    own = redact(ranked.s, ranked.records[-1], BIDDER, "a")
    assert own == {"seq": ranked.records[-1].seq, "type": "DepositRefunded", "at": AFTER,
                   "own": True}
    assert "own" not in redact(ranked.s, ranked.records[-1], BIDDER, "x")
    staff = redact(lot.s, record, STAFF)
    assert staff["amount"] == "50000.00" and staff["reason"] == "退还原账户"


def test_the_ledger_lists_every_deposit_with_its_history_and_what_to_refund() -> None:
    lot = awarded()
    lot.do(ForfeitDeposit(bidder_id="c", actor=HOST, reason="围标"), AFTER)
    report = ledger(lot.s, lot.records)
    assert report["lot_id"] == "L-1" and report["lot_status"] == "awarded"
    assert report["currency"] == "CNY" and report["required"] == "50000.00"
    rows = {r["bidder_id"]: r for r in report["deposits"]}
    assert {k: r["status"] for k, r in rows.items()} == {"a": CONFIRMED, "b": REFUNDABLE,
                                                        "c": FORFEITED, "d": PENDING}
    assert rows["a"]["winner"] and not rows["b"]["winner"]
    assert rows["d"]["amount"] is None and rows["d"]["history"] == []
    assert [h["type"] for h in rows["c"]["history"]] == ["DepositConfirmed", "DepositForfeited"]
    assert rows["c"]["history"][0]["account"] == "acct-c"
    assert rows["c"]["history"][1] == {"seq": lot.records[-1].seq, "at": AFTER,
                                       "type": "DepositForfeited", "actor": HOST,
                                       "amount": "50000.00", "reason": "围标"}
    assert report["to_refund"] == [{"bidder_id": "b", "bidder_no": rows["b"]["bidder_no"],
                                    "name": "公司 b", "amount": "50000.00",
                                    "account": "acct-b"}]
    assert report["to_refund_total"] == "50000.00"
    assert report["totals"][PENDING] == {"count": 1, "amount": "0.00"}
    assert report["totals"][CONFIRMED] == {"count": 1, "amount": "50000.00"}
    assert report["totals"][REFUNDED] == {"count": 0, "amount": "0.00"}
