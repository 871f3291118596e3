"""Events of every type with field values at and around their bounds, derived from the
event classes' declared field types (shared by the record's and the stores' round-trip
tests): a new event type, or a format's own, is covered without a line here; a new field
type fails loudly until it has a strategy.
"""

import importlib
import math
import pkgutil
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from hypothesis import strategies as st

import auction
from auction.model import EVENT_TYPES, Event

# Every format and every aggregate of the trade registers its own event types when
# imported: import every module.
for _module in pkgutil.walk_packages(auction.__path__, "auction."):
    importlib.import_module(_module.name)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Integers at and around every bound a layer has: JavaScript's safe integers, signed and
#: unsigned 64 bits, and far beyond.
EDGE_INTS = [0, 1, -1, 2**31 - 1, 2**31, 2**53 - 1, 2**53, 2**53 + 1, INT64_MAX - 1,
             INT64_MAX, INT64_MAX + 1, 2**64 - 1, 2**64, 2**64 + 1, INT64_MIN, INT64_MIN + 1,
             INT64_MIN - 1, -(2**64), 10**30, -(10**30), 18446744073709552000]
#: Strings a store or a decoder may mishandle: empty, NUL and other controls, lone
#: surrogates (each half), astral characters, escapes, very long text.
EDGE_TEXTS = ["", "\x00", "a\x00b", "\x01\x1f\x7f", "\ud800", "\udfff", "x\udcff", "𠀀𝄞😀",
              "国有土地 №7", "\u2028\u2029", '"\\/\b\f\n\r\t', "\ufeff", "\uffff",
              "a" * 70_000, "😀" * 20_000, "é" * 1000]

ints = st.one_of(st.sampled_from(EDGE_INTS), st.integers(),
                 st.integers(INT64_MIN - 2, INT64_MIN + 2),
                 st.integers(INT64_MAX - 2, INT64_MAX + 2))
texts = st.one_of(
    st.sampled_from(EDGE_TEXTS),
    st.text(max_size=40),
    # Every code point, lone surrogates included.
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(st.characters(min_codepoint=0x10000), max_size=20),
)
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1e308, 5e-324, 0.1, math.inf, -math.inf]))


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"k": value}
    return value


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), ints, floats, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(texts, inner, max_size=5)),
    max_leaves=20)
mappings = st.one_of(
    st.dictionaries(texts, json_values, max_size=8),
    st.just({}),
    st.sampled_from([_nested(31), _nested(32), _nested(100),
                     {1: "an int key"}, {"t": ("a", "tuple")}, {"s": {"a set"}},
                     {"b": b"bytes"}, {"k": [[[["deep list"]]]]}]),
)

#: The values of each declared field type; an event field of another type has none yet.
FIELD_VALUES: dict[object, st.SearchStrategy[Any]] = {
    int: ints,
    bool: st.booleans(),
    str: texts,
    int | None: st.one_of(st.none(), ints),
    str | None: st.one_of(st.none(), texts),
    list[str]: st.one_of(st.lists(texts, max_size=8), st.just(["x"] * 5000)),
    list[int]: st.one_of(st.lists(ints, max_size=8), st.just(list(range(5000)))),
    Mapping[str, Any]: mappings,
    Mapping[str, Any] | None: st.one_of(st.none(), mappings),
}


def events_of(cls: type[Event]) -> st.SearchStrategy[Event]:
    """Events of ``cls``, each field drawn from :data:`FIELD_VALUES` of its type."""
    return st.builds(cls, **{f.name: FIELD_VALUES[f.type] for f in fields(cls)})


def all_event_types() -> dict[str, type[Event]]:
    """Every event type the project records: of every format and of every aggregate of
    the trade (event types a test registers for itself are not the project's)."""
    return {name: cls for name, cls in EVENT_TYPES.items()
            if cls.__module__.startswith("auction.")}


def holdable(value: object, depth: int = 0) -> bool:
    """Whether every store and reader keeps ``value`` exactly: the test's own statement
    of the record's rule (signed 64-bit integers, finite floats, text without NUL or lone
    surrogates, JSON containers with text keys, 32 levels at most)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if depth >= 32:
        return False
    if isinstance(value, list):
        return all(holdable(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and holdable(k) and holdable(v, depth + 1)
                   for k, v in value.items())
    return False


def event_holdable(event: Event) -> bool:
    return all(holdable(getattr(event, f.name)) for f in fields(type(event)))
