"""The WebSocket endpoint ``GET /ws``: one connection per client, protocol in
docs/protocol.md.

Each connection has one reader (this handler: messages are handled one at a time, in
order) and, for a client that falls behind, one writer task draining a send queue.
Everything the client receives, in order — replies, and the update frames the
:class:`web.hub.Hub` pushes (encoded once per audience and shared) — is written in
batches straight to the socket while the client keeps up, else through that queue
(:meth:`Connection.push`). A client that lets more than
``Settings.ws_send_queue`` frames (or ``ws_send_bytes``) pile up is closed with
:data:`TOO_SLOW` so that it never slows the lot or the other clients; and while more than
``ws_read_pause_bytes`` wait for it, its next message is not read, so a client that
sends but does not read cannot make the server pile up replies and catch-ups.

Limits (:mod:`web.limits`): WebSockets per network address (refused with HTTP 429),
messages per second per address (``error`` ``rate_limited``) and bids per second per
bidder (``rejected`` ``rate_limited``). A connection that watches no lot for
``Settings.ws_subscribe_timeout_s`` (it never subscribed, or unsubscribed from all) is
closed with :data:`NO_SUBSCRIPTION` (1008).

Bad input never changes anything and never ends the connection, except frames over
:data:`MAX_MESSAGE` (closed with 1009 by aiohttp).
"""

import asyncio
import contextlib
import hashlib
import logging
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from auction.errors import InvalidAmount
from auction.model import Act as ActCommand
from auction.model import BidAccepted, Rejection
from auction.model import PlaceBid as PlaceBidCommand
from auction.money import format_amount, parse_amount
from auction.state import LotState
from auction.views import BIDDER, PUBLIC, STAFF
from engine.api import EngineError, Quarantined, UnknownLot
from web.auth import (
    BidderClaims,
    TokenError,
    check_generation,
    looks_like_bidder_token,
    verify_bidder_token,
)
from web.connlog import ConnectionLog
from web.errors import WebError, describe, lot_missing
from web.hub import Watcher
from web.keys import CONNECTION_LOG, CONNECTIONS, ENGINE, HUB, LIMITS, METRICS, SETTINGS
from web.keys import STAFF as STAFF_DIRECTORY
from web.limits import client_address
from web.logs import CONN_ID, LOT_ID, REF, REQUEST_ID
from web.logs import HEADER as REQUEST_ID_HEADER
from web.schemas import (
    Ack,
    Act,
    ErrorMessage,
    Invalid,
    Ping,
    PlaceBid,
    Pong,
    Rejected,
    ServerMessage,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Welcome,
    decode_message,
    ref_in,
    with_amount,
)

log = logging.getLogger(__name__)

PROTOCOL = 1
#: Largest frame the protocol handles; larger ones get ``error`` ``too_large``.
MAX_FRAME = 16 * 1024
#: Larger frames are not even read: the connection is closed with 1009.
MAX_MESSAGE = 1024 * 1024
#: Close code of a client that does not read its frames fast enough.
TOO_SLOW = 4000
#: Close code of a connection that watched no lot for ``Settings.ws_subscribe_timeout_s``.
NO_SUBSCRIPTION = WSCloseCode.POLICY_VIOLATION
#: How long a close handshake may take before the socket is cut.
CLOSE_TIMEOUT_S = 2.0
BAD = "bad_message"
#: Marks a message whose amount was good (see ``Connection._handle``).
_GOOD = object()
#: The method of :class:`Connection` that handles each message a client may send
#: (web.schemas.CLIENT_MESSAGES); one table for every connection.
_HANDLERS: dict[type[Any], str] = {Subscribe: "_subscribe", Unsubscribe: "_unsubscribe",
                                   PlaceBid: "_bid", Act: "_act", Ping: "_ping"}
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


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, uncompressed WebSocket text frame (RFC 6455 5.2),
    as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def device_of(user_agent: str) -> str:
    """The fingerprint recorded when the client names no ``device``: a hash of its
    User-Agent."""
    return "ua:" + hashlib.sha256(user_agent.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass
class _Subscription:
    watcher: Watcher
    role: str
    claims: BidderClaims | None
    device: str


class Connection:
    """One client's WebSocket: its subscriptions, send queue and writer task. It is the
    :class:`web.hub.Outbox` of its watchers."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, ip: str) -> None:
        app = request.app
        self.ws = ws
        self.request = request
        self.settings = app[SETTINGS]
        self.engine = app[ENGINE]
        self.hub = app[HUB]
        self.staff = app[STAFF_DIRECTORY]
        self.limits = app[LIMITS]
        self.metrics = app[METRICS]
        self.ip = ip
        self.default_device = device_of(request.headers.get("User-Agent", ""))
        self.connection_log, self.conn_id = app[CONNECTION_LOG], ConnectionLog.connection_id()
        self.subs: dict[str, _Subscription] = {}
        #: Frames waiting for a client that fell behind, drained by the writer task; both
        #: are made when the client first falls behind (an idle socket holds neither).
        self.queue: asyncio.Queue[bytes] | None = None
        #: Frames pushed since the last flush (see :meth:`_flush`).
        self._batch: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        #: Bytes of the frames in ``queue``.
        self.queued_bytes = 0
        #: Set when ``queued_bytes`` falls to ``ws_read_pause_bytes`` (or on closing);
        #: made by the first wait for it.
        self._room: asyncio.Event | None = None
        self.closing = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        #: Fires when the connection has watched no lot for ``ws_subscribe_timeout_s``.
        self._unwatched: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ Outbox

    def push(self, frame: bytes, *, catch_up: bool = False) -> None:
        """Send ``frame``: with the next batch while nothing is queued (see
        :meth:`_flush`), else through the queue; a client with too many frames waiting is
        closed."""
        if self.closing:
            return
        if self.queue is None or self.queue.empty():  # nothing is behind: next write
            self._batch.append(frame)
            if len(self._batch) == 1:
                self._loop.call_soon(self._loop.call_soon, self._flush)
            return
        if not catch_up and (self.queue.qsize() >= self.settings.ws_send_queue
                             or self.queued_bytes >= self.settings.ws_send_bytes):
            log.warning("closing a WebSocket from %s: it does not read its frames", self.ip)
            self.metrics.slow_clients.inc()
            self.drop(TOO_SLOW, "too slow: frames not read")
            return
        self._enqueue(frame)

    def _enqueue(self, frame: bytes) -> None:
        """Queue ``frame`` for the writer task (made with the queue, the first time)."""
        if self.queue is None:
            self.queue = asyncio.Queue()
            self._writer = self._loop.create_task(self._write(self.queue))
        self.queue.put_nowait(frame)
        self.queued_bytes += len(frame)

    def _make_room(self) -> None:
        if self._room is not None:
            self._room.set()

    def _flush(self) -> None:
        """Write the frames pushed since the last flush in one write, if the socket has
        room (its buffer below :data:`DIRECT_WRITE_LIMIT`); else hand them to the queue
        and its writer task, which waits for the client.

        A commit's ``update`` and ``you`` and the ``ack`` after them thus reach a client
        in one system call (the flush runs one turn of the event loop after the push, when
        the bidder's handler has answered), and the writer task (a queue and a wake-up
        per frame) is only used for a client that is behind. aiohttp writes each frame of
        its own (pings, close) whole and at once: frames never interleave."""
        batch, self._batch = self._batch, []
        if not batch or self.closing:
            return
        transport = self.request.transport
        if (transport is None or transport.is_closing() or self.ws.closed
                or transport.get_write_buffer_size() > DIRECT_WRITE_LIMIT
                or (self.queue is not None and not self.queue.empty())):
            for frame in batch:
                self._enqueue(frame)
            return
        transport.write(b"".join(text_frame(frame) for frame in batch))

    def drop(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` in the background."""
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self.close(code, reason))

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Serve the client until it leaves or is closed."""
        self._watch_deadline()
        self._send(Welcome(server_time=self.engine.now(), protocol=PROTOCOL,
                           max_frame=MAX_FRAME))
        async for msg in self.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break  # ERROR: aiohttp has closed the connection (1009 too big)
            await self._wait_for_room()
            data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
            if not self.limits.messages.take(self.ip):
                self.metrics.rate_limited.labels("messages").inc()
                self._error("rate_limited",
                            f"at most {self.settings.address_rate:g} messages per second "
                            "from one address", ref_in(data) if len(data) <= MAX_FRAME else None)
            elif len(data) > MAX_FRAME:
                self._error("too_large", f"frames are limited to {MAX_FRAME} bytes")
            elif msg.type == WSMsgType.BINARY:
                self._error(BAD, "binary frames are not accepted: send JSON text frames")
            else:
                await self._handle(data)

    def _watch_deadline(self) -> None:
        """Arm the subscription deadline while the connection watches no lot, disarm it
        while it watches one: a socket that never subscribes (a client that only pings,
        or sends nothing, or fails to authenticate) is closed instead of held for ever."""
        if self.subs:
            if self._unwatched is not None:
                self._unwatched.cancel()
                self._unwatched = None
        elif self._unwatched is None and not self.closing:
            self._unwatched = self._loop.call_later(self.settings.ws_subscribe_timeout_s,
                                                    self._no_subscription)

    def _no_subscription(self) -> None:
        self._unwatched = None
        if not self.subs and not self.closing:
            limit = self.settings.ws_subscribe_timeout_s
            log.info("closing a WebSocket from %s: no subscription within %g s", self.ip, limit)
            self.drop(NO_SUBSCRIPTION, f"no subscription within {limit:g} s")

    async def _wait_for_room(self) -> None:
        """Wait until the client has taken most of what waits for it, or the connection
        is closing (the heartbeat closes a client that reads nothing at all)."""
        while (self.queued_bytes > self.settings.ws_read_pause_bytes and not self.closing
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
        transport = self.request.transport
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
        for lot_id, sub in self.subs.items():
            self.hub.unwatch(sub.watcher)
            self.connection_log.left(lot_id, self.conn_id)
        self.subs.clear()
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
                if self.queued_bytes <= self.settings.ws_read_pause_bytes:
                    self._make_room()
        except (ConnectionError, RuntimeError) as exc:  # the peer went away
            log.debug("WebSocket writer of %s stopped: %s", self.ip, exc)
            self.closing = True
            self._make_room()

    # ------------------------------------------------------------------ replies

    def _send(self, message: ServerMessage) -> None:
        self.push(_ENCODER.encode(message))

    def _error(self, code: str, detail: str, ref: str | None = None) -> None:
        self.metrics.ws_errors.labels(code).inc()
        self._send(ErrorMessage(code=code, message=describe(code), detail=detail, ref=ref))

    def _rejected(self, kind: str, lot_id: str, ref: str, code: str, detail: str = "") -> None:
        """Answer a bid (``kind`` ``bid``) or an action (``act``) with a rejection."""
        self.metrics.bids.labels(kind, code).inc()
        log.debug("%s rejected: %s", kind, code)
        self._send(Rejected(lot_id=lot_id, ref=ref, code=code, message=describe(code),
                            detail=detail))

    # ------------------------------------------------------------------ messages

    async def _handle(self, data: bytes) -> None:
        bad_amount: Any = _GOOD
        try:
            msg = decode_message(data)
        except Invalid as exc:
            if exc.code != "invalid_amount":
                self._error(exc.code, exc.detail, ref_in(data))
                return
            # A bid or an action whose amount is bad: answered with ``rejected``
            # ``invalid_amount`` once the rest of it holds and the bidder may bid.
            try:
                msg, bad_amount = with_amount(data)
            except Invalid as again:
                self._error(again.code, again.detail, ref_in(data))
                return
        ref = msg.ref
        lot_token = LOT_ID.set(getattr(msg, "lot_id", None))
        ref_token = REF.set(ref)
        try:
            if bad_amount is _GOOD:
                await getattr(self, _HANDLERS[type(msg)])(msg)
            else:
                assert isinstance(msg, PlaceBid | Act)
                await self._bidder_command(msg.lot_id, msg.ref,
                                           msg.act if isinstance(msg, Act) else None, bad_amount)
        except Invalid as exc:
            self._error(exc.code, exc.detail, ref)
        except Quarantined as exc:
            self._error("quarantined", exc.reason, ref)
        except EngineError as exc:
            self._error("unavailable", str(exc), ref)
        except Exception:
            log.exception("WebSocket message %r failed", type(msg).__name__)
            self._error("internal_error", "", ref)
        finally:
            REF.reset(ref_token)
            LOT_ID.reset(lot_token)
            self._watch_deadline()

    def _lot(self, lot_id: str) -> LotState:
        state = self.engine.lot(lot_id)
        if state is None:
            missing = lot_missing(self.engine.quarantined(), lot_id)
            raise Invalid(missing.code, missing.detail)
        return state

    async def _subscribe(self, msg: Subscribe) -> None:
        lot_id, after_seq, token, device, ref = (msg.lot_id, msg.after_seq, msg.token,
                                                 msg.device, msg.ref)
        state = self._lot(lot_id)
        if after_seq is not None and after_seq > state.version:
            raise Invalid("bad_seq", f"after_seq {after_seq} is beyond the lot's last event "
                                     f"{state.version}")
        role, audience, claims = self._authenticate(lot_id, token, state)
        if lot_id not in self.subs and len(self.subs) >= self.settings.ws_max_subscriptions:
            raise Invalid("too_many_subscriptions",
                          f"at most {self.settings.ws_max_subscriptions} lots per connection")
        old = self.subs.pop(lot_id, None)
        if old is not None:
            self.hub.unwatch(old.watcher)
            self.connection_log.left(lot_id, self.conn_id)
        greeting = Subscribed(lot_id=lot_id, role=role,
                              bidder_no=claims.bidder_no if claims else None, ref=ref)
        try:
            watcher = await self.hub.watch(
                self, lot_id, audience, claims.bidder_id if claims else None, after_seq,
                greeting=_ENCODER.encode(greeting), token_gen=claims.gen if claims else None)
        except UnknownLot:
            raise Invalid("unknown_lot", f"no lot {lot_id!r}") from None
        self.subs[lot_id] = _Subscription(watcher, role, claims, device or self.default_device)
        if role != PUBLIC:  # joins of bidders and staff are logged for the supervisors
            log.info("subscribed as %s%s", role,
                     f" (bidder number {claims.bidder_no})" if claims else "")
            staff = None if claims else self.staff.lookup(token or "")
            self.connection_log.joined(
                lot_id, self.conn_id, role=role, ip=self.ip, device=device or self.default_device,
                bidder_id=claims.bidder_id if claims else None,
                bidder_no=claims.bidder_no if claims else None,
                staff_id=staff.staff_id if staff else None)

    def _authenticate(self, lot_id: str, token: str | None,
                      state: LotState) -> tuple[str, str, BidderClaims | None]:
        """``(role, audience, claims)`` of ``token`` for ``lot_id``."""
        if token is None:
            return PUBLIC, PUBLIC, None
        staff = self.staff.lookup(token)
        if staff is not None:
            return staff.role, STAFF, None
        if not looks_like_bidder_token(token):
            raise Invalid("bad_token", "the token is neither a staff nor a bidder token")
        try:
            claims = verify_bidder_token(self.settings.secret, token, self.engine.now(), lot_id)
            bidder = state.bidders.get(claims.bidder_id)
            if bidder is None or bidder.bidder_no != claims.bidder_no:
                raise TokenError("the bidder is not registered in this lot")
            check_generation(claims, bidder.token_gen)
        except TokenError as exc:
            raise Invalid("bad_token", str(exc)) from None
        return BIDDER, BIDDER, claims

    async def _unsubscribe(self, msg: Unsubscribe) -> None:
        lot_id = msg.lot_id
        sub = self.subs.pop(lot_id, None)
        if sub is None:
            raise Invalid("not_subscribed", f"not subscribed to {lot_id!r}")
        self.hub.unwatch(sub.watcher)
        self.connection_log.left(lot_id, self.conn_id)
        self._send(Unsubscribed(lot_id=lot_id, ref=msg.ref))

    async def _bid(self, msg: PlaceBid) -> None:
        await self._bidder_command(msg.lot_id, msg.ref, None, msg.amount)

    async def _act(self, msg: Act) -> None:
        """A bidder action other than a price (``confirm``, ``accept``, ``proxy``...):
        answered like a bid, with ``ack`` or ``rejected``."""
        await self._bidder_command(msg.lot_id, msg.ref, msg.act, msg.amount)

    async def _bidder_command(self, lot_id: str, bid_ref: str, act: str | None,
                              amount: Any) -> None:
        """Decide a bid (``act`` None) or an action of the subscribed bidder. A bid's
        amount (and an action's, when not null) must be a decimal string, else
        ``invalid_amount``."""
        kind = "bid" if act is None else "act"
        state = self._lot(lot_id)
        sub = self.subs.get(lot_id)
        if sub is None or sub.claims is None:
            what = "bid" if act is None else "act"
            detail = (f"only a bidder subscribed to this lot with its bidder token may {what}"
                      if sub is None or sub.role == PUBLIC else f"a {sub.role} may not {what}")
            self._rejected(kind, lot_id, bid_ref, "forbidden", detail)
            return
        claims = sub.claims
        if claims.exp <= self.engine.now():
            self._rejected(kind, lot_id, bid_ref, "bad_token",
                           "the bidder token has expired: subscribe with a new one")
            return
        if not self.limits.bids.take((lot_id, claims.bidder_id)):
            self.metrics.rate_limited.labels("bids").inc()
            self._rejected(kind, lot_id, bid_ref, "rate_limited",
                           f"at most {self.settings.bid_rate:g} bids per second per bidder")
            return
        decimals = state.params.decimals
        minor: int | None = None
        if amount is not None or act is None:
            try:
                minor = parse_amount(amount, decimals)
            except InvalidAmount as exc:
                self._rejected(kind, lot_id, bid_ref, "invalid_amount", exc.message)
                return
        command: PlaceBidCommand | ActCommand
        if act is None:
            assert minor is not None
            command = PlaceBidCommand(bidder_id=claims.bidder_id, amount=minor, ip=self.ip,
                               device=sub.device, ref=bid_ref, token_gen=claims.gen)
        else:
            command = ActCommand(bidder_id=claims.bidder_id, act=act, amount=minor, ip=self.ip,
                          device=sub.device, ref=bid_ref, token_gen=claims.gen)
        try:
            result = await self.engine.execute(lot_id, command)
        except UnknownLot:
            raise Invalid("unknown_lot", f"no lot {lot_id!r}") from None
        except EngineError as exc:
            self._rejected(kind, lot_id, bid_ref, "unavailable", str(exc))
            return
        if isinstance(result, Rejection):
            self._rejected(kind, lot_id, bid_ref, result.code, result.detail)
            return
        ack = Ack(lot_id=lot_id, ref=bid_ref, seq=result[0].seq, at=result[0].event.at,
                  act=act)
        self.metrics.bids.labels(kind, "accepted").inc()
        log.debug("%s accepted: seq %d", kind, result[0].seq)
        accepted = next((rec.event for rec in result if isinstance(rec.event, BidAccepted)
                         and rec.event.bidder_id == claims.bidder_id), None)
        if accepted is not None and act is None:
            ack.amount = format_amount(accepted.amount, decimals)
        elif minor is not None:
            ack.amount = format_amount(minor, decimals)
        self._send(ack)

    async def _ping(self, msg: Ping) -> None:
        now = self.engine.now()
        self._send(Pong(client_time=msg.client_time, server_time=now,
                        offset_ms=now - msg.client_time, ref=msg.ref))


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws``: refuse foreign origins (403) and addresses holding too many
    WebSockets already (429), then serve the protocol."""
    settings = request.app[SETTINGS]
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(origin, request.host,
                                                 settings.allowed_origins):
        raise WebError(403, "forbidden", f"origin {origin[:100]!r} may not open a WebSocket")
    ip = client_address(request, settings.trusted_proxies)
    counter = request.app[LIMITS].connections
    if not counter.acquire(ip):
        request.app[METRICS].rate_limited.labels("connections").inc()
        raise WebError(429, "too_many_connections",
                       f"at most {counter.limit} WebSockets from one network address")
    try:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=settings.ws_heartbeat_s,
                                   compress=False, decode_text=False)
        ws.headers[REQUEST_ID_HEADER] = REQUEST_ID.get() or ""
        await ws.prepare(request)
        connection = Connection(request, ws, ip)
        CONN_ID.set(connection.conn_id)  # for this connection's lines and its access line
        connections = request.app[CONNECTIONS]
        connections.add(connection)
        try:
            await connection.run()
        finally:
            connections.discard(connection)
            await connection.finish()
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
    finally:
        counter.release(ip)
    return ws


async def close_all(app: web.Application) -> None:
    """Shutdown: close every WebSocket with 1001 GOING_AWAY."""
    connections: set[Connection] = app[CONNECTIONS]
    await asyncio.gather(*(c.close(WSCloseCode.GOING_AWAY, "server shutdown")
                           for c in list(connections)), return_exceptions=True)
