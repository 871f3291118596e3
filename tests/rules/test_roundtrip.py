"""Whatever the record seals, it reads back exactly (ARCHITECTURE.md, invariant 7): every
event type of every format, with field values at and around their bounds, either
round-trips through the canonical encoding, both JSON decoders the code uses, the hash
chain and ``auction verify``, or is refused by :func:`auction.record.seal` before
anything is recorded. The stores' own round trip is in tests/engine/test_store_roundtrip.py.
"""

import json
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auction.errors import RecordError
from auction.model import BidAccepted, Event, LotCreated, LotDrawn
from auction.record import (
    MAX_DEPTH,
    chain,
    encode_event,
    event_from_dict,
    event_to_dict,
    seal,
    unreadable,
    verify_chain,
)
from auction.verify import FORMAT_VERSION, dumps, verify

from .roundtrip_support import all_event_types, event_holdable, events_of

EVENT_NAMES = sorted(all_event_types())
#: Discrepancies of ``auction verify`` that mean the record could not be read (rather
#: than: a random event is not a lot the rules would have made).
UNREADABLE_KINDS = {"format", "seq", "hash", "event"}
LOT_ID = "L-国有-1"


def test_the_round_trip_covers_every_event_type_of_every_format() -> None:
    from auction.formats import FORMATS
    from auction.model import EVENT_TYPES

    assert set(FORMATS) >= {"english", "sealed", "multi_round", "listing_timed"}
    assert set(EVENT_NAMES) == {name for name, cls in EVENT_TYPES.items()
                                if cls.__module__.startswith("auction.")}
    assert {"BidAccepted", "LotCreated", "RoundStarted", "ClockStepped", "ProxySet",
            "SecondaryBid"} <= set(EVENT_NAMES)


def assert_reads_back(event: Event) -> None:
    """The sealed record of ``event`` reads back exactly, by every reader."""
    (record,) = seal(LOT_ID, 1, "0" * 64, [event])
    body = record.body
    assert body == encode_event(event_to_dict(event))
    for loads in (json.loads, orjson.loads):
        decoded = event_from_dict(loads(body))
        assert decoded == event
        assert encode_event(event_to_dict(decoded)) == body  # exactly: same types, same text
    assert orjson.loads(body.encode()) == json.loads(body)
    assert verify_chain(LOT_ID, [(1, body, record.hash)]) == record.hash
    assert verify_chain(LOT_ID, [(1, event_to_dict(event), record.hash)]) == record.hash
    assert chain("0" * 64, LOT_ID, 1, orjson.loads(body)) == record.hash
    export = dumps({"format_version": FORMAT_VERSION, "lot_id": LOT_ID,
                    "events": [{"seq": 1, "event": event_to_dict(event), "hash": record.hash}],
                    "outcome": {}})
    for data in (export, export.encode()):
        result = verify(data)
        assert result.discrepancy is not None  # one random event is no whole lot
        assert result.discrepancy.kind not in UNREADABLE_KINDS, result.discrepancy


@pytest.mark.parametrize("name", EVENT_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_every_event_either_reads_back_exactly_or_is_refused_before_it_is_recorded(
        name: str, data: st.DataObject) -> None:
    event = data.draw(events_of(all_event_types()[name]))
    if event_holdable(event):
        assert unreadable(event) is None
        assert_reads_back(event)
    else:
        assert unreadable(event) is not None
        with pytest.raises(RecordError, match="cannot be recorded"):
            seal(LOT_ID, 1, "0" * 64, [event])


def test_a_bid_of_two_to_the_64_minor_units_is_refused_when_sealed() -> None:
    bid = BidAccepted(at=1, actor="0731", bidder_id="b1", bidder_no="0731", amount=2**64)
    with pytest.raises(RecordError, match="amount: an integer beyond 64 bits"):
        seal(LOT_ID, 1, "0" * 64, [bid])
    fine = BidAccepted(at=1, actor="0731", bidder_id="b1", bidder_no="0731", amount=2**63 - 1)
    assert_reads_back(fine)


def test_a_batch_with_one_unreadable_event_seals_nothing() -> None:
    good = BidAccepted(at=1, actor="0731", bidder_id="b1", bidder_no="0731", amount=100)
    bad = BidAccepted(at=1, actor="0731", bidder_id="b1", bidder_no="0731", amount=100,
                      ref="\ud800")
    with pytest.raises(RecordError, match="ref: a lone surrogate"):
        seal(LOT_ID, 1, "0" * 64, [good, bad])


@pytest.mark.parametrize(("params", "problem"), [
    ({"x": float("nan")}, "a float that is not finite"),
    ({"x": [float("inf")]}, "a float that is not finite"),
    ({1: "one"}, "a key that is not a string"),
    ({"x": ("a", "tuple")}, "a tuple, which JSON does not hold"),
    ({"x\x00": 1}, "a NUL character"),
    ({"x": {"y": 2**63}}, "an integer beyond 64 bits"),
])
def test_lot_parameters_json_cannot_hold_exactly_are_refused(params: dict[object, object],
                                                             problem: str) -> None:
    created = LotCreated(at=1, actor="host1", lot_id="L", session_id="S", format="english",
                         title="t", params=params)  # type: ignore[arg-type]
    assert problem in (unreadable(created) or "")


def test_parameters_nested_deeper_than_the_bound_are_refused() -> None:
    params: dict[str, object] = {"leaf": 1}
    for _ in range(MAX_DEPTH):
        params = {"k": params}
    created = LotCreated(at=1, actor="host1", lot_id="L", session_id="S", format="english",
                         title="t", params=params)
    assert unreadable(created) == f"params: nested deeper than {MAX_DEPTH}"
    assert unreadable(LotCreated(at=1, actor="host1", lot_id="L", session_id="S",
                                 format="english", title="t", params=params["k"])) is None


def test_a_field_of_the_wrong_type_is_refused_as_the_decoder_would() -> None:
    bid = BidAccepted(at=1, actor="0731", bidder_id="b1", bidder_no="0731",
                      amount=True)  # a bool is no amount: event_from_dict refuses it
    assert unreadable(bid) == "amount has the wrong type"
    drawn = LotDrawn(at=1, actor="system", purpose="tie", seed="s", candidates=["1", 2],  # type: ignore[list-item]
                     index=0, winner_no="1")
    assert unreadable(drawn) == "candidates has the wrong type"


def test_an_event_type_the_record_does_not_know_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Unregistered(Event):
        note: str

    assert unreadable(Unregistered(at=1, actor="x", note="n")) == (
        "Unregistered is not a registered event type")
