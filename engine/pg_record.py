"""The permanent record in Postgres (asyncpg): every event of every lot, for reports.

Rows are written in batches, idempotently on ``(lot_id, seq)``, by a background task;
the live auction never waits for Postgres. When Postgres is unreachable the rows wait
(up to a bound) and the record is later completed from the live store by
:meth:`PgRecord.catch_up`, so a Postgres outage loses nothing and stops nothing.
Schema migrations are applied at start, under an advisory lock.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        lot_id      TEXT   NOT NULL,
        seq         BIGINT NOT NULL,
        at          BIGINT NOT NULL,
        type        TEXT   NOT NULL,
        body        JSONB  NOT NULL,
        body_text   TEXT   NOT NULL,
        hash        TEXT   NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (lot_id, seq)
    );
    CREATE INDEX events_type ON events (type);
    CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE sessions ADD COLUMN mode TEXT NOT NULL DEFAULT 'parallel',
                         ADD COLUMN stagger_s INTEGER NOT NULL DEFAULT 0;
    """,
]
#: Advisory lock key serialising migrations across processes.
MIGRATION_LOCK = 0x61756374
#: Rows kept in memory while Postgres is down; beyond it, catch-up will copy them.
MAX_BUFFER = 200_000
BATCH = 1000


@dataclass(frozen=True, slots=True)
class PgRow:
    lot_id: str
    seq: int
    at: int
    type: str
    body: str
    hash: str


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations not yet applied; return the schema version."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version INT PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())")
        done = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version > done:
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)",
                                   version)
                log.info("postgres schema migrated to version %d", version)
    return len(MIGRATIONS)


class PgRecord:
    """Background writer of the permanent record. ``source`` gives, for catch-up, every
    lot's durable rows after a sequence number (from the live store)."""

    def __init__(self, dsn: str,
                 source: Callable[[str, int], Sequence[PgRow]] | None = None,
                 lots: Callable[[], Iterable[str]] | None = None) -> None:
        self.dsn = dsn
        self._source = source
        self._lots = lots
        self._pool: asyncpg.Pool | None = None
        self._buffer: list[PgRow] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.behind = True  # True until a catch-up has run since the last failure
        self.written = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def add(self, rows: Iterable[PgRow]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[:len(self._buffer) - MAX_BUFFER]
            self.behind = True
        self._wake.set()

    async def close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self._pool is not None:
            await self._pool.close()

    @property
    def connected(self) -> bool:
        return self._pool is not None

    async def _connect(self) -> None:
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4, timeout=3,
                                         command_timeout=10)
        assert pool is not None
        async with pool.acquire() as conn:
            await migrate(conn)
        self._pool = pool
        log.info("postgres record connected")

    async def _run(self) -> None:
        while True:
            try:
                if self._pool is None:
                    await self._connect()
                if self.behind:
                    await self.catch_up()
                await self._flush()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("postgres record unavailable (%s); retrying", exc)
                self.behind = True
                await self._drop_pool()
                if self._stopping:
                    return
                await asyncio.sleep(0.5)
                continue
            if self._stopping and not self._buffer:
                return
            self._wake.clear()
            if not self._buffer:
                try:
                    await asyncio.wait_for(self._wake.wait(), 2.0)
                except TimeoutError:
                    pass

    async def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def _flush(self) -> None:
        while self._buffer:
            batch = self._buffer[:BATCH]
            await self._insert(batch)
            del self._buffer[:len(batch)]
            self.written += len(batch)

    async def _insert(self, rows: Sequence[PgRow]) -> None:
        assert self._pool is not None
        await self._pool.executemany(
            "INSERT INTO events (lot_id, seq, at, type, body, body_text, hash) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $5, $6) ON CONFLICT (lot_id, seq) DO NOTHING",
            [(r.lot_id, r.seq, r.at, r.type, r.body, r.hash) for r in rows])

    async def catch_up(self) -> int:
        """Copy every durable event Postgres lacks from the live store; return how many."""
        if self._source is None or self._lots is None or self._pool is None:
            self.behind = False
            return 0
        have = {r["lot_id"]: r["m"] for r in await self._pool.fetch(
            "SELECT lot_id, max(seq) AS m FROM events GROUP BY lot_id")}
        copied = 0
        for lot_id in list(self._lots()):
            missing = self._source(lot_id, have.get(lot_id, 0))
            for i in range(0, len(missing), BATCH):
                await self._insert(missing[i:i + BATCH])
            copied += len(missing)
        self.behind = False
        if copied:
            log.info("postgres record caught up %d events", copied)
        return copied

    async def add_session(self, session_id: str, name: str, created_at: int,
                          created_by: str, mode: str = "parallel", stagger_s: int = 0) -> None:
        if self._pool is None:
            return  # sessions live in Redis too; the next start's catch-up has them
        try:
            await self._pool.execute(
                "INSERT INTO sessions (session_id, name, created_at, created_by, mode, "
                "stagger_s) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                session_id, name, created_at, created_by, mode, stagger_s)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("session %s not in postgres yet: %s", session_id, exc)

    async def events(self, lot_id: str) -> list[dict[str, Any]]:
        """The lot's rows as recorded in Postgres (for reports and checks)."""
        if self._pool is None:
            raise ConnectionError("postgres is not connected")
        rows = await self._pool.fetch(
            "SELECT seq, at, type, body_text, hash FROM events WHERE lot_id = $1 ORDER BY seq",
            lot_id)
        return [dict(r) for r in rows]
