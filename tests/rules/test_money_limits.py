"""Money has one maximum that every layer holds (auction/money.py): no command, parameter
or derived price may leave it, no view advertises a price that cannot be bid, and the jump
guard is on by default (#12)."""

from __future__ import annotations

from typing import Any

import pytest

from auction import english as english_format
from auction.clock import LevelAdvanced
from auction.errors import InvalidAmount
from auction.lot import decide
from auction.model import (
    Act,
    ConfirmDeposit,
    CreateLot,
    LotAwarded,
    PlaceBid,
    Rejection,
)
from auction.money import AMOUNT_PATTERN, MAX_MINOR, max_minor, parse_amount
from auction.views import BIDDER, PUBLIC, bidder_view, snapshot

from .clock_support import SECOND, dutch_params, japanese, japanese_params
from .listing_support import listed, listing
from .rounds_support import rounds_params, started
from .support import HOST, T0, Lot, cny, english, kinds, opened

#: The hostile amounts of #12: above 2**64 minor units, and one digit above the maximum.
HOSTILE = ["184467440737095520.00", "1000000000000000.00", "9999999999999999"]
TOP = "999999999999999.99"


def own(lot: Lot, bidder_id: str) -> dict[str, Any]:
    """The bidder's own standing (its next acceptable price)."""
    you = bidder_view(lot.s, bidder_id)
    assert you is not None
    return you


def test_the_money_maximum_is_fifteen_whole_digits_and_fits_every_store() -> None:
    assert parse_amount(TOP) == max_minor(2) == MAX_MINOR == 10**17 - 1
    assert parse_amount("999999999999999", 0) == max_minor(0)
    assert MAX_MINOR < 2**53 * 16 < 2**63  # SQLite, Postgres bigint, orjson, Redis, JSON
    import re
    pattern = re.compile(AMOUNT_PATTERN)
    for good in (TOP, "1", "0.01", "0.5", "1250000.00"):
        assert pattern.fullmatch(good), good
    for bad in (*HOSTILE, "0", "0.00", "01", "1.005", "-1", "1e5", ""):
        assert not pattern.fullmatch(bad), bad


@pytest.mark.parametrize("text", HOSTILE)
def test_a_bid_above_the_money_maximum_is_refused_as_invalid_amount(text: str) -> None:
    with pytest.raises(InvalidAmount, match="above the maximum"):
        parse_amount(text)
    # The rules refuse it too, whatever sends it (sealed lots have no grid to stop it).
    minor = int(text.split(".")[0]) * 100
    lot = opened("a", "b", start_price="1000.00", step="10.00")
    lot.refuse(PlaceBid(bidder_id="a", amount=minor), "invalid_amount")
    sealed = Lot.__new__(Lot)
    sealed.now, sealed.state, sealed.events = T0, None, []
    sealed.accept(CreateLot(lot_id="lot-1", session_id="s-1", format="sealed", title="密封",
                            params={"closes_at": T0 + 60_000, "deposit": "50.00"},
                            actor=HOST))
    sealed.open("a")
    sealed.refuse(PlaceBid(bidder_id="a", amount=minor), "invalid_amount")
    sealed.refuse(PlaceBid(bidder_id="a", amount=2**64), "invalid_amount")


AMOUNT_PARAMS: list[tuple[str, dict[str, Any], str]] = [
    ("english", english(start_price="{}"), "start_price"),
    ("english", english(step="{}"), "step"),
    ("english", english(step=None, steps=[{"from": "0", "step": "1.00"},
                                          {"from": "{}", "step": "2.00"}]), "from"),
    ("english", english(step=None, steps=[{"from": "0", "step": "{}"}]), "step"),
    ("english", english(reserve="{}"), "reserve"),
    ("english", english(direction="reverse", ceiling="{}"), "ceiling"),
    ("english", english(deposit="{}"), "deposit"),
    ("listing_timed", listing(cap="{}"), "cap"),
    ("listing_timed", listing(cap="200.00", cap_rule="secondary",
                              secondary={"start": "{}", "step": "1.00"}), "start"),
    ("listing_timed", listing(cap="200.00", cap_rule="secondary",
                              secondary={"start": "1.00", "step": "{}"}), "step"),
    ("sealed", {"closes_at": T0 + 60_000, "start_price": "{}"}, "start_price"),
    ("sealed", {"closes_at": T0 + 60_000, "direction": "reverse", "ceiling": "{}"},
     "ceiling"),
    ("dutch", dutch_params(start_price="{}"), "start_price"),
    ("dutch", dutch_params(direction="reverse", floor=None, ceiling="{}"), "ceiling"),
    ("japanese", japanese_params(step="{}"), "step"),
    ("multi_round", rounds_params(ceiling="{}"), "ceiling"),
    ("multi_round", rounds_params(step="{}"), "step"),
]


def _fill(value: Any, text: str) -> Any:
    if value == "{}":
        return text
    if isinstance(value, dict):
        return {k: _fill(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, text) for v in value]
    return value


@pytest.mark.parametrize(("fmt", "params", "field"), AMOUNT_PARAMS)
def test_every_amount_parameter_above_the_maximum_is_refused_as_invalid_amount(
        fmt: str, params: dict[str, Any], field: str) -> None:
    for text in HOSTILE:
        decision = decide(None, CreateLot(lot_id="x", session_id="s", format=fmt, title="t",
                                          params=_fill(params, text), actor=HOST), T0)
        assert isinstance(decision, Rejection), (fmt, field, text)
        assert decision.code == "invalid_amount" and field in decision.detail, decision


def test_a_deposit_above_the_maximum_is_refused_as_invalid_amount() -> None:
    lot = Lot(english())
    lot.register("a", deposit=None)
    for amount in (max_minor(2) + 1, 2**64, 2**70):
        lot.refuse(ConfirmDeposit(bidder_id="a", amount=amount, account="x", actor=HOST),
                   "invalid_amount")
    lot.accept(ConfirmDeposit(bidder_id="a", amount=max_minor(2), account="x", actor=HOST))


def test_a_proxy_maximum_above_the_maximum_is_refused_as_invalid_amount() -> None:
    lot = opened("a", "b", proxy=True, start_price="999999999999000.00", step="100.00")
    lot.refuse(Act(bidder_id="a", act="proxy", amount=2**64), "invalid_amount")
    lot.refuse(Act(bidder_id="a", act="proxy", amount=max_minor(2) + 1), "invalid_amount")
    lot.accept(Act(bidder_id="a", act="proxy", amount=max_minor(2)))
    # Its automatic bids stop at the last grid price within the maximum.
    lot.take("b", "999999999999900.00")
    assert lot.s.best == cny("999999999999900.00") and lot.s.leader == "b"


# ------------------------------------------------------------ derived prices


def test_a_lot_whose_next_price_would_pass_the_maximum_advertises_none_and_refuses_bids(
        ) -> None:
    lot = opened("a", "b", start_price="999999999999990.00", step="10.00")
    assert snapshot(lot.s, PUBLIC)["next_min"] == "999999999999990.00"
    lot.take("a", "999999999999990.00")
    view = snapshot(lot.s, PUBLIC)
    assert view["best"] == "999999999999990.00" and view["next_min"] is None
    assert own(lot, "b")["next_min"] is None
    assert english_format.min_next_bid(lot.s, lot.s.bidders["b"]) is None
    lot.refuse_bid("b", "999999999999999.99", "not_improving")
    lot.refuse(PlaceBid(bidder_id="b", amount=max_minor(2) + 1000), "invalid_amount")


def test_a_single_huge_bid_can_no_longer_stop_a_lot() -> None:
    """#12: one bid of "999999999999999990.00" made the next price one nobody could bid."""
    lot = opened("a", "b", start_price="1000.00", step="10.00", max_jump_steps=0)
    lot.refuse(PlaceBid(bidder_id="a", amount=99999999999999999000), "invalid_amount")
    lot.take("a", "999999999999990.00")  # the guard is off: the largest grid price
    assert snapshot(lot.s, PUBLIC)["next_min"] is None


def test_a_reverse_lot_whose_next_price_would_be_zero_advertises_none() -> None:
    lot = opened("a", "b", direction="reverse", start_price="100.00", step="10.00",
                 max_jump_steps=0)
    lot.take("a", "10.00")
    assert snapshot(lot.s, PUBLIC)["next_min"] is None
    assert own(lot, "b")["next_min"] is None


def test_a_proxy_cannot_be_left_when_no_price_can_beat_the_best() -> None:
    lot = opened("a", "b", proxy=True, start_price="999999999999990.00", step="10.00")
    lot.take("a", "999999999999990.00")
    lot.refuse(Act(bidder_id="b", act="proxy", amount=max_minor(2)), "not_improving")


def test_a_listing_lot_at_the_maximum_advertises_its_cap_or_nothing() -> None:
    lot = listed("a", "b", start_price="999999999999990.00", step="10.00",
                 cap="999999999999995.00")
    lot.take("a", "999999999999990.00")
    assert snapshot(lot.s, PUBLIC)["next_min"] == "999999999999995.00"
    plain = listed("a", "b", start_price="999999999999990.00", step="10.00")
    plain.take("a", "999999999999990.00")
    assert snapshot(plain.s, PUBLIC)["next_min"] is None


def test_a_secondary_quantity_at_the_maximum_advertises_no_next_quantity() -> None:
    lot = listed("a", "b", cap="200.00", cap_rule="secondary",
                 secondary={"start": "999999999999999.00", "step": "1.00", "unit": "m²"})
    lot.take("a", "200.00")
    lot.act("b", "secondary", "999999999999999.00")
    sec = snapshot(lot.s, PUBLIC)["play"]["secondary"]
    assert sec["best"] == "999999999999999.00" and sec["next_min"] is None
    lot.refuse(Act(bidder_id="a", act="secondary", amount=max_minor(2) + 99),
               "invalid_amount")


def test_a_japanese_clock_that_would_pass_the_maximum_ends_at_its_level() -> None:
    lot = japanese("a", "b", start_price="999999999999990.00", step="10.00")
    lot.act("a", "stay", T0 + SECOND)
    lot.act("b", "stay", T0 + 2 * SECOND)
    events = lot.tick(T0 + 10 * SECOND)
    assert not any(isinstance(e, LevelAdvanced) for e in events)
    awarded = events[-1]
    assert isinstance(awarded, LotAwarded)
    assert (awarded.bidder_id, awarded.amount) == ("a", cny("999999999999990.00"))


def test_a_multi_round_bidder_whose_price_is_one_step_shows_no_next_price() -> None:
    lot = started(("a", "1.00"), ("b", "5.00"), step="1.00")
    while lot.in_turn() != "a":
        lot.to_next_phase()
    view = snapshot(lot.s, BIDDER, "a")
    assert view["you"]["next_min"] is None and view["play"]["you"]["max_bid"] is None


# ------------------------------------------------------------ ceiling below the start


def test_a_reverse_lot_whose_ceiling_is_below_its_start_price_is_refused() -> None:
    """Such a lot advertised the start price and refused it as above_ceiling (#12)."""
    decision = decide(None, CreateLot(
        lot_id="x", session_id="s", format="english", title="t", actor=HOST,
        params=english(direction="reverse", start_price="100.00", ceiling="80.00")), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_params"
    assert "ceiling" in decision.detail


# ------------------------------------------------------------ the jump guard


def test_the_jump_guard_is_on_by_default_and_refuses_a_bid_of_45_steps() -> None:
    lot = opened("a", "b")
    assert snapshot(lot.s, PUBLIC)["params"]["max_jump_steps"] == 20
    lot.take("a", "100.00")
    lot.refuse_bid("b", "550.00", "jump_too_large")  # 45 steps past the best
    lot.refuse_bid("b", "310.00", "jump_too_large")  # 21
    lot.take("b", "300.00")  # 20


def test_a_lot_may_allow_larger_jumps_or_switch_the_guard_off_with_zero() -> None:
    wide = opened("a", "b", max_jump_steps=50)
    wide.take("a", "100.00")
    wide.take("b", "550.00")
    off = opened("a", "b", max_jump_steps=0)
    assert snapshot(off.s, PUBLIC)["params"]["max_jump_steps"] is None
    off.take("a", "100.00")
    off.take("b", "999999999999990.00")


def test_a_listing_lot_has_the_jump_guard_too() -> None:
    lot = listed("a", "b")
    lot.take("a", "100.00")
    lot.refuse_bid("b", "550.00", "jump_too_large")
    assert kinds(lot.take("b", "300.00")) == ["BidAccepted"]
    off = listed("a", "b", max_jump_steps=0)
    off.take("a", "100.00")
    off.take("b", "550.00")


def test_the_jump_guard_never_refuses_the_bidders_own_next_acceptable_price() -> None:
    # improve own, tiered steps: the bidder's own next price lies more steps (of the best's
    # tier) past the best than the guard allows; it is still acceptable, as advertised.
    lot = opened("a", "b", direction="reverse", improve="own", max_jump_steps=1, step=None,
                 steps=[{"from": "0", "step": "1.00"}, {"from": "50.00", "step": "4.00"}],
                 start_price="60.00", step_multiple=False)
    lot.bids(("a", "60.00"), ("a", "56.00"), ("a", "52.00"), ("a", "48.00"))
    lot.bids(("b", "60.00"), ("b", "50.00"))
    assert own(lot, "b")["next_min"] == "46.00"  # two 1.00 steps past the best of 48.00
    lot.refuse_bid("b", "45.00", "jump_too_large")
    lot.take("b", "46.00")
