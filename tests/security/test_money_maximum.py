"""A hostile amount never reaches the record (#12): bids above the money maximum (2**64
minor units and more) are refused with invalid_amount on both backends, the record stays
readable, and a fresh process starts on the same store and serves the lot on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import websockets
from services import RedisServer
from web_support import HOST_TOKEN, Server, ServerFactory

from auction.record import verify_chain
from engine.api import Engine
from engine.embedded import EmbeddedEngine
from engine.redis_engine import RedisEngine
from helpers import ServerProcess

HOSTILE = ["184467440737095520.00", "999999999999999990.00", "1000000000000000.00"]
TOP = "999999999999990.00"


def _engine(backend: str, tmp_path: Path, redis: RedisServer | None) -> Engine:
    if backend == "embedded":
        return EmbeddedEngine(tmp_path / "store")
    assert redis is not None
    return RedisEngine(redis.url, None)


@pytest.fixture(params=["embedded", "redis"])
def backend(request: pytest.FixtureRequest) -> tuple[str, RedisServer | None]:
    if request.param == "redis":
        return "redis", request.getfixturevalue("redis_server")
    return "embedded", None


async def _bids(server: Server, lot_id: str) -> list[str]:
    """The lot's accepted bids as the record answers them (its chain checked)."""
    events = await server.ok("GET", f"/api/lots/{lot_id}/events", token=HOST_TOKEN)
    verify_chain(lot_id, [(e["seq"], e["event"], e["hash"]) for e in events["events"]])
    bids = await server.ok("GET", f"/api/lots/{lot_id}/bids", token=HOST_TOKEN)
    return [b["amount"] for b in bids["bids"]]


async def test_a_bid_above_the_money_maximum_is_refused_and_the_server_restarts_on_its_store(
        make_server: ServerFactory, backend: tuple[str, RedisServer | None],
        tmp_path: Path) -> None:
    kind, redis = backend
    server = await make_server(engine=_engine(kind, tmp_path, redis))
    english, tokens = await server.open_lot(start_price="1000.00", step="10.00",
                                            max_jump_steps=0)
    client = await server.connect()
    await client.subscribe(english, tokens[0])
    seq = server.seq(english)
    for amount in [*HOSTILE, None, 1e20, 10**18]:
        rejected = await client.bid(english, amount, ref="hostile")
        assert rejected["type"] == "rejected" and rejected["code"] == "invalid_amount", (
            amount, rejected)
    assert server.seq(english) == seq
    # The largest grid price below the maximum is a bid like any other...
    ack = await client.bid(english, TOP, ref="top")
    assert ack["type"] == "ack" and ack["amount"] == TOP
    # ...after which nothing can improve: the lot shows no next price.
    other = await server.connect()
    update = await other.subscribe(english, tokens[1])
    assert update["state"]["next_min"] is None
    assert (await other.bid(english, "999999999999999.99"))["code"] == "not_improving"
    assert await _bids(server, english) == [TOP]
    for client_ in server.clients:
        await client_.close()
    server.clients.clear()
    await server.engine.close()

    # A fresh process on the same store reads every lot back and serves it on.
    again = await make_server(engine=_engine(kind, tmp_path, redis))
    state = again.engine.lot(english)
    assert state is not None and state.best == 99999999999999000
    assert await _bids(again, english) == [TOP]
    update = await (await again.connect()).subscribe(english, tokens[1])
    assert (update["state"]["best"], update["state"]["next_min"]) == (TOP, None)


@pytest.mark.parametrize("amount", [None, 100, 1e5, True, [], {}])
async def test_a_bid_or_act_whose_amount_is_not_a_string_gets_invalid_amount(
        server: Server, amount: Any) -> None:
    lot_id, tokens = await server.open_lot(proxy=True)
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    rejected = await client.bid(lot_id, amount, ref="bad")
    assert rejected["type"] == "rejected" and rejected["code"] == "invalid_amount", rejected
    await client.send({"type": "act", "lot_id": lot_id, "act": "proxy", "amount": amount,
                       "ref": "bad-act"})
    rejected = await client.next("rejected")
    assert rejected["code"] == "invalid_amount" and rejected["ref"] == "bad-act", rejected
    assert server.seq(lot_id) == seq


async def test_a_bid_without_an_amount_gets_invalid_amount(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    await client.send({"type": "bid", "lot_id": lot_id, "ref": "none"})
    rejected = await client.next("rejected")
    assert rejected["code"] == "invalid_amount" and rejected["ref"] == "none", rejected


@pytest.mark.parametrize("amount", [None, 5000, "1000000000000000.00"])
async def test_a_deposit_that_is_not_a_decimal_string_within_the_maximum_is_invalid_amount(
        server: Server, amount: Any) -> None:
    lot_id = await server.make_lot()
    await server.register(lot_id, "b1", deposit=False)
    status, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/b1/deposit",
                                     {"amount": amount, "account": "acct"})
    assert status == 400 and data["error"]["code"] == "invalid_amount", data


async def test_a_lot_parameter_above_the_money_maximum_is_refused_as_invalid_amount(
        server: Server) -> None:
    session = (await server.ok("POST", "/api/sessions", {"name": "s"}))["session_id"]
    status, data = await server.call("POST", "/api/lots", {
        "session_id": session, "title": "t", "format": "english",
        "params": {"start_price": "184467440737095520.00", "step": "10.00",
                   "duration_s": 600}})
    assert status == 400 and data["error"]["code"] == "invalid_amount", data
    assert "start_price" in data["error"]["detail"]


@pytest.mark.slow
async def test_auction_serve_starts_again_after_a_hostile_bid_and_serves_the_lot(
        tmp_path: Path) -> None:
    """#12: after such a bid `auction serve` exited 1 on its next start (RecordError)."""
    served = ServerProcess(str(tmp_path))
    auth = {"Authorization": f"Bearer {ServerProcess.HOST_TOKEN}"}
    await served.start()
    try:
        async with aiohttp.ClientSession(headers=auth) as http:
            async def post(path: str, body: dict[str, Any]) -> Any:
                async with http.post(served.base + path, json=body) as resp:
                    assert resp.status in (200, 201), await resp.text()
                    return await resp.json()

            session = (await post("/api/sessions", {"name": "s"}))["session_id"]
            lot_id = (await post("/api/lots", {
                "session_id": session, "title": "t", "format": "english",
                "params": {"start_price": "1000.00", "step": "10.00", "duration_s": 600}}))[
                "lot_id"]
            token = (await post(f"/api/lots/{lot_id}/bidders",
                                {"bidder_id": "b1", "name": "b1"}))["token"]
            await post(f"/api/lots/{lot_id}/bidders/b1/deposit",
                       {"amount": "1.00", "account": "a"})
            await post(f"/api/lots/{lot_id}/schedule", {})
            await post(f"/api/lots/{lot_id}/start", {})
            async with websockets.connect(served.ws_url) as ws:
                await ws.send(orjson.dumps({"type": "subscribe", "lot_id": lot_id,
                                            "token": token}).decode())
                await ws.send(orjson.dumps({"type": "bid", "lot_id": lot_id, "ref": "h",
                                            "amount": HOSTILE[0]}).decode())
                while (reply := orjson.loads(await ws.recv()))["type"] != "rejected":
                    assert reply["type"] != "ack", reply
                assert reply["code"] == "invalid_amount"
        served.kill()
        await served.start()  # the same data directory, a fresh process
        async with aiohttp.ClientSession(headers=auth) as http:
            async with http.get(f"{served.base}/api/lots/{lot_id}") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "open"
        assert served.proc is not None and served.proc.poll() is None
    finally:
        served.stop()
