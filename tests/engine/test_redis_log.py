"""The Redis log on a real Redis. Appends gathered into one pipeline
(engine.logs.redis.Gathered): the appends of many lots made at once each get their own
outcome (stored, stale, fenced), and a Redis that forgot the append script (a restart)
is given it again. The feed of other processes' appends outlives a failure of the
runtime's hooks."""

import asyncio
import signal
import time
import uuid

import pytest
import redis.asyncio as aioredis
from services import RedisServer

from engine import redis_keys
from engine.eventlog import LogUnavailable, Row
from engine.logs import redis as redis_log
from engine.logs.redis import Fenced, Gathered, RedisLog
from engine.snapshots import Snapshot


def rows(lot_id: str, first: int, n: int = 1) -> list[Row]:
    return [Row(lot_id, seq, 1_000 + seq, "BidAccepted", f'{{"seq":{seq}}}', f"h{seq}")
            for seq in range(first, first + n)]


async def test_appends_made_at_once_go_together_and_each_gets_its_own_outcome(
        redis_server: RedisServer) -> None:
    log = RedisLog(redis_server.url)
    await log.open()
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        assert isinstance(log._append, Gathered)
        lots = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(30)]
        clients = len(await admin.client_list())
        assert all(await asyncio.gather(*(log.append(lot, 0, rows(lot, 1)) for lot in lots)))
        # One pipeline on one connection, where 30 calls at once would take 30 of the pool.
        assert len(await admin.client_list()) <= clients + 1
        fenced = lots[7]
        await admin.set(redis_keys.epoch(fenced), 5)
        outcomes = await asyncio.gather(
            *(log.append(lot, 1, rows(lot, 2, 2), epoch=5 if lot == fenced else None)
              for lot in lots[1:]),
            log.append(lots[0], 0, rows(lots[0], 1)),  # stale: the lot is at 1
            log.append(fenced, 1, rows(fenced, 2), epoch=4),  # an epoch that is over
            return_exceptions=True)
        assert len(await admin.client_list()) <= clients + 1
        assert outcomes[:-2] == [True] * 29 and outcomes[-2] is False
        assert isinstance(outcomes[-1], Fenced)
        for lot in lots[1:]:
            assert [r.seq for r in await log.read(lot, 0)] == [1, 2, 3]
        assert [r.seq for r in await log.read(lots[0], 0)] == [1]

        await admin.script_flush()  # as after a restart of Redis
        again = await asyncio.gather(*(log.append(lot, 3, rows(lot, 4)) for lot in lots[1:4]))
        assert again == [True, True, True]
        assert [r.seq for r in await log.read(lots[1], 0)] == [1, 2, 3, 4]
    finally:
        await admin.aclose()
        await log.close()


async def test_a_lost_connection_fails_every_append_of_the_batch(
        redis_server: RedisServer) -> None:
    log = RedisLog(redis_server.url)
    await log.open()
    try:
        lots = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(5)]
        redis_server.kill()
        outcomes = await asyncio.gather(*(log.append(lot, 0, rows(lot, 1)) for lot in lots),
                                        return_exceptions=True)
        assert all(type(o).__name__ == "AppendFailed" for o in outcomes), outcomes
        redis_server.start()
        # The failed batch's connection was closed, not pooled as it was: the next batch
        # connects again and each append gets its own reply.
        again = await asyncio.gather(*(log.append(lot, 0, rows(lot, 1, 1 + i))
                                       for i, lot in enumerate(lots)))
        assert again == [True] * 5
        assert [len(await log.read(lot, 0)) for lot in lots] == [1, 2, 3, 4, 5]
    finally:
        if redis_server.proc is not None and redis_server.proc.poll() is not None:
            redis_server.start()
        await log.close()


async def test_a_redis_that_stops_answering_fails_the_batch_within_the_socket_timeout(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_log, "SOCKET_TIMEOUT_S", 0.5)
    log = RedisLog(redis_server.url)
    await log.open()
    lots = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    assert redis_server.proc is not None
    try:
        assert all(await asyncio.gather(*(log.append(lot, 0, rows(lot, 1)) for lot in lots)))
        redis_server.proc.send_signal(signal.SIGSTOP)  # up, but answering nothing
        started = time.monotonic()
        outcomes = await asyncio.gather(*(log.append(lot, 1, rows(lot, 2)) for lot in lots),
                                        return_exceptions=True)
        waited = time.monotonic() - started
        assert all(type(o).__name__ == "AppendFailed" for o in outcomes), outcomes
        assert 0.4 <= waited < 3, waited
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    try:
        # Whether they ran is unknown to the writer; the log holds each lot whole, and the
        # next appends, on a connection of their own, find out (stale if they ran).
        for lot in lots:
            stored = [r.seq for r in await log.read(lot, 0)]
            assert stored in ([1], [1, 2]), stored
            assert await log.append(lot, len(stored), rows(lot, len(stored) + 1))
            assert await log.append(lot, 0, rows(lot, 1)) is False
    finally:
        await log.close()


async def test_the_feed_outlives_a_failure_of_what_it_hands_the_rows_to(
        redis_server: RedisServer) -> None:
    """The runtime's hooks read the log (and Postgres) and may fail; the feed then
    subscribes again and says it resumed, as after a lost connection, and goes on."""
    here, there = RedisLog(redis_server.url), RedisLog(redis_server.url)
    await here.open()
    await there.open()
    lot = f"L-{uuid.uuid4().hex[:8]}"
    got: list[int] = []
    resumed = asyncio.Event()
    failures = [LogUnavailable("the permanent record is unavailable", "down")]

    async def on_rows(lot_id: str, new: list[Row]) -> None:
        if failures:
            raise failures.pop()
        got.extend(r.seq for r in new)

    async def on_resumed() -> None:
        resumed.set()

    try:
        await here.follow(on_rows, on_resumed)
        await here.watch(lot)
        assert await there.append(lot, 0, rows(lot, 1))  # its hand-over fails
        async with asyncio.timeout(5):
            await resumed.wait()
        assert not failures and here.following
        assert await there.append(lot, 1, rows(lot, 2))
        async with asyncio.timeout(5):
            while got != [2]:
                await asyncio.sleep(0.02)
    finally:
        await here.close()
        await there.close()


async def script_calls(admin: aioredis.Redis) -> int:
    """How many scripts Redis has run (EVAL, EVALSHA), and scripts it was asked about."""
    stats = await admin.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
               for name in ("eval", "evalsha", "script|exists"))


async def test_a_trim_that_can_drop_nothing_is_not_sent(redis_server: RedisServer) -> None:
    log = RedisLog(redis_server.url)
    await log.open()
    admin = aioredis.Redis.from_url(redis_server.url)
    lot, other = (f"L-{uuid.uuid4().hex[:8]}" for _ in range(2))
    try:
        assert await log.append(lot, 0, rows(lot, 1, 3))
        # A lot this process created, with no snapshot: nothing may be trimmed yet.
        before = await script_calls(admin)
        await log.trim([(lot, 3)])
        assert await script_calls(admin) == before
        assert [r.seq for r in await log.read(lot, 0)] == [1, 2, 3]
        # Its snapshot after event 5: Postgres holds up to 4, then up to 5.
        snapshot = Snapshot(lot, 5, "h5", "{}", False, "open", "S1")
        assert await log.append(lot, 3, rows(lot, 4, 2), snapshot=snapshot)
        await log.trim([(lot, 4)])
        assert [r.seq for r in await log.read(lot, 0)] == [5]
        before = await script_calls(admin)
        await log.trim([(lot, 4)])
        assert await script_calls(admin) == before
        await log.trim([(lot, 5)])
        assert await log.read(lot, 0) == []
        # More events after the snapshot: nothing to drop until the next one.
        assert await log.append(lot, 5, rows(lot, 6, 2))
        before = await script_calls(admin)
        await log.trim([(lot, 7)])
        assert await script_calls(admin) == before
        assert [r.seq for r in await log.read(lot, 0)] == [6, 7]
        # A lot another process wrote (its snapshot unknown here) is trimmed as asked.
        await admin.hset(redis_keys.snapshot(other), mapping={"seq": 2})
        await admin.xadd(redis_keys.events(other), {"b": "{}"}, id="1-0")
        await admin.xadd(redis_keys.events(other), {"b": "{}"}, id="2-0")
        await log.trim([(other, 2)])
        assert await admin.xlen(redis_keys.events(other)) == 0
    finally:
        await admin.aclose()
        await log.close()


async def test_the_poll_in_one_script_reads_what_the_shards_pipeline_reads(
        redis_server: RedisServer) -> None:
    """The poll of a standalone Redis is one script call (every process makes one every
    half second, idle or not); it reads what a pipeline of the shards' commands (a
    cluster's poll) reads: due timers of every shard, ended counts summed over them, the
    number of sessions; and after a restart of Redis the script is given again."""
    redis_server.flush()
    log = RedisLog(redis_server.url)
    await log.open()
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        assert log._poll is not None
        lots = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(60)]
        for i, lot in enumerate(lots):
            n = redis_keys.shard(lot)
            await admin.zadd(redis_keys.timers(n), {lot: 9_000 if i % 4 == 0 else 1_000 + i})
            await admin.hincrby(redis_keys.ended(n), "closed", 1)
            if i % 5 == 0:
                await admin.hincrby(redis_keys.ended(n), "failed", 1)
        assert len({redis_keys.shard(lot) for lot in lots}) > 20  # many shards, some twice
        await admin.hset(redis_keys.SESSIONS, mapping={"S-1": "{}", "S-2": "{}"})
        polled = await log.poll(5_000)
        assert sorted(polled.due) == sorted(lot for i, lot in enumerate(lots) if i % 4)
        assert polled.ended == {"closed": 60, "failed": 12} and polled.sessions == 2
        piped = await log._poll_pipelined(5_000)
        assert (sorted(piped.due), piped.ended, piped.sessions) == (
            sorted(polled.due), polled.ended, polled.sessions)
        await admin.script_flush()  # as after a restart of Redis
        again = await log.poll(5_000)
        assert (sorted(again.due), again.ended) == (sorted(polled.due), polled.ended)
        redis_server.kill()
        with pytest.raises(LogUnavailable):
            await log.poll(5_000)
        redis_server.start()
    finally:
        await admin.aclose()
        await log.close()
