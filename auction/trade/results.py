"""The result notice (结果公示) of an ended lot and the objections (异议) to it: an aggregate
of kind ``result_notice`` whose id is the lot's id.

The notice stands for a publicity period counted in working days (per kind of trade, the
center's setting) from the day the lot ended; its end is :func:`publicity_end`. During it
the lot's bidders (those registered when it was published) may file objections; staff
answer each with a reason and an outcome: ``dismissed``, or ``upheld`` with its effect on
the award, ``suspended`` (暂停) or ``annulled`` (撤销). Answers are published without the
objector's identity (:func:`public_view`).
"""

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, register_event
from auction.workdays import WorkCalendar, china_date, china_midnight_ms

KIND = "result_notice"
OUTCOMES = ("dismissed", "upheld")
EFFECTS = ("suspended", "annulled")
#: Longest objection and answer, in characters.
MAX_TEXT = 4000

MESSAGES.update({
    "not_published": ("结果公示尚未发布", "The result notice has not been published."),
    "period_over": ("公示期已结束，不能再提出异议",
                    "The publicity period is over: no more objections."),
    "not_a_bidder": ("仅本标的的竞买人可以提出异议",
                     "Only the lot's bidders may object."),
    "unknown_objection": ("未找到该异议", "No such objection."),
    "already_answered": ("该异议已答复", "The objection has been answered already."),
})


def publicity_end(ended_at: int, days: int, calendar: WorkCalendar) -> int:
    """The last millisecond of the publicity period: ``days`` working days after the day
    (in China) the lot ended, to the end of that day; with no day (0: no publicity
    period, as the demo's center runs) the moment the lot ended."""
    if days == 0:
        return ended_at
    last = calendar.add(china_date(ended_at), days, "working")
    return china_midnight_ms(last + dt.timedelta(days=1)) - 1


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ResultNoticePublished(Event):
    lot_id: str
    trade_kind: str
    working_days: int
    starts_at: int
    ends_at: int
    issuer: str
    contact: str
    bidders: list[str]


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionFiled(Event):
    objection_id: str
    bidder_id: str
    bidder_no: str
    text: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionAnswered(Event):
    """Staff's answer (``reason``, published) and its ``outcome``; ``effect`` on the award
    when upheld (``suspended`` or ``annulled``), else empty."""

    objection_id: str
    outcome: str
    effect: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishNotice:
    lot_id: str
    trade_kind: str
    working_days: int
    starts_at: int
    ends_at: int
    issuer: str
    contact: str
    bidders: list[str]
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileObjection:
    """An objection of ``bidder_id``; its id is given by the notice (``O-1``, ``O-2``...)."""

    bidder_id: str
    bidder_no: str
    text: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerObjection:
    objection_id: str
    outcome: str
    effect: str
    reason: str
    actor: str


@dataclass(frozen=True)
class Objection:
    filed: ObjectionFiled
    answer: ObjectionAnswered | None = None


@dataclass(frozen=True)
class ResultNotice:
    lot_id: str
    published: ResultNoticePublished | None = None
    objections: dict[str, Objection] = field(default_factory=dict)

    @property
    def award(self) -> str:
        """``stands``, or ``suspended`` / ``annulled`` by the last upheld objection that
        changed it (annulled stays annulled)."""
        award = "stands"
        answers = sorted((o.answer for o in self.objections.values() if o.answer),
                         key=lambda a: a.at)
        for answer in answers:
            if answer.outcome == "upheld" and award != "annulled":
                award = answer.effect
        return award


Command = PublishNotice | FileObjection | AnswerObjection


def _text_ok(text: str) -> bool:
    return 0 < len(text.strip()) and len(text) <= MAX_TEXT


class ResultNoticeDecider:
    kind = KIND

    def initial(self, aggregate_id: str) -> ResultNotice:
        return ResultNotice(aggregate_id)

    def decide(self, state: ResultNotice, command: Command,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, PublishNotice):
            if state.published is not None:
                return []  # published once: publishing again changes nothing
            if (command.lot_id != state.lot_id or command.working_days < 1
                    or command.ends_at <= command.starts_at):
                return Rejection("invalid_input", "the notice's lot, period or days")
            return [ResultNoticePublished(
                at=now, actor=command.actor, lot_id=command.lot_id,
                trade_kind=command.trade_kind, working_days=command.working_days,
                starts_at=command.starts_at, ends_at=command.ends_at, issuer=command.issuer,
                contact=command.contact, bidders=list(command.bidders))]
        notice = state.published
        if notice is None:
            return Rejection("not_published", "the result notice has not been published")
        if isinstance(command, FileObjection):
            if command.bidder_id not in notice.bidders:
                return Rejection("not_a_bidder", "only the lot's bidders may object")
            if now > notice.ends_at:
                return Rejection("period_over", "the publicity period is over")
            if not _text_ok(command.text):
                return Rejection("invalid_input", f"the objection: 1 to {MAX_TEXT} characters")
            return [ObjectionFiled(at=now, actor=command.actor,
                                   objection_id=f"O-{len(state.objections) + 1}",
                                   bidder_id=command.bidder_id, bidder_no=command.bidder_no,
                                   text=command.text)]
        objection = state.objections.get(command.objection_id)
        if objection is None:
            return Rejection("unknown_objection", "no such objection")
        if objection.answer is not None:
            return Rejection("already_answered", "the objection has been answered already")
        if not _text_ok(command.reason):
            return Rejection("reason_required", "the answer gives its reason")
        upheld = command.outcome == "upheld"
        if command.outcome not in OUTCOMES or (command.effect in EFFECTS) != upheld or (
                not upheld and command.effect):
            return Rejection("invalid_input", "outcome dismissed, or upheld with the effect "
                                              "suspended or annulled")
        return [ObjectionAnswered(at=now, actor=command.actor,
                                  objection_id=command.objection_id, outcome=command.outcome,
                                  effect=command.effect, reason=command.reason)]

    def evolve(self, state: ResultNotice, event: Event) -> ResultNotice:
        if isinstance(event, ResultNoticePublished):
            return replace(state, published=event)
        if isinstance(event, ObjectionFiled):
            return replace(state, objections={**state.objections,
                                              event.objection_id: Objection(event)})
        assert isinstance(event, ObjectionAnswered)
        current = state.objections[event.objection_id]
        return replace(state, objections={**state.objections,
                                          event.objection_id: replace(current, answer=event)})


RESULT_NOTICES = ResultNoticeDecider()


def public_view(state: ResultNotice) -> dict[str, Any]:
    """The notice as the public sees it: the period, the issuer, the award's standing and
    every objection's filing time, answer and outcome, never who objected or what it
    wrote."""
    notice = state.published
    out: dict[str, Any] = {"lot_id": state.lot_id, "published": notice is not None,
                           "award": state.award}
    if notice is not None:
        out.update(trade_kind=notice.trade_kind, working_days=notice.working_days,
                   starts_at=notice.starts_at, ends_at=notice.ends_at,
                   issuer=notice.issuer, contact=notice.contact)
    out["objections"] = [
        {"objection_id": o.filed.objection_id, "filed_at": o.filed.at,
         "answered_at": o.answer.at if o.answer else None,
         "outcome": o.answer.outcome if o.answer else None,
         "effect": (o.answer.effect or None) if o.answer else None,
         "answer": o.answer.reason if o.answer else None}
        for o in sorted(state.objections.values(), key=lambda o: o.filed.at)]
    return out


def full_view(state: ResultNotice, bidder_id: str | None = None) -> dict[str, Any]:
    """The notice with who objected and what it wrote: every objection for staff
    (``bidder_id`` None), else the bidder's own only (with the public answers of all)."""
    out = public_view(state)
    for entry in out["objections"]:
        filed = state.objections[entry["objection_id"]].filed
        if bidder_id is None or filed.bidder_id == bidder_id:
            entry.update(bidder_no=filed.bidder_no, text=filed.text,
                         mine=bidder_id is not None)
    return out
