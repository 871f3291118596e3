"""The permanent record on a real Postgres: rows in the live store that nobody handed over
(their process died, or never learnt its append went through) are copied by a process
that checks the lot, holes included, once their own process would have handed them over."""

import asyncio
import itertools
import time
from typing import Any

import asyncpg
import pytest
from services import PostgresServer, RedisServer
from test_contract import open_lot

import engine.pg_record
from auction.model import PlaceBid, Rejection
from engine.api import EngineError
from engine.pg_record import PgRecord, PgRow
from engine.redis_engine import RedisEngine

_databases = itertools.count(1)


def row(seq: int, at: int) -> PgRow:
    return PgRow("L", seq, at, "BidAccepted", f'{{"seq":{seq}}}', f"h{seq}")


async def seqs(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["seq"] for r in await conn.fetch(
            "SELECT seq FROM events WHERE lot_id = 'L' ORDER BY seq")]
    finally:
        await conn.close()


async def until(condition: object, dsn: str, timeout: float = 10.0) -> list[int]:
    async with asyncio.timeout(timeout):
        while True:
            have = await seqs(dsn)
            if condition(have):  # type: ignore[operator]
                return have
            await asyncio.sleep(0.05)


async def test_rows_nobody_handed_over_are_copied_holes_included_once_they_are_old(
        postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.pg_record, "HANDOVER_MS", 1000)
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    now = time.time_ns() // 1_000_000
    # The live store holds 1..5; 3 is old (its process died holding it), 5 so recent
    # that its own process may still hand it over.
    live = [row(1, now - 9000), row(2, now - 8000), row(3, now - 7000), row(4, now - 6000),
            row(5, now + 2000)]
    record = PgRecord(dsn, source=lambda lot_id, after: [r for r in live if r.seq > after],
                      lots=lambda: [])
    await record.start()
    try:
        async with asyncio.timeout(10):  # connected, the schema made
            while not record.connected:
                await asyncio.sleep(0.05)
        record.add([live[0], live[1], live[3]])  # what the processes handed over
        assert await until(lambda have: have == [1, 2, 4], dsn) == [1, 2, 4]
        record.check("L")
        have = await until(lambda have: 3 in have, dsn)
        assert have == [1, 2, 3, 4]  # the hole is filled; 5 is left to its own process
        assert await until(lambda have: 5 in have, dsn) == [1, 2, 3, 4, 5]
    finally:
        await record.close()


async def test_rows_of_an_append_whose_reply_was_lost_reach_postgres(
        redis_server: RedisServer, postgres_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The script ran (the bid is in Redis) but its reply was lost: the process refused
    the bid, handed nothing over, read the bid back and went on; Postgres gets it too."""
    monkeypatch.setattr(engine.pg_record, "HANDOVER_MS", 300)
    redis_server.flush()
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    async with RedisEngine(redis_server.url, dsn) as engine_:
        await open_lot(engine_)
        store = engine_.record_store
        assert store is not None
        async with asyncio.timeout(10):  # connected and caught up: only handovers now
            while not store.connected or store.behind:
                await asyncio.sleep(0.05)
        real = engine_.log._append

        async def reply_lost(**kwargs: Any) -> Any:
            await real(**kwargs)
            raise ConnectionError("connection to redis lost")
        monkeypatch.setattr(engine_.log, "_append", reply_lost)
        with pytest.raises(EngineError, match="redis unavailable"):
            await engine_.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        monkeypatch.setattr(engine_.log, "_append", real)
        refused = await engine_.execute("L1", PlaceBid(bidder_id="B1", amount=10000))
        assert isinstance(refused, Rejection)  # decided after reading the first back
        result = await engine_.execute("L1", PlaceBid(bidder_id="B1", amount=11000))
        assert isinstance(result, list)
        in_redis = [r.seq for r in await engine_.history("L1")]
        in_postgres: list[int] = []
        async with asyncio.timeout(10):
            while in_postgres != in_redis:
                await asyncio.sleep(0.05)
                try:
                    in_postgres = [r.seq for r in await engine_.record("L1")]
                except EngineError:  # not connected yet
                    continue
