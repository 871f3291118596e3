"""The front (web/front.py): a connection's first request, when it is an upgrade to
``/ws``, is served on the transport itself; everything else by aiohttp, unchanged.
Real sockets against a real server (the app on the front, as ``auction serve`` runs it).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from typing import Any

import orjson
from rawws import CLOSE, PING, PONG, TEXT, RawWebSocket, frame
from web_support import Server

from web.front import Socket
from web.keys import CONNECTIONS
from web.ws import MAX_MESSAGE

CONT = 0x0


def masked(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    return frame(opcode, payload, fin=fin)


def upgrade(port: int, extra: str = "", key: str = "") -> bytes:
    key = key or base64.b64encode(os.urandom(16)).decode()
    return (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode()


class Raw(RawWebSocket):
    """A bare socket speaking HTTP first (the upgrade is the test's), then frames."""

    @classmethod
    async def open(cls, server: Server) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", port_of(server)), 0, b"")

    async def send(self, data: bytes, *, bytewise: bool = False) -> None:
        for piece in ([data[i:i + 1] for i in range(len(data))] if bytewise else [data]):
            self.writer.write(piece)
            await self.writer.drain()
            if bytewise:
                await asyncio.sleep(0.001)

    async def read_head(self) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)

    async def frame(self) -> tuple[int, bytes]:
        return await self.read_frame()

    async def message(self) -> dict[str, Any]:
        opcode, data = await self.read_frame()
        assert opcode == TEXT, (opcode, data)
        return orjson.loads(data)  # type: ignore[no-any-return]

    async def ping_pong(self, client_time: int) -> None:
        await self.send(masked(TEXT, orjson.dumps({"type": "ping", "client_time": client_time})))
        reply = await self.message()
        assert reply["type"] == "pong" and reply["client_time"] == client_time, reply


def port_of(server: Server) -> int:
    return int(server.base.rsplit(":", 1)[1])


def served_by(server: Server) -> list[str]:
    """For each open WebSocket, who serves it: ``front`` or ``aiohttp``."""
    return sorted("front" if isinstance(c.ws, Socket) else "aiohttp"
                  for c in server.app[CONNECTIONS])


async def test_an_upgrade_as_a_connections_first_request_is_served_by_the_front(
        server: Server) -> None:
    client = await server.connect()
    await client.send({"type": "ping", "client_time": 7})
    assert (await client.recv())["type"] == "pong"
    assert served_by(server) == ["front"]
    assert client.conn.response is not None
    assert client.conn.response.headers["X-Request-Id"]


async def test_an_upgrade_after_a_request_on_a_keep_alive_connection_is_served_by_aiohttp(
        server: Server) -> None:
    raw = await Raw.open(server)
    try:
        await raw.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await raw.read_head()
        assert head.startswith(b"HTTP/1.1 200"), head
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await raw.reader.readexactly(length)
        await raw.send(upgrade(port_of(server)))
        assert (await raw.read_head()).startswith(b"HTTP/1.1 101")
        assert (await raw.message())["type"] == "welcome"
        await raw.ping_pong(1)
        assert served_by(server) == ["aiohttp"]
    finally:
        raw.close()


async def test_a_head_sent_a_byte_at_a_time_and_frames_sent_with_it_are_served(
        server: Server) -> None:
    trickled = await Raw.open(server)
    eager = await Raw.open(server)
    try:
        await trickled.send(upgrade(port_of(server)), bytewise=True)
        assert (await trickled.read_head()).startswith(b"HTTP/1.1 101")
        assert (await trickled.message())["type"] == "welcome"
        await trickled.ping_pong(2)
        # A client that sends a message with its handshake (before the answer).
        await eager.send(upgrade(port_of(server)) + masked(TEXT, orjson.dumps(
            {"type": "ping", "client_time": 3})))
        assert (await eager.read_head()).startswith(b"HTTP/1.1 101")
        assert (await eager.message())["type"] == "welcome"
        reply = await eager.message()
        assert reply["type"] == "pong" and reply["client_time"] == 3
        assert served_by(server) == ["front", "front"]
    finally:
        trickled.close()
        eager.close()


async def test_fragments_pings_and_the_close_handshake(server: Server) -> None:
    raw = await Raw.open(server)
    try:
        await raw.send(upgrade(port_of(server)))
        assert (await raw.read_head()).startswith(b"HTTP/1.1 101")
        await raw.message()  # welcome
        text = orjson.dumps({"type": "ping", "client_time": 4})
        await raw.send(masked(TEXT, text[:5], fin=False) + masked(PING, b"hi")
                       + masked(CONT, text[5:9], fin=False) + masked(CONT, text[9:]))
        assert await raw.frame() == (PONG, b"hi")  # a control frame between fragments
        reply = await raw.message()
        assert reply["type"] == "pong" and reply["client_time"] == 4
        await raw.send(masked(CLOSE, struct.pack("!H", 1000) + b"bye"))
        opcode, data = await raw.frame()
        assert opcode == CLOSE and struct.unpack("!H", data[:2])[0] == 1000
        assert await raw.frame() == (-1, b"")  # then the server closes the socket
        async with asyncio.timeout(5):
            while server.app[CONNECTIONS]:
                await asyncio.sleep(0.02)
    finally:
        raw.close()


async def test_a_message_over_the_limit_closes_with_1009_and_the_others_go_on(
        server: Server) -> None:
    other = await server.connect()
    raw = await Raw.open(server)
    try:
        await raw.send(upgrade(port_of(server)))
        assert (await raw.read_head()).startswith(b"HTTP/1.1 101")
        await raw.message()
        half = MAX_MESSAGE // 2 + 1
        await raw.send(masked(TEXT, b"[" + b" " * half, fin=False)
                       + masked(CONT, b" " * half + b"]"))
        while (got := await raw.frame())[0] not in (CLOSE, -1):
            pass
        assert got[0] == CLOSE and struct.unpack("!H", got[1][:2])[0] == 1009
        await other.send({"type": "ping", "client_time": 5})
        assert (await other.recv())["type"] == "pong"
    finally:
        raw.close()


async def test_a_client_still_sending_a_frame_over_the_limit_reads_its_1009_then_the_end(
        server: Server) -> None:
    """The socket is not closed under a client still sending (the rest of a frame too
    big): that would reset the connection, and the client's system could drop the 1009
    before the client reads it. The server ends its side and discards what comes."""
    raw = await Raw.open(server)
    try:
        await raw.send(upgrade(port_of(server)))
        assert (await raw.read_head()).startswith(b"HTTP/1.1 101")
        await raw.message()
        size = 16 * MAX_MESSAGE  # more than the kernel's buffers hold
        # (a mask of zeros leaves the payload as it is)
        await raw.send(struct.pack("!BBQ", 0x81, 0x80 | 127, size) + bytes(4) + b"z" * 65536)
        opcode, data = await raw.frame()
        assert opcode == CLOSE and struct.unpack("!H", data[:2])[0] == 1009
        chunk = b"z" * 65536
        for _ in range((size - 65536) // len(chunk)):  # no reset: all of it is taken
            await raw.send(chunk)
        assert await raw.frame() == (-1, b"")  # then the end of the server's stream
        raw.writer.write_eof()
        async with asyncio.timeout(5):
            while server.app[CONNECTIONS]:
                await asyncio.sleep(0.02)
    finally:
        raw.close()


async def test_refused_and_invalid_upgrades_get_aiohttps_answers(server: Server) -> None:
    """The front serves only what it accepts: a foreign origin, a bad handshake and a
    head too large for it are answered by aiohttp (the same JSON errors as ever)."""
    for extra, key, status in [("Origin: https://elsewhere.example\r\n", "", 403),
                               ("", "not-a-key", 400)]:
        raw = await Raw.open(server)
        try:
            await raw.send(upgrade(port_of(server), extra, key))
            head = await raw.read_head()
            assert head.startswith(f"HTTP/1.1 {status}".encode()), head
        finally:
            raw.close()
    raw = await Raw.open(server)
    try:
        await raw.send(upgrade(port_of(server), f"X-Pad: {'a' * 20_000}\r\n"))
        head = await raw.read_head()
        assert not head.startswith(b"HTTP/1.1 101"), head  # aiohttp's limits apply
    finally:
        raw.close()
    assert served_by(server) == []
