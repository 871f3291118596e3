"""Parameters of an english lot are parsed strictly: every InvalidParams branch."""

from typing import Any

import pytest

from auction.errors import InvalidAmount, InvalidParams
from auction.lot import decide, replay
from auction.model import CreateLot, LotCreated, Rejection
from auction.params import (
    DEFAULT_MAX_JUMP_STEPS,
    EnglishParams,
    Tier,
    admit_new,
    parse_english,
    public_params,
)

from .support import MINUTE, T0, english


def parse(**overrides: Any) -> EnglishParams:
    return parse_english(english(**overrides))


def refused(raw: object, field: str | None, match: str) -> None:
    with pytest.raises(InvalidParams, match=match) as caught:
        parse_english(raw)
    assert caught.value.field == field
    assert caught.value.code == "invalid_params"


def refused_amount(raw: object, field: str, match: str) -> None:
    with pytest.raises(InvalidAmount, match=match) as caught:
        parse_english(raw)
    assert caught.value.field == field
    assert caught.value.code == "invalid_amount"


def test_the_defaults_are_those_of_the_rules() -> None:
    p = parse_english({"start_price": "100.00", "step": "10.00", "closes_at": T0})
    assert p.direction == "forward"
    assert p.currency == "CNY" and p.decimals == 2
    assert p.deposit == 0
    assert p.step_multiple is True
    assert p.improve == "leader"
    assert p.visibility == "price"
    assert (p.reserve, p.ceiling, p.max_closes_at) == (None,) * 3
    assert p.max_jump_steps == DEFAULT_MAX_JUMP_STEPS == 20
    assert (p.extend_window_s, p.extend_s) == (0, 0)
    assert p.tiers == (Tier(0, 1000),)


def test_amounts_are_parsed_in_the_currency_of_the_lot() -> None:
    p = parse(currency="JPY", start_price="1000", step="100", deposit="500")
    assert (p.decimals, p.start_price, p.tiers[0].step, p.deposit) == (0, 1000, 100, 500)


def test_json_null_means_the_default() -> None:
    assert parse(direction=None).direction == "forward"
    p = parse_english({**english(), "visibility": None, "step_multiple": None})
    assert p.visibility == "price" and p.step_multiple is True


@pytest.mark.parametrize("raw", [None, [], "start_price=1", 5])
def test_params_that_are_not_an_object_are_refused(raw: object) -> None:
    refused(raw, "params", "params must be a JSON object")


def test_an_unknown_parameter_is_refused_by_name() -> None:
    refused(english(revisions=1), "revisions", "unknown parameter 'revisions'")
    mixed: dict[Any, Any] = {**english(), 7: "x"}
    refused(mixed, "7", "unknown parameter '7'")


@pytest.mark.parametrize("key", ["direction", "currency", "improve", "visibility"])
@pytest.mark.parametrize("value", ["sideways", 1, True, ["forward"]])
def test_a_choice_outside_its_list_is_refused(key: str, value: object) -> None:
    refused(english(**{key: value}), key, f"{key} must be one of")


@pytest.mark.parametrize("value", ["true", 1, 0])
def test_step_multiple_must_be_a_boolean(value: object) -> None:
    refused(english(step_multiple=value), "step_multiple", "true or false")


@pytest.mark.parametrize(("key", "value"), [
    ("max_jump_steps", -1), ("max_jump_steps", 1_000_001), ("max_jump_steps", 2.0),
    ("max_jump_steps", True), ("max_jump_steps", "3"), ("opens_at", -1),
    ("opens_at", 10**14 + 1), ("closes_at", 1.5), ("duration_s", 0),
    ("extend_window_s", -1), ("extend_s", 366 * 24 * 3600 + 1), ("max_closes_at", "soon"),
])
def test_a_whole_number_parameter_out_of_type_or_range_is_refused(key: str, value: object
                                                                  ) -> None:
    refused(english(**{key: value}), key, f"{key} must be a whole number")


@pytest.mark.parametrize("key", ["start_price", "reserve", "deposit"])
@pytest.mark.parametrize("value", [100.0, 100, "-1", "1e5", "1.001", "NaN"])
def test_an_amount_parameter_that_is_not_a_decimal_string_is_refused(key: str, value: object
                                                                     ) -> None:
    refused_amount(english(**{key: value}), key, f"{key}: amount")


def test_a_zero_deposit_is_allowed_but_a_zero_price_is_not() -> None:
    assert parse(deposit="0.00").deposit == 0
    refused_amount(english(start_price="0"), "start_price", "greater than zero")
    refused_amount(english(step="0.00"), "step", "greater than zero")
    refused_amount(english(reserve="0"), "reserve", "greater than zero")


def test_the_start_price_is_required() -> None:
    refused(english(start_price=None), "start_price", "start_price is required")


def test_a_ceiling_belongs_to_reverse_lots_and_a_reserve_to_forward_lots() -> None:
    refused(english(ceiling="200.00"), "ceiling", "ceiling applies to reverse")
    refused(english(direction="reverse", reserve="50.00"), "reserve", "reserve applies to forward")
    assert parse(direction="reverse", ceiling="100.00").ceiling == 10000
    assert parse(reserve="500.00").reserve == 50000


def test_exactly_one_of_closes_at_and_duration_is_given() -> None:
    refused(english(closes_at=None), "closes_at", "exactly one of closes_at and duration_s")
    refused(english(duration_s=60), "closes_at", "exactly one of closes_at and duration_s")
    assert parse(closes_at=None, duration_s=60).duration_s == 60


def test_the_lot_must_open_before_it_closes() -> None:
    refused(english(opens_at=T0 + MINUTE), "opens_at", "opens_at must be before closes_at")
    assert parse(opens_at=T0 + MINUTE - 1).opens_at == T0 + MINUTE - 1


def test_max_closes_at_is_not_before_closes_at() -> None:
    refused(english(max_closes_at=T0 + MINUTE - 1), "max_closes_at", "must not be before")
    assert parse(max_closes_at=T0 + MINUTE).max_closes_at == T0 + MINUTE


@pytest.mark.parametrize(("window", "extend"), [(30, None), (None, 60), (30, 0), (0, 60)])
def test_soft_close_needs_both_its_window_and_its_extension(window: int | None,
                                                            extend: int | None) -> None:
    refused(english(extend_window_s=window, extend_s=extend), "extend_s", "go together")


def test_soft_close_takes_a_window_and_an_extension() -> None:
    p = parse(extend_window_s=30, extend_s=60)
    assert (p.extend_window_s, p.extend_s) == (30, 60)


def test_exactly_one_of_step_and_steps_is_given() -> None:
    refused(english(step=None), "step", "exactly one of step, step_percent and steps")
    refused(english(steps=[{"from": "0", "step": "1.00"}]), "step",
            "exactly one of step, step_percent and steps")


def tiered(steps: object) -> dict[str, Any]:
    return english(step=None, steps=steps)


@pytest.mark.parametrize("steps", [[], {}, "10.00", {"from": "0", "step": "1"}])
def test_steps_must_be_a_non_empty_list(steps: object) -> None:
    refused(tiered(steps), "steps", "non-empty list")


@pytest.mark.parametrize("item", ["10.00", ["0", "1.00"], None, 5])
def test_each_of_steps_must_be_an_object(item: object) -> None:
    refused(tiered([item]), "steps", "steps must be a JSON object")


@pytest.mark.parametrize("item", [{"from": "0"}, {"step": "1.00"}])
def test_each_of_steps_needs_from_and_step(item: object) -> None:
    refused(tiered([item]), "steps", "needs from and one of step and percent")


def test_a_tier_with_an_unknown_key_is_refused() -> None:
    refused(tiered([{"from": "0", "step": "1.00", "upto": "5"}]), "upto", "unknown parameter")


def test_a_tier_with_a_bad_amount_is_refused() -> None:
    refused_amount(tiered([{"from": "-1", "step": "1.00"}]), "from", "from: amount")
    refused_amount(tiered([{"from": "0", "step": "0"}]), "step", "step: amount")


def test_tiers_must_be_in_increasing_order_of_from() -> None:
    refused(tiered([{"from": "0", "step": "1.00"}, {"from": "0", "step": "2.00"}]), "steps",
            "increasing order")
    refused(tiered([{"from": "500", "step": "1.00"}, {"from": "100", "step": "2.00"}]),
            "steps", "increasing order")


def test_the_step_in_force_is_that_of_the_highest_tier_reached() -> None:
    p = parse_english(tiered([{"from": "100.00", "step": "1.00"},
                              {"from": "1000.00", "step": "10.00"},
                              {"from": "10000.00", "step": "100.00"}]))
    assert p.tiers[0] == Tier(10000, 100)
    assert p.step_at(5000) == 100  # below every tier: the first tier's step
    assert p.step_at(10000) == 100
    assert p.step_at(99999) == 100
    assert p.step_at(100000) == 1000
    assert p.step_at(10**9) == 10000


def test_the_public_parameters_never_include_the_reserve() -> None:
    p = parse(reserve="1000.00", deposit="20.00", max_jump_steps=5)
    public = public_params(p)
    assert "reserve" not in public and "1000.00" not in repr(public)
    assert public["has_reserve"] is True
    assert public["start_price"] == "100.00"
    assert public["deposit"] == "20.00"
    assert public["steps"] == [{"from": "0.00", "step": "10.00"}]
    assert public["ceiling"] is None
    assert public_params(parse())["has_reserve"] is False


@pytest.mark.parametrize("visibility", ["rank", "blind"])
def test_improve_leader_under_a_visibility_that_hides_the_best_is_refused_as_invalid_params(
        visibility: str) -> None:
    with pytest.raises(InvalidParams, match="improve own") as caught:
        admit_new(parse_english(english(visibility=visibility, improve="leader")))
    assert caught.value.field == "improve" and caught.value.code == "invalid_params"


@pytest.mark.parametrize(("extra", "field"), [
    ({"visibility": "rank", "improve": "leader"}, "improve"),
    ({"direction": "reverse", "start_price": "100.00", "ceiling": "90.00"}, "start_price"),
])
def test_a_lot_recorded_before_a_creation_rule_existed_still_replays(
        extra: dict[str, object], field: str) -> None:
    """Rules that only new lots must pass are checked at creation, not when a record is
    replayed: a record made under the older rules reads back as it was made."""
    params = english(**extra)
    refused_at_creation = decide(None, CreateLot(lot_id="L", session_id="", format="english",
                                                 title="t", params=params, actor="h"), T0)
    assert isinstance(refused_at_creation, Rejection)
    assert refused_at_creation.code == "invalid_params" and field in refused_at_creation.detail
    state = replay([LotCreated(at=T0, actor="h", lot_id="L", session_id="", format="english",
                               title="t", params=params)])
    assert state is not None
    assert public_params(state.params)[field if field == "improve" else "ceiling"] == (
        "leader" if field == "improve" else "90.00")


@pytest.mark.parametrize("visibility", ["rank", "blind"])
def test_a_visibility_that_hides_the_best_makes_bids_improve_the_bidders_own_bid(
        visibility: str) -> None:
    assert parse_english(english(visibility=visibility)).improve == "own"
    assert parse_english(english(visibility="price")).improve == "leader"


def test_public_params_are_made_once_per_parameters_and_kept_boundedly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from auction import params as module

    monkeypatch.setattr(module, "_PUBLIC", {})
    monkeypatch.setattr(module, "PUBLIC_KEPT", 3)
    given = [parse_english({"start_price": f"{100 + i}.00", "step": "1.00",
                            "duration_s": 60}) for i in range(5)]
    first = public_params(given[0])
    assert public_params(given[0]) is first  # the same dict, shared
    assert first["start_price"] == "100.00"
    # Equal parameters that are another object get their own (equal) dict.
    twin = parse_english({"start_price": "100.00", "step": "1.00", "duration_s": 60})
    assert twin == given[0] and twin is not given[0]
    assert public_params(twin) == first and public_params(twin) is not first
    # Past PUBLIC_KEPT the dicts kept are let go; each is made again, the same.
    for p in given[1:]:
        assert public_params(p)["start_price"] == module.format_amount(p.start_price, 2)
    assert len(module._PUBLIC) <= 3
    again = public_params(given[0])
    assert again == first and again is not first
