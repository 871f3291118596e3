"""Faults, as bidders see them: Redis dies (clear ``unavailable`` answers, nothing
acknowledged that is not durable), Postgres is unreachable (bidding goes on; the record
catches up), the server's wall clock jumps (no bid at or after the close, no lot
un-closed, deadlines still fire), and a client comes back after a long gap (everything
after its last sequence number, once, in order)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from clock import Clock
from services import PostgresServer, RedisServer
from web_support import DEFAULT_PARAMS, Client, Server, ServerFactory

from auction.lot import replay
from auction.model import (
    BidAccepted,
    ConfirmDeposit,
    CreateLot,
    LotClosed,
    PlaceBid,
    RegisterBidder,
    Rejection,
    ScheduleLot,
    StartLot,
)
from engine.api import Engine
from engine.embedded import EmbeddedEngine
from engine.redis_engine import RedisEngine

# ------------------------------------------------------------------------ Redis


async def bid_until(client: Client, lot_id: str, amounts: list[int], acked: dict[int, str],
                    stop: asyncio.Event) -> list[str]:
    """Bid ``amounts`` (minor units) in turn until ``stop``; record every ack's
    ``seq -> amount``; return the codes of the other answers."""
    other: list[str] = []
    for i, amount in enumerate(amounts):
        if stop.is_set():
            break
        reply = await client.bid(lot_id, f"{amount // 100}.{amount % 100:02d}", f"r{i}")
        if reply["type"] == "ack":
            acked[reply["seq"]] = reply["amount"]
        else:
            other.append(reply["code"])
    return other


@pytest.mark.slow
async def test_redis_dying_gives_bidders_unavailable_and_loses_no_acknowledged_bid(
        make_server: ServerFactory, redis_server: RedisServer) -> None:
    # (the bidding war runs as fast as acknowledged: no limit of the edge may refuse it)
    server = await make_server(engine=RedisEngine(redis_server.url, None), bid_rate=1e4,
                               bid_burst=10_000, address_rate=1e6, address_burst=10**6)
    lot_id, tokens = await server.open_lot(bidders=2, max_jump_steps=0)  # "999990.00" below
    bidders = [await server.connect() for _ in tokens]
    for client, token in zip(bidders, tokens, strict=True):
        await client.subscribe(lot_id, token, after_seq=None)
    acked: dict[int, str] = {}
    codes: list[str] = []
    stop = asyncio.Event()

    async def war() -> None:
        amount = 10_000
        while not stop.is_set():
            for client in bidders:
                reply = await client.bid(lot_id, f"{amount // 100}.00", f"r{amount}")
                if reply["type"] == "ack":
                    acked[reply["seq"]] = reply["amount"]
                    amount += 1_000
                else:
                    codes.append(reply.get("code", reply["type"]))
                    await asyncio.sleep(0.01)

    fighting = asyncio.create_task(war())
    try:
        await asyncio.sleep(0.5)
        assert len(acked) > 10
        redis_server.kill()  # SIGKILL in the middle of the bidding
        async with asyncio.timeout(15):
            while "unavailable" not in codes:
                await asyncio.sleep(0.02)
        status, data = await server.call("POST", f"/api/lots/{lot_id}/pause", {"reason": "r"})
        assert status == 503 and data["error"]["code"] == "unavailable"
        for client in bidders:  # the sockets stay open and answer
            await client.send({"type": "ping", "client_time": 1})
        stop.set()
        await asyncio.wait_for(fighting, 20)
    finally:
        stop.set()
        fighting.cancel()
    assert set(codes) <= {"unavailable", "not_improving", "already_leading"}, set(codes)
    rejected = await bidders[0].bid(lot_id, "999990.00", "down")
    assert rejected["type"] == "rejected" and rejected["code"] == "unavailable"
    assert rejected["message"]["zh"] and rejected["message"]["en"]
    redis_server.start()  # same port, same append-only file
    async with asyncio.timeout(20):  # bidding resumes once Redis is back
        for turn in itertools.count():
            reply = await bidders[turn % 2].bid(lot_id, "999990.00", "back")
            if reply["type"] == "ack":
                acked[reply["seq"]] = reply["amount"]
                break
            assert reply["code"] in ("unavailable", "already_leading"), reply
            await asyncio.sleep(0.1)
    reader = RedisEngine(redis_server.url, None)  # what is durable, seen by a fresh process
    await reader.start()
    try:
        durable = {r.seq: r.event for r in await reader.history(lot_id)}
    finally:
        await reader.close()
    for seq, amount in acked.items():  # every acknowledged bid is durable, as acknowledged
        event = durable.get(seq)
        assert isinstance(event, BidAccepted), (seq, event)
        assert f"{event.amount // 100}.{event.amount % 100:02d}" == amount


@pytest.mark.slow
async def test_postgres_unreachable_bidding_goes_on_and_the_record_catches_up(
        make_server: ServerFactory, redis_server: RedisServer, tmp_path: Path) -> None:
    postgres = PostgresServer()
    postgres.init()  # not started: nothing listens on its port yet
    try:
        engine = RedisEngine(redis_server.url, postgres.dsn())
        server = await make_server(engine=engine)
        lot_id, tokens = await server.open_lot()
        client = await server.connect()
        await client.subscribe(lot_id, tokens[0], after_seq=None)
        rival = await server.connect()
        await rival.subscribe(lot_id, tokens[1], after_seq=None)
        started = time.monotonic()
        for i in range(20):
            reply = await (client, rival)[i % 2].bid(lot_id, f"{100 + 10 * i}.00", f"r{i}")
            assert reply["type"] == "ack", reply
        assert time.monotonic() - started < 5  # acknowledged without waiting for Postgres
        status, data = await server.call("GET", f"/api/lots/{lot_id}/events", token=None)
        assert status == 401  # (the record routes stay staff-only whatever the outage)
        postgres.start()
        async with asyncio.timeout(30):
            while True:
                try:
                    recorded = await engine.record(lot_id)
                except Exception:  # noqa: BLE001 - still connecting
                    recorded = []
                if len(recorded) == server.seq(lot_id):
                    break
                await asyncio.sleep(0.25)
        assert [r.hash for r in recorded] == [r.hash for r in await engine.history(lot_id)]
    finally:
        postgres.remove()


# ------------------------------------------------------------------------ clock jumps


async def clock_server(make_server: ServerFactory, clock: Clock, **params: Any
                       ) -> tuple[Server, str, list[Client]]:
    server = await make_server(clock=clock)
    lot_id, tokens = await server.open_lot(**params)
    clients = []
    for token in tokens:
        client = await server.connect()
        await client.subscribe(lot_id, token, after_seq=None)
        clients.append(client)
    return server, lot_id, clients


async def wait_status(server: Server, lot_id: str, statuses: set[str],
                      timeout: float = 5.0) -> float:
    """Wait until the lot's *durable* state has one of ``statuses`` (the live state runs
    ahead of the record while a commit is in flight); the seconds it took."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while True:
            history = await server.engine.history(lot_id)
            state = replay(r.event for r in history)
            if state is not None and state.status in statuses:
                return time.monotonic() - started
            await asyncio.sleep(0.02)


def assert_record_sane(server: Server, lot_id: str, history: list[Any]) -> None:
    """Event times never go back; no bid at or after the close instant."""
    ats = [r.event.at for r in history]
    assert ats == sorted(ats), "event times went backwards"
    state = server.engine.lot(lot_id)
    assert state is not None
    closed = [r.event for r in history if isinstance(r.event, LotClosed)]
    for event in closed:
        assert all(r.event.at < event.closes_at for r in history
                   if isinstance(r.event, BidAccepted))


async def test_a_forward_jump_past_the_close_refuses_bids_and_closes_the_lot_at_once(
        make_server: ServerFactory) -> None:
    clock = Clock()
    server, lot_id, (one, two) = await clock_server(make_server, clock, duration_s=600)
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    clock.jump(700_000)  # the close was 10 minutes away; now it is 100 s past
    late = await two.bid(lot_id, "110.00")
    assert late["type"] == "rejected" and late["code"] == "closed"
    waited = await wait_status(server, lot_id, {"awarded"})  # not 10 minutes later
    assert waited < 3
    history = await server.engine.history(lot_id)
    assert_record_sane(server, lot_id, history)
    assert (await two.bid(lot_id, "120.00"))["code"] == "closed"


async def test_a_backward_jump_after_the_close_never_reopens_the_lot(
        make_server: ServerFactory) -> None:
    clock = Clock()
    server, lot_id, (one, two) = await clock_server(make_server, clock, duration_s=1)
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    await wait_status(server, lot_id, {"awarded"})
    clock.jump(-3_600_000)  # an hour back: before the lot even opened
    for client, amount in ((two, "110.00"), (one, "120.00")):
        reply = await client.bid(lot_id, amount)
        assert reply["type"] == "rejected" and reply["code"] == "closed"
    server.engine.fire_soon(lot_id)  # a deadline firing again decides nothing
    await asyncio.sleep(0.2)
    state = server.engine.lot(lot_id)
    assert state is not None and state.status == "awarded" and state.outcome is not None
    assert_record_sane(server, lot_id, await server.engine.history(lot_id))


async def open_english(engine: Engine, lot_id: str, **params: Any) -> None:
    """An open english lot with eligible bidders b1 and b2, straight on the engine."""
    commands: list[Any] = [CreateLot(lot_id=lot_id, session_id="S1", format="english",
                                     title="t", params={**DEFAULT_PARAMS, **params},
                                     actor="alice")]
    for bidder in ("b1", "b2"):
        commands += [RegisterBidder(bidder_id=bidder, bidder_no=f"1{bidder[1]}00", name="n",
                                    actor="alice"),
                     ConfirmDeposit(bidder_id=bidder, amount=5_000, account="a", actor="alice")]
    commands += [ScheduleLot(actor="alice"), StartLot(actor="alice")]
    for command in commands:
        assert not isinstance(await engine.execute(lot_id, command), Rejection)


async def test_a_clock_that_jumps_forward_then_back_cannot_undo_a_closed_answer(
        tmp_path: Path) -> None:
    """The engine's clock never goes back: once a bid was refused as ``closed`` (the close
    instant had come, even if the close timer had not fired yet), no later bid is judged
    at an earlier instant."""
    clock = Clock()
    clock.frozen = 1_900_000_000_000
    engine = EmbeddedEngine(tmp_path / "data", clock)
    await engine.start()
    try:
        await open_english(engine, "L1", duration_s=60)
        clock.jump(61_000)  # past the close, before any timer could fire
        refused = await engine.execute("L1", PlaceBid(bidder_id="b1", amount=10_000))
        assert isinstance(refused, Rejection) and refused.code == "closed"
        clock.jump(-30_000)  # the wall clock steps back into the lot's open time
        again = await engine.execute("L1", PlaceBid(bidder_id="b2", amount=10_000))
        assert isinstance(again, Rejection) and again.code == "closed"
        assert engine.now() == 1_900_000_061_000  # standing still, not going back
        clock.jump(40_000)
        assert engine.now() == 1_900_000_071_000  # and moving on again
    finally:
        await engine.close()


async def test_a_backward_jump_while_open_delays_the_close_and_the_deadline_still_fires(
        make_server: ServerFactory) -> None:
    clock = Clock()
    server, lot_id, (one, two) = await clock_server(make_server, clock, duration_s=2)
    closes_at = server.engine.lot(lot_id).closes_at  # type: ignore[union-attr]
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    clock.jump(-1_000)  # one second back: the engine's time stands still for a second
    assert (await two.bid(lot_id, "110.00"))["type"] == "ack"
    await wait_status(server, lot_id, {"awarded"}, timeout=8)
    history = await server.engine.history(lot_id)
    closed = next(r.event for r in history if isinstance(r.event, LotClosed))
    assert closed.closes_at == closes_at and closed.at >= closes_at
    assert_record_sane(server, lot_id, history)
    assert (await one.bid(lot_id, "120.00"))["code"] == "closed"


# ------------------------------------------------------------------------ a long gap


@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_a_client_back_after_a_long_gap_gets_everything_after_its_seq_once_in_order(
        make_server: ServerFactory, tmp_path: Path, backend: str) -> None:
    engine = None
    if backend == "redis":
        redis = RedisServer(tmp_path / "redis")
        redis.start()
        engine = RedisEngine(redis.url, None)
    try:
        server = await make_server(engine=engine)
        lot_id, tokens = await server.open_lot()
        watcher = await server.connect()
        first = await watcher.subscribe(lot_id)
        last_seen = first["events"][-1]["seq"]
        await watcher.close()  # gone for a long while
        n = 2_400 if backend == "embedded" else 1_200
        for i in range(n):  # many events later: the catch-up takes several frames
            result = await server.engine.execute(lot_id, PlaceBid(
                bidder_id=f"b{i % 2 + 1}", amount=10_000 + 1_000 * i))
            assert isinstance(result, list), result
        live = asyncio.Event()

        async def keep_bidding() -> None:  # and the room does not wait for it
            for i in range(n, n + 50):
                await server.engine.execute(lot_id, PlaceBid(bidder_id=f"b{i % 2 + 1}",
                                                             amount=10_000 + 1_000 * i))
                await asyncio.sleep(0.002)
            live.set()

        final = server.seq(lot_id) + 50
        back = await server.connect()
        bidding = asyncio.create_task(keep_bidding())
        await back.send({"type": "subscribe", "lot_id": lot_id, "after_seq": last_seen})
        assert (await back.recv())["type"] == "subscribed"
        seqs: list[int] = []
        frames = 0
        async with asyncio.timeout(30):
            while not seqs or seqs[-1] < final:
                msg = await back.recv()
                if msg["type"] == "update":
                    frames += 1
                    seqs.extend(e["seq"] for e in msg["events"])
        await bidding
        assert live.is_set() and server.seq(lot_id) == final
        assert seqs == list(range(last_seen + 1, final + 1))  # once, in order
        assert frames > 4
        await back.quiet(0.2)
    finally:
        if backend == "redis":
            redis.kill()
