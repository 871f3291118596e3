"""The event-log port: where a lot's sealed events are made durable and read back.

The per-lot writer (:mod:`engine.pipeline`) and the composition root
(:mod:`engine.runtime`) know only this port; the adapters under ``engine/logs/`` (in
memory, SQLite, Redis) implement it and import nothing of the engine but this module and
:mod:`engine.api`'s types.

One row type (:class:`Row`), one encoding (the sealed text of
:func:`auction.record.encode_event`, built once by :func:`row_of`) and one read-back path
(:func:`read_back`) serve every adapter, the permanent record included.
"""

import abc
import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from auction.errors import RecordError
from auction.record import GENESIS, Recorded, chain, encode_event, event_from_dict, event_to_dict
from engine.api import Session
from engine.snapshots import Snapshot


@dataclass(frozen=True, slots=True)
class Row:
    """One event as every store keeps it: ``body`` is the sealed text the chain hashes."""

    lot_id: str
    seq: int
    at: int
    type: str
    body: str
    hash: str


def row_of(record: Recorded) -> Row:
    """The row of a sealed record (its sealed text as is; encoded once if it has none)."""
    return Row(record.lot_id, record.seq, record.event.at, type(record.event).__name__,
               record.body or encode_event(event_to_dict(record.event)), record.hash)


def read_back(lot_id: str, rows: Iterable[Row | tuple[int, str, str]], after_seq: int = 0,
              prev_hash: str = GENESIS) -> list[Recorded]:
    """The records of a store's rows (:class:`Row`, or ``(seq, body, hash)``), numbered on
    from ``after_seq`` whose hash was ``prev_hash``: what every backend reads at start,
    when following and from the permanent record. Raises :class:`RecordError` for the
    first row out of sequence, whose hash does not hold or whose body is not an event."""
    records: list[Recorded] = []
    for row in rows:
        seq, body, digest = ((row.seq, row.body, row.hash) if isinstance(row, Row)
                             else row)
        after_seq += 1
        if seq != after_seq:
            raise RecordError(f"event {after_seq} is missing (found {seq!r})")
        if chain(prev_hash, lot_id, seq, body) != digest:
            raise RecordError(f"event {seq} does not match its hash")
        try:
            event = event_from_dict(orjson.loads(body))
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"event {seq} is not JSON: {exc}") from None
        except RecordError as exc:
            raise RecordError(f"event {seq}: {exc.message}") from None
        records.append(Recorded(lot_id, seq, event, digest, body))
        prev_hash = digest
    return records


class LogUnavailable(Exception):
    """The log cannot be reached or used now. The message is for the commands' senders;
    ``reason`` is the log's own."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class AppendFailed(LogUnavailable):
    """The log could not confirm an append: nothing of it may be acknowledged. Whether it
    landed is unknown; the next append's expected sequence number tells (stale if it
    did)."""


class AppendRefused(AppendFailed):
    """The log refused the append without writing anything (e.g. a fencing epoch that
    is no longer the lot's): its commands may be sent elsewhere as they are."""


class Unreadable(Exception):
    """The log holds entries of a lot that are not event rows (the lot is set apart)."""


#: Called after each confirmed commit with its duration (s) and its number of rows.
CommitHook = Callable[[float, int], None]
#: Called with rows another process appended: ``(lot_id, rows)``.
RowsHook = Callable[[str, list[Row]], Awaitable[None]]
#: Called after the log's feed of other processes' appends was lost and is back.
ResumedHook = Callable[[], Awaitable[None]]


@dataclass
class Loaded:
    """What a log holds at start: sessions, and each live lot's rows in creation order
    (lots whose entries are not rows, with why, in ``unreadable``). A lot with a snapshot
    in ``snapshots`` has only its rows after it (its tail, maybe none) in ``lots``. A log
    with an index of live lots leaves the ended ones out (each read on demand with
    :meth:`EventLog.lot`) and counts them by status in ``ended``."""

    sessions: list[Session] = field(default_factory=list)
    lots: dict[str, list[Row]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    ended: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Polled:
    """What :meth:`EventLog.poll` read."""

    #: Lots whose next deadline is due, as the log's timer index holds it.
    due: list[str]
    #: How many sessions the log holds (None: not counted; read them all).
    sessions: int | None
    #: Ended lots by status (None: the engine counts them itself).
    ended: dict[str, int] | None


@dataclass(frozen=True, slots=True)
class Stored:
    """One lot as the log holds it: its last snapshot (None: none, or the log keeps
    none) and its rows after it."""

    snapshot: Snapshot | None
    rows: list[Row]


class EventLog(abc.ABC):
    """A durable, per-lot, gap-free sequence of rows.

    :meth:`append` is the only write of events: it lands all of ``rows`` or none, and
    only when the lot's last sequence number is ``expected_seq``. Appends of one lot are
    made one after another by its writer (the next after the previous one's outcome).
    """

    #: Whether other processes append to this log too (they then follow each other's
    #: appends, and a refusal decided here is checked against :meth:`last_seq`).
    shared: bool = False
    #: Whether, after a failed append, the log refuses every append until
    #: :meth:`recover` has proved it writable again (the engine then stops serving).
    fail_stop: bool = False
    #: Set by the engine: told of every confirmed commit (its metrics).
    committed: CommitHook | None = None

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, check the log is usable; raises :class:`api.EngineError` if not."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish pending appends and release everything; idempotent."""

    @abc.abstractmethod
    async def draw_key(self) -> bytes:
        """The deployment's 32-byte draw key, made on first use and kept."""

    @abc.abstractmethod
    async def load(self) -> Loaded:
        """Every session and every live lot's rows (lots in creation order, rows by seq);
        see :class:`Loaded`."""

    async def lot(self, lot_id: str) -> Stored | None:
        """One lot (an ended one left out of :meth:`load`): its snapshot and the rows
        after it; None when the log holds no such lot. Raises :class:`Unreadable` and
        :class:`LogUnavailable` as :meth:`read` does."""
        rows = await self.read(lot_id, 0)
        return Stored(None, rows) if rows else None

    async def lot_page(self, after: str | None, limit: int,
                       session_id: str | None = None) -> list[str]:
        """At most ``limit`` lot ids in order of creation, those created after lot
        ``after`` (from the first when None), of session ``session_id`` only if given (a
        log that cannot tell a lot's session gives every lot: the caller filters): a
        query of the store, ended lots included."""
        raise NotImplementedError

    @abc.abstractmethod
    async def append(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                     deadline: int | None = None, epoch: int | None = None,
                     snapshot: Snapshot | None = None) -> bool:
        """Make ``rows`` (continuing ``expected_seq``) durable: True once they are,
        False when the lot's last sequence number is not ``expected_seq`` (stale: nothing
        appended). ``deadline`` is the lot's next deadline after the rows (a shared log
        keeps a timer index); ``epoch`` is the writer's fencing epoch where a log checks
        one; ``snapshot`` is the lot's state after the rows, which a log that keeps
        snapshots stores with them (replacing the lot's previous one) and gives back
        from :meth:`load`. Raises :class:`AppendFailed` when the outcome is not known to
        be durable."""

    def append_soon(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                    deadline: int | None = None, epoch: int | None = None,
                    snapshot: Snapshot | None = None) -> "asyncio.Future[bool]":
        """:meth:`append` started now, as a future of its outcome: a task of it, unless
        the log can hand over a future of its own without one (a task per append is a
        step of the event loop more and an object to make, per batch)."""
        return asyncio.ensure_future(self.append(lot_id, expected_seq, rows,
                                                 deadline=deadline, epoch=epoch,
                                                 snapshot=snapshot))

    @abc.abstractmethod
    async def read(self, lot_id: str, after_seq: int) -> list[Row]:
        """The lot's rows with ``seq > after_seq``, in order. Raises
        :class:`Unreadable` when an entry is not a row, :class:`LogUnavailable` when the
        log cannot be read."""

    @abc.abstractmethod
    async def add_session(self, session: Session) -> bool:
        """Store ``session``; False when its id is taken. Raises
        :class:`LogUnavailable` when it could not be stored."""

    async def last_seq(self, lot_id: str) -> int:
        """The lot's last durable sequence number as the log holds it now (asked by a
        shared log's writer before answering refusals decided on its own copy)."""
        rows = await self.read(lot_id, 0)
        return rows[-1].seq if rows else 0

    async def keep(self, snapshot: Snapshot, epoch: int | None = None) -> bool:
        """Store ``snapshot`` of a lot not ended, in place of the lot's previous one, when
        it is of the lot's last event still (and, where the log checks one, ``epoch``
        is the lot's fencing epoch): a start then folds none of the lot's events. A
        process leaving cleanly keeps one of each live lot it holds
        (:meth:`engine.runtime.Runtime.close`). False when it was not stored: the lot
        moved on, the epoch is over, or the log keeps no snapshots. Raises
        :class:`LogUnavailable` when the log cannot be reached."""
        return False

    async def trim(self, upto: Sequence[tuple[str, int]]) -> None:
        """Each ``(lot_id, seq)``: the permanent record holds the lot's events up to
        ``seq``; a log that keeps them only until then may drop those it no longer needs
        for a start (up to the lot's snapshot, never beyond ``seq``). The rows it dropped
        are then read from the permanent record."""
        return None

    async def recover(self, now_ms: int) -> None:
        """After a failed append of a :attr:`fail_stop` log: prove the log writable
        again (appends are accepted once this returned); raises :class:`LogUnavailable`
        while it is not."""
        return None

    async def readiness(self) -> dict[str, str]:
        """Why the log cannot serve now (see :meth:`api.Engine.readiness`); empty when
        it can."""
        return {}

    # What a shared log adds: other processes' appends, their lots and sessions.

    async def follow(self, rows: RowsHook, resumed: ResumedHook) -> None:
        """Start delivering other processes' appends of the watched lots (:meth:`watch`)
        to ``rows`` (and calling ``resumed`` after a lost feed is back); returns once the
        feed is up."""
        return None

    async def watch(self, lot_id: str) -> None:
        """Deliver other processes' appends of this lot to the feed from now on (a
        shared log delivers only the lots it was told to); returns once that holds, so
        the caller may then read what was appended before."""
        return None

    async def unwatch(self, lot_id: str) -> None:
        """Stop delivering the lot's appends to the feed."""
        return None

    def watching(self) -> int:
        """How many lots the feed follows."""
        return 0

    async def exists(self, lot_id: str) -> bool:
        """Whether the log holds a lot this process has not loaded."""
        return False

    async def poll(self, now_ms: int) -> Polled:
        """What a process sharing the log reads of it every ``POLL_S`` (in one round trip
        where the log can): the lots whose deadline its timer index holds due at
        ``now_ms``, how many sessions it holds, the counts of ended lots."""
        return Polled([], None, await self.ended())

    async def ended(self) -> dict[str, int] | None:
        """How many ended lots have each status, as a shared log counts them (None: this
        log leaves the counting to the engine, from :meth:`load` on)."""
        return None

    async def sessions(self) -> list[Session]:
        """Every session the log holds (a shared log: made by any process)."""
        return (await self.load()).sessions
