"""Slow and half-sent requests against a bare `auction serve` (no proxy in front): sockets
that send nothing, headers that never end or trickle in, bodies that never arrive, and
WebSockets that never watch a lot. Each is closed within a documented bound
(docs/security.md, Limits), and the server keeps serving everyone else meanwhile.

The bounds are the defaults of `web.config.Settings`, as the process serves them."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import orjson
import pytest
import websockets
from lotplay import setup_lot

from helpers import ServerProcess
from web.app import LINGER_S
from web.config import Settings

pytestmark = pytest.mark.slow

HEADER_S = Settings.http_header_timeout_s
BODY_S = Settings.http_body_timeout_s
SUBSCRIBE_S = Settings.ws_subscribe_timeout_s
#: What the bounds allow for the test's own scheduling on a busy machine.
SLACK_S = 3.0


async def open_socket(server: ServerProcess, first: bytes = b"") -> tuple[
        asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    if first:
        writer.write(first)
        await writer.drain()
    return reader, writer


async def until_closed(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    """Read until the server closes; when it did, and what it sent."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            received += chunk
    return time.monotonic(), received


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send ``data`` a byte every 0.5 s: always active, never done."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.5)


async def serves_meanwhile(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/healthz") as resp:
        assert resp.status == 200


async def closed_while_serving(server: ServerProcess, sockets: list[tuple[
        asyncio.StreamReader, asyncio.StreamWriter]], trickling: list[tuple[
        asyncio.StreamReader, asyncio.StreamWriter]], data: bytes,
        within: float) -> list[tuple[float, bytes]]:
    """Trickle ``data`` on the ``trickling`` sockets, check the server still serves, and
    wait (at most ``within`` seconds) until it closed every socket; when and what it
    sent on each. Every socket is closed on return."""
    feeders = [asyncio.create_task(trickle(w, data)) for _, w in trickling]
    try:
        await serves_meanwhile(server)
        return await asyncio.wait_for(
            asyncio.gather(*(until_closed(r) for r, _ in sockets + trickling)), within)
    finally:
        for feeder in feeders:
            feeder.cancel()
        for _, writer in sockets + trickling:
            writer.close()


async def test_silent_sockets_and_half_sent_headers_are_closed_within_the_header_timeout(
        auction_server: ServerProcess) -> None:
    served = auction_server
    opened = time.monotonic()
    half = b"GET /healthz HTTP/1.1\r\nHost: auction.test\r\nX-Slow: "
    sockets = [await open_socket(served, half) for _ in range(300)]
    sockets += [await open_socket(served) for _ in range(50)]
    trickling = [await open_socket(served) for _ in range(10)]
    endless = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    closed = await closed_while_serving(served, sockets, trickling, endless,
                                        HEADER_S + SLACK_S)
    for at, received in closed:
        assert received == b""  # closed, never answered: there was no request
        assert HEADER_S - 0.5 <= at - opened <= HEADER_S + SLACK_S
    await serves_meanwhile(served)


async def test_a_keep_alive_connection_must_send_its_next_request_within_the_header_timeout(
        auction_server: ServerProcess) -> None:
    served = auction_server
    request = b"GET /healthz HTTP/1.1\r\nHost: auction.test\r\n\r\n"
    sockets = [await open_socket(served, request) for _ in range(20)]
    answered = []
    for reader, _ in sockets:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        answered.append(time.monotonic())
    for _, writer in sockets[:10]:  # half of them start a second request and stop
        writer.write(b"GET /healthz HTTP/1.1\r\nHo")
    closed = await asyncio.wait_for(asyncio.gather(*(until_closed(r) for r, _ in sockets)),
                                    HEADER_S + SLACK_S + 1)
    for (at, received), since in zip(closed, answered, strict=True):
        assert received == b""
        assert at - since <= HEADER_S + SLACK_S
    for _, writer in sockets:
        writer.close()


async def test_a_half_sent_body_gets_408_and_its_connection_is_closed_within_the_body_timeout(
        auction_server: ServerProcess) -> None:
    served = auction_server
    body = orjson.dumps({"name": "never created"})
    head = (f"POST /api/sessions HTTP/1.1\r\nHost: auction.test\r\n"
            f"Authorization: Bearer {served.HOST_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    started = time.monotonic()
    stalled = [await open_socket(served, head + body[:5]) for _ in range(50)]
    trickling = [await open_socket(served, head) for _ in range(10)]
    closed = await closed_while_serving(served, stalled, trickling, body,
                                        BODY_S + LINGER_S + SLACK_S)
    for at, received in closed:
        assert received.startswith(b"HTTP/1.1 408 ")
        answer = orjson.loads(received.split(b"\r\n\r\n", 1)[1])
        assert answer["error"]["code"] == "request_timeout"
        assert answer["error"]["message"]["zh"] and answer["error"]["message"]["en"]
        assert BODY_S - 0.5 <= at - started <= BODY_S + LINGER_S + SLACK_S
    headers = {"Authorization": f"Bearer {served.SUPERVISOR_TOKEN}"}
    async with aiohttp.ClientSession() as http, http.get(
            f"{served.base}/api/sessions", headers=headers) as resp:
        assert resp.status == 200
        assert b"never created" not in await resp.read()  # nothing changed


async def test_a_websocket_that_watches_no_lot_is_closed_with_1008_within_the_subscription_timeout(
        auction_server: ServerProcess) -> None:
    served = auction_server
    lot_id, tokens = await setup_lot(served, duration_s=120, bidders=1)

    async def connect() -> websockets.ClientConnection:
        ws = await websockets.connect(served.ws_url)
        assert orjson.loads(await ws.recv())["type"] == "welcome"
        return ws

    async def request(ws: websockets.ClientConnection, message: dict[str, object]) -> dict:
        await ws.send(orjson.dumps(message).decode())
        while True:
            reply = orjson.loads(await ws.recv())
            if reply.get("ref") == message["ref"]:
                return reply

    async def keep_pinging(ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            for i in range(1000):
                await request(ws, {"type": "ping", "client_time": i, "ref": f"p{i}"})
                await asyncio.sleep(0.5)

    started = time.monotonic()
    silent = [await connect() for _ in range(30)]  # the library answers the server's pings
    pinging = [await connect() for _ in range(10)]
    refused = [await connect() for _ in range(5)]
    for ws in refused:  # a subscription that fails to authenticate watches nothing
        reply = await request(ws, {"type": "subscribe", "lot_id": lot_id,
                                   "token": "not-a-token", "ref": "s"})
        assert reply["type"] == "error" and reply["code"] == "bad_token"
    watching = await connect()
    assert (await request(watching, {"type": "subscribe", "lot_id": lot_id,
                                     "token": tokens[0], "ref": "s"}))["type"] == "subscribed"
    leaving = await connect()
    assert (await request(leaving, {"type": "subscribe", "lot_id": lot_id,
                                    "ref": "s"}))["type"] == "subscribed"
    await asyncio.sleep(SUBSCRIBE_S / 2)  # watching a while counts for nothing later
    assert (await request(leaving, {"type": "unsubscribe", "lot_id": lot_id,
                                    "ref": "u"}))["type"] == "unsubscribed"
    left = time.monotonic()
    pingers = [asyncio.create_task(keep_pinging(ws)) for ws in pinging]

    async def closed_at(ws: websockets.ClientConnection) -> float:
        await ws.wait_closed()
        return time.monotonic()

    idle = silent + pinging + refused
    times = await asyncio.wait_for(asyncio.gather(*(closed_at(ws) for ws in idle + [leaving])),
                                   SUBSCRIBE_S * 1.5 + SLACK_S)
    await asyncio.gather(*pingers)
    for ws, at in zip(idle + [leaving], times, strict=True):
        assert ws.close_code == 1008, ws.close_code
        assert "no subscription" in (ws.close_reason or "")
        assert at - (left if ws is leaving else started) <= SUBSCRIBE_S + SLACK_S
        assert at - (left if ws is leaving else started) >= SUBSCRIBE_S - 0.5
    # The bidder that watches its lot stays, well past the deadline.
    reply = await request(watching, {"type": "ping", "client_time": 1, "ref": "still"})
    assert reply["type"] == "pong"
    await watching.close()
