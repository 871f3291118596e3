"""Working days (工作日) as China's trading rules count them.

A notice period, an application window, a publicity period (公示期) or a refund deadline
is counted in calendar days or in working days. Working days follow the State Council's
public holidays and adjusted working days (调休), a table the edge takes from the
maintained ``chinesecalendar`` package (:mod:`web.workdays`: the rules core imports
nothing but the standard library), plus a center's own additions (a local holiday, a day
the center is closed, a published adjustment for a year the table does not know yet).

For a year the table does not cover, Monday to Friday are working days and Saturday and
Sunday are not, with the center's additions on top; :meth:`WorkCalendar.unknown_years`
tells which years of a period are counted that way, so a schedule that reaches into one
can be flagged instead of silently miscounted.

Dates are dates in China (UTC+8 all year, no daylight saving): :func:`china_date` turns the
server's UTC milliseconds into one. Pure: no clock is read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

DayUnit = Literal["calendar", "working"]
DAY_UNITS: tuple[DayUnit, ...] = ("calendar", "working")

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
_ONE_DAY = dt.timedelta(days=1)


def china_date(at_ms: int) -> dt.date:
    """The date in China at ``at_ms`` (milliseconds since the epoch, UTC)."""
    return dt.datetime.fromtimestamp(at_ms / 1000, CHINA).date()


def china_midnight_ms(day: dt.date) -> int:
    """Milliseconds since the epoch of 00:00 in China on ``day``."""
    start = dt.datetime.combine(day, dt.time(), CHINA)
    return int(start.timestamp()) * 1000


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: Monday to Friday, except ``days_off`` (public holidays, a center's
    own days off), plus ``days_on`` (adjusted working days, 调休). ``known_years`` are
    the years whose published table the calendar holds (a year outside them is counted
    as Monday to Friday and reported by :meth:`unknown_years`). Pure data: the edge
    builds China's from the ``chinesecalendar`` package (:mod:`web.workdays`)."""

    days_off: frozenset[dt.date] = frozenset()
    days_on: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()

    def with_days(self, holidays: Iterable[dt.date | str] = (),
                  workdays: Iterable[dt.date | str] = ()) -> WorkCalendar:
        """This calendar with a center's own days off and working days on top (they win
        over the table's; a date in both lists is an error, ValueError)."""
        rest = frozenset(_as_date(d) for d in holidays)
        work = frozenset(_as_date(d) for d in workdays)
        both = sorted(rest & work)
        if both:
            raise ValueError(f"both a holiday and a working day: {both[0].isoformat()}")
        return WorkCalendar((self.days_off - work) | rest, (self.days_on - rest) | work,
                            self.known_years)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.days_off:
            return False
        return day in self.days_on or day.weekday() < 5

    def add(self, start: dt.date, days: int, unit: DayUnit = "calendar") -> dt.date:
        """The day ``days`` days after ``start`` (``start`` itself not counted): with
        ``working``, the ``days``-th working day after it. ``days`` ≥ 0; 0 is ``start``."""
        if days < 0:
            raise ValueError("days must not be negative")
        if unit == "calendar":
            return start + dt.timedelta(days=days)
        day = start
        left = days
        while left:
            day += _ONE_DAY
            if self.is_workday(day):
                left -= 1
        return day

    def count(self, start: dt.date, end: dt.date, unit: DayUnit = "calendar") -> int:
        """Days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``):
        with ``working``, only working days count."""
        if end <= start:
            return 0
        if unit == "calendar":
            return (end - start).days
        total = 0
        day = start
        while day < end:
            day += _ONE_DAY
            total += self.is_workday(day)
        return total

    def unknown_years(self, start: dt.date, end: dt.date) -> list[int]:
        """The years from ``start`` to ``end`` whose holidays the calendar does not know
        (counted as Monday to Friday plus the center's additions)."""
        first, last = sorted((start.year, end.year))
        return [year for year in range(first, last + 1) if year not in self.known_years]


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)
