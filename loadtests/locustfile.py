"""Locust scenario: a host opens lots, bidders bid in them, watchers watch them, all over
the real HTTP API and WebSocket protocol of a running server (either backend).

Users:

* ``HostUser`` (exactly one): creates a session and ``--lots`` lots over the HTTP API,
  registers ``--bidders-per-lot`` bidders in each and confirms their deposits, opens the
  lot, and hands each bidder token to the bidders through the token pool (locust custom
  messages, so it works with ``--processes`` and with master/worker runs). Then it
  watches the lot list.
* ``BidderUser`` (one per token: ``lots × bidders-per-lot`` of them): takes a token,
  connects, subscribes as that bidder and, after each think time, bids the lot's next
  minimum price unless it is leading.
* ``WatcherUser`` (the remaining users): subscribes to a random lot as the public does
  and only listens (and pings every 10 s to know the server clock).

Locust statistics (request type ``WS``): ``connect``, ``subscribe``, ``bid→ack`` (a bid
sent to its acknowledgement), ``bid→update`` (a bid sent to the ``update`` that carries
it, on the bidder's own connection), ``bid→rejected (code)`` (losing a race for a price:
not an error), ``event→update (watcher)`` (server time of an event to its arrival at a
watcher, corrected by the measured clock offset) and ``ping→pong``; the host's HTTP calls
as usual. Failures are errors only: timeouts, lost connections, protocol errors, and
rejections other than the competitive ones (``rate_limited``, ``unavailable``, ...).

Headless, bounded run (see README "Load tests and benchmarks")::

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8080 \\
        --host-token "$HOST_TOKEN" --lots 50 --bidders-per-lot 20 \\
        -u 1100 -r 100 -t 60s --processes 1 --csv results/auction --only-summary

``-u`` counts every user: 1 host + lots × bidders-per-lot bidders + the watchers.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

import gevent
from gevent.pool import Pool
from locust import HttpUser, User, events, task
from locust.env import Environment
from locust.exception import StopUser

from loadtests.locust_support import LotSocket, TokenPool, fire

log = logging.getLogger(__name__)

POOL = TokenPool()
LOT_PARAMS: dict[str, Any] = {"start_price": "100000.00", "step": "100.00", "deposit": "1000.00"}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("auction", "the auction scenario")
    group.add_argument("--host-token", default=os.environ.get("AUCTION_HOST_TOKEN", ""),
                       help="a host's staff token (or AUCTION_HOST_TOKEN)")
    group.add_argument("--lots", type=int, default=50, help="lots the host opens")
    group.add_argument("--bidders-per-lot", type=int, default=20,
                       help="bidders registered in each lot (one BidderUser each)")
    group.add_argument("--think-min", type=float, default=1.0,
                       help="a bidder's shortest think time between bids, seconds")
    group.add_argument("--think-max", type=float, default=4.0,
                       help="a bidder's longest think time between bids, seconds")
    group.add_argument("--lot-duration", type=int, default=3600,
                       help="how long each lot stays open, seconds")
    group.add_argument("--ws-url", default="",
                       help="the WebSocket endpoint (default: the --host with ws:// and /ws)")


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    POOL.install(environment)
    opts = environment.parsed_options
    if opts is not None:
        BidderUser.fixed_count = opts.lots * opts.bidders_per_lot


def ws_url(user: User) -> str:
    opts = user.environment.parsed_options
    if opts is not None and opts.ws_url:
        return str(opts.ws_url)
    host = (user.host or "").rstrip("/")
    return host.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"


class HostUser(HttpUser):
    """Opens the lots and registers the bidders, then watches the lot list."""

    fixed_count = 1
    weight = 0

    def wait_time(self) -> float:
        return 5.0

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        assert opts is not None
        if not opts.host_token:
            raise StopUser("--host-token (or AUCTION_HOST_TOKEN) is required")
        self.headers = {"Authorization": f"Bearer {opts.host_token}"}
        self.session_id = self._post("/api/sessions", {"name": "locust"}, "/api/sessions")[
            "session_id"]
        workers = Pool(8)
        for _ in range(opts.lots):
            lot_id = self._post("/api/lots", {
                "session_id": self.session_id, "title": "locust lot", "format": "english",
                "params": {**LOT_PARAMS, "duration_s": opts.lot_duration}}, "/api/lots")[
                "lot_id"]
            tokens = workers.map(lambda n, lot_id=lot_id: self._register(lot_id, n),
                                 range(opts.bidders_per_lot))
            self._post(f"/api/lots/{lot_id}/schedule", {}, "/api/lots/[lot]/schedule")
            self._post(f"/api/lots/{lot_id}/start", {}, "/api/lots/[lot]/start")
            POOL.offer(lot_id, [t for t in tokens if t])

    def _register(self, lot_id: str, n: int) -> str | None:
        bidder_id = f"locust-{n:05d}"
        try:
            token = self._post(f"/api/lots/{lot_id}/bidders",
                               {"bidder_id": bidder_id, "name": f"Locust bidder {n}"},
                               "/api/lots/[lot]/bidders")["token"]
            self._post(f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit",
                       {"amount": LOT_PARAMS["deposit"], "account": f"acct-{n}"},
                       "/api/lots/[lot]/bidders/[bidder]/deposit")
        except RuntimeError:
            return None
        return str(token)

    def _post(self, path: str, body: dict[str, Any], name: str) -> dict[str, Any]:
        with self.client.post(path, json=body, headers=self.headers, name=name,
                              catch_response=True) as resp:
            if resp.status_code >= 300:
                resp.failure(f"{resp.status_code} {resp.text[:200]}")
                raise RuntimeError(f"POST {path}: {resp.status_code}")
            data: dict[str, Any] = resp.json()
            return data

    @task
    def lots(self) -> None:
        self.client.get(f"/api/lots?session_id={self.session_id}", headers=self.headers,
                        name="/api/lots?session_id=[session]")


class _SocketUser(User):
    abstract = True
    kind = "lot"

    def on_start(self) -> None:
        self.socket: LotSocket | None = None
        started = time.perf_counter()
        try:
            lot_id, token = POOL.take(self.kind, timeout=300)
        except TimeoutError as exc:
            fire(f"wait for a {self.kind}", started, exception=exc)
            raise StopUser() from exc
        self.socket = LotSocket(ws_url(self), lot_id, token or None, on_failure=self._failed)
        try:
            self.socket.open()
        except Exception as exc:
            log.warning("%s: %s", type(self).__name__, exc)
            raise StopUser() from exc

    def on_stop(self) -> None:
        if self.socket is not None:
            self.socket.close()

    def _failed(self, reason: str) -> None:
        fire("connection", time.perf_counter(), exception=ConnectionError(reason))


class BidderUser(_SocketUser):
    """A registered bidder: bids the next minimum price after each think time."""

    kind = "token"
    fixed_count = 1  # set from --lots × --bidders-per-lot when locust starts
    weight = 0

    def wait_time(self) -> float:
        opts = self.environment.parsed_options
        low, high = (opts.think_min, opts.think_max) if opts is not None else (1.0, 4.0)
        return random.uniform(low, high)

    @task
    def bid(self) -> None:
        socket = self.socket
        if socket is None or not socket.open_for_me():
            return
        socket.bid(socket.state["next_min"])


class WatcherUser(_SocketUser):
    """The public watching a lot: listens only."""

    kind = "lot"
    weight = 1

    def wait_time(self) -> float:
        return 10.0

    def on_start(self) -> None:
        super().on_start()
        if self.socket is not None:
            gevent.spawn(self.socket.ping)

    @task
    def ping(self) -> None:
        if self.socket is not None:
            self.socket.ping()
