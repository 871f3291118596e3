"""Sessions closing serial or staggered, run by the engine on every backend (the lots of
a session are started and moved by the engine itself, recorded as the session's doing);
session modes survive a restart, and stores made before modes existed still load."""

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from auction.model import (
    ConfirmDeposit,
    CreateLot,
    LotOpened,
    PlaceBid,
    Rejection,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.state import LotState
from auction.verify import build_export, dumps, verify
from engine.api import Engine, EngineError
from engine.embedded import EmbeddedEngine

EngineFactory = Callable[..., Engine]
SECOND = 1000


class Clock:
    """A server clock the test moves by hand (ms)."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.t = now

    def __call__(self) -> int:
        return self.t


async def make_lot(engine: Engine, lot_id: str, session_id: str, params: dict[str, object],
                   *, start: bool) -> None:
    created = await engine.execute(lot_id, CreateLot(
        lot_id=lot_id, session_id=session_id, format="english", title=f"Land {lot_id}",
        params={"start_price": "100.00", "step": "10.00", "deposit": "50.00", **params},
        actor="host1"))
    assert not isinstance(created, Rejection), created
    for bidder_id in ("B0", "B1"):
        assert not isinstance(await engine.register_bidder(lot_id, bidder_id, "Co", "host1"),
                              Rejection)
        assert not isinstance(await engine.execute(lot_id, ConfirmDeposit(
            bidder_id=bidder_id, amount=5000, account="acct", actor="host1")), Rejection)
    assert not isinstance(await engine.execute(lot_id, ScheduleLot(actor="host1")), Rejection)
    if start:
        assert not isinstance(await engine.execute(lot_id, StartLot(actor="host1")), Rejection)


async def until(engine: Engine, lot_id: str, test: Callable[[LotState], bool]) -> LotState:
    """The lot's durable state once ``test`` holds (the coordinator works in the
    background; the state commands are decided on may run ahead of an append in
    flight)."""
    for _ in range(500):
        state = engine.read(lot_id)
        if state is not None and test(state):
            return state
        await asyncio.sleep(0.01)
    raise AssertionError(f"{lot_id}: {engine.lot(lot_id)}")


async def test_a_serial_session_starts_lot_2_when_lot_1_has_ended(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    t0 = clock.t
    async with engine_factory(clock) as engine:
        session = await engine.create_session("S1", "Land sale", "host1", "serial")
        assert (session.mode, session.stagger_s) == ("serial", 0)
        await make_lot(engine, "L1", "S1", {"duration_s": 60}, start=True)
        await make_lot(engine, "L2", "S1", {"duration_s": 60}, start=False)
        await make_lot(engine, "L3", "S1", {"duration_s": 60}, start=False)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        await asyncio.sleep(0.05)
        assert engine.lot("L2").status == "scheduled"  # type: ignore[union-attr]
        clock.t = t0 + 61 * SECOND
        await engine.execute("L1", Tick())
        assert engine.lot("L1").status == "awarded"  # type: ignore[union-attr]
        second = await until(engine, "L2", lambda s: s.status == "open")
        assert second.closes_at == clock.t + 60 * SECOND
        assert engine.lot("L3").status == "scheduled"  # type: ignore[union-attr]
        opened = [r.event for r in await engine.history("L2") if isinstance(r.event, LotOpened)]
        assert [e.actor for e in opened] == ["session:S1"]
        export = build_export(second, await engine.history("L2"), clock.t)
        assert verify(dumps(export)).ok
    async with engine_factory(clock) as engine:  # a restart keeps the mode and goes on
        assert [(s.session_id, s.mode) for s in engine.sessions()] == [("S1", "serial")]
        clock.t += 61 * SECOND
        await engine.execute("L2", Tick())
        await until(engine, "L3", lambda s: s.status == "open")


async def test_a_staggered_session_closes_lots_apart_and_moves_them_with_a_soft_close(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    t0 = clock.t
    closes = t0 + 60 * SECOND
    params = {"closes_at": closes, "extend_window_s": 10, "extend_s": 20}
    async with engine_factory(clock) as engine:
        await engine.create_session("S2", "Mines", "host1", "staggered", 1)
        for lot_id in ("M1", "M2", "M3"):
            await make_lot(engine, lot_id, "S2", params, start=True)
        await until(engine, "M3", lambda s: s.closes_at == closes + 2 * SECOND)
        assert engine.lot("M2").closes_at == closes + SECOND  # type: ignore[union-attr]
        assert engine.lot("M1").closes_at == closes  # type: ignore[union-attr]
        clock.t = t0 + 55 * SECOND
        await engine.execute("M1", PlaceBid(bidder_id="B0", amount=10000))
        assert engine.lot("M1").closes_at == t0 + 75 * SECOND  # type: ignore[union-attr]
        await until(engine, "M3", lambda s: s.closes_at == t0 + 77 * SECOND)
        assert engine.lot("M2").closes_at == t0 + 76 * SECOND  # type: ignore[union-attr]
        moves = [r.event for r in await engine.history("M2")
                 if type(r.event).__name__ == "CloseExtended"]
        assert {(e.actor, e.reason) for e in moves} == {("session:S2", "staggered")}
        state = engine.lot("M2")
        assert state is not None
        assert verify(dumps(build_export(state, await engine.history("M2"), clock.t))).ok


async def test_a_parallel_session_leaves_its_lots_alone(engine_factory: EngineFactory) -> None:
    clock = Clock()
    async with engine_factory(clock) as engine:
        session = await engine.create_session("S3", "Plain", "host1")
        assert (session.mode, session.stagger_s) == ("parallel", 0)
        await make_lot(engine, "P1", "S3", {"duration_s": 60}, start=True)
        await make_lot(engine, "P2", "S3", {"duration_s": 60}, start=False)
        clock.t += 61 * SECOND
        await engine.execute("P1", Tick())
        await asyncio.sleep(0.1)
        assert engine.lot("P2").status == "scheduled"  # type: ignore[union-attr]


async def test_an_sqlite_store_made_before_session_modes_still_loads(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "events.sqlite3")
    conn.executescript("""
        CREATE TABLE sessions (session_id TEXT PRIMARY KEY, name TEXT NOT NULL,
                               created_at INTEGER NOT NULL, created_by TEXT NOT NULL);
        INSERT INTO sessions VALUES ('OLD', 'old sale', 1, 'host1');
    """)
    conn.commit()
    conn.close()
    async with EmbeddedEngine(data) as engine:
        assert [(s.session_id, s.mode, s.stagger_s) for s in engine.sessions()] == [
            ("OLD", "parallel", 0)]
        await engine.create_session("NEW", "new sale", "host1", "staggered", 30)
    async with EmbeddedEngine(data) as engine:
        assert [(s.session_id, s.mode, s.stagger_s) for s in engine.sessions()] == [
            ("OLD", "parallel", 0), ("NEW", "staggered", 30)]


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_redis_session_stored_before_modes_still_loads(
        backend: str, request: pytest.FixtureRequest) -> None:
    from engine import redis_keys as keys
    from engine.redis_engine import RedisEngine
    redis_server = request.getfixturevalue("redis_server")
    redis_server.flush()
    engine = RedisEngine(redis_server.url, None)
    await engine.log._redis.hset(keys.SESSIONS, "OLD", orjson.dumps({  # noqa: SLF001
        "session_id": "OLD", "name": "old", "created_at": 1, "created_by": "host1"}))
    async with engine:
        assert [(s.session_id, s.mode) for s in engine.sessions()] == [("OLD", "parallel")]


async def test_a_session_created_by_one_process_is_found_at_once_by_another(
        request: pytest.FixtureRequest) -> None:
    """Behind a load balancer a host's next request (creating a lot in the new session)
    may reach another process: it must find the session without waiting for its poll."""
    from engine.redis_engine import RedisEngine
    redis_server = request.getfixturevalue("redis_server")
    redis_server.flush()
    async with RedisEngine(redis_server.url, None) as a, RedisEngine(redis_server.url, None) as b:
        await a.create_session("S-ONE", "morning", "host1", "serial")
        found = await b.session("S-ONE")
        assert found is not None and (found.name, found.mode) == ("morning", "serial")
        assert await b.session("S-NONE") is None
        assert [s.session_id for s in b.sessions()] == ["S-ONE"]


async def test_a_session_whose_settling_fails_is_settled_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A failure while settling (the store unreadable for a moment, or anything else)
    does not leave a serial session's next lot waiting for a commit that never comes."""
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock=clock) as engine:
        await engine.create_session("S1", "Land sale", "host1", "serial")
        await make_lot(engine, "L1", "S1", {"duration_s": 60}, start=True)
        await make_lot(engine, "L2", "S1", {"duration_s": 60}, start=False)
        failures = [RuntimeError("the listing failed"), EngineError("store unavailable")]
        listing = engine.lots

        async def lots(**options: object) -> object:
            if failures:
                raise failures.pop()
            return await listing(**options)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "lots", lots)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        clock.t += 61 * SECOND
        await engine.execute("L1", Tick())
        assert engine.lot("L1").status == "awarded"  # type: ignore[union-attr]
        await until(engine, "L2", lambda s: s.status == "open")
        assert not failures
        assert "session S1 not settled: store unavailable; again in 0.5 s" in caplog.text
        assert "session S1 not settled; again in 1 s" in caplog.text
