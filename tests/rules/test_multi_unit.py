"""Multi-unit lots (``units``, ``pricing``, ``max_units_per_bidder``): N identical units,
the N best prices win, each at its own price or all at the lowest winning one, ties by
time; the board shows the cut-off price (RULES.md, More rules)."""

from typing import Any

import pytest

from auction.default import DeclareDefault
from auction.deposits import deposit_status
from auction.errors import InvalidParams
from auction.formats import FORMATS
from auction.model import ApplyDeposit, LotAwarded, PlaceBid, RefundDeposit, ResumeLot
from auction.params import parse_english, public_params
from auction.record import GENESIS, seal
from auction.sealed import parse_sealed
from auction.signing import message_of
from auction.state import AWARDED, FAILED, Award
from auction.units import awards_of
from auction.views import PUBLIC, STAFF, bidder_view, redact, snapshot

from .support import HOST, MINUTE, T0, Lot, cny, kinds
from .support import english as params
from .test_sealed import SealedLot, sealed

CLOSE = T0 + MINUTE


def plates(*bidders: str, **overrides: Any) -> Lot:
    """Three car-plate quotas, start 100.00, step 10.00, open with ``bidders``."""
    return Lot(params(units=3, **overrides)).open(*bidders)


def bid(lot: Lot, bidder_id: str, amount: str, units: int = 1) -> list[Any]:
    return lot.accept(PlaceBid(bidder_id=bidder_id, amount=cny(amount), units=units))


def awards(lot: Lot) -> list[tuple[str, int, int]]:
    assert lot.s.outcome is not None
    return [(a.bidder_id, a.units, a.amount) for a in lot.s.outcome.awards]


# ------------------------------------------------------------------ parameters

def test_a_lot_sells_one_unit_unless_it_says_more_and_shows_nothing_new_then() -> None:
    single = parse_english(params())
    assert (single.units, single.pricing, single.max_units_per_bidder) == (1, "pay_as_bid", 1)
    assert "units" not in public_params(single)


def test_the_public_parameters_of_a_multi_unit_lot_say_its_units_and_pricing() -> None:
    p = parse_english(params(units=3, pricing="uniform", max_units_per_bidder=2))
    assert public_params(p)["units"] == 3
    assert public_params(p)["pricing"] == "uniform"
    assert public_params(p)["max_units_per_bidder"] == 2


@pytest.mark.parametrize(("overrides", "key"), [
    ({"pricing": "uniform"}, "pricing"),
    ({"max_units_per_bidder": 2}, "max_units_per_bidder"),
    ({"units": 3, "max_units_per_bidder": 4}, "max_units_per_bidder"),
    ({"units": 3, "pricing": "vickrey"}, "pricing"),
    ({"units": 0}, "units"),
    ({"units": 3, "direction": "reverse", "reserve": None}, "units"),
    ({"units": 3, "visibility": "rank"}, "units"),
    ({"units": 3, "proxy": True}, "proxy"),
    ({"units": 3, "min_bidders": 2, "below_min": "award_single"}, "below_min"),
    ({"units": 3, "reserve": None, "reserve_entry": {"before_close_s": 60}}, "reserve_entry"),
])
def test_multi_unit_parameters_that_do_not_fit_are_refused(overrides: dict[str, Any],
                                                          key: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        parse_english(params(**overrides))
    assert caught.value.field == key


def test_a_multi_unit_lot_takes_no_pre_emptive_rights() -> None:
    with pytest.raises(InvalidParams) as caught:
        FORMATS["english"].parse(params(units=3, preemption={"holders": ["b1"]}))
    assert caught.value.field == "preemption"


# ------------------------------------------------------------------ bidding

def test_any_price_from_the_start_is_accepted_while_units_are_left() -> None:
    lot = plates("a", "b", "c")
    bid(lot, "a", "150.00")
    bid(lot, "b", "100.00")
    bid(lot, "c", "120.00")
    assert snapshot(lot.s, PUBLIC)["units"] == {"total": 3, "allotted": 3, "cut_off": "100.00"}


def test_once_every_unit_is_taken_a_bid_must_beat_the_cut_off_by_the_step() -> None:
    lot = plates("a", "b", "c", "d")
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00")):
        bid(lot, bidder, price)
    lot.refuse_bid("d", "100.00", "not_improving")
    assert snapshot(lot.s, PUBLIC)["next_min"] == "110.00"
    bid(lot, "d", "110.00")
    assert snapshot(lot.s, PUBLIC)["units"]["cut_off"] == "110.00"


def test_the_jump_guard_counts_from_the_cut_off_or_the_bidders_own_higher_bid() -> None:
    lot = plates("a", "b", "c", "d", max_jump_steps=5)
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00")):
        bid(lot, bidder, price)
    lot.refuse_bid("d", "160.00", "jump_too_large")  # six steps past the cut-off 100.00
    bid(lot, "d", "150.00")
    lot.refuse_bid("a", "210.00", "jump_too_large")  # six steps past its own 150.00
    bid(lot, "a", "200.00")


def test_a_bidder_holding_a_unit_may_raise_its_bid_but_never_lower_it() -> None:
    lot = plates("a", "b")
    bid(lot, "a", "150.00")
    lot.refuse_bid("a", "120.00", "not_improving")
    bid(lot, "a", "160.00")
    assert lot.s.bidders["a"].last_bid == cny("160.00")


def test_the_bidder_pushed_below_the_cut_off_is_told_it_holds_no_unit_any_more() -> None:
    lot = plates("a", "b", "c", "d")
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00")):
        bid(lot, bidder, price)
    before = bidder_view(lot.s, "b")
    assert before is not None and before["units_held"] == 1 and before["leading"] is True
    bid(lot, "d", "130.00")
    after = bidder_view(lot.s, "b")
    assert after is not None and after["units_held"] == 0 and after["leading"] is False
    assert after["next_min"] == "130.00"  # the cut-off (120.00) and a step


def test_equal_prices_rank_by_time_the_earlier_holding_the_unit() -> None:
    lot = plates("a", "b", "c", "d")
    bid(lot, "a", "150.00")
    bid(lot, "b", "140.00")
    bid(lot, "c", "100.00")
    bid(lot, "d", "140.00")
    assert [b.bidder_id for b in lot.s.ranking()] == ["a", "b", "d", "c"]
    held = {b: v["units_held"] for b in "abcd" if (v := bidder_view(lot.s, b)) is not None}
    assert held == {"a": 1, "b": 1, "c": 0, "d": 1}


def test_a_bidder_may_ask_for_several_units_up_to_the_lots_cap() -> None:
    lot = plates("a", "b", max_units_per_bidder=2)
    lot.refuse(PlaceBid(bidder_id="a", amount=cny("100.00"), units=3), "bad_units")
    lot.refuse(PlaceBid(bidder_id="a", amount=cny("100.00"), units=0), "bad_units")
    events = bid(lot, "a", "100.00", units=2)
    assert events[0].units == 2
    you = bidder_view(lot.s, "a")
    assert you is not None and (you["units_asked"], you["units_held"]) == (2, 2)
    bid(lot, "b", "100.00", units=2)  # asks for two, one is left
    assert snapshot(lot.s, PUBLIC)["units"] == {"total": 3, "allotted": 3, "cut_off": "100.00"}
    you = bidder_view(lot.s, "b")
    assert you is not None and (you["units_asked"], you["units_held"]) == (2, 1)


def test_a_new_bid_may_not_ask_for_fewer_units_than_the_bidders_last() -> None:
    lot = plates("a", max_units_per_bidder=2)
    bid(lot, "a", "100.00", units=2)
    lot.refuse(PlaceBid(bidder_id="a", amount=cny("110.00"), units=1), "units_reduced")


def test_a_single_unit_lot_takes_bids_for_one_unit_only() -> None:
    lot = Lot(params()).open("a")
    lot.refuse(PlaceBid(bidder_id="a", amount=cny("100.00"), units=2), "bad_units")


def test_a_bid_for_several_units_signs_its_number_of_units() -> None:
    lot = plates("a", max_units_per_bidder=2)
    signed = {"seen": 0, "nonce": "n", "sig": "s"}
    bidder = lot.s.bidders["a"]
    one = message_of(lot.s, bidder, PlaceBid(bidder_id="a", amount=1, signed=signed))
    two = message_of(lot.s, bidder, PlaceBid(bidder_id="a", amount=1, units=2, signed=signed))
    assert b'"units"' not in one and b'"units":"2"' in two


def test_a_restart_voids_every_bid_and_frees_every_unit() -> None:
    lot = plates("a", "b", "c", restart_allowed=True)
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00")):
        bid(lot, bidder, price)
    lot.pause()
    lot.accept(ResumeLot(actor=HOST, reason="重新竞价", restart=True))
    assert snapshot(lot.s, PUBLIC)["units"] == {"total": 3, "allotted": 0, "cut_off": None}
    bid(lot, "b", "100.00")


# ------------------------------------------------------------------ the close

def test_pay_as_bid_awards_each_winner_its_own_price_best_first() -> None:
    lot = plates("a", "b", "c", "d")
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00"),
                          ("d", "130.00")):
        bid(lot, bidder, price)
    events = lot.tick(at=CLOSE)
    assert kinds(events) == ["LotClosed", "LotAwarded", "LotAwarded", "LotAwarded"]
    assert lot.s.status == AWARDED
    assert awards(lot) == [("a", 1, cny("150.00")), ("d", 1, cny("130.00")),
                           ("c", 1, cny("120.00"))]
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "a"


def test_uniform_pricing_awards_every_winner_at_the_lowest_winning_price() -> None:
    lot = plates("a", "b", "c", "d", pricing="uniform", max_units_per_bidder=2)
    bid(lot, "a", "150.00", units=2)
    bid(lot, "b", "100.00")
    bid(lot, "c", "120.00")
    bid(lot, "d", "130.00")
    lot.tick(at=CLOSE)
    assert awards(lot) == [("a", 2, cny("130.00")), ("d", 1, cny("130.00"))]


def test_fewer_bidders_than_units_each_win_what_they_asked_for() -> None:
    lot = plates("a", "b", pricing="uniform")
    bid(lot, "a", "150.00")
    bid(lot, "b", "100.00")
    lot.tick(at=CLOSE)
    assert awards(lot) == [("a", 1, cny("100.00")), ("b", 1, cny("100.00"))]


def test_bids_below_the_reserve_win_no_unit() -> None:
    lot = plates("a", "b", "c", reserve="120.00", pricing="uniform")
    bid(lot, "a", "150.00")
    bid(lot, "b", "100.00")
    bid(lot, "c", "130.00")
    lot.tick(at=CLOSE)
    assert awards(lot) == [("a", 1, cny("130.00")), ("c", 1, cny("130.00"))]


def test_a_lot_with_no_bid_at_the_reserve_fails() -> None:
    lot = plates("a", reserve="200.00")
    bid(lot, "a", "150.00")
    lot.tick(at=CLOSE)
    assert lot.s.status == FAILED
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"


def test_a_multi_unit_lot_without_bids_fails_as_any_lot() -> None:
    lot = plates("a")
    lot.tick(at=CLOSE)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


def test_too_few_bidders_who_bid_fail_a_multi_unit_lot() -> None:
    lot = plates("a", "b", min_bidders=2)
    bid(lot, "a", "150.00")
    lot.tick(at=CLOSE)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "too_few_bids"


# ------------------------------------------------------------------ views

def test_the_outcome_lists_every_award_and_staff_see_the_winners_ids() -> None:
    lot = plates("a", "b", pricing="uniform")
    bid(lot, "a", "150.00")
    bid(lot, "b", "100.00")
    lot.tick(at=CLOSE)
    public = snapshot(lot.s, PUBLIC)["outcome"]
    assert public["awards"] == [{"bidder_no": "Na", "units": 1, "amount": "100.00"},
                                {"bidder_no": "Nb", "units": 1, "amount": "100.00"}]
    staff = snapshot(lot.s, STAFF)["outcome"]
    assert [a["bidder_id"] for a in staff["awards"]] == ["a", "b"]
    assert lot.s.outcome is not None
    assert lot.s.outcome.awards[0] == Award("a", "Na", 1, cny("100.00"))


def test_the_public_record_shows_the_units_of_bids_and_awards_for_more_than_one() -> None:
    lot = plates("a", "b", max_units_per_bidder=2)
    bid(lot, "a", "150.00", units=2)
    bid(lot, "b", "100.00")
    lot.tick(at=CLOSE)
    records = seal("lot-1", 1, GENESIS, lot.events)
    shown = [redact(lot.s, r, PUBLIC) for r in records]
    bids = [v for v in shown if v["type"] == "BidAccepted"]
    assert bids[0]["units"] == 2 and "units" not in bids[1]
    won = [v for v in shown if v["type"] == "LotAwarded"]
    assert [v.get("units") for v in won] == [2, None]
    assert isinstance(lot.events[-1], LotAwarded)


def test_a_single_unit_lot_shows_no_units_and_its_outcome_no_awards() -> None:
    lot = Lot(params()).open("a")
    bid(lot, "a", "100.00")
    lot.tick(at=CLOSE)
    view = snapshot(lot.s, PUBLIC)
    assert "units" not in view and "awards" not in view["outcome"]
    you = bidder_view(lot.s, "a")
    assert you is not None and "units_held" not in you


# ------------------------------------------------------------------ after the auction

def test_every_winners_deposit_is_applied_and_the_losers_are_refundable() -> None:
    lot = plates("a", "b", "c", "d")
    for bidder, price in (("a", "150.00"), ("b", "100.00"), ("c", "120.00"),
                          ("d", "130.00")):
        bid(lot, bidder, price)
    lot.tick(at=CLOSE)
    status = {b: deposit_status(lot.s, lot.s.bidders[b]) for b in "abcd"}
    assert status == {"a": "confirmed", "b": "refundable", "c": "confirmed", "d": "confirmed"}
    for winner in "acd":
        lot.accept(ApplyDeposit(bidder_id=winner, actor=HOST, reason="抵作成交价款"))
    lot.accept(RefundDeposit(bidder_id="b", actor=HOST, reason="未成交退还"))
    lot.refuse(ApplyDeposit(bidder_id="b", actor=HOST, reason="x"), "invalid_state")
    lot.refuse(DeclareDefault(actor=HOST, reason="逾期未签署", then="relist",
                              new_lot_id="lot-2"), "not_supported")


def test_the_awards_of_a_lot_are_its_winners_or_its_single_winner_or_none() -> None:
    lot = plates("a", "b")
    assert awards_of(lot.s) == []
    bid(lot, "a", "150.00")
    lot.tick(at=CLOSE)
    assert awards_of(lot.s) == [Award("a", "Na", 1, cny("150.00"))]
    single = Lot(params()).open("a")
    bid(single, "a", "120.00")
    single.tick(at=CLOSE)
    assert awards_of(single.s) == [Award("a", "Na", 1, cny("120.00"))]
    failed = Lot(params()).open("a")
    failed.tick(at=CLOSE)
    assert awards_of(failed.s) == []


# ------------------------------------------------------------------ sealed bids

def sealed_plates(*bidders: str, **overrides: Any) -> SealedLot:
    return SealedLot(sealed(units=3, **overrides)).open_with_seed(*bidders)


@pytest.mark.parametrize(("overrides", "key"), [
    ({"units": 2, "direction": "reverse"}, "units"),
    ({"units": 2, "tie_rule": "lottery"}, "units"),
    ({"units": 2, "max_units_per_bidder": 2, "sealing": "bidder"}, "max_units_per_bidder"),
    ({"pricing": "uniform"}, "pricing"),
])
def test_sealed_multi_unit_parameters_that_do_not_fit_are_refused(overrides: dict[str, Any],
                                                                 key: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        parse_sealed(sealed(**overrides))
    assert caught.value.field == key


def test_sealed_pay_as_bid_awards_the_best_sealed_prices_equal_ones_by_time() -> None:
    lot = sealed_plates("a", "b", "c", "d", "e", revisions=1)
    for bidder, price in (("a", "150.00"), ("b", "120.00"), ("c", "130.00"),
                          ("d", "120.00"), ("e", "90.00")):
        bid(lot, bidder, price)
    lot.refuse(PlaceBid(bidder_id="b", amount=cny("120.00")), "same_bid")
    events = lot.opening()
    assert kinds(events)[-3:] == ["LotAwarded"] * 3
    assert awards(lot) == [("a", 1, cny("150.00")), ("c", 1, cny("130.00")),
                           ("b", 1, cny("120.00"))]


def test_sealed_uniform_pricing_with_quantities_and_a_reserve() -> None:
    lot = sealed_plates("a", "b", "c", pricing="uniform", max_units_per_bidder=2,
                        reserve="100.00", revisions=1)
    bid(lot, "a", "150.00")
    bid(lot, "a", "150.00", units=2)  # a revision of the units only
    bid(lot, "b", "120.00", units=2)
    bid(lot, "c", "90.00")
    lot.opening()
    assert awards(lot) == [("a", 2, cny("120.00")), ("b", 1, cny("120.00"))]


def test_a_sealed_multi_unit_lot_with_no_bid_at_the_reserve_fails() -> None:
    lot = sealed_plates("a", reserve="200.00")
    bid(lot, "a", "150.00")
    lot.opening()
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"
