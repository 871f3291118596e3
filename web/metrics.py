"""``GET /metrics``: the server's figures in Prometheus's text format (prometheus-client).

Each application has its own :class:`prometheus_client.CollectorRegistry` (never the
library's global one), holding the edge's counters (bids by result, WebSocket errors,
rate-limit hits, slow clients cut), the engine's figures (:mod:`engine.metrics`: ack and
commit latencies, commit sizes, the permanent record's lag) and what is read when the
scrape comes (connections, subscriptions, lots by status, readiness). No label carries a
lot id, a bidder id or anything else a client chooses: only codes and names of this
program. docs/deployment.md lists every metric.

Who may read it: staff (a host's or a supervisor's ``Authorization: Bearer`` token), or a
client whose address is in ``metrics_allow`` (networks, such as the Prometheus server's;
behind a reverse proxy, the address ``trusted_proxies`` resolve). Anyone else gets 401
(403 for a bidder token), like the other staff routes.
"""

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from auction.state import AWARDED, CANCELLED, CLOSED, DRAFT, FAILED, OPEN, PAUSED, SCHEDULED
from engine.metrics import Histogram
from web.api import require_staff
from web.keys import CONNECTIONS, ENGINE, HUB, METRICS, SETTINGS
from web.limits import client_address

STATUSES = (DRAFT, SCHEDULED, OPEN, PAUSED, CLOSED, AWARDED, FAILED, CANCELLED)
#: Every check :meth:`engine.api.Engine.readiness` may report.
#: The limits whose hits are counted (``auction_rate_limited_total``'s ``limit``).
LIMITS = ("messages", "bids", "connections")
READINESS_CHECKS = ("engine", "store", "redis", "redis_fanout", "postgres", "postgres_lag")


class WebMetrics:
    """The metrics of one application: its registry and the edge's counters."""

    def __init__(self, app: web.Application) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        #: Bids (``kind`` ``bid``) and bidder actions (``act``) answered over WebSockets,
        #: by ``result``: ``accepted`` or the rejection's code.
        self.bids = Counter("auction_bids", "Bids and bidder actions answered, by result "
                            "(accepted or the rejection code)", ["kind", "result"], registry=r)
        self.ws_errors = Counter("auction_ws_errors", "WebSocket messages answered with an "
                                 "error, by code", ["code"], registry=r)
        self.rate_limited = Counter("auction_rate_limited", "Requests refused by a limit: "
                                    "messages per address, bids per bidder, WebSockets per "
                                    "address", ["limit"], registry=r)
        self.slow_clients = Counter("auction_ws_slow_clients_closed", "WebSockets closed for "
                                    "not reading their frames", registry=r)
        # Series known in advance exist from the start, at 0 (a rate over them works).
        for kind in ("bid", "act"):
            self.bids.labels(kind, "accepted")
        for limit in LIMITS:
            self.rate_limited.labels(limit)
        self.live = _Live(app)
        r.register(self.live)
        ProcessCollector(registry=r)
        GCCollector(registry=r)

    def scrape(self) -> bytes:
        return generate_latest(self.registry)


def _histogram(name: str, doc: str, histogram: Histogram) -> HistogramMetricFamily:
    buckets = [("+Inf" if bound == float("inf") else repr(float(bound)), count)
               for bound, count in histogram.cumulative()]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=histogram.sum)


class _Live(Collector):
    """What is read from the application and its engine at each scrape."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        #: The engine's readiness, read (asynchronously) by the handler before a scrape.
        self.reasons: dict[str, str] = {}

    def describe(self) -> Iterable[Metric]:
        return []  # computed at each scrape; nothing to check at registration

    def collect(self) -> Iterable[Metric]:
        app = self._app
        engine = app[ENGINE]
        figures = engine.metrics
        yield _histogram("auction_bid_ack_seconds", "From a bid (or bidder action) reaching "
                         "the engine to its result, in seconds", figures.ack_seconds)
        yield _histogram("auction_commit_seconds", "One commit of the store (with its fsync), "
                         "in seconds", figures.commit_seconds)
        yield _histogram("auction_commit_rows", "Events made durable by one commit",
                         figures.commit_rows)
        yield CounterMetricFamily("auction_feed_rows", "Events of other processes' appends "
                                  "this process's feed received and read (a shared log "
                                  "feeds only the lots this process's clients watch)",
                                  value=figures.feed_rows)
        yield GaugeMetricFamily("auction_feed_lots", "Lots this process's feed follows",
                                value=figures.feed_lots)
        connections = app[CONNECTIONS]
        yield GaugeMetricFamily("auction_ws_connections", "Open WebSockets",
                                value=len(connections))
        yield GaugeMetricFamily("auction_ws_subscriptions", "Lots watched over WebSockets, "
                                "summed over connections",
                                value=sum(len(c.watchers) for c in connections))
        yield GaugeMetricFamily("auction_ws_lots_watched", "Lots with at least one watcher "
                                "here (engine subscriptions of the fan-out)",
                                value=app[HUB].subscriptions())
        # Kept by the engine: ended lots left in the store are counted, none read.
        counts = dict.fromkeys(STATUSES, 0) | engine.counts()
        lots = GaugeMetricFamily("auction_lots", "Lots by status", labels=["status"])
        for status, count in counts.items():
            lots.add_metric([status], count)
        yield lots
        reasons = self.reasons
        yield GaugeMetricFamily("auction_engine_ready", "1 when the engine can serve commands "
                                "(/readyz answers 200), else 0", value=0 if reasons else 1)
        failing = GaugeMetricFamily("auction_engine_not_ready", "1 for each readiness check "
                                    "that fails", labels=["check"])
        for check in sorted(set(READINESS_CHECKS) | set(reasons)):
            failing.add_metric([check], 1 if check in reasons else 0)
        yield failing
        record = figures.record
        if record is not None:
            yield GaugeMetricFamily("auction_postgres_lag_seconds", "How far the Postgres "
                                    "record is behind the live one, in seconds",
                                    value=record.lag_ms() / 1000)
            yield GaugeMetricFamily("auction_postgres_rows_behind", "Events handed to the "
                                    "Postgres record and not yet written",
                                    value=record.rows_behind())


def may_scrape(request: web.Request) -> bool:
    """Whether the client's address is in ``metrics_allow``."""
    settings = request.app[SETTINGS]
    if not settings.metrics_allow:
        return False
    try:
        address = ipaddress.ip_address(client_address(request, settings.trusted_proxies))
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allow)


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics`` for staff and the addresses of ``metrics_allow``."""
    if not may_scrape(request):
        require_staff(request)
    metrics = request.app[METRICS]
    metrics.live.reasons = await request.app[ENGINE].readiness()
    return web.Response(body=metrics.scrape(), headers={
        "Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
