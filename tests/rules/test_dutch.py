"""The ``dutch`` format of RULES.md: a descending (forward) or ascending (reverse) clock;
the first eligible bidder to accept wins at the price in force when its acceptance is
sequenced; the floor (ceiling) reached with no taker fails the lot."""

import pytest

from auction.clock import ClockStepped
from auction.errors import InvalidParams
from auction.formats import FORMATS
from auction.lot import next_deadline
from auction.model import SYSTEM, Act, LotAwarded, LotClosed, LotFailed, PlaceBid, Rejection
from auction.state import AWARDED, FAILED, OPEN, PAUSED
from auction.views import snapshot

from .clock_support import SECOND, ClockLot, dutch, dutch_params
from .support import T0, cny, kinds

TICK = 10 * SECOND


# --------------------------------------------------------------------------- parameters


def test_dutch_parameters_are_the_start_price_step_tick_and_floor() -> None:
    p = FORMATS["dutch"].parse(dutch_params())
    assert (p.start_price, p.tiers[0].step, p.options.tick_s, p.options.limit) == (
        10000, 1000, 10, 6000)
    assert p.options.public(2) == {"tick_s": 10, "floor": "60.00"}


def test_a_reverse_dutch_clock_has_a_ceiling_not_a_floor() -> None:
    p = FORMATS["dutch"].parse(dutch_params(direction="reverse", floor=None, ceiling="140.00"))
    assert p.options.public(2) == {"tick_s": 10, "ceiling": "140.00"}
    assert p.ceiling == cny("140.00")
    with pytest.raises(InvalidParams) as err:
        FORMATS["dutch"].parse(dutch_params(direction="reverse", ceiling="140.00"))
    assert err.value.field == "floor"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"floor": None}, "floor"),
    ({"floor": "100.00"}, "floor"),
    ({"floor": "120.00"}, "floor"),
    ({"direction": "reverse", "floor": None, "ceiling": "90.00"}, "ceiling"),
    ({"tick_s": None}, "tick_s"),
    ({"tick_s": 0}, "tick_s"),
    ({"tick_s": 1.5}, "tick_s"),
    ({"step": None}, "step"),
    ({"start_price": None}, "start_price"),
    ({"step": "0.01", "floor": "0.01", "start_price": "99999.99"}, "step"),
    ({"closes_at": T0}, "closes_at"),
])
def test_invalid_dutch_parameters_are_refused_naming_the_field(
        overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        FORMATS["dutch"].parse(dutch_params(**overrides))
    assert err.value.field == field


# --------------------------------------------------------------------------- the clock


def test_the_price_falls_one_step_every_tick_from_the_opening() -> None:
    lot = dutch("a")
    assert lot.s.closes_at == T0 + 5 * TICK  # levels 100, 90, 80, 70, 60
    assert next_deadline(lot.s) == T0 + TICK
    assert lot.tick(T0 + TICK) == [ClockStepped(at=T0 + TICK, actor=SYSTEM, level=1,
                                                amount=cny("90.00"))]
    assert next_deadline(lot.s) == T0 + 2 * TICK
    assert snapshot(lot.s, "public")["play"]["price"] == "90.00"


def test_a_late_tick_steps_straight_to_the_level_in_force() -> None:
    lot = dutch("a")
    assert lot.tick(T0 + 3 * TICK + 5)[0] == ClockStepped(
        at=T0 + 3 * TICK + 5, actor=SYSTEM, level=3, amount=cny("70.00"))


def test_the_first_acceptance_wins_at_the_price_in_force_when_it_is_sequenced() -> None:
    lot = dutch("a", "b")
    at = T0 + 2 * TICK + 1  # level 2: 80.00, though no tick recorded the step yet
    events = lot.act("b", "accept", at)
    assert kinds(events) == ["BidAccepted", "LotClosed", "LotAwarded"]
    assert events[2] == LotAwarded(at=at, actor=SYSTEM, bidder_id="b", bidder_no="Nb",
                                   amount=cny("80.00"))
    assert lot.s.status == AWARDED
    lot.refuse_act("a", "accept", "closed", at)


def test_the_price_comes_from_the_server_clock_not_from_the_client() -> None:
    lot = dutch("a")
    events = lot.accept(Act(bidder_id="a", act="accept", amount=cny("100.00")),
                        T0 + 4 * TICK)
    assert events[-1].amount == cny("60.00")  # type: ignore[attr-defined]


def test_a_price_bid_equal_to_the_price_in_force_is_an_acceptance() -> None:
    lot = dutch("a")
    lot.refuse_bid("a", "100.00", "not_price_in_force", T0 + TICK)
    lot.refuse(PlaceBid(bidder_id="a", amount=0), "invalid_amount", T0 + TICK)
    events = lot.take("a", "90.00", T0 + TICK)
    assert isinstance(events[-1], LotAwarded) and events[-1].amount == cny("90.00")


def test_a_dutch_clock_knows_no_other_action() -> None:
    lot = dutch("a")
    lot.refuse_act("a", "stay", "not_supported")


def test_only_an_eligible_bidder_can_accept() -> None:
    lot = ClockLot("dutch", dutch_params())
    lot.register("a", deposit=None)
    lot.open()
    lot.refuse_act("a", "accept", "deposit_missing")
    lot.refuse_act("ghost", "accept", "not_eligible")


def test_the_floor_reached_with_no_taker_fails_the_lot_after_its_tick() -> None:
    lot = dutch("a")
    lot.tick(T0 + 4 * TICK)
    assert snapshot(lot.s, "public")["play"]["price"] == "60.00"
    assert next_deadline(lot.s) == T0 + 5 * TICK
    # the floor's own tick still takes an acceptance
    assert decide_accepts(lot, T0 + 5 * TICK - 1)
    events = lot.tick(T0 + 5 * TICK)
    assert events == [LotClosed(at=T0 + 5 * TICK, actor=SYSTEM, closes_at=T0 + 5 * TICK),
                      LotFailed(at=T0 + 5 * TICK, actor=SYSTEM, reason="no_taker")]
    assert lot.s.status == FAILED


def decide_accepts(lot: ClockLot, at: int) -> bool:
    from auction.lot import decide
    return isinstance(decide(lot.s, Act(bidder_id="a", act="accept"), at), list)


def test_an_acceptance_at_the_close_instant_is_refused() -> None:
    lot = dutch("a")
    lot.refuse_act("a", "accept", "closed", T0 + 5 * TICK)


def test_a_floor_off_the_step_grid_is_the_last_price() -> None:
    lot = dutch("a", floor="65.00")  # 100, 90, 80, 70, 65
    assert lot.s.closes_at == T0 + 5 * TICK
    assert lot.act("a", "accept", T0 + 4 * TICK)[-1].amount == cny("65.00")  # type: ignore[attr-defined]


def test_a_reverse_clock_rises_to_its_ceiling() -> None:
    lot = dutch("a", direction="reverse", floor=None, ceiling="130.00")
    assert lot.tick(T0 + TICK)[0].amount == cny("110.00")  # type: ignore[attr-defined]
    assert lot.act("a", "accept", T0 + 3 * TICK)[-1].amount == cny("130.00")  # type: ignore[attr-defined]


def test_a_reverse_clock_with_no_taker_fails_at_its_ceiling() -> None:
    lot = dutch("a", direction="reverse", floor=None, ceiling="130.00")
    assert kinds(lot.tick(T0 + 4 * TICK)) == ["LotClosed", "LotFailed"]


def test_the_clock_starts_when_the_lot_actually_opens() -> None:
    lot = ClockLot("dutch", dutch_params(opens_at=T0 + 5 * SECOND))
    lot.register("a")
    from auction.model import ScheduleLot
    lot.accept(ScheduleLot(actor="staff:host"))
    lot.tick(T0 + 7 * SECOND)  # the timer fired late
    assert lot.s.status == OPEN and lot.s.play.origin == T0 + 7 * SECOND
    assert lot.s.closes_at == T0 + 7 * SECOND + 5 * TICK


# --------------------------------------------------------------------------- pause


def test_pausing_stops_the_clock_and_resuming_shifts_it_by_the_paused_time() -> None:
    lot = dutch("a")
    lot.tick(T0 + TICK)
    lot.pause(T0 + 15 * SECOND)  # at 90.00, 5 s left on the level
    assert lot.s.status == PAUSED
    lot.refuse_act("a", "accept", "paused", T0 + 50 * SECOND)
    lot.resume(T0 + 75 * SECOND)  # paused for 60 s
    assert lot.s.play.origin == T0 + 60 * SECOND
    assert lot.s.closes_at == T0 + 110 * SECOND
    assert next_deadline(lot.s) == T0 + 80 * SECOND
    assert lot.act("a", "accept", T0 + 79 * SECOND)[-1].amount == cny("90.00")  # type: ignore[attr-defined]


def test_a_staff_extension_lengthens_the_last_level() -> None:
    lot = dutch("a")
    lot.tick(T0 + 4 * TICK)
    lot.extend(T0 + 7 * TICK)
    assert next_deadline(lot.s) == T0 + 7 * TICK
    assert lot.act("a", "accept", T0 + 6 * TICK)[-1].amount == cny("60.00")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- views


def test_every_audience_sees_the_clock() -> None:
    lot = dutch("a")
    lot.tick(T0 + TICK)
    for audience, who in (("public", None), ("bidder", "a"), ("staff", None)):
        play = snapshot(lot.s, audience, who)["play"]
        assert play == {"clock": "dutch", "level": 1, "levels": 5, "price": "90.00",
                        "step": "10.00", "tick_s": 10, "limit": "60.00", "origin": T0,
                        "next_at": T0 + 2 * TICK}


def test_a_scheduled_lot_shows_the_start_price_and_no_clock_yet() -> None:
    lot = ClockLot("dutch", dutch_params())
    play = snapshot(lot.s, "public")["play"]
    assert (play["price"], play["origin"], play["next_at"]) == ("100.00", None, None)


def test_the_clock_steps_show_in_the_event_stream_with_decimal_prices() -> None:
    from auction.record import seal
    from auction.views import redact
    lot = dutch("a")
    lot.tick(T0 + TICK)
    record = seal("lot-1", len(lot.events), "0" * 64, [lot.events[-1]])[0]
    assert redact(lot.s, record, "public")["amount"] == "90.00"
    assert redact(lot.s, record, "staff")["level"] == 1


# --------------------------------------------------------------------------- the plug-in


def test_an_action_without_a_name_is_refused_before_the_clock_judges_it() -> None:
    lot = dutch("a")
    lot.refuse(Act(bidder_id="a", act=""), "invalid_params")


def test_a_record_creating_a_clock_lot_with_invalid_parameters_does_not_replay() -> None:
    from auction.errors import RecordError
    from auction.lot import evolve
    from auction.model import LotCreated

    created = LotCreated(at=T0, actor="staff:host", lot_id="x", session_id="s",
                         format="dutch", title="t", params=dutch_params(floor=None))
    with pytest.raises(RecordError, match="invalid parameters: floor is required"):
        evolve(None, created)
    with pytest.raises(RecordError, match="unknown format"):
        evolve(None, LotCreated(at=T0, actor="staff:host", lot_id="x", session_id="s",
                                format="auction-by-candle", title="t", params={}))


def test_a_format_that_does_not_define_price_bids_refuses_them_as_not_supported() -> None:
    from auction.formats import Format
    from auction.params import EnglishParams

    class ActionsOnly(Format):
        name = "actions_only"

        def parse(self, raw: object) -> EnglishParams:
            return FORMATS["dutch"].parse(raw)

        def tick(self, state, now, cmd):  # type: ignore[no-untyped-def]
            return []

    lot = dutch("a")
    decision = ActionsOnly().bid(lot.s, lot.s.bidders["a"],
                                 PlaceBid(bidder_id="a", amount=cny("100.00")), T0)
    assert decision == Rejection("not_supported", "a actions_only lot takes no price bids")
