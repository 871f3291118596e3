"""What the record says after (or during) a lot, for each audience, as plain data.

* :func:`announcement`: the result announcement (结果公示) for the public: bidder numbers
  only, never identities, addresses or deposits.
* :func:`full_report`: the report for staff and supervisors: timeline, every bid with
  identities, staff actions with reasons, connections, deposits, collusion flags.
  :func:`report_csv` flattens it into one table for spreadsheets.
* :func:`ocds_release` / :func:`ocds_package`: the lot in the Open Contracting Data
  Standard 1.1 with the bids extension (see docs/records.md for the mapping). Amounts are
  :class:`decimal.Decimal` (exact); the caller writes them as JSON numbers.

Pure: every input is passed in (the connection log, the flags, the time of the report).
"""

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from auction import witnessed
from auction.deposits import ledger
from auction.formats import of
from auction.model import (
    SYSTEM,
    BidAccepted,
    LotCancelled,
    LotClosed,
    LotOpened,
)
from auction.money import format_amount
from auction.record import Recorded, event_to_dict
from auction.state import AWARDED, CANCELLED, FAILED, LotState
from auction.units import awards_of
from auction.verify import iso_time
from auction.views import STAFF, snapshot

#: Lot statuses with a result to announce.
RESULT_STATUSES = frozenset({AWARDED, FAILED, CANCELLED})
#: The OCDS bids extension the releases use.
OCDS_BID_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                      "ocds_bid_extension/v1.1.5/extension.json")
_OUTCOME_TYPES = ("LotAwarded", "LotFailed", "LotCancelled")


def _money(state: LotState, value: int | None) -> str | None:
    return None if value is None else format_amount(value, state.params.decimals)


def _chain_head(records: Sequence[Recorded]) -> dict[str, Any]:
    """Where the record stands: its last event, and the event that decided the outcome
    (which stays the same when deposits are settled later)."""
    decided = next((r for r in records if type(r.event).__name__ in _OUTCOME_TYPES), None)
    return {"last_seq": records[-1].seq if records else 0,
            "last_hash": records[-1].hash if records else None,
            "outcome_seq": decided.seq if decided else None,
            "outcome_hash": decided.hash if decided else None}


def _times(records: Sequence[Recorded]) -> tuple[int | None, int | None]:
    """When bidding opened and when it ended (closed or cancelled)."""
    opened = next((r.event.at for r in records if isinstance(r.event, LotOpened)), None)
    ended = next((r.event.at for r in records
                  if isinstance(r.event, (LotClosed, LotCancelled))), None)
    return opened, ended


def announcement(state: LotState, records: Sequence[Recorded]) -> dict[str, Any]:
    """The public result of an ended lot (status in :data:`RESULT_STATUSES`): the winner's
    bidder number, the price and time, how many bidders and bids, the price history and
    where the hash chain stands. Nothing that identifies a bidder but its number."""
    p = state.params
    o = state.outcome
    opened, ended = _times(records)
    history = [{"seq": r.seq, "at": r.event.at, "bidder_no": r.event.bidder_no,
                "amount": _money(state, r.event.amount)}
               for r in records if isinstance(r.event, BidAccepted)]
    return {
        "lot_id": state.lot_id, "session_id": state.session_id, "title": state.title,
        "format": state.format, "status": state.status, "direction": p.direction,
        "currency": p.currency, "start_price": _money(state, of(state).start_price(state)),
        "has_reserve": p.reserve is not None, "ceiling": _money(state, p.ceiling),
        "opened_at": opened, "ended_at": ended,
        "outcome": None if o is None else {
            "status": o.status, "bidder_no": o.bidder_no, "amount": _money(state, o.amount),
            "at": o.at, "reason": o.reason,
            # a multi-unit lot's winners (auction.units), best first
            **({"awards": [{"bidder_no": a.bidder_no, "units": a.units,
                            "amount": _money(state, a.amount)} for a in o.awards]}
               if o.awards else {})},
        "bidders": len(state.bidders),
        "eligible": sum(1 for b in state.bidders.values() if state.eligible(b)),
        "bidding": len({h["bidder_no"] for h in history}),
        "bid_count": len(history),
        "history": history,
        "record": _chain_head(records),
        # A reserve entered late (auction.witnessed): its commitment, and the amount and
        # salt revealed at the close.
        **({"reserve_entry": entry} if (entry := witnessed.view(state, False)) else {}),
    }


def _event_row(state: LotState, record: Recorded) -> dict[str, Any]:
    body = event_to_dict(record.event)
    if "amount" in body:
        body["amount"] = _money(state, body["amount"])
    return {"seq": record.seq, **body}


def full_report(state: LotState, records: Sequence[Recorded],
                connections: Sequence[Mapping[str, Any]], flags: Sequence[Mapping[str, Any]],
                generated_at: int) -> dict[str, Any]:
    """Everything staff and supervisors need to review the lot, identities included."""
    names = {b.bidder_id: b.name for b in state.bidders.values()}
    numbers = {b.bidder_id: b.bidder_no for b in state.bidders.values()}
    bids, actions = [], []
    for record in records:
        e = record.event
        if isinstance(e, BidAccepted):
            bids.append({"seq": record.seq, "at": e.at, "bidder_id": e.bidder_id,
                         "name": names.get(e.bidder_id, ""), "bidder_no": e.bidder_no,
                         "amount": _money(state, e.amount), "ip": e.ip, "device": e.device,
                         "ref": e.ref})
        elif e.actor != SYSTEM:
            row = _event_row(state, record)
            details = {k: v for k, v in row.items()
                       if k not in ("seq", "type", "at", "actor", "reason")}
            actions.append({"seq": record.seq, "at": e.at, "actor": e.actor,
                            "action": row["type"], "reason": row.get("reason"),
                            "details": details})
    conns = [{**entry, "name": names.get(str(entry.get("bidder_id")), ""),
              "bidder_no": entry.get("bidder_no") or numbers.get(str(entry.get("bidder_id")))}
             for entry in connections]
    opened, ended = _times(records)
    return {
        "lot_id": state.lot_id, "generated_at": generated_at,
        "final": state.status in RESULT_STATUSES,
        "lot": snapshot(state, STAFF), "opened_at": opened, "ended_at": ended,
        "timeline": [_event_row(state, r) for r in records],
        "bids": bids, "staff_actions": actions, "connections": conns,
        "deposits": ledger(state, records),
        "collusion": [dict(f) for f in flags],
        "record": _chain_head(records),
    }


CSV_COLUMNS = ("section", "seq", "time", "at_ms", "type", "actor", "bidder_no", "bidder_id",
               "name", "amount", "ip", "device", "reason", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _local_time(ms: int | None, offset_min: int) -> str:
    if ms is None:
        return ""
    local = iso_time(ms + offset_min * 60_000)[:-1].replace("T", " ")
    sign = "+" if offset_min >= 0 else "-"
    return f"{local} {sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_csv(report: Mapping[str, Any], offset_min: int = 480) -> str:
    """The report as one CSV table (``section``: event, connection, deposit, flag), times
    in the UTC offset ``offset_min`` (default +08:00, China Standard Time). Without the
    byte-order mark: the caller adds it for spreadsheets."""
    names = {b["bidder_id"]: b["name"] for b in report["lot"].get("register", [])}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def row(**cells: object) -> None:
        writer.writerow([_cell(cells.get(c)) for c in CSV_COLUMNS])

    for e in report["timeline"]:
        known = {"seq", "type", "at", "actor", "bidder_no", "bidder_id", "name", "amount", "ip",
                 "device", "reason"}
        detail = "; ".join(f"{k}={v}" for k, v in e.items() if k not in known)
        row(section="event", seq=e["seq"], time=_local_time(e["at"], offset_min), at_ms=e["at"],
            type=e["type"], actor=e["actor"], bidder_no=e.get("bidder_no"),
            bidder_id=e.get("bidder_id"),
            name=e.get("name") or names.get(e.get("bidder_id", ""), ""), amount=e.get("amount"),
            ip=e.get("ip"), device=e.get("device"), reason=e.get("reason"), detail=detail)
    for c in report["connections"]:
        row(section="connection", time=_local_time(c.get("at"), offset_min), at_ms=c.get("at"),
            type=c.get("kind"), actor=c.get("role"), bidder_no=c.get("bidder_no"),
            bidder_id=c.get("bidder_id"), name=c.get("name"), ip=c.get("ip"),
            device=c.get("device"), detail=c.get("staff_id") or "")
    for d in report["deposits"]["deposits"]:
        row(section="deposit", type=d["status"], bidder_no=d["bidder_no"],
            bidder_id=d["bidder_id"], name=d["name"], amount=d["amount"],
            detail=f"account={d['account']}")
    for f in report["collusion"]:
        row(section="flag", type=f["check"], actor=f["level"],
            bidder_no=" ".join(b["bidder_no"] for b in f["bidders"]),
            bidder_id=" ".join(b["bidder_id"] for b in f["bidders"]),
            reason=f["message"]["zh"], detail=f["message"]["en"])
    return out.getvalue()


# --------------------------------------------------------------------------- OCDS


def _party(bidder_no: str) -> dict[str, str]:
    return {"id": f"bidder-{bidder_no}", "name": f"竞买号 {bidder_no}"}


def _value(state: LotState, minor: int) -> dict[str, Any]:
    return {"amount": Decimal(format_amount(minor, state.params.decimals)),
            "currency": state.params.currency}


def ocds_release(state: LotState, records: Sequence[Recorded], prefix: str,
                 publisher: str) -> dict[str, Any]:
    """The OCDS release of an ended lot (status in :data:`RESULT_STATUSES`). Bidders are
    parties named by their bidder numbers only; every accepted bid is in ``bids.details``
    (the price history); the award, if any, references the winning bid."""
    p = state.params
    o = state.outcome
    assert o is not None  # an ended lot has an outcome
    opened, ended = _times(records)
    bids = [(r.seq, r.event) for r in records if isinstance(r.event, BidAccepted)]
    bidding = sorted({e.bidder_no for _, e in bids})
    ocid = f"{prefix}-{state.lot_id}"
    forward = p.direction == "forward"
    parties = [{"id": "center", "name": publisher, "roles": ["procuringEntity"]}]
    winners = {a.bidder_no for a in awards_of(state)}
    parties += [{**_party(no), "roles": ["tenderer", "supplier"]
                 if no in winners else ["tenderer"]}
                for no in bidding]
    amounts = [e.amount for _, e in bids]
    release: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{records[-1].seq}", "date": iso_time(o.at),
        "tag": {AWARDED: ["tender", "award"], FAILED: ["tender"],
                CANCELLED: ["tenderCancellation"]}[o.status],
        "initiationType": "tender", "language": "zh", "parties": parties,
        "tender": {
            "id": state.lot_id, "title": state.title,
            "status": {AWARDED: "complete", FAILED: "unsuccessful",
                       CANCELLED: "cancelled"}[o.status],
            "statusDetails": o.reason or o.status,
            "procuringEntity": {"id": "center", "name": publisher},
            "procurementMethod": "open",
            "procurementMethodDetails": (
                f"电子竞价（{'正向，价高者得' if forward else '反向，价低者得'}）/ online "
                f"{state.format} auction, {p.direction}: "
                f"{'highest' if forward else 'lowest'} price wins"),
            "submissionMethod": ["electronicAuction"],
            "awardCriteria": "priceOnly",
            "awardCriteriaDetails": "highest price" if forward else "lowest price",
            "tenderPeriod": {"startDate": iso_time(opened) if opened is not None else None,
                             "endDate": iso_time(ended) if ended is not None else None},
            "numberOfTenderers": len(bidding),
            "tenderers": [_party(no) for no in bidding],
        },
        "bids": {
            "statistics": [
                {"id": "bids", "measure": "bids", "value": len(bids)},
                {"id": "validBids", "measure": "validBids", "value": len(bids)},
                {"id": "bidders", "measure": "bidders", "value": len(bidding)},
            ],
            "details": [{"id": f"bid-{seq}", "date": iso_time(e.at), "status": "valid",
                         "tenderers": [_party(e.bidder_no)], "value": _value(state, e.amount)}
                        for seq, e in bids],
        },
    }
    start = of(state).start_price(state)
    if start is not None:  # the announced start price (a ceiling for multi_round lots)
        release["tender"]["value"] = _value(state, start)
    if amounts:
        for measure, amount in (("highestValidBidValue", max(amounts)),
                                ("lowestValidBidValue", min(amounts))):
            release["bids"]["statistics"].append(
                {"id": measure, "measure": measure, "value": _value(state, amount)["amount"],
                 "currency": p.currency})
    if o.status == AWARDED:
        # One award per winner (a multi-unit lot has several), worth all its units.
        awards = awards_of(state)
        release["awards"] = [{
            "id": f"{state.lot_id}-award" + (f"-{n}" if o.awards else ""),
            "title": state.title, "status": "active", "date": iso_time(o.at),
            "value": _value(state, a.amount * a.units), "suppliers": [_party(a.bidder_no)],
            "relatedBids": [f"bid-{max(seq for seq, e in bids if e.bidder_no == a.bidder_no)}"],
            **({"description": f"{a.units} unit(s) at {_money(state, a.amount)} each"}
               if o.awards else {})}
            for n, a in enumerate(awards, 1)]
    return release


def ocds_package(releases: Sequence[Mapping[str, Any]], uri: str, published: int,
                 publisher: str) -> dict[str, Any]:
    """An OCDS 1.1 release package holding ``releases``."""
    return {"uri": uri, "version": "1.1", "publishedDate": iso_time(published),
            "publisher": {"name": publisher}, "extensions": [OCDS_BID_EXTENSION],
            "releases": list(releases)}
