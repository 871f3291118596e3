"""HTTP routes of the record: result announcement, report, export, OCDS, deposits ledger,
collusion checks (docs/records.md). The data is built by the pure modules of
``auction/`` (:mod:`auction.report`, :mod:`auction.verify`, :mod:`auction.deposits`,
:mod:`auction.collusion`) from the lot's durable records; this module only reads,
authorises and encodes.

Who may read what: the result announcement and the OCDS data are public (bidder numbers
only) and exist once a lot has ended (409 ``not_ended`` before); the report, the export,
the deposits ledger and the collusion checks are for staff (hosts and supervisors);
settling a deposit is for hosts.
"""

import dataclasses
import re
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from auction.collusion import DEFAULT, LotRecord, check_lot, check_lots
from auction.deposits import ledger
from auction.formats import revealed_records, withheld
from auction.lot import replay
from auction.model import ApplyDeposit, ForfeitDeposit, RefundDeposit
from auction.record import Recorded
from auction.report import (
    RESULT_STATUSES,
    announcement,
    full_report,
    ocds_package,
    ocds_release,
    report_csv,
)
from auction.state import LotState
from auction.trade.results import RESULT_NOTICES
from auction.verify import build_export, dumps
from auction.views import PUBLIC, snapshot
from engine.api import Engine
from web.api import read_body, require_host, require_staff, run_command
from web.errors import WebError, lot_missing
from web.keys import BANK, CONNECTION_LOG, ENGINE, SETTINGS
from web.publicity import notice_period
from web.trade import applicants_by_lot

SETTLE = {"refund": RefundDeposit, "forfeit": ForfeitDeposit, "apply": ApplyDeposit}


def _default(value: object) -> Any:
    if isinstance(value, Decimal):  # exact money for OCDS: written as a JSON number
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"cannot encode {type(value).__name__}")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data, default=_default), status=status,
                        content_type="application/json", headers={"Cache-Control": "no-store"})


async def _lot(request: web.Request, lot_id: str | None = None
               ) -> tuple[LotState, list[Recorded]]:
    """The lot's permanent record (:meth:`engine.api.Engine.record`) and the state it
    gives. The engine's live state may run ahead of it (a commit in flight, or Postgres
    catching up with the scale-out backend): then the records are replayed instead, so a
    report never shows an event the permanent record does not hold."""
    engine = request.config_dict[ENGINE]
    lot_id = lot_id or request.match_info["lot_id"]
    if await engine.find(lot_id) is None:  # an ended lot is read from the store
        raise lot_missing(engine.quarantined(), lot_id)
    records = await engine.record(lot_id)
    state = engine.read(lot_id)
    if state is None or state.version != (records[-1].seq if records else 0):
        state = replay(r.event for r in records)
    assert state is not None  # a lot that exists has at least its LotCreated
    return state, records


async def _every_lot(engine: Engine, session_id: str | None) -> AsyncIterator[str]:
    """Every lot (of ``session_id`` if given) in order of creation, from the store's
    listing a page at a time (each page's ended lots read while they are recent)."""
    after: str | None = None
    while True:
        states, after = await engine.lots(session_id=session_id, after=after)
        for state in states:
            yield state.lot_id
        if after is None:
            return


def _ended(state: LotState) -> None:
    if state.status not in RESULT_STATUSES:
        raise WebError(409, "not_ended", f"the lot is {state.status}: its result is "
                                         "published when it has ended")


def _not_sealed(state: LotState) -> None:
    """Refuse what would show amounts of bids nobody may see yet: a sealed lot before its
    opening, a multi_round lot under way, either cancelled before revealing its bids
    (:func:`auction.formats.withheld`)."""
    if withheld(state):
        raise WebError(409, "sealed", "the lot's bids are not revealed yet (a sealed lot "
                                      "before its opening, a multi_round lot under way) or "
                                      "its record holds a reserve sealed until it ends: no "
                                      "record showing them is given before")


async def _record(request: web.Request, state: LotState, records: list[Recorded],
                  applicants: Mapping[str, list[dict[str, Any]]]) -> LotRecord:
    """What the collusion checks read of a lot: its record, its connections, its
    applicants (web/trade.py) and the bank's transfers for its bidders (web/bank.py)."""
    ledger = await request.config_dict[BANK].ledger()
    payments = [(t.party_id, t.payer_account, t.transaction_id)
                for t in ledger.transfers.values() if t.lot_id == state.lot_id and t.party_id]
    return LotRecord(state, records, request.config_dict[CONNECTION_LOG].entries(state.lot_id),
                     applicants=applicants.get(state.lot_id, []), payments=payments)


# ------------------------------------------------------------------------ public


async def lot_result(request: web.Request) -> web.Response:
    """The result announcement (结果公示) of an ended lot."""
    state, records = await _lot(request)
    _ended(state)
    result = announcement(state, revealed_records(state, records))
    settings = request.config_dict[SETTINGS]
    # Who issues the announcement and for how long it stands (公示期): the center's
    # settings; the period runs from the lot's end.
    result["issuer"] = {"name": settings.center_name, "contact": settings.center_contact}
    # The period is the result notice's (web/after.py): working days of the kind of trade.
    ended = result.get("ended_at")
    notice = await request.config_dict[ENGINE].aggregates.state(RESULT_NOTICES, state.lot_id)
    if notice.published is not None:
        days, until = notice.published.working_days, notice.published.ends_at
    elif ended is not None:
        days, until = notice_period(settings, ended, "default")
    else:
        days, until = settings.publicity_days, None
    result["publicity"] = {"days": days, "unit": "working", "from": ended, "until": until}
    # A lot decided by the public draw (摇号) says so, with what anyone needs to recompute it.
    play = snapshot(state, PUBLIC).get("play")
    if isinstance(play, dict) and play.get("draw"):
        result["draw"] = {**play["draw"], "seed_hash": play.get("seed_hash"),
                          "cap": play.get("cap")}
    return _json(result)



def _publisher(request: web.Request) -> tuple[str, str]:
    """The OCDS ``ocid`` prefix and publisher's name: settings (``ocid_prefix``,
    ``ocds_publisher``)."""
    settings = request.config_dict[SETTINGS]
    return settings.ocid_prefix, settings.ocds_publisher


async def lot_ocds(request: web.Request) -> web.Response:
    """An OCDS release package with the release of one ended lot."""
    state, records = await _lot(request)
    _ended(state)
    prefix, publisher = _publisher(request)
    release = ocds_release(state, revealed_records(state, records), prefix, publisher)
    return _json(ocds_package([release], str(request.url), request.config_dict[ENGINE].now(),
                              publisher))


async def all_ocds(request: web.Request) -> web.Response:
    """An OCDS release package with one release per ended lot (``?session_id=`` filters)."""
    engine = request.config_dict[ENGINE]
    session_id = request.query.get("session_id")
    prefix, publisher = _publisher(request)
    releases = []
    async for lot_id in _every_lot(engine, session_id):
        state, records = await _lot(request, lot_id)
        if state.status in RESULT_STATUSES:
            releases.append(ocds_release(state, revealed_records(state, records), prefix,
                                         publisher))
    return _json(ocds_package(releases, str(request.url), engine.now(), publisher))


# ------------------------------------------------------------------------ staff


#: A UTC offset from -14:00 to +14:00 (the ``tz`` pattern of the OpenAPI document).
_TZ = re.compile(r"([+-]?)((?:0?[0-9]|1[0-3]):[0-5][0-9]|14:00)", re.ASCII)


def _offset_minutes(request: web.Request) -> int:
    """``?tz=`` (default ``+08:00``; ``08:00`` and ``-05:00`` too) as minutes east of UTC.
    In a query string ``+`` means a space: write ``%2B08:00`` or leave the sign out."""
    match = _TZ.fullmatch(request.query.get("tz", "+08:00"))
    if match is None:
        raise WebError(400, "bad_request", "tz must be a UTC offset such as 08:00 or -05:00")
    hours, minutes = match.group(2).split(":")
    return (-1 if match.group(1) == "-" else 1) * (int(hours) * 60 + int(minutes))


async def lot_report(request: web.Request) -> web.Response:
    """The full report: JSON, or ``?format=csv`` (UTF-8 with a byte-order mark)."""
    require_staff(request)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise WebError(400, "bad_request", "format must be json or csv")
    offset = _offset_minutes(request)  # checked whatever the format: bad input is refused
    state, records = await _lot(request)
    _not_sealed(state)
    record = await _record(request, state, records,
                           await applicants_by_lot(request.config_dict))
    flags = [f.to_dict() for f in check_lot(record)]
    report = full_report(state, records, record.connections, flags,
                         request.config_dict[ENGINE].now())
    if fmt == "json":
        settings = request.config_dict[SETTINGS]
        # The printed report's header: the center that issues it.
        report["center"] = {"name": settings.center_name, "contact": settings.center_contact}
        return _json(report)
    return web.Response(
        body=("\ufeff" + report_csv(report, offset)).encode("utf-8"),
        headers={"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
                 "Content-Disposition": f'attachment; filename="report-{state.lot_id}.csv"'})


async def lot_export(request: web.Request) -> web.Response:
    """The lot's verifiable export (see :mod:`auction.verify`)."""
    require_staff(request)
    state, records = await _lot(request)
    _not_sealed(state)
    doc = build_export(state, records, request.config_dict[ENGINE].now())
    return web.Response(text=dumps(doc), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def lot_deposits(request: web.Request) -> web.Response:
    """The lot's deposits ledger and what is to be refunded."""
    require_staff(request)
    state, records = await _lot(request)
    return _json(ledger(state, records))


def settle(action: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        host = require_host(request)
        lot_id = request.match_info["lot_id"]
        if await request.config_dict[ENGINE].find(lot_id) is None:
            raise lot_missing(request.config_dict[ENGINE].quarantined(), lot_id)
        body = await read_body(request)
        command = SETTLE[action](bidder_id=request.match_info["bidder_id"],
                                  actor=host.staff_id, reason=body.reason)
        return await run_command(request, lot_id, command)

    handle.__name__ = f"{action}_deposit"
    return handle


async def lot_collusion(request: web.Request) -> web.Response:
    """The per-lot collusion checks of one lot."""
    require_staff(request)
    state, records = await _lot(request)
    _not_sealed(state)
    flags = check_lot(await _record(request, state, records,
                                    await applicants_by_lot(request.config_dict)))
    return _json({"lot_id": state.lot_id, "flags": [f.to_dict() for f in flags]})


async def all_collusion(request: web.Request) -> web.Response:
    """Every lot's checks, and the checks across lots (``?session_id=`` filters)."""
    require_staff(request)
    engine = request.config_dict[ENGINE]
    session_id = request.query.get("session_id")
    applicants = await applicants_by_lot(request.config_dict)
    records = []
    async for lot_id in _every_lot(engine, session_id):
        state, lot_records = await _lot(request, lot_id)
        if not withheld(state):  # sealed bids are checked once they are opened
            records.append(await _record(request, state, lot_records, applicants))
    per_lot = {r.state.lot_id: [f.to_dict() for f in check_lot(r)] for r in records}
    thresholds = {k: str(v) if not isinstance(v, int | str) else v
                  for k, v in dataclasses.asdict(DEFAULT).items()}
    return _json({"lots": per_lot, "across": [f.to_dict() for f in check_lots(records)],
                  "checked": len(records), "thresholds": thresholds})

