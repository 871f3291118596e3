"""Redis streams trimmed once Postgres holds their events (real Redis and Postgres): a
lot's stream keeps only what a start needs (the events after its snapshot, and never an
event Postgres lacks); the trimmed events are then served from Postgres (history,
record, export), and a restart starts from the snapshot."""

import asyncio
import itertools
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError
from services import PostgresServer, RedisServer
from test_contract import Clock
from test_snapshots_engine import bid_on, end_lot

from auction.verify import build_export, dumps, verify
from engine import redis_keys, snapshots
from engine.api import EngineError
from engine.logs.redis import RedisLog
from engine.redis_engine import RedisEngine

_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def snapshot_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "EVERY", 4)


async def stream(redis_server: RedisServer, lot_id: str) -> list[int]:
    """The sequence numbers the lot's Redis stream holds."""
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        return [int(eid.split(b"-")[0]) for eid, _ in
                await client.xrange(redis_keys.events(lot_id))]
    finally:
        await client.aclose()


async def position(dsn: str, lot_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT seq FROM positions WHERE lot_id = $1",
                                       lot_id) or 0)
    except asyncpg.UndefinedTableError:  # the record has not made its schema yet
        return 0
    finally:
        await conn.close()


async def until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def test_a_stream_keeps_only_what_a_start_needs_once_postgres_holds_its_events(
        redis_server: RedisServer, postgres_server: PostgresServer) -> None:
    redis_server.flush()
    dsn = postgres_server.create_database(f"trim_{next(_databases)}")
    clock = Clock()
    async with RedisEngine(redis_server.url, dsn, clock) as engine:
        ended = await end_lot(engine, clock, "L1")
        history = await engine.history("L1")
        await end_lot(engine, clock, "L2")  # (a snapshot every 4 events: L2 goes on)
        await bid_on(engine, "L2", 0)
        live = engine.lot("L2")
        assert live is not None
        await until(lambda: _at(dsn, {"L1": ended.version}))
        await until(lambda: _trimmed(redis_server, "L1"))
        # The ended lot's stream is empty: its snapshot is after its last event.
        assert await stream(redis_server, "L1") == []
        assert await engine.history("L1") == history  # from Postgres
        assert await engine.history("L1", 4) == history[4:]
        export = dumps(build_export(ended, await engine.record("L1"), clock.t))
        assert verify(export).ok
    async with RedisEngine(redis_server.url, dsn, clock) as again:
        assert again.lot_ids() == [] and again.reads == 0  # both ended: none read
        assert await again.find("L1") == ended  # from its snapshot, no event read
        assert await again.history("L1") == history


async def test_trimming_never_drops_an_event_postgres_lacks_across_a_crash_and_redis_killed(
        redis_server: RedisServer, postgres_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    redis_server.flush()
    dsn = postgres_server.create_database(f"trim_{next(_databases)}")
    clock = Clock()
    # Postgres unreachable: nothing is trimmed.
    async with RedisEngine(redis_server.url, "postgresql://nobody@127.0.0.1:1/none",
                           clock) as engine:
        ended = await end_lot(engine, clock, "L1")
        await asyncio.sleep(0.3)
        assert await stream(redis_server, "L1") == list(range(1, ended.version + 1))
    # The process dies between its Postgres commit and its trim: the trim never runs.
    dead, trim = [True], RedisLog.trim

    async def dies(self: RedisLog, upto: Any) -> None:
        if dead[0]:
            raise EngineError("killed before trimming")
        await trim(self, upto)
    monkeypatch.setattr(RedisLog, "trim", dies)
    async with RedisEngine(redis_server.url, dsn, clock) as engine:
        await until(lambda: _at(dsn, {"L1": ended.version}))
    assert await stream(redis_server, "L1") == list(range(1, ended.version + 1))
    dead[0] = False
    # Redis killed and restarted (its AOF fsynced every write): nothing lost, and the
    # next process's catch-up trims what Postgres holds.
    redis_server.kill()
    redis_server.start()
    await loaded(redis_server)
    async with RedisEngine(redis_server.url, dsn, clock) as again:
        await until(lambda: _trimmed(redis_server, "L1"))
        assert await again.find("L1") == ended
        history = await again.history("L1")
        assert [r.seq for r in history] == list(range(1, ended.version + 1))
        assert history == await again.record("L1")


async def loaded(redis_server: RedisServer) -> None:
    """Wait until a restarted Redis has read its append-only file back."""
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    await client.ping()
                    return
                except BusyLoadingError:
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def _at(dsn: str, positions: dict[str, int]) -> bool:
    return all([await position(dsn, lot_id) == seq for lot_id, seq in positions.items()])


async def _trimmed(redis_server: RedisServer, lot_id: str) -> bool:
    return (await stream(redis_server, lot_id)) == []
