"""Bidding in an english lot: first bid, steps, grid, reserve, ceiling, jump guard,
improve modes, ties, and time (RULES.md, english)."""

import pytest

from auction import english
from auction.model import BidAccepted, PlaceBid, ScheduleLot
from auction.state import AWARDED, FAILED

from .support import HOST, MINUTE, T0, Lot, cny, kinds, opened
from .support import english as params

CLOSE = T0 + MINUTE


# --------------------------------------------------------------------------- status and time


def test_no_bid_is_taken_before_the_lot_opens() -> None:
    lot = Lot()
    lot.register("a")
    lot.refuse_bid("a", "100.00", "not_open")
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse_bid("a", "100.00", "not_open")


def test_no_bid_is_taken_while_the_lot_is_paused() -> None:
    lot = opened("a")
    lot.pause()
    lot.refuse_bid("a", "100.00", "paused")


def test_no_bid_is_taken_on_a_cancelled_lot() -> None:
    lot = opened("a")
    lot.cancel()
    lot.refuse_bid("a", "100.00", "cancelled")


def test_no_bid_is_taken_after_the_lot_closed() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"))
    lot.tick(at=CLOSE)
    lot.refuse_bid("b", "110.00", "closed", at=CLOSE + 1)


def test_a_bid_sequenced_at_the_close_instant_is_rejected_even_before_the_tick() -> None:
    lot = opened("a")
    lot.refuse_bid("a", "100.00", "closed", at=CLOSE)
    lot.refuse_bid("a", "100.00", "closed", at=CLOSE + 10_000)


def test_a_bid_sequenced_one_millisecond_before_the_close_is_judged_on_its_merits() -> None:
    lot = opened("a", "b")
    lot.refuse_bid("a", "99.00", "below_start", at=CLOSE - 1)
    events = lot.accept(PlaceBid(bidder_id="a", amount=10000), at=CLOSE - 1)
    assert kinds(events) == ["BidAccepted"]
    assert events[0].at == CLOSE - 1


# --------------------------------------------------------------------------- amounts


def test_an_accepted_bid_records_bidder_number_price_and_client_details() -> None:
    lot = opened("a")
    events = lot.accept(PlaceBid(bidder_id="a", amount=10000, ip="10.0.0.7",
                                 device="fp-123", ref="c-1"))
    assert events == [BidAccepted(at=T0, actor="Na", bidder_id="a", bidder_no="Na",
                                  amount=10000, ip="10.0.0.7", device="fp-123", ref="c-1")]
    assert lot.s.best == 10000 and lot.s.leader == "a"
    bidder = lot.s.bidders["a"]
    assert (bidder.last_bid, bidder.bids, bidder.last_seq) == (10000, 1, lot.s.version)


@pytest.mark.parametrize("amount", [0, -10000, 100.0, True, "100.00", None])
def test_a_bid_amount_that_is_not_positive_whole_minor_units_is_invalid(amount: object) -> None:
    opened("a").refuse(PlaceBid(bidder_id="a", amount=amount), "invalid_amount")  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["ip", "device", "ref"])
@pytest.mark.parametrize("value", ["x" * 501, "\x00", "\udfff", 7])
def test_client_details_that_cannot_be_recorded_are_refused(field: str, value: object) -> None:
    cmd = PlaceBid(bidder_id="a", amount=10000, **{field: value})  # type: ignore[arg-type]
    opened("a").refuse(cmd, "invalid_params")


# --------------------------------------------------------------------------- first bid


def test_the_first_forward_bid_is_at_least_the_start_price() -> None:
    lot = opened("a")
    lot.refuse_bid("a", "90.00", "below_start")
    lot.bids(("a", "100.00"))


def test_the_first_reverse_bid_is_at_most_the_start_price() -> None:
    lot = opened("a", direction="reverse")
    lot.refuse_bid("a", "110.00", "above_start")
    lot.bids(("a", "100.00"))


def test_a_first_bid_may_improve_on_the_start_price_by_whole_steps() -> None:
    lot = opened("a", "b", direction="reverse")
    lot.refuse_bid("a", "95.00", "off_step")
    lot.bids(("a", "80.00"))
    assert lot.s.best == 8000


# --------------------------------------------------------------------------- leader mode


def test_a_bid_must_beat_the_best_by_a_step() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"))
    lot.refuse_bid("b", "100.00", "not_improving")
    lot.refuse_bid("b", "109.99", "not_improving")
    lot.bids(("b", "110.00"))


def test_a_reverse_bid_must_undercut_the_best_by_a_step() -> None:
    lot = opened("a", "b", direction="reverse")
    lot.bids(("a", "100.00"))
    lot.refuse_bid("b", "95.00", "not_improving")
    lot.refuse_bid("b", "100.00", "not_improving")
    lot.bids(("b", "90.00"))
    assert (lot.s.best, lot.s.leader) == (9000, "b")


def test_the_current_leader_cannot_bid_again() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"))
    lot.refuse_bid("a", "200.00", "already_leading")
    lot.bids(("b", "110.00"), ("a", "120.00"))


def test_the_next_acceptable_price_is_the_best_plus_one_step() -> None:
    lot = opened("a", "b")
    assert english.min_next_bid(lot.s, None) == cny("100.00")
    assert english.min_next_bid(lot.s, lot.s.bidders["a"]) == cny("100.00")
    lot.bids(("a", "100.00"))
    assert english.min_next_bid(lot.s, None) == cny("110.00")
    assert english.min_next_bid(lot.s, lot.s.bidders["b"]) == cny("110.00")


def test_the_next_acceptable_reverse_price_is_the_best_minus_one_step() -> None:
    lot = opened("a", direction="reverse")
    lot.bids(("a", "100.00"))
    assert english.min_next_bid(lot.s, None) == cny("90.00")


# --------------------------------------------------------------------------- steps and grid


def test_with_step_multiple_a_price_must_sit_on_the_start_price_grid() -> None:
    lot = opened("a", "b")
    lot.refuse_bid("a", "105.00", "off_step")
    lot.bids(("a", "100.00"))
    lot.refuse_bid("b", "125.00", "off_step")
    lot.bids(("b", "130.00"))


def test_without_step_multiple_any_price_beating_the_best_by_a_step_is_accepted() -> None:
    lot = opened("a", "b", step_multiple=False)
    lot.bids(("a", "100.01"), ("b", "115.37"))
    lot.refuse_bid("a", "125.36", "not_improving")
    lot.bids(("a", "125.37"))


def test_tiered_steps_apply_the_step_of_the_tier_the_best_has_reached() -> None:
    steps = [{"from": "0", "step": "10.00"}, {"from": "200.00", "step": "50.00"}]
    lot = opened("a", "b", step=None, steps=steps)
    lot.bids(("a", "100.00"), ("b", "190.00"), ("a", "200.00"))
    lot.refuse_bid("b", "210.00", "not_improving")
    lot.refuse_bid("b", "260.00", "off_step")
    lot.bids(("b", "250.00"), ("a", "300.00"))
    assert english.min_next_bid(lot.s, None) == cny("350.00")


def test_tiered_steps_in_a_reverse_lot_shrink_as_the_price_falls() -> None:
    steps = [{"from": "0", "step": "1.00"}, {"from": "50.00", "step": "10.00"}]
    lot = opened("a", "b", direction="reverse", step=None, steps=steps)
    lot.bids(("a", "100.00"), ("b", "50.00"))
    lot.refuse_bid("a", "45.00", "not_improving")  # from 50.00 the step is still 10.00
    lot.bids(("a", "40.00"), ("b", "39.00"))


# --------------------------------------------------------------------------- reserve and ceiling


def test_the_best_price_wins_when_it_meets_the_reserve() -> None:
    lot = opened("a", "b", reserve="120.00")
    lot.bids(("a", "100.00"), ("b", "120.00"))
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "LotAwarded"]
    assert lot.s.status == AWARDED


def test_below_the_reserve_there_is_no_award() -> None:
    lot = opened("a", "b", reserve="120.00")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    lot.tick(at=CLOSE)
    assert lot.s.status == FAILED
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"


def test_a_reverse_lot_awards_the_lowest_price() -> None:
    lot = opened("a", "b", direction="reverse")
    lot.bids(("a", "100.00"), ("b", "80.00"), ("a", "70.00"), ("b", "60.00"))
    lot.tick(at=CLOSE)
    o = lot.s.outcome
    assert o is not None and (o.status, o.bidder_id, o.amount) == (AWARDED, "b", 6000)


def test_nothing_above_the_ceiling_is_accepted_in_a_reverse_lot() -> None:
    lot = opened("a", "b", direction="reverse", start_price="80.00", ceiling="80.00")
    lot.refuse_bid("a", "90.00", "above_ceiling")
    lot.bids(("a", "80.00"))
    lot.tick(at=CLOSE)
    assert lot.s.status == AWARDED


# --------------------------------------------------------------------------- jump guard


def test_a_bid_more_than_max_jump_steps_past_the_best_is_rejected() -> None:
    lot = opened("a", "b", max_jump_steps=3)
    lot.bids(("a", "100.00"))
    lot.refuse_bid("b", "140.00", "jump_too_large")
    lot.bids(("b", "130.00"))


def test_the_first_bid_may_jump_at_most_max_jump_steps_past_the_start_price() -> None:
    lot = opened("a", max_jump_steps=2)
    lot.refuse_bid("a", "130.00", "jump_too_large")
    lot.bids(("a", "120.00"))


def test_the_jump_guard_works_downwards_in_a_reverse_lot() -> None:
    lot = opened("a", "b", direction="reverse", max_jump_steps=2)
    lot.bids(("a", "100.00"))
    lot.refuse_bid("b", "70.00", "jump_too_large")
    lot.bids(("b", "80.00"))


def test_in_own_mode_the_jump_guard_counts_from_the_best_not_the_own_last_bid() -> None:
    lot = opened("a", "b", direction="reverse", improve="own", max_jump_steps=1)
    lot.bids(("a", "100.00"), ("a", "90.00"), ("a", "80.00"), ("b", "100.00"))
    lot.bids(("b", "70.00"))  # five steps below its own bid, one past the best
    lot.refuse_bid("a", "50.00", "jump_too_large")


# --------------------------------------------------------------------------- own mode


def test_in_own_mode_a_bid_must_beat_the_bidders_own_last_bid_by_a_step() -> None:
    lot = opened("a", "b", direction="reverse", improve="own")
    lot.bids(("a", "100.00"), ("b", "100.00"), ("a", "90.00"))
    lot.refuse_bid("a", "90.00", "not_improving")
    lot.refuse_bid("b", "95.00", "not_improving")
    lot.refuse_bid("b", "85.00", "off_step")
    lot.bids(("b", "90.00"))  # equals the best: allowed, it only has to beat its own


def test_in_own_mode_the_leader_may_bid_again() -> None:
    lot = opened("a", "b", direction="reverse", improve="own")
    lot.bids(("a", "100.00"), ("a", "90.00"))
    assert lot.s.leader == "a"


def test_in_own_mode_the_next_acceptable_price_is_per_bidder() -> None:
    lot = opened("a", "b", direction="reverse", improve="own")
    lot.bids(("a", "100.00"), ("a", "90.00"))
    assert english.min_next_bid(lot.s, lot.s.bidders["a"]) == cny("80.00")
    assert english.min_next_bid(lot.s, lot.s.bidders["b"]) == cny("100.00")
    assert english.min_next_bid(lot.s, None) == cny("100.00")


def test_in_own_mode_equal_prices_rank_the_earlier_bid_first() -> None:
    lot = opened("a", "b", "c", direction="reverse", improve="own")
    lot.bids(("c", "100.00"), ("b", "90.00"), ("a", "90.00"))
    assert [b.bidder_id for b in lot.s.ranking()] == ["b", "a", "c"]
    assert lot.s.leader == "b"
    lot.tick(at=CLOSE)
    o = lot.s.outcome
    assert o is not None and (o.bidder_id, o.amount) == ("b", 9000)


def test_a_bidder_that_improves_to_an_equal_price_ranks_after_the_one_already_there() -> None:
    lot = opened("a", "b", improve="own")
    lot.bids(("a", "120.00"), ("b", "100.00"), ("b", "120.00"))
    assert [b.bidder_id for b in lot.s.ranking()] == ["a", "b"]
    lot.bids(("b", "130.00"))
    assert [b.bidder_id for b in lot.s.ranking()] == ["b", "a"]
    assert lot.s.leader == "b"


def test_ranking_forward_puts_the_highest_price_first_and_skips_bidders_without_bids() -> None:
    lot = opened("a", "b", "c")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    assert [b.bidder_id for b in lot.s.ranking()] == ["b", "a"]


# --------------------------------------------------------------------------- parameters


def test_a_lot_in_yen_takes_whole_yen_steps() -> None:
    lot = Lot(params(currency="JPY", start_price="1000", step="100", deposit="500"))
    lot.register("a", deposit="500")
    lot.open()
    lot.accept(PlaceBid(bidder_id="a", amount=1100))
    assert lot.s.best == 1100
