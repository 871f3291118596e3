"""The embedded backend's durable record: one SQLite file, appended with group commit.

Every append waits until its rows are committed with ``synchronous=FULL`` in WAL mode,
that is, fsynced: a caller that got past :meth:`SQLiteStore.append` may acknowledge.
Appends from many lots that arrive while a commit is in flight share the next one.
After a failed write nothing more is written until :meth:`SQLiteStore.recover` has
reopened the file and proved it writable again (the ``writable`` table holds the time of
the last such proof).
"""

import asyncio
import contextvars
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from engine.metrics import EngineMetrics

T = TypeVar("T")

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
    lot_id  TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL
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
)
SessionRow = tuple[str, str, int, str, str, int]


@dataclass(frozen=True, slots=True)
class Row:
    lot_id: str
    seq: int
    at: int
    type: str
    body: str
    hash: str


class StoreError(Exception):
    """The file could not be written; nothing of the failed append may be acknowledged."""


class SQLiteStore:
    """Owns one SQLite connection, used from one worker thread only."""

    def __init__(self, path: Path, metrics: EngineMetrics | None = None) -> None:
        self.path = path
        self._metrics = metrics
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[Sequence[Row], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        #: Why a write failed, after which nothing more is written (fail-stop) until
        #: :meth:`recover` succeeds: an append made after it (a lot's next batch decided
        #: ahead) must not land without it.
        self._broken: str | None = None

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        for table, column, definition in MIGRATIONS:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        self._conn = conn

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def load(self) -> tuple[list[SessionRow], list[Row]]:
        """Every session and every event row, lots in creation order, events by seq."""
        return await self._run(self._load)

    def _load(self) -> tuple[list[SessionRow], list[Row]]:
        assert self._conn is not None
        sessions = self._conn.execute(
            "SELECT session_id, name, created_at, created_by, mode, stagger_s FROM sessions "
            "ORDER BY rowid").fetchall()
        rows = [Row(*r) for r in self._conn.execute(
            "SELECT e.lot_id, e.seq, e.at, e.type, e.body, e.hash FROM events e "
            "LEFT JOIN lots l ON l.lot_id = e.lot_id ORDER BY l.ordinal, e.lot_id, e.seq")]
        return sessions, rows

    async def add_session(self, session_id: str, name: str, created_at: int,
                          created_by: str, mode: str = "parallel", stagger_s: int = 0) -> None:
        await self._run(self._add_session, (session_id, name, created_at, created_by, mode,
                                            stagger_s))

    def _add_session(self, row: SessionRow) -> None:
        assert self._conn is not None
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO sessions (session_id, name, created_at, created_by, mode, "
                "stagger_s) VALUES (?, ?, ?, ?, ?, ?)", row)

    async def append(self, rows: Sequence[Row]) -> None:
        """Return once ``rows`` are durable; raise :class:`StoreError` if they are not.
        Appends are written in the order they are made; after a failed write every
        append fails."""
        if self._broken is not None:
            raise StoreError(f"the store stopped after a failed write: {self._broken}")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if self._flusher is None or self._flusher.done():
            # It writes for every lot: a context of its own, not the first caller's.
            self._flusher = asyncio.create_task(self._flush(), context=contextvars.Context())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            rows = [row for rows, _ in batch for row in rows]
            started = time.perf_counter()
            try:
                await self._run(self._write, rows)
            except Exception as exc:  # every waiter must learn that nothing is durable
                self._broken = str(exc)
                batch, self._pending = batch + self._pending, []
                for _, future in batch:
                    if not future.done():
                        future.set_exception(StoreError(str(exc)))
                return
            if self._metrics is not None:
                self._metrics.committed(time.perf_counter() - started, len(rows))
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _write(self, rows: list[Row]) -> None:
        assert self._conn is not None
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO events (lot_id, seq, at, type, body, hash) VALUES (?, ?, ?, ?, ?, ?)",
                [(r.lot_id, r.seq, r.at, r.type, r.body, r.hash) for r in rows])
            conn.executemany(
                "INSERT OR IGNORE INTO lots (lot_id, ordinal) "
                "VALUES (?, (SELECT COUNT(*) FROM lots))",
                [(r.lot_id,) for r in rows if r.seq == 1])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            raise

    @property
    def broken(self) -> str | None:
        """Why the last write failed, while the store refuses appends; else None."""
        return self._broken

    async def recover(self, after: dict[str, int], now_ms: int) -> dict[str, list[Row]]:
        """After a failed write: reopen the file, prove it writable (a committed, fsynced
        write of ``now_ms`` into the ``writable`` table) and read, for each lot of
        ``after``, its rows with a greater sequence number (a write whose failure was
        reported may still have landed). Appends are accepted again once this returned;
        raises :class:`StoreError` (and keeps refusing them) while the file still fails."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        try:
            rows = await self._run(self._recover, after, now_ms)
        except Exception as exc:  # sqlite3 and OS errors alike: still not writable
            raise StoreError(str(exc)) from exc
        self._broken = None
        return rows

    def _recover(self, after: dict[str, int], now_ms: int) -> dict[str, list[Row]]:
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
        return {lot_id: [Row(*r) for r in conn.execute(
            "SELECT lot_id, seq, at, type, body, hash FROM events WHERE lot_id = ? "
            "AND seq > ? ORDER BY seq", (lot_id, seq))] for lot_id, seq in after.items()}

    async def close(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        await self._run(self._close)  # behind any reopening still running (recover)
        self._pool.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def encode_body(body: dict[str, object]) -> str:
    """The stored JSON of an event dict (key-sorted, compact, UTF-8 as is)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
