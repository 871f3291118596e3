"""Bid confirmation in the rules (``confirm_above_steps``): a bid more than K steps past
the bidder's next acceptable price needs the bidder's explicit confirmation (RULES.md,
More rules)."""

import pytest

from auction.errors import InvalidParams
from auction.lot import replay
from auction.model import BidAccepted, PlaceBid
from auction.params import parse_english, public_params
from auction.record import GENESIS, event_to_dict, seal
from auction.verify import build_export, dumps, verify

from .listing_support import listed
from .support import cny, opened
from .support import english as params


def confirmed(amount: str, bidder: str = "a") -> PlaceBid:
    return PlaceBid(bidder_id=bidder, amount=cny(amount), confirmed=True)


def test_a_bid_more_than_k_steps_past_the_next_price_is_refused_unconfirmed() -> None:
    lot = opened("a", "b", confirm_above_steps=3)
    lot.take("a", "100.00")
    # b's next acceptable price is 110.00: 140.00 is three steps past it, 150.00 four.
    lot.take("b", "140.00")
    rejection = lot.refuse_bid("a", "190.00", "confirm_required")
    assert rejection.code == "confirm_required"


def test_the_same_bid_confirmed_is_accepted_and_recorded_as_confirmed() -> None:
    lot = opened("a", "b", confirm_above_steps=3)
    lot.take("a", "100.00")
    events = lot.accept(confirmed("150.00", "b"))
    bid = events[0]
    assert isinstance(bid, BidAccepted) and bid.confirmed
    assert event_to_dict(bid)["confirmed"] is True


def test_the_next_acceptable_price_never_needs_a_confirmation() -> None:
    lot = opened("a", "b", confirm_above_steps=0)
    lot.take("a", "100.00")
    lot.take("b", "110.00")
    lot.refuse_bid("a", "130.00", "confirm_required")


def test_the_first_bid_counts_its_steps_from_the_start_price() -> None:
    lot = opened("a", confirm_above_steps=2)
    # The start price 100.00 is the next price: 120.00 is two steps past it, 130.00 three.
    lot.refuse_bid("a", "130.00", "confirm_required")
    lot.take("a", "120.00")


def test_a_reverse_bid_far_below_the_next_price_needs_a_confirmation() -> None:
    lot = opened("a", "b", direction="reverse", confirm_above_steps=1)
    lot.take("a", "100.00")
    lot.refuse_bid("b", "70.00", "confirm_required")
    lot.take("b", "80.00")


def test_the_jump_guard_still_refuses_what_no_confirmation_can_make_acceptable() -> None:
    lot = opened("a", confirm_above_steps=1, max_jump_steps=5)
    lot.refuse(confirmed("160.00"), "jump_too_large")


def test_an_unconfirmed_bid_is_recorded_as_before() -> None:
    lot = opened("a")
    bid = lot.take("a", "100.00")[0]
    assert "confirmed" not in event_to_dict(bid)


def test_a_listing_lot_asks_for_confirmation_too() -> None:
    lot = listed("a", "b", confirm_above_steps=2)
    lot.take("a", "100.00")
    lot.refuse_bid("b", "140.00", "confirm_required")
    lot.accept(confirmed("140.00", "b"))


def test_auction_verify_replays_confirmed_bids() -> None:
    lot = opened("a", "b", confirm_above_steps=1)
    lot.take("a", "100.00")
    lot.accept(confirmed("150.00", "b"))
    assert replay(lot.events) == lot.s
    result = verify(dumps(build_export(lot.s, seal("lot-1", 1, GENESIS, lot.events))))
    assert result.ok, result.summary


def test_everyone_sees_how_many_steps_need_a_confirmation() -> None:
    assert public_params(parse_english(params(confirm_above_steps=4)))[
        "confirm_above_steps"] == 4
    assert "confirm_above_steps" not in public_params(parse_english(params()))


@pytest.mark.parametrize("value", [-1, 1_000_001, "3", True])
def test_a_confirmation_threshold_out_of_range_is_refused(value: object) -> None:
    with pytest.raises(InvalidParams, match="confirm_above_steps"):
        parse_english(params(confirm_above_steps=value))
