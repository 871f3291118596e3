"""A deadline that falls due while the lot's batch is being made durable is decided right
away, on the state after that batch, and published and answered after it. Embedded: a
failed write fails both, and nothing after it is written. Redis: a failed append sends
the close back to the queue, decided again. The writes are held on a real SQLite file and
a real Redis to make the timing happen."""

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from services import RedisServer
from test_contract import Clock, open_lot

from auction.model import PlaceBid, Rejection, Tick
from auction.record import Recorded, event_to_dict, verify_chain
from auction.state import LotState
from engine.api import Engine, EngineError
from engine.embedded import EmbeddedEngine
from engine.eventlog import AppendFailed, Row
from engine.logs.sqlite import SQLiteLog
from engine.redis_engine import RedisEngine
from engine.snapshots import encode_state


class HeldWrites:
    """Holds the store's next write until released (then it is written, or fails)."""

    def __init__(self, store: SQLiteLog, fail: bool = False) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.real: Callable[..., None] = store._write
        self.fail = fail
        self.written: list[list[int]] = []

    def __call__(self, rows: list[Row], *snapshots: object) -> None:
        self.entered.set()
        assert self.release.wait(10)
        if self.fail:  # this write only: a store that went on would write the next
            self.fail = False
            raise sqlite3.OperationalError("disk I/O error")
        self.real(rows, *snapshots)
        self.written.append([r.seq for r in rows])

    async def wait_entered(self) -> None:
        async with asyncio.timeout(5):
            while not self.entered.is_set():
                await asyncio.sleep(0.005)


def names(records: list[Recorded]) -> list[str]:
    return [type(r.event).__name__ for r in records]


def file_seqs(data: Path, lot_id: str) -> list[int]:
    conn = sqlite3.connect(data / "events.sqlite3")
    try:
        return [s for (s,) in conn.execute(
            "SELECT seq FROM events WHERE lot_id = ? ORDER BY seq", (lot_id,))]
    finally:
        conn.close()


async def closing_lot(engine: Engine) -> tuple[int, int]:
    """Open lot L1; its close instant and its version."""
    await open_lot(engine)
    state = engine.lot("L1")
    assert state is not None and state.closes_at is not None
    return state.closes_at, state.version


async def bid_in_flight(engine: Engine, clock: Clock, closes_at: int,
                        held: "HeldWrites | HeldAppends") -> "asyncio.Future[Any]":
    """B0 bids 5 ms before the close; return once the bid's write is held."""
    clock.t = closes_at - 5
    bid = asyncio.ensure_future(engine.execute("L1", PlaceBid(bidder_id="B0",
                                                              amount=10000)))
    await held.wait_entered()
    return bid


async def test_a_deadline_due_while_a_bid_is_stored_is_sequenced_when_due_and_published_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        closes_at, opened = await closing_lot(engine)
        commits: list[tuple[str, list[str]]] = []

        def listener(state: LotState, records: list[Recorded]) -> None:
            if records:  # not the call made on subscribing
                commits.append((state.status, names(records)))
        await engine.subscribe("L1", listener, after_seq=opened)

        held = HeldWrites(engine.log)
        monkeypatch.setattr(engine.log, "_write", held)
        bid = await bid_in_flight(engine, clock, closes_at, held)  # decided, being written
        clock.t = closes_at + 3
        engine.fire_soon("L1")  # what the lot's timer does when the deadline is due
        await asyncio.sleep(0.05)
        assert not bid.done() and commits == []  # nothing is published before it is durable
        clock.t = closes_at + 500  # the write takes long
        held.release.set()
        result = await bid
        assert isinstance(result, list) and names(result) == ["BidAccepted"]
        async with asyncio.timeout(5):
            while len(commits) < 2:
                await asyncio.sleep(0.005)
        history = await engine.history("L1")

    # The close was sequenced when it fell due, not when the bid's write returned.
    closed = next(r for r in history if names([r]) == ["LotClosed"])
    assert closed.event.at == closes_at + 3
    assert closed.seq == result[-1].seq + 1
    # Published in order: the bid's commit with the state after it, then the close.
    assert commits[0] == ("open", ["BidAccepted"])
    assert commits[1][1][0] == "LotClosed" and commits[1][0] != "open"
    assert names(history)[-len(commits[1][1]):] == commits[1][1]
    verify_chain("L1", ((r.seq, event_to_dict(r.event), r.hash) for r in history))
    assert file_seqs(tmp_path, "L1") == [r.seq for r in history]
    async with EmbeddedEngine(tmp_path, clock) as again:
        recovered = await again.find("L1")  # ended: read from the store
        assert recovered is not None
        assert (recovered.version, recovered.status) == (history[-1].seq, commits[1][0])


async def test_a_failed_write_fails_the_close_decided_behind_it_and_nothing_more_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        closes_at, durable = await closing_lot(engine)
        held = HeldWrites(engine.log, fail=True)
        monkeypatch.setattr(engine.log, "_write", held)
        bid = await bid_in_flight(engine, clock, closes_at, held)
        clock.t = closes_at + 3
        tick = asyncio.ensure_future(engine.execute("L1", Tick()))
        await asyncio.sleep(0.05)
        held.release.set()
        with pytest.raises(EngineError, match="not stored"):
            await bid
        with pytest.raises(EngineError, match="not stored"):
            await tick
        with pytest.raises(EngineError, match="stopped after a store failure"):
            await engine.execute("L1", PlaceBid(bidder_id="B1", amount=11000))
        assert held.written == []
        with pytest.raises(AppendFailed, match="stopped after a failed write"):
            await engine.log.append("L1", durable, [])
    assert file_seqs(tmp_path, "L1")[-1] == durable  # neither the bid nor the close
    clock.t = closes_at - 5  # a restart before the deadline: the lot goes on from there
    async with EmbeddedEngine(tmp_path, clock) as again:
        recovered = again.lot("L1")
        assert recovered is not None and recovered.version == durable
        result = await again.execute("L1", PlaceBid(bidder_id="B1", amount=10000))
        assert not isinstance(result, Rejection) and result[0].seq == durable + 1


class HeldAppends:
    """Holds the Redis engine's next append script call until released."""

    def __init__(self, engine: RedisEngine, fail: bool = False) -> None:
        self.real = engine.log._append
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.fail = fail
        self.calls = 0

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            await asyncio.wait_for(self.release.wait(), 10)
            if self.fail:
                raise ConnectionError("connection to redis lost")
        return await self.real(**kwargs)

    async def wait_entered(self) -> None:
        await asyncio.wait_for(self.entered.wait(), 5)


async def appending_bid(engine: RedisEngine, clock: Clock, monkeypatch: pytest.MonkeyPatch
                        ) -> tuple[int, int, HeldAppends, "asyncio.Future[Any]"]:
    """Open lot L1 (its close instant and version); B0's bid 5 ms before the close, its
    append held (the hold and the bid's future)."""
    closes_at, version = await closing_lot(engine)
    held = HeldAppends(engine)
    monkeypatch.setattr(engine.log, "_append", held)
    return closes_at, version, held, await bid_in_flight(engine, clock, closes_at, held)


async def test_on_redis_a_deadline_due_while_a_bid_is_appended_is_sequenced_when_due(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    redis_server.flush()
    clock = Clock()
    async with RedisEngine(redis_server.url, None, clock) as engine:
        closes_at, _, held, bid = await appending_bid(engine, clock, monkeypatch)
        clock.t = closes_at + 3
        engine.fire_soon("L1")
        await asyncio.sleep(0.05)
        assert not bid.done()
        clock.t = closes_at + 500
        held.release.set()
        result = await bid
        assert isinstance(result, list) and names(result) == ["BidAccepted"]
        async with asyncio.timeout(5):
            while "LotClosed" not in names(await engine.history("L1")):
                await asyncio.sleep(0.01)
        history = await engine.history("L1")
    closed = next(r for r in history if names([r]) == ["LotClosed"])
    assert (closed.event.at, closed.seq) == (closes_at + 3, result[-1].seq + 1)
    verify_chain("L1", ((r.seq, event_to_dict(r.event), r.hash) for r in history))
    async with RedisEngine(redis_server.url, None, clock) as again:  # what Redis holds
        assert [r.hash for r in await again.history("L1")] == [r.hash for r in history]


async def test_on_redis_a_close_decided_behind_a_failed_append_is_decided_again(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    redis_server.flush()
    clock = Clock()
    async with RedisEngine(redis_server.url, None, clock) as engine:
        closes_at, durable = await closing_lot(engine)
        held = HeldAppends(engine, fail=True)
        monkeypatch.setattr(engine.log, "_append", held)
        bid = await bid_in_flight(engine, clock, closes_at, held)
        clock.t = closes_at + 3
        tick = asyncio.ensure_future(engine.execute("L1", Tick()))
        await asyncio.sleep(0.05)
        clock.t = closes_at + 40
        held.release.set()
        with pytest.raises(EngineError, match="redis unavailable"):
            await bid
        closing = await tick  # back in the queue, decided again after the failure
        assert isinstance(closing, list) and names(closing)[0] == "LotClosed"
        history = await engine.history("L1")
    # Nothing of the failed append exists; the close came next, decided when retried.
    assert [r.seq for r in history] == list(range(1, len(history) + 1))
    assert names(history)[durable] == "LotClosed"
    assert history[durable].event.at == closes_at + 40
    assert "BidAccepted" not in names(history)


def bids_of(state: LotState | None) -> int:
    assert state is not None
    return sum(bidder.bids for bidder in state.bidders.values())


async def readers_see(engine: Engine, bids: int, listing: bool = True) -> None:
    """Every read of lot L1 a reader is shown (in memory, found, and ``listing``: listed)
    holds ``bids`` bids."""
    seen = [bids_of(engine.read("L1")), bids_of(await engine.find("L1"))]
    if listing:
        listed, _ = await engine.lots()
        seen.append(bids_of(listed[0]))
    assert seen == [bids] * len(seen)


async def test_readers_are_shown_the_durable_state_never_a_batch_being_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        closes_at, durable = await closing_lot(engine)
        held = HeldWrites(engine.log)
        monkeypatch.setattr(engine.log, "_write", held)
        bid = await bid_in_flight(engine, clock, closes_at, held)
        # The bid is decided (the next command is decided after it), not durable.
        tip = engine.lot("L1")
        assert tip is not None and (tip.version, bids_of(tip)) == (durable + 1, 1)
        await readers_see(engine, 0, listing=False)  # (the file's listing waits for it)
        kept = engine.read("L1")
        assert kept is engine.read("L1") and kept is not tip  # folded again once, not per read
        assert kept.version == durable  # type: ignore[union-attr]
        held.release.set()
        assert not isinstance(await bid, Rejection)
        await readers_see(engine, 1)
        assert engine.read("L1") is engine.lot("L1")
        # The next bid being written: the copy kept for readers takes in the one landed.
        held = HeldWrites(engine.log)
        monkeypatch.setattr(engine.log, "_write", held)
        clock.t = closes_at - 4
        second = asyncio.ensure_future(engine.execute("L1", PlaceBid(bidder_id="B1",
                                                                     amount=11000)))
        await held.wait_entered()
        assert bids_of(engine.lot("L1")) == 2
        await readers_see(engine, 1, listing=False)
        assert engine.read("L1") is kept
        assert encode_state(kept) == encode_state(engine._lots["L1"].durable())  # type: ignore[arg-type]
        held.release.set()
        assert not isinstance(await second, Rejection)
        await readers_see(engine, 2)


async def test_on_redis_readers_are_shown_the_durable_state_never_an_append_in_flight(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    redis_server.flush()
    clock = Clock()
    async with RedisEngine(redis_server.url, None, clock) as engine:
        _, _, held, bid = await appending_bid(engine, clock, monkeypatch)
        assert bids_of(engine.lot("L1")) == 1
        await readers_see(engine, 0)
        held.release.set()
        assert not isinstance(await bid, Rejection)
        await readers_see(engine, 1)
