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
        """The lot's current state (read only), or None."""

    def summary(self, lot_id: str) -> tuple[str, str] | None:
        """The lot's status and session id, or None: what walking every lot needs (lot
        counts, a session's lots), without the whole state where an engine keeps it
        encoded."""
        state = self.lot(lot_id)
        return (state.status, state.session_id) if state is not None else None

    @abc.abstractmethod
    def quarantined(self) -> dict[str, str]:
        """The lots whose record could not be read back (lot id -> reason). Such a lot is
        set apart, alone: its commands get the rejection ``quarantined``, its reads
        (:meth:`history`, :meth:`record`, :meth:`subscribe`) raise :class:`Quarantined`,
        :meth:`lot` gives None; every other lot is served."""

    @abc.abstractmethod
    def lot_ids(self) -> list[str]:
        """Every lot, in order of creation."""

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
