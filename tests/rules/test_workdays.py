"""Working days across China's public holidays and adjusted working days (调休)."""

import datetime as dt

import pytest

from auction.workdays import WorkCalendar, china_date, china_midnight_ms
from web.workdays import china_calendar

D = dt.date
CAL = china_calendar()


def test_the_national_day_week_is_not_counted_and_the_adjusted_saturday_is() -> None:
    # 2026: 1–7 October off; Saturday 10 October is a working day (调休).
    assert not CAL.is_workday(D(2026, 10, 1))
    assert not CAL.is_workday(D(2026, 10, 7))
    assert CAL.is_workday(D(2026, 10, 10))
    assert not CAL.is_workday(D(2026, 10, 11))
    # Wednesday 30 September, then the first working day after the holiday is the 8th.
    assert CAL.add(D(2026, 9, 30), 1, "working") == D(2026, 10, 8)
    # 8 (Thu), 9 (Fri), 10 (the adjusted Saturday), 12 (Mon), 13 (Tue).
    assert CAL.add(D(2026, 9, 30), 5, "working") == D(2026, 10, 13)
    assert CAL.count(D(2026, 9, 30), D(2026, 10, 13), "working") == 5


def test_the_adjusted_sunday_before_the_holiday_is_a_working_day() -> None:
    assert CAL.is_workday(D(2026, 9, 20))
    assert CAL.add(D(2026, 9, 19), 1, "working") == D(2026, 9, 20)


def test_calendar_days_count_every_day() -> None:
    assert CAL.add(D(2026, 9, 30), 20) == D(2026, 10, 20)
    assert CAL.count(D(2026, 9, 30), D(2026, 10, 20)) == 20
    assert CAL.count(D(2026, 10, 20), D(2026, 9, 30)) == 0
    assert CAL.count(D(2026, 10, 20), D(2026, 9, 30), "working") == 0
    assert CAL.add(D(2026, 10, 20), 0, "working") == D(2026, 10, 20)


def test_counting_and_adding_agree_on_working_days() -> None:
    start = D(2026, 1, 1)
    for days in range(0, 60, 7):
        end = CAL.add(start, days, "working")
        assert CAL.count(start, end, "working") == days
        assert days == 0 or CAL.is_workday(end)


def test_a_centers_own_holiday_and_working_day_win_over_the_package() -> None:
    cal = CAL.with_days(holidays=["2026-12-07"], workdays=[D(2026, 12, 12)])
    assert not cal.is_workday(D(2026, 12, 7))
    assert cal.is_workday(D(2026, 12, 12))
    # Friday 4 December + 2 working days: the 7th is closed, so the 8th and 9th.
    assert cal.add(D(2026, 12, 4), 2, "working") == D(2026, 12, 9)


def test_a_day_cannot_be_both_a_holiday_and_a_working_day() -> None:
    with pytest.raises(ValueError, match="2026-12-07"):
        CAL.with_days(holidays=["2026-12-07"], workdays=["2026-12-07"])


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add(D(2026, 1, 1), -1, "working")


def test_a_year_the_package_does_not_know_counts_weekdays_and_is_reported() -> None:
    assert CAL.unknown_years(D(2026, 12, 1), D(2027, 1, 31)) == [2027]
    assert CAL.unknown_years(D(2026, 1, 1), D(2026, 12, 31)) == []
    assert CAL.is_workday(D(2027, 1, 4))  # a Monday
    assert not CAL.is_workday(D(2027, 1, 2))  # a Saturday
    assert CAL.with_days(holidays=["2027-01-04"]).is_workday(D(2027, 1, 4)) is False


def test_dates_are_counted_in_china() -> None:
    # 2026-10-07 16:00 UTC is 2026-10-08 00:00 in China.
    at = china_midnight_ms(D(2026, 10, 8))
    assert china_date(at) == D(2026, 10, 8)
    assert china_date(at - 1) == D(2026, 10, 7)


def test_a_centers_working_day_undoes_a_public_holiday_and_its_day_off_an_adjusted_one() -> None:
    cal = CAL.with_days(holidays=["2026-10-10"], workdays=["2026-10-08"])
    assert cal.is_workday(D(2026, 10, 8)) and not cal.is_workday(D(2026, 10, 10))


def test_the_rules_core_counts_whatever_table_it_is_given() -> None:
    # The rules core holds no holiday table of its own: the edge gives it China's.
    bare = WorkCalendar()
    assert bare.is_workday(D(2026, 10, 1))  # a Thursday, no table
    assert bare.unknown_years(D(2026, 1, 1), D(2026, 1, 2)) == [2026]
    table = WorkCalendar(frozenset({D(2026, 10, 1)}), frozenset({D(2026, 10, 10)}),
                         frozenset({2026}))
    assert not table.is_workday(D(2026, 10, 1)) and table.is_workday(D(2026, 10, 10))
    assert table.unknown_years(D(2026, 1, 1), D(2026, 12, 31)) == []
