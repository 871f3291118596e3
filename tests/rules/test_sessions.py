"""Sessions of many lots closing parallel, serial or staggered (RULES.md, Words:
Session): the commands a session needs, decided from its lots' states."""

import pytest

from auction.errors import InvalidParams
from auction.model import ExtendLot, Rejection, ScheduleLot, StartLot
from auction.sessions import (
    PARALLEL,
    SERIAL,
    STAGGER_REASON,
    STAGGERED,
    SessionRules,
    actor_of,
    parse_rules,
    plan,
)
from auction.state import LotState

from .support import HOST, MINUTE, T0, Lot, english, opened

SECOND = 1000


def scheduled(**overrides: object) -> Lot:
    lot = Lot(english(closes_at=None, duration_s=60, **overrides))
    lot.register("a")
    lot.accept(ScheduleLot(actor=HOST))
    return lot


def states(*lots: Lot) -> list[LotState]:
    return [lot.s for lot in lots]


def test_a_session_closes_parallel_by_default_and_needs_nothing() -> None:
    assert parse_rules(None, None) == SessionRules(PARALLEL, 0)
    first, second = opened("a"), scheduled()
    first.tick(at=T0 + MINUTE)
    assert plan("S", SessionRules(), states(first, second)) == []


@pytest.mark.parametrize("mode, stagger, field", [
    ("sideways", None, "mode"), (3, None, "mode"), ("staggered", -1, "stagger_s"),
    ("staggered", True, "stagger_s"), ("staggered", 10**9, "stagger_s"),
    ("parallel", "5", "stagger_s"), ("serial", 1.5, "stagger_s"),
])
def test_bad_session_rules_are_refused_naming_the_field(mode: object, stagger: object,
                                                        field: str) -> None:
    with pytest.raises(InvalidParams) as exc:
        parse_rules(mode, stagger)
    assert exc.value.field == field


def test_good_session_rules_are_taken() -> None:
    assert parse_rules("serial", None) == SessionRules(SERIAL, 0)
    assert parse_rules("staggered", 60) == SessionRules(STAGGERED, 60)
    assert parse_rules("staggered", None) == SessionRules(STAGGERED, 0)
    assert parse_rules("serial", 5) == SessionRules(SERIAL, 0)  # only staggered uses it


def test_serial_starts_the_next_lot_when_the_one_before_has_ended() -> None:
    first, second, third = opened("a"), scheduled(), scheduled()
    rules = SessionRules(SERIAL)
    assert plan("S", rules, states(first, second, third)) == []
    first.tick(at=T0 + MINUTE)  # fails: no bids
    assert first.s.status == "failed"
    commands = plan("S", rules, states(first, second, third))
    assert commands == [("lot-1", StartLot(actor=actor_of("S")))]
    second.accept(commands[0][1], at=T0 + MINUTE)
    assert second.s.status == "open" and second.s.closes_at == T0 + 2 * MINUTE
    assert second.events[-1].actor == "session:S"
    assert plan("S", rules, states(first, second, third)) == []
    assert isinstance(second.decide(StartLot(actor=actor_of("S"))), Rejection)  # done once


def test_serial_follows_a_cancelled_or_awarded_lot_too() -> None:
    for end in ("cancel", "award"):
        first, second = opened("a", "b"), scheduled()
        if end == "cancel":
            first.cancel()
        else:
            first.take("a", "100.00")
            first.tick(at=T0 + MINUTE)
        assert plan("S", SessionRules(SERIAL), states(first, second))[0][0] == "lot-1"


def test_serial_leaves_a_draft_lot_and_a_lot_opening_by_its_own_clock() -> None:
    first = opened("a")
    first.cancel()
    draft = Lot(english())
    clocked = scheduled(opens_at=T0 + 10 * MINUTE)
    assert plan("S", SessionRules(SERIAL), states(first, draft)) == []
    assert plan("S", SessionRules(SERIAL), states(first, clocked)) == []


def test_staggered_lots_close_stagger_apart_from_the_first() -> None:
    lots = [opened("a"), opened("a"), opened("a")]
    rules = SessionRules(STAGGERED, 30)
    commands = plan("S", rules, states(*lots))
    assert commands == [
        ("lot-1", ExtendLot(actor="session:S", reason=STAGGER_REASON, closes_at=at))
        for at in (T0 + MINUTE + 30 * SECOND, T0 + 2 * MINUTE)]
    for lot, (_, command) in zip(lots[1:], commands, strict=True):
        lot.accept(command)
    assert [lot.s.closes_at for lot in lots] == [T0 + MINUTE, T0 + 90 * SECOND, T0 + 2 * MINUTE]
    assert plan("S", rules, states(*lots)) == []
    assert isinstance(lots[1].decide(commands[0][1]), Rejection)  # done once


def test_a_soft_close_of_a_staggered_lot_moves_the_lots_after_it() -> None:
    lots = [opened("a", "b", extend_window_s=30, extend_s=60), opened("a"),
            opened("a", closes_at=T0 + 5 * MINUTE)]
    rules = SessionRules(STAGGERED, 10)
    for lot, (_, command) in zip(lots[1:], plan("S", rules, states(*lots)), strict=False):
        lot.accept(command)
    lots[0].take("a", "100.00", at=T0 + 50 * SECOND)  # moves lot 0 to T0 + 110 s
    commands = plan("S", rules, states(*lots))
    assert commands == [("lot-1", ExtendLot(actor="session:S", reason=STAGGER_REASON,
                                            closes_at=T0 + 120 * SECOND))]
    assert lots[2].s.closes_at == T0 + 5 * MINUTE  # far enough after already


def test_a_staggered_lot_not_open_is_left_alone_and_closes_never_move_earlier() -> None:
    ended, waiting = opened("a"), scheduled()
    ended.tick(at=T0 + MINUTE)
    rules = SessionRules(STAGGERED, 10)
    assert plan("S", rules, states(ended, waiting)) == []
    assert plan("S", rules, states(Lot(english()), opened("a"))) == []
    assert plan("S", rules, []) == []
