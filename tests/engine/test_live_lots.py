"""Start and memory bounded by the live lots, not the history: the log's index of live
lots gives a start only the lots not ended; an ended lot is read back on demand (its
last snapshot and the events after it) and gives the same view, record and export as
before; the listing, the counts by status and the sessions' closing modes walk the
store, not memory. Real SQLite files, and the in-memory log."""

import asyncio
import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from services import PostgresServer, RedisServer
from test_contract import PARAMS, Clock, open_lot
from test_sessions import make_lot, until
from test_snapshots_engine import bid_on, end_lot

from auction.lot import replay
from auction.model import CreateLot, RefundDeposit, Rejection, Tick
from auction.state import AWARDED, OPEN
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, STAFF, snapshot
from engine import redis_keys, runtime, snapshots
from engine.api import EngineError
from engine.embedded import EmbeddedEngine
from engine.logs.memory import MemoryLog
from engine.redis_engine import RedisEngine
from engine.runtime import Runtime

Make = Callable[[], Runtime]
_databases = itertools.count(1)


KINDS = ["sqlite", "memory", "redis"]


@pytest.fixture
def makers(tmp_path: Path, request: pytest.FixtureRequest
           ) -> Callable[[Clock], dict[str, Make]]:
    """The engines of each log on one store: SQLite, the in-memory log, and a real Redis
    (flushed), with the Postgres record on a new database."""
    memory = MemoryLog()

    def make(clock: Clock) -> dict[str, Make]:
        engines: dict[str, Make] = {"sqlite": lambda: EmbeddedEngine(tmp_path, clock),
                                    "memory": lambda: Runtime(memory, clock)}
        if "redis" in request.node.name:
            redis: RedisServer = request.getfixturevalue("redis_server")
            postgres: PostgresServer = request.getfixturevalue("postgres_server")
            redis.flush()
            dsn = postgres.create_database(f"live_lots_{next(_databases)}")
            engines["redis"] = lambda: RedisEngine(redis.url, dsn, clock)
        return engines
    return make


async def history_of(engine: Runtime, clock: Clock, ended: int, live: int) -> list[str]:
    """``ended`` ended lots then ``live`` open ones, alternating two sessions' ids in
    their creation order (S1 for even positions); their ids in creation order."""
    ids = []
    for i in range(ended + live):
        lot_id = f"L{i:03d}"
        if i < ended:
            await end_lot(engine, clock, lot_id)
        else:
            await open_lot(engine, lot_id)
            await bid_on(engine, lot_id, 1)
        ids.append(lot_id)
    return ids


async def recorded(engine: Runtime, lot_id: str, events: int) -> list[Any]:
    """The lot's permanent record once it holds ``events`` events (Postgres is written
    behind the live log)."""
    async with asyncio.timeout(10):
        while True:
            try:
                records = await engine.record(lot_id)
            except EngineError:  # Postgres not connected yet
                records = []
            if len(records) >= events:
                return records
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_start_reads_only_the_live_lots_and_counts_the_ended_ones(
        makers: Callable[[Clock], dict[str, Make]], kind: str) -> None:
    clock = Clock()
    make = makers(clock)[kind]
    async with make() as engine:
        ids = await history_of(engine, clock, ended=12, live=3)
        before = {lot_id: engine.lot(lot_id) for lot_id in ids}
    async with make() as again:
        loaded = await again.log.load()
        assert list(loaded.lots) == ids[12:] and loaded.ended == {AWARDED: 12}
        # Nothing of an ended lot was read: not in memory, no read on demand.
        assert again.lot_ids() == ids[12:] and again.reads == 0
        assert again.counts() == {AWARDED: 12, OPEN: 3}
        for lot_id in ids[12:]:
            assert again.lot(lot_id) == before[lot_id]
        assert again.lot(ids[0]) is None  # not in memory...
        assert await again.find(ids[0]) == before[ids[0]]  # ...but in the store
        assert again.reads == 1 and again.counts() == {AWARDED: 12, OPEN: 3}
        assert await again.find("NOPE") is None


@pytest.mark.parametrize("kind", KINDS)
async def test_the_listing_pages_through_every_lot_with_memory_bounded_by_the_recent_ones(
        makers: Callable[[Clock], dict[str, Make]], kind: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 3)
    clock = Clock()
    make = makers(clock)[kind]
    async with make() as engine:
        ids = await history_of(engine, clock, ended=10, live=2)
        assert len(engine.lot_ids()) == 2 + 3  # the others evicted as they ended
        before = {lot_id: await engine.find(lot_id) for lot_id in ids}
    async with make() as again:
        listed, after, pages = [], None, 0
        while True:
            states, after = await again.lots(after=after, limit=5)
            listed.extend(states)
            pages += 1
            assert len(again.lot_ids()) <= 2 + 3  # the live lots and the recent ones
            if after is None:
                break
        assert [s.lot_id for s in listed] == ids and pages == 3
        assert listed == [before[lot_id] for lot_id in ids]
        states, after = await again.lots(session_id="S1", limit=100)
        assert [s.lot_id for s in states] == ids and after is None
        assert await again.lots(session_id="S9") == ([], None)
        assert again.counts() == {AWARDED: 10, OPEN: 2}


@pytest.mark.parametrize("kind", KINDS)
async def test_an_ended_lot_read_back_gives_the_same_views_record_and_export(
        makers: Callable[[Clock], dict[str, Make]], kind: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 1)
    clock = Clock()
    make = makers(clock)[kind]
    async with make() as engine:
        state = await end_lot(engine, clock, "L1")
        history = await engine.history("L1")
        exported_at = clock.t
        export = dumps(build_export(state, history, exported_at))
        views = [snapshot(state, audience) for audience in (PUBLIC, STAFF)]
        await end_lot(engine, clock, "L2")
        await end_lot(engine, clock, "L3")
        assert "L1" not in engine._lots  # evicted while the engine runs
        found = await engine.find("L1")
        assert found == state
        assert [snapshot(found, a) for a in (PUBLIC, STAFF)] == views
    async with make() as again:  # and after a restart, from the store alone
        found = await again.find("L1")
        assert found == state
        assert [snapshot(found, a) for a in (PUBLIC, STAFF)] == views
        assert await again.history("L1") == history
        assert await again.history("L1", 5) == history[5:]
        again_export = dumps(build_export(found, await recorded(again, "L1", len(history)),
                                          exported_at))
        assert again_export == export and verify(again_export).ok


@pytest.mark.parametrize("kind", KINDS)
async def test_an_ended_lot_is_found_even_when_memory_keeps_no_ended_lot_at_all(
        makers: Callable[[Clock], dict[str, Make]], kind: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 0)
    clock = Clock()
    async with makers(clock)[kind]() as engine:
        state = await end_lot(engine, clock, "L1")
        await end_lot(engine, clock, "L2")
        assert "L1" not in engine._lots
        assert await engine.find("L1") == state
        assert "L1" not in engine._lots  # read for the caller, and let go again
        states, _ = await engine.lots(limit=10)
        assert [s.lot_id for s in states] == ["L1", "L2"]


async def test_a_serial_session_goes_on_with_its_ended_lots_left_in_the_store(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        await engine.create_session("S1", "Land sale", "host1", "serial")
        await make_lot(engine, "L0", "S1", {"duration_s": 60}, start=True)
        await make_lot(engine, "L1", "S1", {"duration_s": 60}, start=False)
        await make_lot(engine, "L2", "S1", {"duration_s": 60}, start=False)
        state = engine.lot("L0")
        assert state is not None and state.closes_at is not None
        clock.t = state.closes_at
        await engine.execute("L0", Tick())
        await until(engine, "L1", lambda s: s.status == OPEN)
    async with EmbeddedEngine(tmp_path, clock) as again:
        assert again.lot_ids() == ["L1", "L2"] and again.reads == 0
        state = again.lot("L1")
        assert state is not None and state.closes_at is not None
        clock.t = state.closes_at
        await again.execute("L1", Tick())
        # The coordinator walked the session's lots from the store, L0 read from it.
        await until(again, "L2", lambda s: s.status == OPEN)
        assert again.reads == 1 and again.lot("L0") is not None


async def test_a_file_made_before_the_index_of_live_lots_gets_it_at_open(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        ids = await history_of(engine, clock, ended=3, live=1)
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:
        for index in ("lots_live", "lots_ordinal", "lots_session", "lots_ended"):
            conn.execute(f"DROP INDEX {index}")
        for column in ("session_id", "status", "ended"):
            conn.execute(f"ALTER TABLE lots DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    async with EmbeddedEngine(tmp_path, clock) as again:
        assert again.lot_ids() == ids[3:] and again.counts() == {AWARDED: 3, OPEN: 1}
        states, _ = await again.lots(session_id="S1")
        assert [s.lot_id for s in states] == ids


async def test_a_redis_deployment_made_before_the_index_of_live_lots_gets_it_at_start(
        makers: Callable[[Clock], dict[str, Make]], redis_server: RedisServer) -> None:
    clock = Clock()
    make = makers(clock)["redis"]
    async with make() as engine:
        ids = await history_of(engine, clock, ended=3, live=2)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.delete(redis_keys.LIVE_INDEXED,
                            *(redis_keys.live(n) for n in range(redis_keys.SHARDS)))
    finally:
        await client.aclose()
    async with make() as again:
        assert again.lot_ids() == ids[3:] and again.reads == 0
        assert again.counts() == {AWARDED: 3, OPEN: 2}


async def test_the_redis_listing_pages_lots_created_in_one_millisecond_in_order_of_id(
        makers: Callable[[Clock], dict[str, Make]], redis_server: RedisServer) -> None:
    """Lots created at one time sit in many shards' indexes with one score: a page
    starting after one of them reads, in every shard, past the lots tied with it."""
    clock = Clock()  # never moves: every lot has the same creation time
    make = makers(clock)["redis"]
    ids = sorted([f"T{i:02d}" for i in range(19)] + ["T-1", "T_1", "t1", "T\u00e91"])
    async with make() as engine:
        for lot_id in reversed(ids):  # created in the reverse of their order by id
            assert not isinstance(await engine.execute(lot_id, CreateLot(
                lot_id=lot_id, session_id="S1", format="english", title="t",
                params=PARAMS, actor="host1")), Rejection)
        assert len({redis_keys.shard(lot_id) for lot_id in ids}) > 10
        clock.t += 1
        assert not isinstance(await engine.execute("U1", CreateLot(
            lot_id="U1", session_id="S1", format="english", title="t", params=PARAMS,
            actor="host1")), Rejection)
        for limit in (1, 4, 23, 30):
            listed, after = [], None
            while True:
                page = await engine.log.lot_page(after, limit)
                assert len(page) <= limit
                listed.extend(page)
                if len(page) < limit:
                    break
                after = page[-1]
            assert listed == [*ids, "U1"], limit
        assert await engine.log.lot_page("NOPE", 2) == ids[:2]  # unknown: from the first


@settings(max_examples=25, deadline=None)
@given(bids=st.integers(0, 11), every=st.integers(2, 6), after=st.integers(0, 25),
       refunds=st.booleans())
def test_an_ended_lot_read_on_demand_equals_its_replay_from_scratch(
        bids: int, every: int, after: int, refunds: bool) -> None:
    """Property: whatever its length and wherever its snapshots fell, an ended lot read
    back (from its last snapshot and the events after it) is the state its whole record
    replays to, and gives the same history from any point."""
    async def scenario() -> None:
        clock = Clock()
        log = MemoryLog()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(snapshots, "EVERY", every)
            async with Runtime(log, clock) as engine:
                await open_lot(engine, "L1")
                await bid_on(engine, "L1", bids)
                state = engine.lot("L1")
                assert state is not None and state.closes_at is not None
                clock.t = state.closes_at
                assert isinstance(await engine.execute("L1", Tick()), list)
                if refunds:  # an event after the end: a later snapshot, a tail of one
                    ended = engine.lot("L1")
                    assert ended is not None
                    loser = "B1" if ended.leader == "B0" else "B0"
                    await engine.execute("L1", RefundDeposit(bidder_id=loser, actor="h",
                                                             reason="not awarded"))
            async with Runtime(log, clock) as again:
                assert again.lot_ids() == []
                found = await again.find("L1")
                history = await again.history("L1")
                assert found == replay(r.event for r in history)
                assert [r.seq for r in history] == list(range(1, len(history) + 1))
                assert await again.history("L1", after) == history[after:]
    asyncio.run(scenario())
