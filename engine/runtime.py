"""The composition root: one engine (:class:`Runtime`) made of an event log, the per-lot
writers (:mod:`engine.pipeline`), timers, listeners and the sessions' coordinator.

:class:`Runtime` knows only the event-log port (:class:`engine.eventlog.EventLog`);
this module alone names the adapters, in the two compositions a deployment picks:

* :class:`EmbeddedEngine`: one process, no services, the SQLite log in a data
  directory (:mod:`engine.logs.sqlite`). A failed write stops the engine until the file
  is writable again (it retries by itself, with backoff), then it takes in what the
  failed write stored after all and serves again.
* :class:`RedisEngine`: several processes on one Redis (:mod:`engine.logs.redis`) and
  one Postgres (:mod:`engine.pg_record`, the permanent record, written behind). A lot is
  owned by one process at a time (:mod:`engine.ownership`: a lease with a fencing epoch
  the append checks), the others forward its commands to the owner; a stale append
  reads what it missed and decides again. A process follows the appends of only the
  lots its clients watch (:meth:`Runtime.subscribe`: subscribed with the first
  listener, unsubscribed :data:`UNFOLLOW_S` after the last one left); any other lot it
  holds is brought up to date from the log when it is read (:meth:`Runtime.find`).
  Deadlines are armed on the owner only; the Redis timer index is polled for lots
  overdue by :data:`TAKE_OVER_GRACE_MS` (a dead or stalled owner's), so the process
  that takes such a lot over fires its deadline.
"""

import asyncio
import contextvars
import dataclasses
import hashlib
import hmac
import itertools
import logging
import secrets
import time
import typing
from collections import Counter, OrderedDict
from collections.abc import Callable
from pathlib import Path

import orjson

from auction.draw import commitment
from auction.errors import RecordError
from auction.lot import evolve
from auction.model import (
    Act,
    Command,
    CreateLot,
    PlaceBid,
    RegisterBidder,
    Rejection,
    StartLot,
    Tick,
)
from auction.record import GENESIS, Recorded, encode_event
from auction.state import ENDED, LotState
from engine.aggregates import AggregateLog, Aggregates, MemoryAggregateLog
from engine.api import (
    Engine,
    EngineError,
    Listener,
    Quarantined,
    Session,
    Subscription,
    UnknownLot,
)
from engine.eventlog import (
    AppendFailed,
    EventLog,
    Loaded,
    LogUnavailable,
    Row,
    Unreadable,
    read_back,
    row_of,
)
from engine.logs.aggregates_redis import RedisAggregateLog
from engine.logs.aggregates_sqlite import SQLiteAggregateLog
from engine.logs.redis import Fenced, RedisLog
from engine.logs.sqlite import SQLiteLog
from engine.metrics import EngineMetrics
from engine.ownership import Ownership
from engine.pg_record import MAX_LAG_MS, UNAVAILABLE, PgRecord
from engine.pipeline import Lot, NotAppended, Pipeline, Result
from engine.sessions import SessionCoordinator
from engine.signatures import Verifier
from engine.snapshots import (
    UNKNOWN_DEADLINE,
    Snapshot,
    SnapshotError,
    decode_state,
    encode_state,
    of_this_version,
    take,
)
from engine.stopping import stop

log = logging.getLogger(__name__)

#: How often the clock watchdog compares the wall clock with the monotonic clock (s).
CLOCK_CHECK_S = 1.0
#: A disagreement larger than this (ms) counts as a jump of the wall clock.
CLOCK_JUMP_MS = 500
#: Seconds before the first retry of a log that stopped after a failed write, doubled
#: after each failed retry up to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
#: How often a command refused by a fenced append is sent on to the lot's new owner.
REDIRECTS = 3
#: How often a shared log's timer index and sessions are polled as a backstop (s).
POLL_S = 0.5
#: Ended lots kept in memory (the most recently used, that nothing watches): the others
#: are read back from the log when asked for (:meth:`Runtime.find`).
WARM_LOTS = 1000
#: Lots in one page of :meth:`Runtime.lots`, by default.
LOTS_PAGE = 100
#: Seconds a shared log's feed still follows a lot after its last listener left (a
#: client that reconnects at once finds it followed).
UNFOLLOW_S = 5.0
#: How long (s) a process leaving cleanly may spend keeping snapshots of its live lots.
KEEP_S = 5.0
#: How long the answer to a forwarded command waits for the feed of a lot this process
#: follows to bring the owner's records (s), before reading them from the log.
FEED_WAIT_S = 0.25
#: How long past its deadline (ms) a lot of a shared log must be before a process other
#: than its owner fires it (taking the lot over if its owner's lease ran out): the owner's
#: own timer fires it on time.
TAKE_OVER_GRACE_MS = 250


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def draw_bidder_no(taken: int) -> str:
    """A random bidder number, never derived from registration order: 4 digits while the
    lot is small, 6 when it is large (so a free number is quick to find)."""
    if taken < 3000:
        return str(1000 + secrets.randbelow(9000))
    return str(100000 + secrets.randbelow(900000))


class _Subscription(Subscription):
    def __init__(self, lot: Lot, listener: Listener,
                 released: Callable[[Lot], None]) -> None:
        self._lot, self._listener, self._released = lot, listener, released

    def close(self) -> None:
        if self._listener in self._lot.listeners:
            self._lot.listeners.remove(self._listener)
            self._released(self._lot)


def _feed_done(feed: "asyncio.Task[None]") -> None:
    """A lot's feed subscribed in the background: what it failed with (the lot is read
    again when the shared log's feed is back, or when next asked for)."""
    if not feed.cancelled() and feed.exception() is not None:
        log.warning("a lot's feed could not follow it: %s", feed.exception())


class Runtime(Engine):
    """An engine over ``log``; ``record`` is a permanent record written behind the log
    (Postgres), if any. ``clock`` returns server Unix milliseconds; tests may pass
    their own."""

    def __init__(self, log: EventLog, clock: Callable[[], int] | None = None,
                 record: PgRecord | None = None,
                 postgres_max_lag_ms: int = MAX_LAG_MS,
                 aggregates: AggregateLog | None = None) -> None:
        self.log = log
        self._clock = clock or wall_clock_ms
        self.aggregates = Aggregates(aggregates or MemoryAggregateLog(), self.now)
        #: The latest time :meth:`now` has given: the engine's clock never goes back.
        self._high_water = 0
        self._watchdog: asyncio.Task[None] | None = None
        #: The lots in memory: every live lot, and the ended ones recently used.
        self._lots: dict[str, Lot] = {}
        #: Ended lots in memory that let their records go, least recently used first.
        self._warm: OrderedDict[str, None] = OrderedDict()
        #: How many ended lots have each status, in memory or not.
        self._ended: Counter[str] = Counter()
        #: Reads of a lot from the log on demand (:meth:`_known`), for the tests.
        self.reads = 0
        self._sessions: dict[str, Session] = {}
        self._closing = False
        self._failed: str | None = None
        #: Lots whose append failed on a log that stopped: read back when it recovers.
        self._diverged: set[str] = set()
        self._healer: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        #: Decodes the states a start deferred (:meth:`_decode_deferred`).
        self._decoder: asyncio.Task[None] | None = None
        #: Lots whose record could not be read back (:meth:`_quarantine`), with why.
        self._quarantined: dict[str, str] = {}
        self._ticks: set[asyncio.Task[object]] = set()
        #: The key each lot's draw seed is derived from (:meth:`seed_of`), replaced at
        #: start by the log's, which survives restarts and is shared by every process.
        self.draw_key = secrets.token_bytes(32)
        #: Runs the closing modes of sessions (serial, staggered), once lots and
        #: sessions are loaded.
        self._coordinator = SessionCoordinator(self, self._session)
        self.metrics = EngineMetrics()
        self.log.committed = self.metrics.committed
        self.record_store = record
        #: How far the permanent record may lag before :meth:`readiness` says so.
        self.postgres_max_lag_ms = postgres_max_lag_ms
        self.metrics.record = record
        self._pipeline = Pipeline(log, self)
        #: Verifies signed commands' signatures before their writer decides them.
        self.verifier = Verifier()
        #: Lot ownership on a shared log (:mod:`engine.ownership`): set by the
        #: composition that uses it; None appends without fencing.
        self.ownership: Ownership | None = None
        #: The lots a shared log's feed follows, each with the subscription and read
        #: that made it current (:meth:`_follow`).
        self._feeds: dict[str, asyncio.Task[None]] = {}
        #: The followed lots this process owned when it began following them: no
        #: subscription (their appends are its own) until it stops owning them
        #: (:meth:`_owner_left`).
        self._owned_feeds: set[str] = set()
        #: Lots without listeners whose feed is left in :attr:`unfollow_s`.
        self._unfollowing: dict[str, asyncio.TimerHandle] = {}
        self.unfollow_s = UNFOLLOW_S
        #: Forwarded commands waiting for the feed to bring a lot up to a sequence number.
        self._awaited: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            await self.log.open()
            await self.aggregates.open()
            self.draw_key = await self.log.draw_key()
            if self.log.shared:  # before loading: nothing appended meanwhile is missed
                await self.log.follow(self._followed, self._resumed)
            await self._recover(await self.log.load())
        except BaseException:
            await self._stop_log()
            raise
        for lot in self._lots.values():
            self._arm(lot)
        if self.log.shared:
            self._poller = asyncio.create_task(self._poll())
        self._decoder = asyncio.create_task(self._decode_deferred())
        if self.ownership is not None:
            await self.ownership.start(self._serve_forwarded)
        if self.record_store is not None:
            await self.record_store.start()
        self._coordinator.start()

    async def _recover(self, loaded: Loaded) -> None:
        """Every live lot from its snapshot and the rows after it (from its first row
        where it has no snapshot, or one this engine cannot read). The ended lots the log
        left out are only counted: each is read when asked for (:meth:`_known`)."""
        for session in loaded.sessions:
            self._sessions.setdefault(session.session_id, session)
        self._ended.update(loaded.ended)
        for lot_id, reason in loaded.unreadable.items():
            self._quarantine(lot_id, reason)
        for lot_id, rows in loaded.lots.items():
            lot = self._lots.setdefault(lot_id, Lot(lot_id))
            # A state with nothing to fold is decoded when first used: on a shared log
            # a start arms no deadline (the owner does, once it holds the lot); on the
            # others it arms the snapshot's, where it is known.
            await self._restore(lot, loaded.snapshots.get(lot_id), rows, defer=True)
        log.info("recovered %d lots (%d from snapshots), %d events after them; %d ended "
                 "lots left in the log", len(loaded.lots) - len(self._quarantined),
                 len(loaded.snapshots), sum(len(rows) for rows in loaded.lots.values()),
                 sum(loaded.ended.values()))

    async def _restore(self, lot: Lot, snapshot: Snapshot | None, rows: list[Row],
                       defer: bool = False) -> None:
        """The lot from its snapshot (if any, and readable) and the rows after it. With
        ``defer``, a snapshot with no rows after it is decoded when the state is first
        used (:meth:`Lot.defer`), or in the background (:meth:`_decode_deferred`)."""
        if snapshot is not None:
            try:
                if (defer and not rows and of_this_version(snapshot.state)
                        and (self.log.shared or snapshot.deadline != UNKNOWN_DEADLINE)):
                    lot.defer(snapshot.state, snapshot.deadline)
                    self._summary(lot, (snapshot.status, snapshot.session_id))
                else:
                    lot.state = decode_state(snapshot.state)
                lot.base, lot.base_state = snapshot.seq, snapshot.state
                lot.last_hash = lot.base_hash = snapshot.hash
            except SnapshotError as exc:
                log.warning("lot %s: snapshot not used (%s): replaying its events",
                            lot.lot_id, exc)
                try:
                    rows = await self._rows(lot.lot_id, 0, snapshot.seq)
                except Unreadable as unreadable:
                    self._quarantine(lot.lot_id, str(unreadable))
                    return
        self._apply_rows(lot, rows)
        if not lot.deferred and lot.state is not None and not rows:  # the snapshot alone
            self._summarise(lot, lot.state)

    def _summarise(self, lot: Lot, state: LotState) -> None:
        """Keep the lot's status and session, and the counts of ended lots by status."""
        self._summary(lot, (state.status, state.session_id))

    def _summary(self, lot: Lot, summary: tuple[str, str]) -> None:
        if summary != lot.summary:
            if lot.summary is not None and lot.summary[0] in ENDED:
                self._ended[lot.summary[0]] -= 1
            if summary[0] in ENDED:
                self._ended[summary[0]] += 1
            lot.summary = summary

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        await self._coordinator.stop()
        await stop(self._watchdog, self._healer, self._poller, self._decoder)
        for lot in self._lots.values():
            if lot.timer is not None:
                lot.timer.cancel()
        for handle in self._unfollowing.values():
            handle.cancel()
        writers = [lot.writer for lot in self._lots.values() if lot.writer is not None]
        await asyncio.gather(*writers, *self._ticks, return_exceptions=True)
        await self._keep_snapshots()
        if self.ownership is not None:
            await self.ownership.close()
        if self.record_store is not None:
            await self.record_store.close()
        await self._stop_log()
        self.verifier.close()

    async def _keep_snapshots(self) -> None:
        """Leaving cleanly: each live lot this process holds that has events after its
        last snapshot gets one of its state now (:meth:`EventLog.keep`), so that the
        next start, or the process taking the lot over, folds none of its events. Within
        :data:`KEEP_S`; a snapshot not kept costs the next start its fold, nothing else."""
        until = time.monotonic() + KEEP_S
        kept = 0
        for lot in list(self._lots.values()):
            if (not lot.records or lot.dirty or lot.writer is not None
                    or lot.lot_id in self._quarantined
                    or (self.ownership is not None
                        and lot.lot_id not in self.ownership.held)):
                continue
            state = lot.state
            if state is None or state.status in ENDED:
                continue
            if time.monotonic() > until:
                log.warning("leaving: no time left to keep more snapshots")
                break
            try:
                kept += await self.log.keep(take(state, lot.version, lot.last_hash),
                                            epoch=self.epoch(lot))
            except (LogUnavailable, SnapshotError) as exc:
                log.warning("leaving: no snapshot of %s kept: %s", lot.lot_id, exc)
        if kept:
            log.info("leaving: snapshots of %d live lots kept for the next start", kept)

    async def _stop_log(self) -> None:
        try:
            await self.aggregates.close()
        except Exception:  # closing what never opened, or is already gone
            log.exception("closing the aggregates' log failed")
        try:
            await self.log.close()
        except Exception:  # closing what never opened, or is already gone
            log.exception("closing the event log failed")

    async def readiness(self) -> dict[str, str]:
        reasons: dict[str, str] = {}
        if self._closing:
            reasons["engine"] = "the engine is shutting down"
        if self._failed is not None:
            reasons["store"] = (f"the store cannot be written ({self._failed}); commands "
                                "are refused until a retry succeeds")
        reasons.update(await self.log.readiness())
        if self.record_store is not None:
            reasons.update(await self.record_store.readiness(self.postgres_max_lag_ms))
        return reasons

    # ----------------------------------------------------------------- reads

    def now(self) -> int:
        """The wall clock, but never earlier than a time already given: after the wall
        clock steps back, the engine's time stands still until the wall clock catches up,
        so nothing decided "closed" can later be decided "open" and event times in the
        record never go backwards."""
        now = self._clock()
        if now < self._high_water:
            return self._high_water
        self._high_water = now
        return now

    def _session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[Session]:
        if self.log.shared:  # made by several processes: one order for all of them
            return sorted(self._sessions.values(), key=lambda s: (s.created_at, s.session_id))
        return list(self._sessions.values())

    async def session(self, session_id: str) -> Session | None:
        """A session another process made a moment ago is looked for in a shared log at
        once (the sessions of other processes are otherwise learnt every ``POLL_S``)."""
        if session_id not in self._sessions and self.log.shared:
            try:
                found = await self.log.sessions()
            except Exception as exc:
                raise EngineError(f"the log is unavailable: {exc}") from exc
            self._learn(found)
        return self._sessions.get(session_id)

    def _learn(self, sessions: list[Session]) -> None:
        """Take in the sessions other processes made."""
        for session in sessions:
            if session.session_id not in self._sessions:
                self._sessions[session.session_id] = session
                self._coordinator.new_session(session)

    def lot(self, lot_id: str) -> LotState | None:
        """The state of a lot in memory (an ended lot may not be: :meth:`find`)."""
        lot = self._lots.get(lot_id)
        if lot is None:
            return None
        if lot_id in self._warm:
            self._warm.move_to_end(lot_id)
        return lot.state

    def read(self, lot_id: str) -> LotState | None:
        if self.lot(lot_id) is None:
            return None
        return self._lots[lot_id].readable()

    async def find(self, lot_id: str) -> LotState | None:
        lot = await self._known(lot_id)
        # a lot read back for this call is answered even when memory lets it go at once
        return self.read(lot_id) if lot is None else lot.readable()

    def summary(self, lot_id: str) -> tuple[str, str] | None:
        lot = self._lots.get(lot_id)
        return lot.summary if lot is not None and lot.known else None

    def counts(self) -> dict[str, int]:
        counts = Counter(lot.summary[0] for lot in self._lots.values()
                         if lot.summary is not None and lot.known
                         and lot.summary[0] not in ENDED)
        counts.update(self._ended)
        return {status: n for status, n in counts.items() if n > 0}

    async def lots(self, *, session_id: str | None = None, after: str | None = None,
                   limit: int = LOTS_PAGE) -> tuple[list[LotState], str | None]:
        """A page of lots from the log's listing (ended lots read on demand)."""
        try:
            ids = await self.log.lot_page(after, limit, session_id)
        except LogUnavailable as exc:
            raise EngineError(str(exc)) from exc
        # The page's lots are read at once (on Redis, over the pool's connections).
        found = await asyncio.gather(*(self.find(lot_id) for lot_id in ids))
        states = [state for state in found if state is not None
                  and (session_id is None or state.session_id == session_id)]
        return states, (ids[-1] if len(ids) == limit else None)

    def _warmed(self, lot: Lot) -> None:
        """An ended lot let its records go: keep at most :data:`WARM_LOTS` such lots in
        memory, dropping the least recently used that nothing uses (it is read back from
        the log when next asked for)."""
        self._warm[lot.lot_id] = None
        self._warm.move_to_end(lot.lot_id)
        for oldest in list(itertools.islice(self._warm, max(len(self._warm) - WARM_LOTS, 0))):
            cold = self._lots.get(oldest)
            if cold is None:
                del self._warm[oldest]
            elif cold.unused():
                self._drop(cold)

    def quarantined(self) -> dict[str, str]:
        return dict(self._quarantined)

    def _quarantine(self, lot_id: str, reason: str) -> None:
        """Set the lot apart: its record could not be read back. Every other lot goes on;
        this one keeps nothing in memory, refuses its commands and reads, and has no
        deadline armed."""
        if lot_id not in self._quarantined:
            log.error("lot %s quarantined: its record cannot be read back: %s", lot_id,
                      reason)
        self._quarantined[lot_id] = reason
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        lot.state, lot.records, lot.listeners = None, [], []
        self._warm.pop(lot_id, None)
        if lot.summary is not None and lot.summary[0] in ENDED:
            self._ended[lot.summary[0]] -= 1
        lot.summary = None
        lot.base, lot.base_state, lot.last_hash, lot.base_hash = 0, None, GENESIS, GENESIS
        if lot.timer is not None:
            lot.timer.cancel()
            lot.timer = None
        lot.deadline = None

    def lot_ids(self) -> list[str]:
        return [lot_id for lot_id, lot in self._lots.items() if lot.known]

    async def history(self, lot_id: str, after_seq: int = 0) -> list[Recorded]:
        await self._known(lot_id)
        lot = self._get(lot_id)
        after_seq = max(after_seq, 0)
        older = await self._older(lot, after_seq)
        return older + lot.records[max(after_seq - lot.base, 0):]

    async def _older(self, lot: Lot, after_seq: int) -> list[Recorded]:
        """The lot's records after ``after_seq`` up to :attr:`Lot.base`, which memory
        does not keep: read back from the log, the chain checked from its first event
        to the hash the lot continues."""
        base, base_hash = lot.base, lot.base_hash
        if after_seq >= base:
            return []
        try:
            rows = [row for row in await self._rows(lot.lot_id, 0, base) if row.seq <= base]
            records = read_back(lot.lot_id, rows)
        except (LogUnavailable, Unreadable, RecordError) as exc:
            raise EngineError(f"the record of {lot.lot_id} cannot be read: {exc}") from exc
        if len(records) != base or records[-1].hash != base_hash:
            raise EngineError(f"the record of {lot.lot_id} does not lead to its snapshot")
        return records[after_seq:]

    async def record(self, lot_id: str) -> list[Recorded]:
        """The lot's events as the permanent record holds them: Postgres where there is
        one (read back from it), else the log."""
        if self.record_store is None:
            if self.log.shared:
                raise EngineError("no Postgres record is configured")
            return await self.history(lot_id)
        try:
            rows = await self.record_store.events(lot_id)
        except UNAVAILABLE as exc:  # (ConnectionError is an OSError)
            raise EngineError(f"the permanent record is unavailable: {exc}") from exc
        try:
            # Rows written before ``body_text`` kept the sealed text exactly hold the
            # same values, normalised: the chain is checked on their canonical text.
            return read_back(lot_id, ((r["seq"], encode_event(orjson.loads(r["body_text"])),
                                       r["hash"]) for r in rows))
        except (RecordError, ValueError) as exc:
            raise EngineError(f"the permanent record of {lot_id} cannot be read: {exc}"
                              ) from exc

    def _get(self, lot_id: str) -> Lot:
        if lot_id in self._quarantined:
            raise Quarantined(lot_id, self._quarantined[lot_id])
        lot = self._lots.get(lot_id)
        if lot_id in self._warm:
            self._warm.move_to_end(lot_id)
        if lot is None or (lot.state is None and not lot.queue and lot.writer is None):
            raise UnknownLot(lot_id)
        return lot

    async def _known(self, lot_id: str, current: bool = True) -> Lot | None:
        """Make sure a lot the log holds is in memory: an ended lot left in the log (read
        back from its snapshot and the rows after it), or, on a shared log, a lot another
        process created. With ``current``, a lot of a shared log that this process
        neither follows nor owns is brought up to date from the log (other processes
        may have appended to it). The lot when this call read it back (memory may let an
        ended one go again at once), else None."""
        if lot_id in self._quarantined:
            return None
        held = self._lots.get(lot_id)
        if (held is not None and (held.broken or (held.deferred and held.state is None))
                and held.writer is None and not held.queue):
            self._drop(held)  # its deferred snapshot does not decode: read it again
            held = None
        if held is not None:
            if current and self._unfollowed(held):
                try:
                    await self.catch_up(held)
                except LogUnavailable as exc:
                    raise EngineError(str(exc)) from exc
                return held  # answered even if memory let it go during the read
            return None
        try:
            stored = await self.log.lot(lot_id)
        except Unreadable as exc:
            self._quarantine(lot_id, str(exc))
            return None
        except LogUnavailable as exc:
            raise EngineError(str(exc)) from exc
        if stored is None or lot_id in self._lots:  # unknown, or read meanwhile
            return None
        self.reads += 1
        lot = self._lots[lot_id] = Lot(lot_id)
        snapshot = stored.snapshot
        if snapshot is not None and snapshot.ended:
            # Counted among the ended lots already (Loaded.ended).
            lot.summary = (snapshot.status, snapshot.session_id)
        await self._restore(lot, snapshot, stored.rows)
        self._arm(lot)
        self._let_go(lot)
        return lot

    def _drop(self, lot: Lot) -> None:
        """Forget ``lot`` (it is read from the log when next asked for)."""
        if lot.timer is not None:
            lot.timer.cancel()
        self._warm.pop(lot.lot_id, None)
        if self._lots.get(lot.lot_id) is lot:
            del self._lots[lot.lot_id]

    async def _decode_deferred(self) -> None:
        """Decode, in the background, the states a start deferred (Lot.defer), one lot
        at a time between the other work of the event loop, so that a lot's first use
        seldom pays for it; a lot whose snapshot does not decode is read again from the
        log and replayed from its events."""
        for lot in list(self._lots.values()):
            if self._closing:
                return
            if not lot.deferred:
                continue
            if lot.state is None and lot.broken:
                try:
                    await self._known(lot.lot_id, current=False)
                except EngineError as exc:  # read again when next asked for
                    log.warning("lot %s not read again: %s", lot.lot_id, exc)
            await asyncio.sleep(0)

    def _unfollowed(self, lot: Lot) -> bool:
        """Whether other processes may have appended to ``lot`` unseen: a lot of a
        shared log that this process's feed does not follow and whose lease it does not
        hold (while it does, nobody else appends), with nothing of its own in flight."""
        return (self.log.shared and lot.lot_id not in self._feeds and lot.writer is None
                and lot.state is not None
                and (self.ownership is None or lot.lot_id not in self.ownership.held))

    async def _log_rows(self, lot_id: str, after_seq: int) -> list[Row]:
        """The permanent record's source: the live log's rows of the lot."""
        return await self.log.read(lot_id, after_seq)

    async def _rows(self, lot_id: str, after_seq: int, last: int | None = None) -> list[Row]:
        """The lot's rows after ``after_seq`` (up to ``last`` at least, when known): the
        live log's, and those it dropped once the permanent record held them
        (:meth:`EventLog.trim`) read from the permanent record."""
        rows = await self.log.read(lot_id, after_seq)
        first = rows[0].seq if rows else (last + 1 if last is not None else None)
        if self.record_store is None or first is None or first <= after_seq + 1:
            return rows
        try:
            older = await self.record_store.rows(lot_id, after_seq, first)
        except UNAVAILABLE as exc:  # (ConnectionError is an OSError)
            raise LogUnavailable(f"the permanent record is unavailable: {exc}") from exc
        return older + rows

    async def _log_lots(self) -> list[str]:
        """Every lot of the live log (ended ones included), for the record's catch-up."""
        ids: list[str] = []
        while page := await self.log.lot_page(ids[-1] if ids else None, 1000):
            ids.extend(page)
            if len(page) < 1000:
                break
        return ids

    # ----------------------------------------------------------------- writes

    async def create_session(self, session_id: str, name: str, actor: str,
                             mode: str = "parallel", stagger_s: int = 0) -> Session:
        self._check_open()
        if session_id in self._sessions:
            raise EngineError(f"session {session_id} exists")
        session = Session(session_id, name, self.now(), actor, mode, stagger_s)
        try:
            fresh = await self.log.add_session(session)
        except LogUnavailable as exc:
            raise EngineError(str(exc)) from exc
        if not fresh:
            raise EngineError(f"session {session_id} exists")
        self._sessions[session_id] = session
        if self.record_store is not None:
            await self.record_store.add_session(session_id, name, session.created_at, actor,
                                                mode, stagger_s)
        return session

    async def register_bidder(self, lot_id: str, bidder_id: str, name: str,
                              actor: str, reason: str = "") -> Result:
        for _ in range(50):
            state = self.lot(lot_id)
            taken = len(state.numbers) if state is not None else 0
            result = await self.execute(lot_id, RegisterBidder(
                bidder_id=bidder_id, bidder_no=draw_bidder_no(taken), name=name, actor=actor,
                reason=reason))
            if not (isinstance(result, Rejection) and result.code == "number_taken"):
                return result
        raise EngineError("no free bidder number found")

    def seed_of(self, lot_id: str) -> str:
        """The lot's secret draw seed: HMAC-SHA256 of the lot id under :attr:`draw_key`,
        the same in every process and after every restart, unknown to anyone without the
        key until a draw reveals it (RULES.md: commit when the lot opens, reveal at the
        draw)."""
        return hmac.new(self.draw_key, lot_id.encode(), hashlib.sha256).hexdigest()

    async def execute(self, lot_id: str, command: Command) -> Result:
        # Not brought up to date here: the owner decides on its own current copy, and
        # a stale append of a lot taken over reads what it missed first.
        await self._known(lot_id, current=False)
        if isinstance(command, (PlaceBid, Act)):
            started = time.perf_counter()
            result = await self._execute(lot_id, command)
            self.metrics.ack_seconds.observe(time.perf_counter() - started)
            return result
        return await self._execute(lot_id, command)

    async def _execute(self, lot_id: str, command: Command) -> Result:
        self._check_open()
        for target in (lot_id, command.lot_id if isinstance(command, CreateLot) else lot_id):
            if target in self._quarantined:
                return Rejection("quarantined", self._quarantined[target])
        if self.ownership is None:
            return await self._submit(lot_id, command)
        if not isinstance(command, CreateLot):
            self._get(lot_id)  # an unknown lot: no lease taken for it
        for attempt in range(REDIRECTS):
            routed = await self._route(lot_id, command)
            if routed is not None:
                return routed
            try:
                return await self._submit(lot_id, command)
            except NotAppended:
                # Fenced: another process took the lot over and nothing of this command
                # was written; send it to the new owner.
                if attempt == REDIRECTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _submit(self, lot_id: str, command: Command) -> Result:
        """Decide ``command`` in this process's writer of the lot."""
        if isinstance(command, (Tick, StartLot)):
            seed = self.seed_of(lot_id)
            command = dataclasses.replace(command, seed=seed, seed_hash=commitment(seed))
        if isinstance(command, CreateLot):
            lot = self._lots.setdefault(command.lot_id, Lot(command.lot_id))
        else:
            lot = self._get(lot_id)
            state = lot.state
            if state is not None and getattr(command, "signed", None) is not None:
                await self.verifier.ahead(state, command)
        return await self._pipeline.submit(lot, command)

    def _check_open(self) -> None:
        if self._closing:
            raise EngineError("the engine is shutting down")
        if self._failed is not None:
            raise EngineError(f"the engine stopped after a store failure: {self._failed} "
                              "(it resumes by itself once the store works again)")

    # ----------------------------------------------------------------- ownership

    async def _route(self, lot_id: str, command: Command) -> Result | None:
        """None when this process owns the lot (taking its lease if it is free or
        expired); else the result of forwarding ``command`` to the owner. A deadline's
        :class:`Tick` is never forwarded: the owner's own timer fires it."""
        assert self.ownership is not None
        if lot_id in self.ownership.held:
            return None
        give_up = time.monotonic() + self.ownership.ttl_ms / 1000 + 2.0
        while True:
            try:
                owner = await self.ownership.acquire(lot_id)
                if isinstance(owner, int):
                    return None
                if isinstance(command, Tick):
                    return []
                answer = await self.ownership.forward(owner, lot_id, command)
            except LogUnavailable as exc:
                raise EngineError(str(exc)) from exc
            except TimeoutError:
                raise EngineError(f"the process owning lot {lot_id} did not answer (whether "
                                  "it recorded the command is unknown); try again") from None
            if answer is not None and "moved" not in answer:
                return await self._forwarded(lot_id, answer)
            # The owner is gone (its lease runs out) or moved on: ask again.
            if time.monotonic() > give_up:
                raise EngineError(f"lot {lot_id} has no reachable owner; try again")
            await asyncio.sleep(0.1)

    async def owner_address(self, lot_id: str) -> str | None:
        if self.ownership is None or self.ownership.address is None:
            return None
        try:
            return await self.ownership.owner_address(lot_id)
        except LogUnavailable:  # only a hint: the commands are forwarded
            return None

    async def _forwarded(self, lot_id: str, answer: dict[str, object]) -> Result:
        """The result of a command the owner decided: its records, read here."""
        if "rej" in answer:
            code, detail = typing.cast(list[str], answer["rej"])
            return Rejection(code, detail)
        if "seqs" not in answer:
            raise EngineError(str(answer.get("err", "the lot's owner failed the command")))
        first, last = typing.cast(list[int], answer["seqs"])
        if first > last:
            return []
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        feed = self._feeds.get(lot_id)
        if lot.version < last and feed is not None and feed.done():
            await self._fed(lot, last)  # the records are read once, from the feed
        if lot.version < last:
            try:
                await self._refresh(lot)
            except LogUnavailable as exc:
                raise EngineError(str(exc)) from exc
        if lot.version < last and lot.unread:
            await self._fed(lot, last)  # read and published by the lot's writer here
        if lot.version < last:
            raise EngineError(f"lot {lot_id}: the owner's records are not readable here")
        if first > lot.base:  # (memory keeps the records after the lot's base only)
            return lot.records[first - 1 - lot.base:last - lot.base]
        older = await self._older(lot, first - 1)
        return [r for r in older + lot.records if r.seq <= last]

    async def _fed(self, lot: Lot, seq: int) -> None:
        """Wait (at most :data:`FEED_WAIT_S`) until the feed brought ``lot`` up to ``seq``."""
        arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = self._awaited.setdefault(lot.lot_id, [])
        waiting.append((seq, arrived))
        try:
            await asyncio.wait_for(arrived, FEED_WAIT_S)
        except TimeoutError:
            pass
        finally:
            if (seq, arrived) in waiting:
                waiting.remove((seq, arrived))
            if not waiting:
                self._awaited.pop(lot.lot_id, None)

    async def _serve_forwarded(self, lot_id: str, command: Command) -> dict[str, object]:
        """A command another process forwarded to a lot this process owns."""
        assert self.ownership is not None
        if lot_id not in self.ownership.held:
            return {"moved": True}
        self._check_open()
        await self._known(lot_id, current=False)
        if lot_id in self._quarantined:
            return {"rej": ["quarantined", self._quarantined[lot_id]]}
        if not isinstance(command, CreateLot):
            self._get(lot_id)
        try:
            result = await self._submit(lot_id, command)
        except NotAppended:  # this process lost the lot meanwhile: the sender routes again
            return {"moved": True}
        if isinstance(result, Rejection):
            return {"rej": [result.code, result.detail]}
        if not result:
            return {"seqs": [1, 0]}
        return {"seqs": [result[0].seq, result[-1].seq]}

    # ----------------------------------------------------------------- the writers' host

    def unavailable(self) -> str | None:
        return self._failed

    def epoch(self, lot: Lot) -> int | None:
        if self.ownership is None:
            return None
        # A lot not held is appended to under an epoch no lease has: always fenced.
        return self.ownership.held.get(lot.lot_id, -1)

    def exclusive(self, lot: Lot) -> bool:
        return self.ownership is not None and self.ownership.certain(lot.lot_id)

    def published(self, lot: Lot, state: LotState, records: list[Recorded]) -> None:
        lot.state, lot.dirty = state, False
        self._summarise(lot, state)
        lot.records.extend(records)
        lot.last_hash = records[-1].hash
        for listener in list(lot.listeners):
            self._notify(listener, state, records)
        waiting = self._awaited.get(lot.lot_id) if self._awaited else None
        if waiting:
            for seq, arrived in waiting:
                if seq <= lot.version and not arrived.done():
                    arrived.set_result(None)
        self._coordinator.committed(state)

    def _let_go(self, lot: Lot) -> None:
        """An ended lot keeps its state, not its records: they are read back from the
        log when asked for (:meth:`history`, :meth:`subscribe`), and the lot itself is
        dropped from memory once it is among the least recently used
        (:meth:`_warmed`). Not while the state runs ahead of the log or subscribers
        wait to join."""
        state = lot.state
        if state is None or state.status not in ENDED or lot.dirty or lot.joining:
            return
        if lot.records:
            try:
                lot.base_state = encode_state(state)
            except SnapshotError as exc:  # pragma: no cover - every state of the rules encodes
                log.error("lot %s keeps its records in memory: %s", lot.lot_id, exc)
                return
            lot.base, lot.base_hash = lot.version, lot.last_hash
            lot.records = []
        elif lot.base_state is None:
            return
        self._warmed(lot)

    def appended(self, lot: Lot, rows: list[Row]) -> None:
        if self.record_store is not None:
            self.record_store.add(rows)

    def append_failed(self, lot: Lot, exc: AppendFailed) -> None:
        if isinstance(exc, Fenced) and self.ownership is not None:
            self.ownership.lost(lot.lot_id)
        if self.record_store is not None:
            # If it landed after all, its rows are handed to no permanent record: the
            # record reads the lot from the live log after its position.
            self.record_store.check(lot.lot_id)
        if not self.log.fail_stop:
            return
        # The log writes nothing more until it is proved writable again: stop serving
        # (fail-stop) until then (:meth:`_heal`). Nothing here was acknowledged.
        if self._failed is None:
            self._failed = exc.reason
            log.critical("store failure, commands refused until it works again: %s",
                         exc.reason)
            self._healer = asyncio.get_running_loop().create_task(self._heal())
        self._diverged.add(lot.lot_id)

    def settled(self, lot: Lot) -> None:
        self._admit_subscribers(lot)
        self._arm(lot)
        self._let_go(lot)

    def idle(self, lot: Lot) -> None:
        if lot.state is None and not lot.queue:  # a refused CreateLot leaves nothing
            self._lots.pop(lot.lot_id, None)
        elif (self.ownership is not None and lot.state is not None
              and lot.state.status in ENDED and not lot.dirty and not lot.queue):
            self.ownership.ended(lot.lot_id)

    async def catch_up(self, lot: Lot) -> None:
        if lot.lot_id in self._quarantined:
            return
        try:
            rows = await self._rows(lot.lot_id, lot.version)
        except Unreadable as exc:
            self._quarantine(lot.lot_id, str(exc))
            return
        if rows:
            self._apply_rows(lot, rows)

    async def _refresh(self, lot: Lot) -> None:
        """Bring ``lot`` up to what the log holds, from outside its writer. While the
        writer runs, it alone publishes the lot's rows (those read here may be its own
        append, landed and not yet confirmed to it): it is told to read the log itself
        before it decides again or goes idle (:attr:`Lot.unread`)."""
        if lot.writer is None:
            await self.catch_up(lot)
        else:
            lot.unread = True

    @staticmethod
    def _notify(listener: Listener, state: LotState, records: list[Recorded]) -> None:
        try:
            listener(state, records)
        except Exception:  # one broken listener must not stop the lot or the others
            log.exception("listener failed")

    # ----------------------------------------------------------------- other writers

    def _apply_rows(self, lot: Lot, rows: list[Row]) -> bool:
        """Publish durable rows continuing the lot, appended by another writer (or by
        this one, unconfirmed); False if they leave a gap. A lot whose rows cannot be
        read back is set apart."""
        rows = [r for r in rows if r.seq > lot.version]
        if not rows:
            return True
        if rows[0].seq != lot.version + 1:
            return False
        if lot.lot_id in self._quarantined:
            return True
        # The writer may have folded a batch in flight into the state: start from the
        # durable one (that append will be stale).
        state = lot.durable() if lot.dirty else lot.state
        try:
            records = read_back(lot.lot_id, rows, lot.version, lot.last_hash)
            for record in records:
                state = evolve(state, record.event)
        except Exception as exc:  # whatever it is, it stops this lot only
            self._quarantine(lot.lot_id, f"{type(exc).__name__}: {exc}")
            return True
        assert state is not None
        self.published(lot, state, records)
        self._arm(lot)
        if self.record_store is not None:  # applied once, by whichever process is first
            self.record_store.add(row_of(r) for r in records)
        return True

    async def _followed(self, lot_id: str, rows: list[Row]) -> None:
        """Rows another process appended to a lot this process follows (the shared
        log's feed)."""
        self.metrics.feed_rows += len(rows)
        if lot_id not in self._lots:
            try:
                await self._known(lot_id)  # read whole (the rows are in the log already)
            except EngineError as exc:  # the rows' gap is read when the log is back
                log.warning("lot %s not read: %s", lot_id, exc)
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        if lot.writer is not None or not self._apply_rows(lot, rows):
            await self._refresh(lot)  # by its writer, while it runs

    async def _resumed(self) -> None:
        """The feed was lost and is back: read whatever was appended meanwhile to the
        lots it follows (the others are read when asked for)."""
        for lot_id in list(self._feeds):
            lot = self._lots.get(lot_id)
            if lot is not None:
                await self._refresh(lot)

    async def _poll(self) -> None:
        """The backstop of a shared log: fire every deadline its timer index says is
        overdue (by :data:`TAKE_OVER_GRACE_MS` where lots have owners: a live owner's
        own timer fires it on time; the Tick takes over the lot of an owner whose lease
        ran out), learn the sessions other processes made, and take the counts of ended
        lots from the log (lots other processes created and ended were never in memory
        here)."""
        while True:
            await asyncio.sleep(POLL_S)
            grace = 0 if self.ownership is None else TAKE_OVER_GRACE_MS
            try:
                polled = await self.log.poll(self.now() - grace)
                for lot_id in polled.due:
                    await self._known(lot_id, current=False)
                    lot = self._lots.get(lot_id)
                    if lot is not None and lot.writer is None:
                        self.fire_soon(lot_id)
                # Every session here is in the log: as many there means none new.
                if polled.sessions is None or polled.sessions != len(self._sessions):
                    self._learn(await self.log.sessions())
                if polled.ended is not None:
                    self._ended = Counter(polled.ended)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the log unreachable: try again at the next poll
                log.warning("timer index unavailable: %s", exc)

    # ----------------------------------------------------------------- a stopped log

    async def _heal(self) -> None:
        """Retry the log with backoff until it is writable; then take in what the failed
        writes stored after all and serve again."""
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)
            delay = min(2 * delay, RETRY_MAX_S)
            # Commands are refused meanwhile; let the writers still answering them finish.
            writers = [lot.writer for lot in self._lots.values() if lot.writer is not None]
            await asyncio.gather(*writers, return_exceptions=True)
            try:
                await self.log.recover(self.now())
                found = {lot_id: await self.log.read(
                    lot_id, lot.version if (lot := self._lots.get(lot_id)) else 0)
                    for lot_id in self._diverged}
            except Exception as exc:  # (LogUnavailable, Unreadable, or the unforeseen:
                # the healer must not end with the engine stopped)
                log.warning("store still failing, next retry in %.1f s: %s", delay, exc)
                continue
            break
        self._healer = None
        try:
            for lot_id, rows in found.items():
                self._take_back(lot_id, rows)
        except EngineError as exc:  # the file contradicts what was durable: stay stopped
            self._failed = str(exc)
            log.critical("store recovered but %s: engine stays stopped", exc)
            return
        self._diverged.clear()
        self._failed = None
        for lot in list(self._lots.values()):
            self._arm(lot)
        self._coordinator.start()  # what the sessions' closing modes could not do meanwhile
        log.warning("store writable again: engine serving")

    def _take_back(self, lot_id: str, rows: list[Row]) -> None:
        """Publish ``rows``, found in the log after the lot's durable events: a write
        reported failed that landed nonetheless (never acknowledged to its senders)."""
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        rows = [r for r in rows if r.seq > lot.version]  # or read by its writer meanwhile
        if not rows:
            return
        try:
            records = read_back(lot_id, rows, lot.version, lot.last_hash)
        except RecordError as exc:
            raise EngineError(f"lot {lot_id}: the file does not continue its durable "
                              f"record: {exc.message}") from None
        state = lot.state
        for record in records:
            state = evolve(state, record.event)
        assert state is not None
        log.warning("lot %s: %d events of a write reported failed were stored after all",
                    lot_id, len(records))
        self.published(lot, state, records)

    # ----------------------------------------------------------------- fan-out

    async def subscribe(self, lot_id: str, listener: Listener,
                        after_seq: int | None = None) -> Subscription:
        await self._known(lot_id, current=False)
        lot = self._get(lot_id)
        await self._follow(lot)
        # What memory no longer keeps is read first; what is older than the lot's base
        # never changes, and what comes after it is taken when joining.
        older: list[Recorded] = []
        while after_seq is not None:
            base = lot.base
            older = await self._older(lot, max(after_seq, 0))
            if lot.base == base:  # else the lot let records go meanwhile: read again
                break
        if lot.writer is None:
            self._join(lot, listener, after_seq, older)
        else:  # a commit is in flight: join right after it, when state == durable record
            joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            lot.joining.append((listener, after_seq, joined, older))
            await joined
        return _Subscription(lot, listener, self._released)

    async def _follow(self, lot: Lot) -> None:
        """On a shared log: have its feed follow the lot (Redis confirmed the
        subscription), then read what was appended before it, so that from here on
        every append of the lot reaches this process, with no gap."""
        if not self.log.shared:
            return
        lot_id = lot.lot_id
        leaving = self._unfollowing.pop(lot_id, None)
        if leaving is not None:
            leaving.cancel()
        feed = self._feeds.get(lot_id)
        if feed is None:
            feed = self._feeds[lot_id] = asyncio.create_task(self._subscribe_feed(lot))
            self.metrics.feed_lots = len(self._feeds)
        try:
            await asyncio.shield(feed)
        except Exception as exc:  # (a failed feed is never left for the next subscriber)
            if self._feeds.get(lot_id) is feed:
                del self._feeds[lot_id]
                self._owned_feeds.discard(lot_id)
                self.metrics.feed_lots = len(self._feeds)
                await self.log.unwatch(lot_id)
            raise EngineError(f"lot {lot_id} cannot be followed: {exc}") from exc

    async def _subscribe_feed(self, lot: Lot) -> None:
        if self.ownership is not None and lot.lot_id in self.ownership.held:
            # Only its owner appends to it: this process, whose writer publishes the
            # appends here. Its broadcasts would come back to it only to be left out.
            self._owned_feeds.add(lot.lot_id)
        else:
            await self.log.watch(lot.lot_id)
        await self._refresh(lot)

    def _owner_left(self, lot_id: str) -> None:
        """This process stopped owning ``lot_id``: if it follows the lot through its
        ownership, subscribe to its appends now (then read what the log holds: another
        process may have appended since this one's lease ran out)."""
        if lot_id not in self._owned_feeds:
            return
        self._owned_feeds.discard(lot_id)
        lot = self._lots.get(lot_id)
        if lot is None or lot_id not in self._feeds or self._closing:
            return
        feed = self._feeds[lot_id] = asyncio.create_task(self._subscribe_feed(lot))
        feed.add_done_callback(_feed_done)

    def _released(self, lot: Lot) -> None:
        """A listener left: the feed stops following the lot :attr:`unfollow_s` after
        its last one did."""
        if (lot.listeners or lot.joining or lot.lot_id not in self._feeds
                or lot.lot_id in self._unfollowing or self._closing):
            return
        self._unfollowing[lot.lot_id] = asyncio.get_running_loop().call_later(
            self.unfollow_s, self._unfollow, lot.lot_id)

    def _unfollow(self, lot_id: str) -> None:
        self._unfollowing.pop(lot_id, None)
        lot = self._lots.get(lot_id)
        if lot is not None and (lot.listeners or lot.joining):
            return
        feed = self._feeds.pop(lot_id, None)
        self.metrics.feed_lots = len(self._feeds)
        if lot_id in self._owned_feeds:  # never subscribed
            self._owned_feeds.discard(lot_id)
        elif feed is not None:
            task = asyncio.create_task(self.log.unwatch(lot_id))
            self._ticks.add(task)
            task.add_done_callback(self._ticks.discard)

    def _join(self, lot: Lot, listener: Listener, after_seq: int | None,
              older: list[Recorded]) -> None:
        if after_seq is not None and lot.state is not None:
            # ``older`` holds what is after ``after_seq`` up to the base (nothing is let
            # go while a subscriber waits to join), memory the rest.
            kept = lot.records[max(after_seq - lot.base, 0):]
            self._notify(listener, lot.state, older + kept)
        lot.listeners.append(listener)

    def _admit_subscribers(self, lot: Lot) -> None:
        joining, lot.joining = lot.joining, []
        for listener, after_seq, joined, older in joining:
            self._join(lot, listener, after_seq, older)
            if not joined.done():
                joined.set_result(None)

    # ----------------------------------------------------------------- timers

    def _arm(self, lot: Lot) -> None:
        if self.ownership is not None and lot.lot_id not in self.ownership.held:
            # Deadlines fire on the lot's owner only (see :meth:`_poll` for a dead one's).
            if lot.timer is not None:
                lot.timer.cancel()
                lot.timer = None
            lot.deadline = None
            return
        deadline = lot.next_deadline()
        if deadline == lot.deadline and lot.timer is not None:
            return
        if lot.timer is not None:
            lot.timer.cancel()
            lot.timer = None
        lot.deadline = deadline
        if deadline is None or self._closing:
            return
        # The raw wall clock, not now(): after a backward step now() stands still and
        # would make the timer wake again and again until the wall clock catches up.
        delay = max(0.0, (deadline - self._clock()) / 1000)
        loop = asyncio.get_running_loop()
        lot.timer = loop.call_later(delay, self._fire, lot)
        if self._watchdog is None:
            self._watchdog = loop.create_task(self._watch_clock())

    def next_deadline(self) -> int | None:
        return min((lot.deadline for lot in self._lots.values()
                    if lot.timer is not None and lot.deadline is not None), default=None)

    def _fire(self, lot: Lot) -> None:
        lot.timer = None
        if self._closing or self._failed is not None:
            return
        if lot.deadline is not None and self.now() < lot.deadline:
            lot.deadline = None  # woke early (clock granularity): re-arm for the rest
            self._arm(lot)
            return
        lot.deadline = None
        self.fire_soon(lot.lot_id)

    def fire_soon(self, lot_id: str) -> None:
        """Decide a :class:`Tick` for the lot in the background (deadlines due now)."""
        task = asyncio.create_task(self._tick(lot_id), context=contextvars.Context())
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)

    async def _watch_clock(self) -> None:
        """Timers wait on the monotonic clock, deadlines are wall-clock times: when the
        wall clock jumps (an operator, a VM resumed, NTP stepping), re-arm every timer
        from the new wall time so that deadlines now due fire at once."""
        loop = asyncio.get_running_loop()
        wall, mono = self._clock(), loop.time()
        while True:
            await asyncio.sleep(CLOCK_CHECK_S)
            expected = wall + (loop.time() - mono) * 1000
            wall, mono = self._clock(), loop.time()
            if abs(wall - expected) > CLOCK_JUMP_MS:
                log.warning("the wall clock jumped by %+d ms: re-arming every deadline",
                            wall - expected)
                for lot in list(self._lots.values()):
                    lot.deadline = None
                    self._arm(lot)

    async def _tick(self, lot_id: str) -> None:
        try:
            await self.execute(lot_id, Tick())
        except EngineError as exc:
            log.warning("deadline of %s not fired: %s", lot_id, exc)
        except UnknownLot:
            pass


class EmbeddedEngine(Runtime):
    """The engine on a data directory holding ``events.sqlite3`` (created if missing).

    Only one process may use a data directory at a time (an exclusive lock is taken).
    """

    def __init__(self, data_dir: Path, clock: Callable[[], int] | None = None) -> None:
        super().__init__(SQLiteLog(Path(data_dir)), clock,
                         aggregates=SQLiteAggregateLog(Path(data_dir)))
        self.data_dir = Path(data_dir)


class RedisEngine(Runtime):
    """The engine on ``redis_url`` (live record, timers, fan-out) and ``postgres_dsn``
    (permanent record). Many processes may run on the same pair."""

    def __init__(self, redis_url: str, postgres_dsn: str | None,
                 clock: Callable[[], int] | None = None,
                 postgres_max_lag_ms: int = MAX_LAG_MS, address: str | None = None) -> None:
        self.redis_url = redis_url
        redis_log = RedisLog(redis_url)
        super().__init__(redis_log, clock, postgres_max_lag_ms=postgres_max_lag_ms,
                         aggregates=RedisAggregateLog(redis_log.redis))
        self.ownership = Ownership(redis_log.redis, address=address)
        self.ownership.on_lost = self._owner_left
        if postgres_dsn:
            self.record_store = self.metrics.record = PgRecord(
                postgres_dsn, source=self._log_rows, lots=self._log_lots, clock=self.now,
                trim=redis_log.trim)


