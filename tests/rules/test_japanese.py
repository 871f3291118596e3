"""The ``japanese`` format of RULES.md: a clock with drop-out. Each tick moves the price a
step against the bidders; a bidder must confirm each level within its tick or is out for
good; one left wins at that level; all remaining dropping in the same tick are tied at the
previous level (``tie_rule``: earliest or a verifiable lottery)."""

import pytest

from auction.clock import BidderDropped, LevelAdvanced
from auction.draw import commitment, draw
from auction.errors import InvalidParams
from auction.formats import FORMATS
from auction.lot import decide, next_deadline
from auction.model import (
    SYSTEM,
    DrawCommitted,
    LotAwarded,
    LotDrawn,
    LotFailed,
    PlaceBid,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.record import seal
from auction.state import AWARDED, CANCELLED, FAILED, OPEN
from auction.views import redact, snapshot

from .clock_support import SECOND, SEED, ClockLot, japanese, japanese_params
from .support import HOST, T0, cny, kinds

TICK = 10 * SECOND


def stay(lot: ClockLot, at: int, *bidders: str) -> None:
    for bidder in bidders:
        lot.act(bidder, "stay", at)


# --------------------------------------------------------------------------- parameters


def test_japanese_parameters_are_the_start_price_step_tick_and_tie_rule() -> None:
    p = FORMATS["japanese"].parse(japanese_params(tie_rule="lottery"))
    assert (p.start_price, p.tiers[0].step, p.options.tick_s) == (10000, 1000, 10)
    assert p.options.public(2) == {"tick_s": 10, "tie_rule": "lottery"}
    assert FORMATS["japanese"].parse(japanese_params()).options.tie_rule == "earliest"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"tie_rule": "coin"}, "tie_rule"),
    ({"tick_s": None}, "tick_s"),
    ({"floor": "1.00"}, "floor"),
    ({"step": None}, "step"),
])
def test_invalid_japanese_parameters_are_refused_naming_the_field(
        overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        FORMATS["japanese"].parse(japanese_params(**overrides))
    assert err.value.field == field


# --------------------------------------------------------------------------- levels


def test_each_tick_moves_the_price_one_step_up_for_the_bidders_who_confirmed() -> None:
    lot = japanese("a", "b", "c")
    assert next_deadline(lot.s) == T0 + TICK
    stay(lot, T0 + SECOND, "a", "b", "c")
    assert lot.tick(T0 + TICK) == [LevelAdvanced(
        at=T0 + TICK, actor=SYSTEM, level=1, amount=cny("110.00"), closes_at=T0 + 2 * TICK,
        remaining=3, dropped=[])]
    assert next_deadline(lot.s) == T0 + 2 * TICK


def test_a_confirmation_is_recorded_as_a_bid_at_the_level_price() -> None:
    lot = japanese("a", "b")
    events = lot.act("a", "stay", T0 + SECOND)
    assert kinds(events) == ["BidAccepted"]
    assert events[0].amount == cny("100.00")  # type: ignore[attr-defined]
    lot.refuse_act("a", "stay", "already_confirmed", T0 + 2 * SECOND)


def test_a_price_bid_equal_to_the_level_price_confirms_it() -> None:
    lot = japanese("a", "b")
    lot.refuse_bid("a", "110.00", "not_price_in_force", T0 + SECOND)
    lot.refuse(PlaceBid(bidder_id="a", amount=-5), "invalid_amount", T0 + SECOND)
    assert kinds(lot.take("a", "100.00", T0 + SECOND)) == ["BidAccepted"]


def test_a_bidder_who_does_not_confirm_within_the_tick_is_out_for_good() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "a", "b")
    assert lot.tick(T0 + TICK)[0].dropped == ["Nc"]  # type: ignore[attr-defined]
    lot.refuse_act("c", "stay", "out_of_clock", T0 + TICK + 1)
    lot.refuse_act("c", "drop", "out_of_clock", T0 + TICK + 1)


def test_a_bidder_may_drop_explicitly_and_is_then_out() -> None:
    lot = japanese("a", "b", "c")
    events = lot.act("c", "drop", T0 + SECOND)
    assert events == [BidderDropped(at=T0 + SECOND, actor="Nc", bidder_id="c",
                                    bidder_no="Nc", level=0)]
    lot.refuse_act("c", "stay", "out_of_clock", T0 + 2 * SECOND)


def test_a_confirmed_bidder_is_committed_to_the_level_and_cannot_drop_in_it() -> None:
    lot = japanese("a", "b")
    lot.act("a", "stay", T0 + SECOND)
    lot.refuse_act("a", "drop", "already_confirmed", T0 + 2 * SECOND)


def test_a_japanese_clock_knows_no_other_action() -> None:
    lot = japanese("a", "b")
    lot.refuse_act("a", "accept", "not_supported")


def test_only_eligible_bidders_are_in_at_the_start() -> None:
    lot = ClockLot("japanese", japanese_params())
    lot.register("a")
    lot.register("x", deposit=None)
    lot.open()
    lot.refuse_act("x", "stay", "deposit_missing", T0 + SECOND)
    assert snapshot(lot.s, "public")["play"]["in_count"] == 1


def test_a_bidder_made_eligible_during_the_first_level_may_still_confirm_it() -> None:
    lot = japanese("a")
    lot.register("late")
    stay(lot, T0 + 5 * SECOND, "a", "late")
    assert kinds(lot.tick(T0 + TICK)) == ["LevelAdvanced"]


def test_after_the_first_level_only_those_who_confirmed_it_are_in() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a", "b")
    lot.tick(T0 + TICK)
    lot.register("late")
    lot.refuse_act("late", "stay", "out_of_clock", T0 + TICK + 1)


# --------------------------------------------------------------------------- endings


def test_the_last_bidder_left_wins_at_the_level_it_confirmed() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "a", "b", "c")
    lot.tick(T0 + TICK)
    stay(lot, T0 + TICK + SECOND, "a", "b")
    lot.tick(T0 + 2 * TICK)
    lot.act("a", "drop", T0 + 2 * TICK + SECOND)
    stay(lot, T0 + 2 * TICK + SECOND, "b")
    events = lot.tick(T0 + 3 * TICK)
    assert kinds(events) == ["LotClosed", "LotAwarded"]
    assert events[1] == LotAwarded(at=T0 + 3 * TICK, actor=SYSTEM, bidder_id="b",
                                   bidder_no="Nb", amount=cny("120.00"))
    assert lot.s.status == AWARDED


def test_a_single_bidder_confirming_the_start_level_wins_at_the_start_price() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a")
    assert lot.tick(T0 + TICK)[-1].amount == cny("100.00")  # type: ignore[attr-defined]


def test_nobody_ever_in_fails_the_lot() -> None:
    lot = japanese("a", "b")
    events = lot.tick(T0 + TICK)
    assert events[-1] == LotFailed(at=T0 + TICK, actor=SYSTEM, reason="no_bidders")
    assert lot.s.status == FAILED


def test_all_remaining_dropping_in_one_tick_go_to_the_earliest_at_the_previous_level(
        ) -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "c", "a", "b")  # c confirmed 100.00 first
    lot.tick(T0 + TICK)
    lot.act("a", "drop", T0 + TICK + SECOND)  # nobody confirms 110.00
    events = lot.tick(T0 + 2 * TICK)
    assert kinds(events) == ["LotClosed", "LotAwarded"]
    assert events[1] == LotAwarded(at=T0 + 2 * TICK, actor=SYSTEM, bidder_id="c",
                                   bidder_no="Nc", amount=cny("100.00"))


def test_with_the_lottery_tie_rule_the_winner_is_drawn_verifiably_among_them() -> None:
    lot = japanese("a", "b", "c", tie_rule="lottery")
    assert lot.events[-1] == DrawCommitted(at=T0, actor=HOST, seed_hash=commitment(SEED))
    stay(lot, T0 + SECOND, "a", "b", "c")
    lot.tick(T0 + TICK)
    stay(lot, T0 + TICK + SECOND, "a", "b", "c")
    lot.tick(T0 + 2 * TICK)
    events = lot.tick(T0 + 3 * TICK)
    candidates, index, winner = draw(SEED, "lot-1", ["Na", "Nb", "Nc"])
    assert events[1] == LotDrawn(at=T0 + 3 * TICK, actor=SYSTEM, purpose="tie", seed=SEED,
                                 candidates=candidates, index=index, winner_no=winner)
    assert events[2] == LotAwarded(at=T0 + 3 * TICK, actor=SYSTEM,
                                   bidder_id=lot.s.numbers[winner], bidder_no=winner,
                                   amount=cny("110.00"))


def test_the_draw_is_refused_with_a_seed_that_does_not_match_the_commitment() -> None:
    lot = japanese("a", "b", tie_rule="lottery")
    stay(lot, T0 + SECOND, "a", "b")
    lot.tick(T0 + TICK)
    lot.refuse(Tick(seed="another seed"), "draw_unavailable", T0 + 2 * TICK)
    lot.refuse(Tick(), "draw_unavailable", T0 + 2 * TICK)


def test_a_lottery_lot_does_not_open_without_a_draw_commitment() -> None:
    lot = ClockLot("japanese", japanese_params(tie_rule="lottery"))
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "draw_unavailable")
    timed = ClockLot("japanese", japanese_params(tie_rule="lottery", opens_at=T0 + SECOND))
    timed.accept(ScheduleLot(actor=HOST))
    assert kinds(timed.accept(Tick(), T0 + SECOND)) == ["LotCancelled"]
    assert timed.s.status == CANCELLED


def test_a_reverse_clock_falls_and_the_last_bidder_wins_at_its_level() -> None:
    lot = japanese("a", "b", direction="reverse")
    stay(lot, T0 + SECOND, "a", "b")
    assert lot.tick(T0 + TICK)[0].amount == cny("90.00")  # type: ignore[attr-defined]
    stay(lot, T0 + TICK + SECOND, "b")
    assert lot.tick(T0 + 2 * TICK)[-1].amount == cny("90.00")  # type: ignore[attr-defined]


def test_a_reverse_clock_that_cannot_go_lower_ties_those_who_confirmed_its_last_level(
        ) -> None:
    lot = japanese("a", "b", direction="reverse", start_price="20.00")
    stay(lot, T0 + SECOND, "a", "b")
    lot.tick(T0 + TICK)  # 10.00: the next level would be 0
    stay(lot, T0 + TICK + SECOND, "b", "a")
    events = lot.tick(T0 + 2 * TICK)
    assert events[-1] == LotAwarded(at=T0 + 2 * TICK, actor=SYSTEM, bidder_id="b",
                                    bidder_no="Nb", amount=cny("10.00"))


# --------------------------------------------------------------------------- time


def test_a_confirmation_after_the_tick_is_due_counts_for_the_next_level() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a", "b")
    events = lot.act("a", "stay", T0 + TICK + 5)  # the timer has not fired yet
    assert kinds(events) == ["LevelAdvanced", "BidAccepted"]
    assert events[1].amount == cny("110.00")  # type: ignore[attr-defined]
    assert decide(lot.s, Tick(), T0 + TICK + 6) == []


def test_a_drop_after_the_tick_is_due_counts_for_the_next_level() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "a", "b", "c")
    assert kinds(lot.act("c", "drop", T0 + TICK)) == ["LevelAdvanced", "BidderDropped"]


def test_an_action_after_a_due_tick_that_ends_the_lot_is_refused() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a")
    lot.refuse_act("b", "stay", "closed", T0 + TICK)
    lot.refuse_act("a", "stay", "closed", T0 + TICK)


def test_an_action_a_whole_tick_after_a_due_tick_is_refused() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a", "b")
    lot.refuse_act("a", "stay", "closed", T0 + 2 * TICK)


def test_pausing_stops_the_tick_and_resuming_shifts_it() -> None:
    lot = japanese("a", "b")
    lot.pause(T0 + 4 * SECOND)
    lot.refuse_act("a", "stay", "paused", T0 + 20 * SECOND)
    lot.resume(T0 + 64 * SECOND)
    assert next_deadline(lot.s) == T0 + 70 * SECOND
    stay(lot, T0 + 69 * SECOND, "a", "b")
    assert lot.tick(T0 + 70 * SECOND)[0].closes_at == T0 + 80 * SECOND  # type: ignore[attr-defined]


def test_a_staff_extension_lengthens_the_current_level() -> None:
    lot = japanese("a", "b")
    lot.extend(T0 + 2 * TICK)
    stay(lot, T0 + TICK + 1, "a", "b")
    assert lot.tick(T0 + 2 * TICK)[0].closes_at == T0 + 3 * TICK  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- views


def test_the_public_sees_the_clock_and_how_many_are_in_but_not_who() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "b", "a", "c")
    lot.tick(T0 + TICK)
    stay(lot, T0 + TICK + 1, "a")
    view = snapshot(lot.s, "public")
    assert view["play"] == {
        "clock": "japanese", "level": 1, "price": "110.00", "step": "10.00", "tick_s": 10,
        "tie_rule": "earliest", "next_at": T0 + 2 * TICK, "in_count": 3,
        "confirmed_count": 1}
    assert view["leader_no"] is None


def test_a_bidder_sees_its_own_status_in_confirmed_or_out() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "a", "b")
    assert snapshot(lot.s, "bidder", "a")["play"]["status"] == "confirmed"
    assert snapshot(lot.s, "bidder", "c")["play"]["status"] == "in"
    lot.tick(T0 + TICK)
    assert snapshot(lot.s, "bidder", "a")["play"]["status"] == "in"
    assert snapshot(lot.s, "bidder", "c")["play"]["status"] == "out"
    assert snapshot(lot.s, "bidder", "ghost")["play"]["status"] is None


def test_staff_see_who_is_in_and_who_confirmed() -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "b")
    play = snapshot(lot.s, "staff")["play"]
    assert (play["in"], play["confirmed"]) == (["Na", "Nb", "Nc"], ["Nb"])


def test_before_the_opening_the_clock_shows_its_start_price() -> None:
    lot = ClockLot("japanese", japanese_params())
    play = snapshot(lot.s, "staff")["play"]
    assert (play["price"], play["in_count"], play["confirmed"]) == ("100.00", None, [])


def test_events_show_other_bidders_numbers_only_to_staff() -> None:
    lot = japanese("a", "b", "c")
    lot.act("c", "drop", T0 + SECOND)
    stay(lot, T0 + SECOND, "a", "b")
    lot.tick(T0 + TICK)
    records = seal("lot-1", 1, "0" * 64, lot.events)
    dropped, confirmed, advanced = records[-4], records[-3], records[-1]
    assert redact(lot.s, dropped, "public") == {"seq": dropped.seq, "type": "BidderDropped",
                                                "at": T0 + SECOND, "level": 0}
    assert redact(lot.s, dropped, "bidder", "c")["own"] is True
    assert redact(lot.s, dropped, "staff")["bidder_no"] == "Nc"
    assert "bidder_no" not in redact(lot.s, confirmed, "bidder", "b")
    assert redact(lot.s, confirmed, "bidder", "a")["bidder_no"] == "Na"
    assert redact(lot.s, confirmed, "staff")["bidder_no"] == "Na"
    assert redact(lot.s, advanced, "public")["dropped_count"] == 1
    assert "dropped" not in redact(lot.s, advanced, "public")
    assert redact(lot.s, advanced, "staff")["dropped"] == ["Nc"]
    assert redact(lot.s, records[0], "public")["type"] == "LotCreated"


def test_the_clock_is_shown_ended_once_the_lot_ends() -> None:
    lot = japanese("a", "b")
    stay(lot, T0 + SECOND, "a")
    lot.tick(T0 + TICK)
    play = snapshot(lot.s, "bidder", "a")["play"]
    assert (play["next_at"], play["in_count"], play["status"]) == (None, None, "confirmed")
    assert snapshot(lot.s, "bidder", "b")["play"]["status"] == "out"
    assert lot.s.status != OPEN


def test_no_decision_of_a_japanese_clock_starts_with_another_formats_event() -> None:
    from auction.clock import ClockStepped

    stepped = ClockStepped(at=T0, actor=SYSTEM, level=1, amount=1)
    assert FORMATS["japanese"].command_of(stepped) is None
    assert FORMATS["dutch"].command_of(stepped) == Tick()


def test_a_tick_so_late_that_the_next_level_ran_out_too_records_the_advance_and_the_end(
        ) -> None:
    lot = japanese("a", "b", "c")
    stay(lot, T0 + SECOND, "c", "b")
    events = lot.tick(T0 + 2 * TICK)
    assert kinds(events) == ["LevelAdvanced", "LotClosed", "LotAwarded"]
    assert events[0].dropped == ["Na"]  # type: ignore[attr-defined]
    assert events[2] == LotAwarded(at=T0 + 2 * TICK, actor=SYSTEM, bidder_id="c",
                                   bidder_no="Nc", amount=cny("100.00"))
    assert decide(lot.s, Tick(), T0 + 2 * TICK) == []


def test_a_very_late_tick_draws_the_tie_when_the_rule_is_a_lottery() -> None:
    lot = japanese("a", "b", tie_rule="lottery")
    stay(lot, T0 + SECOND, "a", "b")
    assert kinds(lot.tick(T0 + 3 * TICK)) == ["LevelAdvanced", "LotClosed", "LotDrawn",
                                              "LotAwarded"]
