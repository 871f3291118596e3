"""Aggregates other than lots: notices, bidder accounts, applications, deposits, the
webhooks' outbox... Each kind is a *decider* in the same style as a lot's format:
``decide(state, command, now) -> list[Event] | Rejection`` and ``evolve(state, event) ->
state``, pure, its state the fold of its events. The engine keeps each aggregate's events
in a stream of its own, hash-chained like a lot's record (:mod:`engine.aggregates`), so
the same replay rebuilds it and the same checks verify it.

An aggregate is named ``<kind>:<id>`` (its stream): ``kind`` is the decider's
:attr:`Decider.kind`, ``id`` what the caller chose (letters, digits, ``_``, ``-``, ``.``;
at most 64). Event types of a kind are registered with
:func:`auction.model.register_event`, their names unique across the whole record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from auction.model import Event, Rejection

S = TypeVar("S")
C = TypeVar("C", contravariant=True)

_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_KIND = re.compile(r"[a-z][a-z_]{0,31}")


class Decider(Protocol, Generic[S, C]):
    """One kind of aggregate. ``initial`` is the state before its first event."""

    kind: str

    def initial(self, aggregate_id: str) -> S: ...

    def decide(self, state: S, command: C, now: int) -> list[Event] | Rejection: ...

    def evolve(self, state: S, event: Event) -> S: ...


def stream_of(kind: str, aggregate_id: str) -> str:
    """The stream name of an aggregate; ValueError for a kind or id not allowed."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"not an aggregate kind: {kind!r}")
    if not _ID.fullmatch(aggregate_id):
        raise ValueError(f"not an aggregate id: {aggregate_id!r}")
    return f"{kind}:{aggregate_id}"


def is_aggregate_id(aggregate_id: str) -> bool:
    """Whether ``aggregate_id`` may name an aggregate (see :func:`stream_of`)."""
    return bool(_ID.fullmatch(aggregate_id))


def evolve_all(decider: Decider[S, C], state: S, events: Iterable[Event]) -> S:
    """``state`` after ``events``."""
    for event in events:
        state = decider.evolve(state, event)
    return state


def replay(decider: Decider[S, C], aggregate_id: str, events: Iterable[Event]) -> S:
    """The state of an aggregate after ``events`` (from its first)."""
    return evolve_all(decider, decider.initial(aggregate_id), events)
