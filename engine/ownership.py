"""Lot ownership on the shared (Redis) log: one process appends to a lot at a time.

* **Lease.** A lot's owner is the process whose id its lease key holds
  (:func:`engine.redis_keys.lease`, a string with a TTL of :data:`LEASE_TTL_MS`). A
  process takes a lot's lease when it is free or has expired (:meth:`Ownership.acquire`,
  one Lua script), and renews the leases of all its lots every third of the TTL in one
  call (:data:`RENEW`: up to :data:`RENEW_CHUNK` lots per call on a standalone Redis,
  a call per lot, pipelined, in a cluster, whose keys are on many nodes); a lease it
  finds taken by another is dropped at once.
* **Fencing.** Each take-over increases the lot's epoch (:func:`engine.redis_keys.epoch`).
  The owner appends with the epoch it took the lease under, and the append script refuses
  any other (:class:`engine.logs.redis.Fenced`): a process that lost its lease (stalled,
  partitioned, presumed dead) can never append again, so nothing it decides after the
  take-over is acknowledged.
* **Forwarding.** A command for a lot owned by another process is sent to the owner over
  that process's request/reply channel (:func:`engine.redis_keys.process`); the owner
  decides it and answers (the sequence numbers it recorded, or its rejection), and the
  forwarding process answers its client once it holds those records. When nobody
  listens on the owner's channel (it died), the forwarding process waits for the lease
  to expire and takes the lot over itself.
* **Where the owner is.** A process given an address its clients can reach it at directly
  (:attr:`Ownership.address`) keeps it in Redis beside its id (:func:`engine.redis_keys.address`,
  renewed with its leases); a process asked for a lot another process owns can then tell
  the client where to connect (:meth:`Ownership.owner_address`), so that a lot's clients
  gather on its owner and its commands need no forwarding.
"""

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from auction.lot import COMMANDS
from auction.model import Command
from engine import redis_keys as keys
from engine.eventlog import LogUnavailable
from engine.stopping import stop

log = logging.getLogger(__name__)

#: How long a lease lasts without renewal (ms): a dead owner's lots are taken over at
#: most this long after its last renewal (plus the timer poll for lots with a deadline).
LEASE_TTL_MS = 3000
#: An owner renews all its leases every TTL / RENEWALS_PER_TTL (1 s for 3 s).
RENEWALS_PER_TTL = 3
#: How long an owner keeps an ended lot's lease after the lot's last command (s): the
#: commands that come late (bids fired across the close) are decided without the lease
#: taken again for each, then it is given up (:meth:`Ownership.let_go`).
ENDED_HOLD_S = 5.0
#: The share of the TTL, counted from when a lease's taking or renewal was sent, during
#: which the lease is certainly still this process's (:meth:`Ownership.certain`): Redis
#: starts the TTL later than that, and a margin is left for its clock.
CERTAIN_SHARE = 0.5
#: How long a forwarded command waits for the owner's answer (s).
FORWARD_TIMEOUT_S = 5.0
#: How often a forwarded command waiting for its answer checks that the owner still
#: holds the lease and listens.
OWNER_CHECK_S = 0.5

ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if holder then return {0, holder} end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, epoch}
"""
#: The leases of lots held, renewed in one call. KEYS: each lot's lease and epoch keys in
#: turn, then this process's address key when it has an address; ARGV[1]: this
#: process's id, ARGV[2]: the TTL (ms), ARGV[3]: its address ('': none, no address
#: key), then the epoch of each lot. Whether each lot's lease was renewed (1) or is not
#: this process's under that epoch (0). On a standalone Redis one call renews up to
#: :data:`RENEW_CHUNK` lots; in a cluster, whose keys are on many nodes, each lot gets a
#: call of its own (in one pipeline) and the address is set apart.
RENEW = """
local pairs = #KEYS
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[pairs], ARGV[3], 'PX', ARGV[2])
  pairs = pairs - 1
end
local renewed = {}
for i = 1, pairs, 2 do
  if redis.call('GET', KEYS[i]) == ARGV[1]
     and tonumber(redis.call('GET', KEYS[i + 1]) or '0')
         == tonumber(ARGV[3 + (i + 1) / 2]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    renewed[#renewed + 1] = 1
  else
    renewed[#renewed + 1] = 0
  end
end
return renewed
"""
#: The most leases one call of :data:`RENEW` renews (Redis runs nothing else while a
#: script runs).
RENEW_CHUNK = 1000
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""

_COMMANDS: dict[str, type] = {kind.__name__: kind for kind in COMMANDS}

#: Serves a forwarded command: ``(lot_id, command) -> answer`` (a JSON-able dict).
Serve = Callable[[str, Command], Awaitable[dict[str, Any]]]


def encode_command(command: Command) -> dict[str, Any]:
    return {"t": type(command).__name__,
            "f": {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}}


def decode_command(doc: dict[str, Any]) -> Command:
    kind = _COMMANDS[doc["t"]]
    return typing.cast(Command, kind(**doc["f"]))


def _plain(value: object) -> object:
    """What orjson does not encode by itself in a command: read-only mappings."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} cannot be forwarded")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Ownership:
    """This process's leases on ``redis`` (the log's client) and its request channel."""

    def __init__(self, redis: Any, ttl_ms: int = LEASE_TTL_MS,
                 address: str | None = None) -> None:
        self.id = secrets.token_hex(8)
        self.ttl_ms = ttl_ms
        #: The WebSocket address clients can reach this process at directly, or None.
        self.address = address
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE)
        self._release = redis.register_script(RELEASE)
        self._renew = redis.register_script(RENEW)
        standalone = not isinstance(redis, aioredis.RedisCluster)
        #: Whether many lots' leases are renewed by one call (all keys on one node).
        self._scripted = standalone
        #: Whether PUBLISH and PUBSUB NUMSUB count every subscriber: not in Redis Cluster,
        #: where they count those of one node (there only the lease tells the owner left).
        self._counts = standalone
        #: The lots this process owns, with the epoch it took each under.
        self.held: dict[str, int] = {}
        #: Until when (monotonic s) each lease held is certainly still this process's.
        self._certain: dict[str, float] = {}
        #: Told of each lot this process stops owning (lost, found taken, given up).
        self.on_lost: Callable[[str], None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        #: The releases of the leases of ended lots not yet done (:meth:`let_go`).
        self._letting_go: dict[str, asyncio.Task[None]] = {}
        #: Ended lots held, with when their writer last went idle (:meth:`ended`).
        self._ended: dict[str, float] = {}
        self.ended_hold_s = ENDED_HOLD_S
        self._tasks: set[asyncio.Task[None]] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- leases

    def epoch(self, lot_id: str) -> int | None:
        return self.held.get(lot_id)

    def certain(self, lot_id: str) -> bool:
        """Whether the lot's lease is certainly still this process's now: taken or renewed
        by a call sent less than :data:`CERTAIN_SHARE` of the TTL ago. No other process
        can then have taken it over, so none has appended to the lot since (its appends
        would need an epoch after this process's)."""
        return time.monotonic() < self._certain.get(lot_id, 0.0)

    def _sure_until(self, lot_id: str, sent: float) -> None:
        self._certain[lot_id] = sent + self.ttl_ms * CERTAIN_SHARE / 1000

    async def acquire(self, lot_id: str) -> int | str:
        """The epoch this process owns the lot under (taking its lease if it is free or
        expired), or the id of the process that owns it."""
        letting_go = self._letting_go.get(lot_id)
        if letting_go is not None:  # never taken again before its release is done
            await asyncio.shield(letting_go)
        sent = time.monotonic()
        try:
            owned, value = await self._acquire(
                keys=[keys.lease(lot_id), keys.epoch(lot_id)], args=[self.id, self.ttl_ms])
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        if int(owned):
            epoch = int(value)
            if self.held.get(lot_id) != epoch:
                log.info("lot %s owned by this process (epoch %d)", lot_id, epoch)
            self.held[lot_id] = epoch
            self._sure_until(lot_id, sent)
            return epoch
        self._drop(lot_id)
        return _text(value)

    def _drop(self, lot_id: str) -> bool:
        """Forget the lot's lease; whether it was held."""
        self._ended.pop(lot_id, None)
        self._certain.pop(lot_id, None)
        if self.held.pop(lot_id, None) is None:
            return False
        if self.on_lost is not None:
            self.on_lost(lot_id)
        return True

    def lost(self, lot_id: str) -> None:
        """The lot's lease is no longer this process's (an append was fenced)."""
        if self._drop(lot_id):
            log.warning("lot %s: lease lost to another process", lot_id)

    def ended(self, lot_id: str) -> None:
        """The lot has ended and its writer went idle: its lease is given up at the first
        renewal :attr:`ended_hold_s` after this (each later command puts it off)."""
        if lot_id in self.held:
            self._ended[lot_id] = time.monotonic()

    def let_go(self, lot_id: str) -> None:
        """Give up the lease of an ended lot: nothing is appended to it in the normal
        course, so it costs no renewal, and the leases renewed stay as many as the live
        lots, not every lot the process ever served. A later command for the lot (at
        any process) takes the lease again, under a new epoch."""
        if not self._drop(lot_id) or lot_id in self._letting_go:
            return
        task = asyncio.create_task(self._give_up(lot_id))
        self._letting_go[lot_id] = task
        task.add_done_callback(lambda _: self._letting_go.pop(lot_id, None))

    async def _give_up(self, lot_id: str) -> None:
        try:
            await self._release(keys=[keys.lease(lot_id)], args=[self.id])
        except (RedisError, OSError) as exc:  # it expires by itself
            log.info("lot %s: lease not released (%s); it expires", lot_id, exc)

    async def renew(self) -> list[str]:
        """Renew every lease held (and this process's address), in one call; the lots
        whose lease was lost."""
        now = time.monotonic()
        for lot_id, since in list(self._ended.items()):
            if now - since >= self.ended_hold_s:
                self.let_go(lot_id)
        held = list(self.held.items())
        if not held and self.address is None:
            return []
        sent = time.monotonic()
        if self._scripted:
            answers = await self._renew_scripted(held)
        else:
            answers = await self._renew_pipelined(held)
        lost = []
        for (lot_id, epoch), ok in zip(held, answers, strict=True):
            if self.held.get(lot_id) != epoch:  # dropped or taken again meanwhile
                continue
            if int(ok):
                self._sure_until(lot_id, sent)
            else:
                lost.append(lot_id)
                self.lost(lot_id)
        return lost

    async def _renew_scripted(self, held: list[tuple[str, int]]) -> list[int]:
        """Whether each lease of ``held`` was renewed: one :data:`RENEW` call per
        :data:`RENEW_CHUNK` lots (the address set by the first)."""
        address = self.address or ""
        answers: list[int] = []
        for start in range(0, max(len(held), 1), RENEW_CHUNK):
            chunk = held[start:start + RENEW_CHUNK]
            answers += await self._renew(
                keys=[*(key for lot_id, _ in chunk
                        for key in (keys.lease(lot_id), keys.epoch(lot_id))),
                      *([keys.address(self.id)] if address else [])],
                args=[self.id, self.ttl_ms, address, *(epoch for _, epoch in chunk)])
            address = ""
        return answers

    async def _renew_pipelined(self, held: list[tuple[str, int]]) -> list[int]:
        """Whether each lease of ``held`` was renewed: a :data:`RENEW` call per lot in
        one pipeline, the address set apart (a cluster: the keys are on many nodes)."""
        pipe = self._redis.pipeline(transaction=False)
        for lot_id, epoch in held:
            await self._renew(keys=[keys.lease(lot_id), keys.epoch(lot_id)],
                              args=[self.id, self.ttl_ms, "", epoch], client=pipe)
        if self.address is not None:
            pipe.set(keys.address(self.id), self.address, px=self.ttl_ms)
        return [renewed for renewed, in (await pipe.execute())[:len(held)]]

    async def owner_address(self, lot_id: str) -> str | None:
        """The address of the process that owns ``lot_id``, when another process owns it
        and gave one; None otherwise (this process owns it, nobody does, or the owner has
        no address). Raises :class:`LogUnavailable` when Redis cannot be read."""
        if lot_id in self.held:
            return None
        try:
            holder = await self._redis.get(keys.lease(lot_id))
            if holder is None or _text(holder) == self.id:
                return None
            address = await self._redis.get(keys.address(_text(holder)))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return None if address is None else _text(address)

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 1000 / RENEWALS_PER_TTL)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable: the next renewal tries again
                log.warning("lease renewal failed: %s", exc)

    # ----------------------------------------------------------------- forwarding

    async def start(self, serve: Serve) -> None:
        """Renew leases, and serve commands forwarded to this process's lots."""
        listening = asyncio.Event()
        try:
            await self.renew()  # holds no lease yet: publishes the address, if any
        except (RedisError, OSError) as exc:  # the renewals publish it once Redis is back
            log.warning("could not publish this process's address: %s", exc)
        self._listener = asyncio.create_task(self._listen(serve, listening))
        self._renewer = asyncio.create_task(self._renewing())
        await asyncio.wait_for(listening.wait(), 10)

    async def forward(self, owner: str, lot_id: str, command: Command) -> dict[str, Any] | None:
        """Send ``command`` to ``owner`` and wait for its answer; None when no process
        listens on the owner's channel (it is gone). Raises :class:`TimeoutError` when no
        answer came (in :data:`FORWARD_TIMEOUT_S`, or the owner went away meanwhile):
        whether the owner decided the command is then unknown."""
        request = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[request] = future
        try:
            listeners = await self._redis.publish(keys.process(owner), orjson.dumps(
                {"q": request, "r": self.id, "l": lot_id, "c": encode_command(command)},
                default=_plain))
            if not listeners and self._counts:
                return None
            give_up = loop.time() + FORWARD_TIMEOUT_S
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), OWNER_CHECK_S)
                except TimeoutError:
                    if loop.time() >= give_up:
                        raise
                # The owner may have died or stalled after it took the command: nobody
                # will answer, or not before its lease ran out (its append is then fenced).
                if not await self._still_owner(owner, lot_id):
                    raise TimeoutError
        except TimeoutError:  # an OSError too: not a failure of Redis
            raise
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        finally:
            self._pending.pop(request, None)

    async def _still_owner(self, owner: str, lot_id: str) -> bool:
        """Whether ``owner`` still holds the lot's lease and listens on its channel."""
        holder = await self._redis.get(keys.lease(lot_id))
        if holder is None or _text(holder) != owner:
            return False
        if not self._counts:
            return True
        counts = await self._redis.pubsub_numsub(keys.process(owner))
        return any(int(count) > 0 for _, count in counts)

    async def _listen(self, serve: Serve, listening: asyncio.Event) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(keys.process(self.id))
                listening.set()
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg["type"] == "message":
                        self._on_message(msg["data"], serve)
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except (RedisError, OSError) as exc:
                log.warning("request channel lost (%s); reconnecting", exc)
                await pubsub.aclose()
                await asyncio.sleep(0.2)

    def _on_message(self, data: bytes, serve: Serve) -> None:
        try:
            message = orjson.loads(data)
            if "a" in message:
                future = self._pending.get(message["a"])
                if future is not None and not future.done():
                    future.set_result(message)
                return
            request, reply_to, lot_id = message["q"], message["r"], message["l"]
            command = decode_command(message["c"])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("ignored a malformed forwarded message: %r", exc)
            return
        task = asyncio.create_task(self._answer(serve, request, reply_to, lot_id, command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, serve: Serve, request: str, reply_to: str, lot_id: str,
                      command: Command) -> None:
        try:
            answer = await serve(lot_id, command)
        except Exception as exc:
            answer = {"err": str(exc) or type(exc).__name__}
        try:
            await self._redis.publish(keys.process(reply_to),
                                      orjson.dumps({"a": request, **answer}))
        except (RedisError, OSError) as exc:
            log.warning("could not answer a forwarded command: %s", exc)

    async def close(self) -> None:
        """Stop serving and renewing, and release every lease (others take over at once)."""
        await stop(self._listener, self._renewer, *self._tasks)
        await asyncio.gather(*self._letting_go.values(), return_exceptions=True)
        if self.address is not None:
            with contextlib.suppress(RedisError, OSError):  # it expires by itself
                await self._redis.delete(keys.address(self.id))
        for lot_id in list(self.held):
            try:
                await self._release(keys=[keys.lease(lot_id)], args=[self.id])
            except (RedisError, OSError):  # it expires by itself
                break
        self.held.clear()
        self._certain.clear()
