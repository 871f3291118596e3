"""Every staff action records its actor and its reason (RULES.md: "the actor (bidder number
or staff id) and, for staff actions, a reason"): the reason is part of every staff
command and of the event it causes, it is checked like every reason, it shows in the
report, and records written before reasons existed still read, hash and verify."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auction import draw
from auction import model as m
from auction.lot import MAX_TEXT, decide
from auction.record import GENESIS, event_from_dict, event_to_dict, seal
from auction.report import full_report, report_csv
from auction.verify import build_export, dumps, verify
from auction.witnessed import commitment

from .support import HOST, MINUTE, T0, Lot, cny, english, opened

OLD_EXPORT = (Path(__file__).parent.parent / "records" / "data"
              / "export_before_staff_reasons.json")
WHY = "依据公告第 3 条 per notice art. 3"


def _draft() -> Lot:
    lot = Lot(english())
    lot.register("a")
    return lot


def _scheduled() -> Lot:
    lot = _draft()
    lot.accept(m.ScheduleLot(actor=HOST))
    return lot


def _asked() -> Lot:
    lot = opened("a")
    lot.accept(m.AskHost(bidder_id="a", kind="question", text="问"))
    assert lot.s.version == 6
    return lot


def _paused() -> Lot:
    lot = opened("a", "b")
    lot.pause()
    return lot


def _cancelled() -> Lot:
    lot = opened("a", "b")
    lot.cancel()
    return lot


def _awarded() -> Lot:
    lot = opened("a", "b")
    lot.take("a", "100.00")
    lot.tick(T0 + MINUTE)
    return lot


def _witnessed(entered: bool = False) -> Lot:
    """A lot with a reserve entered late; ``entered``: another host entered one."""
    lot = Lot(english(reserve_entry={"before_close_s": 10}))
    if entered:
        lot.accept(m.EnterReserve(actor="staff:other", amount=cny("150.00"), salt="5a10" * 8))
    return lot


#: For every staff command: the lot it succeeds on, and the command with ``reason``.
CASES: dict[type[Any], tuple[Callable[[], Lot | None], Callable[[str], Any]]] = {
    m.CreateLot: (lambda: None, lambda r: m.CreateLot(
        lot_id="lot-1", session_id="s-1", format="english", title="t", params=english(),
        actor=HOST, reason=r)),
    m.RegisterBidder: (_draft, lambda r: m.RegisterBidder(
        bidder_id="z", bidder_no="N9", name="丙", actor=HOST, reason=r)),
    m.ConfirmDeposit: (_draft, lambda r: m.ConfirmDeposit(
        bidder_id="a", amount=cny("60.00"), account="acct", actor=HOST, reason=r)),
    m.ScheduleLot: (_draft, lambda r: m.ScheduleLot(actor=HOST, reason=r)),
    m.StartLot: (_scheduled, lambda r: m.StartLot(actor=HOST, reason=r)),
    m.PauseLot: (lambda: opened("a"), lambda r: m.PauseLot(actor=HOST, reason=r)),
    m.ResumeLot: (_paused, lambda r: m.ResumeLot(actor=HOST, reason=r)),
    m.ExtendLot: (lambda: opened("a"), lambda r: m.ExtendLot(
        actor=HOST, reason=r, closes_at=T0 + 2 * MINUTE)),
    m.CancelLot: (lambda: opened("a"), lambda r: m.CancelLot(actor=HOST, reason=r)),
    m.RevokeTokens: (lambda: opened("a"), lambda r: m.RevokeTokens(
        bidder_id="a", actor=HOST, reason=r)),
    m.RefundDeposit: (_cancelled, lambda r: m.RefundDeposit(bidder_id="a", actor=HOST,
                                                            reason=r)),
    m.ForfeitDeposit: (_cancelled, lambda r: m.ForfeitDeposit(bidder_id="a", actor=HOST,
                                                              reason=r)),
    m.ApplyDeposit: (_awarded, lambda r: m.ApplyDeposit(bidder_id="a", actor=HOST,
                                                        reason=r)),
    m.Announce: (lambda: opened("a"), lambda r: m.Announce(actor=HOST, text="注意", reason=r)),
    # The question is the sixth event of the lot _asked makes.
    m.AnswerQuestion: (_asked, lambda r: m.AnswerQuestion(actor=HOST, question=6, text="答",
                                                          reason=r)),
    m.EnterReserve: (_witnessed, lambda r: m.EnterReserve(
        actor=HOST, amount=cny("150.00"), salt="5a10" * 8, reason=r)),
    m.ApproveReserve: (lambda: _witnessed(entered=True), lambda r: m.ApproveReserve(
        actor=HOST, commitment=commitment(cny("150.00"), "5a10" * 8), reason=r)),
}
#: Staff commands whose reason may be left out (recorded when given): desk work, the
#: published plan, messages (their text says what they are), and a reserve's entry and
#: approval (the commitment says what was approved).
OPTIONAL = {m.CreateLot, m.RegisterBidder, m.ConfirmDeposit, m.ScheduleLot, m.StartLot,
            m.Announce, m.AnswerQuestion, m.EnterReserve, m.ApproveReserve}


def _staff_commands() -> set[type[Any]]:
    """Every command of the model that names an actor: the staff commands."""
    return {cls for cls in vars(m).values() if isinstance(cls, type)
            and dataclasses.is_dataclass(cls) and not issubclass(cls, m.Event)
            and "actor" in {f.name for f in dataclasses.fields(cls)}}


def _decide(command_type: type[Any], reason: Any) -> tuple[Lot | None, m.Decision]:
    setup, make = CASES[command_type]
    lot = setup()
    if lot is None:
        return None, decide(None, make(reason), T0)
    return lot, lot.decide(make(reason))


def test_every_staff_command_takes_a_reason() -> None:
    commands = _staff_commands()
    assert set(CASES) == commands, "a staff command without a case here"
    for cls in commands:
        assert "reason" in {f.name for f in dataclasses.fields(cls)}, cls.__name__


@pytest.mark.parametrize("command_type", sorted(CASES, key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_every_staff_action_records_its_actor_and_its_reason(command_type: type[Any]) -> None:
    lot, decision = _decide(command_type, WHY)
    assert isinstance(decision, list) and decision, decision
    event = decision[0]
    assert event.actor == HOST and getattr(event, "reason", None) == WHY, event
    assert event_to_dict(event)["reason"] == WHY
    assert event_from_dict(event_to_dict(event)) == event
    if lot is not None:
        assert lot.replayed() == lot.state


@pytest.mark.parametrize("command_type", sorted(OPTIONAL, key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_an_optional_reason_left_out_is_recorded_as_empty(command_type: type[Any]) -> None:
    _, decision = _decide(command_type, "")
    assert isinstance(decision, list)
    assert decision[0].reason == ""  # type: ignore[attr-defined]
    assert "reason" not in event_to_dict(decision[0])  # written as records always were


@pytest.mark.parametrize("command_type", sorted(CASES, key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("reason", ["x" * (MAX_TEXT + 1), "nul\x00", "\ud800", 7, None])
def test_a_reason_that_cannot_be_recorded_is_refused(command_type: type[Any],
                                                     reason: Any) -> None:
    lot, decision = _decide(command_type, reason)
    assert isinstance(decision, m.Rejection), decision
    assert decision.code in ("invalid_params", "reason_required"), decision


@pytest.mark.parametrize("command_type", sorted(CASES, key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_a_reason_of_the_longest_length_is_recorded(command_type: type[Any]) -> None:
    _, decision = _decide(command_type, "理" * MAX_TEXT)
    assert isinstance(decision, list) and decision[0].reason == "理" * MAX_TEXT  # type: ignore[attr-defined]


def test_a_start_s_reason_goes_into_lot_opened_and_nothing_else() -> None:
    from .test_sealed import SealedLot, sealed

    lot = SealedLot(sealed(tie_rule="lottery"))
    lot.register("a")
    lot.accept(m.ScheduleLot(actor=HOST, reason="按公告排期"))
    seed = "5eed" * 16
    events = lot.accept(m.StartLot(actor=HOST, reason=WHY, seed=seed,
                                   seed_hash=draw.commitment(seed)))
    assert [type(e).__name__ for e in events] == ["LotOpened", "DrawCommitted"]
    assert events[0].reason == WHY  # type: ignore[attr-defined]
    assert "reason" not in event_to_dict(events[1])
    assert lot.replayed() == lot.state


def test_a_lot_opened_by_the_clock_records_no_reason() -> None:
    lot = Lot(english(opens_at=T0 + 1000))
    lot.register("a")
    lot.accept(m.ScheduleLot(actor=HOST, reason=WHY))
    (opened_event,) = lot.tick(T0 + 1000)
    assert isinstance(opened_event, m.LotOpened) and opened_event.actor == m.SYSTEM
    assert opened_event.reason == "" and "reason" not in event_to_dict(opened_event)


def _played_with_reasons() -> tuple[Lot, list[Any]]:
    lot = Lot(english())
    lot.accept(m.RegisterBidder(bidder_id="a", bidder_no="N1", name="甲", actor=HOST,
                                reason="报名材料齐全"))
    lot.accept(m.ConfirmDeposit(bidder_id="a", amount=cny("50.00"), account="acct",
                                actor=HOST, reason="银行回单 0042"))
    lot.accept(m.ScheduleLot(actor=HOST, reason="按公告排期"))
    lot.accept(m.StartLot(actor=HOST, reason="准时开始"))
    lot.take("a", "100.00")
    lot.tick(T0 + MINUTE)
    return lot, seal("lot-1", 1, GENESIS, lot.events)


def test_reasons_show_in_the_report_and_the_csv_and_the_export_verifies() -> None:
    lot, records = _played_with_reasons()
    report = full_report(lot.s, records, [], [], T0 + 2 * MINUTE)
    reasons = {a["action"]: a["reason"] for a in report["staff_actions"]}
    assert reasons == {"LotCreated": None, "BidderRegistered": "报名材料齐全",
                       "DepositConfirmed": "银行回单 0042", "LotScheduled": "按公告排期",
                       "LotOpened": "准时开始"}
    csv_text = report_csv(report)
    for reason in ("报名材料齐全", "银行回单 0042", "按公告排期", "准时开始"):
        assert reason in csv_text
    result = verify(dumps(build_export(lot.s, records, T0 + 2 * MINUTE)))
    assert result.ok, result.summary


def test_a_changed_reason_fails_verification_at_its_event() -> None:
    lot, records = _played_with_reasons()
    doc = build_export(lot.s, records)
    doc["events"][3]["event"]["reason"] = "改过的理由"
    result = verify(dumps(doc))
    assert not result.ok and result.discrepancy is not None
    assert result.discrepancy.seq == 4


def test_records_written_before_reasons_existed_still_read_hash_and_verify() -> None:
    text = OLD_EXPORT.read_text("utf-8")
    doc = json.loads(text)
    kinds = {e["event"]["type"] for e in doc["events"]}
    assert {"LotCreated", "BidderRegistered", "DepositConfirmed", "LotScheduled",
            "LotOpened"} <= kinds
    for entry in doc["events"]:
        event = event_from_dict(entry["event"])
        assert event_to_dict(event) == entry["event"]  # the very dict that was hashed
        if entry["event"]["type"] in ("LotCreated", "BidderRegistered", "DepositConfirmed",
                                      "LotScheduled", "LotOpened"):
            assert "reason" not in entry["event"] and event.reason == ""  # type: ignore[attr-defined]
    result = verify(text)
    assert result.ok, result.summary
