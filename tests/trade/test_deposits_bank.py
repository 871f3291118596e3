"""The bank ledger's rules: references, matching with its flags, idempotent and
out-of-order arrivals, refunds payable and due in working days, balances reaching zero,
payments of the price, shared payer accounts."""

import datetime as dt
from typing import Any

import pytest

from auction.aggregate import replay
from auction.model import Event, Rejection
from auction.record import event_from_dict, event_to_dict
from auction.trade.deposits_bank import (
    APPLIED,
    BANK,
    DECIDER,
    DEPOSIT,
    DUPLICATE,
    EXPORTED,
    FOREIGN_PAYER,
    FORFEITED,
    LATE,
    LOT_ENDED,
    MATCHED,
    OVER,
    PAID,
    PAYMENT,
    REFUNDED,
    SHORT,
    UNKNOWN_REFERENCE,
    BankLedger,
    ConfirmRefund,
    ExportRefunds,
    LotEnd,
    OpenReference,
    ReceiveTransfer,
    SettleTransfer,
    balances,
    check_digit,
    find_reference,
    held_for_runner_up,
    new_reference,
    payment_status,
    refunds,
    same_name,
    shared_payers,
)
from auction.workdays import china_midnight_ms
from web.workdays import china_calendar

DAY = 86_400_000
#: Monday 22 September 2025, 10:00 in China.
T0 = china_midnight_ms(dt.date(2025, 9, 22)) + 10 * 3_600_000
DEADLINE = T0 + 2 * DAY
REF_A = new_reference(DEPOSIT, "000000001")
REF_B = new_reference(DEPOSIT, "000000002")


class Ledger:
    """A ledger driven command by command, every event also round-tripped through the
    record's encoding and replayed at the end."""

    def __init__(self) -> None:
        self.state = DECIDER.initial("main")
        self.events: list[Event] = []

    def decide(self, command: Any, now: int = T0) -> list[Event] | Rejection:
        return DECIDER.decide(self.state, command, now)

    def do(self, command: Any, now: int = T0) -> list[Event]:
        events = self.decide(command, now)
        assert not isinstance(events, Rejection), events
        for event in events:
            assert event_from_dict(event_to_dict(event)) == event
            self.state = DECIDER.evolve(self.state, event)
        self.events += events
        return events

    def refuse(self, command: Any, code: str, now: int = T0) -> None:
        decision = self.decide(command, now)
        assert isinstance(decision, Rejection) and decision.code == code, decision

    def open(self, ref: str = REF_A, party: str = "a", name: str = "甲公司",
             amount: int = 5_000_000, deadline: int | None = DEADLINE, lot: str = "L1",
             purpose: str = DEPOSIT) -> None:
        self.do(OpenReference(reference=ref, purpose=purpose, lot_id=lot, party_id=party,
                              payer_name=name, amount=amount, deadline=deadline, actor="h"))

    def pay(self, txn: str, text: str = REF_A, name: str = "甲公司", amount: int = 5_000_000,
            at: int = T0 + DAY, account: str = "6222-a", lot_open: bool = True,
            now: int = T0 + DAY) -> str:
        events = self.do(ReceiveTransfer(
            transaction_id=txn, text=text, payer_account=account, payer_name=name,
            amount=amount, value_at=at, source="notification", actor=BANK,
            lot_open=lot_open), now)
        return self.state.transfers[txn].outcome if events else "unchanged"

    def replayed(self) -> BankLedger:
        state: BankLedger = replay(DECIDER, "main", self.events)
        return state


@pytest.fixture
def ledger() -> Ledger:
    book = Ledger()
    book.open()
    book.open(REF_B, "b", "乙有限公司")
    return book


def test_references_carry_a_check_digit_so_a_mistyped_one_matches_nothing() -> None:
    assert REF_A == "BZ" + "000000001" + check_digit("000000001")
    assert new_reference(PAYMENT, "123456789").startswith("JK")
    assert find_reference(f"保证金 {REF_A.lower()} 甲公司") == REF_A
    typo = REF_A[:-1] + str((int(REF_A[-1]) + 1) % 10)
    assert find_reference(f"保证金{typo}") == ""
    assert check_digit("7992739871") == "3"  # Luhn's own example
    with pytest.raises(ValueError):
        new_reference("gift", "123456789")


def test_payer_names_compare_across_full_and_half_width_forms_and_spaces() -> None:
    assert same_name("甲公司（北京）有限公司", "甲公司(北京) 有限公司")
    assert same_name("ACME Ltd", "ａｃｍｅ ltd")
    assert not same_name("甲公司", "乙公司")
    assert not same_name(" ", " ")


def test_a_deposit_on_time_in_full_from_the_applicants_own_account_is_matched(
        ledger: Ledger) -> None:
    assert ledger.pay("t1") == MATCHED
    assert ledger.state.matched == {REF_A: "t1"}
    transfer = ledger.state.transfers["t1"]
    assert (transfer.lot_id, transfer.party_id, transfer.purpose) == ("L1", "a", DEPOSIT)


def test_a_deposit_arriving_at_the_deadline_still_counts_and_one_after_it_is_late(
        ledger: Ledger) -> None:
    assert ledger.pay("t1", at=DEADLINE) == MATCHED
    assert ledger.pay("t2", REF_B, "乙有限公司", at=DEADLINE + 1, now=DEADLINE + DAY) == LATE


def test_the_banks_time_of_the_transfer_decides_not_when_the_statement_was_imported(
        ledger: Ledger) -> None:
    assert ledger.pay("t1", at=DEADLINE - 1, now=DEADLINE + 3 * DAY) == MATCHED


@pytest.mark.parametrize(("change", "flag"), [
    ({"amount": 4_999_999}, SHORT), ({"amount": 5_000_001}, OVER),
    ({"name": "丙公司"}, FOREIGN_PAYER), ({"text": "保证金"}, UNKNOWN_REFERENCE),
    ({"text": "BZ9999999999"}, UNKNOWN_REFERENCE), ({"lot_open": False}, LOT_ENDED)])
def test_anything_but_the_full_amount_from_the_applicant_to_a_known_reference_is_flagged(
        ledger: Ledger, change: dict[str, Any], flag: str) -> None:
    assert ledger.pay("t1", **change) == flag
    assert ledger.state.matched == {}


def test_a_second_deposit_for_the_same_reference_is_a_duplicate(ledger: Ledger) -> None:
    assert ledger.pay("t1") == MATCHED
    assert ledger.pay("t2") == DUPLICATE
    assert ledger.state.matched == {REF_A: "t1"}
    assert [t.transaction_id for t in ledger.state.arrivals(REF_A)] == ["t1", "t2"]


def test_the_same_notification_twice_changes_nothing_and_other_content_is_a_conflict(
        ledger: Ledger) -> None:
    assert ledger.pay("t1") == MATCHED
    assert ledger.pay("t1") == "unchanged"
    assert len(ledger.events) == 3
    ledger.refuse(ReceiveTransfer(transaction_id="t1", text=REF_A, payer_account="6222-a",
                                  payer_name="甲公司", amount=1, value_at=T0 + DAY,
                                  source="notification", actor=BANK), "conflict")


def test_out_of_order_arrivals_are_matched_by_the_banks_times(ledger: Ledger) -> None:
    # the late transfer is notified first; the earlier, on-time one still counts
    assert ledger.pay("t-late", at=DEADLINE + 10, now=DEADLINE + 20) == LATE
    assert ledger.pay("t-early", at=DEADLINE - 10, now=DEADLINE + 30) == MATCHED
    assert ledger.replayed().matched == ledger.state.matched == {REF_A: "t-early"}


def test_opening_a_reference_twice_for_one_party_opens_nothing_new(ledger: Ledger) -> None:
    ledger.do(OpenReference(reference=new_reference(DEPOSIT, "000000003"), purpose=DEPOSIT,
                            lot_id="L1", party_id="a", payer_name="甲公司", amount=1,
                            deadline=None, actor="h"))
    assert ledger.state.reference_of(DEPOSIT, "L1", "a").reference == REF_A  # type: ignore[union-attr]
    assert ledger.state.reference_of(DEPOSIT, "L1", "z") is None


@pytest.mark.parametrize(("change", "code"), [
    ({"purpose": "gift"}, "invalid_params"), ({"payer_name": " "}, "invalid_params"),
    ({"amount": 0}, "invalid_amount"), ({"amount": True}, "invalid_amount"),
    ({"reference": "BZ123"}, "invalid_params"),
    ({"reference": new_reference(PAYMENT, "000000009")}, "invalid_params"),
    ({"reference": REF_A[:-1] + str((int(REF_A[-1]) + 1) % 10)}, "invalid_params"),
    ({"reference": REF_A}, "exists")])
def test_a_reference_that_is_malformed_or_taken_is_refused(ledger: Ledger, change: dict[str, Any],
                                                           code: str) -> None:
    command: dict[str, Any] = {"reference": new_reference(DEPOSIT, "000000004"),
                               "purpose": DEPOSIT, "lot_id": "L2", "party_id": "c",
                               "payer_name": "丙", "amount": 100, "deadline": None, "actor": "h"}
    ledger.refuse(OpenReference(**{**command, **change}), code)


@pytest.mark.parametrize(("change", "code"), [
    ({"transaction_id": ""}, "invalid_params"), ({"text": 5}, "invalid_params"),
    ({"source": "fax"}, "invalid_params"), ({"value_at": True}, "invalid_params"),
    ({"payer_name": "x" * 201}, "invalid_params"), ({"amount": -5}, "invalid_amount")])
def test_an_arrival_missing_what_matching_needs_is_refused(ledger: Ledger, change: dict[str, Any],
                                                           code: str) -> None:
    command: dict[str, Any] = {"transaction_id": "t9", "text": REF_A, "payer_account": "6222",
                               "payer_name": "甲公司", "amount": 5, "value_at": T0,
                               "source": "statement", "actor": BANK}
    ledger.refuse(ReceiveTransfer(**{**command, **change}), code)


def ended(ledger: Ledger, winner: str | None = "a", notice: int = T0 + 3 * DAY,
          forfeited: frozenset[str] = frozenset()) -> dict[str, LotEnd]:
    return {"L1": LotEnd(notice, winner, forfeited)}


CALENDAR = china_calendar()


def test_refunds_fall_due_in_working_days_across_the_national_day_holiday(
        ledger: Ledger) -> None:
    ledger.pay("t1")
    ledger.pay("t2", REF_B, "乙有限公司")
    # the result notice ends on Tuesday 30 September 2025; 1 to 8 October are holidays and
    # Saturday 11 October a working day: three working days are 9, 10 and 11 October
    notice = china_midnight_ms(dt.date(2025, 9, 30)) + 15 * 3_600_000
    before = refunds(ledger.state, ended(ledger, notice=notice), CALENDAR, 3, notice)
    assert before == []  # payable once the notice has ended, not at its last instant
    due = refunds(ledger.state, ended(ledger, notice=notice), CALENDAR, 3, notice + 1)
    assert [(r.transfer.transaction_id, r.payable_on, r.due_on, r.status, r.overdue)
            for r in due] == [("t2", dt.date(2025, 9, 30), dt.date(2025, 10, 11), "due", False)]
    late = china_midnight_ms(dt.date(2025, 10, 12))
    assert refunds(ledger.state, ended(ledger, notice=notice), CALENDAR, 3, late)[0].overdue


def test_an_upheld_objection_holds_every_deposit_until_the_award_is_reinstated_or_annulled(
        ledger: Ledger) -> None:
    ledger.pay("t1")  # a, the winner
    ledger.pay("t2", REF_B, "乙有限公司")
    notice = T0 + 3 * DAY  # the result notice ends on Thursday 25 September 2025
    later = notice + 30 * DAY

    def due(end: LotEnd, now: int) -> list[tuple[str, dt.date, dt.date]]:
        return [(r.transfer.transaction_id, r.payable_on, r.due_on)
                for r in refunds(ledger.state, {"L1": end}, CALENDAR, 5, now)]

    assert due(LotEnd(notice, "a", award_suspended=True), later) == []
    # reinstated on Tuesday 30 September: counted from then, across National Day (9, 10,
    # Saturday 11 October a working day, 13, 14 October)
    changed = china_midnight_ms(dt.date(2025, 9, 30)) + 11 * 3_600_000
    reinstated = LotEnd(notice, "a", award_changed_at=changed)
    assert due(reinstated, changed) == []
    assert due(reinstated, changed + 1) == [
        ("t2", dt.date(2025, 9, 30), dt.date(2025, 10, 14))]
    # annulled: the winner's deposit is refunded with the others
    annulled = LotEnd(notice, None, award_changed_at=changed)
    assert [t for t, _, _ in due(annulled, later)] == ["t1", "t2"]
    # a change while the notice still ran: the notice's end counts
    early = LotEnd(notice, "a", award_changed_at=notice - DAY)
    assert due(early, notice) == []
    # 26 September, Sunday 28 September (a working day), 29, 30 September, 9 October
    assert due(early, notice + 1) == [("t2", dt.date(2025, 9, 25), dt.date(2025, 10, 9))]


def test_the_runner_up_s_deposit_is_held_for_its_offer_then_due_from_the_later_of_two_days(
        ledger: Ledger) -> None:
    ledger.pay("t1")  # a, the winner
    ledger.pay("t2", REF_B, "乙有限公司")  # b, the runner-up
    notice = T0 + 3 * DAY  # the result notice ends on Thursday 25 September 2025
    later = notice + 30 * DAY

    def due(end: LotEnd, now: int) -> list[tuple[str, dt.date, dt.date]]:
        return [(r.transfer.transaction_id, r.payable_on, r.due_on)
                for r in refunds(ledger.state, {"L1": end}, CALENDAR, 5, now)]

    held = LotEnd(notice, "a", runner_up="b")
    assert due(held, later) == []  # held: never due, never overdue
    assert [t.transaction_id for t in held_for_runner_up(ledger.state, {"L1": held})] == ["t2"]
    assert held_for_runner_up(ledger.state, {}) == []
    # the winner paid on Tuesday 30 September: counted from then, across National Day
    paid = china_midnight_ms(dt.date(2025, 9, 30)) + 11 * 3_600_000
    settled = LotEnd(notice, "a", runner_up="b", runner_up_until=paid)
    assert held_for_runner_up(ledger.state, {"L1": settled}) == []
    assert due(settled, paid) == []
    assert due(settled, paid + 1) == [("t2", dt.date(2025, 9, 30), dt.date(2025, 10, 14))]
    # settled while the notice still ran: the notice's end counts
    early = LotEnd(notice, "a", runner_up="b", runner_up_until=T0)
    assert due(early, notice + 1) == [("t2", dt.date(2025, 9, 25), dt.date(2025, 10, 9))]
    # a suspended award holds it as every other deposit
    assert due(LotEnd(notice, "a", award_suspended=True, runner_up="b",
                      runner_up_until=paid), later) == []


def test_flagged_arrivals_are_payable_at_once_and_winners_and_forfeited_deposits_are_not(
        ledger: Ledger) -> None:
    ledger.pay("t1")
    ledger.pay("t2", REF_B, "乙有限公司")
    ledger.pay("t3", REF_B, "乙有限公司")  # a duplicate
    ledger.pay("t4", "no reference", "丁")
    while_running = refunds(ledger.state, {"L1": LotEnd(None)}, CALENDAR, 5, T0 + DAY)
    assert [r.transfer.transaction_id for r in while_running] == ["t3", "t4"]
    after = refunds(ledger.state, ended(ledger, forfeited=frozenset({"b"})), CALENDAR, 5,
                    T0 + 5 * DAY)
    assert [r.transfer.transaction_id for r in after] == ["t3", "t4"]
    failed = refunds(ledger.state, ended(ledger, winner=None), CALENDAR, 5, T0 + 5 * DAY)
    assert {r.transfer.transaction_id for r in failed} == {"t1", "t2", "t3", "t4"}
    assert refunds(ledger.state, {}, CALENDAR, 5, T0 + 5 * DAY)[-1].transfer.transaction_id \
        == "t4"


def test_every_winner_of_a_multi_unit_lot_keeps_its_deposit_and_the_others_are_refunded(
        ledger: Ledger) -> None:
    ledger.pay("t1")
    ledger.pay("t2", REF_B, "乙有限公司")
    ends = {"L1": LotEnd(T0 + 3 * DAY, "a", winners=frozenset({"a", "b"}))}
    assert refunds(ledger.state, ends, CALENDAR, 5, T0 + 5 * DAY) == []
    ends = {"L1": LotEnd(T0 + 3 * DAY, "a", winners=frozenset({"a"}))}
    assert [r.transfer.transaction_id
            for r in refunds(ledger.state, ends, CALENDAR, 5, T0 + 5 * DAY)] == ["t2"]


def test_the_ledger_of_an_ended_lot_reaches_zero_through_refunds_and_the_winners_payment(
        ledger: Ledger) -> None:
    ledger.pay("t1")
    ledger.pay("t2", REF_B, "乙有限公司")
    ledger.pay("t3", REF_B, "乙有限公司", amount=7)
    assert balances(ledger.state) == {"L1": 10_000_007}
    now = T0 + 4 * DAY
    due = refunds(ledger.state, ended(ledger), CALENDAR, 5, now)
    ids = [r.transfer.transaction_id for r in due]
    assert sorted(ids) == ["t2", "t3"]
    payment_file = "ab" * 32  # the SHA-256 of the file kept in the object store
    ledger.do(ExportRefunds(batch_id="B1", transaction_ids=ids, actor="h",
                            file_sha256=payment_file), now)
    assert ledger.state.batch_files == {"B1": payment_file}
    assert {r.status for r in refunds(ledger.state, ended(ledger), CALENDAR, 5, now)} == {
        EXPORTED}
    ledger.refuse(ExportRefunds(batch_id="B2", transaction_ids=["t2"], actor="h"),
                  "not_refundable")
    for txn in ids:
        ledger.do(ConfirmRefund(transaction_id=txn, bank_transaction_id=f"bank-{txn}",
                                actor="h", file_sha256="cd" * 32), now)
    assert ledger.do(ConfirmRefund(transaction_id="t2", bank_transaction_id="bank-t2",
                                   actor="h")) == []
    payment = new_reference(PAYMENT, "000000005")
    ledger.open(payment, "a", amount=20_000_000, purpose=PAYMENT, deadline=now + DAY)
    assert payment_status(ledger.state, "L1", "a", now) == "awaiting"
    ledger.pay("p1", payment, amount=20_000_000, at=now, now=now)
    assert payment_status(ledger.state, "L1", "a", now + 2 * DAY) == "paid"
    ledger.do(SettleTransfer(transaction_id="t1", how=APPLIED, reason="price paid",
                             actor=BANK), now)
    ledger.do(SettleTransfer(transaction_id="p1", how=PAID, reason="to the seller",
                             actor=BANK), now)
    assert ledger.do(SettleTransfer(transaction_id="p1", how=PAID, reason="again",
                                    actor=BANK)) == []
    assert balances(ledger.state) == {"L1": 0}
    done = refunds(ledger.state, ended(ledger), CALENDAR, 5, now + 30 * DAY)
    assert [(r.status, r.overdue) for r in done] == [(REFUNDED, False), (REFUNDED, False)]
    assert ledger.replayed().transfers == ledger.state.transfers


def test_a_refund_confirmed_after_its_due_day_is_reported_overdue(ledger: Ledger) -> None:
    ledger.pay("t4", "nothing")
    ledger.do(ExportRefunds(batch_id="B1", transaction_ids=["t4"], actor="h"))
    late = T0 + 30 * DAY
    ledger.do(ConfirmRefund(transaction_id="t4", bank_transaction_id="x", actor="h"), late)
    [refund] = refunds(ledger.state, {}, CALENDAR, 2, late)
    assert (refund.status, refund.overdue) == (REFUNDED, True)


def test_a_payment_past_its_deadline_is_overdue_and_a_lot_without_notice_has_none(
        ledger: Ledger) -> None:
    assert payment_status(ledger.state, "L1", "a", T0) == "none"
    ledger.open(new_reference(PAYMENT, "000000006"), "a", purpose=PAYMENT, deadline=T0 + DAY)
    assert payment_status(ledger.state, "L1", "a", T0 + DAY + 1) == "overdue"
    ledger.open(new_reference(PAYMENT, "000000007"), "b", purpose=PAYMENT, deadline=None)
    assert payment_status(ledger.state, "L1", "b", T0 + 99 * DAY) == "awaiting"


@pytest.mark.parametrize(("command", "code"), [
    (ExportRefunds(batch_id="", transaction_ids=["t1"], actor="h"), "invalid_params"),
    (ExportRefunds(batch_id="B", transaction_ids=[], actor="h"), "invalid_params"),
    (ExportRefunds(batch_id="B", transaction_ids=["t9", "t9"], actor="h"), "invalid_params"),
    (ExportRefunds(batch_id="B", transaction_ids=["zz"], actor="h"), "unknown_transfer"),
    (ExportRefunds(batch_id="B0", transaction_ids=["t9"], actor="h"), "exists"),
    (ExportRefunds(batch_id="B", transaction_ids=["t9"], actor="h", file_sha256="A" * 64),
     "invalid_params"),
    (ConfirmRefund(transaction_id="t9", bank_transaction_id="x", actor="h",
                   file_sha256="not a hash"), "invalid_params"),
    (ConfirmRefund(transaction_id="t9", bank_transaction_id="", actor="h"), "invalid_params"),
    (ConfirmRefund(transaction_id="zz", bank_transaction_id="x", actor="h"),
     "unknown_transfer"),
    (ConfirmRefund(transaction_id="t1", bank_transaction_id="x", actor="h"),
     "not_refundable"),
    (SettleTransfer(transaction_id="t1", how="lost", reason="r", actor="h"),
     "invalid_params"),
    (SettleTransfer(transaction_id="zz", how=FORFEITED, reason="r", actor="h"),
     "unknown_transfer"),
    (SettleTransfer(transaction_id="t9", how=FORFEITED, reason="r", actor="h"),
     "not_refundable"),
])
def test_exports_confirmations_and_settlements_out_of_turn_are_refused(
        ledger: Ledger, command: Any, code: str) -> None:
    ledger.pay("t1")
    ledger.pay("t8", "none")
    ledger.pay("t9", "none")
    ledger.do(ExportRefunds(batch_id="B0", transaction_ids=["t8"], actor="h"))
    ledger.refuse(command, code)


def test_a_deposit_forfeited_leaves_the_ledger_without_a_refund(ledger: Ledger) -> None:
    ledger.pay("t1")
    ledger.do(SettleTransfer(transaction_id="t1", how=FORFEITED, reason="default",
                             actor="h"))
    assert balances(ledger.state) == {"L1": 0}
    assert refunds(ledger.state, ended(ledger, winner=None), CALENDAR, 5, T0 + 9 * DAY) == []


def test_one_payer_account_paying_for_two_parties_is_shown(ledger: Ledger) -> None:
    ledger.pay("t1", account="6222-shared")
    ledger.pay("t2", REF_B, "甲公司", account="6222-shared")  # a foreign payer for b
    ledger.pay("t3", "nothing", account="6222-shared")
    ledger.pay("t4", REF_B, "乙有限公司", account="6222-b")
    assert shared_payers(ledger.state) == [{"payer_account": "6222-shared", "parties": [
        {"lot_id": "L1", "party_id": "a"}, {"lot_id": "L1", "party_id": "b"}]}]
