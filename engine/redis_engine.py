"""The scale-out backend: several processes share one Redis and one Postgres.

* Redis holds the live record: one stream per lot (entry id ``<seq>-0``), the lot's last
  sequence number and hash, a per-shard timer index (sorted set) and lot index. The
  append is one Lua script: check the expected sequence number, add the events to the
  stream, update the timer index, publish the events to every process, atomically.
  Redis runs with ``appendfsync always``, so a reply to the script means durable.
* Any process can serve any lot. A process decides a lot's commands against its copy of
  the lot's state; if another process appended first, the script refuses (the expected
  sequence number is stale), the process reads what it missed and decides again.
* Every process folds every lot's events (from the published messages, with a read of
  the stream when it sees a gap), so every process has every lot's deadlines armed; the
  first to append the close wins and the others' attempts decide nothing. The timer
  index is polled as a backstop, so a deadline fires even if no process had it armed.
* Postgres (:mod:`engine.pg_record`) receives every event in the background.
"""

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import asyncpg
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from auction.errors import RecordError
from auction.lot import evolve, next_deadline
from auction.model import Rejection
from auction.record import Recorded, encode_event, event_to_dict
from auction.state import LotState
from engine import redis_keys as keys
from engine.api import EngineError, Session, UnknownLot
from engine.pg_record import MAX_LAG_MS, PROBE_S, PgRecord, PgRow
from engine.runtime import (
    MAX_BATCH,
    Ahead,
    Lot,
    Result,
    Runtime,
    Waiter,
    answer,
    clone,
    fail_waiters,
    read_back,
)
from engine.sqlite_store import encode_body

log = logging.getLogger(__name__)

APPEND = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if cur ~= tonumber(ARGV[2]) then return cur end
local last_seq, last_hash
for i = 7, #ARGV, 3 do
  redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'b', ARGV[i + 1], 'h', ARGV[i + 2])
  last_seq = ARGV[i]
  last_hash = ARGV[i + 2]
end
redis.call('HSET', KEYS[1], 'seq', last_seq, 'hash', last_hash)
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return -1
"""
#: Attempts at one batch when other processes keep appending to the same lot first.
MAX_ATTEMPTS = 50
#: Connections to one Redis: appends of more lots at once wait for one (a Redis with
#: ``appendfsync always`` fsyncs once for all the commands it read together, so a few
#: dozen connections keep it busy; the client's default pool refuses the 101st).
REDIS_CONNECTIONS = 64
#: How often the timer index is polled as a backstop (seconds).
POLL_S = 0.5


def connect(url: str) -> Any:
    """A client for ``url``: ``redis://`` (one server) or ``redis+cluster://`` (Redis
    Cluster, any node's address)."""
    if url.startswith("redis+cluster://"):
        return aioredis.RedisCluster.from_url(url.replace("redis+cluster://", "redis://", 1),
                                              socket_timeout=5, socket_connect_timeout=3)
    return aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=5, socket_timeout=5,
        socket_connect_timeout=3, health_check_interval=5))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _row(record: Recorded) -> tuple[int, str, str]:
    return record.seq, record.body or encode_body(event_to_dict(record.event)), record.hash


class RedisEngine(Runtime):
    """The engine on ``redis_url`` (live record, timers, fan-out) and ``postgres_dsn``
    (permanent record). Many processes may run on the same pair."""

    def __init__(self, redis_url: str, postgres_dsn: str | None,
                 clock: Callable[[], int] | None = None,
                 postgres_max_lag_ms: int = MAX_LAG_MS) -> None:
        super().__init__(clock)
        self.redis_url = redis_url
        #: How far the permanent record may lag before :meth:`readiness` says so.
        self.postgres_max_lag_ms = postgres_max_lag_ms
        #: Whether the fan-out subscription is up (every process's appends are followed).
        self._following = False
        self._redis = connect(redis_url)
        self._append = self._redis.register_script(APPEND)
        self._sessions: dict[str, Session] = {}
        self._tasks: list[asyncio.Task[None]] = []
        #: Marks this process's own broadcasts (their rows it hands over itself).
        self._origin = secrets.token_hex(8)
        self.record_store = (PgRecord(postgres_dsn, source=self._pg_rows, lots=self.lot_ids,
                                      clock=self.now)
                             if postgres_dsn else None)
        self.metrics.record = self.record_store

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            await self._redis.ping()
            await self._require_fsync()
            await self._load_draw_key()
            listening = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._listen(listening)))
            await asyncio.wait_for(listening.wait(), 10)
            await self._load_all()
        except (RedisError, OSError, TimeoutError) as exc:
            await self.close()
            raise EngineError(f"redis at {self.redis_url} is not usable: {exc}") from exc
        self._tasks.append(asyncio.create_task(self._poll_timers()))
        if self.record_store is not None:
            await self.record_store.start()
        self._coordinator.start()

    async def close(self) -> None:
        if self._closing:
            return
        await self._stop_runtime()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.record_store is not None:
            await self.record_store.close()
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

    async def _load_draw_key(self) -> None:
        """The deployment's draw key, made by the first process to start (SET NX)."""
        await self._redis.set(keys.DRAW_KEY, secrets.token_bytes(32), nx=True)
        key = await self._redis.get(keys.DRAW_KEY)
        if not isinstance(key, bytes) or len(key) != 32:
            raise EngineError(f"{keys.DRAW_KEY} in redis is not a 32-byte key")
        self.draw_key = key

    async def _load_all(self) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for n in range(keys.SHARDS):
            pipe.zrange(keys.lots(n), 0, -1, withscores=True)
        found: list[tuple[float, str]] = []
        for members in await pipe.execute():
            found.extend((score, member.decode()) for member, score in members)
        for _, lot_id in sorted(found):
            await self._catch_up(self._lots.setdefault(lot_id, Lot(lot_id)))
        await self._load_sessions()
        log.info("loaded %d lots from redis", len(found))

    async def _load_sessions(self) -> None:
        for raw in (await self._redis.hgetall(keys.SESSIONS)).values():
            # Sessions stored before ``mode`` existed take the defaults (parallel).
            s = orjson.loads(raw)
            if s["session_id"] not in self._sessions:
                session = self._sessions[s["session_id"]] = Session(**s)
                self._coordinator.new_session(session)

    async def readiness(self) -> dict[str, str]:
        reasons = self._runtime_reasons()
        try:
            await asyncio.wait_for(self._redis.ping(), PROBE_S)
        except (RedisError, OSError, TimeoutError) as exc:
            reasons["redis"] = f"redis is unreachable ({type(exc).__name__})"
        if not self._following:
            reasons["redis_fanout"] = "the fan-out from redis is lost (reconnecting)"
        if self.record_store is not None:
            reasons.update(await self.record_store.readiness(self.postgres_max_lag_ms))
        return reasons

    # ----------------------------------------------------------------- reads

    def _session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[Session]:
        return sorted(self._sessions.values(), key=lambda s: (s.created_at, s.session_id))

    async def session(self, session_id: str) -> Session | None:
        """Sessions of other processes are read every ``POLL_S``; one not known yet is
        looked for in Redis at once."""
        if session_id not in self._sessions:
            try:
                await self._load_sessions()
            except (RedisError, OSError) as exc:
                raise EngineError(f"redis unavailable: {exc}") from exc
        return self._sessions.get(session_id)

    async def _known(self, lot_id: str) -> None:
        """Make sure a lot created by another process is known here."""
        if lot_id not in self._lots and await self._redis.exists(keys.meta(lot_id)):
            await self._catch_up(self._lots.setdefault(lot_id, Lot(lot_id)))

    async def execute(self, lot_id: str, command: Any) -> Result:
        try:
            await self._known(lot_id)
        except (RedisError, OSError) as exc:
            raise EngineError(f"redis unavailable: {exc}") from exc
        return await super().execute(lot_id, command)

    async def history(self, lot_id: str, after_seq: int = 0) -> list[Recorded]:
        await self._known(lot_id)
        return await super().history(lot_id, after_seq)

    async def subscribe(self, lot_id: str, listener: Any, after_seq: int | None = None) -> Any:
        await self._known(lot_id)
        return await super().subscribe(lot_id, listener, after_seq)

    async def record(self, lot_id: str) -> list[Recorded]:
        """The lot's events as read back from Postgres (the permanent record)."""
        if self.record_store is None:
            raise EngineError("no Postgres record is configured")
        try:
            rows = await self.record_store.events(lot_id)
        except (OSError, ConnectionError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise EngineError(f"the permanent record is unavailable: {exc}") from exc
        try:
            # Rows written before ``body_text`` kept the sealed text exactly hold the
            # same values, normalised: the chain is checked on their canonical text.
            return read_back(lot_id, ((r["seq"], encode_event(orjson.loads(r["body_text"])),
                                       r["hash"]) for r in rows))
        except (RecordError, ValueError) as exc:
            raise EngineError(f"the permanent record of {lot_id} cannot be read: {exc}"
                              ) from exc

    def _pg_rows(self, lot_id: str, after_seq: int) -> Sequence[PgRow]:
        lot = self._lots.get(lot_id)
        if lot is None:
            return []
        return [PgRow(lot_id, r.seq, r.event.at, type(r.event).__name__, body, r.hash)
                for r in lot.records[after_seq:] for _, body, _ in (_row(r),)]

    # ----------------------------------------------------------------- writes

    async def create_session(self, session_id: str, name: str, actor: str,
                             mode: str = "parallel", stagger_s: int = 0) -> Session:
        self._check_open()
        session = Session(session_id, name, self.now(), actor, mode, stagger_s)
        body = orjson.dumps({"session_id": session_id, "name": name,
                             "created_at": session.created_at, "created_by": actor,
                             "mode": mode, "stagger_s": stagger_s})
        try:
            fresh = await self._redis.hsetnx(keys.SESSIONS, session_id, body)
        except (RedisError, OSError) as exc:
            raise EngineError(f"redis unavailable: {exc}") from exc
        if not fresh:
            raise EngineError(f"session {session_id} exists")
        self._sessions[session_id] = session
        if self.record_store is not None:
            await self.record_store.add_session(session_id, name, session.created_at, actor,
                                                mode, stagger_s)
        return session

    async def _commit_batch(self, lot: Lot, batch: list[Waiter]) -> None:
        for _ in range(MAX_ATTEMPTS):
            base = lot.version
            state, fresh, results = self._decide(lot, clone(lot.state), lot.last_hash, batch)
            refused = any(isinstance(r, Rejection) for r in results)
            if refused and not await self._current(lot, base):
                continue  # a refusal decided on a stale copy: decide again on the latest
            if fresh:
                assert state is not None
                lot.inflight = (state, fresh[-1].hash)
                try:
                    appended = await self._append_records(lot, base, state, fresh)
                except EngineError:
                    self._requeue(lot, self._take_ahead(lot))
                    raise
                finally:
                    lot.inflight = None
                if not appended:
                    self._requeue(lot, self._take_ahead(lot))  # decided on this outcome too
                    await self._catch_up(lot)  # another process was first: decide again
                    continue
                self._landed(lot, state, fresh)
            answer(batch, results)
            if lot.ahead is not None:
                await self._land_ahead(lot, lot.ahead)
            return
        raise EngineError(f"lot {lot.lot_id} is too contended; try again")

    def _landed(self, lot: Lot, state: LotState, fresh: list[Recorded]) -> None:
        """``fresh`` is in Redis: apply it (unless our own broadcast came first) and hand
        it to the permanent record."""
        if lot.version < fresh[-1].seq:  # not yet applied from our own broadcast
            self._published(lot, state, fresh)
        if self.record_store is not None:
            self.record_store.add(PgRow(lot.lot_id, seq, r.event.at, type(r.event).__name__,
                                  body, h) for r in fresh
                            for seq, body, h in (_row(r),))

    def _due_in_flight(self, lot: Lot) -> None:
        """A deadline fell due while the lot's batch is being appended: decide what is
        queued now (the deadline's Tick last) on a copy of the state after that batch, so
        the close is sequenced when it falls due and not a round trip (and Redis's fsync)
        later. It is appended, published and answered after that batch
        (:meth:`_land_ahead`); if that batch's append does not go through, it goes back
        to the front of the queue, decided again."""
        if lot.inflight is None or lot.ahead is not None or len(lot.queue) > MAX_BATCH:
            return
        base, last_hash = lot.inflight
        state, fresh, results = self._decide(lot, clone(base), last_hash, list(lot.queue))
        if not fresh:  # only refusals: they need the check of the normal path
            return
        lot.ahead = Ahead(list(lot.queue), results, state, fresh)
        lot.queue.clear()

    @staticmethod
    def _take_ahead(lot: Lot) -> Ahead | None:
        ahead, lot.ahead = lot.ahead, None
        return ahead

    @staticmethod
    def _requeue(lot: Lot, ahead: Ahead | None) -> None:
        """The batch decided ahead goes back, first in the queue, to be decided again:
        nothing of it was appended, published or answered."""
        if ahead is not None:
            lot.queue.extendleft(reversed(ahead.batch))

    async def _land_ahead(self, lot: Lot, ahead: Ahead) -> None:
        """Append, publish and answer the batch decided ahead, now that the batch before
        it is in Redis; if another process appended in between, decide it again."""
        lot.ahead = None
        base = ahead.fresh[0].seq - 1
        assert ahead.state is not None
        try:
            appended = lot.version == base and await self._append_records(
                lot, base, ahead.state, ahead.fresh)
        except EngineError as exc:
            fail_waiters(ahead.batch, exc)
            return
        if not appended:
            self._requeue(lot, ahead)
            await self._catch_up(lot)
            return
        self._landed(lot, ahead.state, ahead.fresh)
        answer(ahead.batch, ahead.results)

    async def _current(self, lot: Lot, base: int) -> bool:
        """Whether the lot had no event after ``base`` in Redis; if it had, catch up."""
        try:
            seq = int(await self._redis.hget(keys.meta(lot.lot_id), "seq") or 0)
        except (RedisError, OSError) as exc:
            raise EngineError(f"redis unavailable: {exc}") from exc
        if seq == base:
            return True
        await self._catch_up(lot)
        return False

    async def _append_records(self, lot: Lot, base: int, state: LotState,
                              fresh: list[Recorded]) -> bool:
        rows = [_row(r) for r in fresh]
        n = keys.shard(lot.lot_id)
        deadline = next_deadline(state)
        payload = orjson.dumps({"l": lot.lot_id, "r": rows, "p": self._origin})
        args: list[Any] = [lot.lot_id, base, "" if deadline is None else deadline,
                           fresh[0].event.at if base == 0 else "", keys.channel(n), payload]
        for row in rows:
            args.extend(row)
        started = time.perf_counter()
        try:
            outcome = await self._append(
                keys=[keys.meta(lot.lot_id), keys.events(lot.lot_id), keys.timers(n),
                      keys.lots(n)], args=args)
        except (RedisError, OSError) as exc:
            # Whether the script ran is unknown; the local state was not touched, and the
            # expected-sequence check makes the next append re-read the stream first. If
            # it ran, its rows are in Redis but handed to no permanent record: the record
            # copies what nobody handed over (PgRecord.check), once read back here.
            if self.record_store is not None:
                self.record_store.check(lot.lot_id)
            raise EngineError(f"redis unavailable, nothing acknowledged: {exc}") from exc
        appended = int(outcome) == -1
        if appended:
            self.metrics.committed(time.perf_counter() - started, len(rows))
        return appended

    # ----------------------------------------------------------------- following

    async def _catch_up(self, lot: Lot) -> None:
        """Read and apply whatever the stream holds after the lot's last known event."""
        if lot.lot_id in self._quarantined:
            return
        rows = await self._stream_rows(lot.lot_id, lot.version)
        if rows:
            self._apply_rows(lot, rows)

    async def _stream_rows(self, lot_id: str, after_seq: int) -> list[tuple[int, str, str]]:
        """The lot's stream entries after ``after_seq`` as ``(seq, body, hash)`` rows;
        entries that are not such rows make the lot quarantined (and none is given)."""
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await self._redis.xrange(
            keys.events(lot_id), f"{after_seq + 1}-0", "+"))
        try:
            return [(int(eid.split(b"-")[0]), f[b"b"].decode(), f[b"h"].decode())
                    for eid, f in entries]
        except (KeyError, ValueError) as exc:
            self._quarantine(lot_id, f"a stream entry is not an event row: {exc!r}")
            return []

    def _apply_rows(self, lot: Lot, rows: list[tuple[int, str, str]],
                    mine: bool = False) -> bool:
        """Apply durable rows continuing the lot; False if they leave a gap. Rows not
        published by this process's own append (``mine``) may be rows nobody hands to
        the permanent record (their process died, or never learnt its append went
        through): the record checks the lot (:meth:`PgRecord.check`)."""
        rows = [r for r in rows if r[0] > lot.version]
        if not rows:
            return True
        if rows[0][0] != lot.version + 1:
            return False
        if lot.lot_id in self._quarantined:
            return True
        state = lot.state
        try:
            records = read_back(lot.lot_id, rows, lot.version, lot.last_hash)
            for record in records:
                state = evolve(state, record.event)
        except Exception as exc:  # whatever it is, it stops this lot only
            self._quarantine(lot.lot_id, f"{type(exc).__name__}: {exc}")
            return True
        assert state is not None
        self._published(lot, state, records)
        self._arm(lot)
        if self.record_store is not None and not mine:
            self.record_store.check(lot.lot_id)
        return True

    async def _listen(self, listening: asyncio.Event) -> None:
        """Follow every process's appends; after a lost connection, re-read the streams."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(keys.CHANNEL_PATTERN)
                if listening.is_set():  # a reconnection: whatever was published meanwhile
                    for lot in list(self._lots.values()):
                        await self._catch_up(lot)
                listening.set()
                self._following = True
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg["type"] == "pmessage":
                        await self._on_message(msg["data"])
            except asyncio.CancelledError:
                self._following = False
                await pubsub.aclose()
                raise
            except (RedisError, OSError) as exc:
                self._following = False
                log.warning("redis fan-out lost (%s); reconnecting", exc)
                await pubsub.aclose()
                await asyncio.sleep(0.2)

    async def _on_message(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            lot_id = message["l"]
            rows = [(int(seq), body, digest) for seq, body, digest in message["r"]]
        except (ValueError, KeyError, TypeError) as exc:
            # Not one of our broadcasts: the streams, read on a gap, are the record.
            log.error("ignored a malformed broadcast: %r", exc)
            return
        lot = self._lots.get(lot_id)
        if lot is None:
            lot = self._lots.setdefault(lot_id, Lot(lot_id))
        if not self._apply_rows(lot, rows, mine=message.get("p") == self._origin):
            await self._catch_up(lot)

    async def _poll_timers(self) -> None:
        """The backstop: fire every deadline the timer index says is due."""
        while True:
            await asyncio.sleep(POLL_S)
            try:
                pipe = self._redis.pipeline(transaction=False)
                now = self.now()
                for n in range(keys.SHARDS):
                    pipe.zrangebyscore(keys.timers(n), "-inf", now, start=0, num=100)
                due = [m.decode() for members in await pipe.execute() for m in members]
                for lot_id in due:
                    await self._known(lot_id)
                    lot = self._lots.get(lot_id)
                    if lot is not None and lot.writer is None:
                        self.fire_soon(lot_id)
                await self._load_sessions()
            except (RedisError, OSError) as exc:
                log.warning("timer index unavailable: %s", exc)
            except UnknownLot:
                pass
