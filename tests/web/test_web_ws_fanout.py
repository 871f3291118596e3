"""Fan-out under stress and the connection's lifecycle: a slow reader is closed without
slowing anyone else, Origin is checked, shutdown says GOING_AWAY."""

import asyncio
import socket
import time
from pathlib import Path

import aiohttp
import pytest
import websockets
from aiohttp import web
from web_support import HOST_TOKEN, STAFF, Client, Server, ServerFactory

from auction.model import PlaceBid, Rejection
from engine.embedded import EmbeddedEngine
from web.app import create_app
from web.config import Settings
from web.keys import CONNECTIONS
from web.ws import front_site


async def test_a_slow_reader_is_closed_and_the_others_keep_pace(
        make_server: ServerFactory) -> None:
    server = await make_server(ws_send_queue=8)
    lot_id, _ = await server.open_lot()
    state = server.engine.lot(lot_id)
    assert state is not None
    fast = await server.connect()
    await fast.subscribe(lot_id, HOST_TOKEN)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(server.base.rsplit(":", 1)[1])))
    slow = Client(await websockets.connect(server.ws_url, sock=sock, max_queue=1))
    server.clients.append(slow)
    await slow.recv()  # welcome
    await slow.send({"type": "subscribe", "lot_id": lot_id, "token": HOST_TOKEN})
    await asyncio.sleep(0.05)
    for connection in server.app[CONNECTIONS]:  # small kernel buffers: backpressure sooner
        transport = connection.transport
        assert transport is not None
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                      4096)

    seqs: list[int] = []
    last_at: list[float] = []

    async def follow() -> None:
        while True:
            msg = await fast.recv()
            if msg["type"] == "update":
                seqs.extend(e["seq"] for e in msg["events"])
                last_at.append(time.monotonic())

    follower = asyncio.create_task(follow())
    bids = 0
    try:  # bid until the slow reader is closed (how many it takes depends on frame sizes)
        while bids < 600 or (bids < 20_000 and len(server.app[CONNECTIONS]) > 1):
            result = await server.engine.execute(lot_id, PlaceBid(
                bidder_id=f"b{bids % 2 + 1}", amount=10_000 + 1_000 * bids))
            assert not isinstance(result, Rejection), result
            bids += 1
        done = time.monotonic()
        final = server.seq(lot_id)
        async with asyncio.timeout(5):
            while not seqs or seqs[-1] < final:
                await asyncio.sleep(0.01)
        assert last_at[-1] - done < 1.0
    finally:
        follower.cancel()
    first = seqs[0]
    assert seqs == list(range(first, final + 1))
    got = 0
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                if (await slow.recv())["type"] == "update":
                    got += 1
    assert got < bids
    assert closed.value.rcvd is None or closed.value.rcvd.code == 4000
    assert len(server.app[CONNECTIONS]) == 1  # only the fast one is left
    await fast.send({"type": "ping", "client_time": 1})
    assert (await fast.next("pong"))["client_time"] == 1


async def test_origin_is_checked_before_the_upgrade(make_server: ServerFactory) -> None:
    server = await make_server(allowed_origins=frozenset({"https://trusted.example"}))
    own = server.base
    for origin in (own, "https://trusted.example", None):
        client = await server.connect(origin=origin)
        await client.send({"type": "ping", "client_time": 1})
        assert (await client.recv())["type"] == "pong"
    port = int(server.base.rsplit(":", 1)[1])
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1}", "null",
                   f"http://localhost:{port}", "https://trusted.example.evil"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url, origin=origin)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        assert b'"forbidden"' in refused.value.response.body


async def test_invalid_utf8_text_is_bad_json_and_the_connection_stays(
        server: Server) -> None:
    client = await server.connect()
    await client.conn.send(b'{"type": "ping", "client_time": 1, "x": "\xff"}', text=True)
    assert (await client.recv())["code"] == "bad_json"
    await client.send({"type": "ping", "client_time": 2})
    assert (await client.recv())["type"] == "pong"


async def test_the_app_owns_its_engine_and_shutdown_says_going_away(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, staff=STAFF)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await front_site(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://{host}:{port}/api/sessions", json={"name": "s"},
                             headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
            assert resp.status == 201
    clients = [await websockets.connect(f"ws://{host}:{port}/ws") for _ in range(3)]
    for client in clients:
        await client.recv()
    started = time.monotonic()
    await runner.cleanup()
    assert time.monotonic() - started < 5
    for client in clients:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    again = EmbeddedEngine(tmp_path)  # the data directory was released
    await again.start()
    assert [s.name for s in again.sessions()] == ["s"]
    await again.close()
