"""The lot lifecycle: draft → scheduled → open → closed → awarded | failed, plus paused
and cancelled; and the clock (Tick) that opens and closes lots."""

import pytest

from auction.lot import FORMATS, decide, next_deadline
from auction.model import (
    SYSTEM,
    CancelLot,
    Command,
    CreateLot,
    ExtendLot,
    LotAwarded,
    LotCancelled,
    LotClosed,
    LotCreated,
    LotFailed,
    LotOpened,
    LotScheduled,
    PauseLot,
    PlaceBid,
    Rejection,
    ResumeLot,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.state import AWARDED, CANCELLED, DRAFT, FAILED, OPEN, SCHEDULED

from .support import HOST, MINUTE, T0, Lot, english, kinds, opened

STAFF_COMMANDS: list[Command] = [
    ScheduleLot(actor=HOST), StartLot(actor=HOST), PauseLot(actor=HOST, reason="r"),
    ResumeLot(actor=HOST, reason="r"), ExtendLot(actor=HOST, reason="r", closes_at=T0 * 2),
    CancelLot(actor=HOST, reason="r"),
]


def create(**fields: object) -> CreateLot:
    base: dict[str, object] = {"lot_id": "lot-1", "session_id": "s-1", "format": "english",
                               "title": "采购 1", "params": english(), "actor": HOST}
    base.update(fields)
    return CreateLot(**base)  # type: ignore[arg-type]


def test_an_unknown_format_is_refused() -> None:
    assert "english" in FORMATS and "bingo" not in FORMATS
    decision = decide(None, create(format="bingo"), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_params"


def test_a_created_lot_is_a_draft_holding_its_parsed_params() -> None:
    lot = Lot(english(reserve="500.00"))
    assert lot.s.status == DRAFT
    assert lot.s.version == 1 and lot.s.created_at == T0
    assert lot.s.params.reserve == 50000
    assert (lot.s.lot_id, lot.s.session_id, lot.s.format) == ("lot-1", "s-1", "english")


def test_a_lot_with_invalid_params_is_not_created() -> None:
    decision = decide(None, create(params=english(extend_s=-1)), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_params"
    assert "extend_s" in decision.detail


def test_a_lot_with_an_invalid_amount_parameter_is_refused_as_invalid_amount() -> None:
    decision = decide(None, create(params=english(step="-1")), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_amount"
    assert "step" in decision.detail


@pytest.mark.parametrize("title", ["", "   ", "x" * 501])
def test_a_lot_needs_a_title_of_at_most_500_characters(title: str) -> None:
    decision = decide(None, create(title=title), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_params"
    assert "title" in decision.detail


@pytest.mark.parametrize("fields", [{"lot_id": ""}, {"actor": ""}, {"session_id": 5},
                                    {"lot_id": "\ud800"}])
def test_a_lot_needs_an_id_and_an_actor(fields: dict[str, object]) -> None:
    decision = decide(None, create(**fields), T0)
    assert isinstance(decision, Rejection) and decision.code == "invalid_params"


def test_a_lot_is_created_only_once() -> None:
    Lot().refuse(create(), "exists")


@pytest.mark.parametrize("cmd", [*STAFF_COMMANDS, PlaceBid(bidder_id="a", amount=1), Tick()])
def test_nothing_but_creation_happens_to_a_lot_that_does_not_exist(cmd: object) -> None:
    decision = decide(None, cmd, T0)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection) and decision.code == "invalid_state"


def test_a_draft_is_scheduled_then_started_by_staff() -> None:
    lot = Lot()
    assert kinds(lot.accept(ScheduleLot(actor=HOST))) == ["LotScheduled"]
    assert lot.s.status == SCHEDULED
    events = lot.accept(StartLot(actor=HOST))
    assert events == [LotOpened(at=T0, actor=HOST, closes_at=T0 + MINUTE, max_closes_at=None)]
    assert lot.s.status == OPEN
    assert (lot.s.opens_at, lot.s.closes_at) == (T0, T0 + MINUTE)


def test_a_draft_cannot_be_started_and_a_scheduled_lot_cannot_be_scheduled_again() -> None:
    lot = Lot()
    lot.refuse(StartLot(actor=HOST), "invalid_state")
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(ScheduleLot(actor=HOST), "invalid_state")
    lot.accept(StartLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "invalid_state")
    lot.refuse(ScheduleLot(actor=HOST), "invalid_state")


def test_a_lot_with_a_duration_closes_that_long_after_staff_start_it() -> None:
    lot = Lot(english(closes_at=None, duration_s=90))
    lot.accept(ScheduleLot(actor=HOST))
    lot.accept(StartLot(actor=HOST), at=T0 + 5000)
    assert lot.s.closes_at == T0 + 5000 + 90_000


def test_staff_cannot_start_a_lot_whose_closing_time_has_passed() -> None:
    lot = Lot()
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "bad_deadline", at=T0 + MINUTE)


def test_staff_cannot_start_a_lot_whose_max_closing_time_falls_before_its_duration() -> None:
    lot = Lot(english(closes_at=None, duration_s=60, max_closes_at=T0 + 30_000))
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "bad_deadline")


def test_staff_starting_a_lot_late_still_close_it_a_duration_after_its_opening_time() -> None:
    lot = Lot(english(opens_at=T0 + 1000, closes_at=None, duration_s=60))
    lot.accept(ScheduleLot(actor=HOST))
    lot.accept(StartLot(actor=HOST), at=T0 + 1500)
    assert (lot.s.opens_at, lot.s.closes_at) == (T0 + 1500, T0 + 1000 + 60_000)


def test_the_recorded_params_do_not_change_when_the_caller_changes_its_own() -> None:
    steps = [{"from": "0", "step": "1.00"}]
    params = english(step=None, steps=steps)
    lot = Lot(params)
    steps[0]["step"] = "999.00"
    created = lot.events[0]
    assert isinstance(created, LotCreated)
    assert created.params["steps"] == [{"from": "0", "step": "1.00"}]


def test_an_unknown_command_is_refused() -> None:
    Lot().refuse(object(), "invalid_params")  # type: ignore[arg-type]


def test_staff_cannot_start_a_lot_before_its_published_opening_time() -> None:
    lot = Lot(english(opens_at=T0 + 1000))
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(StartLot(actor=HOST), "too_early", at=T0 + 999)
    lot.accept(StartLot(actor=HOST), at=T0 + 1000)
    assert lot.s.status == OPEN


def test_a_tick_opens_a_scheduled_lot_at_its_opening_time() -> None:
    lot = Lot(english(opens_at=T0 + 1000))
    assert next_deadline(lot.s) is None  # a draft waits for staff
    assert lot.tick(at=T0 + 5000) == []
    lot.accept(ScheduleLot(actor=HOST))
    assert next_deadline(lot.s) == T0 + 1000
    assert lot.tick(at=T0 + 999) == []
    events = lot.tick(at=T0 + 1000)
    assert events == [LotOpened(at=T0 + 1000, actor=SYSTEM, closes_at=T0 + MINUTE,
                                max_closes_at=None)]
    assert next_deadline(lot.s) == T0 + MINUTE


def test_a_late_tick_opens_a_lot_with_a_duration_for_its_full_published_span() -> None:
    lot = Lot(english(opens_at=T0 + 1000, closes_at=None, duration_s=60))
    lot.accept(ScheduleLot(actor=HOST))
    lot.tick(at=T0 + 1000 + 250)
    assert lot.s.opens_at == T0 + 1250
    assert lot.s.closes_at == T0 + 1000 + 60_000


def test_a_scheduled_lot_without_an_opening_time_waits_for_staff() -> None:
    lot = Lot()
    lot.accept(ScheduleLot(actor=HOST))
    assert next_deadline(lot.s) is None
    assert lot.tick(at=T0 + 10 * MINUTE) == []
    assert lot.s.status == SCHEDULED


def test_a_tick_that_opens_a_lot_after_its_closing_time_cancels_it() -> None:
    lot = Lot(english(opens_at=T0 + 1000))
    lot.accept(ScheduleLot(actor=HOST))
    events = lot.tick(at=T0 + MINUTE)
    assert events == [LotCancelled(at=T0 + MINUTE, actor=SYSTEM, reason="bad_deadline")]
    assert lot.s.status == CANCELLED
    assert lot.s.outcome is not None and lot.s.outcome.status == CANCELLED


def test_a_tick_closes_an_open_lot_at_its_closing_time_and_awards_it() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    assert lot.tick(at=T0 + MINUTE - 1) == []
    events = lot.tick(at=T0 + MINUTE)
    assert events == [
        LotClosed(at=T0 + MINUTE, actor=SYSTEM, closes_at=T0 + MINUTE),
        LotAwarded(at=T0 + MINUTE, actor=SYSTEM, bidder_id="b", bidder_no="Nb", amount=11000),
    ]
    assert lot.s.status == AWARDED
    assert next_deadline(lot.s) is None
    o = lot.s.outcome
    assert o is not None and (o.bidder_id, o.bidder_no, o.amount, o.at) == (
        "b", "Nb", 11000, T0 + MINUTE)


def test_a_late_tick_still_closes_the_lot_and_records_its_closing_time() -> None:
    lot = opened("a")
    lot.bids(("a", "100.00"))
    events = lot.tick(at=T0 + MINUTE + 40)
    assert events[0] == LotClosed(at=T0 + MINUTE + 40, actor=SYSTEM, closes_at=T0 + MINUTE)


def test_a_lot_without_bids_fails() -> None:
    lot = opened("a")
    events = lot.tick(at=T0 + MINUTE)
    assert events[1] == LotFailed(at=T0 + MINUTE, actor=SYSTEM, reason="no_bids")
    assert lot.s.status == FAILED
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


def test_a_second_tick_after_the_end_does_nothing() -> None:
    lot = opened("a")
    lot.tick(at=T0 + MINUTE)
    assert lot.tick(at=T0 + MINUTE) == []
    assert lot.tick(at=T0 + 99 * MINUTE) == []


def test_a_tick_before_any_deadline_does_nothing() -> None:
    lot = opened("a")
    assert lot.tick(at=T0 + 1) == []
    lot.pause(at=T0 + 2)
    assert lot.tick(at=T0 + 10 * MINUTE) == []  # a paused lot's clocks are stopped
    assert next_deadline(lot.s) is None


@pytest.mark.parametrize("stage", ["draft", "scheduled", "open", "paused"])
def test_staff_can_cancel_a_lot_before_it_is_awarded_or_failed(stage: str) -> None:
    lot = Lot()
    if stage != "draft":
        lot.accept(ScheduleLot(actor=HOST))
    if stage in ("open", "paused"):
        lot.accept(StartLot(actor=HOST))
    if stage == "paused":
        lot.pause()
    events = lot.cancel()
    assert events == [LotCancelled(at=T0, actor=HOST, reason="court order")]
    assert lot.s.status == CANCELLED and lot.s.paused_at is None
    assert lot.s.outcome is not None
    assert (lot.s.outcome.status, lot.s.outcome.reason) == (CANCELLED, "court order")


@pytest.mark.parametrize("ending", ["awarded", "failed", "cancelled"])
def test_an_ended_lot_cannot_be_cancelled_or_changed(ending: str) -> None:
    lot = opened("a", "b")
    if ending == "awarded":
        lot.bids(("a", "100.00"))
    if ending == "cancelled":
        lot.cancel()
    else:
        lot.tick(at=T0 + MINUTE)
    outcome = lot.s.outcome
    assert outcome is not None and outcome.status == ending
    for cmd in STAFF_COMMANDS:
        lot.refuse(cmd, "invalid_state", at=T0 + 2 * MINUTE)
    assert lot.s.outcome == outcome


def test_a_lot_whose_closing_time_has_come_cannot_be_cancelled_even_before_the_tick() -> None:
    lot = opened("a")
    lot.bids(("a", "100.00"))
    lot.refuse(CancelLot(actor=HOST, reason="too late"), "invalid_state", at=T0 + MINUTE)
    assert kinds(lot.tick(at=T0 + MINUTE + 5)) == ["LotClosed", "LotAwarded"]


@pytest.mark.parametrize("reason", ["", "   ", None, 5])
def test_every_staff_action_on_the_clock_needs_a_reason(reason: object) -> None:
    lot = opened("a")
    for cls in (PauseLot, ResumeLot, CancelLot):
        lot.refuse(cls(actor=HOST, reason=reason), "reason_required")  # type: ignore[arg-type]
    lot.refuse(ExtendLot(actor=HOST, reason=reason, closes_at=T0 + 2 * MINUTE),  # type: ignore[arg-type]
               "reason_required")


@pytest.mark.parametrize("reason", ["x" * 501, "bad\x00byte", "lone \udc80 surrogate"])
def test_a_reason_that_cannot_be_recorded_is_refused(reason: str) -> None:
    opened("a").refuse(PauseLot(actor=HOST, reason=reason), "invalid_params")


@pytest.mark.parametrize("actor", ["", None, "x" * 501])
def test_every_staff_command_needs_an_actor(actor: object) -> None:
    lot = Lot()
    lot.refuse(ScheduleLot(actor=actor), "invalid_params")  # type: ignore[arg-type]
    lot.refuse(CancelLot(actor=actor, reason="r"), "invalid_params")  # type: ignore[arg-type]


def test_the_scheduled_event_records_who_scheduled_the_lot() -> None:
    lot = Lot()
    assert lot.accept(ScheduleLot(actor="staff:7")) == [LotScheduled(at=T0, actor="staff:7")]
