"""What the locust users of :mod:`loadtests.locustfile` share: a WebSocket session that
reports its timings to locust, and the pool through which the host hands bidder tokens
to the bidders, across locust's processes.

Locust runs users as gevent greenlets; gevent and asyncio do not mix in one thread. The
users therefore use the ``websockets`` library's *synchronous* client
(``websockets.sync.client``): with locust's gevent monkey-patching its sockets, locks and
background reader thread become cooperative greenlets, so hundreds of connections share
one process without an asyncio loop. (The alternative, an asyncio loop in a real thread
per process with the users submitting coroutines to it, works too but puts two
schedulers and a thread hop on every message.)
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import orjson
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from locust import events
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, WorkerRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from web.client import LotSession, SessionView

log = logging.getLogger(__name__)

#: Rejection codes that are the normal outcome of bidders competing for the same price.
COMPETITIVE = frozenset({"not_improving", "already_leading", "closed", "below_start",
                         "off_step"})
REQUEST_TYPE = "WS"


def fire(name: str, started: float, length: int = 0, exception: Exception | None = None,
         environment: Environment | None = None) -> None:
    """Report one WebSocket exchange to locust (``started`` from ``time.perf_counter()``)."""
    (environment.events if environment is not None else events).request.fire(
        request_type=REQUEST_TYPE, name=name,
        response_time=(time.perf_counter() - started) * 1000, response_length=length,
        exception=exception, context={})


class ProtocolError(Exception):
    """The server answered something the protocol does not allow, or an error."""


class LotSocket(SessionView):
    """One WebSocket subscribed to one lot (as a bidder with ``token``, else public).

    A reader greenlet keeps the lot's latest ``state`` and resolves replies. Bids report
    ``bid→ack`` (send to acknowledgement) and ``bid→update`` (send to the ``update``
    carrying the bid) to locust; watchers report ``event→update`` (the event's server
    time to its arrival, corrected by the clock offset measured with ``ping``).
    """

    def __init__(self, ws_url: str, lot_id: str, token: str | None = None,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.ws_url, self.lot_id, self.token = ws_url, lot_id, token
        self.ws: ClientConnection | None = None
        #: Subscribed without after_seq: the current state, then live events.
        self.session = LotSession(lot_id, token, resume=False, keep_events=False)
        self.offset_ms: float | None = None
        self.closing = False
        self.on_failure = on_failure
        self._stack = contextlib.ExitStack()
        self._replies: dict[str, AsyncResult] = {}
        self._bids: dict[tuple[str, str], float] = {}
        self._reader: gevent.Greenlet | None = None
        self.watching = token is None

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        started = time.perf_counter()
        try:
            self.ws = self._stack.enter_context(_connect(self.ws_url))
            welcome = orjson.loads(self.ws.recv(timeout=30))
            if welcome.get("type") != "welcome":
                raise ProtocolError(f"expected welcome, got {welcome.get('type')}")
        except Exception as exc:
            fire("connect", started, exception=exc)
            raise
        fire("connect", started)
        self._reader = gevent.spawn(self._read)
        started = time.perf_counter()
        try:
            reply = self.request(self.session.subscribe(), timeout=30)
            if reply.get("type") != "subscribed":
                raise ProtocolError(f"subscribe refused: {reply.get('code')} "
                                    f"{reply.get('detail')}")
        except Exception as exc:
            fire("subscribe", started, exception=exc)
            raise
        fire("subscribe", started)

    def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            self._stack.close()
        if self._reader is not None:
            self._reader.join(timeout=5)

    # ------------------------------------------------------------------ requests

    def request(self, message: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send ``message`` (made by :attr:`session`) and wait for the reply carrying its
        ``ref``."""
        ref = message["ref"]
        if self.ws is None or (self._reader is not None and self._reader.dead):
            self.session.forget(ref)
            raise ConnectionError("not connected")
        result = AsyncResult()
        self._replies[ref] = result
        try:
            self.ws.send(orjson.dumps(message).decode())
            reply: dict[str, Any] = result.get(timeout=timeout)
            return reply
        except gevent.Timeout:
            raise TimeoutError(f"no reply within {timeout:g}s") from None
        finally:
            self._replies.pop(ref, None)
            self.session.forget(ref)

    def bid(self, amount: str) -> None:
        """Bid ``amount``; reports ``bid→ack`` (or the rejection) and ``bid→update``."""
        started = time.perf_counter()
        key = (self.bidder_no or "", amount)
        self._bids[key] = started
        try:
            reply = self.request(self.session.bid(amount))
        except Exception as exc:  # timeouts, a lost connection
            self._bids.pop(key, None)
            fire("bid→ack", started, exception=exc)
            return
        if reply["type"] == "ack":
            fire("bid→ack", started, len(orjson.dumps(reply)))
            return
        self._bids.pop(key, None)
        code = reply.get("code", "?")
        if reply["type"] == "rejected" and code in COMPETITIVE:
            fire(f"bid→rejected ({code})", started)
        else:
            fire("bid→ack", started,
                 exception=ProtocolError(f"{reply['type']} {code}: {reply.get('detail', '')}"))

    def ping(self) -> None:
        """Measure the round trip and the server clock's offset (``offset_ms``)."""
        started = time.perf_counter()
        sent_ms = time.time() * 1000
        try:
            reply = self.request(self.session.ping(int(sent_ms)))
        except Exception as exc:
            fire("ping→pong", started, exception=exc)
            return
        fire("ping→pong", started)
        now_ms = time.time() * 1000
        self.offset_ms = reply["server_time"] + (now_ms - sent_ms) / 2 - now_ms

    # ------------------------------------------------------------------ reading

    def _read(self) -> None:
        assert self.ws is not None
        try:
            for raw in self.ws:
                self._handle(orjson.loads(raw))
        except ConnectionClosed as exc:
            if not self.closing and self.on_failure is not None:
                self.on_failure(f"connection closed: {exc}")
        except Exception as exc:  # noqa: BLE001 - a broken promise of the protocol
            if self.on_failure is not None:
                self.on_failure(f"{type(exc).__name__}: {exc}")
        finally:
            for result in self._replies.values():
                if not result.ready():
                    result.set_exception(ConnectionError("connection lost"))

    def _handle(self, msg: dict[str, Any]) -> None:
        synced, last_seq = self.session.synced, self.session.last_seq
        reply = self.session.receive(msg)
        if msg.get("type") == "update" and synced:
            received = time.perf_counter()
            for event in msg["events"]:
                if event["seq"] > last_seq and event["type"] == "BidAccepted":
                    self._bid_seen(event, received)
        if reply is not None and reply["ref"] in self._replies:
            self._replies[reply["ref"]].set(reply)

    def _bid_seen(self, event: dict[str, Any], received: float) -> None:
        started = self._bids.pop((event.get("bidder_no") or "", event.get("amount") or ""), None)
        if started is not None:
            events.request.fire(request_type=REQUEST_TYPE, name="bid→update",
                                response_time=(received - started) * 1000, response_length=0,
                                exception=None, context={})
        elif self.watching and self.offset_ms is not None:
            lag = time.time() * 1000 + self.offset_ms - event["at"]
            events.request.fire(request_type=REQUEST_TYPE, name="event→update (watcher)",
                                response_time=max(0.0, lag), response_length=0,
                                exception=None, context={})


def _connect(ws_url: str) -> ClientConnection:
    options: dict[str, Any] = {"open_timeout": 30, "max_size": 2**22, "compression": None,
                               "user_agent_header": "auction-locust"}
    try:
        return connect(ws_url, proxy=None, **options)
    except TypeError:  # websockets < 15 has no proxy support to turn off
        return connect(ws_url, **options)


# --------------------------------------------------------------------------- tokens


class TokenPool:
    """Bidder tokens and lot ids, handed out across locust's processes.

    The host sends each lot's tokens to the master (``auction:tokens``); a bidder that
    needs one asks the master (``auction:want``) and waits for the answer
    (``auction:token``) in its own process. Without workers (one process) the same
    messages go from the runner to itself.
    """

    def __init__(self) -> None:
        # master side
        self._tokens: deque[tuple[str, str]] = deque()
        self._lots: list[str] = []
        self._waiting: deque[tuple[str, str]] = deque()
        # worker side
        self._received: dict[str, Queue] = {"token": Queue(), "lot": Queue()}
        self.environment: Environment | None = None

    def install(self, environment: Environment) -> None:
        self.environment = environment
        runner = environment.runner
        if isinstance(runner, (MasterRunner, LocalRunner)):
            runner.register_message("auction:tokens", self._on_tokens)
            runner.register_message("auction:want", self._on_want)
        if isinstance(runner, (WorkerRunner, LocalRunner)):
            runner.register_message("auction:token", self._on_token)

    # -------------------------------------------------------------- user side

    def offer(self, lot_id: str, tokens: list[str]) -> None:
        """Give the tokens of a lot (from the host)."""
        self._send("auction:tokens", {"lot_id": lot_id, "tokens": tokens})

    def take(self, kind: str, timeout: float) -> tuple[str, str]:
        """``(lot_id, token)`` for a bidder (``kind`` ``token``), ``(lot_id, "")`` for a
        watcher (``kind`` ``lot``); raises ``TimeoutError`` after ``timeout`` seconds."""
        self._send("auction:want", {"kind": kind})
        try:
            lot_id, token = self._received[kind].get(timeout=timeout)
        except Empty:
            raise TimeoutError(f"no {kind} from the host within {timeout:g}s") from None
        return lot_id, token

    def _send(self, kind: str, data: Any) -> None:
        assert self.environment is not None and self.environment.runner is not None
        self.environment.runner.send_message(kind, data)

    # -------------------------------------------------------------- master side

    def _on_tokens(self, environment: Environment, msg: Any, **_: Any) -> None:
        lot_id = msg.data["lot_id"]
        self._lots.append(lot_id)
        self._tokens.extend((lot_id, token) for token in msg.data["tokens"])
        self._serve(environment)

    def _on_want(self, environment: Environment, msg: Any, **_: Any) -> None:
        self._waiting.append((msg.node_id, msg.data["kind"]))
        self._serve(environment)

    def _serve(self, environment: Environment) -> None:
        runner = environment.runner
        assert runner is not None
        unserved: deque[tuple[str, str]] = deque()
        while self._waiting:
            node_id, kind = self._waiting.popleft()
            if kind == "token" and self._tokens:
                answer: tuple[str, str] = self._tokens.popleft()
            elif kind == "lot" and self._lots:
                answer = (random.choice(self._lots), "")
            else:
                unserved.append((node_id, kind))
                continue
            data = {"kind": kind, "lot_id": answer[0], "token": answer[1]}
            if isinstance(runner, MasterRunner):
                runner.send_message("auction:token", data, client_id=node_id)
            else:
                runner.send_message("auction:token", data)
        self._waiting = unserved

    # -------------------------------------------------------------- worker side

    def _on_token(self, environment: Environment, msg: Any, **_: Any) -> None:
        self._received[msg.data["kind"]].put((msg.data["lot_id"], msg.data["token"]))
