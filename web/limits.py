"""What one client may take of the server: message rates per network address and per
bidder, WebSocket connections per address, and who the client is behind a proxy.

Everything here is per process and in memory: counters are cheap, forgotten on restart,
and bounded (idle entries are dropped), so a flood of addresses cannot grow them without
limit. With several processes (scale-out) each one enforces its own limits.
"""

import ipaddress
import time
from collections.abc import Callable, Hashable

from aiohttp import web

from web.config import Settings

#: Entries a :class:`RateLimiter` keeps before it drops the idle ones.
MAX_KEYS = 50_000


class TokenBucket:
    """``rate`` per second on average, ``burst`` at once."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._refill(now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self, now: float) -> bool:
        """Whether the bucket has refilled completely (its owner has been quiet)."""
        self._refill(now)
        return self.tokens >= self.burst


class RateLimiter:
    """One :class:`TokenBucket` per key (an address, a bidder of a lot)."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable) -> bool:
        """Whether ``key`` may do one more thing now (and count it)."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    def _prune(self, now: float) -> None:
        """Forget the keys that have been quiet long enough to refill; if every key is
        busy (a flood from many addresses), forget the oldest half."""
        idle = [key for key, bucket in self._buckets.items() if bucket.full(now)]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            for key in list(self._buckets)[:len(self._buckets) // 2]:
                del self._buckets[key]


class ClientLimits:
    """The limits of one server process (see :class:`web.config.Settings`)."""

    def __init__(self, settings: Settings) -> None:
        #: Every WebSocket message, per client address.
        self.messages = RateLimiter(settings.address_rate, settings.address_burst)
        #: Bids, per ``(lot_id, bidder_id)``, whatever connection they come on.
        self.bids = RateLimiter(settings.bid_rate, settings.bid_burst)
        self.connections = ConnectionCounter(settings.max_connections_per_address)


class ConnectionCounter:
    """Open WebSocket connections per network address, up to ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def count(self, address: str) -> int:
        return self._open.get(address, 0)

    def acquire(self, address: str) -> bool:
        """Count one more connection from ``address``; False (and nothing counted) when it
        already has ``limit``."""
        count = self._open.get(address, 0)
        if count >= self.limit:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)


def client_address(request: web.Request, trusted_proxies: frozenset[str]) -> str:
    """The client's network address (:func:`address_of` the request's peer and its
    ``X-Forwarded-For``)."""
    return address_of(request.remote or "", request.headers.getall("X-Forwarded-For", []),
                      trusted_proxies)


def address_of(peer: str, forwarded: list[str], trusted_proxies: frozenset[str]) -> str:
    """The client's network address: the ``peer``'s, or, when the peer is one of the
    ``trusted_proxies`` (a reverse proxy in front of the server), the last address of
    ``X-Forwarded-For`` (the header's values, ``forwarded``) that is not itself a trusted
    proxy. Headers from any other peer are ignored: a client cannot choose its own
    address."""
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a malformed chain: trust nothing in it
        if address not in trusted_proxies:
            return address
    return peer
