"""The Redis adapter of the event log, shared by every process of a deployment.

* One stream per lot (entry id ``<seq>-0``; fields ``b`` body, ``h`` hash, ``a`` time,
  ``t`` type), the lot's last sequence number and hash, a per-shard timer index and lot
  index (sorted sets), the sessions (a hash): key names in :mod:`engine.redis_keys`.
* The append is one Lua script: check the writer's fencing epoch (when it gives one:
  the lot's owner, :mod:`engine.ownership`) and the expected sequence number, add the rows to the
  stream, update the timer index, publish the rows to every process, atomically. Redis
  runs with ``appendfsync always`` (checked, and set when permitted, at open), so the
  script's reply means durable.
* The append publishes the rows on the lot's own channel (:func:`engine.redis_keys.fan`).
  A process follows only the lots it is told to (:meth:`RedisLog.watch`: those its
  clients watch), on one feed connection: :meth:`RedisLog.follow` delivers other
  processes' appends of those lots, and says when the feed was lost and is back (then
  whatever was published meanwhile must be read). A broadcast starts with its origin, so
  a process skips its own without decoding it.
"""

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from hiredis import pack_command
from redis.exceptions import NoScriptError, RedisError, ResponseError

from engine import redis_keys as keys
from engine.api import EngineError, Session
from engine.eventlog import (
    AppendFailed,
    AppendRefused,
    EventLog,
    Loaded,
    LogUnavailable,
    Polled,
    ResumedHook,
    Row,
    RowsHook,
    Stored,
    Unreadable,
)
from engine.loops import running
from engine.snapshots import Snapshot
from engine.stopping import stop

log = logging.getLogger(__name__)

APPEND = """
if ARGV[7] ~= '' and tonumber(redis.call('GET', KEYS[5]) or '0') ~= tonumber(ARGV[7]) then
  return -2
end
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if cur ~= tonumber(ARGV[2]) then return cur end
local last_seq, last_hash
for i = 14, #ARGV, 5 do
  redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'b', ARGV[i + 1], 'h', ARGV[i + 2],
             'a', ARGV[i + 3], 't', ARGV[i + 4])
  last_seq = ARGV[i]
  last_hash = ARGV[i + 2]
end
redis.call('HSET', KEYS[1], 'seq', last_seq, 'hash', last_hash)
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
  redis.call('ZADD', KEYS[7], ARGV[4], ARGV[1])
end
if ARGV[8] ~= '' then
  local was = redis.call('HMGET', KEYS[6], 'ended', 'status')
  if was[1] == '1' then redis.call('HINCRBY', KEYS[8], was[2], -1) end
  redis.call('HSET', KEYS[6], 'seq', ARGV[8], 'hash', ARGV[9], 'state', ARGV[10],
             'status', ARGV[11], 'session', ARGV[12], 'ended', ARGV[13])
  if ARGV[13] == '1' then
    redis.call('HINCRBY', KEYS[8], ARGV[11], 1)
    redis.call('ZREM', KEYS[7], ARGV[1])
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return -1
"""
#: A live lot's snapshot kept alone (:meth:`RedisLog.keep`): under the lot's current
#: epoch (ARGV[1], '' for none), of its last event (ARGV[2] and its hash ARGV[3]), and
#: newer than the snapshot it replaces. 1 kept, 0 not (moved on, or older), -2 fenced.
KEEP = """
if ARGV[1] ~= '' and tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[1]) then
  return -2
end
local meta = redis.call('HMGET', KEYS[1], 'seq', 'hash')
if meta[1] ~= ARGV[2] or meta[2] ~= ARGV[3] then return 0 end
if tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'hash', ARGV[3], 'state', ARGV[4],
           'status', ARGV[5], 'session', ARGV[6], 'ended', '0')
return 1
"""
TRIM = """
local snap = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local keep = math.min(tonumber(ARGV[1]), snap)
if keep > 0 then return redis.call('XTRIM', KEYS[2], 'MINID', (keep + 1) .. '-0') end
return 0
"""
#: A page of one shard's lot index (KEYS[1], ordered by creation time, then id) after
#: the lot created at ARGV[1] with id ARGV[2]: at most ARGV[3] ids with their scores.
#: Lots tied at that time are searched by id (a binary search over their ranks), so the
#: page costs the same however many lots were created in one millisecond.
PAGE = """
local function at_most(a, b)  -- byte order, as the index's (Lua's own follows the locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local lo = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
local hi = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if at_most(redis.call('ZRANGE', KEYS[1], mid, mid)[1], ARGV[2]) then
    lo = mid + 1
  else
    hi = mid
  end
end
return redis.call('ZRANGE', KEYS[1], lo, lo + tonumber(ARGV[3]) - 1, 'WITHSCORES')
"""
#: The poll of a standalone Redis (:meth:`RedisLog.poll`) in one call: the due members
#: of the shards' timer indexes (KEYS 1..n, at most ARGV[2] each, scored at most
#: ARGV[1]), the ended counts of their hashes (KEYS n+1..2n, flat: status, count...),
#: and the number of sessions (KEYS 2n+1); n is ARGV[3].
POLL = """
local shards = tonumber(ARGV[3])
local due, ended = {}, {}
for i = 1, shards do
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1],
                                     'LIMIT', 0, ARGV[2])) do
    due[#due + 1] = member
  end
  for _, value in ipairs(redis.call('HGETALL', KEYS[shards + i])) do
    ended[#ended + 1] = value
  end
end
return {due, ended, redis.call('HLEN', KEYS[2 * shards + 1])}
"""
#: Shards whose page is read at once (each a script call on a connection of its own).
PAGE_CALLS = 16
#: Connections to one Redis: appends of more lots at once wait for one (a Redis with
#: ``appendfsync always`` fsyncs once for all the commands it read together, so a few
#: dozen connections keep it busy; the client's default pool refuses the 101st).
REDIS_CONNECTIONS = 64
#: Most due lots taken from each shard's timer index per look.
DUE_PER_SHARD = 100
#: Live lots a start reads from Redis together (two round trips per this many).
LOAD_BATCH = 200


#: Seconds a command's replies may take before the connection is given up (and the
#: command's outcome is unknown: an append fails with :class:`AppendFailed`).
SOCKET_TIMEOUT_S = 5.0


def connect(url: str) -> Any:
    """A client for ``url``: ``redis://`` (one server) or ``redis+cluster://`` (Redis
    Cluster, any node's address)."""
    if url.startswith("redis+cluster://"):
        return aioredis.RedisCluster.from_url(url.replace("redis+cluster://", "redis://", 1),
                                              socket_timeout=SOCKET_TIMEOUT_S,
                                              socket_connect_timeout=3)
    return aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=5, socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=3, health_check_interval=5))


@functools.lru_cache(maxsize=4096)
def _append_keys(lot_id: str) -> tuple[list[str], str]:
    """The keys of the lot's :data:`APPEND` script (KEYS[1..8] in order) and its fan-out
    channel, made once for the lots appended to most recently (callers do not change
    the list)."""
    n = keys.shard(lot_id)
    return ([keys.meta(lot_id), keys.events(lot_id), keys.timers(n), keys.lots(n),
             keys.epoch(lot_id), keys.snapshot(lot_id), keys.live(n), keys.ended(n)],
            keys.fan(lot_id))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ended(shards: Iterable[dict[Any, Any]]) -> dict[str, int]:
    """The ended counts by status of the shards' hashes, summed (statuses at 0 left out)."""
    return _summed(pair for shard in shards for pair in shard.items())


def _summed(pairs: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    """``(status, count)`` pairs summed by status (statuses at 0 left out)."""
    counts: dict[str, int] = {}
    for status, count in pairs:
        counts[_text(status)] = counts.get(_text(status), 0) + int(count)
    return {status: n for status, n in counts.items() if n}


def _row(lot_id: str, seq: int, body: str, digest: str, at: object, kind: object) -> Row:
    """A row of a stream entry or a broadcast; one stored before entries carried their
    time and type takes them from its body."""
    if not isinstance(at, int) or not isinstance(kind, str):
        try:
            fields = orjson.loads(body)
            at, kind = int(fields["at"]), str(fields["type"])
        except (ValueError, KeyError, TypeError):  # read_back says what is wrong with it
            at, kind = 0, ""
    return Row(lot_id, seq, at, kind, body, digest)


def _snapshot(lot_id: str, raw: dict[bytes, bytes]) -> Snapshot | None:
    """The lot's snapshot from its Redis hash (None: none, or one not usable)."""
    if not raw:
        return None
    try:
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return Snapshot(lot_id, int(fields["seq"]), fields["hash"], fields["state"],
                        fields["ended"] == "1", fields["status"], fields["session"])
    except (KeyError, ValueError) as exc:  # derived data: replay the events instead
        log.warning("lot %s: its snapshot in redis is not used: %r", lot_id, exc)
        return None


def _rows(lot_id: str, entries: Any) -> list[Row]:
    """The rows of the lot's stream entries; raises :class:`Unreadable` for an entry
    that is not one."""
    try:
        return [_row(lot_id, int(eid.split(b"-")[0]), f[b"b"].decode(), f[b"h"].decode(),
                     int(f[b"a"]) if b"a" in f else None,
                     f[b"t"].decode() if b"t" in f else None)
                for eid, f in cast(list[tuple[bytes, dict[bytes, bytes]]], entries)]
    except (KeyError, ValueError) as exc:
        raise Unreadable(f"a stream entry is not an event row: {exc!r}") from None


class Gathered:
    """Calls of a script made in one turn of the event loop, sent to Redis together: one
    pipeline (not a transaction: each call stands alone, with its own outcome), so one
    round trip, one connection taken from the pool, and one write to Redis's append-only
    file for all the appends that many lots make at once, where each call on its own
    pays all of these. A call's outcome is its own reply or error; when the pipeline
    fails as a whole (the connection lost), every call of it fails with that error and
    whether each ran is unknown, as for a call made alone."""

    def __init__(self, redis: Any, script: Any) -> None:
        self._redis, self._script = redis, script
        self._calls: list[tuple[list[Any], list[Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, keys: list[Any], args: list[Any]) -> "asyncio.Future[Any]":
        loop = self._loop = running(self._loop)
        future: asyncio.Future[Any] = loop.create_future()
        if not self._calls:
            loop.call_soon(self._send)
        self._calls.append((keys, args, future))
        return future

    def _send(self) -> None:
        calls, self._calls = self._calls, []
        # The batch is every waiter's, not the first caller's: a context of its own.
        task = running(self._loop).create_task(self._run(calls), context=contextvars.Context())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run(self, calls: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]
                   ) -> None:
        try:
            replies = await self._pipeline(calls)
            again = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
            if again:  # Redis restarted and forgot the script: load it, call those again
                await self._redis.script_load(self._script.script)
                for i, reply in zip(again, await self._pipeline([calls[i] for i in again]),
                                    strict=True):
                    replies[i] = reply
        except BaseException as exc:
            for _, _, future in calls:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), reply in zip(calls, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipeline(self, calls: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]
                        ) -> list[Any]:
        """Every call in one write, then their replies in order (an error reply is that
        call's outcome). The calls are packed by hiredis in one go each: redis-py's
        pipeline encodes them argument by argument in Python (about 16 us for an append
        of one bid against 2 us) and wraps the round trip in machinery an append does
        not use. A connection that fails, or is left with replies unread (a cancelled
        batch), is closed, not given back as it is; the calls fail, whether they ran
        unknown (see :meth:`RedisLog.append`); so do they when the replies do not all
        come within the client's socket timeout."""
        sha = self._script.sha
        packed = b"".join(pack_command((b"EVALSHA", sha, len(keys), *keys, *args))
                          for keys, args, _ in calls)
        pool = self._redis.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(packed)
            replies: list[Any] = []
            # The replies within one socket timeout, not one each: redis-py enters a
            # timeout context per reply unless told to wait without one (math.inf).
            async with asyncio.timeout(conn.socket_timeout):
                for _ in calls:
                    try:
                        replies.append(await conn.read_response(timeout=math.inf))
                    except ResponseError as exc:
                        replies.append(exc)
            return replies
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        finally:
            await pool.release(conn)


class Fenced(AppendRefused):
    """The append was made under a fencing epoch that is no longer the lot's: another
    process took the lot over. Nothing was appended; nothing of it may be acknowledged."""


#: How many lots :attr:`RedisLog._trims` knows at most.
TRIMS_KNOWN = 100_000


class RedisLog(EventLog):
    """The log on ``url``. Many processes may share it."""

    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = connect(url)
        self._append = self._redis.register_script(APPEND)
        #: The poll in one script call, on a standalone Redis (a cluster's shards are on
        #: many nodes: a pipeline of their commands there).
        self._poll: Any = None
        if not isinstance(self._redis, aioredis.RedisCluster):  # (a cluster's lots are
            # on many nodes: each append goes alone)
            self._append = Gathered(self._redis, self._append)
            self._poll = self._redis.register_script(POLL)
        self._poll_keys = ([keys.timers(n) for n in range(keys.SHARDS)]
                           + [keys.ended(n) for n in range(keys.SHARDS)] + [keys.SESSIONS])
        self._trim = self._redis.register_script(TRIM)
        self._keep = self._redis.register_script(KEEP)
        self._page = self._redis.register_script(PAGE)
        #: Of each lot this process created or stored a snapshot of: ``[its snapshot's
        #: seq, the seq its stream is trimmed up to, whether the lot ended]``, so that a
        #: trim that can drop nothing is not sent (:meth:`trim`). A lot ended and trimmed
        #: up to its last snapshot is forgotten; at most :data:`TRIMS_KNOWN` are known.
        self._trims: dict[str, list[int]] = {}
        #: The event loop of the appends (:func:`engine.loops.running`).
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Marks this process's own broadcasts (the feed leaves them out).
        self._origin = secrets.token_hex(8)
        #: What every broadcast of this process starts with: its origin, then the JSON.
        self._mark = f"{self._origin}|".encode()
        #: Whether the feed of other processes' appends is up.
        self.following = False
        self._listener: asyncio.Task[None] | None = None
        #: The lots' channels the feed follows (:meth:`watch`), kept across reconnections.
        self._channels: set[str] = set()
        #: The feed's connection while it is up.
        self._pubsub: Any = None
        #: Subscriptions sent and not yet confirmed by Redis, by channel.
        self._confirming: dict[str, asyncio.Future[None]] = {}

    # ----------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        try:
            await self._redis.ping()
            await self._require_fsync()
        except (RedisError, OSError, TimeoutError) as exc:
            raise EngineError(f"redis at {self.url} is not usable: {exc}") from exc

    async def close(self) -> None:
        if self._listener is not None:
            await stop(self._listener)
            self._listener = None
        await self._redis.aclose()

    async def _require_fsync(self) -> None:
        """Redis must fsync every write before it answers, or an acknowledged bid could be
        lost in a crash: set ``appendonly yes`` and ``appendfsync always`` when it is not,
        and say so loudly when that is not permitted."""
        try:
            config = {_text(k): _text(v)
                      for k, v in (await self._redis.config_get("append*")).items()}
            if config.get("appendonly") != "yes" or config.get("appendfsync") != "always":
                await self._redis.config_set("appendonly", "yes")
                await self._redis.config_set("appendfsync", "always")
                log.warning("redis was not fsyncing every write; set appendonly yes, "
                            "appendfsync always (make it permanent in redis.conf)")
        except (RedisError, AttributeError) as exc:
            log.error("cannot check redis durability (%s): it MUST run with appendonly yes "
                      "and appendfsync always", exc)

    async def draw_key(self) -> bytes:
        """The deployment's draw key, made by the first process to start (SET NX)."""
        try:
            await self._redis.set(keys.DRAW_KEY, secrets.token_bytes(32), nx=True)
            key = await self._redis.get(keys.DRAW_KEY)
        except (RedisError, OSError, TimeoutError) as exc:
            raise EngineError(f"redis at {self.url} is not usable: {exc}") from exc
        if not isinstance(key, bytes) or len(key) != 32:
            raise EngineError(f"{keys.DRAW_KEY} in redis is not a 32-byte key")
        return key

    async def readiness(self) -> dict[str, str]:
        reasons: dict[str, str] = {}
        try:
            await asyncio.wait_for(self._redis.ping(), 2.0)
        except (RedisError, OSError, TimeoutError) as exc:
            reasons["redis"] = f"redis is unreachable ({type(exc).__name__})"
        if not self.following:
            reasons["redis_fanout"] = "the fan-out from redis is lost (reconnecting)"
        return reasons

    # ----------------------------------------------------------------- reads

    async def _lot_ids(self) -> list[str]:
        """Every lot of the shards' lot indexes, in order of creation."""
        pipe = self._redis.pipeline(transaction=False)
        for n in range(keys.SHARDS):
            pipe.zrange(keys.lots(n), 0, -1, withscores=True)
        found: list[tuple[float, str]] = []
        for members in await pipe.execute():
            found.extend((score, _text(member)) for member, score in members)
        return [lot_id for _, lot_id in sorted(found)]

    async def lot_page(self, after: str | None, limit: int,
                       session_id: str | None = None) -> list[str]:
        """Lots of every session (the lot indexes do not hold it: the caller filters),
        in order of creation (time, then id; from the first when ``after`` is unknown):
        each shard's index read from ``after``'s creation time on, at most ``limit``
        lots each (:data:`PAGE`), the shards merged: the cost of a page does not grow
        with the number of lots."""
        found: list[tuple[float, str]] = []
        try:
            created = (None if after is None
                       else await self._redis.zscore(keys.lots(keys.shard(after)), after))
            if created is None:
                pipe = self._redis.pipeline(transaction=False)
                for n in range(keys.SHARDS):
                    pipe.zrange(keys.lots(n), 0, limit - 1, withscores=True)
                for members in await pipe.execute():
                    found.extend((float(score), _text(m)) for m, score in members)
            else:
                for first in range(0, keys.SHARDS, PAGE_CALLS):
                    for flat in await asyncio.gather(*(
                            self._page(keys=[keys.lots(n)], args=[repr(created), after, limit])
                            for n in range(first, min(first + PAGE_CALLS, keys.SHARDS)))):
                        found.extend((float(flat[i + 1]), _text(flat[i]))
                                     for i in range(0, len(flat), 2))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return [lot_id for _, lot_id in sorted(found)[:limit]]

    async def load(self) -> Loaded:
        """The live lots of the shards' indexes of live lots, each from its snapshot and
        the stream after it; the ended lots only counted."""
        try:
            await self._index_live()
            loaded = Loaded(sessions=await self.sessions())
            pipe = self._redis.pipeline(transaction=False)
            for n in range(keys.SHARDS):
                pipe.zrange(keys.live(n), 0, -1, withscores=True)
            found: list[tuple[float, str]] = []
            for members in await pipe.execute():
                found.extend((score, _text(member)) for member, score in members)
            loaded.ended = await self.ended() or {}
            ids = [lot_id for _, lot_id in sorted(found)]
            for start in range(0, len(ids), LOAD_BATCH):
                chunk = ids[start:start + LOAD_BATCH]
                for lot_id, stored in zip(chunk, await self._stored(chunk), strict=True):
                    if isinstance(stored, Unreadable):
                        loaded.unreadable[lot_id] = str(stored)
                        continue
                    if stored is None:
                        continue
                    loaded.lots[lot_id] = stored.rows
                    if stored.snapshot is not None:
                        loaded.snapshots[lot_id] = stored.snapshot
        except (RedisError, OSError, TimeoutError, LogUnavailable) as exc:
            raise EngineError(f"redis at {self.url} is not usable: {exc}") from exc
        return loaded

    async def ended(self) -> dict[str, int] | None:
        """The shards' counts of ended lots by status, summed."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            for n in range(keys.SHARDS):
                pipe.hgetall(keys.ended(n))
            return _ended(await pipe.execute())
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc

    async def _index_live(self) -> None:
        """Once per deployment that ran before the indexes of live lots: every lot of
        the lot indexes whose snapshot does not say it ended is live."""
        if await self._redis.exists(keys.LIVE_INDEXED):
            return
        for lot_id in await self._lot_ids():
            snap = await self._redis.hmget(keys.snapshot(lot_id), "ended", "status")
            n = keys.shard(lot_id)
            if snap[0] in (b"1", "1"):
                continue  # counted by the script that wrote its snapshot
            score = await self._redis.zscore(keys.lots(n), lot_id)
            await self._redis.zadd(keys.live(n), {lot_id: score or 0})
        await self._redis.set(keys.LIVE_INDEXED, 1)
        log.info("redis: the indexes of live lots are made")

    async def lot(self, lot_id: str) -> Stored | None:
        stored = (await self._stored([lot_id]))[0]
        if isinstance(stored, Unreadable):
            raise stored
        return stored

    async def _stored(self, lot_ids: Sequence[str]) -> list[Stored | Unreadable | None]:
        """Each lot's snapshot and the rows after it (None: no such lot; Unreadable: an
        entry of its stream is not a row), in two round trips for all of them."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            for lot_id in lot_ids:
                pipe.hgetall(keys.snapshot(lot_id))
            snapshots = [_snapshot(lot_id, raw) for lot_id, raw in
                         zip(lot_ids, await pipe.execute(), strict=True)]
            pipe = self._redis.pipeline(transaction=False)
            for lot_id, snapshot in zip(lot_ids, snapshots, strict=True):
                after = snapshot.seq if snapshot is not None else 0
                pipe.xrange(keys.events(lot_id), f"{after + 1}-0", "+")
            streams = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        out: list[Stored | Unreadable | None] = []
        for lot_id, snapshot, entries in zip(lot_ids, snapshots, streams, strict=True):
            try:
                rows = _rows(lot_id, entries)
            except Unreadable as exc:
                out.append(exc)
                continue
            out.append(None if snapshot is None and not rows else Stored(snapshot, rows))
        return out

    async def read(self, lot_id: str, after_seq: int) -> list[Row]:
        try:
            entries = await self._redis.xrange(keys.events(lot_id), f"{after_seq + 1}-0", "+")
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return _rows(lot_id, entries)

    async def last_seq(self, lot_id: str) -> int:
        try:
            return int(await self._redis.hget(keys.meta(lot_id), "seq") or 0)
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc

    async def exists(self, lot_id: str) -> bool:
        try:
            return bool(await self._redis.exists(keys.meta(lot_id)))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc

    async def poll(self, now_ms: int) -> Polled:
        """The shards' due timers and ended counts and the number of sessions, in one
        script call (a cluster: one pipeline): the sessions themselves are read only
        when that number moves (a center's history of sessions is not read again every
        poll). Each process polls every half second whatever it does: a pipeline of its
        129 commands cost an idle process about 1 % of a core, the script a tenth."""
        if self._poll is not None:
            try:
                due, ended, sessions = await self._poll(
                    keys=self._poll_keys, args=[now_ms, DUE_PER_SHARD, keys.SHARDS])
            except (RedisError, OSError) as exc:
                raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
            return Polled([_text(m) for m in due], int(sessions),
                          _summed(zip(ended[::2], ended[1::2], strict=True)))
        return await self._poll_pipelined(now_ms)

    async def _poll_pipelined(self, now_ms: int) -> Polled:
        """:meth:`poll` as a pipeline of the shards' commands (a cluster)."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            for n in range(keys.SHARDS):
                pipe.zrangebyscore(keys.timers(n), "-inf", now_ms, start=0,
                                   num=DUE_PER_SHARD)
            for n in range(keys.SHARDS):
                pipe.hgetall(keys.ended(n))
            pipe.hlen(keys.SESSIONS)
            replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return Polled([_text(m) for members in replies[:keys.SHARDS] for m in members],
                      int(replies[-1]), _ended(replies[keys.SHARDS:-1]))

    async def sessions(self) -> list[Session]:
        try:
            stored = await self._redis.hgetall(keys.SESSIONS)
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        # Sessions stored before ``mode`` existed take the defaults (parallel).
        return [Session(**orjson.loads(raw)) for raw in stored.values()]

    # ----------------------------------------------------------------- writes

    async def add_session(self, session: Session) -> bool:
        body = orjson.dumps({"session_id": session.session_id, "name": session.name,
                             "created_at": session.created_at,
                             "created_by": session.created_by, "mode": session.mode,
                             "stagger_s": session.stagger_s})
        try:
            return bool(await self._redis.hsetnx(keys.SESSIONS, session.session_id, body))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc

    @property
    def redis(self) -> Any:
        """The client (shared with :mod:`engine.ownership`)."""
        return self._redis

    async def append(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                     deadline: int | None = None, epoch: int | None = None,
                     snapshot: Snapshot | None = None) -> bool:
        """See :meth:`EventLog.append`; with ``epoch``, raises :class:`Fenced` (nothing
        appended) when it is not the lot's current fencing epoch."""
        return await self._appending(lot_id, expected_seq, rows, deadline, epoch, snapshot)

    def append_soon(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                    deadline: int | None = None, epoch: int | None = None,
                    snapshot: Snapshot | None = None) -> "asyncio.Future[bool]":
        """:meth:`append` as a future of its outcome, made when the script call's reply
        comes (on a standalone Redis the call is a future of :class:`Gathered`: no task
        of its own)."""
        return self._appending(lot_id, expected_seq, rows, deadline, epoch, snapshot)

    def _appending(self, lot_id: str, expected_seq: int, rows: Sequence[Row],
                   deadline: int | None, epoch: int | None,
                   snapshot: Snapshot | None) -> "asyncio.Future[bool]":
        lot_keys, channel = _append_keys(lot_id)
        payload = self._mark + orjson.dumps(
            {"l": lot_id, "r": [(r.seq, r.body, r.hash, r.at, r.type) for r in rows]})
        args: list[Any] = [lot_id, expected_seq, "" if deadline is None else deadline,
                           rows[0].at if expected_seq == 0 else "", channel, payload,
                           "" if epoch is None else epoch]
        if snapshot is None:
            args.extend(("",) * 6)
        else:
            args.extend((snapshot.seq, snapshot.hash, snapshot.state, snapshot.status,
                         snapshot.session_id, int(snapshot.ended)))
        for r in rows:
            args.extend((r.seq, r.body, r.hash, r.at, r.type))
        started = time.perf_counter()
        loop = self._loop = running(self._loop)
        outcome: asyncio.Future[bool] = loop.create_future()
        call = asyncio.ensure_future(self._append(keys=lot_keys, args=args))

        def replied(call: "asyncio.Future[Any]") -> None:
            if call.cancelled():
                outcome.cancel()
                return
            exc = call.exception()
            if outcome.done():  # (given up by its waiter)
                return
            if isinstance(exc, (RedisError, OSError)):
                # Whether the script ran is unknown; the expected-sequence check makes
                # the next append of the lot find out (stale if it ran).
                outcome.set_exception(AppendFailed(
                    f"redis unavailable, nothing acknowledged: {exc}", str(exc)))
            elif exc is not None:
                outcome.set_exception(exc)
            else:
                try:
                    outcome.set_result(self._appended(lot_id, expected_seq, epoch, snapshot,
                                                      len(rows), started, call.result()))
                except Exception as refused:  # Fenced; or a reply not understood
                    outcome.set_exception(refused)
        call.add_done_callback(replied)
        return outcome

    def _appended(self, lot_id: str, expected_seq: int, epoch: int | None,
                  snapshot: Snapshot | None, rows: int, started: float, reply: Any) -> bool:
        """An append's outcome from its script's reply."""
        if int(reply) == -2:
            raise Fenced(f"lot {lot_id} is now owned by another process (epoch {epoch} is "
                         "over); nothing acknowledged, try again")
        if int(reply) != -1:
            return False
        if snapshot is not None:
            self._snapshotted(lot_id, snapshot.seq, snapshot.ended)
        elif expected_seq == 0:  # a new lot: no snapshot yet, nothing to trim
            self._snapshotted(lot_id, 0, False)
        if self.committed is not None:
            self.committed(time.perf_counter() - started, rows)
        return True

    async def keep(self, snapshot: Snapshot, epoch: int | None = None) -> bool:
        if snapshot.ended:
            return False
        lot_id = snapshot.lot_id
        try:
            kept = int(await self._keep(
                keys=[keys.meta(lot_id), keys.snapshot(lot_id), keys.epoch(lot_id)],
                args=["" if epoch is None else epoch, snapshot.seq, snapshot.hash,
                      snapshot.state, snapshot.status, snapshot.session_id]))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        if kept == 1:
            self._snapshotted(lot_id, snapshot.seq, snapshot.ended)
        return kept == 1

    def _snapshotted(self, lot_id: str, seq: int, ended: bool) -> None:
        """This process stored the lot's latest snapshot, after event ``seq`` (0: the
        lot is new, it has none)."""
        known = self._trims.get(lot_id)
        if known is None:
            if len(self._trims) >= TRIMS_KNOWN:  # forgetting only costs trims sent
                self._trims.clear()
            self._trims[lot_id] = [seq, 0, int(ended)]
        elif seq > known[0]:
            known[0], known[2] = seq, int(ended)

    async def trim(self, upto: Sequence[tuple[str, int]]) -> None:
        """Drop each lot's stream entries up to the smaller of ``seq`` (what Postgres
        holds) and the lot's snapshot (what a start needs), atomically per lot. A lot
        whose last snapshot this process stored is trimmed only when that drops
        something: between two snapshots (every :data:`engine.snapshots.EVERY` events)
        a lot's trims would drop nothing, and cost Redis a script call each."""
        sent: list[tuple[str, int]] = []
        try:
            pipe = self._redis.pipeline(transaction=False)
            for lot_id, seq in upto:
                known = self._trims.get(lot_id)
                if known is not None and min(seq, known[0]) <= known[1]:
                    continue
                await self._trim(keys=[keys.snapshot(lot_id), keys.events(lot_id)],
                                 args=[seq], client=pipe)
                sent.append((lot_id, seq))
            if sent:
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        for lot_id, seq in sent:
            known = self._trims.get(lot_id)
            if known is not None:
                known[1] = max(known[1], min(seq, known[0]))
                if known[2] and known[1] >= known[0]:
                    del self._trims[lot_id]

    # ----------------------------------------------------------------- following

    async def follow(self, rows: RowsHook, resumed: ResumedHook) -> None:
        listening = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(listening, rows, resumed))
        try:
            await asyncio.wait_for(listening.wait(), 10)
        except TimeoutError as exc:
            raise EngineError(f"redis at {self.url} is not usable: no fan-out") from exc

    def watching(self) -> int:
        return len(self._channels)

    async def watch(self, lot_id: str) -> None:
        """Follow the lot's appends: returns once Redis confirmed the subscription, so
        that every append after this call is delivered (the caller then reads what was
        appended before it). While the feed is down the lot is only noted: the feed
        subscribes to it when it is back, and says so (``resumed``)."""
        channel = keys.fan(lot_id)
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None:
            return
        confirmed = self._confirming.get(channel)
        if confirmed is None:
            confirmed = self._confirming[channel] = asyncio.get_running_loop().create_future()
            try:
                await pubsub.subscribe(channel)
            except (RedisError, OSError) as exc:  # the feed reconnects and resubscribes
                log.warning("lot %s: subscription not sent (%s)", lot_id, exc)
                self._confirming.pop(channel, None)
                return
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), 5)
        except TimeoutError:  # the feed is reconnecting: it resubscribes, then resumes
            log.warning("lot %s: subscription not confirmed in time", lot_id)

    async def unwatch(self, lot_id: str) -> None:
        """Stop following the lot's appends."""
        channel = keys.fan(lot_id)
        self._channels.discard(channel)
        pending = self._confirming.pop(channel, None)
        if pending is not None and not pending.done():
            pending.set_result(None)
        if self._pubsub is not None:
            try:
                await self._pubsub.unsubscribe(channel)
            except (RedisError, OSError) as exc:  # a new feed subscribes only to the others
                log.warning("lot %s: unsubscription not sent (%s)", lot_id, exc)

    async def _listen(self, listening: asyncio.Event, on_rows: RowsHook,
                      resumed: ResumedHook) -> None:
        """Follow the watched lots' appends; after a lost connection, subscribe again
        and say so."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(keys.feed(self._origin), *self._channels)
                self._pubsub = pubsub
                if listening.is_set():  # a reconnection: whatever was published meanwhile
                    await resumed()
                listening.set()
                self.following = True
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None:
                        continue
                    if msg["type"] == "message":
                        await self._on_message(msg["data"], on_rows)
                    elif msg["type"] == "subscribe":
                        confirmed = self._confirming.pop(_text(msg["channel"]), None)
                        if confirmed is not None and not confirmed.done():
                            confirmed.set_result(None)
            except asyncio.CancelledError:
                self._lost()
                await pubsub.aclose()
                raise
            except Exception as exc:  # the feed never ends: the runtime's hooks read
                # the log too (LogUnavailable, Postgres down), and resuming retries them
                self._lost()
                if isinstance(exc, (RedisError, OSError)):
                    log.warning("redis fan-out lost (%s); reconnecting", exc)
                else:
                    log.exception("redis fan-out failed; reconnecting")
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                await asyncio.sleep(0.2)

    def _lost(self) -> None:
        self.following = False
        self._pubsub = None
        for confirmed in self._confirming.values():  # the next feed subscribes, then resumes
            if not confirmed.done():
                confirmed.set_result(None)
        self._confirming.clear()

    async def _on_message(self, data: bytes, on_rows: RowsHook) -> None:
        if data.startswith(self._mark):
            return  # this process's own append: its writer has the rows
        try:
            message = orjson.loads(data[data.index(b"|") + 1:])
            lot_id = message["l"]
            rows = [_row(lot_id, int(r[0]), r[1], r[2], *(r[3:5] if len(r) == 5
                                                         else (None, None)))
                    for r in message["r"]]
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            # Not one of our broadcasts: the streams, read on a gap, are the record.
            log.error("ignored a malformed broadcast: %r", exc)
            return
        await on_rows(lot_id, rows)
