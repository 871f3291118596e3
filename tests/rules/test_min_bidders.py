"""Minimum number of bidders (``min_bidders``, ``below_min``): at least N eligible
bidders to open, at least N bidders who bid to award (RULES.md, More rules)."""

from typing import Any

import pytest

from auction.errors import InvalidParams
from auction.listing_timed import parse as parse_listing
from auction.lot import replay
from auction.model import ScheduleLot, StartLot, Tick
from auction.params import parse_english, public_params
from auction.record import GENESIS, seal
from auction.state import AWARDED, FAILED, OPEN
from auction.verify import build_export, dumps, verify

from .listing_support import LISTING_ENDS, ListingLot, listing
from .support import HOST, MINUTE, T0, Lot, cny, kinds
from .support import english as params

CLOSE = T0 + MINUTE


def scheduled(*bidders: str, **overrides: Any) -> Lot:
    lot = Lot(params(**overrides))
    for bidder in bidders:
        lot.register(bidder)
    lot.accept(ScheduleLot(actor=HOST))
    return lot


def test_a_lot_with_fewer_eligible_bidders_than_its_minimum_fails_when_started() -> None:
    lot = scheduled("a", "b", min_bidders=3)
    lot.register("c", deposit=None)  # registered, but no deposit: not eligible
    events = lot.accept(StartLot(actor=HOST, reason="按时开拍"))
    assert kinds(events) == ["LotFailed"]
    assert lot.s.status == FAILED and lot.s.outcome is not None
    assert lot.s.outcome.reason == "too_few_bidders"
    assert events[0].actor == HOST


def test_a_lot_that_opens_by_itself_fails_at_its_opening_with_too_few_bidders() -> None:
    lot = scheduled("a", min_bidders=2, opens_at=T0 + 1000)
    events = lot.tick(at=T0 + 1000)
    assert kinds(events) == ["LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "too_few_bidders"
    assert lot.s.outcome.status == FAILED


def test_a_lot_with_enough_eligible_bidders_opens() -> None:
    lot = scheduled("a", "b", "c", min_bidders=3)
    lot.accept(StartLot(actor=HOST))
    assert lot.s.status == OPEN


def test_a_lot_without_a_minimum_opens_with_no_eligible_bidder_as_before() -> None:
    lot = scheduled()
    lot.accept(StartLot(actor=HOST))
    assert lot.s.status == OPEN


def test_fewer_bidders_who_bid_than_the_minimum_fail_the_lot_at_the_close() -> None:
    lot = scheduled("a", "b", "c", min_bidders=3)
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "110.00"), ("a", "120.00"))
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "too_few_bids"


def test_enough_bidders_who_bid_award_the_best_as_usual() -> None:
    lot = scheduled("a", "b", "c", min_bidders=3)
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "110.00"), ("c", "120.00"))
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "LotAwarded"]
    assert lot.s.outcome is not None and lot.s.outcome.amount == cny("120.00")


def test_with_award_single_one_eligible_bidder_is_enough_to_open() -> None:
    lot = scheduled("a", min_bidders=3, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    assert lot.s.status == OPEN


def test_with_award_single_the_single_bidder_wins_at_the_start_price() -> None:
    lot = scheduled("a", "b", "c", min_bidders=3, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "130.00")
    events = lot.tick(at=CLOSE)
    assert kinds(events) == ["LotClosed", "LotAwarded"]
    assert lot.s.status == AWARDED and lot.s.outcome is not None
    assert (lot.s.outcome.bidder_id, lot.s.outcome.amount) == ("a", cny("100.00"))


def test_with_award_single_two_eligible_bidders_below_the_minimum_fail_to_open() -> None:
    lot = scheduled("a", "b", min_bidders=3, below_min="award_single")
    assert kinds(lot.accept(StartLot(actor=HOST))) == ["LotFailed"]


def test_with_award_single_two_bidders_who_bid_below_the_minimum_still_fail() -> None:
    lot = scheduled("a", "b", "c", min_bidders=3, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "110.00"))
    lot.tick(at=CLOSE)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "too_few_bids"


def test_a_single_bidder_is_not_awarded_at_a_start_price_below_the_reserve() -> None:
    lot = scheduled("a", min_bidders=2, below_min="award_single", reserve="120.00")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "130.00")
    lot.tick(at=CLOSE)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"


def test_a_lot_below_its_minimum_with_no_bid_fails_for_no_bids() -> None:
    lot = scheduled("a", "b", min_bidders=2)
    lot.accept(StartLot(actor=HOST))
    lot.tick(at=CLOSE)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


def test_the_minimum_replays_to_the_same_state() -> None:
    lot = scheduled("a", min_bidders=2, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "110.00")
    lot.tick(at=CLOSE)
    assert replay(lot.events) == lot.s


def test_everyone_sees_the_minimum_in_the_parameters() -> None:
    shown = public_params(parse_english(params(min_bidders=3, below_min="award_single")))
    assert (shown["min_bidders"], shown["below_min"]) == (3, "award_single")
    assert "min_bidders" not in public_params(parse_english(params()))


@pytest.mark.parametrize("value", [0, 1001, "3", True])
def test_a_minimum_out_of_range_is_refused(value: object) -> None:
    with pytest.raises(InvalidParams, match="min_bidders") as caught:
        parse_english(params(min_bidders=value))
    assert caught.value.field == "min_bidders"


def test_below_min_needs_a_minimum_above_one() -> None:
    with pytest.raises(InvalidParams, match="min_bidders above 1") as caught:
        parse_english(params(below_min="award_single"))
    assert caught.value.field == "below_min"


# --------------------------------------------------------------------------- listing_timed


def listing_lot(*bidders: str, **overrides: Any) -> ListingLot:
    lot = ListingLot(listing(**overrides))
    for bidder in bidders:
        lot.register(bidder)
    lot.accept(ScheduleLot(actor=HOST))
    return lot


def test_a_listing_lot_fails_to_open_below_its_minimum() -> None:
    lot = listing_lot("a", min_bidders=2)
    assert kinds(lot.accept(StartLot(actor=HOST, seed_hash=None))) == ["LotFailed"]


def test_a_listing_lot_with_one_listing_bidder_below_the_minimum_fails() -> None:
    lot = listing_lot("a", "b", min_bidders=2)
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "100.00")
    lot.tick(at=LISTING_ENDS)  # the confirm window opens
    events = lot.accept(Tick(), at=LISTING_ENDS + 300_000)
    assert kinds(events)[-2:] == ["LotClosed", "LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "too_few_bids"


def test_a_listing_lot_may_award_its_single_listing_bidder_at_the_listing_price() -> None:
    lot = listing_lot("a", "b", min_bidders=2, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "120.00")
    lot.tick(at=LISTING_ENDS)
    lot.accept(Tick(), at=LISTING_ENDS + 300_000)
    assert lot.s.outcome is not None
    assert (lot.s.outcome.status, lot.s.outcome.amount) == (AWARDED, cny("100.00"))


def test_a_listing_lot_with_a_minimum_takes_no_cap() -> None:
    with pytest.raises(InvalidParams, match="does not go with a cap"):
        parse_listing(listing(min_bidders=2, cap="200.00"))


# --------------------------------------------------------------------------- verify


@pytest.mark.parametrize("started_by", ["staff", "clock"])
def test_auction_verify_replays_a_lot_that_failed_for_too_few_bidders(started_by: str) -> None:
    opens = None if started_by == "staff" else T0 + 1000
    lot = scheduled("a", min_bidders=2, opens_at=opens)
    if opens is None:
        lot.accept(StartLot(actor=HOST))
    else:
        lot.tick(at=opens)
    records = seal("lot-1", 1, GENESIS, lot.events)
    result = verify(dumps(build_export(lot.s, records)))
    assert result.ok, result.summary


def test_auction_verify_replays_a_single_bidder_awarded_at_the_start_price() -> None:
    lot = scheduled("a", min_bidders=2, below_min="award_single")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "110.00")
    lot.tick(at=CLOSE)
    records = seal("lot-1", 1, GENESIS, lot.events)
    assert verify(dumps(build_export(lot.s, records))).ok
