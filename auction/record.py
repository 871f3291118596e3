"""The event record: events as plain dicts, canonical bytes, and the hash chain.

``h_n = sha256(h_{n-1} ‖ canonical(n))`` where ``canonical(n)`` is the compact,
key-sorted UTF-8 JSON of ``{"lot": lot_id, "seq": n, "event": event_dict}`` and
``h_0`` is 32 zero bytes. Anyone holding a lot's events can recompute the chain and
replay the events through :func:`auction.lot.replay` to the recorded outcome.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from auction.errors import RecordError
from auction.model import EVENT_TYPES, IF_SET, Event

GENESIS = "0" * 64


#: Per event class, in declaration order (``fields()`` is slow): each field's name, and
#: for a field recorded only when set (:func:`auction.model.recorded_if_set`) the
#: default left out of the record.
_FIELD_NAMES: dict[type[Event], tuple[tuple[str, Any], ...]] = {}
_SCALARS = (str, int, type(None))
_ALWAYS = object()


def _field_names(cls: type[Event]) -> tuple[tuple[str, Any], ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(
            (f.name, _default(f) if f.metadata.get(IF_SET) else _ALWAYS) for f in fields(cls))
    return names


def _default(f: Any) -> Any:
    """The default of a field recorded only when set (a list's is made by its factory)."""
    return f.default if f.default is not MISSING else f.default_factory()


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"type": "BidAccepted", "at": ..., ...}`` with every field of the event, but a
    field recorded only when set that has its default."""
    out: dict[str, Any] = {"type": type(event).__name__}
    for name, default in _field_names(type(event)):
        value = getattr(event, name)
        if default is not _ALWAYS and value == default:
            continue
        out[name] = (dict(value) if not isinstance(value, _SCALARS)
                     and isinstance(value, Mapping) else value)
    return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: How a decoded field of each declared type is checked.
_CHECKS: dict[object, Callable[[object], bool]] = {
    int: _is_int,
    str: lambda value: isinstance(value, str),
    bool: lambda value: isinstance(value, bool),
    int | None: lambda value: value is None or _is_int(value),
    str | None: lambda value: value is None or isinstance(value, str),
    list[str]: lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
    list[int]: lambda value: isinstance(value, list) and all(map(_is_int, value)),
    Mapping[str, Any]: lambda value: isinstance(value, Mapping),
    Mapping[str, Any] | None: lambda value: value is None or isinstance(value, Mapping),
}
#: Per event class, the check of each field (made on first use: formats register their
#: own event types when imported). A field type without a check here is a programming
#: error, found by the first decoding of that event.
_FIELD_CHECKS: dict[type[Event], dict[str, Callable[[object], bool]]] = {}


def _checks_of(cls: type[Event]) -> dict[str, Callable[[object], bool]]:
    checks = _FIELD_CHECKS.get(cls)
    if checks is None:
        checks = _FIELD_CHECKS[cls] = {f.name: _CHECKS[f.type] for f in fields(cls)}
    return checks


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """The event a dict from :func:`event_to_dict` describes. Raises :class:`RecordError`
    for an unknown type, a missing or unknown field, or a field of the wrong JSON type."""
    if not isinstance(data, Mapping):
        raise RecordError("an event must be a JSON object")
    body = dict(data)
    kind = body.pop("type", None)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RecordError(f"unknown event type {kind!r}")
    checks = _checks_of(cls)
    for name, value in body.items():
        if name in checks and not checks[name](value):
            raise RecordError(f"malformed {cls.__name__}: {name} has the wrong type")
    try:
        return cls(**body)
    except TypeError as exc:
        raise RecordError(f"malformed {cls.__name__}: {exc}") from None


def _not_json(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _canonical_encoder() -> Callable[[Any], str]:
    """The canonical encoder: ``json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False)``, made once. ``JSONEncoder.encode`` makes a new
    C encoder on every call (and keeps a dict of the containers it is inside, against
    cycles): a third of the time of encoding an event. This one is the same C encoder
    (the same text), made once and without that dict. Nothing encoded here can hold a
    cycle: events pass :func:`unreadable` (at most :data:`MAX_DEPTH` deep) before they
    are sealed, and the rest is read from JSON text; a cycle would raise
    ``RecursionError``, never loop."""
    make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
    if make is None:  # pragma: no cover - an interpreter without the json C accelerator
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False).encode
    encode_string = json.encoder.encode_basestring
    chunks = make(None, _not_json, encode_string, None, ":", ",", True, False, False)
    join = "".join

    def encode(value: Any) -> str:
        if type(value) is str:
            return str(encode_string(value))
        return join(chunks(value, 0))
    return encode


#: The canonical encoder (:func:`_canonical_encoder`): every event sealed or verified,
#: every signed action's message.
canonical_json = _encode = _canonical_encoder()


def encode_event(event: Mapping[str, Any]) -> str:
    """The canonical JSON of an event dict: compact, key-sorted, UTF-8 as is. This text
    is what the chain hashes (inside :func:`canonical`) and what the stores keep."""
    return _encode(event)


def canonical(lot_id: str, seq: int, event: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed for event ``seq`` of ``lot_id``."""
    return _canonical(lot_id, seq, encode_event(event))


def _canonical(lot_id: str, seq: int, body: str) -> bytes:
    # The key-sorted JSON of {"event": ..., "lot": ..., "seq": ...}: "event" sorts first, so
    # it is the event's own canonical text followed by the rest, and the event is encoded
    # once for both the hash and the store.
    # The tail is written out rather than encoded as a dict: the same text as
    # ``_encode({"lot": lot_id, "seq": seq})[1:]`` (an int's JSON is its repr).
    number = int.__repr__(seq) if type(seq) is int else _encode(seq)
    return ('{"event":' + body + ',"lot":' + _encode(lot_id) + ',"seq":' + number
            + "}").encode()


def chain(prev_hash: str, lot_id: str, seq: int, event: Mapping[str, Any] | str) -> str:
    """The hash of event ``seq`` following ``prev_hash`` (hex). ``event`` is the event's
    dict, or its canonical JSON text as a store keeps it (hashed as it is)."""
    body = event if isinstance(event, str) else encode_event(event)
    return hashlib.sha256(bytes.fromhex(prev_hash) + _canonical(lot_id, seq, body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Recorded:
    """One event as sequenced: its lot, gap-free number, body and chain hash.

    ``body`` is the event's canonical JSON (:func:`encode_event`) when the record was
    made by :func:`seal` (so that stores need not encode it again), else empty."""

    lot_id: str
    seq: int
    event: Event
    hash: str
    body: str = field(default="", compare=False, repr=False)


#: The integers every store and every reader of the record holds exactly: signed 64-bit
#: (SQLite's INTEGER, Postgres's BIGINT, orjson's integers; a larger one reads back as a
#: float or not at all).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: How deeply mappings and lists may nest inside an event (orjson reads at most 1024).
MAX_DEPTH = 32


def unreadable(event: Event) -> str | None:
    """Why ``event`` could not be recorded and read back exactly, or None when it can.

    Every field must have its declared type (as :func:`event_from_dict` checks it);
    integers must be signed 64-bit; strings must encode to UTF-8 (no lone surrogate) and
    hold no NUL (Postgres's text and JSONB refuse it); mappings must have string keys
    and hold only JSON values (``None``, booleans, integers, finite floats, strings,
    lists, mappings), at most :data:`MAX_DEPTH` deep. Cheap: no encoding is made."""
    cls = type(event)
    if EVENT_TYPES.get(cls.__name__) is not cls:
        return f"{cls.__name__} is not a registered event type"
    for name, check in _checks_of(cls).items():
        value = getattr(event, name)
        if not check(value):
            return f"{name} has the wrong type"
        problem = _value_problem(value, 0)
        if problem is not None:
            return f"{name}: {problem}"
    return None


def _value_problem(value: object, depth: int) -> str | None:
    if isinstance(value, str):
        return _text_problem(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else "an integer beyond 64 bits"
    if isinstance(value, float):
        return None if value - value == 0 else "a float that is not finite"
    if depth >= MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH}"
    if isinstance(value, list):
        items: Iterable[object] = value
    elif isinstance(value, Mapping):
        if not all(type(key) is str for key in value):
            return "a mapping with a key that is not a string"
        items = (*value.keys(), *value.values())
    else:
        return f"a {type(value).__name__}, which JSON does not hold"
    for item in items:
        problem = _value_problem(item, depth + 1)
        if problem is not None:
            return problem
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character"
    if text.isascii():  # (no surrogate: nothing to encode)
        return None
    try:
        text.encode()
    except UnicodeEncodeError:
        return "a lone surrogate, which UTF-8 does not hold"
    return None


def seal(lot_id: str, first_seq: int, prev_hash: str, events: Iterable[Event]) -> list[Recorded]:
    """Number and chain ``events`` after ``prev_hash``, the first getting ``first_seq``.

    Raises :class:`RecordError` when an event could not be read back
    (:func:`unreadable`): then nothing is sealed, and nothing may be recorded."""
    out: list[Recorded] = []
    for offset, event in enumerate(events):
        problem = unreadable(event)
        if problem is not None:
            raise RecordError(f"{type(event).__name__} cannot be recorded: {problem}")
        seq = first_seq + offset
        body = encode_event(event_to_dict(event))
        prev_hash = chain(prev_hash, lot_id, seq, body)
        out.append(Recorded(lot_id, seq, event, prev_hash, body))
    return out


def verify_chain(lot_id: str,
                 records: Iterable[tuple[int, Mapping[str, Any] | str, str]]) -> str:
    """Check ``(seq, event, hash)`` rows from seq 1 on (``event`` as for :func:`chain`);
    return the last hash.

    Raises :class:`RecordError` naming the first sequence number that does not hold:
    a missing, reordered or changed event, or a body that is not JSON. A record cut
    short at the end still verifies: compare the returned hash with a published one.
    """
    prev, expected = GENESIS, 1
    for seq, body, digest in records:
        if seq != expected or isinstance(seq, bool):
            raise RecordError(f"event {expected} is missing (found {seq!r})")
        try:
            actual = chain(prev, lot_id, seq, body)
        except (TypeError, ValueError) as exc:
            raise RecordError(f"event {seq} cannot be encoded: {exc}") from None
        if actual != digest:
            raise RecordError(f"event {seq} does not match its hash")
        prev, expected = digest, expected + 1
    return prev
