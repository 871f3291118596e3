"""The permanent record in Postgres (asyncpg): every event of every lot, for reports.

A tracked projection of the live log: the table ``positions`` holds, per lot, the last
sequence number (and hash) Postgres has applied, and every batch of rows is written in
the same transaction as the positions it moves, under a lock of those positions (an
upsert of them, in lot order). Only rows continuing a lot's position are applied, so each
event is applied exactly once, whichever processes offer it and however often (after a
restart, by two processes at once): no duplicates, and no holes, since rows that do not
continue the position are read from the live log (``source``) from the position on.
A background task writes; the live auction never waits for Postgres. When Postgres is
unreachable the rows wait (up to a bound) and the record is later completed from the
live log by :meth:`PgRecord.catch_up`, so a Postgres outage loses nothing and stops
nothing. Schema migrations are applied at start, under an advisory lock.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
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
    # The projection's positions: each lot's gap-free prefix applied so far (a record
    # made before them: up to its first hole).
    """
    CREATE TABLE positions (
        lot_id TEXT   PRIMARY KEY,
        seq    BIGINT NOT NULL DEFAULT 0,
        hash   TEXT   NOT NULL DEFAULT '',
        at     BIGINT NOT NULL DEFAULT 0
    );
    INSERT INTO positions (lot_id, seq, hash, at)
    SELECT e.lot_id, e.seq, e.hash, e.at FROM events e
    WHERE e.seq = (SELECT min(f.seq) FROM events f WHERE f.lot_id = e.lot_id
                   AND NOT EXISTS (SELECT 1 FROM events g WHERE g.lot_id = f.lot_id
                                   AND g.seq = f.seq + 1))
      AND EXISTS (SELECT 1 FROM events h WHERE h.lot_id = e.lot_id AND h.seq = 1);
    """,
]
#: Advisory lock key serialising migrations across processes.
MIGRATION_LOCK = 0x61756374
#: Rows kept in memory while Postgres is down; beyond it, catch-up will copy them.
MAX_BUFFER = 200_000
BATCH = 1000
#: The least time (s) between the starts of two transactions of the writer: rows that
#: arrive meanwhile wait for the next one, so that under a steady trickle of bids the
#: record is written in batches (one transaction and one trim of the live log per
#: batch, not per bid) at the cost of at most this much more lag.
FLUSH_INTERVAL_S = 0.05
#: The default bound (ms) on how far the permanent record may lag behind the live one
#: before the process reports itself not ready (``postgres_max_lag_s``).
MAX_LAG_MS = 30_000
#: How long a readiness probe of Postgres may take (s).
PROBE_S = 2.0
#: What asyncpg raises when Postgres is unreachable, restarts or drops a connection. A
#: pooled connection Postgres closed while it was idle can answer its next use with
#: ``InternalClientError`` ("cannot switch to state ..."), which is none of the others.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError)


#: The record's rows are the event log's (:class:`engine.eventlog.Row`): one row type.
PgRow = Row
#: The live log's rows of a lot after a sequence number (the projection's source).
Source = Callable[[str, int], Awaitable[Sequence[PgRow]]]
#: Told, after each commit, each lot's position it moved: the live log may drop what
#: Postgres now holds (:meth:`engine.eventlog.EventLog.trim`).
Trim = Callable[[Sequence[tuple[str, int]]], Awaitable[None]]


def continuing(rows: Sequence[PgRow], position: int) -> tuple[list[PgRow], bool]:
    """The rows (of one lot, in order) that continue ``position`` gap-free (none when it
    has them all already), and whether others beyond them leave a hole."""
    fresh: list[PgRow] = []
    for r in rows:
        if r.seq <= position + len(fresh):
            continue
        if r.seq != position + len(fresh) + 1:
            return fresh, True
        fresh.append(r)
    return fresh, False


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
    """Background writer of the permanent record, a tracked projection of the live log.
    ``source`` reads a lot's rows after a sequence number from the live log (to fill a
    hole, and for catch-up); ``lots`` gives every lot of the live log (to catch up)."""

    def __init__(self, dsn: str, source: Source | None = None,
                 lots: Callable[[], Awaitable[list[str]]] | None = None,
                 clock: Callable[[], int] | None = None, trim: Trim | None = None) -> None:
        self.dsn = dsn
        self._trim = trim
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._source = source
        self._lots = lots
        self._pool: asyncpg.Pool | None = None
        #: Set while connected.
        self._up = asyncio.Event()
        self._buffer: list[PgRow] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: When the last transaction started (monotonic s; see :data:`FLUSH_INTERVAL_S`).
        self._flushed_at = 0.0
        self.behind = True  # True until a catch-up has run since the last failure
        #: Since when (ms) the record has been behind: the oldest event it may lack.
        self._behind_since: int | None = None
        #: Rows applied by this process (each event is applied once, by one process).
        self.written = 0
        #: Lots whose rows after their position are to be read from the live log (a
        #: hole, an append whose outcome was not learnt), with since when (ms).
        self._holes: dict[str, int] = {}

    async def start(self) -> None:
        self._fall_behind()
        self._task = asyncio.create_task(self._run())

    def _fall_behind(self) -> None:
        if not self.behind or self._behind_since is None:
            self._behind_since = self._clock()
        self.behind = True

    def add(self, rows: Iterable[PgRow]) -> None:
        """Rows durable in the live log, to apply (those Postgres has are skipped)."""
        self._buffer.extend(rows)
        if len(self._buffer) > MAX_BUFFER:
            oldest = self._buffer[0].at
            del self._buffer[:len(self._buffer) - MAX_BUFFER]
            self._fall_behind()
            self._behind_since = min(oldest, self._behind_since or oldest)
        self._wake.set()

    def lag_ms(self) -> int:
        """How far (ms) the record is behind the live log as this process knows it: the
        age of the oldest event handed over and not yet applied, or of a hole to fill,
        or, while a catch-up is due (after a failure), the time since the record fell
        behind. 0 when up to date."""
        oldest = [self._buffer[0].at] if self._buffer else []
        oldest.extend(self._holes.values())
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
            except UNAVAILABLE as exc:
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
        self._up.set()
        log.info("postgres record connected")

    async def _run(self) -> None:
        while True:
            try:
                if self._pool is None:
                    await self._connect()
                if self.behind:
                    await self.catch_up()
                await self._flush()
                await self._fill()
            except Exception as exc:  # the writer never dies: the record would stop for good
                if isinstance(exc, UNAVAILABLE):
                    log.warning("postgres record unavailable (%s); retrying", exc)
                else:
                    log.exception("postgres record writer failed; retrying")
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
                    await asyncio.wait_for(self._wake.wait(), 2.0)
                except TimeoutError:
                    pass

    async def _drop_pool(self) -> None:
        self._up.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def _flush(self) -> None:
        while self._buffer:
            if not self._stopping and len(self._buffer) < BATCH:
                wait = self._flushed_at + FLUSH_INTERVAL_S - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._flushed_at = time.monotonic()
            batch = self._buffer[:BATCH]
            await self.apply(batch)
            del self._buffer[:len(batch)]

    async def apply(self, rows: Sequence[PgRow]) -> int:
        """Apply ``rows`` (of any lots; each lot's in order) in one transaction with the
        positions they move: only the rows continuing each lot's position gap-free; a lot
        whose rows leave a hole is filled from the live log next (:meth:`_fill`).
        Returns how many rows were applied."""
        assert self._pool is not None
        by_lot: dict[str, list[PgRow]] = {}
        for r in rows:
            by_lot.setdefault(r.lot_id, []).append(r)
        # Positions only grow: rows at or below one read now are applied for good. Most
        # rows another process appended were applied by it already: no transaction.
        for r in await self._pool.fetch("SELECT lot_id, seq FROM positions "
                                        "WHERE lot_id = ANY($1::text[])", list(by_lot)):
            if max(row.seq for row in by_lot[r["lot_id"]]) <= r["seq"]:
                del by_lot[r["lot_id"]]
        if not by_lot:
            return 0
        lots = sorted(by_lot)  # positions locked in one order: no deadlock between writers
        fresh: list[PgRow] = []
        async with self._pool.acquire() as conn, conn.transaction():
            # Each lot's position, locked (the upsert locks the row it finds or makes).
            positions = {r["lot_id"]: r["seq"] for r in await conn.fetch(
                "INSERT INTO positions (lot_id) SELECT unnest($1::text[]) "
                "ON CONFLICT (lot_id) DO UPDATE SET lot_id = EXCLUDED.lot_id "
                "RETURNING lot_id, seq", lots)}
            moved = []
            for lot_id in lots:
                lot_rows, hole = continuing(by_lot[lot_id], positions[lot_id])
                if hole:
                    self._holes.setdefault(lot_id, min(r.at for r in by_lot[lot_id]))
                if lot_rows:
                    fresh.extend(lot_rows)
                    last = lot_rows[-1]
                    moved.append((lot_id, last.seq, last.hash, last.at))
            if not fresh:
                return 0
            # The rows and the positions they move, in one statement: ``body_text``
            # keeps the sealed text exactly (the chain hashes it), ``body`` is its jsonb.
            await conn.execute(
                "WITH added AS (INSERT INTO events (lot_id, seq, at, type, body, body_text, "
                "hash) SELECT l, s, a, t, b::jsonb, b, h FROM unnest($1::text[], "
                "$2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) "
                "AS u(l, s, a, t, b, h)) "
                "UPDATE positions p SET seq = m.s, hash = m.h, at = m.a FROM unnest("
                "$7::text[], $8::bigint[], $9::text[], $10::bigint[]) AS m(l, s, h, a) "
                "WHERE p.lot_id = m.l",
                [r.lot_id for r in fresh], [r.seq for r in fresh], [r.at for r in fresh],
                [r.type for r in fresh], [r.body for r in fresh], [r.hash for r in fresh],
                *(list(column) for column in zip(*moved, strict=True)))
        self.written += len(fresh)
        if self._trim is not None:  # only once committed: never beyond what Postgres has
            try:
                await self._trim([(lot_id, seq) for lot_id, seq, _, _ in moved])
            except Exception as exc:  # the live log keeps them: the next commit trims
                log.warning("live log not trimmed: %s", exc)
        return len(fresh)

    def check(self, lot_id: str) -> None:
        """``lot_id`` may have durable rows nobody offers (an append whose outcome this
        process did not learn): read the lot's rows after its position from the live log
        and apply them, at once."""
        self._holes.setdefault(lot_id, self._clock())
        self._wake.set()

    async def _fill(self) -> None:
        """Apply what the live log holds after the position of each lot with a hole."""
        if self._source is None:
            self._holes.clear()
            return
        assert self._pool is not None
        for lot_id in list(self._holes):
            position = await self._pool.fetchval(
                "SELECT seq FROM positions WHERE lot_id = $1", lot_id) or 0
            try:
                rows = await self._source(lot_id, position)
            except Exception as exc:  # the live log unreachable: try again at the next round
                log.warning("postgres record: %s not read from the live log: %s", lot_id,
                            exc)
                continue
            if continuing(rows, position)[1]:  # the live log lacks them too
                log.error("postgres record: the live log of %s does not continue event "
                          "%d", lot_id, position)
                continue
            del self._holes[lot_id]
            applied = await self.apply(rows) if rows else 0  # (a hole again: kept)
            if applied:
                log.info("postgres record: %d events of %s read from the live log",
                         applied, lot_id)

    async def catch_up(self) -> int:
        """Apply every durable event Postgres lacks, read from the live log after each
        lot's position; return how many."""
        if self._source is None or self._lots is None or self._pool is None:
            self.behind, self._behind_since = False, None
            return 0
        have = {r["lot_id"]: r["seq"] for r in await self._pool.fetch(
            "SELECT lot_id, seq FROM positions")}
        copied = 0
        held: list[tuple[str, int]] = []
        for lot_id in await self._lots():
            rows = await self._source(lot_id, have.get(lot_id, 0))
            for i in range(0, len(rows), BATCH):
                copied += await self.apply(rows[i:i + BATCH])
            if not rows and have.get(lot_id):
                held.append((lot_id, have[lot_id]))
        # What a process killed between its commit and its trim left in the live log.
        for i in range(0, len(held), BATCH):
            if self._trim is not None:
                try:
                    await self._trim(held[i:i + BATCH])
                except Exception as exc:  # the live log keeps them: trimmed next time
                    log.warning("live log not trimmed: %s", exc)
        self.behind, self._behind_since = False, None
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
        except UNAVAILABLE as exc:
            log.warning("session %s not in postgres yet: %s", session_id, exc)

    async def rows(self, lot_id: str, after: int, before: int | None = None) -> list[PgRow]:
        """The lot's rows with ``after < seq < before`` (the live log may have dropped
        them: :meth:`engine.eventlog.EventLog.trim`); a process just started waits a
        moment for its connection."""
        if self._pool is None and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), PROBE_S)
        if self._pool is None:
            raise ConnectionError("postgres is not connected")
        return [PgRow(lot_id, r["seq"], r["at"], r["type"], r["body_text"], r["hash"])
                for r in await self._pool.fetch(
                    "SELECT seq, at, type, body_text, hash FROM events WHERE lot_id = $1 "
                    "AND seq > $2 AND seq < $3 ORDER BY seq", lot_id, after,
                    before if before is not None else 2**62)]

    async def events(self, lot_id: str) -> list[dict[str, Any]]:
        """The lot's rows as recorded in Postgres (for reports and checks)."""
        if self._pool is None:
            raise ConnectionError("postgres is not connected")
        rows = await self._pool.fetch(
            "SELECT seq, at, type, body_text, hash FROM events WHERE lot_id = $1 ORDER BY seq",
            lot_id)
        return [dict(r) for r in rows]
