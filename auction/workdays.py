"""Working days (工作日) as China's trading rules count them.

A notice period, an application window, a publicity period (公示期) or a refund deadline
is counted in calendar days or in working days. Working days follow the State Council's
public holidays and adjusted working days (调休), taken from the maintained
``chinesecalendar`` package, plus a center's own additions (a local holiday, a day the
center is closed, a published adjustment for a year the package does not know yet).

For a year the package does not cover, Monday to Friday are working days and Saturday and
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

import chinese_calendar  # type: ignore[import-untyped]

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


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkCalendar:
    """China's working days, with a center's own holidays and working days on top (its
    entries win over the package's)."""

    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[dt.date | str] = (),
           workdays: Iterable[dt.date | str] = ()) -> WorkCalendar:
        """A calendar from dates or ISO ``YYYY-MM-DD`` texts; a date in both lists is an
        error (ValueError)."""
        rest = frozenset(_as_date(d) for d in holidays)
        work = frozenset(_as_date(d) for d in workdays)
        both = sorted(rest & work)
        if both:
            raise ValueError(f"both a holiday and a working day: {both[0].isoformat()}")
        return cls(rest, work)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        if _package_knows(day.year):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

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
        """The years from ``start`` to ``end`` whose holidays the package does not know
        (counted as Monday to Friday plus the center's additions)."""
        first, last = sorted((start.year, end.year))
        return [year for year in range(first, last + 1) if not _package_knows(year)]


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)
