"""The embedded backend: one process, no services, events in one SQLite file.

One writer per lot (see :mod:`engine.runtime`): a lot's queued commands are decided in
turn against its state, the events go to the store (group commit across lots), and only
when they are durable are they acknowledged and the listeners called. On start every lot
is rebuilt by replaying its events after checking the hash chain: recovery after
``kill -9`` is the same fold as a third party's verification.

When a write fails (disk full, I/O error) nothing of it is acknowledged, every lot it
touched goes back to its durable state, and commands are refused (``unavailable``)
while the engine retries the store with backoff (:data:`RETRY_FIRST_S` doubling up to
:data:`RETRY_MAX_S`). Once the file is writable again the engine reads back what the
failed write may have stored after all, publishes it, re-arms every deadline and serves
again by itself: no restart needed, nothing acknowledged lost or doubled.
"""

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path

from auction.errors import RecordError
from auction.lot import evolve, replay
from auction.record import Recorded, event_to_dict
from engine.api import EngineError, Session
from engine.runtime import (
    MAX_BATCH,
    Ahead,
    Lot,
    Runtime,
    Waiter,
    answer,
    clone,
    fail_waiters,
    read_back,
)
from engine.sqlite_store import Row, SQLiteStore, StoreError, encode_body

log = logging.getLogger(__name__)

#: Seconds before the first retry of a failed store, doubled after each failed retry up
#: to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0


def _draw_key(path: Path) -> bytes:
    """The data directory's draw key (32 random bytes, made on first start, owner-only)."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
    if len(key) != 32:
        raise EngineError(f"{path} is not a 32-byte draw key")
    return key


def _rows(records: list[Recorded]) -> list[Row]:
    return [Row(r.lot_id, r.seq, r.event.at, type(r.event).__name__,
                r.body or encode_body(event_to_dict(r.event)), r.hash) for r in records]


def _replayed(lot_id: str, rows: list[Row]) -> Lot:
    """The lot its rows make; raises whatever the first row that cannot be read raises."""
    lot = Lot(lot_id)
    # The chain covers the stored text itself: verify it as it is, then decode it.
    lot.records = read_back(lot_id, ((r.seq, r.body, r.hash) for r in rows))
    for record in lot.records:
        lot.state = evolve(lot.state, record.event)
    lot.last_hash = lot.records[-1].hash
    return lot


def _collect(future: "asyncio.Future[None]") -> None:
    if not future.cancelled():
        future.exception()


class EmbeddedEngine(Runtime):
    """The engine on a data directory holding ``events.sqlite3`` (created if missing).

    Only one process may use a data directory at a time (an exclusive lock is taken).
    ``clock`` returns server Unix milliseconds; tests may pass their own.
    """

    def __init__(self, data_dir: Path, clock: Callable[[], int] | None = None) -> None:
        super().__init__(clock)
        self.data_dir = Path(data_dir)
        self._store = SQLiteStore(self.data_dir / "events.sqlite3", self.metrics)
        self._sessions: dict[str, Session] = {}
        self._lock_fd: int | None = None
        #: Lots whose write failed: read back from the file when the store recovers.
        self._diverged: set[str] = set()
        self._healer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EngineError(f"{self.data_dir} is in use by another process") from None
        self._lock_fd = fd
        self.draw_key = _draw_key(self.data_dir / "draw.key")
        await self._store.open()
        sessions, rows = await self._store.load()
        for row in sessions:
            self._sessions[row[0]] = Session(*row)
        self._recover(rows)
        for lot in self._lots.values():
            self._arm(lot)
        self._coordinator.start()

    def _recover(self, rows: list[Row]) -> None:
        by_lot: dict[str, list[Row]] = {}
        for row in rows:
            by_lot.setdefault(row.lot_id, []).append(row)
        for lot_id, lot_rows in by_lot.items():
            try:
                self._lots[lot_id] = _replayed(lot_id, lot_rows)
            except Exception as exc:  # whatever it is, it stops this lot only
                self._quarantine(lot_id, f"{type(exc).__name__}: {exc}")
        log.info("recovered %d lots, %d events", len(by_lot) - len(self._quarantined),
                 len(rows))

    async def close(self) -> None:
        if self._closing:
            return
        await self._stop_runtime()
        if self._healer is not None:
            self._healer.cancel()
            await asyncio.gather(self._healer, return_exceptions=True)
        await self._store.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def readiness(self) -> dict[str, str]:
        return self._runtime_reasons()

    def _session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    async def create_session(self, session_id: str, name: str, actor: str,
                             mode: str = "parallel", stagger_s: int = 0) -> Session:
        self._check_open()
        if session_id in self._sessions:
            raise EngineError(f"session {session_id} exists")
        session = Session(session_id, name, self.now(), actor, mode, stagger_s)
        self._sessions[session_id] = session
        try:
            await self._store.add_session(session_id, name, session.created_at, actor, mode,
                                          stagger_s)
        except Exception as exc:
            del self._sessions[session_id]
            raise EngineError(f"session not stored: {exc}") from exc
        return session

    async def _commit_batch(self, lot: Lot, batch: list[Waiter]) -> None:
        # The lot's state is folded in place while the batch is decided, so it runs ahead
        # of the file until the append returns. Only this writer touches it meanwhile.
        state, fresh, results = self._decide(lot, lot.state, lot.last_hash, batch,
                                             in_place=True)
        if fresh:
            assert state is not None
            lot.inflight = (state, fresh[-1].hash)
            try:
                await self._store.append(_rows(fresh))
            except StoreError as exc:
                # The state in memory is now ahead of the file: stop serving (fail-stop)
                # until the store works again (:meth:`_heal`). Nothing here was
                # acknowledged.
                self._fail(lot, str(exc))
                raise EngineError(f"not stored: {exc}") from exc
            finally:
                lot.inflight = None
            self._published(lot, state, fresh)
        answer(batch, results)
        if lot.ahead is not None:
            await self._land_ahead(lot, lot.ahead)

    def _due_in_flight(self, lot: Lot) -> None:
        """A deadline fell due while the lot's batch is being made durable: decide what is
        queued now (the deadline's Tick last), on a copy of the state after the batch in
        flight, and hand its events to the store right behind that batch's (the store
        writes in order, and stops at its first failure). So the close is sequenced when
        it falls due, not an fsync later; it is published and answered after the batch in
        flight, in order (:meth:`_land_ahead`)."""
        if (lot.inflight is None or lot.ahead is not None or self._failed is not None
                or len(lot.queue) > MAX_BATCH):
            return
        base, last_hash = lot.inflight
        batch = list(lot.queue)
        lot.queue.clear()
        state, fresh, results = self._decide(lot, clone(base), last_hash, batch,
                                             in_place=False)
        stored = (asyncio.ensure_future(self._store.append(_rows(fresh))) if fresh
                  else None)
        lot.ahead = Ahead(batch, results, state, fresh, stored)

    async def _land_ahead(self, lot: Lot, ahead: Ahead) -> None:
        """Publish and answer the batch decided ahead, once its events are durable."""
        lot.ahead = None
        if ahead.stored is not None:
            try:
                await ahead.stored
            except StoreError as exc:
                self._fail(lot, str(exc))
                fail_waiters(ahead.batch, exc)
                return
            assert ahead.state is not None
            self._published(lot, ahead.state, ahead.fresh)
        answer(ahead.batch, ahead.results)

    def _fail(self, lot: Lot, reason: str) -> None:
        """Stop serving after a store failure, until :meth:`_heal` finds the store
        writable again; a batch decided ahead fails with it, and the lot goes back to its
        durable state (what it decided in memory was not stored)."""
        if self._failed is None:
            self._failed = reason
            log.critical("store failure, commands refused until it works again: %s", reason)
            self._healer = asyncio.get_running_loop().create_task(self._heal())
        self._diverged.add(lot.lot_id)
        ahead = lot.ahead
        if ahead is not None:
            lot.ahead = None
            if ahead.stored is not None:  # the store fails it too: collect that
                ahead.stored.add_done_callback(_collect)
            fail_waiters(ahead.batch, StoreError(reason))
        lot.state = replay(r.event for r in lot.records)

    async def _heal(self) -> None:
        """Retry the store with backoff until it is writable; then take in what the
        failed writes stored after all and serve again."""
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)
            delay = min(2 * delay, RETRY_MAX_S)
            # Commands are refused meanwhile; let the writers still answering them finish.
            writers = [lot.writer for lot in self._lots.values() if lot.writer is not None]
            await asyncio.gather(*writers, return_exceptions=True)
            after = {lot_id: lot.version if (lot := self._lots.get(lot_id)) else 0
                     for lot_id in self._diverged}
            try:
                found = await self._store.recover(after, self.now())
            except StoreError as exc:
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
        """Publish ``rows``, found in the file after the lot's durable events: a write
        reported failed that landed nonetheless (never acknowledged to its senders)."""
        if not rows:
            return
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        try:
            records = read_back(lot_id, ((r.seq, r.body, r.hash) for r in rows),
                                lot.version, lot.last_hash)
        except RecordError as exc:
            raise EngineError(f"lot {lot_id}: the file does not continue its durable "
                              f"record: {exc.message}") from None
        state = lot.state
        for record in records:
            state = evolve(state, record.event)
        assert state is not None
        log.warning("lot %s: %d events of a write reported failed were stored after all",
                    lot_id, len(records))
        self._published(lot, state, records)
