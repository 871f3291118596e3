"""The embedded adapter of the aggregates' log (:mod:`engine.aggregates`): a SQLite file of
its own in the data directory, committed with ``synchronous=FULL`` in WAL mode before an
append returns; one connection used from one worker thread."""

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from engine.aggregates import AggregateLog
from engine.api import EngineError
from engine.eventlog import LogUnavailable, Row

T = TypeVar("T")
FILE = "aggregates.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS aggregate_events (
    stream TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    body   TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aggregate_streams (
    ordinal INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    UNIQUE (kind, id)
);
"""


class SQLiteAggregateLog(AggregateLog):
    """The log in ``data_dir/aggregates.sqlite3``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-aggregates")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                raise LogUnavailable("the aggregates' log is closed")
            return work(self._conn)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except sqlite3.Error as exc:
            raise LogUnavailable(f"{self.path}: {exc}") from exc

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            return conn
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._pool, connect)
        except sqlite3.Error as exc:
            raise EngineError(f"{self.path} is not usable: {exc}") from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, conn.close)
        self._pool.shutdown(wait=False)

    async def append(self, stream: str, expected_seq: int, rows: Sequence[Row]) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                (last,) = conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM aggregate_events WHERE stream = ?",
                    (stream,)).fetchone()
                if last != expected_seq:
                    conn.execute("ROLLBACK")
                    return False
                if expected_seq == 0:
                    kind, _, ident = stream.partition(":")
                    conn.execute("INSERT OR IGNORE INTO aggregate_streams (kind, id) "
                                 "VALUES (?, ?)", (kind, ident))
                conn.executemany(
                    "INSERT INTO aggregate_events VALUES (?, ?, ?, ?, ?, ?)",
                    [(stream, r.seq, r.at, r.type, r.body, r.hash) for r in rows])
                conn.execute("COMMIT")
                return True
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return await self._run(write)

    async def read(self, stream: str, after_seq: int = 0) -> list[Row]:
        def select(conn: sqlite3.Connection) -> list[Row]:
            return [Row(stream, *row) for row in conn.execute(
                "SELECT seq, at, type, body, hash FROM aggregate_events "
                "WHERE stream = ? AND seq > ? ORDER BY seq", (stream, after_seq))]
        return await self._run(select)

    async def streams(self, kind: str) -> list[str]:
        def select(conn: sqlite3.Connection) -> list[str]:
            return [ident for (ident,) in conn.execute(
                "SELECT id FROM aggregate_streams WHERE kind = ? ORDER BY ordinal", (kind,))]
        return await self._run(select)
