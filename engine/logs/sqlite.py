"""The embedded adapter of the event log: one SQLite file in a data directory.

Every append waits until its rows are committed with ``synchronous=FULL`` in WAL mode,
that is, fsynced: a caller that got past :meth:`SQLiteLog.append` may acknowledge.
Appends from many lots that arrive while a commit is in flight share the next one (group
commit). After a failed write nothing more is written (:attr:`SQLiteLog.fail_stop`)
until :meth:`SQLiteLog.recover` has reopened the file and proved it writable again (the
``writable`` table holds the time of the last such proof).

The WAL is copied back into the file (checkpointed) by a thread and connection of its own,
at most ``CHECKPOINT_AFTER_S`` after a commit, never by the commit that an
acknowledgement waits for: SQLite's automatic checkpoint runs inside the commit that
crosses its threshold and held that batch's acknowledgements up (p99 of an append
10 ms instead of 2.5 at 1,700 appends/s here, docs/performance.md). A checkpoint copies
what is committed already; a failed one is retried after the next commit and loses
nothing (the WAL keeps the rows), and the WAL starts over once a checkpoint has caught up.

Only one process may use a data directory at a time (an exclusive lock is taken at
:meth:`SQLiteLog.open`); the directory also keeps the draw key (``draw.key``).
"""

import asyncio
import contextvars
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import orjson

from engine.api import EngineError, Session
from engine.eventlog import AppendFailed, EventLog, Loaded, LogUnavailable, Row, Stored
from engine.snapshots import Snapshot

T = TypeVar("T")

log = logging.getLogger(__name__)

#: How long after a commit its WAL frames are checkpointed (s), by the checkpoint thread.
CHECKPOINT_AFTER_S = 0.05
#: The WAL's bound in pages (4 KiB each), past which a commit checkpoints it itself.
WAL_PAGES = 4096

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    lot_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    body   TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (lot_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    mode       TEXT NOT NULL DEFAULT 'parallel',
    stagger_s  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS lots (
    lot_id     TEXT PRIMARY KEY,
    ordinal    INTEGER NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    ended      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS snapshots (
    lot_id TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL,
    state  TEXT NOT NULL,
    ended  INTEGER NOT NULL,
    status TEXT NOT NULL,
    session_id TEXT NOT NULL,
    deadline INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS writable (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
"""
#: Columns added to a table after its first release: a file made before gets them at
#: open, with their defaults (``(table, column, definition)``).
MIGRATIONS = (
    ("sessions", "mode", "TEXT NOT NULL DEFAULT 'parallel'"),
    ("sessions", "stagger_s", "INTEGER NOT NULL DEFAULT 0"),
    ("lots", "session_id", "TEXT NOT NULL DEFAULT ''"),
    ("lots", "status", "TEXT NOT NULL DEFAULT ''"),
    ("lots", "ended", "INTEGER NOT NULL DEFAULT 0"),
    # (-1: not known, a snapshot stored before; see engine.snapshots.Snapshot)
    ("snapshots", "deadline", "INTEGER NOT NULL DEFAULT -1"),
)
#: The index of live lots (what a start reads), the listing's orders (all lots, a
#: session's lots) and the ended lots' counts by status; made after the migrations.
INDEXES = """
CREATE INDEX IF NOT EXISTS lots_live ON lots (ordinal) WHERE ended = 0;
CREATE INDEX IF NOT EXISTS lots_ordinal ON lots (ordinal);
CREATE INDEX IF NOT EXISTS lots_session ON lots (session_id, ordinal);
CREATE INDEX IF NOT EXISTS lots_ended ON lots (ended, status);
"""
FILE = "events.sqlite3"


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


def _session_of(row: Row) -> str:
    """The session of a lot's first row (its ``LotCreated``)."""
    try:
        session = orjson.loads(row.body).get("session_id", "")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return session if isinstance(session, str) else ""


class SQLiteLog(EventLog):
    """The log in ``data_dir/events.sqlite3``; one connection, used from one worker
    thread only."""

    fail_stop = True

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FILE
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        #: Appends waiting for the next write: ``(lot, rows, snapshot, outcome)``.
        self._pending: list[tuple[str, Sequence[Row], Snapshot | None,
                                  asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        #: Each lot's last committed sequence number (the expected-sequence check).
        self._last: dict[str, int] = {}
        #: Why a write failed, after which nothing more is written (fail-stop) until
        #: :meth:`recover` succeeds.
        self._broken: str | None = None
        self._closed = False
        #: The checkpoint thread, its connection (opened there) and its next run.
        self._checkpoints = ThreadPoolExecutor(max_workers=1,
                                               thread_name_prefix="sqlite-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EngineError(f"{self.data_dir} is in use by another process") from None
        self._lock_fd = fd
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # Checkpoints are the checkpoint thread's work; the commit makes one only when
        # the WAL outgrew WAL_PAGES (commits so close together that the thread's never
        # caught up): a short one then, of what the thread had not copied yet.
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        conn.executescript(SCHEMA)
        for table, column, definition in MIGRATIONS:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < 1:
            # Files made before every lot had its row in ``lots``: give it one, once.
            conn.execute("INSERT OR IGNORE INTO lots (lot_id, ordinal) SELECT lot_id, "
                         "(SELECT COUNT(*) FROM lots) + row_number() OVER (ORDER BY lot_id) "
                         "FROM events WHERE seq = 1")
            conn.execute("PRAGMA user_version = 1")
        if version < 2:
            # Files made before the index of live lots: each lot's session, and its
            # status and whether it ended from its last snapshot when that is after
            # its last event, once.
            # (Repeated whole if interrupted.)
            conn.execute(
                "UPDATE lots SET session_id = coalesce((SELECT json_extract(e.body, "
                "'$.session_id') FROM events e WHERE e.lot_id = lots.lot_id "
                "AND e.seq = 1), '')")
            conn.execute(
                "UPDATE lots SET status = s.status, ended = s.ended FROM snapshots s "
                "WHERE s.lot_id = lots.lot_id AND s.seq = (SELECT max(seq) FROM "
                "events e WHERE e.lot_id = lots.lot_id)")
            conn.execute("PRAGMA user_version = 2")
        conn.executescript(INDEXES)
        self._conn = conn
        # The live lots' last sequence numbers (one index seek each); an ended lot's is
        # read when it is next appended to (:meth:`_last_of`).
        self._last = {lot_id: seq for lot_id, seq in conn.execute(
            "SELECT l.lot_id, (SELECT max(seq) FROM events e WHERE e.lot_id = l.lot_id) "
            "FROM lots l WHERE l.ended = 0") if seq is not None}

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._checkpoint is not None:
            self._checkpoint.cancel()
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(self._checkpoints,
                                                         self._close_checkpoints)
        self._checkpoints.shutdown(wait=True)
        await self._run(self._close)  # behind any reopening still running (recover)
        self._pool.shutdown(wait=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ----------------------------------------------------------------- checkpoints

    def _checkpoint_soon(self) -> None:
        """After a commit: a checkpoint ``CHECKPOINT_AFTER_S`` from now, unless one is
        due or running (the commits meanwhile are taken by it or by the next one)."""
        if not self._closed and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.create_task(self._checkpoint_later(),
                                                   context=contextvars.Context())

    async def _checkpoint_later(self) -> None:
        await asyncio.sleep(CHECKPOINT_AFTER_S)
        try:
            await asyncio.get_running_loop().run_in_executor(self._checkpoints,
                                                             self._checkpoint_now)
        except (sqlite3.Error, OSError) as exc:  # the WAL keeps the rows: try again later
            log.warning("event log not checkpointed: %s", exc)

    def _checkpoint_now(self) -> None:
        """Copy the committed WAL frames into the file (PASSIVE: writers go on)."""
        if self._checkpoint_conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")
            self._checkpoint_conn = conn
        try:
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except (sqlite3.Error, OSError):
            self._close_checkpoints()  # opened again next time
            raise

    def _close_checkpoints(self) -> None:
        if self._checkpoint_conn is not None:
            try:
                self._checkpoint_conn.close()
            except sqlite3.Error:
                pass
            self._checkpoint_conn = None

    async def draw_key(self) -> bytes:
        return _draw_key(self.data_dir / "draw.key")

    # ----------------------------------------------------------------- reads

    async def load(self) -> Loaded:
        return await self._run(self._load)

    def _load(self) -> Loaded:
        assert self._conn is not None
        loaded = Loaded(sessions=[Session(*r) for r in self._conn.execute(
            "SELECT session_id, name, created_at, created_by, mode, stagger_s FROM sessions "
            "ORDER BY rowid")])
        # The live lots only (the partial index ``lots_live``): each one's snapshot and
        # the rows after it (its tail). Ended lots stay in the file, counted.
        for lot_id, seq, digest, state, ended, status, session_id, deadline in (
                self._conn.execute(
                "SELECT l.lot_id, s.seq, s.hash, s.state, s.ended, s.status, s.session_id, "
                "s.deadline FROM lots l "
                "LEFT JOIN snapshots s ON s.lot_id = l.lot_id WHERE l.ended = 0 "
                "ORDER BY l.ordinal")):
            loaded.lots[lot_id] = []
            if seq is not None:
                loaded.snapshots[lot_id] = Snapshot(lot_id, seq, digest, state, bool(ended),
                                                    status, session_id, deadline)
        for r in self._conn.execute(
                "SELECT e.lot_id, e.seq, e.at, e.type, e.body, e.hash FROM lots l "
                "LEFT JOIN snapshots s ON s.lot_id = l.lot_id "
                "JOIN events e ON e.lot_id = l.lot_id AND e.seq > coalesce(s.seq, 0) "
                "WHERE l.ended = 0 ORDER BY l.ordinal, e.seq"):
            loaded.lots[r[0]].append(Row(*r))
        for lot_id in [k for k, rows in loaded.lots.items()
                       if not rows and k not in loaded.snapshots]:
            del loaded.lots[lot_id]  # a row of ``lots`` without events: none to load
        loaded.ended = dict(self._conn.execute(
            "SELECT status, count(*) FROM lots WHERE ended = 1 GROUP BY status"))
        return loaded

    async def lot(self, lot_id: str) -> Stored | None:
        try:
            return await self._run(self._lot, lot_id)
        except (sqlite3.Error, OSError) as exc:
            raise LogUnavailable(f"the store cannot be read: {exc}", str(exc)) from exc

    def _lot(self, lot_id: str) -> Stored | None:
        assert self._conn is not None
        found = self._conn.execute(
            "SELECT seq, hash, state, ended, status, session_id, deadline FROM snapshots "
            "WHERE lot_id = ?", (lot_id,)).fetchone()
        snapshot = Snapshot(lot_id, found[0], found[1], found[2], bool(found[3]), found[4],
                            found[5], found[6]) if found is not None else None
        rows = self._read(lot_id, snapshot.seq if snapshot is not None else 0)
        if snapshot is None and not rows:
            return None
        return Stored(snapshot, rows)

    async def lot_page(self, after: str | None, limit: int,
                       session_id: str | None = None) -> list[str]:
        try:
            return await self._run(self._lot_page, after, limit, session_id)
        except (sqlite3.Error, OSError) as exc:
            raise LogUnavailable(f"the store cannot be read: {exc}", str(exc)) from exc

    def _lot_page(self, after: str | None, limit: int, session_id: str | None) -> list[str]:
        assert self._conn is not None
        start = -1
        if after is not None:
            found = self._conn.execute("SELECT ordinal FROM lots WHERE lot_id = ?",
                                       (after,)).fetchone()
            start = found[0] if found is not None else -1
        if session_id is None:
            page = self._conn.execute(
                "SELECT lot_id FROM lots WHERE ordinal > ? ORDER BY ordinal LIMIT ?",
                (start, limit))
        else:
            page = self._conn.execute(
                "SELECT lot_id FROM lots WHERE session_id = ? AND ordinal > ? "
                "ORDER BY ordinal LIMIT ?", (session_id, start, limit))
        return [lot_id for (lot_id,) in page]

    async def read(self, lot_id: str, after_seq: int) -> list[Row]:
        try:
            return await self._run(self._read, lot_id, after_seq)
        except (sqlite3.Error, OSError) as exc:
            raise LogUnavailable(f"the store cannot be read: {exc}", str(exc)) from exc

    def _read(self, lot_id: str, after_seq: int) -> list[Row]:
        assert self._conn is not None
        return [Row(*r) for r in self._conn.execute(
            "SELECT lot_id, seq, at, type, body, hash FROM events WHERE lot_id = ? "
            "AND seq > ? ORDER BY seq", (lot_id, after_seq))]

    async def last_seq(self, lot_id: str) -> int:
        last = self._last.get(lot_id)
        return last if last is not None else await self._last_of(lot_id)

    async def _last_of(self, lot_id: str) -> int:
        """The last sequence number of a lot not appended to since the start (an ended
        lot, or a new one: 0), read from the file and kept."""
        try:
            last = await self._run(self._max_seq, lot_id)
        except (sqlite3.Error, OSError) as exc:
            raise AppendFailed(f"not stored: the store cannot be read: {exc}",
                               str(exc)) from exc
        return self._last.setdefault(lot_id, last)

    def _max_seq(self, lot_id: str) -> int:
        assert self._conn is not None
        return int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM events "
                                      "WHERE lot_id = ?", (lot_id,)).fetchone()[0])

    # ----------------------------------------------------------------- writes

    async def add_session(self, session: Session) -> bool:
        try:
            return await self._run(self._add_session, (
                session.session_id, session.name, session.created_at, session.created_by,
                session.mode, session.stagger_s))
        except (sqlite3.Error, OSError) as exc:
            raise LogUnavailable(f"session not stored: {exc}", str(exc)) from exc

    def _add_session(self, row: tuple[str, str, int, str, str, int]) -> bool:
        assert self._conn is not None
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            return self._conn.execute(
                "INSERT OR IGNORE INTO sessions (session_id, name, created_at, created_by, "
                "mode, stagger_s) VALUES (?, ?, ?, ?, ?, ?)", row).rowcount == 1

    async def append(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                     deadline: int | None = None, epoch: int | None = None,
                     snapshot: Snapshot | None = None) -> bool:
        """Appends are written in the order they are made, each with its snapshot in
        the same transaction; after a failed write every append fails until
        :meth:`recover`."""
        if self._broken is not None:
            raise AppendFailed(f"not stored: the store stopped after a failed write: "
                               f"{self._broken}", self._broken)
        await self.last_seq(lot_id)  # (read from the file once, then kept)
        return await self._queued(lot_id, expected_seq, rows, snapshot)

    def append_soon(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                    deadline: int | None = None, epoch: int | None = None,
                    snapshot: Snapshot | None = None) -> "asyncio.Future[bool]":
        """The future the next write resolves, when the lot's last sequence number is
        known here and the store works (else a task of :meth:`append`, which reads it or
        raises)."""
        if lot_id not in self._last or self._broken is not None:
            return super().append_soon(lot_id, expected_seq, rows, deadline=deadline,
                                       epoch=epoch, snapshot=snapshot)
        return self._queued(lot_id, expected_seq, rows, snapshot)

    def _queued(self, lot_id: str, expected_seq: int, rows: Sequence[Row],
                snapshot: Snapshot | None) -> "asyncio.Future[bool]":
        """An append of a lot whose last sequence number is known here, queued for the
        next write: its future is True once it is durable, False at once when the lot's
        last sequence number is not ``expected_seq`` (stale: nothing queued)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._last[lot_id] != expected_seq:
            future.set_result(False)
            return future
        self._pending.append((lot_id, rows, snapshot, future))
        if self._flusher is None or self._flusher.done():
            # It writes for every lot: a context of its own, not the first caller's.
            self._flusher = asyncio.create_task(self._flush(), context=contextvars.Context())
        return future

    async def keep(self, snapshot: Snapshot, epoch: int | None = None) -> bool:
        """An append of no rows with the snapshot (one process writes the file: the
        lot's last sequence number known here is the file's)."""
        if snapshot.ended:
            return False
        return await self.append(snapshot.lot_id, snapshot.seq, [], snapshot=snapshot)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            rows = [row for _, rows, _, _ in batch for row in rows]
            snapshots = [snapshot for _, _, snapshot, _ in batch if snapshot is not None]
            started = time.perf_counter()
            try:
                await self._run(self._write, rows, snapshots)
            except Exception as exc:  # every waiter must learn that nothing is durable
                self._broken = str(exc)
                batch, self._pending = batch + self._pending, []
                for _, _, _, future in batch:
                    if not future.done():
                        future.set_exception(AppendFailed(f"not stored: {exc}", str(exc)))
                return
            if self.committed is not None:
                self.committed(time.perf_counter() - started, len(rows))
            for lot_id, lot_rows, _, future in batch:
                if lot_rows:  # durable, whether or not its sender still waits
                    self._last[lot_id] = lot_rows[-1].seq
                if not future.done():
                    future.set_result(True)
            self._checkpoint_soon()

    def _write(self, rows: list[Row], snapshots: Sequence[Snapshot] = ()) -> None:
        assert self._conn is not None
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO events (lot_id, seq, at, type, body, hash) VALUES (?, ?, ?, ?, ?, ?)",
                [(r.lot_id, r.seq, r.at, r.type, r.body, r.hash) for r in rows])
            conn.executemany(
                "INSERT OR IGNORE INTO lots (lot_id, ordinal, session_id) "
                "VALUES (?, (SELECT coalesce(max(ordinal), -1) + 1 FROM lots), ?)",
                [(r.lot_id, _session_of(r)) for r in rows if r.seq == 1])
            conn.executemany(
                "INSERT OR REPLACE INTO snapshots (lot_id, seq, hash, state, ended, status, "
                "session_id, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(s.lot_id, s.seq, s.hash, s.state, int(s.ended), s.status, s.session_id,
                  s.deadline) for s in snapshots])
            # A snapshot of an ended lot is written with its last rows: the lot leaves
            # the index of live lots in the same transaction.
            conn.executemany("UPDATE lots SET status = ?, ended = ? WHERE lot_id = ?",
                             [(s.status, int(s.ended), s.lot_id) for s in snapshots])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            raise

    async def recover(self, now_ms: int) -> None:
        """Reopen the file and prove it writable (a committed, fsynced write of
        ``now_ms`` into the ``writable`` table); what a failed write may have stored after
        all is then read with :meth:`read`."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        try:
            await self._run(self._recover, now_ms)
        except Exception as exc:  # sqlite3 and OS errors alike: still not writable
            raise LogUnavailable(f"not stored: {exc}", str(exc)) from exc
        self._broken = None

    def _recover(self, now_ms: int) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass  # whatever it held is rolled back; the file is reopened below
            self._conn = None
        self._open()
        assert self._conn is not None
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT OR REPLACE INTO writable (id, checked_at) VALUES (1, ?)",
                         (now_ms,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            raise
