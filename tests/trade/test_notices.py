"""Notices: schedules against the center's minimum periods in calendar and working days
(across the National Day holiday and its adjusted working days), amendments that restart
the periods, withdrawal, and the public Q&A that never names the asker."""

import datetime as dt
from dataclasses import replace

import pytest

from auction.aggregate import replay
from auction.model import Event, Rejection
from auction.trade.notices import (
    DEFAULT_PERIODS,
    AmendNotice,
    AnswerQuestion,
    AskQuestion,
    MinimumPeriods,
    Notice,
    NoticeAmended,
    NoticeDecider,
    NoticePublished,
    Period,
    PublishNotice,
    Terms,
    WithdrawNotice,
    parse_periods,
    phase,
    public_questions,
)
from auction.workdays import china_midnight_ms
from web.workdays import china_calendar

D = dt.date
HOUR = 3_600_000


def at(day: dt.date, hour: int = 9) -> int:
    return china_midnight_ms(day) + hour * HOUR


def terms(**changes: object) -> Terms:
    """State property: notice 20 working days, applications 10 working days."""
    base = Terms(title="某公司 30% 股权转让", kind="state_property",
                 apply_from=at(D(2026, 9, 21)), apply_until=at(D(2026, 10, 19), 17),
                 deposit_until=at(D(2026, 10, 19), 17), bidding_at=at(D(2026, 10, 22), 10),
                 terms="竞买须知……", lot_ids=("L-1",), documents=("营业执照",))
    return replace(base, **changes)  # type: ignore[arg-type]


NOTICES = NoticeDecider(china_calendar())
PUBLISHED_AT = at(D(2026, 9, 18))  # a Friday


def decide(state: Notice, command: object, now: int) -> tuple[Notice, list[Event]]:
    events = NOTICES.decide(state, command, now)  # type: ignore[arg-type]
    assert not isinstance(events, Rejection), events
    return replay(NOTICES, state.notice_id, events) if state.status == "none" else \
        _evolve(state, events), events


def _evolve(state: Notice, events: list[Event]) -> Notice:
    for event in events:
        state = NOTICES.evolve(state, event)
    return state


def refused(state: Notice, command: object, now: int) -> Rejection:
    result = NOTICES.decide(state, command, now)  # type: ignore[arg-type]
    assert isinstance(result, Rejection), result
    return result


def published(t: Terms | None = None) -> Notice:
    state, _ = decide(Notice("N-1"), PublishNotice(t or terms(), "alice"), PUBLISHED_AT)
    return state


def test_twenty_working_days_from_a_friday_in_september_end_after_the_national_day_week() -> None:
    # After Fri 18 Sep 2026: Sun 20 Sep is worked (调休), Fri 25 Sep (Mid-Autumn) and 1–7
    # Oct are off, Sat 10 Oct is worked: the 20th working day is Thu 22 Oct, where calendar
    # days would say 8 Oct.
    cal = china_calendar()
    assert cal.add(D(2026, 9, 18), 20, "working") == D(2026, 10, 22)
    state = published()
    assert state.status == "published" and state.flags == ()
    late = refused(Notice("N-1"), PublishNotice(terms(bidding_at=at(D(2026, 10, 21), 10)),
                                                "alice"), PUBLISHED_AT)
    assert late.code == "period_too_short"
    assert "notice period: 19 working days" in late.detail


def test_the_adjusted_saturday_counts_as_a_working_day_of_the_application_window() -> None:
    two = NoticeDecider(china_calendar(),
                        periods={"other": MinimumPeriods(Period(0), Period(2, "working"))})
    # Thu 8 Oct to Sat 10 Oct 2026: Fri 9 and the adjusted Sat 10 are working days.
    window = terms(kind="other", apply_from=at(D(2026, 10, 8)), apply_until=at(D(2026, 10, 10)),
                   deposit_until=at(D(2026, 10, 10)), bidding_at=at(D(2026, 10, 12)))
    assert not isinstance(two.decide(Notice("N"), PublishNotice(window, "a"),
                                     at(D(2026, 10, 1))), Rejection)
    # Fri 9 to Sun 11: the Sunday is not worked, so the window has the same two days...
    shifted = replace(window, apply_from=at(D(2026, 10, 9)), apply_until=at(D(2026, 10, 11)))
    short = two.decide(Notice("N"), PublishNotice(shifted, "a"), at(D(2026, 10, 1)))
    assert isinstance(short, Rejection) and short.code == "period_too_short"
    assert "application period: 1 working days" in short.detail


def test_calendar_day_periods_count_the_holiday() -> None:
    land = terms(kind="land", apply_from=at(D(2026, 9, 18)), apply_until=at(D(2026, 10, 9)),
                 deposit_until=at(D(2026, 10, 9)), bidding_at=at(D(2026, 10, 9), 10))
    # 21 calendar days from 18 Sep to 9 Oct, the holidays counted; the window's 10 working
    # days are 20, 21-24 Sep (25 Sep is the Mid-Autumn Festival), 28-30 Sep, 8 and 9 Oct.
    state = published(land)
    assert state.terms == land
    early = replace(land, apply_until=at(D(2026, 10, 7)), deposit_until=at(D(2026, 10, 7)),
                    bidding_at=at(D(2026, 10, 7), 18))
    early = refused(Notice("N-1"), PublishNotice(early, "a"), PUBLISHED_AT)
    assert "notice period: 19 calendar days" in early.detail


@pytest.mark.parametrize("changes, code", [
    ({"apply_until": at(D(2026, 9, 21))}, "invalid_schedule"),
    ({"bidding_at": at(D(2026, 10, 19), 16)}, "invalid_schedule"),
    ({"deposit_until": at(D(2026, 9, 21))}, "invalid_schedule"),
    ({"deposit_until": at(D(2026, 10, 23))}, "invalid_schedule"),
    ({"kind": "lottery"}, "invalid_params"),
    ({"lot_ids": ()}, "invalid_params"),
])
def test_a_schedule_out_of_order_or_a_notice_without_lots_is_refused(
        changes: dict[str, object], code: str) -> None:
    assert refused(Notice("N-1"), PublishNotice(terms(**changes), "a"), PUBLISHED_AT).code == code


def test_a_window_that_ended_before_publication_is_refused() -> None:
    result = refused(Notice("N-1"), PublishNotice(terms(), "a"), at(D(2026, 10, 20)))
    assert result.code == "invalid_schedule" and "ended" in result.detail


def test_a_period_reaching_a_year_the_calendar_does_not_know_is_flagged_not_refused() -> None:
    far = terms(kind="land", apply_from=at(D(2099, 1, 5)), apply_until=at(D(2099, 2, 5)),
                deposit_until=at(D(2099, 2, 5)), bidding_at=at(D(2099, 2, 10)))
    state, events = decide(Notice("N-9"), PublishNotice(far, "a"), at(D(2098, 12, 1)))
    assert state.flags == ("unknown_year:2098", "unknown_year:2099")
    assert isinstance(events[0], NoticePublished)
    assert events[0].flags == ["unknown_year:2098", "unknown_year:2099"]


def test_a_material_amendment_restarts_the_periods_from_its_own_day() -> None:
    state = published()
    amended_at = at(D(2026, 9, 25))
    # The same bidding day, 4 days later: 20 working days no longer fit.
    moved = terms(terms="竞买须知（更正）")
    result = refused(state, AmendNotice(moved, "alice", "更正竞买须知"), amended_at)
    assert result.code == "period_too_short"
    # Bidding moved to 29 Oct (20 working days after 25 Sep): accepted, periods restarted.
    later = replace(moved, bidding_at=at(D(2026, 10, 29), 10))
    state, events = decide(state, AmendNotice(later, "alice", "更正竞买须知，顺延竞价时间"),
                           amended_at)
    assert isinstance(events[0], NoticeAmended) and events[0].material
    assert state.periods_from == amended_at and state.amendments == 1
    assert state.published_at == PUBLISHED_AT and state.terms == later


def test_an_amendment_of_the_title_alone_keeps_the_periods_running() -> None:
    state = published()
    state, events = decide(state, AmendNotice(terms(title="更正后的标题"), "alice", "标题笔误"),
                           at(D(2026, 10, 12)))
    assert isinstance(events[0], NoticeAmended) and not events[0].material
    assert state.periods_from == PUBLISHED_AT and state.terms is not None
    assert state.terms.title == "更正后的标题"


def test_an_amendment_a_withdrawal_and_a_second_publication_need_their_conditions() -> None:
    state = published()
    assert refused(state, AmendNotice(terms(), "a", " "), PUBLISHED_AT).code == "reason_required"
    assert refused(state, WithdrawNotice("a", ""), PUBLISHED_AT).code == "reason_required"
    assert refused(state, PublishNotice(terms(), "a"), PUBLISHED_AT).code == "exists"
    state, _ = decide(state, WithdrawNotice("alice", "标的权属存在争议"), PUBLISHED_AT + 1)
    assert state.status == "withdrawn" and state.withdrawn_reason == "标的权属存在争议"
    assert phase(state, PUBLISHED_AT) == "withdrawn"
    assert refused(state, AskQuestion("acct", "?"), PUBLISHED_AT).code == "not_published"
    assert refused(Notice("N-2"), AskQuestion("acct", "?"), PUBLISHED_AT).code == "not_published"


def test_questions_are_answered_in_public_without_the_askers_identity() -> None:
    state = published()
    state, events = decide(state, AskQuestion("org-91350100M000100Y43", "可否联合竞买？"),
                           at(D(2026, 9, 22)))
    assert events[0].actor == "org-91350100M000100Y43"
    state, _ = decide(state, AnswerQuestion(1, "alice", "本标的不接受联合竞买。"),
                      at(D(2026, 9, 23)))
    shown = public_questions(state)
    assert shown == [{"no": 1, "asked_at": at(D(2026, 9, 22)), "text": "可否联合竞买？",
                      "answer": "本标的不接受联合竞买。", "answered_at": at(D(2026, 9, 23))}]
    assert "org-" not in repr(shown)
    assert refused(state, AnswerQuestion(1, "alice", "again"), PUBLISHED_AT).code == \
        "already_answered"
    assert refused(state, AnswerQuestion(2, "alice", "?"), PUBLISHED_AT).code == \
        "unknown_question"
    closed = refused(state, AskQuestion("acct", "late?"), at(D(2026, 10, 19), 18))
    assert closed.code == "invalid_state"


def test_a_notice_takes_a_bounded_number_of_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("auction.trade.notices.MAX_QUESTIONS", 1)
    state, _ = decide(published(), AskQuestion("a", "1"), PUBLISHED_AT)
    assert refused(state, AskQuestion("a", "2"), PUBLISHED_AT).code == "invalid_state"


def test_the_phase_follows_the_schedule() -> None:
    state = published()
    t = terms()
    assert phase(state, t.apply_from - 1) == "announced"
    assert phase(state, t.apply_from) == "applying"
    assert phase(state, t.apply_until) == "closed"
    assert phase(state, t.bidding_at) == "bidding"
    assert phase(Notice("N-0"), 0) == "withdrawn"


def test_a_period_is_whole_days_in_a_known_unit() -> None:
    with pytest.raises(ValueError):
        Period(-1)
    with pytest.raises(ValueError):
        Period(3, "lunar")  # type: ignore[arg-type]


def test_the_centers_periods_override_the_defaults_kind_by_kind() -> None:
    periods = parse_periods(["land=30c/15w", "other=0c/0w"])
    assert periods["land"] == MinimumPeriods(Period(30), Period(15, "working"))
    assert periods["other"] == MinimumPeriods(Period(0), Period(0, "working"))
    assert periods["mining"] == DEFAULT_PERIODS["mining"]


@pytest.mark.parametrize("entry", ["land=20c", "lottery=1c/1w", "land=20d/10w", "land=c/10w",
                                   "land=２0c/10w"])
def test_a_malformed_period_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_periods([entry])
