"""The webhooks' outbox, pure: which recorded events are milestones and what is sent for
them, the backoff, the signature, and the delivery record (attempts, resend)."""

import hashlib
import hmac
from dataclasses import replace

import pytest

from auction.aggregate import replay
from auction.model import BidAccepted, LotAwarded, Rejection
from auction.record import GENESIS, seal
from auction.trade.outbox import (
    DELIVERIES,
    MILESTONES,
    OUTBOXES,
    Emit,
    RecordAttempt,
    Resend,
    backoff_ms,
    delivery_id,
    milestone_of,
    next_attempt_at,
    register_milestone,
    signature,
)


def test_a_recorded_award_is_a_milestone_keyed_by_its_place_in_the_record() -> None:
    [record] = seal("L-1", 7, GENESIS, [LotAwarded(at=5, actor="system", bidder_id="co-7",
                                                   bidder_no="4821", amount=110_00)])
    milestone = milestone_of("L-1", record)
    assert milestone is not None
    assert (milestone.key, milestone.milestone, milestone.at) == ("L-1:7", "lot.awarded", 5)
    assert milestone.body["lot_id"] == "L-1" and milestone.body["hash"] == record.hash
    assert milestone.body["data"]["amount"] == 110_00
    assert delivery_id(milestone.key) == "L-1.7"


def test_a_bid_is_no_milestone_and_where_bids_came_from_is_never_sent() -> None:
    [bid] = seal("L-1", 3, GENESIS, [BidAccepted(at=5, actor="4821", bidder_id="co-7",
                                                 bidder_no="4821", amount=1, ip="10.0.0.1",
                                                 device="fp", ref="r")])
    assert milestone_of("L-1", bid) is None
    register_milestone("BidAccepted", "bid.accepted")
    try:
        milestone = milestone_of("L-1", bid)
        assert milestone is not None and "ip" not in milestone.body["data"]
        assert "device" not in milestone.body["data"]
        register_milestone("BidAccepted", "bid.accepted")  # the same again: fine
        with pytest.raises(ValueError, match="bid.accepted already"):
            register_milestone("BidAccepted", "bid.other")
    finally:
        del MILESTONES["BidAccepted"]


def test_an_emitted_milestone_carries_its_payload_and_no_lot() -> None:
    events = OUTBOXES.decide(OUTBOXES.initial("main"), Emit(
        milestone="deposit.matched", payload={"lot_id": "L-1", "amount": "5000.00"},
        actor="bank"), 9)
    assert isinstance(events, list)
    [record] = seal("outbox:main", 1, GENESIS, events)
    milestone = milestone_of("outbox:main", record)
    assert milestone is not None and milestone.milestone == "deposit.matched"
    assert milestone.body["data"] == {"lot_id": "L-1", "amount": "5000.00"}
    assert milestone.body["lot_id"] is None
    assert replay(OUTBOXES, "main", events) == 1
    refused = OUTBOXES.decide(0, Emit(milestone="", payload={}, actor="x"), 9)
    assert isinstance(refused, Rejection) and refused.code == "invalid_input"


def test_the_wait_doubles_from_one_second_to_five_minutes_at_most() -> None:
    assert [backoff_ms(n) for n in (0, 1, 2, 3)] == [1000, 1000, 2000, 4000]
    assert backoff_ms(30) == 300_000


def test_the_signature_is_the_hmac_of_the_timestamp_and_the_body() -> None:
    expected = hmac.new(b"k" * 32, b"123.{}", hashlib.sha256).hexdigest()
    assert signature(b"k" * 32, 123, b"{}") == "sha256=" + expected


def test_a_delivery_is_due_until_an_attempt_succeeds_and_due_again_on_a_resend() -> None:
    state = DELIVERIES.initial("L-1.7")
    assert state.due and next_attempt_at(state) == 0
    failed = RecordAttempt(key="L-1:7", ok=False, status=500, error="Internal Server Error")
    events = DELIVERIES.decide(state, failed, 1_000)
    assert isinstance(events, list)
    state = replay(DELIVERIES, "L-1.7", events)
    assert state.due and next_attempt_at(state) == 2_000 and state.last_status == 500
    more = DELIVERIES.decide(state, replace(failed, ok=True, status=200, error=""), 2_000)
    assert isinstance(more, list)
    state = replay(DELIVERIES, "L-1.7", [*events, *more])
    assert not state.due and state.delivered_at == 2_000 and state.total_attempts == 2
    again = DELIVERIES.decide(state, Resend(key="", reason="对方系统丢失", actor="alice"), 3_000)
    assert isinstance(again, list)
    state = replay(DELIVERIES, "L-1.7", [*events, *more, *again])
    assert state.due and state.attempts == 0 and state.key == "L-1:7"
    no_reason = DELIVERIES.decide(state, Resend(key="", reason=" ", actor="alice"), 3_000)
    assert isinstance(no_reason, Rejection) and no_reason.code == "reason_required"
    never = DELIVERIES.decide(DELIVERIES.initial("x"), Resend(key="", reason="r", actor="a"), 1)
    assert isinstance(never, Rejection) and never.code == "unknown_delivery"
