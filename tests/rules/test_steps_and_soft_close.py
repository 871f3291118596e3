"""Percentage and price-dependent steps (``step_percent``, tiers of ``percent``,
``step_round``) and who triggers a soft close (``extend_on``): RULES.md, More rules."""

from typing import Any

import pytest

from auction import english
from auction.errors import InvalidParams
from auction.lot import replay
from auction.model import Act
from auction.params import parse_english, public_params
from auction.views import snapshot

from .listing_support import listed
from .support import MINUTE, T0, Lot, cny, kinds, opened
from .support import english as params

SECOND = 1000


def refused(raw: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(InvalidParams, match=match) as caught:
        parse_english(raw)
    assert caught.value.field == field


# --------------------------------------------------------------------------- percentage steps


def test_a_percentage_step_is_that_share_of_the_price_it_improves_on() -> None:
    lot = opened("a", "b", step=None, step_percent="5")
    lot.take("a", "100.00")
    assert english.min_next_bid(lot.s, None) == cny("105.00")
    lot.refuse_bid("b", "104.99", "not_improving")
    lot.take("b", "105.00")
    # 5 % of 105.00 is 5.25: the step grows with the price.
    assert english.min_next_bid(lot.s, None) == cny("110.25")
    lot.refuse_bid("a", "110.00", "not_improving")
    lot.take("a", "110.25")


def test_the_first_bid_may_improve_on_the_start_price_by_whole_percentage_steps() -> None:
    lot = opened("a", step=None, step_percent="10")
    lot.refuse_bid("a", "105.00", "off_step")
    lot.take("a", "120.00")


def test_a_percentage_step_rounds_up_to_the_minor_unit_by_default() -> None:
    # 1.5 % of 100.01 is 1.50015: up 1.51, down 1.50, half up 1.50.
    lot = opened("a", "b", step=None, step_percent="1.5", step_multiple=False)
    lot.take("a", "100.01")
    assert english.min_next_bid(lot.s, None) == cny("101.52")


@pytest.mark.parametrize(("rounding", "next_price"), [
    ("up", "101.52"), ("down", "101.51"), ("half_up", "101.51")])
def test_the_lot_says_how_a_percentage_step_is_rounded(rounding: str, next_price: str) -> None:
    lot = opened("a", "b", step=None, step_percent="1.5", step_round=rounding,
                 step_multiple=False)
    lot.take("a", "100.01")
    assert english.min_next_bid(lot.s, None) == cny(next_price)


def test_half_up_rounds_a_half_minor_unit_up() -> None:
    # 0.5 % of 100.01 is 0.50005 (rounds to 0.50); of 100.10 it is 0.5005 (0.50); of
    # 101.00 it is 0.505 exactly: half up gives 0.51, down 0.50.
    p = parse_english(params(step=None, step_percent="0.5", step_round="half_up"))
    assert p.step_at(cny("101.00")) == cny("0.51")
    p = parse_english(params(step=None, step_percent="0.5", step_round="down"))
    assert p.step_at(cny("101.00")) == cny("0.50")


def test_a_percentage_step_is_never_less_than_one_minor_unit() -> None:
    p = parse_english(params(start_price="0.10", step=None, step_percent="0.01",
                             step_round="down"))
    assert p.step_at(cny("0.10")) == 1


def test_a_reverse_lot_steps_down_by_a_share_of_the_best() -> None:
    lot = opened("a", "b", direction="reverse", step=None, step_percent="2")
    lot.take("a", "100.00")
    assert english.min_next_bid(lot.s, None) == cny("98.00")
    lot.take("b", "98.00")
    # 2 % of 98.00 is 1.96.
    assert english.min_next_bid(lot.s, None) == cny("96.04")


def test_tiers_may_mix_amounts_and_percentages_by_price() -> None:
    steps = [{"from": "0", "step": "10.00"}, {"from": "200.00", "percent": "10"}]
    lot = opened("a", "b", step=None, steps=steps)
    lot.bids(("a", "100.00"), ("b", "200.00"))
    assert english.min_next_bid(lot.s, None) == cny("220.00")
    lot.refuse_bid("a", "210.00", "not_improving")
    lot.bids(("a", "220.00"))
    assert english.min_next_bid(lot.s, None) == cny("242.00")


def test_the_jump_guard_counts_percentage_steps_at_the_best() -> None:
    lot = opened("a", "b", step=None, step_percent="10", max_jump_steps=2)
    lot.take("a", "100.00")
    lot.refuse_bid("b", "130.00", "jump_too_large")
    lot.take("b", "120.00")


def test_the_views_show_a_percentage_step_and_its_rounding() -> None:
    lot = opened("a", step=None, steps=[{"from": "0", "percent": "1.25"},
                                        {"from": "500.00", "step": "5.00"}],
                 step_round="down")
    shown = public_params(lot.s.params)
    assert shown["steps"] == [{"from": "0.00", "percent": "1.25"},
                              {"from": "500.00", "step": "5.00"}]
    assert shown["step_round"] == "down"
    lot.take("a", "100.00")
    assert snapshot(lot.s, "public")["next_min"] == "101.25"


def test_a_lot_with_amount_steps_shows_no_rounding() -> None:
    shown = public_params(parse_english(params()))
    assert "step_round" not in shown and "extend_on" not in shown


@pytest.mark.parametrize("value", ["0", "0.00", "100.0001", "101", "1.23456", "-1", "1e1",
                                   " 1", 1, 1.5, True])
def test_a_percentage_that_is_not_above_zero_and_at_most_100_is_refused(value: object) -> None:
    refused(params(step=None, step_percent=value), "step_percent", "step_percent must be")


def test_exactly_one_of_step_step_percent_and_steps_is_given() -> None:
    refused(params(step_percent="1"), "step", "exactly one of step, step_percent and steps")


def test_a_tier_needs_exactly_one_of_step_and_percent() -> None:
    refused(params(step=None, steps=[{"from": "0", "step": "1.00", "percent": "1"}]),
            "steps", "one of step and percent")


def test_step_round_belongs_to_percentage_steps() -> None:
    refused(params(step_round="down"), "step_round", "percentage steps")


def test_a_percentage_step_replays_to_the_same_state() -> None:
    lot = opened("a", "b", step=None, step_percent="3.3333", step_round="half_up")
    lot.bids(("a", "100.00"), ("b", "103.33"), ("a", "106.77"))
    assert replay(lot.events) == lot.s


def test_a_listing_lot_may_step_by_a_percentage() -> None:
    lot = listed("a", "b", step=None, step_percent="10")
    lot.take("a", "100.00")
    lot.refuse_bid("b", "105.00", "not_improving")
    lot.take("b", "110.00")
    lot.refuse_bid("a", "130.00", "off_step")  # 10 % of 110.00 is 11.00
    lot.take("a", "121.00")


def test_a_listing_lot_takes_exactly_one_of_step_and_step_percent() -> None:
    from auction.listing_timed import parse

    from .listing_support import listing
    with pytest.raises(InvalidParams, match="exactly one of step and step_percent"):
        parse(listing(step_percent="1"))
    with pytest.raises(InvalidParams, match="percentage steps"):
        parse(listing(step_round="down"))
    assert parse(listing(step=None, step_percent="1", step_round="down")).step_round == "down"


# --------------------------------------------------------------------------- extend_on

WINDOW = {"extend_window_s": 30, "extend_s": 60}
LATE = T0 + MINUTE - 10 * SECOND


def soft(mode: str, **overrides: Any) -> Lot:
    return opened("a", "b", "c", extend_on=mode, **WINDOW, **overrides)


def test_by_default_any_bid_in_the_window_extends_the_close() -> None:
    lot = opened("a", "b", **WINDOW, improve="own")
    lot.take("a", "200.00")
    assert kinds(lot.take("b", "100.00", at=LATE)) == ["BidAccepted", "CloseExtended"]


def test_under_leader_change_a_bid_that_takes_the_lead_extends_the_close() -> None:
    lot = soft("leader_change")
    lot.take("a", "100.00")
    assert kinds(lot.take("b", "110.00", at=LATE)) == ["BidAccepted", "CloseExtended"]
    assert lot.s.closes_at == LATE + MINUTE


def test_under_leader_change_the_leader_raising_its_own_bid_does_not_extend() -> None:
    lot = soft("leader_change", improve="own")
    lot.take("a", "100.00")
    assert kinds(lot.take("a", "110.00", at=LATE)) == ["BidAccepted"]
    assert lot.s.closes_at == T0 + MINUTE


def test_under_rank_1_the_leader_raising_its_own_bid_extends() -> None:
    lot = soft("rank_1", improve="own")
    lot.take("a", "100.00")
    assert kinds(lot.take("a", "110.00", at=LATE)) == ["BidAccepted", "CloseExtended"]


@pytest.mark.parametrize("mode", ["leader_change", "rank_1"])
def test_a_bid_far_behind_the_best_does_not_stretch_the_auction(mode: str) -> None:
    lot = soft(mode, improve="own")
    lot.take("a", "300.00")
    lot.take("b", "100.00")
    assert kinds(lot.take("b", "110.00", at=LATE)) == ["BidAccepted"]
    assert kinds(lot.take("c", "100.00", at=LATE)) == ["BidAccepted"]
    assert lot.s.closes_at == T0 + MINUTE


@pytest.mark.parametrize("mode", ["leader_change", "rank_1"])
def test_the_first_bid_in_the_window_extends_under_every_mode(mode: str) -> None:
    lot = soft(mode)
    assert kinds(lot.take("a", "100.00", at=LATE)) == ["BidAccepted", "CloseExtended"]


def test_a_proxy_bid_that_takes_the_lead_extends_under_leader_change() -> None:
    lot = soft("leader_change", proxy=True)
    assert kinds(lot.accept(Act(bidder_id="a", act="proxy", amount=cny("150.00")), LATE)) == [
        "ProxySet", "BidAccepted", "CloseExtended"]


def test_extend_on_needs_a_soft_close() -> None:
    refused(params(extend_on="rank_1"), "extend_on", "applies to a soft close")


def test_the_views_show_extend_on_when_it_is_not_any() -> None:
    assert public_params(parse_english(params(extend_on="rank_1", **WINDOW)))[
        "extend_on"] == "rank_1"
