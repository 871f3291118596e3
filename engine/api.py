"""The engine's port: what the web layer (and the contract tests) may rely on.

Guarantees of every backend:

* One writer per lot: commands of a lot are decided one after another against its
  current state; events get gap-free sequence numbers from 1 and the hash chain.
* ``execute`` returns only after the events are durable (an acknowledged bid survives
  a crash of the process); a :class:`auction.model.Rejection` changes nothing.
* Listeners of a lot are called synchronously, in sequence order, after each durable
  commit, with the lot's state as of that commit: every event once, none missed.
* Deadlines (open, close) fire by themselves as :class:`auction.model.Tick` commands.
"""

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auction.model import Command, Rejection
from auction.record import Recorded
from auction.state import LotState
from engine.metrics import EngineMetrics

if TYPE_CHECKING:
    from engine.aggregates import Aggregates

#: Called with the lot's state after a commit and the records of that commit.
Listener = Callable[[LotState, list[Recorded]], None]


class EngineError(Exception):
    """The engine cannot serve a command (store failure, shutting down). Nothing was
    acknowledged; the caller may retry later."""


class UnknownLot(EngineError):
    pass


class Quarantined(EngineError):
    """The lot's record could not be read back: the lot is set apart, every other lot is
    served. ``reason`` says what could not be read."""

    def __init__(self, lot_id: str, reason: str) -> None:
        super().__init__(f"lot {lot_id} is quarantined: {reason}")
        self.lot_id = lot_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    """A session of lots; ``mode`` and ``stagger_s`` say how its lots close
    (:mod:`auction.sessions`)."""

    session_id: str
    name: str
    created_at: int
    created_by: str
    mode: str = "parallel"
    stagger_s: int = 0


class Subscription(abc.ABC):
    @abc.abstractmethod
    def close(self) -> None:
        """Stop delivery; idempotent."""


class Engine(abc.ABC):
    """A running backend. Use as ``async with`` or call :meth:`start` / :meth:`close`."""

    #: The engine's own figures (ack and commit latencies, the permanent record's lag),
    #: which the web layer exposes at ``/metrics``.
    metrics: EngineMetrics
    #: The aggregates other than lots (accounts, notices, applications...), on this
    #: backend's own durable log (:mod:`engine.aggregates`).
    aggregates: "Aggregates"

    @abc.abstractmethod
    async def start(self) -> None:
        """Open the store, recover every lot and arm its deadlines."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish pending writes and release everything; idempotent."""

    async def __aenter__(self) -> "Engine":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def readiness(self) -> dict[str, str]:
        """Why the engine cannot serve commands now, one entry per failing check
        (``engine``: stopped or shutting down; ``store``: the embedded store cannot be
        written; ``redis``, ``redis_fanout``, ``postgres``: unreachable;
        ``postgres_lag``: the permanent record is behind by more than its bound), each
        with a sentence saying why; empty when it is ready. Answers within a few seconds
        and never raises."""

    @abc.abstractmethod
    def now(self) -> int:
        """The server clock, in Unix milliseconds: the only clock that decides."""

    @abc.abstractmethod
    async def execute(self, lot_id: str, command: Command) -> list[Recorded] | Rejection:
        """Decide ``command`` for ``lot_id`` at the current server time, make its events
        durable, notify listeners, and return the records (or the rejection).
        Raises :class:`UnknownLot` for a lot that does not exist (except ``CreateLot``)."""

    @abc.abstractmethod
    async def register_bidder(self, lot_id: str, bidder_id: str, name: str,
                              actor: str, reason: str = "") -> list[Recorded] | Rejection:
        """Register a bidder under a random bidder number unique in the lot (``reason``:
        the staff's reason, recorded with the registration)."""

    @abc.abstractmethod
    def lot(self, lot_id: str) -> LotState | None:
        """The state (read only) of a lot in memory, or None: what its next command is
        decided on, which may hold a batch decided and not yet durable. Every live lot is
        in memory; an ended lot may be left in the store: :meth:`find` reads it. What is
        shown to a reader is :meth:`read` or :meth:`find`."""

    def next_deadline(self) -> int | None:
        """The earliest deadline (Unix ms) this process has a timer armed for, or None:
        when the next lot of this process is due to open, close or end a round. The
        serving process keeps its long garbage collections away from it."""
        return None

    def read(self, lot_id: str) -> LotState | None:
        """The durable state (read only) of a lot in memory, or None: :meth:`lot` without
        a batch decided and not yet durable (None for a lot whose creation is not)."""
        return self.lot(lot_id)

    async def find(self, lot_id: str) -> LotState | None:
        """The lot's durable state (:meth:`read`), read from the store if it is an ended
        lot not in memory (it then stays in memory while it is among the recently used);
        None for a lot that does not exist, is quarantined or whose creation is not
        durable yet. Raises :class:`EngineError` when the store cannot be read."""
        return self.read(lot_id)

    async def owner_address(self, lot_id: str) -> str | None:
        """Where a client of ``lot_id`` should connect: the WebSocket address of the
        process that owns the lot, when another process of a scale-out backend owns it
        and this one was given an address of its own (every process of a deployment is,
        or none); None otherwise, and when that cannot be read (commands sent here are
        forwarded to the owner either way)."""
        return None

    def summary(self, lot_id: str) -> tuple[str, str] | None:
        """The status and session id of a lot in memory, or None."""
        state = self.lot(lot_id)
        return (state.status, state.session_id) if state is not None else None

    def counts(self) -> dict[str, int]:
        """How many lots have each status (ended lots left in the store included),
        without reading any lot."""
        counts: dict[str, int] = {}
        for lot_id in self.lot_ids():
            summary = self.summary(lot_id)
            if summary is not None:
                counts[summary[0]] = counts.get(summary[0], 0) + 1
        return counts

    async def lots(self, *, session_id: str | None = None, after: str | None = None,
                   limit: int = 100) -> tuple[list[LotState], str | None]:
        """One page of every lot in order of creation (``session_id``: of that session
        only): the states of at most ``limit`` lots created after lot ``after`` (from the
        first when None), and the cursor of the next page (the ``after`` to give next;
        None when this page is the last). A page may hold fewer lots than ``limit`` and
        still have a next one. Raises :class:`EngineError` when the store cannot be
        read."""
        ids = self.lot_ids()
        start = ids.index(after) + 1 if after in ids else 0
        page = ids[start:start + limit]
        states = [state for lot_id in page if (state := self.lot(lot_id)) is not None
                  and (session_id is None or state.session_id == session_id)]
        return states, (page[-1] if len(page) == limit else None)

    @abc.abstractmethod
    def quarantined(self) -> dict[str, str]:
        """The lots whose record could not be read back (lot id -> reason). Such a lot is
        set apart, alone: its commands get the rejection ``quarantined``, its reads
        (:meth:`history`, :meth:`record`, :meth:`subscribe`) raise :class:`Quarantined`,
        :meth:`lot` gives None; every other lot is served."""

    @abc.abstractmethod
    def lot_ids(self) -> list[str]:
        """The lots in memory, in order of creation: every live lot, and the ended ones
        recently used (every lot: :meth:`lots`)."""

    @abc.abstractmethod
    async def history(self, lot_id: str, after_seq: int = 0) -> list[Recorded]:
        """The lot's records with ``seq > after_seq``, in order."""

    async def record(self, lot_id: str) -> list[Recorded]:
        """The lot's events as the permanent record holds them (reports, exports): the
        SQLite file for the embedded backend, Postgres for the scale-out one. Raises
        :class:`EngineError` when that record cannot be read."""
        return await self.history(lot_id)

    @abc.abstractmethod
    async def subscribe(self, lot_id: str, listener: Listener,
                        after_seq: int | None = None) -> Subscription:
        """Call ``listener`` after every commit of the lot. With ``after_seq``, first call
        it once with the records after ``after_seq`` (possibly none) and the current
        state, atomically with registering: nothing missed, nothing twice."""

    @abc.abstractmethod
    async def create_session(self, session_id: str, name: str, actor: str,
                             mode: str = "parallel", stagger_s: int = 0) -> Session:
        """Create a session (raises :class:`EngineError` if the id is taken). ``mode`` and
        ``stagger_s`` must be valid (:func:`auction.sessions.parse_rules`): the engine
        then starts and moves the session's lots as they require."""

    @abc.abstractmethod
    def sessions(self) -> list[Session]:
        """Every session, in order of creation."""

    async def session(self, session_id: str) -> Session | None:
        """The session ``session_id``, or None. Unlike :meth:`sessions`, which may lag
        behind the other processes of a scale-out backend, this finds a session another
        process created a moment ago (a host's next request may reach any process)."""
        return next((s for s in self.sessions() if s.session_id == session_id), None)
