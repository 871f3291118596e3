"""A lot's verifiable export, and its verification by anyone, offline.

The export is one JSON document::

    {"format_version": 1, "lot_id": "L-7F3A9C21", "exported_at": 1767229300000,
     "chain": {...how the hashes are made, for the reader...},
     "events": [{"seq": 1, "event": {"type": "LotCreated", ...}, "hash": "9c1f..."}, ...],
     "outcome": {"status": "awarded", "bidder_no": "4821", "amount": "1260000.00", ...}}

``event`` is the event dict exactly as hashed (amounts in integer minor units), one entry
per line (see :func:`dumps`). :func:`verify` checks, in order of sequence number, and
reports the FIRST thing that does not hold:

1. the document's shape (``format``), each entry's ``seq`` (gap-free from 1: ``seq``),
   each ``hash`` (``h_n = sha256(h_{n-1} ‖ canonical event n)``: ``hash``) and that each
   event is a well-formed event of a known type (``event``);
2. the rules (``rules``): events are grouped back into the decisions that made them
   (a bid and the soft-close extension it caused, a close and its outcome...), the
   command of each decision is rebuilt from its first event and decided again by
   :func:`auction.lot.decide` at the event's own time against the state replayed so
   far; it must give exactly the recorded events. A record whose chain was forged
   consistently but which holds a bid the rules refuse, or an award to the wrong bidder,
   fails here;
3. the recorded ``outcome`` against the state replayed from all events (``outcome``).

Standard library only: no server, no database, no clock.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from auction import lot as rules
from auction import witnessed
from auction.default import (
    AwardChanged,
    ChangeAward,
    DeclareDefault,
    LinkRelisting,
    RelistedFrom,
    WinnerDefaulted,
)
from auction.errors import RecordError
from auction.formats import FORMATS
from auction.model import (
    SYSTEM,
    Announce,
    Announced,
    AnswerQuestion,
    ApplyDeposit,
    ApproveReserve,
    AskHost,
    BidAccepted,
    BidderRegistered,
    CancelLot,
    CloseExtended,
    Command,
    ConfirmDeposit,
    CreateLot,
    DepositApplied,
    DepositConfirmed,
    DepositForfeited,
    DepositRefunded,
    DrawCommitted,
    EnrollKey,
    EnterReserve,
    Event,
    ExtendLot,
    ForfeitDeposit,
    KeyEnrolled,
    LotCancelled,
    LotClosed,
    LotCreated,
    LotDrawn,
    LotFailed,
    LotOpened,
    LotPaused,
    LotResumed,
    LotScheduled,
    PauseLot,
    PlaceBid,
    QuestionAnswered,
    QuestionAsked,
    RefundDeposit,
    RegisterBidder,
    Rejection,
    ResumeLot,
    RevokeTokens,
    ScheduleLot,
    StartLot,
    Tick,
    TokensRevoked,
)
from auction.money import format_amount
from auction.record import GENESIS, Recorded, chain, event_from_dict, event_to_dict
from auction.state import LotState
from auction.witnessed import ReserveLapsed

FORMAT_VERSION = 1
_REQUIRED_KEYS = frozenset({"format_version", "lot_id", "events", "outcome"})
_OPTIONAL_KEYS = frozenset({"exported_at", "chain"})
_ENTRY_KEYS = frozenset({"seq", "event", "hash"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: What the ``chain`` member of an export says, for a reader who has none of our code.
CHAIN_INFO = {
    "algorithm": "sha256",
    "genesis": GENESIS,
    "rule": "hash_n = hex(sha256(bytes.fromhex(hash_{n-1}) + canonical_n)), hash_0 = genesis",
    "canonical": "UTF-8 JSON of {\"lot\": lot_id, \"seq\": n, \"event\": event}, keys sorted, "
                 "no whitespace (separators ',' and ':'), non-ASCII characters as is",
}


# --------------------------------------------------------------------------- export


def outcome_of(state: LotState, last_seq: int, last_hash: str) -> dict[str, Any]:
    """The outcome an export records (and verification recomputes): the lot's status, its
    winner and price or failure reason, how many bidders and bids, and the last event."""
    o = state.outcome
    amount = None
    if o is not None and o.amount is not None:
        amount = format_amount(o.amount, state.params.decimals)
    return {
        "status": state.status,
        "bidder_id": o.bidder_id if o else None,
        "bidder_no": o.bidder_no if o else None,
        "amount": amount,
        "currency": state.params.currency,
        "reason": o.reason if o else None,
        "at": o.at if o else None,
        "bidders": len(state.bidders),
        "bids": len(state.bids),
        "last_seq": last_seq,
        "last_hash": last_hash,
    }


def build_export(state: LotState, records: Sequence[Recorded],
                 exported_at: int | None = None) -> dict[str, Any]:
    """The export document of a lot from its state and ALL its records (seq 1 on)."""
    last_seq, last_hash = (records[-1].seq, records[-1].hash) if records else (0, GENESIS)
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "lot_id": state.lot_id}
    if exported_at is not None:
        doc["exported_at"] = exported_at
    doc["chain"] = dict(CHAIN_INFO)
    doc["events"] = [{"seq": r.seq, "event": event_to_dict(r.event), "hash": r.hash}
                     for r in records]
    doc["outcome"] = outcome_of(state, last_seq, last_hash)
    return doc


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False)


def dumps(doc: Mapping[str, Any]) -> str:
    """The export as text: the header on the first line, then ``"events":[``, one event
    entry per line (so a damaged file can be located by line), then the outcome."""
    head = ",".join(f"{_compact(k)}:{_compact(v)}" for k, v in doc.items()
                    if k not in ("events", "outcome"))
    entries = ",\n".join(
        f'{{"seq":{_compact(e["seq"])},"event":{_compact(e["event"])},'
        f'"hash":{_compact(e["hash"])}}}' for e in doc["events"])
    return (f"{{{head},\n\"events\":[\n{entries}\n],\n"
            f"\"outcome\":{_compact(doc['outcome'])}}}\n")


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """The first thing that does not hold: the event's ``seq`` (None when it concerns the
    whole document), a ``kind`` (format, seq, hash, event, rules, outcome) and words."""

    seq: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "document"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of :func:`verify`: ``ok`` with a summary, or the first discrepancy."""

    ok: bool
    summary: str
    discrepancy: Discrepancy | None = None
    lot_id: str | None = None
    events: int = 0


class _Found(Exception):
    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(str(discrepancy))
        self.discrepancy = discrepancy


def _fail(seq: int | None, kind: str, detail: str) -> _Found:
    return _Found(Discrepancy(seq, kind, detail))


def verify(data: bytes | str) -> Verification:
    """Verify an export document (its bytes or text); see the module's docstring."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            return _failed(Discrepancy(_entry_at_line(data.decode("utf-8", "replace"), line),
                                       "format", f"not UTF-8 at byte {exc.start} (line {line})"))
    else:
        text = data
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return _failed(Discrepancy(_entry_at_line(text, exc.lineno), "format",
                                   f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                                   f"{exc.colno}"))
    except ValueError as exc:
        return _failed(Discrepancy(None, "format", f"not valid JSON: {exc}"))
    try:
        return _verify_document(doc)
    except _Found as found:
        return _failed(found.discrepancy, doc.get("lot_id") if isinstance(doc, dict) else None)


def _failed(discrepancy: Discrepancy, lot_id: object = None) -> Verification:
    return Verification(False, f"FAILED: {discrepancy}", discrepancy,
                        lot_id if isinstance(lot_id, str) else None)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _entry_at_line(text: str, line: int) -> int | None:
    """The ``seq`` of the event entry on ``line`` (1-based) of a file laid out by
    :func:`dumps`, or None when the line is not inside the events."""
    lines = text.split("\n")
    start = next((i for i, s in enumerate(lines) if s.rstrip().endswith('"events":[')), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("]")),
               len(lines))
    index = line - 1
    return index - start if start < index < end else None


def _verify_document(doc: object) -> Verification:
    if not isinstance(doc, dict):
        raise _fail(None, "format", "the document is not a JSON object")
    missing = sorted(_REQUIRED_KEYS - set(doc))
    if missing:
        raise _fail(None, "format", f"the document has no {missing[0]!r}")
    unknown = sorted(set(doc) - _REQUIRED_KEYS - _OPTIONAL_KEYS)
    if unknown:
        raise _fail(None, "format", f"the document has an unknown member {unknown[0]!r}")
    if doc["format_version"] != FORMAT_VERSION or isinstance(doc["format_version"], bool):
        raise _fail(None, "format", f"format_version {doc['format_version']!r} is not "
                                    f"{FORMAT_VERSION}")
    lot_id, entries = doc["lot_id"], doc["events"]
    if not isinstance(lot_id, str) or not lot_id:
        raise _fail(None, "format", "lot_id is not a non-empty string")
    if not isinstance(entries, list) or not entries:
        raise _fail(None, "format", "events is not a non-empty list")
    if not isinstance(doc["outcome"], dict):
        raise _fail(None, "format", "outcome is not an object")
    events, broken, last_hash = _check_chain(lot_id, entries)
    state = _check_rules(lot_id, events, complete=broken is None)
    if broken is not None:
        raise broken
    assert state is not None  # a non-empty record that passed starts with LotCreated
    recorded = outcome_of(state, len(events), last_hash)
    _check_outcome(recorded, doc["outcome"])
    return Verification(True, _summary(state, recorded), None, lot_id, len(events))


def _check_chain(lot_id: str, entries: list[Any]) -> tuple[list[Event], _Found | None, str]:
    """The events of the entries up to the first one that does not hold, that failure
    (None if all hold) and the hash of the last good entry."""
    events: list[Event] = []
    prev = GENESIS
    for index, entry in enumerate(entries):
        seq = index + 1
        try:
            prev = _check_entry(lot_id, seq, prev, entry)
            events.append(event_from_dict(entry["event"]))
        except RecordError as exc:
            return events, _fail(seq, "event", exc.message), prev
        except _Found as found:
            return events, found, prev
    return events, None, prev


def _check_entry(lot_id: str, seq: int, prev: str, entry: object) -> str:
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        raise _fail(seq, "format", f"entry {seq} is not an object with exactly seq, event and "
                                   "hash")
    found = entry["seq"]
    if not isinstance(found, int) or isinstance(found, bool) or found != seq:
        what = ("removed, or the events reordered" if isinstance(found, int)
                and not isinstance(found, bool) and found > seq else "reordered or renumbered")
        raise _fail(seq, "seq", f"event {seq} is missing: entry {seq} has seq {found!r} "
                                f"(an event was {what})")
    digest, body = entry["hash"], entry["event"]
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise _fail(seq, "hash", f"the hash of event {seq} is not 64 lowercase hex digits")
    if not isinstance(body, dict):
        raise _fail(seq, "event", f"event {seq} is not an object")
    try:
        actual = chain(prev, lot_id, seq, body)
    except (TypeError, ValueError) as exc:
        raise _fail(seq, "event", f"event {seq} cannot be encoded: {exc}") from None
    if actual != digest:
        raise _fail(seq, "hash", f"event {seq} does not match its hash: the event, its hash, "
                                 "an earlier hash or the lot id was changed")
    return digest


# --------------------------------------------------------------------------- the rules


def command_of(event: Event) -> Command | None:
    """The command whose decision starts with ``event``, or None when no decision can
    start with it (an outcome, a soft-close extension: they follow a close or a bid).
    A signed action's command carries the event's signature, checked again by the rules."""
    command = _command_of(event)
    if event.signed is not None and hasattr(command, "signed"):  # a signable action
        return replace(command, signed=event.signed)  # type: ignore[type-var]
    return command


def _command_of(event: Event) -> Command | None:
    e: Any = event
    if isinstance(event, LotCreated):
        return CreateLot(lot_id=e.lot_id, session_id=e.session_id, format=e.format,
                         title=e.title, params=e.params, actor=e.actor, reason=e.reason)
    if isinstance(event, KeyEnrolled):
        return EnrollKey(bidder_id=e.bidder_id, alg=e.alg, key=e.key, certificate=e.certificate)
    if isinstance(event, BidAccepted):
        return PlaceBid(bidder_id=e.bidder_id, amount=e.amount, ip=e.ip, device=e.device,
                        ref=e.ref, confirmed=e.confirmed, units=e.units)
    if isinstance(event, LotClosed) or (isinstance(event, (LotOpened, LotCancelled))
                                        and event.actor == SYSTEM):
        return Tick()
    if isinstance(event, QuestionAsked):
        return AskHost(bidder_id=e.bidder_id, kind=e.kind, text=e.text, ip=e.ip,
                       device=e.device, ref=e.ref)
    if isinstance(event, LotFailed) and event.reason == "too_few_bidders":
        # A lot with too few eligible bidders fails instead of opening (min_bidders).
        return Tick() if event.actor == SYSTEM else StartLot(actor=e.actor)
    if isinstance(event, CloseExtended):
        if event.actor == SYSTEM:
            return None
        return ExtendLot(actor=e.actor, reason=e.reason, closes_at=e.closes_at)
    simple: dict[type[Event], tuple[type[Any], tuple[str, ...]]] = {
        BidderRegistered: (RegisterBidder, ("bidder_id", "bidder_no", "name", "reason")),
        DepositConfirmed: (ConfirmDeposit, ("bidder_id", "amount", "account", "reason")),
        TokensRevoked: (RevokeTokens, ("bidder_id", "reason")),
        LotScheduled: (ScheduleLot, ("reason", "opens_at")),
        LotOpened: (StartLot, ("reason",)),
        LotPaused: (PauseLot, ("reason", "notice")),
        LotResumed: (ResumeLot, ("reason", "restart")),
        LotCancelled: (CancelLot, ("reason", "notice")),
        Announced: (Announce, ("text", "reason")),
        QuestionAnswered: (AnswerQuestion, ("question", "text", "public", "reason")),
        DepositRefunded: (RefundDeposit, ("bidder_id", "reason")),
        DepositForfeited: (ForfeitDeposit, ("bidder_id", "reason")),
        DepositApplied: (ApplyDeposit, ("bidder_id", "reason")),
        WinnerDefaulted: (DeclareDefault, ("reason", "then", "new_lot_id", "start_price")),
        RelistedFrom: (LinkRelisting, ("prev_lot_id", "attempt", "reason")),
        AwardChanged: (ChangeAward, ("effect", "reason")),
        witnessed.ReserveEntered: (EnterReserve, ("amount", "salt", "reason")),
        witnessed.ReserveApproved: (ApproveReserve, ("commitment", "reason")),
    }
    if isinstance(event, ReserveLapsed):
        return Tick()  # a pending reserve entry lapsing at its deadline
    known = simple.get(type(event))
    if known is None:
        return next((c for fmt in FORMATS.values() if (c := fmt.command_of(event)) is not None),
                    None)
    command_type, names = known
    command: Command = command_type(actor=e.actor, **{n: getattr(e, n) for n in names})
    return command


def _check_rules(lot_id: str, events: list[Event], *, complete: bool) -> LotState | None:
    """Decide every decision again; raise the first discrepancy. ``complete`` is False
    when the record was cut at a broken entry: a decision running into it is not judged."""
    first = events[0] if events else None
    if isinstance(first, LotCreated) and first.lot_id != lot_id:
        raise _fail(1, "rules", f"the lot is {first.lot_id!r} but the document is for "
                                f"{lot_id!r}")
    state: LotState | None = None
    index = 0
    # The lot's draw seed and its commitment are the same for every Tick and StartLot of
    # the lot: the engine gave them to each; here they come from the record.
    seed_hash = next((e.seed_hash for e in events if isinstance(e, DrawCommitted)), "")
    seed = next((e.seed for e in events if isinstance(e, LotDrawn)), "")
    while index < len(events):
        event, seq = events[index], index + 1
        name = type(event).__name__
        command = command_of(event)
        if command is None:
            raise _fail(seq, "rules", f"no decision of the rules starts with {name} here")
        if isinstance(command, (Tick, StartLot)):
            command = replace(command, seed_hash=seed_hash, seed=seed)
        decision = rules.decide(state, command, event.at)
        if isinstance(decision, Rejection):
            detail = f" ({decision.detail})" if decision.detail else ""
            raise _fail(seq, "rules", f"the rules refuse this {name}: "
                                      f"{decision.code}{detail}")
        got = events[index:index + len(decision)]
        for offset, (expected, actual) in enumerate(zip(decision, got, strict=False)):
            if expected != actual:
                raise _fail(seq + offset, "rules", _difference(expected, actual))
        if len(got) < len(decision):
            if not complete:
                return state
            missing = type(decision[len(got)]).__name__
            raise _fail(seq + len(got), "rules",
                        f"the record ends inside a decision: the rules also record {missing}")
        for recorded in got:
            state = rules.evolve(state, recorded)
        index += len(decision)
    return state


def _difference(expected: Event, actual: Event) -> str:
    if type(expected) is not type(actual):
        return (f"the rules record {type(expected).__name__} here, the file has "
                f"{type(actual).__name__}")
    # Events of one type that are not equal differ in at least one field.
    name = next(f.name for f in fields(expected)
                if getattr(expected, f.name) != getattr(actual, f.name))
    return (f"{type(actual).__name__}.{name}: the rules give {getattr(expected, name)!r}, "
            f"the file has {getattr(actual, name)!r}")


def _check_outcome(recorded: dict[str, Any], claimed: dict[str, Any]) -> None:
    for key in sorted(set(recorded) | set(claimed)):
        if key not in claimed:
            raise _fail(None, "outcome", f"the outcome has no {key!r}")
        if key not in recorded:
            raise _fail(None, "outcome", f"the outcome has an unknown member {key!r}")
        want, have = recorded[key], claimed[key]
        if want != have or type(want) is not type(have):
            raise _fail(None, "outcome", f"outcome.{key}: the replayed record gives {want!r}, "
                                         f"the file says {have!r}")


def iso_time(ms: int) -> str:
    """Unix milliseconds as ISO 8601 UTC, e.g. ``2026-01-01T00:00:00.123Z``."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


def _summary(state: LotState, outcome: dict[str, Any]) -> str:
    n = outcome["last_seq"]
    status = outcome["status"]
    awards = state.outcome.awards if state.outcome is not None else []
    if status == "awarded" and awards:  # a multi-unit lot: every winner
        result = "awarded " + ", ".join(
            f"{a.units} unit{'s' * (a.units > 1)} to bidder No. {a.bidder_no} at "
            f"{format_amount(a.amount, state.params.decimals)}" for a in awards
        ) + f" {outcome['currency']} each at {iso_time(outcome['at'])}"
    elif status == "awarded":
        result = (f"awarded to bidder No. {outcome['bidder_no']} at {outcome['amount']} "
                  f"{outcome['currency']} at {iso_time(outcome['at'])}")
    elif status in ("failed", "cancelled"):
        result = f"{status} ({outcome['reason']}) at {iso_time(outcome['at'])}"
    else:
        result = f"not ended: the lot is {status}"
    return (f"VERIFIED: lot {state.lot_id} ({state.title}): all {n} events hold. The hash "
            f"chain is unbroken from the genesis to seq {n} (last hash "
            f"{outcome['last_hash']}); every event was decided again by the auction rules "
            f"and came out identical; the replayed outcome matches the recorded one: "
            f"{result}; {outcome['bidders']} bidders registered, {outcome['bids']} bids "
            f"accepted.")


# --------------------------------------------------------------------------- witnesses


def check_heads(data: bytes | str, heads: Sequence[Mapping[str, Any]]) -> Verification:
    """Verify an export (:func:`verify`) and check it against the chain heads public
    witnesses saw (``{"lot_id", "seq", "hash", "seen_at"}`` each, as ``auction witness``
    writes them; heads of other lots are ignored): the export must hold, for each head of
    its lot, an event ``seq`` whose hash is the one seen. A record rewritten after a
    witness saw it (even re-hashed consistently) fails here (kind ``witness``)."""
    result = verify(data)
    if not result.ok:
        return result
    doc = json.loads(data)
    entries = doc["events"]
    mine = [h for h in heads if h.get("lot_id") == result.lot_id]
    try:
        for head in sorted(mine, key=lambda h: (h.get("seq", 0), h.get("seen_at", 0))):
            seq, digest, seen = head.get("seq"), head.get("hash"), head.get("seen_at")
            when = iso_time(seen) if isinstance(seen, int) else "an unknown time"
            if not isinstance(seq, int) or seq < 1 or not isinstance(digest, str):
                raise _fail(None, "witness", f"a witness head is malformed: {dict(head)!r}")
            if seq > len(entries):
                raise _fail(seq, "witness", f"a witness saw event {seq} (hash {digest}) at "
                                            f"{when}; the export ends at event {len(entries)}")
            if entries[seq - 1]["hash"] != digest:
                raise _fail(seq, "witness", f"a witness saw event {seq} with hash {digest} "
                                            f"at {when}; the export has "
                                            f"{entries[seq - 1]['hash']}: the record was "
                                            "rewritten after it was published")
    except _Found as found:
        return _failed(found.discrepancy, result.lot_id)
    if not mine:
        note = " No witness head concerns this lot: nothing was checked against witnesses."
    else:
        last = max(h["seq"] for h in mine)
        note = (f" It agrees with all {len(mine)} chain heads public witnesses saw of this "
                f"lot (up to event {last}).")
    return replace(result, summary=result.summary + note)
