"""The record: every change is an event with a gap-free sequence number, hash-chained;
replaying a lot's events reproduces its state exactly."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.errors import RecordError
from auction.lot import evolve, replay
from auction.model import (
    EVENT_TYPES,
    Announced,
    BidAccepted,
    BidderRegistered,
    CloseExtended,
    DepositApplied,
    DepositConfirmed,
    DepositForfeited,
    DepositRefunded,
    DrawCommitted,
    Event,
    KeyEnrolled,
    LotAwarded,
    LotCancelled,
    LotClosed,
    LotCreated,
    LotDrawn,
    LotFailed,
    LotOpened,
    LotPaused,
    LotResumed,
    LotScheduled,
    QuestionAnswered,
    QuestionAsked,
    TokensRevoked,
)
from auction.record import (
    GENESIS,
    canonical,
    canonical_json,
    chain,
    event_from_dict,
    event_to_dict,
    seal,
    verify_chain,
)

from .support import MINUTE, T0, english, opened

SAMPLES: list[Event] = [
    LotCreated(at=T0, actor="staff:1", lot_id="L", session_id="S", format="english",
               title="国有土地 №7", params=english(steps=None)),
    BidderRegistered(at=T0, actor="staff:1", bidder_id="b1", bidder_no="0731", name="甲"),
    DepositConfirmed(at=T0, actor="staff:1", bidder_id="b1", amount=5000, account="6222"),
    LotScheduled(at=T0, actor="staff:1"),
    LotOpened(at=T0, actor="system", closes_at=T0 + 1, max_closes_at=None),
    LotOpened(at=T0, actor="system", closes_at=T0 + 1, max_closes_at=T0 + 2),
    BidAccepted(at=T0, actor="0731", bidder_id="b1", bidder_no="0731", amount=10000,
                ip="::1", device="d", ref="r"),
    CloseExtended(at=T0, actor="system", closes_at=T0 + 5, reason="soft_close"),
    LotPaused(at=T0, actor="staff:1", reason="故障"),
    LotResumed(at=T0, actor="staff:1", reason="恢复", paused_ms=10),
    LotCancelled(at=T0, actor="staff:1", reason="r"),
    LotClosed(at=T0, actor="system", closes_at=T0),
    LotAwarded(at=T0, actor="system", bidder_id="b1", bidder_no="0731", amount=10000),
    LotFailed(at=T0, actor="system", reason="no_bids"),
    TokensRevoked(at=T0, actor="staff:1", bidder_id="b1", reason="令牌泄露 leaked"),
    DepositRefunded(at=T0, actor="staff:1", bidder_id="b2", amount=5000, reason="退还"),
    DepositForfeited(at=T0, actor="staff:1", bidder_id="b3", amount=5000, reason="围标"),
    DepositApplied(at=T0, actor="staff:1", bidder_id="b1", amount=5000, reason="转价款"),
    DrawCommitted(at=T0, actor="system", seed_hash="ab" * 32),
    LotDrawn(at=T0, actor="system", purpose="cap_lottery", seed="cd" * 32,
             candidates=["0731", "2044"], index=1, winner_no="2044"),
    KeyEnrolled(at=T0, actor="0731", bidder_id="b1", alg="sm2", key="04" + "ab" * 64,
                certificate="-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"),
    BidAccepted(at=T0, actor="0731", bidder_id="b1", bidder_no="0731", amount=10100,
                signed={"seen": 9, "nonce": "n0nce-0001", "sig": "c2ln"}),
    Announced(at=T0, actor="staff:1", text="请注意延时规则"),
    QuestionAsked(at=T0, actor="0731", bidder_id="b1", bidder_no="0731", kind="objection",
                  text="报价未显示", ip="::1", device="d", ref="r"),
    QuestionAnswered(at=T0, actor="staff:1", question=9, text="已处理", public=True),
]


def test_every_shared_event_type_has_a_sample() -> None:
    """Event types of :mod:`auction.model`; each format's own types are sampled in its
    own tests."""
    shared = {name for name, cls in EVENT_TYPES.items() if cls.__module__ == "auction.model"}
    assert {type(e).__name__ for e in SAMPLES} == shared


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_an_event_survives_the_round_trip_through_a_json_dict(event: Event) -> None:
    data = event_to_dict(event)
    assert data["type"] == type(event).__name__
    assert event_from_dict(json.loads(json.dumps(data))) == event


def test_a_decoded_event_dict_is_not_changed_by_decoding() -> None:
    data = event_to_dict(SAMPLES[6])
    copy = dict(data)
    event_from_dict(data)
    assert data == copy


@pytest.mark.parametrize(("data", "match"), [
    ({"type": "LotExploded", "at": 1, "actor": "x"}, "unknown event type 'LotExploded'"),
    ({"at": 1, "actor": "x"}, "unknown event type None"),
    ({"type": ["LotScheduled"], "at": 1, "actor": "x"}, "unknown event type"),
    ({"type": "LotScheduled", "actor": "x"}, "malformed LotScheduled"),
    ({"type": "LotScheduled", "at": 1, "actor": "x", "extra": 1}, "malformed LotScheduled"),
    ({"type": "LotScheduled", "at": "1", "actor": "x"}, "at has the wrong type"),
    ({"type": "LotScheduled", "at": 1.0, "actor": "x"}, "at has the wrong type"),
    ({"type": "LotScheduled", "at": True, "actor": "x"}, "at has the wrong type"),
    ({"type": "LotScheduled", "at": 1, "actor": None}, "actor has the wrong type"),
    ({"type": "LotOpened", "at": 1, "actor": "x", "closes_at": 2, "max_closes_at": "3"},
     "max_closes_at has the wrong type"),
    ({"type": "LotCreated", "at": 1, "actor": "x", "lot_id": "L", "session_id": "S",
      "format": "english", "title": "t", "params": []}, "params has the wrong type"),
    ([("type", "LotScheduled")], "must be a JSON object"),
])
def test_a_malformed_event_dict_is_refused_with_a_record_error(data: Any, match: str) -> None:
    with pytest.raises(RecordError, match=match) as caught:
        event_from_dict(data)
    assert caught.value.code == "invalid_record"


def test_canonical_bytes_are_compact_key_sorted_utf8_json() -> None:
    raw = canonical("L", 3, {"b": 1, "a": "竞价"})
    assert raw == '{"event":{"a":"竞价","b":1},"lot":"L","seq":3}'.encode()


_JSON_SCALARS = st.one_of(st.text(), st.integers(), st.booleans(), st.none())


@given(lot_id=st.text(), seq=st.one_of(st.integers(), st.booleans()),
       event=st.dictionaries(st.text(), st.one_of(_JSON_SCALARS,
                                                  st.lists(_JSON_SCALARS, max_size=3))))
def test_canonical_bytes_are_exactly_the_key_sorted_json_dumps_of_the_whole(
        lot_id: str, seq: int, event: dict[str, Any]) -> None:
    whole = {"event": event, "lot": lot_id, "seq": seq}
    expected = json.dumps(whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode()
    assert canonical(lot_id, seq, event) == expected


_JSON = st.recursive(
    st.one_of(st.text(), st.integers(), st.booleans(), st.none(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=20)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@given(_JSON)
def test_the_canonical_encoder_writes_what_json_dumps_writes(value: Any) -> None:
    assert canonical_json(value) == _dumps(value)


@pytest.mark.parametrize("value", [float("nan"), {"a": [float("inf")]}, {"a": object()},
                                   b"bytes", {(1, 2): 3}])
def test_the_canonical_encoder_refuses_what_json_dumps_refuses(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as expected:
        _dumps(value)
    with pytest.raises(expected.type):
        canonical_json(value)


def test_the_canonical_encoder_stops_a_cycle_with_an_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(RecursionError):
        canonical_json(cycle)


def test_the_chain_hashes_the_previous_hash_and_the_canonical_event() -> None:
    body = event_to_dict(SAMPLES[3])
    expected = hashlib.sha256(bytes(32) + canonical("L", 1, body)).hexdigest()
    assert chain(GENESIS, "L", 1, body) == expected
    assert chain(expected, "L", 2, body) != chain(GENESIS, "L", 2, body)


def test_sealing_numbers_events_gap_free_and_chains_them() -> None:
    sealed = seal("L", 1, GENESIS, SAMPLES)
    assert [r.seq for r in sealed] == list(range(1, len(SAMPLES) + 1))
    assert all(r.lot_id == "L" for r in sealed)
    prev = GENESIS
    for record in sealed:
        assert record.hash == chain(prev, "L", record.seq, event_to_dict(record.event))
        prev = record.hash


def test_sealing_in_batches_gives_the_same_chain_as_sealing_at_once() -> None:
    whole = seal("L", 1, GENESIS, SAMPLES)
    first = seal("L", 1, GENESIS, SAMPLES[:5])
    rest = seal("L", 6, first[-1].hash, SAMPLES[5:])
    assert first + rest == whole


def rows(lot_id: str = "L") -> list[tuple[int, Mapping[str, Any], str]]:
    return [(r.seq, event_to_dict(r.event), r.hash) for r in seal(lot_id, 1, GENESIS, SAMPLES)]


def test_an_intact_chain_verifies_and_gives_its_last_hash() -> None:
    good = rows()
    assert verify_chain("L", good) == good[-1][2]
    assert verify_chain("L", []) == GENESIS


def test_verification_detects_a_changed_event() -> None:
    bad = rows()
    seq, body, digest = bad[6]
    bad[6] = (seq, {**body, "amount": 10001}, digest)
    with pytest.raises(RecordError, match="event 7 does not match its hash"):
        verify_chain("L", bad)


def test_verification_detects_a_changed_hash() -> None:
    bad = rows()
    bad[2] = (bad[2][0], bad[2][1], "f" * 64)
    with pytest.raises(RecordError, match="event 3 does not match"):
        verify_chain("L", bad)


def test_verification_detects_a_missing_event() -> None:
    bad = rows()
    del bad[4]
    with pytest.raises(RecordError, match="event 5 is missing"):
        verify_chain("L", bad)


def test_verification_detects_reordered_events() -> None:
    bad = rows()
    bad[3], bad[4] = bad[4], bad[3]
    with pytest.raises(RecordError, match="event 4 is missing"):
        verify_chain("L", bad)


def test_verification_detects_renumbered_reordered_events() -> None:
    bad = rows()
    bad[3], bad[4] = (4, bad[4][1], bad[4][2]), (5, bad[3][1], bad[3][2])
    with pytest.raises(RecordError, match="event 4 does not match"):
        verify_chain("L", bad)


def test_verification_detects_events_of_another_lot() -> None:
    with pytest.raises(RecordError, match="event 1 does not match"):
        verify_chain("M", rows("L"))


def test_verification_refuses_a_boolean_sequence_number() -> None:
    good = rows()
    with pytest.raises(RecordError, match="event 1 is missing"):
        verify_chain("L", [(True, good[0][1], good[0][2])])


@pytest.mark.parametrize("body", [{"x": object()}, {"x": "\ud800"}, {"x": float("nan")},
                                  {1: 2, "a": 1}])
def test_verification_reports_a_body_that_is_not_json_as_a_record_error(body: Any) -> None:
    with pytest.raises(RecordError, match="event 1 cannot be encoded"):
        verify_chain("L", [(1, body, GENESIS)])


# --------------------------------------------------------------------------- replay


def played_lot() -> list[Event]:
    lot = opened("a", "b", "c", extend_window_s=30, extend_s=60, reserve="110.00")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    lot.pause(at=T0 + 1000)
    lot.resume(at=T0 + 3000)
    lot.extend(T0 + 2 * MINUTE, at=T0 + 4000)
    lot.take("c", "120.00", at=T0 + 2 * MINUTE - 1)
    lot.tick(at=T0 + 4 * MINUTE)
    assert lot.replayed() == lot.state
    return lot.events


def test_replaying_the_events_reproduces_the_state_exactly() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    assert lot.replayed() == lot.state
    events = played_lot()
    state = replay(events)
    assert state is not None and state.status == "awarded" and state.version == len(events)


def test_replaying_the_decoded_record_reproduces_the_state_and_the_chain() -> None:
    events = played_lot()
    sealed = seal("lot-1", 1, GENESIS, events)
    stored = json.loads(json.dumps([[r.seq, event_to_dict(r.event), r.hash] for r in sealed],
                                   ensure_ascii=False))
    assert verify_chain("lot-1", [(s, b, h) for s, b, h in stored]) == sealed[-1].hash
    assert replay(event_from_dict(body) for _, body, _ in stored) == replay(events)


def test_replaying_nothing_gives_no_lot() -> None:
    assert replay([]) is None


def test_a_record_must_start_with_the_creation_of_the_lot() -> None:
    with pytest.raises(RecordError, match="first event must be LotCreated"):
        evolve(None, SAMPLES[3])


def test_a_lot_is_created_only_once_in_a_record() -> None:
    state = evolve(None, SAMPLES[0])
    with pytest.raises(RecordError, match="LotCreated cannot follow"):
        evolve(state, SAMPLES[0])
    assert state.version == 1


def test_each_event_advances_the_version_by_one() -> None:
    state = evolve(None, SAMPLES[0])
    evolve(state, SAMPLES[3])
    assert (state.version, state.status) == (2, "scheduled")
