"""Snapshots of a lot's state: the state after event ``seq``, kept beside the events so
that a start folds only the events after it (the tail), not every event since genesis.

A snapshot is derived data, never a second truth: the events stay the record, a
snapshot that cannot be read (made by another version of the rules, damaged) is ignored
and the lot is replayed from genesis. :func:`encode_state` and :func:`decode_state`
round-trip a :class:`~auction.state.LotState` exactly, for every format, without a line
per format: any dataclass of the ``auction`` package (the state, its bidders and bids,
a format's own ``play`` and parameters), lists, tuples, sets, dicts with any keys,
integers, text, booleans and None. An object reached twice (a bid is in the lot's list
and in its bidder's) is one object again after decoding. Fields declared
``compare=False`` are caches (a bid's formatted view) and are not kept.
"""

import dataclasses
import functools
import importlib
import itertools
from dataclasses import dataclass
from typing import Any

import orjson

from auction.lot import next_deadline
from auction.state import ENDED, LotState

#: Bumped whenever the encoding changes: a snapshot of another version is not used.
VERSION = 1
#: A snapshot is written every this many events of a lot, and at every append of a lot
#: that has ended (so an ended lot starts from its last snapshot with no tail).
EVERY = 500


class SnapshotError(Exception):
    """The state cannot be encoded, or the text is not a snapshot this version reads."""


#: :attr:`Snapshot.deadline` of a state with no deadline, and of one not known.
NO_DEADLINE, UNKNOWN_DEADLINE = 0, -1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state after event ``seq`` (whose chain hash is ``hash``), encoded; ``ended``
    says the lot has ended (its status is final), for the log's index of live lots;
    ``status``, ``session_id`` and ``deadline`` are the state's, readable without
    decoding it. ``deadline`` is the state's next deadline (ms; :data:`NO_DEADLINE`: it
    has none; :data:`UNKNOWN_DEADLINE`: not kept, a snapshot stored before it was)."""

    lot_id: str
    seq: int
    hash: str
    state: str
    ended: bool
    status: str = ""
    session_id: str = ""
    deadline: int = UNKNOWN_DEADLINE


def due(state: LotState, base: int, last: int) -> bool:
    """Whether an append taking the lot from ``base`` to ``last`` events writes a
    snapshot of ``state`` (the state after it)."""
    return last > base and (state.status in ENDED or last // EVERY > base // EVERY)


def take(state: LotState, seq: int, digest: str) -> Snapshot:
    """The snapshot of ``state`` after event ``seq`` (hash ``digest``)."""
    deadline = next_deadline(state)
    return Snapshot(state.lot_id, seq, digest, encode_state(state), state.status in ENDED,
                    state.status, state.session_id,
                    NO_DEADLINE if deadline is None else deadline)


# Every non-scalar value is a list whose first item says what it is:
#   ["L", item...] list, ["T", item...] tuple, ["S", item...] set, ["F", item...]
#   frozenset, ["D", key, value, ...] dict, ["C", "module:Class", {field: value}] a
#   dataclass instance (numbered in order of first appearance), ["R", n] the n-th one.


def encode_state(state: LotState) -> str:
    """The state as text; raises :class:`SnapshotError` for a value it cannot keep."""
    seen: dict[int, int] = {}
    body = _encode(state, seen)
    return orjson.dumps([VERSION, body]).decode()


@functools.cache
def _shape(cls: type) -> tuple[str, tuple[str, ...]] | None:
    """How an instance of ``cls`` is kept: its name and the fields kept (not the caches,
    ``compare=False``), or None when it is not a dataclass of the ``auction`` package."""
    if not dataclasses.is_dataclass(cls) or cls.__module__.split(".")[0] != "auction":
        return None
    return (f"{cls.__module__}:{cls.__qualname__}",
            tuple(f.name for f in dataclasses.fields(cls) if f.compare))


def _encode(value: Any, seen: dict[int, int]) -> Any:
    # Dispatched on the exact type first (the common values); anything else (a subclass
    # of a scalar, a value it cannot keep) goes through :func:`_encode_other`.
    cls: type = type(value)
    if cls is str or value is None or cls is bool:
        return value
    if cls is int:
        return value if -(2**63) <= value < 2**63 else ["I", str(value)]
    if cls is list:
        return ["L", *[_encode(v, seen) for v in value]]
    shape = _shape(cls)
    if shape is not None:
        ref = seen.get(id(value))
        if ref is not None:
            return ["R", ref]
        seen[id(value)] = len(seen)
        name, fields = shape
        return ["C", name, {f: _encode(getattr(value, f), seen) for f in fields}]
    if cls is dict:
        out: list[Any] = ["D"]
        for key, item in value.items():
            out.append(_encode(key, seen))
            out.append(_encode(item, seen))
        return out
    if cls is tuple:
        return ["T", *[_encode(v, seen) for v in value]]
    if cls is set or cls is frozenset:
        items = [_encode(v, seen) for v in value]
        items.sort(key=orjson.dumps)
        return ["S" if cls is set else "F", *items]
    return _encode_other(value)


def _encode_other(value: Any) -> Any:
    if isinstance(value, (bool, str)):  # a subclass of text (an enumeration of text)
        return value
    raise SnapshotError(f"cannot keep a {type(value).__module__}.{type(value).__qualname__}"
                        if not isinstance(value, int) else
                        f"cannot keep a {type(value).__name__}")


def of_this_version(text: str) -> bool:
    """Whether ``text`` is a snapshot of the encoding this engine reads (not whether it
    decodes: it may still be damaged)."""
    return text.startswith(f"[{VERSION},")


def decode_state(text: str | bytes) -> LotState:
    """The state a text of :func:`encode_state` holds; raises :class:`SnapshotError` if
    it is not one (another version, damaged)."""
    try:
        version, body = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise SnapshotError(f"not a snapshot: {exc}") from None
    if version != VERSION:
        raise SnapshotError(f"snapshot version {version!r}, this engine reads {VERSION}")
    try:
        state = _decode(body, [])
    except SnapshotError:
        raise
    except Exception as exc:  # any malformed structure: not a snapshot we can use
        raise SnapshotError(f"malformed snapshot: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, LotState):
        raise SnapshotError("a snapshot holds a lot's state")
    return state


_MISSING = object()


@functools.cache
def _layout(name: str) -> tuple[type, tuple[tuple[str, bool, Any, Any], ...]]:
    """The class ``name`` and its fields: (name, kept, default, default factory); looked
    up once per class, not once per object."""
    cls = _class(name)
    return cls, tuple(
        (f.name, f.compare,
         f.default if f.default is not dataclasses.MISSING else _MISSING,
         f.default_factory if f.default_factory is not dataclasses.MISSING else _MISSING)
        for f in dataclasses.fields(cls))


def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if module.split(".")[0] != "auction":
        raise SnapshotError(f"not a class of the rules: {name}")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise SnapshotError(f"not a class of the rules: {name}")
    return cls


#: The types of the values kept as they are (JSON's scalars but floats).
_SCALARS = frozenset({str, int, bool, type(None)})


def _item(value: Any, objects: list[Any]) -> Any:
    """A value inside a container or an object: a scalar as it is (most are: the call of
    :func:`_decode` is saved), else decoded."""
    if type(value) in _SCALARS:
        return value
    return _decode(value, objects)


def _decode(value: Any, objects: list[Any]) -> Any:
    if type(value) is not list:
        if type(value) in _SCALARS:
            return value
        raise SnapshotError(f"unexpected value {value!r}")
    tag = value[0]
    if tag == "C":
        cls, layout = _layout(value[1])
        fields = value[2]
        obj: Any = object.__new__(cls)
        objects.append(obj)
        put = object.__setattr__
        for field_name, kept, default, factory in layout:
            if kept:
                item = fields[field_name]
                if type(item) not in _SCALARS:
                    item = _decode(item, objects)
            elif default is not _MISSING:
                item = default
            elif factory is not _MISSING:
                item = factory()
            else:  # pragma: no cover - every cache field has a default
                raise SnapshotError(f"{value[1]}.{field_name} has no default")
            put(obj, field_name, item)
        return obj
    if tag == "R":
        return objects[value[1]]
    if tag == "L":
        return [_item(v, objects) for v in itertools.islice(value, 1, None)]
    if tag == "T":
        return tuple(_item(v, objects) for v in itertools.islice(value, 1, None))
    if tag == "S":
        return {_item(v, objects) for v in itertools.islice(value, 1, None)}
    if tag == "F":
        return frozenset(_item(v, objects) for v in itertools.islice(value, 1, None))
    if tag == "D":
        return {_item(value[i], objects): _item(value[i + 1], objects)
                for i in range(1, len(value), 2)}
    if tag == "I":
        return int(value[1])
    raise SnapshotError(f"unknown tag {tag!r}")
