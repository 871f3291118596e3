"""A lean WebSocket client for the benchmark's load generators.

The opening handshake, and the framing (and masking) of what the client sends, are done
by the ``websockets`` library; frames received are then read by a minimal parser that
hands each text frame to a callback as raw bytes, so that a load generator can count and
classify frames without decoding every one (``orjson`` is only used on the few frames
it needs).

Why not ``websockets``' own reader: on the 2-core machines the benchmarks run on, one
process receiving 50,000-100,000 frames per second is the limit either way, and the
library's asyncio reader costs about a third more CPU per frame than this parser
(measured; see docs/performance.md). The load generator must stay cheaper than the server
it measures.
"""

import asyncio
from collections.abc import Callable

import orjson
from websockets.asyncio.client import ClientConnection, connect

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA

#: Prefixes of the server's messages (orjson keeps "type" first, see web/ws.py).
UPDATE = b'{"type":"update"'
YOU = b'{"type":"you"'
ACK = b'{"type":"ack"'
REJECTED = b'{"type":"rejected"'
SUBSCRIBED = b'{"type":"subscribed"'
ERROR = b'{"type":"error"'

FrameHandler = Callable[[bytes], None]


class LeanSocket(asyncio.Protocol):
    """One connection: ``on_frame(payload)`` is called for every text frame, in order.

    Use :func:`open_lean`. ``closed`` is set when the connection ends.
    """

    def __init__(self, ws: ClientConnection, on_frame: FrameHandler,
                 on_close: Callable[[], None] | None = None) -> None:
        self._ws = ws
        self.on_close = on_close
        self._protocol = ws.protocol
        self.transport: asyncio.Transport = ws.transport
        self.on_frame = on_frame
        self._buf = b""
        self.frames = 0
        self.close_code: int | None = None
        self.closed = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ sending

    def send(self, payload: bytes) -> None:
        """Send ``payload`` (UTF-8 JSON) as one masked text frame."""
        self._protocol.send_text(payload)
        self._flush()

    def send_json(self, message: object) -> None:
        self.send(orjson.dumps(message))

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data and not self.transport.is_closing():
                self.transport.write(data)

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    # ------------------------------------------------------------------ receiving

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        end = len(buf)
        i = 0
        while end - i >= 2:
            b0, b1 = buf[i], buf[i + 1] & 0x7F
            if b1 < 126:
                head, length = 2, b1
            elif b1 == 126:
                if end - i < 4:
                    break
                head, length = 4, int.from_bytes(buf[i + 2:i + 4], "big")
            else:
                if end - i < 10:
                    break
                head, length = 10, int.from_bytes(buf[i + 2:i + 10], "big")
            if end - i < head + length:
                break
            payload = buf[i + head:i + head + length]
            i += head + length
            opcode = b0 & 0x0F
            if opcode == OP_TEXT:
                self.frames += 1
                self.on_frame(payload)
            elif opcode == OP_PING:
                self._protocol.send_pong(payload)
                self._flush()
            elif opcode == OP_CLOSE:
                self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                self.close()
                return
        self._buf = buf[i:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(self.close_code)
        if self.on_close is not None:
            self.on_close()

    def eof_received(self) -> bool | None:
        return None


async def open_lean(ws_url: str, on_frame: FrameHandler, *, timeout: float = 30.0,
                    on_close: Callable[[], None] | None = None) -> LeanSocket:
    """Connect to ``ws_url`` (handshake by ``websockets``), read the server's ``welcome``,
    then hand the connection to a :class:`LeanSocket`."""
    ws = await connect(ws_url, compression=None, ping_interval=None, proxy=None,
                       open_timeout=timeout, max_size=2**24, user_agent_header="auction-bench")
    welcome = await asyncio.wait_for(ws.recv(decode=False), timeout)
    if not welcome.startswith(b'{"type":"welcome"'):
        raise ConnectionError(f"unexpected first message {welcome[:60]!r}")
    lean = LeanSocket(ws, on_frame, on_close)
    ws.transport.set_protocol(lean)
    return lean


def update_head(payload: bytes) -> tuple[str, int]:
    """``(lot_id, first_seq)`` of an ``update`` frame without decoding it all
    (``first_seq`` 0 when it carries no event)."""
    start = payload.index(b'"lot_id":"', 16) + 10
    stop = payload.index(b'"', start)
    lot_id = payload[start:stop].decode()
    at = payload.index(b'"events":[', stop) + 10
    if payload[at:at + 1] != b"{":
        return lot_id, 0
    seq_at = at + 7  # after {"seq":
    seq_end = seq_at
    while 48 <= payload[seq_end] <= 57:
        seq_end += 1
    return lot_id, int(payload[seq_at:seq_end])
