"""The result notice (结果公示) and objections (异议): the period in working days, who may
object and until when, staff's answers and outcomes, what the public sees."""

import datetime as dt
from dataclasses import replace

from auction.aggregate import replay
from auction.model import Event, Rejection
from auction.trade.results import (
    RESULT_NOTICES,
    AnswerObjection,
    FileObjection,
    PublishNotice,
    ResultNotice,
    full_view,
    public_view,
    publicity_end,
)
from auction.workdays import china_midnight_ms
from web.workdays import china_calendar

# The lot ended on Thursday 2026-09-24, 15:00 China time; Friday 25 September (Mid-Autumn)
# and 1-7 October (National Day) are holidays, Saturday 10 October an adjusted working day.
ENDED = china_midnight_ms(dt.date(2026, 9, 24)) + 15 * 3_600_000
CAL = china_calendar()
ENDS = publicity_end(ENDED, 5, CAL)
PUBLISH = PublishNotice(lot_id="L-1", trade_kind="land", working_days=5, starts_at=ENDED,
                        ends_at=ENDS, issuer="某市公共资源交易中心", contact="0571-1234",
                        bidders=["a", "b"], actor="alice")
FILE = FileObjection(bidder_id="b", bidder_no="1377",
                     text="报价时间记录有误", actor="1377")
UPHOLD = AnswerObjection(objection_id="O-1", outcome="upheld", effect="suspended",
                         reason="经核查，暂停成交，待复核", actor="alice")


def run(*commands: object, at: int = ENDED + 1000) -> ResultNotice:
    state = RESULT_NOTICES.initial("L-1")
    events: list[Event] = []
    for command in commands:
        decision = RESULT_NOTICES.decide(state, command, at)  # type: ignore[arg-type]
        assert isinstance(decision, list), decision
        events += decision
        state = replay(RESULT_NOTICES, "L-1", events)
    return state


def refusal(state: ResultNotice, command: object, at: int = ENDED + 1000) -> str:
    decision = RESULT_NOTICES.decide(state, command, at)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection)
    return decision.code


def test_the_period_counts_working_days_over_a_holiday_and_an_adjusted_working_day() -> None:
    # Mon 28, Tue 29, Wed 30 September, Thu 8, Fri 9 October: five working days.
    assert ENDS == china_midnight_ms(dt.date(2026, 10, 10)) - 1
    across = publicity_end(china_midnight_ms(dt.date(2026, 9, 30)) + 1, 3, CAL)
    assert across == china_midnight_ms(dt.date(2026, 10, 11)) - 1  # 8, 9 and Sat 10 October


def test_a_period_of_no_working_day_ends_when_the_lot_ended() -> None:
    assert publicity_end(ENDED, 0, CAL) == ENDED


def test_a_bidder_objects_within_the_period_and_staff_answer_it_publicly() -> None:
    state = run(PUBLISH, FILE, UPHOLD)
    assert state.award == "suspended"
    public = public_view(state)
    assert public["published"] and public["ends_at"] == ENDS and public["trade_kind"] == "land"
    [entry] = public["objections"]
    assert entry["outcome"] == "upheld" and entry["effect"] == "suspended"
    assert entry["answer"] == "经核查，暂停成交，待复核"
    assert "1377" not in str(public) and "报价时间记录有误" not in str(public)
    assert "b" not in [v for e in public["objections"] for v in e.values()]
    staff = full_view(state)
    assert staff["objections"][0]["bidder_no"] == "1377"
    assert staff["objections"][0]["text"] == "报价时间记录有误"
    assert full_view(state, "b")["objections"][0]["mine"] is True
    assert "text" not in full_view(state, "a")["objections"][0]


def test_an_objection_after_the_period_or_from_a_stranger_is_refused() -> None:
    state = run(PUBLISH)
    assert refusal(state, FILE, ENDS + 1) == "period_over"
    assert RESULT_NOTICES.decide(state, FILE, ENDS) != []  # the last millisecond still counts
    assert refusal(state, replace(FILE, bidder_id="x")) == "not_a_bidder"
    assert list(run(PUBLISH, FILE, FILE).objections) == ["O-1", "O-2"]
    assert refusal(state, replace(FILE, text="  ")) == "invalid_input"
    assert refusal(state, replace(FILE, text="长" * 4001)) == "invalid_input"


def test_nothing_is_filed_or_answered_before_the_notice_is_published() -> None:
    fresh = RESULT_NOTICES.initial("L-1")
    assert refusal(fresh, FILE) == "not_published"
    assert refusal(fresh, UPHOLD) == "not_published"
    assert public_view(fresh) == {"lot_id": "L-1", "published": False, "award": "stands",
                                  "objections": []}


def test_publishing_twice_changes_nothing_and_a_bad_notice_is_refused() -> None:
    state = run(PUBLISH)
    assert RESULT_NOTICES.decide(state, replace(PUBLISH, working_days=9), ENDED) == []
    fresh = RESULT_NOTICES.initial("L-1")
    assert refusal(fresh, replace(PUBLISH, lot_id="L-2")) == "invalid_input"
    assert refusal(fresh, replace(PUBLISH, working_days=0)) == "invalid_input"
    assert refusal(fresh, replace(PUBLISH, ends_at=ENDED)) == "invalid_input"


def test_an_answer_needs_a_reason_a_known_outcome_and_an_effect_only_when_upheld() -> None:
    state = run(PUBLISH, FILE)
    assert refusal(state, replace(UPHOLD, objection_id="O-9")) == "unknown_objection"
    assert refusal(state, replace(UPHOLD, reason="")) == "reason_required"
    assert refusal(state, replace(UPHOLD, outcome="maybe")) == "invalid_input"
    assert refusal(state, replace(UPHOLD, effect="")) == "invalid_input"
    assert refusal(state, replace(UPHOLD, outcome="dismissed")) == "invalid_input"
    dismissed = run(PUBLISH, FILE, replace(UPHOLD, outcome="dismissed", effect="",
                                           reason="异议不成立"))
    assert dismissed.award == "stands"
    assert public_view(dismissed)["objections"][0]["effect"] is None
    assert refusal(dismissed, UPHOLD) == "already_answered"


def test_an_annulled_award_stays_annulled_whatever_is_upheld_after() -> None:
    second = replace(FILE, bidder_id="a", bidder_no="4821")
    state = run(PUBLISH, FILE, second, replace(UPHOLD, effect="annulled"),
                replace(UPHOLD, objection_id="O-2"))
    assert state.award == "annulled"
    unanswered = run(PUBLISH, FILE)
    assert public_view(unanswered)["objections"][0]["outcome"] is None
