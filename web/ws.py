"""The WebSocket endpoint ``GET /ws``: one connection per client, protocol in
docs/protocol.md.

What the protocol decides (every reply, error and limit, who may bid) is the sans-I/O
core :class:`web.protocol.ServerProtocol`; this module is its asyncio driver: it reads
the frames, feeds them to the core with the time, and carries out what the core returns
(send, watch a lot on the :class:`web.hub.Hub`, execute a command on the engine, count),
feeding the outcomes of watching and executing back.

Each connection has one reader (this handler: messages are handled one at a time, in
order) and, for a client that falls behind, one writer task draining a send queue.
Everything the client receives, in order — replies, and the update frames the
:class:`web.hub.Hub` pushes (encoded once per audience and shared) — is written in
batches straight to the socket while the client keeps up, else through that queue
(:meth:`Connection.push`). The batches of every connection are written by one callback
per turn of the event loop (:class:`Sockets`), each shared frame framed once, so the
fan-out of a commit costs one write per member and no task, callback or copy of its
own. A client that lets more than
``Settings.ws_send_queue`` frames (or ``ws_send_bytes``) pile up is closed with
:data:`TOO_SLOW` so that it never slows the lot or the other clients; and while more than
``ws_read_pause_bytes`` wait for it, its next message is not read, so a client that
sends but does not read cannot make the server pile up replies and catch-ups.

Limits (:mod:`web.limits`): WebSockets per network address (refused with HTTP 429,
here), messages per second per address (``error`` ``rate_limited``) and bids per second
per bidder (``rejected`` ``rate_limited``), both applied by the core.

Bad input never changes anything and never ends the connection, except frames over
:data:`MAX_MESSAGE` (closed with 1009: by the front's WebSocket protocol, :mod:`web.front`, or
by aiohttp for the sockets it serves).
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web
from websockets.http11 import Request

from web import protocol
from web.connlog import ConnectionLog
from web.errors import WebError
from web.front import CLOSE_TIMEOUT_S, FrontSite, Socket, text_frame
from web.hub import Watcher
from web.keys import (
    CONNECTION_LOG,
    CONNECTIONS,
    ENGINE,
    HUB,
    LIMITS,
    METRICS,
    RECEIPTS,
    SETTINGS,
    SOCKETS,
)
from web.keys import STAFF as STAFF_DIRECTORY
from web.limits import address_of, client_address
from web.logs import CONN_ID, LOT_ID, REF, REQUEST_ID, access_line, request_id_from
from web.logs import HEADER as REQUEST_ID_HEADER
from web.protocol import Effect
from web.schemas import Ack


class _LotOf(msgspec.Struct):
    """The lot a client's message names, if any (the rest is the core's business)."""

    lot_id: str | None = None


_LOT_OF = msgspec.json.Decoder(_LotOf)

log = logging.getLogger(__name__)

#: Larger frames are not even read: the connection is closed with 1009.
MAX_MESSAGE = 1024 * 1024
#: Close code of a client that does not read its frames fast enough.
TOO_SLOW = 4000
#: Close code of a connection that watched no lot for ``Settings.ws_subscribe_timeout_s``.
NO_SUBSCRIPTION = WSCloseCode.POLICY_VIOLATION
#: Bytes the socket may hold for a client before new frames wait in its queue (whose
#: length decides when the client is too slow): aiohttp's own flow-control limit.
DIRECT_WRITE_LIMIT = 64 * 1024
_ENCODER = msgspec.json.Encoder()


def origin_allowed(origin: str, host: str, allowed: frozenset[str] | None) -> bool:
    """Whether a browser page at ``origin`` may open a WebSocket on the server reached
    as ``host`` (the request's Host header): same host and port, or listed in
    ``allowed`` (exact origins such as ``https://auction.example``)."""
    origin = origin.strip().rstrip("/")
    if allowed and origin in allowed:
        return True
    try:
        o = urlsplit(origin)
        h = urlsplit("//" + host)
        if o.scheme not in ("http", "https") or not o.hostname or not h.hostname:
            return False
        if o.hostname != h.hostname:
            return False
        default = 443 if o.scheme == "https" else 80
        if h.port is None:
            return o.port is None or o.port == default
        return (o.port or default) == h.port
    except ValueError:
        return False


def device_of(user_agent: str) -> str:
    """The fingerprint recorded when the client names no ``device``: a hash of its
    User-Agent."""
    return "ua:" + hashlib.sha256(user_agent.encode("utf-8", "replace")).hexdigest()[:16]


class Sockets:
    """What every WebSocket connection of an application shares: the application's parts
    the connections use (read once, not per connection), the protocol's :class:`Rules`,
    and the writing of the frames pushed during one turn of the event loop, for all the
    connections at once (:meth:`due`)."""

    __slots__ = ("settings", "engine", "hub", "staff", "limits", "metrics", "counters",
                 "connection_log", "rules", "_due", "_acks")

    def __init__(self, app: web.Application) -> None:
        self.settings = settings = app[SETTINGS]
        self.engine = app[ENGINE]
        self.hub = app[HUB]
        self.staff = app[STAFF_DIRECTORY]
        self.limits = app[LIMITS]
        self.metrics = app[METRICS]
        #: Each metric's child of the labels counted so far (``labels()`` takes a lock
        #: and builds its key on every call).
        self.counters: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.connection_log = app[CONNECTION_LOG]
        self.rules = protocol.Rules(secret=settings.secret,
                                    max_subscriptions=settings.ws_max_subscriptions,
                                    address_rate=settings.address_rate,
                                    bid_rate=settings.bid_rate, receipts=app[RECEIPTS])
        #: The connections with frames pushed since the last flush, in push order.
        self._due: list[Connection] = []
        #: The acks pushed since the last flush, to be signed together at the flush.
        self._acks: list[Ack] = []

    def due(self, connection: "Connection") -> None:
        """Flush ``connection``'s pushed frames with the others' (see :meth:`_flush`).
        Called on the connection's first push since its last flush."""
        if not self._due:
            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, self._flush)
        self._due.append(connection)

    def _flush(self) -> None:
        """Write every due connection's frames, each connection's in one write; a frame
        pushed to many connections (a commit's ``update`` for an audience) is framed
        once (``wires``).

        It runs one turn of the event loop after the first push, when the bidder's
        handler has answered: a commit's ``update`` and ``you`` and the ``ack`` after
        them reach a client in one system call, and the fan-out of a commit to a room
        costs one callback, not one per member."""
        due, self._due = self._due, []
        acks, self._acks = self._acks, []
        if acks:
            try:
                self.sign(acks)
            except Exception:  # every socket's frames of this turn go out all the same
                log.exception("signing %d receipts failed: their acks go without one",
                              len(acks))
        wires: dict[bytes, bytes] = {}
        for connection in due:
            connection.flush(wires)

    def sign_at_flush(self, ack: Ack) -> None:
        """Sign ``ack`` with the other acks of the next flush."""
        self._acks.append(ack)

    def sign(self, acks: list[Ack]) -> None:
        """Give every one of ``acks`` its receipt, all with one signature (the acks of one
        flush: :meth:`engine.signatures.ReceiptKey.sign_all`)."""
        receipts = self.rules.receipts
        assert receipts is not None  # (the protocol asks for receipts only with a key)
        signed = receipts.sign_all([(a.lot_id, a.seq, a.hash or "", a.amount, a.act)
                                    for a in acks])
        for ack, receipt in zip(acks, signed, strict=True):
            ack.receipt, ack.receipt_path = receipt.signature, receipt.path


def _payload(frame: "bytes | Ack") -> bytes:
    """A pushed frame's payload: an ack (signed by now) is encoded at the flush."""
    return frame if type(frame) is bytes else _ENCODER.encode(frame)


class Connection:
    """One client's WebSocket: the driver of its :class:`web.protocol.ServerProtocol`,
    its watchers, send queue and writer task. It is the :class:`web.hub.Outbox` of its
    watchers. It has slots and keeps what every connection shares in one
    :class:`Sockets`: an idle connection costs only its own state."""

    __slots__ = ("ws", "transport", "shared", "ip", "conn_id", "core", "watchers",
                 "_unwatched", "queue", "_batch", "queued_bytes", "_room", "closing",
                 "_writer", "_closer")

    def __init__(self, shared: Sockets, ws: "web.WebSocketResponse | Socket",
                 transport: asyncio.Transport | None, ip: str, user_agent: str) -> None:
        self.shared = shared
        #: The WebSocket: a :class:`web.front.Socket` (an upgrade served by the front),
        #: or aiohttp's (an upgrade aiohttp served: a keep-alive connection's later one).
        self.ws = ws
        self.transport = transport
        self.ip = ip
        self.conn_id = ConnectionLog.connection_id()
        self.core = protocol.ServerProtocol(
            lots=shared.engine, staff=shared.staff, rules=shared.rules,
            messages=shared.limits.messages, bids=shared.limits.bids, ip=ip,
            default_device=device_of(user_agent))
        #: The watcher of each lot the client watches.
        self.watchers: dict[str, Watcher] = {}
        #: Fires when the connection has watched no lot for ``ws_subscribe_timeout_s``.
        self._unwatched: asyncio.TimerHandle | None = None
        #: Frames waiting for a client that fell behind, drained by the writer task; both
        #: are made when the client first falls behind (an idle socket holds neither).
        self.queue: asyncio.Queue[bytes] | None = None
        #: Frames pushed since the last flush (see :meth:`Sockets._flush`), an ack still
        #: to be signed as itself; None while there are none.
        self._batch: list[bytes | Ack] | None = None
        #: Bytes of the frames in ``queue``.
        self.queued_bytes = 0
        #: Set when ``queued_bytes`` falls to ``ws_read_pause_bytes`` (or on closing);
        #: made by the first wait for it.
        self._room: asyncio.Event | None = None
        self.closing = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ Outbox

    def push(self, frame: bytes, *, catch_up: bool = False) -> None:
        """Send ``frame``: with the next flush while nothing is queued (see
        :meth:`Sockets._flush`), else through the queue; a client with too many frames
        waiting is closed."""
        if self.closing:
            return
        if self.queue is None or self.queue.empty():  # nothing is behind: next write
            self._add(frame)
            return
        settings = self.shared.settings
        if not catch_up and (self.queue.qsize() >= settings.ws_send_queue
                             or self.queued_bytes >= settings.ws_send_bytes):
            log.warning("closing a WebSocket from %s: it does not read its frames", self.ip)
            self.shared.metrics.slow_clients.inc()
            self.drop(TOO_SLOW, "too slow: frames not read")
            return
        self._enqueue(frame)

    def push_ack(self, ack: Ack) -> None:
        """Send ``ack`` with its receipt: signed at the next flush with every other ack
        of it while nothing is queued, else at once, alone."""
        if self.closing:
            return
        if self.queue is None or self.queue.empty():
            self.shared.sign_at_flush(ack)
            self._add(ack)
            return
        self.shared.sign([ack])
        self.push(_ENCODER.encode(ack))

    def _add(self, frame: bytes | Ack) -> None:
        """Add ``frame`` to the next flush's."""
        if self._batch is None:
            self._batch = [frame]
            self.shared.due(self)
        else:
            self._batch.append(frame)

    def _enqueue(self, frame: bytes) -> None:
        """Queue ``frame`` for the writer task (made with the queue, the first time)."""
        if self.queue is None:
            self.queue = asyncio.Queue()
            self._writer = asyncio.get_running_loop().create_task(self._write(self.queue))
        self.queue.put_nowait(frame)
        self.queued_bytes += len(frame)

    def _make_room(self) -> None:
        if self._room is not None:
            self._room.set()

    def flush(self, wires: dict[bytes, bytes]) -> None:
        """Write the frames pushed since the last flush in one write, if the socket has
        room (its buffer below :data:`DIRECT_WRITE_LIMIT`); else hand them to the queue
        and its writer task, which waits for the client. ``wires`` holds the frames
        already framed in this flush (by payload).

        The writer task (a queue and a wake-up per frame) is only used for a client that
        is behind. aiohttp writes each frame of its own (pings, close) whole and at
        once: frames never interleave."""
        batch, self._batch = self._batch, None
        if not batch or self.closing:
            return
        transport = self.transport
        if (transport is None or transport.is_closing() or self.ws.closed
                or transport.get_write_buffer_size() > DIRECT_WRITE_LIMIT
                or (self.queue is not None and not self.queue.empty())):
            for frame in batch:
                self._enqueue(_payload(frame))
            return
        if len(batch) == 1:
            payload = _payload(batch[0])
            wire = wires.get(payload)
            if wire is None:
                wire = wires[payload] = text_frame(payload)
            transport.write(wire)
        else:
            transport.write(b"".join(text_frame(_payload(frame)) for frame in batch))

    def drop(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` in the background."""
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self.close(code, reason))

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Serve the client until it leaves or is closed."""
        self._watch_deadline()
        await self._carry_out(self.core.welcome(self.shared.engine.now()))
        async for msg in self.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break  # ERROR: aiohttp has closed the connection (1009 too big)
            await self._wait_for_room()
            data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
            await self._bring(data)
            effects = self.core.receive(data, self.shared.engine.now(),
                                            binary=msg.type == WSMsgType.BINARY)
            lot_id, ref = self.core.context
            lot_token, ref_token = LOT_ID.set(lot_id), REF.set(ref)
            try:
                await self._carry_out(effects)
            finally:
                REF.reset(ref_token)
                LOT_ID.reset(lot_token)
                self._watch_deadline()

    async def _bring(self, data: bytes) -> None:
        """An ended lot may be left in the store: read it into memory before the core,
        which reads lots from memory only, meets it (a live lot is always there)."""
        if len(data) > protocol.MAX_FRAME:
            return
        try:
            lot_id = _LOT_OF.decode(data).lot_id
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # the core answers what is wrong with the frame
        if lot_id and self.shared.engine.lot(lot_id) is None:
            with contextlib.suppress(Exception):  # the core answers as for any lot
                await self.shared.engine.find(lot_id)

    def _watch_deadline(self) -> None:
        """Arm the subscription deadline while the connection watches no lot, disarm it
        while it watches one: a socket that never subscribes (a client that only pings,
        or sends nothing, or fails to authenticate) is closed instead of held for ever."""
        if self.watchers:
            if self._unwatched is not None:
                self._unwatched.cancel()
                self._unwatched = None
        elif self._unwatched is None and not self.closing:
            self._unwatched = asyncio.get_running_loop().call_later(
                self.shared.settings.ws_subscribe_timeout_s, self._no_subscription)

    def _no_subscription(self) -> None:
        self._unwatched = None
        if not self.watchers and not self.closing:
            limit = self.shared.settings.ws_subscribe_timeout_s
            log.info("closing a WebSocket from %s: no subscription within %g s", self.ip, limit)
            self.drop(NO_SUBSCRIPTION, f"no subscription within {limit:g} s")

    async def _carry_out(self, effects: list[Effect]) -> None:
        """Do what the protocol asks, in order, feeding back the outcomes of watching
        and executing."""
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            if isinstance(effect, protocol.Send):
                self.push(_ENCODER.encode(effect.message))
            elif isinstance(effect, protocol.SendAck):
                self.push_ack(effect.ack)
            elif isinstance(effect, protocol.Count):
                key = (effect.name, effect.labels)
                counter = self.shared.counters.get(key)
                if counter is None:
                    counter = self.shared.counters[key] = getattr(
                        self.shared.metrics, effect.name).labels(*effect.labels)
                counter.inc()
            elif isinstance(effect, protocol.Watch):
                pending[:0] = await self._watch(effect)
            elif isinstance(effect, protocol.Unwatch):
                watcher = self.watchers.pop(effect.lot_id, None)
                if watcher is not None:
                    self.shared.hub.unwatch(watcher)
                self.shared.connection_log.left(effect.lot_id, self.conn_id)
            elif isinstance(effect, protocol.Joined):
                self.shared.connection_log.joined(
                    effect.lot_id, self.conn_id, role=effect.role, ip=self.ip,
                    device=effect.device, bidder_id=effect.bidder_id,
                    bidder_no=effect.bidder_no, staff_id=effect.staff_id)
            else:
                pending[:0] = await self._execute(effect)

    async def _watch(self, watch: protocol.Watch) -> list[Effect]:
        greeting = watch.greeting
        owner = await self.shared.engine.owner_address(watch.lot_id)
        if owner is not None:
            greeting = msgspec.structs.replace(greeting, owner=owner)
        try:
            watcher = await self.shared.hub.watch(
                self, watch.lot_id, watch.audience, watch.bidder_id, watch.after_seq,
                greeting=_ENCODER.encode(greeting), token_gen=watch.token_gen,
                heads=watch.heads)
        except Exception as exc:  # noqa: BLE001 - the protocol answers every failure
            return self.core.watched(watch, exc)
        self.watchers[watch.lot_id] = watcher
        return self.core.watched(watch)

    async def _execute(self, execute: protocol.Execute) -> list[Effect]:
        try:
            result = await self.shared.engine.execute(execute.lot_id, execute.command)
        except Exception as exc:  # noqa: BLE001 - the protocol answers every failure
            return self.core.executed(execute, exc)
        return self.core.executed(execute, result)

    async def _wait_for_room(self) -> None:
        """Wait until the client has taken most of what waits for it, or the connection
        is closing (the heartbeat closes a client that reads nothing at all)."""
        while (self.queued_bytes > self.shared.settings.ws_read_pause_bytes and not self.closing
               and not self.ws.closed):
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), 1.0)

    async def close(self, code: int, reason: str) -> None:
        """Stop sending and close with ``code``; cut the socket if the client does not
        complete the close handshake within :data:`CLOSE_TIMEOUT_S` or still has unsent
        data (a client that does not read would otherwise hold it open for ever, and
        hold up the server's shutdown)."""
        self.closing = True
        self._make_room()
        await self._stop_writer()
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120]),
                                   CLOSE_TIMEOUT_S)
        except asyncio.CancelledError:
            # aiohttp's close raises this when the writer was cancelled in mid-send; only
            # a cancellation of this task itself goes on.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        transport = self.transport
        if transport is not None and (not self.ws.closed
                                      or transport.get_write_buffer_size() > 0):
            transport.abort()

    async def finish(self) -> None:
        """Release everything: the subscriptions, the writer, a pending close."""
        self.closing = True
        self._make_room()
        if self._unwatched is not None:
            self._unwatched.cancel()
            self._unwatched = None
        await self._carry_out(self.core.close())
        await self._stop_writer()
        if self._closer is not None:
            await asyncio.gather(self._closer, return_exceptions=True)

    async def _stop_writer(self) -> None:
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write(self, queue: asyncio.Queue[bytes]) -> None:
        try:
            while True:
                frame = await queue.get()
                await self.ws.send_frame(frame, WSMsgType.TEXT)
                self.queued_bytes -= len(frame)
                if self.queued_bytes <= self.shared.settings.ws_read_pause_bytes:
                    self._make_room()
        except (ConnectionError, RuntimeError) as exc:  # the peer went away
            log.debug("WebSocket writer of %s stopped: %s", self.ip, exc)
            self.closing = True
            self._make_room()


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws`` as aiohttp serves it: refuse foreign origins (403) and addresses holding
    too many WebSockets already (429), then serve the protocol. A connection's first
    request that is a valid, allowed upgrade never gets here: the front serves it on the
    transport itself (:mod:`web.front`, :func:`admit`)."""
    settings = request.app[SETTINGS]
    ip = client_address(request, settings.trusted_proxies)
    refused = _refusal(request.app, request.headers.get("Origin"), request.host, ip)
    if refused is not None:
        if refused.status == 429:
            request.app[METRICS].rate_limited.labels("connections").inc()
        raise refused
    counter = request.app[LIMITS].connections
    try:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=settings.ws_heartbeat_s,
                                   compress=False, decode_text=False)
        ws.headers[REQUEST_ID_HEADER] = REQUEST_ID.get() or ""
        await ws.prepare(request)
        connection = Connection(request.app[SOCKETS], ws, request.transport, ip,
                                request.headers.get("User-Agent", ""))
        CONN_ID.set(connection.conn_id)  # for this connection's lines and its access line
        await _serve(request.app, connection)
    finally:
        counter.release(ip)
    return ws


async def _serve(app: web.Application, connection: Connection) -> None:
    """Run ``connection`` until it ends, listed among the application's connections."""
    connections = app[CONNECTIONS]
    connections.add(connection)
    try:
        await connection.run()
    finally:
        connections.discard(connection)
        await connection.finish()
        if not connection.ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.ws.close(), CLOSE_TIMEOUT_S)


def admit(app: web.Application, request: Request, peer: str) -> tuple[str, str] | None:
    """Whether the front serves the upgrade ``request`` from ``peer`` itself: its origin
    is allowed and its address holds a WebSocket less than the limit (one is counted
    for it now, released when the socket ends). The client's address and the request's
    id, or None: aiohttp's :func:`websocket_handler` then answers it (403, 429)."""
    headers = request.headers
    ip = address_of(peer, headers.get_all("X-Forwarded-For"), app[SETTINGS].trusted_proxies)
    if _refusal(app, headers.get("Origin"), headers.get("Host", ""), ip) is not None:
        return None
    return ip, request_id_from(headers.get(REQUEST_ID_HEADER, ""))


def _refusal(app: web.Application, origin: str | None, host: str, ip: str
             ) -> WebError | None:
    """Why a WebSocket upgrade from ``ip`` reaching the server as ``host`` is refused:
    a foreign ``origin`` (403), or ``ip`` holding as many WebSockets as it may (429).
    None when it is not: a WebSocket is then counted for ``ip`` (released when it
    ends)."""
    if origin is not None and not origin_allowed(origin, host, app[SETTINGS].allowed_origins):
        return WebError(403, "forbidden", f"origin {origin[:100]!r} may not open a WebSocket")
    counter = app[LIMITS].connections
    if not counter.acquire(ip):
        return WebError(429, "too_many_connections",
                        f"at most {counter.limit} WebSockets from one network address")
    return None


def serve_socket(app: web.Application, socket: Socket, request: Request, ip: str,
                 request_id: str) -> None:
    """Serve an upgrade the front accepted (:func:`admit`) on ``socket``, in a task of its
    own with the request's ids; its access line is written when it ends. The request
    itself is not kept (an idle socket holds only what it needs)."""
    socket.task = asyncio.get_running_loop().create_task(_serve_socket(
        app, socket, request.headers.get("User-Agent", ""), request.path.partition("?")[0],
        ip, request_id))


async def _serve_socket(app: web.Application, socket: Socket, user_agent: str, path: str,
                        ip: str, request_id: str) -> None:
    started = time.perf_counter()
    REQUEST_ID.set(request_id)
    try:
        connection = Connection(app[SOCKETS], socket, socket.transport, ip, user_agent)
        CONN_ID.set(connection.conn_id)
        await _serve(app, connection)
    finally:
        app[LIMITS].connections.release(ip)
        access_line("GET", path, 101, started, ip)


def front_site(runner: web.AppRunner, host: str, port: int) -> FrontSite:
    """The site ``runner`` listens with: upgrades to ``/ws`` served by the front."""
    app = runner.app
    settings = app[SETTINGS]
    return FrontSite(runner, host, port, header_timeout=settings.http_header_timeout_s,
                     heartbeat_s=settings.ws_heartbeat_s, max_size=MAX_MESSAGE,
                     admit=lambda request, peer: admit(app, request, peer),
                     serve=lambda socket, request, ip, rid: serve_socket(app, socket, request,
                                                                          ip, rid))


async def close_all(app: web.Application) -> None:
    """Shutdown: close every WebSocket with 1001 GOING_AWAY."""
    connections: set[Connection] = app[CONNECTIONS]
    # The front's connections end in tasks of their own (aiohttp waits for its own).
    tasks: list[Any] = [c.ws.task for c in list(connections)
                        if isinstance(c.ws, Socket) and c.ws.task is not None]
    await asyncio.gather(*(c.close(WSCloseCode.GOING_AWAY, "server shutdown")
                           for c in list(connections)), return_exceptions=True)
    if tasks:
        await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S + 1)
