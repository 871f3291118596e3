"""Notices (公告): the published terms of a trade, its schedule and its public Q&A (答疑).

A notice names its kind of trade, the lot(s) it offers, the application window, the
deposit deadline, the bidding time, the lot's terms (竞买须知) and the documents an
application must carry; whether applicants are reviewed before the auction (资格前审)
and whether consortia may apply. Its schedule is checked against the center's minimum
periods for that kind of trade (:class:`MinimumPeriods`), in calendar or working days
(:mod:`auction.workdays`), counted in China's dates:

* ``notice``: from the day of publication to the bidding day;
* ``application``: the length of the application window.

An amendment (更正公告) that changes something material (the schedule, the terms, the
lots, the documents asked for, the review or consortium rules, the kind) restarts the
periods: they are counted again from the amendment's day, so the amended schedule must
leave the whole minimum from then on. One that changes only the title does not. A period
reaching a year whose holidays the calendar package does not know is flagged
(``unknown_year:YYYY`` in the event's ``flags``), not refused.

Q&A: a bidder's account asks (its id is the event's actor), staff answer; what the public
sees (:func:`public_questions`) never names the asker.

Pure: the decider is built with the center's calendar and periods; no clock is read.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, recorded_if_set, register_event
from auction.workdays import DAY_UNITS, DayUnit, WorkCalendar, china_date

#: Kinds of trade a center configures periods for.
TRADE_KINDS = ("land", "mining", "state_property", "procurement", "other")
#: Where a notice stands (:func:`phase`).
PHASES = ("announced", "applying", "closed", "bidding", "withdrawn")
MAX_LOTS = 50
MAX_QUESTIONS = 1000

MESSAGES.update({
    "invalid_schedule": ("公告时间安排不正确", "The notice's schedule is not in order."),
    "period_too_short": ("公告期限短于规定的最短期限",
                         "A period of the notice is shorter than the center's minimum."),
    "not_published": ("公告尚未发布或已撤回", "The notice is not published, or withdrawn."),
    "unknown_question": ("未找到该问题", "No such question."),
    "already_answered": ("该问题已答复", "The question is answered already."),
})


@dataclass(frozen=True)
class Period:
    """A minimum period: ``days`` calendar or working days."""

    days: int
    unit: DayUnit = "calendar"

    def __post_init__(self) -> None:
        if self.days < 0 or self.unit not in DAY_UNITS:
            raise ValueError(f"not a period: {self.days} {self.unit}")


@dataclass(frozen=True)
class MinimumPeriods:
    """The center's minimum periods for one kind of trade."""

    notice: Period
    application: Period


#: Defaults, to be overridden by the center's configuration: land and mining rights
#: (notice 20 days before bidding, applications open at least 10 working days), state
#: property (disclosure of 20 working days), procurement, anything else.
DEFAULT_PERIODS: Mapping[str, MinimumPeriods] = {
    "land": MinimumPeriods(Period(20), Period(10, "working")),
    "mining": MinimumPeriods(Period(20), Period(10, "working")),
    "state_property": MinimumPeriods(Period(20, "working"), Period(10, "working")),
    "procurement": MinimumPeriods(Period(5, "working"), Period(5, "working")),
    "other": MinimumPeriods(Period(5), Period(1, "working")),
}


_UNITS: Mapping[str, DayUnit] = {"c": "calendar", "w": "working"}


def _period(text: str) -> Period:
    digits, unit = text[:-1], text[-1:]
    if not digits.isdigit() or not digits.isascii() or unit not in _UNITS:
        raise ValueError(f"{text!r} is not days and c or w, such as 20c or 10w")
    return Period(int(digits), _UNITS[unit])


def parse_periods(entries: Iterable[str]) -> dict[str, MinimumPeriods]:
    """The minimum periods of every kind of trade: :data:`DEFAULT_PERIODS` with the
    center's ``KIND=NOTICE/APPLICATION`` entries (``land=20c/10w``: 20 calendar days of
    notice, 10 working days of applications) on top. ValueError for a malformed entry or
    an unknown kind."""
    out = dict(DEFAULT_PERIODS)
    for entry in entries:
        kind, _, spec = entry.partition("=")
        notice, slash, application = spec.partition("/")
        if kind not in TRADE_KINDS or not slash:
            raise ValueError(f"{entry!r} is not KIND=NOTICE/APPLICATION with KIND one of "
                             f"{', '.join(TRADE_KINDS)}")
        out[kind] = MinimumPeriods(_period(notice), _period(application))
    return out


@dataclass(frozen=True)
class Terms:
    """What a notice publishes (and an amendment replaces as a whole)."""

    title: str
    kind: str
    apply_from: int
    apply_until: int
    deposit_until: int
    bidding_at: int
    terms: str
    lot_ids: tuple[str, ...]
    documents: tuple[str, ...] = ()
    prequalification: bool = True
    consortium: bool = False

    def material(self, other: "Terms") -> bool:
        """Whether replacing ``self`` by ``other`` changes something material (anything
        but the title)."""
        return replace(self, title=other.title) != other


@dataclass(frozen=True)
class Question:
    no: int
    asked_by: str
    asked_at: int
    text: str
    answer: str = ""
    answered_at: int | None = None


@dataclass(frozen=True)
class Notice:
    notice_id: str
    status: str = "none"  # none | published | withdrawn
    terms: Terms | None = None
    published_at: int = 0
    #: When the periods were last (re)started: publication or a material amendment.
    periods_from: int = 0
    amendments: int = 0
    flags: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()
    withdrawn_reason: str = ""


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class PublishNotice:
    terms: Terms
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class AmendNotice:
    terms: Terms
    actor: str
    reason: str


@dataclass(frozen=True)
class WithdrawNotice:
    actor: str
    reason: str


@dataclass(frozen=True)
class AskQuestion:
    actor: str  # the asking account
    text: str


@dataclass(frozen=True)
class AnswerQuestion:
    no: int
    actor: str
    text: str


NoticeCommand = PublishNotice | AmendNotice | WithdrawNotice | AskQuestion | AnswerQuestion


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticePublished(Event):
    notice_id: str
    terms: Mapping[str, Any]
    flags: list[str] = field(default_factory=list)
    reason: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeAmended(Event):
    terms: Mapping[str, Any]
    material: bool
    reason: str
    flags: list[str] = field(default_factory=list)


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeWithdrawn(Event):
    reason: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeQuestionAsked(Event):
    no: int
    text: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeQuestionAnswered(Event):
    no: int
    text: str


def terms_dict(terms: Terms) -> dict[str, Any]:
    """``terms`` as recorded (JSON values only)."""
    return {"title": terms.title, "kind": terms.kind, "apply_from": terms.apply_from,
            "apply_until": terms.apply_until, "deposit_until": terms.deposit_until,
            "bidding_at": terms.bidding_at, "terms": terms.terms,
            "lot_ids": list(terms.lot_ids), "documents": list(terms.documents),
            "prequalification": terms.prequalification, "consortium": terms.consortium}


def terms_of(data: Mapping[str, Any]) -> Terms:
    """The :class:`Terms` recorded as ``data`` by :func:`terms_dict`."""
    return Terms(title=data["title"], kind=data["kind"], apply_from=data["apply_from"],
                 apply_until=data["apply_until"], deposit_until=data["deposit_until"],
                 bidding_at=data["bidding_at"], terms=data["terms"],
                 lot_ids=tuple(data["lot_ids"]), documents=tuple(data["documents"]),
                 prequalification=data["prequalification"], consortium=data["consortium"])


# --------------------------------------------------------------------------- decider


class NoticeDecider:
    """Notices under one center's calendar and minimum periods."""

    kind = "notice"

    def __init__(self, calendar: WorkCalendar,
                 periods: Mapping[str, MinimumPeriods] | None = None) -> None:
        """``calendar``: the working days periods are counted in (the edge gives China's
        with the center's own days, :mod:`web.workdays`)."""
        self.calendar = calendar
        self.periods = dict(DEFAULT_PERIODS if periods is None else periods)

    def initial(self, aggregate_id: str) -> Notice:
        return Notice(aggregate_id)

    def check(self, terms: Terms, periods_from: int) -> Rejection | list[str]:
        """The problem of ``terms`` with its periods counted from ``periods_from``, or
        its flags (years the calendar does not know)."""
        if terms.kind not in self.periods:
            return Rejection("invalid_params", f"kind must be one of {', '.join(self.periods)}")
        if not terms.lot_ids or len(terms.lot_ids) > MAX_LOTS:
            return Rejection("invalid_params", f"a notice offers 1 to {MAX_LOTS} lots")
        if not (terms.apply_from < terms.apply_until <= terms.bidding_at
                and terms.apply_from < terms.deposit_until <= terms.bidding_at):
            return Rejection("invalid_schedule",
                             "apply_from < apply_until <= bidding_at and apply_from < "
                             "deposit_until <= bidding_at")
        if terms.apply_until <= periods_from:
            return Rejection("invalid_schedule", "the application window has ended")
        minimum = self.periods[terms.kind]
        start = china_date(periods_from)
        bidding_day = china_date(terms.bidding_at)
        window = (china_date(max(terms.apply_from, periods_from)),
                  china_date(terms.apply_until))
        for name, period, (first, last) in (("notice", minimum.notice, (start, bidding_day)),
                                            ("application", minimum.application, window)):
            have = self.calendar.count(first, last, period.unit)
            if have < period.days:
                return Rejection("period_too_short",
                                 f"{name} period: {have} {period.unit} days from "
                                 f"{first.isoformat()} to {last.isoformat()}, at least "
                                 f"{period.days} required")
        return [f"unknown_year:{year}"
                for year in self.calendar.unknown_years(start, bidding_day)]

    def decide(self, state: Notice, command: NoticeCommand,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, PublishNotice):
            if state.status != "none":
                return Rejection("exists", "the notice is published already")
            flags = self.check(command.terms, now)
            if isinstance(flags, Rejection):
                return flags
            return [NoticePublished(at=now, actor=command.actor, notice_id=state.notice_id,
                                    terms=terms_dict(command.terms), flags=flags,
                                    reason=command.reason)]
        if state.status != "published":
            return Rejection("not_published", f"the notice is {state.status}")
        assert state.terms is not None
        if isinstance(command, AmendNotice):
            if not command.reason.strip():
                return Rejection("reason_required", "an amendment says why")
            material = state.terms.material(command.terms)
            flags = self.check(command.terms, now if material else state.periods_from)
            if isinstance(flags, Rejection):
                return flags
            return [NoticeAmended(at=now, actor=command.actor, terms=terms_dict(command.terms),
                                  material=material, reason=command.reason, flags=flags)]
        if isinstance(command, WithdrawNotice):
            if not command.reason.strip():
                return Rejection("reason_required", "a withdrawal says why")
            return [NoticeWithdrawn(at=now, actor=command.actor, reason=command.reason)]
        if isinstance(command, AskQuestion):
            if len(state.questions) >= MAX_QUESTIONS:
                return Rejection("invalid_state", "the notice takes no more questions")
            if now >= state.terms.apply_until:
                return Rejection("invalid_state", "questions close with the application window")
            return [NoticeQuestionAsked(at=now, actor=command.actor, no=len(state.questions) + 1,
                                  text=command.text)]
        if not 1 <= command.no <= len(state.questions):
            return Rejection("unknown_question", f"no question {command.no}")
        if state.questions[command.no - 1].answered_at is not None:
            return Rejection("already_answered", f"question {command.no} is answered")
        return [NoticeQuestionAnswered(at=now, actor=command.actor, no=command.no,
                                       text=command.text)]

    def evolve(self, state: Notice, event: Event) -> Notice:
        if isinstance(event, NoticePublished):
            return replace(state, status="published", terms=terms_of(event.terms),
                           published_at=event.at, periods_from=event.at,
                           flags=tuple(event.flags))
        if isinstance(event, NoticeAmended):
            return replace(state, terms=terms_of(event.terms), amendments=state.amendments + 1,
                           periods_from=event.at if event.material else state.periods_from,
                           flags=tuple(event.flags))
        if isinstance(event, NoticeWithdrawn):
            return replace(state, status="withdrawn", withdrawn_reason=event.reason)
        if isinstance(event, NoticeQuestionAsked):
            question = Question(event.no, event.actor, event.at, event.text)
            return replace(state, questions=(*state.questions, question))
        assert isinstance(event, NoticeQuestionAnswered)
        questions = list(state.questions)
        questions[event.no - 1] = replace(questions[event.no - 1], answer=event.text,
                                          answered_at=event.at)
        return replace(state, questions=tuple(questions))


def phase(notice: Notice, now: int) -> str:
    """Where the notice stands at ``now``: ``withdrawn``, ``announced`` (before the
    window), ``applying``, ``closed`` (window over, before bidding) or ``bidding`` (from
    the bidding time on)."""
    if notice.status == "withdrawn" or notice.terms is None:
        return "withdrawn"
    terms = notice.terms
    if now < terms.apply_from:
        return "announced"
    if now < terms.apply_until:
        return "applying"
    return "closed" if now < terms.bidding_at else "bidding"


def public_questions(notice: Notice) -> list[dict[str, Any]]:
    """The Q&A as the public sees it: questions and answers, never who asked."""
    return [{"no": q.no, "asked_at": q.asked_at, "text": q.text, "answer": q.answer,
             "answered_at": q.answered_at} for q in notice.questions]
