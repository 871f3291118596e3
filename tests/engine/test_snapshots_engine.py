"""Bounded start and memory (engine/snapshots.py in the engine): a restart folds each
lot's snapshot and the events after it, not every event since genesis; an ended lot
keeps its state, not its records, which are read back from the store; a snapshot the
engine cannot read is ignored and the lot replays from its events."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from services import RedisServer
from test_contract import Clock, open_lot

from auction.lot import replay
from auction.model import PlaceBid, RefundDeposit, Tick
from auction.record import Recorded
from auction.state import AWARDED, LotState
from engine import redis_keys, runtime, snapshots
from engine.embedded import EmbeddedEngine
from engine.logs.memory import MemoryLog
from engine.redis_engine import RedisEngine
from engine.runtime import Runtime


@pytest.fixture(autouse=True)
def snapshot_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "EVERY", 4)


async def bid_on(engine: Runtime, lot_id: str, times: int) -> None:
    for _ in range(times):
        state = engine.lot(lot_id)
        assert state is not None
        top = state.best if state.best is not None else 9000
        bidder = "B1" if state.leader == "B0" else "B0"
        result = await engine.execute(lot_id, PlaceBid(bidder_id=bidder, amount=top + 1000))
        assert isinstance(result, list), result


def engines(tmp_path: Path, clock: Clock) -> list[tuple[str, object]]:
    return [("sqlite", lambda: EmbeddedEngine(tmp_path, clock)),
            ("memory", (lambda log: lambda: Runtime(log, clock))(MemoryLog()))]


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_a_restart_folds_each_lots_snapshot_and_only_the_events_after_it(
        tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    make = dict(engines(tmp_path, clock))[kind]
    # Processes that leave without keeping snapshots (as after a kill): a tail to fold.
    monkeypatch.setattr(runtime, "KEEP_S", -1.0)
    async with make() as engine:  # type: ignore[operator]
        await open_lot(engine, "L1")
        await bid_on(engine, "L1", 9)
        await open_lot(engine, "L2")
        before = {lot_id: engine.lot(lot_id) for lot_id in ("L1", "L2")}
        history = {lot_id: await engine.history(lot_id) for lot_id in ("L1", "L2")}
    async with make() as again:  # type: ignore[operator]
        loaded = await again.log.load()
        for lot_id in ("L1", "L2"):
            total = len(history[lot_id])
            snapshot = loaded.snapshots[lot_id]
            assert 0 < snapshot.seq <= total and total - snapshot.seq < snapshots.EVERY
            assert [r.seq for r in loaded.lots[lot_id]] == list(range(snapshot.seq + 1,
                                                                      total + 1))
            assert again.lot(lot_id) == before[lot_id] == replay(
                r.event for r in history[lot_id])
            assert await again.history(lot_id) == history[lot_id]
            assert await again.history(lot_id, 3) == history[lot_id][3:]
        # The lot goes on from the snapshot: the next bid continues its chain.
        await bid_on(again, "L1", 3)
        after = await again.history("L1")
        assert after[:len(history["L1"])] == history["L1"]
        assert again.lot("L1") == replay(r.event for r in after)
    async with make() as third:  # type: ignore[operator]
        assert await third.history("L1") == after


@pytest.mark.parametrize("kind", ["sqlite", "memory", "redis"])
async def test_a_process_leaving_cleanly_keeps_a_snapshot_of_each_live_lot_for_the_next_start(
        tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    clock = Clock()
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis.flush()
        make = lambda: RedisEngine(redis.url, None, clock)  # noqa: E731
    else:
        make = dict(engines(tmp_path, clock))[kind]  # type: ignore[assignment]
    async with make() as engine:  # type: ignore[operator]
        await open_lot(engine, "L1")
        await bid_on(engine, "L1", 6)  # a snapshot at event 4 or 8, and events after it
        await open_lot(engine, "L2")
        await open_lot(engine, "L3")
        await bid_on(engine, "L3", 1)
        before = {lot_id: engine.lot(lot_id) for lot_id in ("L1", "L2", "L3")}
        history = {lot_id: await engine.history(lot_id) for lot_id in ("L1", "L2", "L3")}
        unkept = await engine.log.load()
        assert any(unkept.lots[lot_id] for lot_id in history)  # tails a start would fold
    async with make() as again:  # type: ignore[operator]
        loaded = await again.log.load()
        for lot_id in ("L1", "L2", "L3"):
            assert loaded.snapshots[lot_id].seq == len(history[lot_id])
            assert loaded.snapshots[lot_id].hash == history[lot_id][-1].hash
            assert loaded.lots[lot_id] == []  # nothing to fold
            assert again.lot(lot_id) == before[lot_id] == replay(
                r.event for r in history[lot_id])
            assert await again.history(lot_id) == history[lot_id]
        await bid_on(again, "L1", 1)  # the chain goes on from the kept snapshot
        after = await again.history("L1")
        assert after[:-1] == history["L1"] and again.lot("L1") == replay(
            r.event for r in after)
        # A snapshot of an event the lot has moved past is not kept (L2's next bid
        # writes one at event 8: EVERY is 4), nor one under an epoch that is over.
        stale = snapshots.take(before["L2"], len(history["L2"]), history["L2"][-1].hash)
        await bid_on(again, "L2", 1)
        assert await again.log.keep(stale) is False
        assert (await again.log.load()).snapshots["L2"].seq == len(history["L2"]) + 1
        if kind == "redis":
            lot = again._lots["L1"]
            assert lot.state is not None and lot.version % snapshots.EVERY != 0
            current = snapshots.take(lot.state, lot.version, lot.last_hash)
            assert await again.log.keep(current, epoch=10_000) is False
            assert await again.log.keep(current, epoch=again.epoch(lot)) is True
            assert (await again.log.load()).snapshots["L1"].seq == lot.version


async def test_an_ended_lot_keeps_no_records_in_memory_and_reads_them_back_from_the_store(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        await open_lot(engine, "L1")
        await bid_on(engine, "L1", 3)
        state = engine.lot("L1")
        assert state is not None and state.closes_at is not None
        clock.t = state.closes_at
        assert isinstance(await engine.execute("L1", Tick()), list)
        ended = engine.lot("L1")
        assert ended is not None and ended.status == AWARDED
        assert engine._lots["L1"].records == []  # let go: the store has them
        history = await engine.history("L1")
        assert [r.seq for r in history] == list(range(1, ended.version + 1))
        assert replay(r.event for r in history) == ended
        assert await engine.record("L1") == history
        seen: list[Recorded] = []

        def listener(state: LotState, records: list[Recorded]) -> None:
            seen.extend(records)
        await engine.subscribe("L1", listener, after_seq=2)
        assert seen == history[2:]
    async with EmbeddedEngine(tmp_path, clock) as again:
        loaded = await again.log.load()
        assert "L1" not in loaded.lots and loaded.ended == {AWARDED: 1}
        assert again.lot_ids() == [] and again.reads == 0  # not even read until asked for
        assert again.counts() == {AWARDED: 1}
        assert await again.find("L1") == ended and again.reads == 1
        assert again._lots["L1"].records == []
        assert await again.history("L1") == history


async def test_a_snapshot_the_engine_cannot_read_is_ignored_and_the_lot_replays_its_events(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        await open_lot(engine, "L1")
        await bid_on(engine, "L1", 5)
        before, history = engine.lot("L1"), await engine.history("L1")
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:
        assert conn.execute("UPDATE snapshots SET state = '[999, null]'").rowcount == 1
    conn.close()
    async with EmbeddedEngine(tmp_path, clock) as again:
        assert again.lot("L1") == before
        assert await again.history("L1") == history


async def end_lot(engine: Runtime, clock: Clock, lot_id: str) -> LotState:
    await open_lot(engine, lot_id)
    await bid_on(engine, lot_id, 2)
    state = engine.lot(lot_id)
    assert state is not None and state.closes_at is not None
    clock.t = max(clock.t, state.closes_at)
    assert isinstance(await engine.execute(lot_id, Tick()), list)
    ended = engine.lot(lot_id)
    assert ended is not None and ended.status == AWARDED
    return ended


async def test_ended_lots_beyond_the_recent_ones_leave_memory_and_are_read_back_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 1)
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        first = await end_lot(engine, clock, "L1")
        watched: list[int] = []
        await engine.subscribe("L1", lambda state, records: watched.extend(
            r.seq for r in records))
        second = await end_lot(engine, clock, "L2")
        assert "L1" in engine._lots  # watched: kept
        history = await engine.history("L2")
        third = await end_lot(engine, clock, "L3")
        assert "L2" not in engine._lots and engine.lot("L2") is None  # the store has it
        assert engine.counts() == {AWARDED: 3}
        reads = engine.reads
        assert await engine.find("L2") == second and engine.reads == reads + 1
        assert engine.lot("L1") == first
        assert "L3" not in engine._lots  # the least recently used unwatched one
        assert await engine.find("L3") == third
        assert await engine.history("L2") == history == await engine.record("L2")
        assert replay(r.event for r in history) == second
        # A command to a lot read back goes on from its record (a deposit settled).
        loser = "B1" if second.leader == "B0" else "B0"
        result = await engine.execute("L2", RefundDeposit(bidder_id=loser, actor="host1",
                                                          reason="not awarded"))
        assert isinstance(result, list) and result[0].seq == second.version + 1
        assert engine.counts() == {AWARDED: 3}


async def test_an_ended_lot_whose_snapshot_is_damaged_is_replayed_from_its_events(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        first = await end_lot(engine, clock, "L1")
        second = await end_lot(engine, clock, "L2")
        history = await engine.history("L1")
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:
        conn.execute("UPDATE snapshots SET state = '[1, [\"C\", \"os:system\", {}]]' "
                     "WHERE lot_id = 'L1'")
    conn.close()
    async with EmbeddedEngine(tmp_path, clock) as again:
        assert await again.find("L1") == first and again.quarantined() == {}
        assert await again.history("L1") == history
        assert await again.find("L2") == second


async def test_a_redis_start_decodes_a_lots_state_when_first_used_and_rereads_a_damaged_one(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Redis a start arms no deadline (the owner does), so a live lot's state is
    decoded at its first use, or in the background soon after; a snapshot that then
    does not decode has its lot read again and replayed from its events."""
    redis_server.flush()
    clock = Clock()
    make = lambda: RedisEngine(redis_server.url, None, clock)  # noqa: E731
    async with make() as engine:
        for lot_id in ("L1", "L2", "L3"):
            await open_lot(engine, lot_id)
            await bid_on(engine, lot_id, 2)
        before = {lot_id: engine.lot(lot_id) for lot_id in ("L1", "L2", "L3")}
        history = {lot_id: await engine.history(lot_id) for lot_id in ("L1", "L2", "L3")}
    client = aioredis.Redis.from_url(redis_server.url)
    try:  # L2's and L3's snapshots damaged, their encoding version intact
        for lot_id in ("L2", "L3"):
            await client.hset(redis_keys.snapshot(lot_id), "state",
                              f"[{snapshots.VERSION},[\"C\"]]")
    finally:
        await client.aclose()

    async def nothing(self: Runtime) -> None:
        return None

    with monkeypatch.context() as patch:  # the background decoding held back
        patch.setattr(Runtime, "_decode_deferred", nothing)
        async with make() as again:
            lots = again._lots
            assert lots["L1"].deferred and lots["L2"].deferred and lots["L3"].deferred
            assert sorted(again.lot_ids()) == ["L1", "L2", "L3"]  # listed, not decoded
            assert again.summary("L1") == ("open", "S1") and lots["L1"].deferred
            assert again.lot("L1") == before["L1"] and not lots["L1"].deferred
            # The damaged one: unknown for a moment, then read again and replayed.
            assert again.lot("L2") is None and lots["L2"].broken
            assert await again.find("L2") == before["L2"] == replay(
                r.event for r in history["L2"])
            await bid_on(again, "L2", 1)
            assert (await again.history("L2"))[:-1] == history["L2"]
            # A command the first to touch a damaged one: it is read again first.
            top = before["L3"]
            assert top is not None and top.best is not None
            bid = await again.execute("L3", PlaceBid(
                bidder_id="B1" if top.leader == "B0" else "B0", amount=top.best + 1000))
            assert isinstance(bid, list) and bid[0].seq == len(history["L3"]) + 1, bid
            assert (await again.history("L3"))[:-1] == history["L3"]
            assert again.lot("L3") == replay(r.event for r in await again.history("L3"))
    async with make() as third:  # decoded in the background, without being asked
        async with asyncio.timeout(5):
            while any(lot.deferred for lot in third._lots.values()):
                await asyncio.sleep(0.01)
        assert third.lot("L1") == before["L1"]


async def test_an_embedded_start_arms_deadlines_from_the_snapshots_and_decodes_no_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded backend arms every live lot's deadline at start: from its snapshot,
    which keeps the state's next deadline, so arming decodes nothing (a start of many
    live lots decodes none of them); a snapshot stored before snapshots kept it is decoded
    at start, as before. A deadline that passed while no process ran fires at once."""
    clock = Clock()
    lot_ids = ("L1", "L2", "L3")
    async with EmbeddedEngine(tmp_path, clock) as engine:
        for lot_id in lot_ids:
            await open_lot(engine, lot_id)
            await bid_on(engine, lot_id, 2)
        before = {lot_id: engine.lot(lot_id) for lot_id in lot_ids}
        deadlines = {lot_id: engine._lots[lot_id].deadline for lot_id in lot_ids}
    assert all(deadlines.values()), deadlines
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:  # L2's snapshot as one stored before snapshots kept the deadline
        assert conn.execute("UPDATE snapshots SET deadline = -1 WHERE lot_id = 'L2'").rowcount
    conn.close()

    async def nothing(self: Runtime) -> None:
        return None

    with monkeypatch.context() as patch:  # the background decoding held back
        patch.setattr(Runtime, "_decode_deferred", nothing)
        async with EmbeddedEngine(tmp_path, clock) as again:
            lots = again._lots
            assert lots["L1"].deferred and lots["L3"].deferred and not lots["L2"].deferred
            assert {lot_id: lots[lot_id].deadline for lot_id in lot_ids} == deadlines
            assert all(lots[lot_id].timer is not None for lot_id in lot_ids)
            assert lots["L1"].deferred and again.lot("L1") == before["L1"]
            assert not lots["L1"].deferred
    clock.t = max(deadlines.values()) + 1  # every deadline passed while nothing ran
    async with EmbeddedEngine(tmp_path, clock) as third:
        async with asyncio.timeout(5):
            while any(third.summary(lot_id)[0] == "open" for lot_id in lot_ids):
                await asyncio.sleep(0.01)
        for lot_id in lot_ids:
            closed = await third.history(lot_id)
            assert type(closed[-1].event).__name__ in ("LotClosed", "LotAwarded"), closed[-1]


async def test_a_file_made_before_snapshots_kept_their_deadline_opens_and_decodes_at_start(
        tmp_path: Path) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        await open_lot(engine, "L1")
        await bid_on(engine, "L1", 2)
        before, deadline = engine.lot("L1"), engine._lots["L1"].deadline
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:
        conn.execute("ALTER TABLE snapshots DROP COLUMN deadline")
    conn.close()
    async with EmbeddedEngine(tmp_path, clock) as again:  # the column added, not known
        lot = again._lots["L1"]
        assert not lot.deferred and lot.deadline == deadline and lot.timer is not None
        assert again.lot("L1") == before
        await bid_on(again, "L1", 5)  # snapshots stored again keep it
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    with conn:
        kept = conn.execute("SELECT deadline FROM snapshots WHERE lot_id = 'L1'").fetchone()
    conn.close()
    assert kept == (deadline,)
