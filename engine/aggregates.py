"""Aggregates other than lots (:mod:`auction.aggregate`) on a durable log of their own.

*Naive:* keep accounts, notices, applications and deposits in ad-hoc tables updated in
place. Then nothing records who changed what and when, and a crash between two updates
leaves them disagreeing.

*Chosen:* each aggregate is a stream of sealed, hash-chained events (the same
:class:`engine.eventlog.Row`, encoding and :func:`engine.eventlog.read_back` as a lot's
record), made durable through :class:`AggregateLog` before a command is answered. Three
adapters: in memory (:class:`MemoryAggregateLog`, tests), SQLite
(:mod:`engine.logs.aggregates_sqlite`, the embedded backend, its own file in the data
directory) and Redis (:mod:`engine.logs.aggregates_redis`, the scale-out backend, shared
by every process).

:class:`Aggregates` runs the deciders: one command of an aggregate at a time in this
process; against other processes an append carries the expected sequence number, and a
stale one is read again and decided again (optimistic concurrency: aggregates are written
rarely, unlike a lot in bidding). States are cached (bounded, least recently used first).
"""

from __future__ import annotations

import abc
import asyncio
import random
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from auction.aggregate import Decider, evolve_all, replay, stream_of
from auction.errors import RecordError
from auction.model import Rejection
from auction.record import GENESIS, Recorded, seal
from engine.eventlog import LogUnavailable, Row, read_back, row_of

#: How many aggregates' states a process keeps decoded.
CACHED = 10_000
#: How often a command is decided again after another process appended first (each
#: time another process's append won, so this bounds the writes it can make meanwhile).
RETRIES = 100


class AggregateLog(abc.ABC):
    """A durable, per-stream, gap-free sequence of rows, and the streams of each kind in
    the order they were made."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; raises :class:`engine.api.EngineError` when the log is not usable."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything; idempotent."""

    @abc.abstractmethod
    async def append(self, stream: str, expected_seq: int, rows: Sequence[Row]) -> bool:
        """Make ``rows`` durable when the stream's last sequence number is
        ``expected_seq`` (True), else append nothing (False). Raises
        :class:`LogUnavailable` when the outcome is not known to be durable."""

    @abc.abstractmethod
    async def read(self, stream: str, after_seq: int = 0) -> list[Row]:
        """The stream's rows with ``seq > after_seq``, in order."""

    @abc.abstractmethod
    async def streams(self, kind: str) -> list[str]:
        """The ids of the kind's streams that hold events, oldest first."""


class MemoryAggregateLog(AggregateLog):
    """Rows in a dictionary: for tests, and for nothing that must survive a restart."""

    def __init__(self) -> None:
        self._rows: dict[str, list[Row]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def append(self, stream: str, expected_seq: int, rows: Sequence[Row]) -> bool:
        have = self._rows.setdefault(stream, [])
        if len(have) != expected_seq:
            return False
        have.extend(rows)
        return True

    async def read(self, stream: str, after_seq: int = 0) -> list[Row]:
        return list(self._rows.get(stream, ())[after_seq:])

    async def streams(self, kind: str) -> list[str]:
        prefix = kind + ":"
        return [name[len(prefix):] for name, rows in self._rows.items()
                if name.startswith(prefix) and rows]


class Refused(Exception):
    """A command the decider refused: nothing changed."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.detail or rejection.code)
        self.rejection = rejection


@dataclass
class _Cached:
    state: Any
    seq: int
    hash: str


class Aggregates:
    """Runs deciders over ``log``; ``clock`` gives the server's Unix milliseconds."""

    def __init__(self, log: AggregateLog, clock: Callable[[], int],
                 cached: int = CACHED) -> None:
        self.log = log
        self._clock = clock
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cached = cached
        #: One command of an aggregate at a time here (a lock lives while it is used).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    async def open(self) -> None:
        await self.log.open()

    async def close(self) -> None:
        await self.log.close()

    async def execute(self, decider: Decider[Any, Any], aggregate_id: str,
                      command: object) -> list[Recorded]:
        """Decide ``command`` on the aggregate and make its events durable; the records
        appended (none when the decider decided nothing). Raises :class:`Refused` when
        the decider refused it, :class:`LogUnavailable` when the log could not confirm."""
        stream = stream_of(decider.kind, aggregate_id)
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        async with lock:
            for _ in range(RETRIES):
                cached = await self._load(decider, aggregate_id, stream)
                decision = decider.decide(cached.state, command, self._clock())
                if isinstance(decision, Rejection):
                    raise Refused(decision)
                if not decision:
                    return []
                try:
                    records = seal(stream, cached.seq + 1, cached.hash, decision)
                except RecordError as exc:
                    raise Refused(Rejection("invalid_input", exc.message)) from None
                if await self.log.append(stream, cached.seq, [row_of(r) for r in records]):
                    state = evolve_all(decider, cached.state, decision)
                    self._keep(stream, _Cached(state, records[-1].seq, records[-1].hash))
                    return records
                self._cache.pop(stream, None)  # another process appended first
                await asyncio.sleep(random.uniform(0, 0.005))  # let it have its turn
            raise LogUnavailable(f"{stream}: too many concurrent writers, try again")

    async def state(self, decider: Decider[Any, Any], aggregate_id: str) -> Any:
        """The aggregate's current state (its decider's initial state when it has no
        events)."""
        stream = stream_of(decider.kind, aggregate_id)
        return (await self._load(decider, aggregate_id, stream)).state

    async def exists(self, decider: Decider[Any, Any], aggregate_id: str) -> bool:
        stream = stream_of(decider.kind, aggregate_id)
        return (await self._load(decider, aggregate_id, stream)).seq > 0

    async def records(self, kind: str, aggregate_id: str) -> list[Recorded]:
        """Every record of the aggregate, read back and chain-checked."""
        stream = stream_of(kind, aggregate_id)
        return read_back(stream, await self.log.read(stream, 0))

    async def ids(self, kind: str) -> list[str]:
        """The ids of the kind's aggregates, oldest first."""
        return await self.log.streams(kind)

    async def _load(self, decider: Decider[Any, Any], aggregate_id: str,
                    stream: str) -> _Cached:
        cached = self._cache.get(stream)
        after, prev = (cached.seq, cached.hash) if cached else (0, GENESIS)
        rows = await self.log.read(stream, after)
        if cached is not None and not rows:
            self._cache.move_to_end(stream)
            return cached
        records = read_back(stream, rows, after, prev)
        state = cached.state if cached else decider.initial(aggregate_id)
        state = evolve_all(decider, state, (r.event for r in records))
        last = records[-1] if records else None
        fresh = _Cached(state, last.seq if last else after, last.hash if last else prev)
        self._keep(stream, fresh)
        return fresh

    def _keep(self, stream: str, cached: _Cached) -> None:
        self._cache[stream] = cached
        self._cache.move_to_end(stream)
        while len(self._cache) > self._cached:
            self._cache.popitem(last=False)


__all__ = ["AggregateLog", "Aggregates", "MemoryAggregateLog", "Refused", "replay"]
