"""The listening socket: WebSocket upgrades to ``/ws`` served on the transport itself,
everything else by aiohttp.

An idle WebSocket held by aiohttp keeps its whole HTTP machinery for as long as it is
open: the parsed upgrade request, the request handler with its HTTP parser, the two
tasks of the request and their coroutine frames, the middlewares' frames and the
``WebSocketResponse`` with its reader and queue, about 15 KiB per socket before this
project adds anything (docs/performance.md). A trading hall holds thousands of
such sockets doing nothing most of the time. So a connection's first request is looked
at here, before aiohttp sees it:

* a WebSocket upgrade to ``/ws`` that is valid and allowed (the same origin and
  per-address checks as :func:`web.ws.websocket_handler`) is answered here (websockets'
  sans-I/O handshake), and the socket becomes a :class:`Socket`: websockets' sans-I/O
  protocol reads the frames (masking, fragments, pings, the close handshake, the size
  limit) and the connection (:class:`web.ws.Connection`) runs as with aiohttp, without
  the HTTP request, its parser, its tasks or its middlewares behind it;
* everything else (any other request, and an upgrade that is invalid or refused, which
  aiohttp's handler then answers with the same 400, 403 or 429 as always) is handed to
  aiohttp's request handler with the bytes read so far, unchanged.

The header deadline holds from the opening of the connection either way: a connection
whose first request head is not complete within ``http_header_timeout_s`` is closed
(:class:`_Opening` relays to aiohttp until the head is complete, then steps aside).
"""

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from aiohttp import WSMessage, WSMsgType, web
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN, Protocol, Side
from websockets.server import ServerProtocol

log = logging.getLogger(__name__)
#: websockets logs every connection's opening and closing at INFO: only its warnings.
_QUIET = logging.getLogger("web.front.websockets")
_QUIET.setLevel(logging.WARNING)

#: The requests served here: the first request of a connection, a GET of /ws.
_PREFIXES = (b"GET /ws ", b"GET /ws?")
#: A longer upgrade head (cookies...) is left to aiohttp and its limits.
MAX_HEAD = 16 * 1024
#: Bytes of received messages not yet read by the connection before the socket stops
#: reading (aiohttp's own limit for its WebSocket queue).
READ_LIMIT = 128 * 1024
#: How long a close handshake may take before the socket is cut.
CLOSE_TIMEOUT_S = 2.0



def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, uncompressed WebSocket text frame (RFC 6455 5.2),
    as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Socket(asyncio.Protocol):
    """A WebSocket after its handshake, on the transport itself. It offers what
    :class:`web.ws.Connection` uses of aiohttp's ``WebSocketResponse``: the messages
    (``async for``), :attr:`closed`, :meth:`close` and :meth:`send_frame`."""

    __slots__ = ("transport", "home", "_frames", "_messages", "_queued", "_waiter", "_parts",
                 "_kind", "_paused", "closed", "_lost", "_ended", "_drained", "seen", "pinged",
                 "task", "_loop")

    def __init__(self, transport: asyncio.Transport, max_size: int, home: set["Socket"]
                 ) -> None:
        self.transport = transport
        #: The event loop, kept: ``asyncio.get_running_loop`` makes a system call
        #: (getpid) at every call on Python 3.11, and a socket asks for it per message.
        self._loop = asyncio.get_running_loop()
        #: The open sockets of the site (their heartbeat), left when the connection ends.
        self.home = home
        home.add(self)
        self._frames = Protocol(Side.SERVER, state=OPEN, max_size=max_size, logger=_QUIET)
        #: Messages received and not read yet (made with the first), and their bytes.
        self._messages: deque[WSMessage] | None = None
        self._queued = 0
        #: Whether reading stopped because the connection has not read its messages.
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        #: The fragments of a message still arriving, and its kind.
        self._parts: list[bytes] | None = None
        self._kind = WSMsgType.TEXT
        #: A close frame was sent or received, or the connection ended: nothing more is
        #: read or written.
        self.closed = False
        self._lost = False
        self._ended: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        #: When data last arrived, and when a heartbeat ping went unanswered since.
        self.seen = self._loop.time()
        self.pinged: float | None = None
        #: The task serving the connection (:func:`web.ws.serve_socket`).
        self.task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- the transport's

    def data_received(self, data: bytes) -> None:
        self.seen, self.pinged = self._loop.time(), None
        frames = self._frames
        frames.receive_data(data)
        for frame in frames.events_received():
            assert isinstance(frame, Frame)
            self._frame(frame)
        self._send_pending()
        self._check_open()

    def eof_received(self) -> bool:
        self._frames.receive_eof()
        self._send_pending()
        self._check_open()
        return False

    def _check_open(self) -> None:
        """Closed as soon as the protocol is no longer open: a close frame received, or
        a frame breaking the rules (the protocol has sent its close frame: 1002, 1009...)."""
        if not self.closed and self._frames.state is not OPEN:
            self.closed = True
            self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = self._lost = True
        self.home.discard(self)
        self._wake()
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(ConnectionResetError("the connection ended"))
            self._drained.exception()  # retrieved: nobody may be waiting

    def pause_writing(self) -> None:
        if self._drained is None or self._drained.done():
            self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # ---------------------------------------------------------------- frames

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            kind = WSMsgType.TEXT if opcode is Opcode.TEXT else WSMsgType.BINARY
            if frame.fin:
                self._deliver(kind, bytes(frame.data))
            else:
                self._kind, self._parts = kind, [bytes(frame.data)]
        elif opcode is Opcode.CONT and self._parts is not None:
            self._parts.append(bytes(frame.data))
            if frame.fin:
                parts, self._parts = self._parts, None
                self._deliver(self._kind, b"".join(parts))
        elif opcode is Opcode.CLOSE:  # the protocol has answered it and ends the stream
            self.closed = True
            self._wake()
        # A ping is answered by the protocol; a pong only shows the client is there.

    def _deliver(self, kind: WSMsgType, data: bytes) -> None:
        if self.closed:
            return
        if self._messages is None:
            self._messages = deque()
        self._messages.append(WSMessage(kind, data, None))
        self._queued += len(data)
        if self._queued > READ_LIMIT and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _send_pending(self) -> None:
        """Write what the protocol has to send (pongs, close frames); an empty chunk is
        its end of the stream.

        After a close handshake the transport is closed once its buffer is written. When
        the protocol has failed the connection instead (a frame too big or breaking the
        rules: 1009, 1002...), the client may still be sending, the rest of a 1-MiB frame
        say: closing the socket with unread data would reset the connection, and the
        client's system may then drop the close frame before the client has read it. So
        the socket only ends its side (its close frame is followed by the end of the
        stream) and goes on reading, the protocol discarding what comes, until the
        client closes its side (:meth:`eof_received`)."""
        for chunk in self._frames.data_to_send():
            if chunk:
                self.transport.write(chunk)
                continue
            if self._frames.close_rcvd is None and self.transport.can_write_eof():
                self.transport.write_eof()
                if self._paused:  # read on: what comes now is discarded
                    self._paused = False
                    self.transport.resume_reading()
            else:
                self.transport.close()
            # A client that neither reads nor closes would hold the socket for ever.
            self._loop.call_later(CLOSE_TIMEOUT_S, self._cut)

    def _cut(self) -> None:
        if not self._lost:
            self.transport.abort()

    # ---------------------------------------------------------------- the connection's

    def __aiter__(self) -> "Socket":
        return self

    async def __anext__(self) -> WSMessage:
        while not self._messages:
            if self.closed:
                raise StopAsyncIteration
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        self._queued -= len(message.data)
        if self._paused and self._queued <= READ_LIMIT // 2 and not self._lost:
            self._paused = False
            self.transport.resume_reading()
        if not self._messages:
            self._messages = None  # an idle socket holds no queue
        return message

    async def send_frame(self, message: bytes, opcode: WSMsgType) -> None:
        """Send ``message`` as one text frame, waiting while the socket's buffer is full
        (the writer task of a client that fell behind)."""
        assert opcode is WSMsgType.TEXT
        if self.closed:
            raise ConnectionResetError("the WebSocket is closed")
        self.transport.write(text_frame(message))
        if self._drained is not None and not self._drained.done():
            await self._drained

    def ping(self) -> None:
        """A heartbeat ping (:func:`heartbeat_due`)."""
        if self._frames.state is OPEN:
            self._frames.send_ping(b"")
            self._send_pending()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        """Send a close frame with ``code`` and wait for the client's; the socket is
        cut if that wait ends otherwise (its caller's timeout). False if it was closed
        already."""
        if self.closed:
            return False
        self.closed = True
        self._wake()
        self._frames.send_close(code, message.decode("utf-8", "replace"))
        self._send_pending()
        if self._lost:
            return True
        self._ended = self._loop.create_future()
        try:
            await self._ended
        finally:
            if not self._lost:
                self.transport.abort()
        return True

    def abort(self) -> None:
        """Cut the connection without a close frame (a client that stopped answering)."""
        self.closed = True
        self._wake()
        self.transport.abort()


def heartbeat_due(sockets: set[Socket], now: float, every: float) -> None:
    """One round of the heartbeat of ``sockets``: ping those silent for ``every``
    seconds, cut those that did not answer a ping within half of it (aiohttp's own
    heartbeat rules, with one timer for all the sockets instead of one each)."""
    for socket in list(sockets):
        if socket.closed:
            continue
        if socket.pinged is not None:
            if now - socket.pinged >= every / 2:
                log.info("closing a WebSocket that did not answer a ping within %g s",
                         every / 2)
                socket.abort()
        elif now - socket.seen >= every:
            socket.pinged = now
            socket.ping()


class _Opening(asyncio.Protocol):
    """A connection until its first request head is complete: an upgrade to ``/ws``
    is answered here (:meth:`FrontSite.upgrade`), anything else relayed to aiohttp's
    request handler."""

    __slots__ = ("site", "transport", "head", "timer", "handler", "tail")

    def __init__(self, site: "FrontSite") -> None:
        self.site = site
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.timer: asyncio.TimerHandle | None = None
        #: aiohttp's handler, once the connection is handed to it.
        self.handler: Any = None
        #: The last bytes relayed, to find the end of a head split across reads.
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)
        self.timer = asyncio.get_running_loop().call_later(self.site.header_timeout,
                                                           self._late)

    def data_received(self, data: bytes) -> None:
        if self.handler is not None:
            self._relay(data)
            return
        head = self.head = self.head + data
        size = min(len(head), len(_PREFIXES[0]))
        if not any(head[:size] == prefix[:size] for prefix in _PREFIXES):
            self._hand_over()
            return
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_HEAD:
                self._hand_over()
            return
        self._cancel()
        assert self.transport is not None
        socket = self.site.upgrade(self.transport, head)
        if socket is None:
            self._hand_over()

    def eof_received(self) -> bool | None:
        if self.handler is not None:
            return self.handler.eof_received()  # type: ignore[no-any-return]
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel()
        if self.handler is not None:
            self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self.handler is not None:
            self.handler.resume_writing()

    def _cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _late(self) -> None:
        """The first request head did not arrive in time: closed, unanswered (as
        aiohttp does with a silent or half-sent connection)."""
        self.timer = None
        if self.transport is not None:
            self.transport.close()

    def _hand_over(self) -> None:
        """aiohttp serves the connection from its first byte on."""
        assert self.transport is not None
        self.handler = self.site.server()
        self.handler.connection_made(self.transport)
        head, self.head = self.head, b""
        self._relay(head)

    def _relay(self, data: bytes) -> None:
        """Pass ``data`` to aiohttp; once the first head is complete, step aside (the
        transport talks to aiohttp directly: its keep-alive rules take over)."""
        if self.timer is not None:
            seen = self.tail + data
            if b"\r\n\r\n" not in seen:
                self.tail = seen[-3:]
                self.handler.data_received(data)
                return
            self._cancel()
        assert self.transport is not None
        self.transport.set_protocol(self.handler)
        self.handler.data_received(data)


class FrontSite(web.TCPSite):
    """``web.TCPSite`` whose connections start with :class:`_Opening`: what ``auction
    serve`` and the tests listen with. ``upgrade`` serves an accepted WebSocket
    (:func:`web.ws.serve_socket`); ``admit`` decides whether an upgrade is served here
    (:func:`web.ws.admit`)."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *,
                 header_timeout: float, heartbeat_s: float, max_size: int,
                 admit: Callable[[Request, str], tuple[str, str] | None],
                 serve: Callable[[Socket, Request, str, str], None]) -> None:
        super().__init__(runner, host, port)
        self.header_timeout = header_timeout
        self._heartbeat_s = heartbeat_s
        self._max_size = max_size
        self._admit, self._serve = admit, serve
        #: The open WebSockets served here (their heartbeat).
        self.sockets: set[Socket] = set()
        self._beat: asyncio.Task[None] | None = None

    def server(self) -> Any:
        """A request handler of aiohttp's for one connection."""
        server = self._runner.server
        assert server is not None
        return server()

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Opening(self), self._host,
                                                self._port, backlog=self._backlog,
                                                reuse_address=self._reuse_address)
        if self._heartbeat_s > 0:
            self._beat = loop.create_task(self._heartbeat())

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
            self._beat = None
        await super().stop()

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        every = self._heartbeat_s
        while True:
            await asyncio.sleep(max(0.05, every / 4))
            try:
                heartbeat_due(self.sockets, loop.time(), every)
            except Exception:  # the heartbeat of the other sockets goes on
                log.exception("WebSocket heartbeat failed")

    def upgrade(self, transport: asyncio.Transport, head: bytes) -> Socket | None:
        """Answer the upgrade of ``head`` (a complete request head, perhaps followed by
        frames) if it is a valid WebSocket handshake that :func:`web.ws.admit` lets
        through; the socket it became, or None (then aiohttp answers it)."""
        handshake = ServerProtocol(max_size=self._max_size, logger=_QUIET)
        handshake.receive_data(head)
        events = handshake.events_received()
        if handshake.handshake_exc is not None or not events:
            return None
        request = events[0]  # a GET of /ws (_Opening looked at its request line)
        assert isinstance(request, Request)
        try:
            response = handshake.accept(request)
        except InvalidHandshake:  # pragma: no cover - accept answers with a status
            return None
        if response.status_code != 101:
            return None
        peer = transport.get_extra_info("peername")
        admitted = self._admit(request, peer[0] if peer else "")
        if admitted is None:
            return None
        ip, request_id = admitted
        response.headers["X-Request-Id"] = request_id
        handshake.send_response(response)
        for chunk in handshake.data_to_send():
            transport.write(chunk)
        socket = Socket(transport, self._max_size, self.sockets)
        transport.set_protocol(socket)
        self._serve(socket, request, ip, request_id)
        rest = head[head.find(b"\r\n\r\n") + 4:]
        if rest:  # frames sent before the answer
            socket.data_received(rest)
        return socket
