"""The permanent record on a real Postgres, a tracked projection: each event applied
exactly once whichever processes offer it and however often (a restart included), the
position moved in the same transaction; rows that leave a hole, or that nobody offers
(their process never learnt its append went through), are read from the live log from
the position on, at once."""

import asyncio
import itertools
import time
from typing import Any

import asyncpg
import pytest
from services import PostgresServer, RedisServer
from test_contract import open_lot

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


def lots_of(*ids: str) -> Any:
    """The projection's list of every lot of the live log."""
    async def lots() -> list[str]:
        return list(ids)
    return lots


def live_log(rows: list[PgRow]) -> Any:
    """The projection's source: ``rows`` as the live log holds them."""
    async def source(lot_id: str, after: int) -> list[PgRow]:
        return [r for r in rows if r.lot_id == lot_id and r.seq > after]
    return source


async def connected(record: PgRecord) -> None:
    async with asyncio.timeout(10):  # connected, the schema made, caught up
        while not record.connected or record.behind:
            await asyncio.sleep(0.05)


async def position(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT seq FROM positions WHERE lot_id = 'L'"))
    finally:
        await conn.close()


async def test_the_projection_applies_each_event_once_whoever_offers_it_and_how_often(
        postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    live = [row(seq, 1000 + seq) for seq in range(1, 41)]
    first, second = (PgRecord(dsn, source=live_log(live), lots=lots_of()) for _ in "ab")
    await first.start()
    await second.start()
    try:
        await connected(first)
        await connected(second)
        # Two processes offer overlapping rows at once, and again (a restart re-offers).
        for start in range(0, 40, 5):
            first.add(live[start:start + 10])
            second.add(live[max(start - 5, 0):start + 5])
        first.add(live)
        assert await until(lambda have: len(have) == 40, dsn) == list(range(1, 41))
        await asyncio.sleep(0.3)
        assert await seqs(dsn) == list(range(1, 41)) and await position(dsn) == 40
        # Each event was inserted by exactly one of them, once: nothing twice, even tried.
        assert first.written + second.written == 40
    finally:
        await first.close()
        await second.close()


async def test_rows_that_leave_a_hole_are_read_from_the_live_log_from_the_position_at_once(
        postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    now = time.time_ns() // 1_000_000
    live = [row(seq, now) for seq in range(1, 5)]  # all recent: no hand-over to wait for
    record = PgRecord(dsn, source=live_log(live), lots=lots_of())
    await record.start()
    try:
        await connected(record)
        record.add([live[0], live[1], live[3]])  # 3 was offered by nobody
        async with asyncio.timeout(2):
            assert await until(lambda have: have == [1, 2, 3, 4], dsn) == [1, 2, 3, 4]
        live.append(row(5, now))
        record.check("L")  # an append whose outcome was not learnt: it landed (5)
        async with asyncio.timeout(2):
            assert await until(lambda have: 5 in have, dsn) == [1, 2, 3, 4, 5]
        assert await position(dsn) == 5 and record.lag_ms() < 2000
    finally:
        await record.close()


async def test_a_restart_applies_only_what_postgres_lacks_from_its_position(
        postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    live = [row(seq, 1000 + seq) for seq in range(1, 7)]
    before = PgRecord(dsn, source=live_log(live[:3]), lots=lots_of("L"))
    await before.start()
    try:
        await connected(before)
        assert await seqs(dsn) == [1, 2, 3] and before.written == 3
    finally:
        await before.close()
    after = PgRecord(dsn, source=live_log(live), lots=lots_of("L"))
    await after.start()
    try:
        await connected(after)
        after.add(live)  # what the process offers again after its restart
        assert await until(lambda have: len(have) == 6, dsn) == [1, 2, 3, 4, 5, 6]
        await asyncio.sleep(0.2)
        assert after.written == 3 and await position(dsn) == 6
    finally:
        await after.close()


async def test_rows_of_an_append_whose_reply_was_lost_reach_postgres(
        redis_server: RedisServer, postgres_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The script ran (the bid is in Redis) but its reply was lost: the process refused
    the bid, handed nothing over, read the bid back and went on; Postgres gets it too."""
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


async def test_the_writer_outlives_dropped_connections_and_any_failure_of_its_source(
        postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    """Postgres ending the record's idle connections (as a restart does), and a live log
    whose read fails in an unforeseen way, delay the record; neither stops its writer."""
    dsn = postgres_server.create_database(f"pg_record_{next(_databases)}")
    live = [row(seq, 1000 + seq) for seq in range(1, 7)]
    failures = [RuntimeError("the live log failed unexpectedly")]
    source = live_log(live)

    async def flaky(lot_id: str, after: int) -> list[PgRow]:
        if failures:
            raise failures.pop()
        return list(await source(lot_id, after))

    record = PgRecord(dsn, source=flaky, lots=lots_of("L"))
    await record.start()
    try:
        await connected(record)  # the catch-up failed once, and was done again
        assert await seqs(dsn) == [1, 2, 3, 4, 5, 6] and not failures
        assert "postgres record writer failed; retrying" in caplog.text
        admin = await asyncpg.connect(dsn)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await admin.close()
        assert ended >= 1
        live.extend(row(seq, 1000 + seq) for seq in range(7, 10))
        record.add(live[6:])
        assert await until(lambda have: len(have) == 9, dsn) == list(range(1, 10))
        assert await position(dsn) == 9
    finally:
        await record.close()
