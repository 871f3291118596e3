"""The lot's rule on a default (the parameter ``on_default``) and the runner-up's deposit:
where a default may offer the runner-up the lot, the runner-up's deposit is held (not due
for refund) until the winner's award is settled, the runner-up is offered the lot, or the
lot is relisted or fails; where the rule relists, nothing is held and no runner-up is
offered. Everything derives from the lot's record."""

from dataclasses import replace

import pytest
from records.sim import HOST, T0, SimLot, cny, params

from auction.default import ChangeAward, parse_policy, runner_up_hold
from auction.errors import InvalidParams
from auction.lot import decide
from auction.model import ApplyDeposit, CreateLot, Rejection
from auction.views import snapshot
from rules.test_default import AFTER, DEFAULT, awarded, refusal, verifies

RELIST = replace(DEFAULT, then="relist", new_lot_id="L-2", start_price=cny("950000.00"))


def hold(lot: SimLot) -> tuple[str | None, int | None]:
    return runner_up_hold(lot.s, lot.events)


def test_the_runner_up_s_deposit_is_held_until_the_winner_s_deposit_goes_to_the_price(
        ) -> None:
    lot = awarded(on_default="runner_up")  # c wins, b is the runner-up, a third
    assert hold(lot) == ("b", None)
    lot.do(ApplyDeposit(bidder_id="c", actor=HOST, reason="成交价款已缴清"), AFTER)
    assert hold(lot) == ("b", AFTER)
    verifies(lot)


def test_a_default_that_offers_the_runner_up_the_lot_ends_the_hold_it_is_the_winner_then(
        ) -> None:
    lot = awarded(on_default="runner_up")
    lot.do(DEFAULT, AFTER)
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "b"
    assert hold(lot) == ("b", AFTER)
    verifies(lot)


def test_a_relisting_ends_the_hold_and_an_annulled_award_holds_nothing() -> None:
    relisted = awarded(on_default="runner_up")
    relisted.do(RELIST, AFTER)
    assert hold(relisted) == ("b", AFTER)
    annulled = awarded(on_default="runner_up")
    annulled.do(ChangeAward(actor=HOST, reason="异议成立", effect="annulled"), AFTER + 5)
    assert hold(annulled) == (None, None)


def test_a_lot_whose_rule_relists_holds_nothing_and_offers_no_runner_up() -> None:
    lot = awarded(on_default="relist")
    assert hold(lot) == (None, None)
    assert refusal(lot, DEFAULT) == "relist_only"
    lot.do(RELIST, AFTER)
    assert lot.s.relisted_as == "L-2"
    verifies(lot)


def test_nothing_is_held_without_the_rule_in_a_reverse_lot_or_with_nobody_to_offer() -> None:
    assert hold(awarded()) == (None, None)
    reverse = awarded(("1020000.00", "1010000.00", "1000000.00"), direction="reverse",
                      start_price="1100000.00", on_default="runner_up")
    assert hold(reverse) == (None, None)
    alone = SimLot("L-1", params(on_default="runner_up"))
    alone.register("a")
    alone.open()
    assert hold(alone) == (None, None)  # not ended: no award yet
    alone.bid("a", "1000000.00", T0 + 1000)
    alone.close()
    assert hold(alone) == (None, None)  # nobody else bid


def test_the_rule_is_a_lot_parameter_shown_with_the_others_and_checked() -> None:
    lot = awarded(on_default="runner_up")
    assert snapshot(lot.s, "public")["params"]["on_default"] == "runner_up"
    assert "on_default" not in snapshot(awarded().s, "public")["params"]
    assert parse_policy({"on_default": "relist", "x": 1}) == ("relist", {"x": 1})
    with pytest.raises(InvalidParams):
        parse_policy({"on_default": "lottery"})
    created = decide(None, CreateLot(
        lot_id="L-9", session_id="S", format="english", title="t",
        params=params(on_default="lottery"), actor=HOST), T0)
    assert isinstance(created, Rejection) and created.code == "invalid_params"


def test_a_multi_unit_lot_holds_no_deposit_for_a_runner_up_offer_it_never_makes() -> None:
    lot = awarded(on_default="runner_up", units=2)  # c and b both win a unit
    assert {a.bidder_id for a in lot.s.outcome.awards} == {"b", "c"}  # type: ignore[union-attr]
    assert hold(lot) == (None, None)
