"""The result notice's period (公示期) as the server reckons it: how many working days a
kind of trade gets and when the notice of a lot ends (published, or as it would be with
the default kind). One place for the result page (:mod:`web.records`), the notice's
routes (:mod:`web.after`) and the refunds, which fall due after it (:mod:`web.bank`)."""

from typing import Any

from auction.report import _times
from auction.trade.results import RESULT_NOTICES, ResultNotice, publicity_end
from web.config import Settings
from web.workdays import center_calendar


def notice_period(settings: Settings, ended_at: int, trade_kind: str) -> tuple[int, int]:
    """The working days of the publicity period (公示期) of ``trade_kind`` and its last
    millisecond for a lot that ended at ``ended_at``."""
    days = settings.publicity_kinds.get(trade_kind, settings.publicity_days)
    return days, publicity_end(ended_at, days, center_calendar(settings))


async def result_notice_ends(engine: Any, settings: Settings, lot_id: str,
                             records: list[Any] | None = None) -> int | None:
    """When the result notice of lot ``lot_id`` ends (its last millisecond): the published
    notice's end, else the end it gets when published with the default kind of trade;
    None while the lot has not ended. What refunds fall due after. ``records``: the lot's
    permanent record when the caller holds it already."""
    notice: ResultNotice = await engine.aggregates.state(RESULT_NOTICES, lot_id)
    if notice.published is not None:
        return notice.published.ends_at
    _, ended = _times(records if records is not None else await engine.record(lot_id))
    return None if ended is None else notice_period(settings, ended, "default")[1]
