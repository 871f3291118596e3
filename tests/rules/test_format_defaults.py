"""What the Format base class does for a format that overrides nothing optional, and
how the shared decider refuses a malformed action or record (every format relies on it)."""

from typing import Any

import pytest

from auction.errors import RecordError
from auction.formats import Format, revealed_records
from auction.lot import evolve
from auction.model import Act, LotCreated, LotPaused, PlaceBid, Rejection, Tick
from auction.params import EnglishParams, parse_english
from auction.record import Recorded
from auction.state import LotState

from .support import T0, english, opened


class Bare(Format):
    """A format with only what it must give (never registered)."""

    name = "bare"

    def parse(self, raw: object) -> EnglishParams:
        return parse_english(raw)

    def tick(self, state: LotState, now: int, cmd: Tick) -> list[Any]:
        return []


def test_a_format_without_price_bids_refuses_them_and_has_no_next_price() -> None:
    lot = opened("a")
    bare = Bare()
    bidder = lot.s.bidders["a"]
    refused = bare.bid(lot.s, bidder, PlaceBid(bidder_id="a", amount=10000), T0)
    assert refused.code == "not_supported"  # type: ignore[union-attr]
    assert bare.min_next_bid(lot.s, bidder) is None
    event = LotPaused(at=T0, actor="staff", reason="x")
    assert bare.redact(lot.s, Recorded("lot-1", 1, event, ""), "public", None) is None
    assert bare.command_of(event) is None


def test_an_action_without_a_name_is_refused() -> None:
    lot = opened("a")
    assert lot.decide(Act(bidder_id="a", act=" ")).code == "invalid_params"  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt, params", [("nope", english()), ("english", {"start": 1})])
def test_a_record_of_an_unknown_format_or_bad_parameters_cannot_be_replayed(
        fmt: str, params: dict[str, Any]) -> None:
    with pytest.raises(RecordError):
        evolve(None, LotCreated(at=T0, actor="host", lot_id="x", session_id="s", format=fmt,
                                title="t", params=params))


def test_a_format_takes_no_action_and_its_deadline_is_the_closing_time_by_default() -> None:
    lot = opened("a")
    fmt, bidder = Bare(), lot.s.bidders["a"]
    assert fmt.act(lot.s, bidder, Act(bidder_id="a", act="stay"), lot.now) == Rejection(
        "not_supported", "a bare lot has no action 'stay'")
    assert fmt.deadline(lot.s) == lot.s.closes_at


def test_a_format_hides_no_bid_for_good_and_announces_its_start_price() -> None:
    lot = opened("a")
    lot.take("a", "100.00")
    bare = Bare()
    assert bare.unrevealed(lot.s) == frozenset() and not bare.withholds(lot.s)
    assert bare.start_price(lot.s) == lot.s.params.start_price
    records = [Recorded("lot-1", i + 1, e, "") for i, e in enumerate(lot.events)]
    assert revealed_records(lot.s, records) is records
