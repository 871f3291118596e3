"""One unreadable lot never stops the others: ``auction serve`` (a real process, on both
backends) starts on a record where one lot holds an event it cannot decode, serves and
takes bids on every other lot, and answers ``quarantined`` for that one."""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
from lotplay import setup_lot
from services import PostgresServer, RedisServer
from websockets.asyncio.client import connect

from auction.record import chain, encode_event
from engine import redis_keys as keys
from helpers import ServerProcess
from web.client import LotClient

pytestmark = pytest.mark.slow


def forged_bid(lot_id: str, seq: int, prev_hash: str) -> tuple[str, str]:
    """A BidAccepted of 2^64 minor units whose chain holds: what a bidder could have
    recorded before money had its maximum."""
    body = encode_event({"type": "BidAccepted", "at": 1, "actor": "1234", "bidder_id": "co0",
                         "bidder_no": "1234", "amount": 2**64, "ip": "", "device": "",
                         "ref": "r"})
    return body, chain(prev_hash, lot_id, seq, body)


def poison_sqlite(data_dir: str, lot_id: str) -> None:
    with sqlite3.connect(Path(data_dir) / "events.sqlite3") as db:
        seq, digest = db.execute("SELECT seq, hash FROM events WHERE lot_id = ? "
                                 "ORDER BY seq DESC LIMIT 1", (lot_id,)).fetchone()
        body, new_hash = forged_bid(lot_id, seq + 1, digest)
        db.execute("INSERT INTO events (lot_id, seq, at, type, body, hash) "
                   "VALUES (?, ?, 1, 'BidAccepted', ?, ?)", (lot_id, seq + 1, body, new_hash))


async def poison_redis(url: str, lot_id: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        meta = await client.hgetall(keys.meta(lot_id))
        seq = int(meta[b"seq"]) + 1
        body, digest = forged_bid(lot_id, seq, meta[b"hash"].decode())
        await client.xadd(keys.events(lot_id), {"b": body, "h": digest}, id=f"{seq}-0")
        await client.hset(keys.meta(lot_id), mapping={"seq": seq, "hash": digest})
    finally:
        await client.aclose()


async def check_serving(server: ServerProcess, good: str, good_token: str, bad: str) -> None:
    host = {"Authorization": f"Bearer {server.HOST_TOKEN}"}
    supervisor = {"Authorization": f"Bearer {server.SUPERVISOR_TOKEN}"}
    async with aiohttp.ClientSession(base_url=server.base) as http:
        async with http.get(f"/api/lots/{good}") as resp:
            assert resp.status == 200
        async with http.get("/api/lots") as resp:
            assert [lot["lot_id"] for lot in (await resp.json())["lots"]] == [good]
        # Ready once its stores answer (the Postgres record connects in the background
        # after the start), with the quarantined lot listed, not counted against it.
        async with asyncio.timeout(30):
            while True:
                async with http.get("/readyz") as resp:
                    ready: Any = await resp.json()
                    assert list(ready["quarantined"]) == [bad], ready
                    if resp.status == 200:
                        break
                    assert set(ready["reasons"]) <= {"postgres", "postgres_lag"}, ready
                await asyncio.sleep(0.2)
            assert "amount has the wrong type" in ready["quarantined"][bad]
        for path in (f"/api/lots/{bad}", f"/api/lots/{bad}/events",
                     f"/api/lots/{bad}/report"):
            async with http.get(path, headers=supervisor) as resp:
                body: Any = await resp.json()
                assert resp.status == 503, (path, body)
                assert body["error"]["code"] == "quarantined"
                assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
                assert "amount has the wrong type" in body["error"]["detail"]
        async with http.post(f"/api/lots/{bad}/pause", json={"reason": "check"},
                             headers=host) as resp:
            assert resp.status == 503
            assert (await resp.json())["error"]["code"] == "quarantined"
    # A bidder of the other lot bids over WebSocket and is acknowledged.
    client = LotClient(server.ws_url, good, good_token)
    await client.connect()
    try:
        await client.wait_for(lambda c: c.state.get("status") == "open", timeout=10)
        ack = await client.bid(client.state["next_min"], timeout=10)
        assert ack["type"] == "ack", ack
    finally:
        await client.close()
    async with connect(server.ws_url) as ws:
        assert orjson.loads(await ws.recv())["type"] == "welcome"
        await ws.send(orjson.dumps({"type": "subscribe", "lot_id": bad}).decode())
        reply = orjson.loads(await ws.recv())
        assert reply["type"] == "error" and reply["code"] == "quarantined", reply


def logged_error(server: ServerProcess, lot_id: str) -> bool:
    text = server.output()
    return any("ERROR" in line and lot_id in line and "quarantined" in line
               for line in text.splitlines())


async def serves_all_but_the_poisoned_lot(server: ServerProcess,
                                          poison: Callable[[str], Awaitable[None]]) -> None:
    """Two lots on ``server``; after a stop, ``poison`` makes one unreadable in the store;
    the restarted process serves the other and sets that one apart, logging it."""
    await server.start()
    try:
        good, tokens = await setup_lot(server, duration_s=600, bidders=2)
        bad, _ = await setup_lot(server, duration_s=600, bidders=2)
    finally:
        assert server.stop() == 0
    await poison(bad)
    await server.start()
    try:
        await check_serving(server, good, tokens[0], bad)
        assert server.proc is not None and server.proc.poll() is None
    finally:
        assert server.stop() == 0
    assert logged_error(server, bad)


async def test_the_embedded_server_starts_and_serves_every_lot_but_the_unreadable_one(
        tmp_path: Path) -> None:
    async def poison(lot_id: str) -> None:
        poison_sqlite(str(tmp_path), lot_id)

    await serves_all_but_the_poisoned_lot(ServerProcess(str(tmp_path)), poison)


async def test_the_scale_out_server_starts_and_serves_every_lot_but_the_unreadable_one(
        tmp_path: Path, redis_server: RedisServer, postgres_server: PostgresServer) -> None:
    redis_server.flush()
    dsn = postgres_server.create_database("quarantine_serve")
    env = {"AUCTION_REDIS_URL": redis_server.url, "AUCTION_POSTGRES_DSN": dsn}

    async def poison(lot_id: str) -> None:
        await poison_redis(redis_server.url, lot_id)

    await serves_all_but_the_poisoned_lot(ServerProcess(str(tmp_path), extra_env=env),
                                          poison)
