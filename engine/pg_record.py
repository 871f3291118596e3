"""The permanent record in Postgres (asyncpg): every event of every lot, for reports.

Rows are written in batches, idempotently on ``(lot_id, seq)``, by a background task;
the live auction never waits for Postgres. When Postgres is unreachable the rows wait
(up to a bound) and the record is later completed from the live store by
:meth:`PgRecord.catch_up`, so a Postgres outage loses nothing and stops nothing.
Schema migrations are applied at start, under an advisory lock.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg

from engine.eventlog import Row

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
#: A row that another process appended is left to that process this long (ms) before a
#: process that saw it copies it (:meth:`PgRecord.check`): only rows nobody handed over.
HANDOVER_MS = 5_000
#: How often the lots to check are looked at (s).
CHECK_S = 1.0
#: The default bound (ms) on how far the permanent record may lag behind the live one
#: before the process reports itself not ready (``postgres_max_lag_s``).
MAX_LAG_MS = 30_000
#: How long a readiness probe of Postgres may take (s).
PROBE_S = 2.0


#: The record's rows are the event log's (:class:`engine.eventlog.Row`): one row type.
PgRow = Row


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
                 lots: Callable[[], Iterable[str]] | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        self.dsn = dsn
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._source = source
        self._lots = lots
        self._pool: asyncpg.Pool | None = None
        self._buffer: list[PgRow] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.behind = True  # True until a catch-up has run since the last failure
        #: Since when (ms) the record has been behind: the oldest event it may lack.
        self._behind_since: int | None = None
        self.written = 0
        #: Lots with rows this process applied without appending them itself.
        self._suspect: set[str] = set()
        self._checked = 0.0

    async def start(self) -> None:
        self._fall_behind()
        self._task = asyncio.create_task(self._run())

    def _fall_behind(self) -> None:
        if not self.behind or self._behind_since is None:
            self._behind_since = self._clock()
        self.behind = True

    def add(self, rows: Iterable[PgRow]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) > MAX_BUFFER:
            oldest = self._buffer[0].at
            del self._buffer[:len(self._buffer) - MAX_BUFFER]
            self._fall_behind()
            self._behind_since = min(oldest, self._behind_since or oldest)
        self._wake.set()

    def lag_ms(self) -> int:
        """How far (ms) the record is behind what this process handed to it: the age of
        the oldest event handed over and not yet written, or, while a catch-up is due
        (after a failure), the time since the record fell behind. 0 when up to date."""
        oldest = [self._buffer[0].at] if self._buffer else []
        if self.behind and self._behind_since is not None:
            oldest.append(self._behind_since)
        return max(0, self._clock() - min(oldest)) if oldest else 0

    def rows_behind(self) -> int:
        """Rows handed to the record and not yet written (those a catch-up will copy
        after a failure are not counted: see :meth:`lag_ms`)."""
        return len(self._buffer)

    async def readiness(self, max_lag_ms: int = MAX_LAG_MS) -> dict[str, str]:
        """Reasons the record is not ready (:meth:`engine.api.Engine.readiness`):
        ``postgres`` when it does not answer within :data:`PROBE_S`, ``postgres_lag``
        when :meth:`lag_ms` exceeds ``max_lag_ms``."""
        reasons: dict[str, str] = {}
        pool = self._pool
        if pool is None:
            reasons["postgres"] = "postgres is unreachable (reconnecting)"
        else:
            try:
                await asyncio.wait_for(pool.fetchval("SELECT 1"), PROBE_S)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError) as exc:
                reasons["postgres"] = f"postgres is unreachable ({type(exc).__name__})"
        lag = self.lag_ms()
        if lag > max_lag_ms:
            reasons["postgres_lag"] = (f"the permanent record is {lag / 1000:.1f} s behind "
                                       f"(bound {max_lag_ms / 1000:g} s)")
        return reasons

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
                if self._suspect and time.monotonic() - self._checked >= CHECK_S:
                    self._checked = time.monotonic()
                    await self._check_suspects()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("postgres record unavailable (%s); retrying", exc)
                self._fall_behind()
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
                    await asyncio.wait_for(self._wake.wait(),
                                           CHECK_S if self._suspect else 2.0)
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
            # $5 is text: ``body_text`` keeps the sealed text exactly (the chain hashes
            # it); as ``$5::jsonb`` alone it would be typed jsonb and kept normalised.
            "VALUES ($1, $2, $3, $4, $5::text::jsonb, $5::text, $6) "
            "ON CONFLICT (lot_id, seq) DO NOTHING",
            [(r.lot_id, r.seq, r.at, r.type, r.body, r.hash) for r in rows])

    def check(self, lot_id: str) -> None:
        """``lot_id`` has durable rows this process did not hand over itself (appended by
        another process, or by its own append whose outcome it did not learn): copy
        those that nobody hands over within :data:`HANDOVER_MS`, holes included."""
        self._suspect.add(lot_id)
        self._wake.set()

    async def catch_up(self) -> int:
        """Copy every durable event Postgres lacks from the live store, holes below a
        lot's last event included; return how many."""
        if self._source is None or self._lots is None or self._pool is None:
            self.behind, self._behind_since = False, None
            return 0
        have = {r["lot_id"]: (r["m"], r["n"]) for r in await self._pool.fetch(
            "SELECT lot_id, max(seq) AS m, count(*) AS n FROM events GROUP BY lot_id")}
        copied = 0
        for lot_id in list(self._lots()):
            missing = await self._lacking(lot_id, *have.get(lot_id, (0, 0)))
            for i in range(0, len(missing), BATCH):
                await self._insert(missing[i:i + BATCH])
            copied += len(missing)
        self.behind, self._behind_since = False, None
        if copied:
            log.info("postgres record caught up %d events", copied)
        return copied

    async def _lacking(self, lot_id: str, last: int, count: int) -> list[PgRow]:
        """The live store's rows of ``lot_id`` that Postgres, holding ``count`` rows up to
        seq ``last``, lacks: what follows ``last`` when it is gap-free, else every row
        missing (a hole: an append nobody handed over)."""
        assert self._source is not None and self._pool is not None
        if count == last:
            return list(self._source(lot_id, last))
        present = {r["seq"] for r in await self._pool.fetch(
            "SELECT seq FROM events WHERE lot_id = $1", lot_id)}
        return [r for r in self._source(lot_id, 0) if r.seq not in present]

    async def _check_suspects(self) -> None:
        """Copy the rows of the suspect lots that Postgres lacks and nobody handed over."""
        assert self._pool is not None
        if self._source is None:
            self._suspect.clear()
            return
        now_ms = time.time_ns() // 1_000_000
        for lot_id in list(self._suspect):
            row = await self._pool.fetchrow(
                "SELECT coalesce(max(seq), 0) AS m, count(*) AS n FROM events "
                "WHERE lot_id = $1", lot_id)
            lacking = await self._lacking(lot_id, row["m"], row["n"])
            old = [r for r in lacking if r.at <= now_ms - HANDOVER_MS]
            for i in range(0, len(old), BATCH):
                await self._insert(old[i:i + BATCH])
            if old:
                log.info("postgres record: copied %d events of %s nobody handed over",
                         len(old), lot_id)
            if len(old) == len(lacking):
                self._suspect.discard(lot_id)

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
