"""A WebSocket client on a bare socket, for clients no library would be: one that never
reads, never answers a ping, or sends frames that break the framing rules (RFC 6455)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
          rsv: int = 0) -> bytes:
    """One frame as a client sends it (masked unless ``mask`` is False)."""
    head = bytes([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawWebSocket:
    """An upgraded connection: :meth:`send` raw bytes, :meth:`read_frame` a server frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 status: int, head: bytes) -> None:
        self.reader, self.writer, self.status, self.head = reader, writer, status, head

    @classmethod
    async def connect(cls, host: str, port: int, *, headers: dict[str, str] | None = None,
                      rcvbuf: int | None = None) -> RawWebSocket:
        """Open and upgrade; ``status`` is the HTTP status of the answer (101 on success).
        ``rcvbuf`` shrinks the kernel's receive buffer (a reader that stops reading then
        pushes back sooner)."""
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /ws HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(head.split(b" ", 2)[1])
        return cls(reader, writer, status, head)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_text(self, text: str) -> None:
        await self.send(frame(TEXT, text.encode()))

    async def read_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """``(opcode, payload)`` of the next server frame; ``(-1, b"")`` at end of stream."""
        async with asyncio.timeout(timeout):
            try:
                first, second = await self.reader.readexactly(2)
            except asyncio.IncompleteReadError:
                return -1, b""
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            return first & 0xF, await self.reader.readexactly(n)

    async def read_until_closed(self, timeout: float = 5.0) -> int | None:
        """Read (answering nothing) until the server closes; the close code, or None if the
        stream ended without a close frame."""
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == -1:
                return None
            if opcode == CLOSE:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005

    def stop_reading(self) -> None:
        """Read nothing more: what the server sends piles up in the kernel's buffers."""
        self.writer.transport.pause_reading()

    def close(self) -> None:
        self.writer.transport.abort()
