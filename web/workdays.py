"""China's working-day calendar at the edge: the State Council's public holidays and
adjusted working days (调休) from the maintained ``chinesecalendar`` package, handed to the
rules core as data (:class:`auction.workdays.WorkCalendar`), with the center's own days
(``center_holidays``, ``center_workdays``) on top."""

import datetime as dt
from functools import lru_cache

import chinese_calendar  # type: ignore[import-untyped]

from auction.workdays import WorkCalendar
from web.config import Settings


@lru_cache(maxsize=1)
def china_calendar() -> WorkCalendar:
    """China's calendar as the package publishes it (read once)."""
    days_off = frozenset(d for d in chinese_calendar.holidays if isinstance(d, dt.date))
    days_on = frozenset(d for d in chinese_calendar.workdays if isinstance(d, dt.date))
    years = {d.year for d in days_off | days_on}
    return WorkCalendar(days_off, days_on, frozenset(range(min(years), max(years) + 1)))


def center_calendar(settings: Settings) -> WorkCalendar:
    """China's calendar with the center's own days off and working days."""
    return _with_center(settings.center_holidays, settings.center_workdays)


@lru_cache(maxsize=8)
def _with_center(holidays: tuple[str, ...], workdays: tuple[str, ...]) -> WorkCalendar:
    return china_calendar().with_days(holidays, workdays)
