"""The ``multi_round`` format (RULES.md): sealed pre-bids, rounds of turns from the worst
to the best adjusted price, pauses, exact coefficients, the lowest adjusted price wins."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auction.errors import InvalidAmount, InvalidParams, RecordError
from auction.formats import FORMATS, withheld
from auction.lot import decide, evolve, next_deadline, replay
from auction.model import (
    Act,
    BidAccepted,
    CloseExtended,
    CreateLot,
    LotAwarded,
    LotCreated,
    LotFailed,
    PlaceBid,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.multi_round import (
    MultiRoundOptions,
    RoundEnded,
    RoundStarted,
    TurnEnded,
    TurnStarted,
    parse_multi_round,
)
from auction.params import public_params
from auction.record import Recorded
from auction.views import redact, snapshot

from .rounds_support import FIRST, PAUSE, TURN, Rounds, entered, rounds_params, started
from .support import HOST, T0, cny, code_of, kinds

FMT = FORMATS["multi_round"]


def opts(params: dict[str, Any]) -> MultiRoundOptions:
    options: MultiRoundOptions = parse_multi_round(params).options
    return options


# --------------------------------------------------------------------------- parameters


def test_the_defaults_are_three_rounds_of_two_minute_turns_after_a_five_minute_pause() -> None:
    p = parse_multi_round(rounds_params())
    assert p.direction == "reverse"
    assert opts(rounds_params()) == MultiRoundOptions(
        rounds=3, turn_s=120, first_pause_s=300, pause_s=120, step=cny("1.00"))


def test_the_host_sets_rounds_turns_pauses_step_and_coefficients() -> None:
    o = opts(rounds_params(rounds=2, turn_s=60, first_pause_s=600, pause_s=30, step="5.00",
                           coefficients={"b": "0.05", "a": "0"}))
    assert (o.rounds, o.turn_s, o.first_pause_s, o.pause_s, o.step) == (2, 60, 600, 30, 500)
    assert o.coefficients == (("a", "0"), ("b", "0.05"))


@pytest.mark.parametrize(("params", "field"), [
    ({"direction": "forward"}, "direction"),
    ({"step": None}, "step"),
    ({"rounds": 0}, "rounds"),
    ({"turn_s": 0}, "turn_s"),
    ({"pause_s": "120"}, "pause_s"),
    ({"coefficients": ["a"]}, "coefficients"),
    ({"coefficients": {"a": 0.05}}, "coefficients"),
    ({"coefficients": {"a": "-0.05"}}, "coefficients"),
    ({"coefficients": {"a": "1e-2"}}, "coefficients"),
    ({"coefficients": {"a": "0.1234567"}}, "coefficients"),
    ({"closes_at": T0}, "closes_at"),
    ({"ceiling": "0.001"}, "ceiling"),
])
def test_parameters_out_of_the_rules_are_refused_naming_the_field(
        params: dict[str, Any], field: str) -> None:
    with pytest.raises((InvalidParams, InvalidAmount)) as error:
        parse_multi_round(rounds_params(**params))
    assert error.value.field == field


def test_the_public_parameters_never_name_a_bidder_id() -> None:
    p = parse_multi_round(rounds_params(coefficients={"secret-co": "0.10"}))
    shown = public_params(p)
    assert "secret-co" not in repr(shown)
    assert shown["options"] == {"rounds": 3, "turn_s": 120, "first_pause_s": 300,
                                "pause_s": 120, "step": "1.00", "has_coefficients": True,
                                "sealing": "server", "reveal_s": 0}


def test_a_multi_round_lot_is_created_through_the_rules() -> None:
    lot = Rounds()
    assert lot.s.format == "multi_round" and lot.s.play is None
    assert lot.s.params.ceiling == cny("1000.00")


def test_a_lot_without_a_ceiling_takes_any_initial_price() -> None:
    lot = Rounds(ceiling=None).open("a")
    lot.take("a", "123456.78")


# --------------------------------------------------------------------------- pre-bids


def test_pre_bids_are_taken_from_the_opening_until_the_first_pause_ends() -> None:
    lot = Rounds().open("a", "b")
    assert lot.s.play.phase == "prebid" and lot.s.play.ends_at == T0 + FIRST
    lot.take("a", "900.00", at=T0)
    lot.take("b", "950.00", at=T0 + FIRST - 1)
    assert lot.s.play.entrants == ["a", "b"]


def test_the_first_pause_counts_from_the_lots_opens_at() -> None:
    lot = Rounds(opens_at=T0)
    lot.register("a")
    lot.accept(ScheduleLot(actor=HOST))
    lot.tick(at=T0 + 5000)
    assert lot.s.play.ends_at == T0 + FIRST


def test_a_bidder_enters_one_initial_bid_only() -> None:
    lot = entered(("a", "900.00"))
    lot.refuse_bid("a", "800.00", "revision_limit")


def test_an_initial_bid_above_the_ceiling_is_refused() -> None:
    lot = Rounds().open("a")
    lot.refuse_bid("a", "1000.01", "above_ceiling")
    lot.take("a", "1000.00")


@pytest.mark.parametrize("amount", [0, -100, True])
def test_an_amount_that_is_not_a_positive_whole_number_of_minor_units_is_refused(
        amount: int) -> None:
    lot = Rounds().open("a")
    lot.refuse(PlaceBid(bidder_id="a", amount=amount), "invalid_amount")


def test_pre_bids_are_hidden_from_everybody_but_their_bidder_staff_included() -> None:
    lot = entered(("a", "900.00"), ("b", "950.00"))
    for audience, who in (("public", None), ("staff", None), ("bidder", "b")):
        view = snapshot(lot.s, audience, who)
        shown = repr(view)
        assert "900.00" not in shown, audience
        assert view["play"]["entrants"] == 2 and view["play"]["table"] == []
        assert view["best"] is None and view["leader_no"] is None
    staff = snapshot(lot.s, "staff")
    assert [r["last_bid"] for r in staff["register"]] == [None, None]
    own = snapshot(lot.s, "bidder", "a")
    assert own["play"]["you"]["price"] == "900.00" and own["play"]["you"]["entered"]


def test_a_pre_bid_event_shows_its_price_to_its_bidder_only() -> None:
    lot = entered(("a", "900.00"))
    record = Recorded("lot-1", len(lot.events), lot.events[-1], "0" * 64)
    assert isinstance(record.event, BidAccepted)
    assert redact(lot.s, record, "bidder", "a")["amount"] == "900.00"
    assert "amount" not in redact(lot.s, record, "bidder", "b")
    assert redact(lot.s, record, "public") == {"seq": record.seq, "type": "BidAccepted",
                                               "at": record.event.at}
    staff = redact(lot.s, record, "staff")
    assert "amount" not in staff and staff["bidder_id"] == "a"


def test_a_lot_without_a_pre_bid_fails_when_the_first_pause_ends() -> None:
    lot = Rounds().open("a")
    assert lot.s.closes_at == T0 + FIRST
    lot.refuse_bid("a", "900.00", "closed", at=T0 + FIRST)
    assert kinds(lot.to_next_phase()) == ["LotClosed", "LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


# --------------------------------------------------------------------------- round 1


def test_round_one_reveals_the_pre_bids_under_bidder_numbers_only() -> None:
    lot = entered(("a", "900.00"), ("b", "950.00"), ("c", "920.00"))
    events = lot.to_next_phase()
    assert kinds(events) == ["RoundStarted", "TurnStarted"]
    start = events[0]
    assert isinstance(start, RoundStarted)
    assert start.order == ["Nb", "Nc", "Na"]
    assert start.prices == [cny("950.00"), cny("920.00"), cny("900.00")]
    view = snapshot(lot.s, "public")["play"]
    assert [(r["bidder_no"], r["price"]) for r in view["table"]] == [
        ("Na", "900.00"), ("Nc", "920.00"), ("Nb", "950.00")]
    assert "'a'" not in repr(view) and "bidder_id" not in repr(view)
    assert snapshot(lot.s, "public")["best"] == "900.00"


def test_turns_go_from_the_worst_to_the_best_price() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), ("c", "920.00"))
    assert lot.turn_no() == "Nb"
    lot.to_next_phase()
    assert lot.turn_no() == "Nc"
    lot.to_next_phase()
    assert lot.turn_no() == "Na"


def test_of_equal_prices_the_later_one_takes_its_turn_first() -> None:
    lot = started(("a", "900.00"), ("b", "900.00"))
    assert lot.s.play.order == ["b", "a"]


def test_each_round_orders_the_turns_by_the_prices_at_its_start() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.take("b", "800.00")  # b's turn: now the best
    lot.to_next_phase()
    lot.to_next_phase()  # a's turn ends, round 1 ends
    assert lot.s.play.phase == "pause"
    events = lot.to_next_phase()
    assert isinstance(events[0], RoundStarted) and events[0].order == ["Na", "Nb"]


# --------------------------------------------------------------------------- turns


def test_only_the_bidder_in_turn_may_bid() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    assert lot.in_turn() == "b"
    lot.refuse_bid("a", "800.00", "not_your_turn")
    lot.take("b", "800.00")


def test_a_bidder_without_an_initial_bid_takes_no_turn() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.register("z")
    lot.refuse_bid("z", "100.00", "prebid_closed")


def test_in_its_turn_a_bidder_must_lower_its_own_price_by_at_least_a_step() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), step="10.00")
    lot.refuse_bid("b", "940.01", "not_improving")
    lot.refuse_bid("b", "950.00", "not_improving")
    lot.take("b", "940.00")


def test_the_step_counts_from_the_price_at_the_turns_start_and_the_last_bid_counts() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), step="10.00")
    lot.take("b", "800.00")
    lot.take("b", "930.00")  # still at least a step below 950.00: it replaces 800.00
    events = lot.to_next_phase()
    ended = events[0]
    assert isinstance(ended, TurnEnded)
    assert (ended.bidder_no, ended.amount, ended.price) == ("Nb", cny("930.00"), cny("930.00"))


def test_a_turn_bid_is_revealed_when_the_turn_ends_not_before() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.take("b", "850.00")
    bid = Recorded("lot-1", len(lot.events), lot.events[-1], "0" * 64)
    for audience, who in (("public", None), ("staff", None), ("bidder", "a")):
        view = snapshot(lot.s, audience, who)
        assert "850.00" not in repr(view), audience
        assert "amount" not in redact(lot.s, bid, audience, who)
    assert snapshot(lot.s, "bidder", "b")["play"]["you"]["price"] == "850.00"
    assert snapshot(lot.s, "bidder", "b")["play"]["you"]["revealed"] == "950.00"
    events = lot.to_next_phase()
    assert isinstance(events[0], TurnEnded) and events[0].amount == cny("850.00")
    shown = redact(lot.s, Recorded("lot-1", lot.s.version - 1, events[0], "0" * 64), "public")
    assert shown["amount"] == "850.00" and shown["price"] == "850.00"
    table = snapshot(lot.s, "public")["play"]["table"]
    assert table[0]["bidder_no"] == "Nb" and table[0]["price"] == "850.00"


def test_a_turn_without_a_bid_ends_with_no_amount_and_the_price_kept() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    ended = lot.to_next_phase()[0]
    assert isinstance(ended, TurnEnded)
    assert (ended.amount, ended.price) == (None, cny("950.00"))


def test_a_turn_lasts_its_full_time_even_after_a_bid() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.take("b", "850.00")
    assert lot.tick(at=T0 + FIRST + TURN - 1) == []
    lot.take("b", "849.00", at=T0 + FIRST + TURN - 1)
    lot.refuse_bid("b", "848.00", "not_your_turn", at=T0 + FIRST + TURN)


def test_the_deadline_is_the_end_of_the_current_turn_or_pause() -> None:
    lot = entered(("a", "900.00"), ("b", "950.00"))
    assert next_deadline(lot.s) == T0 + FIRST
    lot.to_next_phase()
    assert next_deadline(lot.s) == T0 + FIRST + TURN
    lot.to_next_phase()
    assert next_deadline(lot.s) == T0 + FIRST + 2 * TURN
    lot.to_next_phase()
    assert lot.s.play.phase == "pause"
    assert next_deadline(lot.s) == T0 + FIRST + 2 * TURN + PAUSE


def test_nobody_bids_during_a_pause_between_rounds() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.to_next_phase()
    lot.to_next_phase()
    assert lot.s.play.phase == "pause"
    lot.refuse_bid("a", "800.00", "not_your_turn")
    lot.refuse_bid("b", "800.00", "not_your_turn")


def test_the_closing_time_is_the_end_of_the_last_turn_of_the_last_round() -> None:
    lot = entered(("a", "900.00"), ("b", "950.00"), rounds=2)
    assert lot.s.closes_at == T0 + FIRST + 2 * 2 * TURN + PAUSE
    lot.register("c")  # a third entrant makes every round longer
    lot.take("c", "990.00")
    assert lot.s.closes_at == T0 + FIRST + 2 * 3 * TURN + PAUSE


def test_a_rounds_events_are_recorded_in_order() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), rounds=2)
    lot.now = lot.s.closes_at
    assert kinds(lot.tick()) == [
        "TurnEnded", "TurnStarted", "TurnEnded", "RoundEnded",
        "RoundStarted", "TurnStarted", "TurnEnded", "TurnStarted", "TurnEnded", "RoundEnded",
        "LotClosed", "LotAwarded"]


# --------------------------------------------------------------------------- the winner


def test_the_lowest_price_after_the_last_round_wins_at_its_own_price() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), ("c", "920.00"), rounds=1)
    lot.take("b", "899.00")
    lot.to_next_phase()
    lot.take("c", "880.00")
    lot.to_next_phase()
    events = lot.to_next_phase()
    assert kinds(events) == ["TurnEnded", "RoundEnded", "LotClosed", "LotAwarded"]
    award = events[-1]
    assert isinstance(award, LotAwarded)
    assert (award.bidder_id, award.bidder_no, award.amount) == ("c", "Nc", cny("880.00"))


def test_of_equal_final_prices_the_one_reached_first_wins() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), rounds=1)
    lot.take("b", "900.00")
    lot.now = lot.s.closes_at
    award = lot.tick()[-1]
    assert isinstance(award, LotAwarded) and award.bidder_id == "a"


def test_a_single_entrant_wins_at_its_own_price_after_its_turns() -> None:
    lot = started(("a", "900.00"), rounds=2)
    lot.take("a", "850.00")
    lot.now = lot.s.closes_at
    award = lot.tick()[-1]
    assert isinstance(award, LotAwarded) and award.amount == cny("850.00")


# --------------------------------------------------------------------------- coefficients


def test_with_coefficients_prices_compare_as_price_over_one_plus_coefficient() -> None:
    # 1000.00 / 1.25 = 800.00 beats 900.00 / 1 = 900.00
    lot = started(("a", "900.00"), ("b", "1000.00"), rounds=1, coefficients={"b": "0.25"})
    assert lot.s.play.order == ["a", "b"]
    lot.now = lot.s.closes_at
    award = lot.tick()[-1]
    assert isinstance(award, LotAwarded)
    assert (award.bidder_id, award.amount) == ("b", cny("1000.00"))


def test_adjusted_prices_are_compared_exactly_never_as_floats() -> None:
    # 110.00 / 1.1 is exactly 100.00 (as floats 100.00000000000001): a tie, and the
    # earlier price wins.
    lot = started(("a", "100.00"), ("b", "110.00"), rounds=1, coefficients={"b": "0.1"})
    assert lot.s.play.order == ["b", "a"]
    lot.now = lot.s.closes_at
    award = lot.tick()[-1]
    assert isinstance(award, LotAwarded) and award.bidder_id == "a"
    lot = started(("b", "110.00"), ("a", "100.00"), rounds=1, coefficients={"b": "0.1"})
    lot.now = lot.s.closes_at
    award = lot.tick()[-1]
    assert isinstance(award, LotAwarded) and award.bidder_id == "b"


def test_every_view_shows_price_coefficient_and_adjusted_price_side_by_side() -> None:
    lot = started(("a", "900.00"), ("b", "1000.00"), coefficients={"b": "0.03"})
    for audience, who in (("public", None), ("staff", None), ("bidder", "a")):
        rows = snapshot(lot.s, audience, who)["play"]["table"]
        assert rows == [
            {"rank": 1, "bidder_no": "Na", "price": "900.00", "coefficient": "0",
             "adjusted": "900.00", "you": who == "a"},
            {"rank": 2, "bidder_no": "Nb", "price": "1000.00", "coefficient": "0.03",
             "adjusted": "970.87", "you": False},
        ]


def test_a_coefficient_for_an_id_nobody_registered_changes_nothing() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), coefficients={"ghost": "5"})
    assert lot.s.play.order == ["b", "a"]


# --------------------------------------------------------------------------- the clock


def test_pausing_stops_the_turn_and_resuming_adds_the_paused_time_to_every_deadline() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    closes = lot.s.closes_at
    assert closes is not None
    lot.pause(at=T0 + FIRST + 10_000)
    lot.refuse_bid("b", "800.00", "paused")
    assert lot.tick(at=T0 + FIRST + TURN + 50_000) == []
    lot.resume(at=T0 + FIRST + 70_000)
    assert lot.s.play.ends_at == T0 + FIRST + TURN + 60_000
    assert lot.s.closes_at == closes + 60_000
    lot.take("b", "800.00", at=T0 + FIRST + TURN + 59_999)
    lot.to_next_phase()
    assert lot.s.play.ends_at == T0 + FIRST + 2 * TURN + 60_000


def test_a_pause_after_a_due_but_unticked_turn_end_only_moves_the_later_ends() -> None:
    def run(tick_first: bool) -> Rounds:
        lot = started(("a", "900.00"), ("b", "950.00"))
        if tick_first:
            lot.tick(at=T0 + FIRST + TURN + 5_000)
        lot.pause(at=T0 + FIRST + TURN + 10_000)
        lot.resume(at=T0 + FIRST + TURN + 40_000)
        lot.tick(at=T0 + FIRST + TURN + 41_000)
        return lot

    early, late = run(True), run(False)
    assert early.s.play.ends_at == late.s.play.ends_at == T0 + FIRST + 2 * TURN + 30_000
    assert early.s.closes_at == late.s.closes_at
    assert late.s.play.holds == []


def test_a_staff_extension_lengthens_the_current_phase_and_moves_the_later_ones() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    closes = lot.s.closes_at
    assert closes is not None
    assert isinstance(lot.extend(closes + 30_000, at=T0 + FIRST + 1000), list)
    assert lot.s.play.ends_at == T0 + FIRST + TURN + 30_000
    assert lot.s.closes_at == closes + 30_000


def test_a_staff_extension_during_a_pause_of_the_lot_counts_from_the_pause() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    closes = lot.s.closes_at
    assert closes is not None
    lot.pause(at=T0 + FIRST + TURN + 1000)  # the turn end is due, not ticked
    lot.extend(closes + 5_000, at=T0 + FIRST + TURN + 2000)
    lot.resume(at=T0 + FIRST + TURN + 3000)
    assert lot.s.closes_at == closes + 7_000
    lot.tick(at=T0 + FIRST + TURN + 3000)
    assert lot.s.play.ends_at == T0 + FIRST + 2 * TURN + 7_000


def test_a_bid_after_an_unticked_turn_end_is_judged_in_the_turn_in_force() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    late = T0 + FIRST + TURN + 500  # a's turn; the tick of b's turn end has not run
    lot.refuse_bid("b", "800.00", "not_your_turn", at=late)
    events = lot.take("a", "850.00", at=late)
    assert kinds(events) == ["TurnEnded", "TurnStarted", "BidAccepted"]
    assert all(e.at == late for e in events)
    assert lot.tick(at=late) == []


def test_a_bid_at_the_instant_its_turn_ends_is_refused() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.refuse_bid("b", "800.00", "not_your_turn", at=T0 + FIRST + TURN)


def test_a_bid_at_the_lots_closing_instant_is_refused() -> None:
    lot = started(("a", "900.00"), rounds=1)
    assert lot.s.closes_at == T0 + FIRST + TURN
    lot.refuse_bid("a", "800.00", "closed", at=T0 + FIRST + TURN)


def test_a_tick_before_any_deadline_does_nothing() -> None:
    lot = entered(("a", "900.00"))
    assert lot.tick(at=T0 + FIRST - 1) == []


def test_a_late_tick_records_every_phase_end_it_missed_at_once() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    events = lot.tick(at=T0 + FIRST + 2 * TURN + PAUSE + 1)
    assert kinds(events) == ["TurnEnded", "TurnStarted", "TurnEnded", "RoundEnded",
                             "RoundStarted", "TurnStarted"]
    started_turn = events[-1]
    assert isinstance(started_turn, TurnStarted)
    assert started_turn.ends_at == T0 + FIRST + 3 * TURN + PAUSE
    ended = events[3]
    assert isinstance(ended, RoundEnded) and ended.next_at == T0 + FIRST + 2 * TURN + PAUSE


def test_a_cancelled_lot_shows_its_phase_as_done() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.take("b", "800.00")
    lot.cancel()
    view = snapshot(lot.s, "public")
    assert view["play"]["phase"] == "done" and view["play"]["turn_no"] is None
    for audience in ("public", "staff"):
        assert "800.00" not in repr(snapshot(lot.s, audience))


# --------------------------------------------------------------------------- views


def test_the_play_view_tells_round_phase_whose_turn_and_when_it_ends() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    play = snapshot(lot.s, "public")["play"]
    assert {k: play[k] for k in ("round", "rounds", "phase", "turn_no", "turn_ends_at",
                                 "order", "entrants")} == {
        "round": 1, "rounds": 3, "phase": "turn", "turn_no": "Nb",
        "turn_ends_at": T0 + FIRST + TURN, "order": ["Nb", "Na"], "entrants": 2}


def test_the_bidder_in_turn_is_told_the_highest_price_it_may_bid() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), step="10.00")
    you = snapshot(lot.s, "bidder", "b")["you"]
    assert you["next_min"] == "940.00"
    play = snapshot(lot.s, "bidder", "b")["play"]["you"]
    assert play["in_turn"] and play["max_bid"] == "940.00"
    other = snapshot(lot.s, "bidder", "a")
    assert other["you"]["next_min"] is None and not other["play"]["you"]["in_turn"]


def test_before_the_opening_the_play_view_has_no_phase() -> None:
    lot = Rounds()
    lot.register("a")
    view = snapshot(lot.s, "bidder", "a")
    assert view["play"]["phase"] is None and view["play"]["you"]["entered"] is False
    assert snapshot(lot.s, "public")["play"]["you"] is None
    assert FMT.min_next_bid(lot.s, lot.s.bidders["a"]) is None


def test_during_the_pre_bids_a_bidder_may_bid_up_to_the_ceiling() -> None:
    lot = Rounds().open("a")
    assert snapshot(lot.s, "bidder", "a")["you"]["next_min"] == "1000.00"
    assert FMT.min_next_bid(lot.s, None) is None


def test_staff_see_the_revealed_prices_only_until_the_lot_ends() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), rounds=1)
    lot.take("b", "850.00")
    staff = snapshot(lot.s, "staff")
    assert {r["bidder_id"]: r["last_bid"] for r in staff["register"]} == {
        "a": "900.00", "b": "950.00"}
    assert staff["ranking"] == ["Na", "Nb"] and staff["best"] == "900.00"
    lot.now = lot.s.closes_at
    lot.tick()
    staff = snapshot(lot.s, "staff")
    assert staff["best"] == "850.00" and staff["outcome"]["bidder_no"] == "Nb"
    bid = next(i for i, e in enumerate(lot.events)
               if isinstance(e, BidAccepted) and e.amount == cny("850.00"))
    shown = redact(lot.s, Recorded("lot-1", bid + 1, lot.events[bid], "0" * 64), "staff")
    assert shown["amount"] == "850.00"


def test_round_and_turn_events_need_no_hiding() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    turn = lot.events[-1]
    assert isinstance(turn, TurnStarted)
    shown = redact(lot.s, Recorded("lot-1", lot.s.version, turn, "0" * 64), "public")
    assert shown["bidder_no"] == "Nb"


# --------------------------------------------------------------------------- the record


def test_replaying_the_record_reproduces_the_state() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), ("c", "920.00"),
                  coefficients={"c": "0.02"})
    lot.take("b", "890.00")
    lot.pause(at=T0 + FIRST + 5000)
    lot.resume(at=T0 + FIRST + 9000)
    lot.now = T0 + FIRST + TURN + 4000 + 10
    lot.take("c", "850.00")
    lot.now = lot.s.closes_at
    lot.tick()
    assert replay(lot.events) == lot.s
    assert lot.s.status == "awarded"


def test_the_format_names_the_command_of_its_decisions() -> None:
    assert FMT.command_of(RoundStarted(at=0, actor="system", round=1, order=[], prices=[])) \
        == Tick()
    assert FMT.command_of(TurnEnded(at=0, actor="system", round=1, bidder_no="1", amount=None,
                                    price=1)) == Tick()
    assert FMT.command_of(TurnStarted(at=0, actor="system", round=1, bidder_no="1",
                                      ends_at=1)) is None
    assert FMT.command_of(CloseExtended(at=0, actor="system", closes_at=1, reason="")) is None


def test_the_lot_opens_and_fails_by_itself_when_nobody_enters() -> None:
    lot = Rounds(opens_at=T0)
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "too_early", at=T0 - 1)
    lot.tick(at=T0)
    events = lot.tick(at=T0 + FIRST)
    assert isinstance(events[-1], LotFailed)


def test_a_lot_created_with_unknown_parameters_is_refused() -> None:
    decision = decide(None, CreateLot(lot_id="lot-2", session_id="s", format="multi_round",
                                      title="x", params={"step": "1.00", "bogus": 1},
                                      actor=HOST), T0)
    assert code_of(decision) == "invalid_params"


def test_a_pause_after_two_unticked_phase_ends_moves_only_what_ends_after_it() -> None:
    def run(tick_first: bool) -> Rounds:
        lot = started(("a", "900.00"), ("b", "950.00"))
        if tick_first:
            lot.tick(at=T0 + FIRST + 2 * TURN + 500)
        lot.pause(at=T0 + FIRST + 2 * TURN + 1000)  # both turns of round 1 have ended
        lot.resume(at=T0 + FIRST + 2 * TURN + 11_000)
        lot.tick(at=T0 + FIRST + 2 * TURN + 11_000)
        return lot

    early, late = run(True), run(False)
    assert early.s.play.phase == late.s.play.phase == "pause"
    assert early.s.play.ends_at == late.s.play.ends_at == T0 + FIRST + 2 * TURN + PAUSE + 10_000
    assert early.s.closes_at == late.s.closes_at


def test_the_revealed_prices_of_a_round_start_travel_as_decimal_strings() -> None:
    lot = entered(("a", "900.00"), ("b", "950.50"))
    start = lot.to_next_phase()[0]
    shown = redact(lot.s, Recorded("lot-1", lot.s.version - 1, start, "0" * 64), "public")
    assert shown == {"seq": lot.s.version - 1, "type": "RoundStarted", "at": start.at,
                     "round": 1, "order": ["Nb", "Na"], "prices": ["950.50", "900.00"]}


def test_a_multi_round_lot_takes_no_bidder_action_but_bids() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"))
    lot.refuse(Act(bidder_id="b", act="confirm"), "not_supported")
    lot.refuse(Act(bidder_id="b", act=" "), "invalid_params")


def test_a_record_whose_lot_parameters_are_not_valid_cannot_be_replayed() -> None:
    created = LotCreated(at=T0, actor=HOST, lot_id="lot-9", session_id="s",
                         format="multi_round", title="x", params={"step": "-1"})
    with pytest.raises(RecordError, match="invalid parameters: step"):
        evolve(None, created)
    with pytest.raises(RecordError, match="unknown format"):
        evolve(None, replace(created, format="vickrey"))


def test_the_raw_record_is_withheld_from_staff_reads_until_the_lot_has_ended() -> None:
    lot = started(("a", "900.00"), ("b", "950.00"), rounds=1)
    assert withheld(lot.s)  # initial bids and the turn in progress are in the record
    for _ in range(3):
        lot.to_next_phase()
    assert lot.s.status == "awarded" and not withheld(lot.s)
