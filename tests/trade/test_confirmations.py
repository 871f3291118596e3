"""The transaction confirmation (成交确认书) as an aggregate: issued once by the center,
signed once by the winner within its window, naming the document it signs."""

from dataclasses import replace

from auction.aggregate import replay
from auction.model import Rejection
from auction.trade.confirmations import (
    CONFIRMATIONS,
    Confirmation,
    ConfirmationIssued,
    IssueConfirmation,
    SignConfirmation,
    confirmation_id,
)

DOC = "ab" * 32
ISSUE = IssueConfirmation(lot_id="L-1", bidder_id="co-7", bidder_no="4821", amount=125_000_000,
                          deposit=10_000_000, currency="CNY", head_seq=40, head_hash="cd" * 32,
                          document_sha256=DOC, sign_by=10_000, actor="alice")
SIGN = SignConfirmation(bidder_id="co-7", document_sha256=DOC, actor="4821")


def issued() -> Confirmation:
    events = CONFIRMATIONS.decide(CONFIRMATIONS.initial("L-1"), ISSUE, 1_000)
    assert isinstance(events, list)
    return replay(CONFIRMATIONS, "L-1", events)


def refusal(state: Confirmation, command: object, now: int) -> str:
    decision = CONFIRMATIONS.decide(state, command, now)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection)
    return decision.code


def test_the_center_issues_the_confirmation_once_with_what_the_record_must_hold() -> None:
    state = issued()
    assert state.status == "issued"
    assert isinstance(state.issued, ConfirmationIssued)
    assert (state.issued.amount, state.issued.deposit, state.issued.head_hash) == (
        125_000_000, 10_000_000, "cd" * 32)
    assert refusal(state, ISSUE, 2_000) == "already_issued"


def test_an_issue_for_another_lot_a_bad_hash_or_a_window_already_over_is_refused() -> None:
    fresh = CONFIRMATIONS.initial("L-1")
    assert fresh.status == "none"
    assert refusal(fresh, replace(ISSUE, lot_id="L-2"), 1_000) == "invalid_input"
    assert refusal(fresh, replace(ISSUE, document_sha256="xyz"), 1_000) == "invalid_input"
    assert refusal(fresh, replace(ISSUE, document_sha256="AB" * 32), 1_000) == "invalid_input"
    assert refusal(fresh, ISSUE, 10_000) == "invalid_input"


def test_each_winner_of_a_multi_unit_lot_has_a_confirmation_of_its_own() -> None:
    key = confirmation_id("L-1", "4821", True)
    assert key == "L-1-4821" and confirmation_id("L-1", "4821", False) == "L-1"
    events = CONFIRMATIONS.decide(CONFIRMATIONS.initial(key), ISSUE, 1_000)
    assert isinstance(events, list)
    other = CONFIRMATIONS.initial(confirmation_id("L-1", "1377", True))
    assert refusal(other, ISSUE, 1_000) == "invalid_input"


def test_the_winner_signs_the_issued_document_within_the_window_once() -> None:
    state = issued()
    events = CONFIRMATIONS.decide(state, SIGN, 10_000)
    assert isinstance(events, list)
    signed = replay(CONFIRMATIONS, "L-1", [*_issue_events(), *events])
    assert signed.status == "signed"
    assert refusal(signed, SIGN, 10_000) == "already_signed"


def test_nobody_signs_before_issue_nor_another_bidder_nor_after_the_window() -> None:
    assert refusal(CONFIRMATIONS.initial("L-1"), SIGN, 2_000) == "not_issued"
    state = issued()
    assert refusal(state, replace(SIGN, bidder_id="co-8"), 2_000) == "not_winner"
    assert refusal(state, SIGN, 10_001) == "window_closed"


def test_a_document_other_than_the_one_issued_cannot_be_signed() -> None:
    assert refusal(issued(), replace(SIGN, document_sha256="ef" * 32), 2_000) == (
        "document_changed")


def _issue_events() -> list[ConfirmationIssued]:
    events = CONFIRMATIONS.decide(CONFIRMATIONS.initial("L-1"), ISSUE, 1_000)
    assert isinstance(events, list)
    return [e for e in events if isinstance(e, ConfirmationIssued)]


def test_a_runner_up_awarded_after_a_default_gets_its_own_confirmation() -> None:
    first = _issue_events()
    signed = CONFIRMATIONS.decide(issued(), SIGN, 2_000)
    assert isinstance(signed, list)
    runner = replace(ISSUE, bidder_id="co-8", bidder_no="1377", document_sha256="ef" * 32,
                     sign_by=20_000)
    state = replay(CONFIRMATIONS, "L-1", [*first, *signed])
    events = CONFIRMATIONS.decide(state, runner, 3_000)
    assert isinstance(events, list)
    state = replay(CONFIRMATIONS, "L-1", [*first, *signed, *events])
    assert state.status == "issued" and state.issued is not None
    assert state.issued.bidder_id == "co-8"
    assert refusal(state, SIGN, 4_000) == "not_winner"
