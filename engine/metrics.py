"""What the engine counts about itself, for the operators (``/metrics``, :mod:`web.metrics`).

The engine only counts: a histogram observation is a clock read and a bisection, with
no labels, no lock and no I/O, so the hot path stays cheap. How the figures are exposed
(names, format) is the web layer's business; this module imports nothing of it.
"""

import bisect
from typing import Protocol

#: Upper bounds (s) of the latency buckets: from a fraction of a millisecond (a
#: rejection decided in memory) to seconds (a store that stalls).
LATENCY_BOUNDS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Upper bounds of the commit batch sizes (rows made durable by one commit).
BATCH_BOUNDS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Histogram:
    """Counts of observations per bucket (each ``<=`` its upper bound, the last one
    unbounded), their sum and their number."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, observations <= it)`` per bucket, ending with ``inf``."""
        out, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out


class RecordLag(Protocol):
    """A permanent record written behind the live one (:class:`engine.pg_record.PgRecord`)."""

    def lag_ms(self) -> int: ...

    def rows_behind(self) -> int: ...


class EngineMetrics:
    """The figures of one engine (one per :class:`engine.runtime.Runtime`)."""

    def __init__(self) -> None:
        #: From a bidder's command reaching the engine to its result (ack or rejection).
        self.ack_seconds = Histogram(LATENCY_BOUNDS)
        #: How long one commit of the store took (SQLite's group commit with its fsync;
        #: Redis's append script, fsynced before it answers).
        self.commit_seconds = Histogram(LATENCY_BOUNDS)
        #: Rows (events) made durable by one commit.
        self.commit_rows = Histogram(BATCH_BOUNDS)
        #: The permanent record written behind the live one, if the backend has one.
        self.record: RecordLag | None = None
        #: Rows of other processes' appends this process's feed delivered (a shared log
        #: delivers those of the lots it follows only), and how many lots it follows.
        self.feed_rows = 0
        self.feed_lots = 0

    def committed(self, seconds: float, rows: int) -> None:
        """One commit of ``rows`` events took ``seconds``."""
        self.commit_seconds.observe(seconds)
        self.commit_rows.observe(rows)
