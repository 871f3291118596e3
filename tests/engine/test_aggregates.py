"""Aggregates other than lots (engine/aggregates.py) on each adapter of their log: in
memory, SQLite (the embedded backend's data directory) and a real Redis."""

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from services import RedisServer

from auction.aggregate import is_aggregate_id, replay, stream_of
from auction.model import Event, Rejection, register_event
from engine.aggregates import AggregateLog, Aggregates, MemoryAggregateLog, Refused
from engine.eventlog import Row
from engine.logs.aggregates_redis import RedisAggregateLog
from engine.logs.aggregates_sqlite import SQLiteAggregateLog


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class TallyAdded(Event):
    amount: int


@dataclass(frozen=True)
class Tally:
    id: str
    total: int = 0


@dataclass(frozen=True)
class Add:
    amount: int


class TallyDecider:
    """A tally that never goes below zero: the smallest decider with a refusal."""

    kind = "tally"

    def initial(self, aggregate_id: str) -> Tally:
        return Tally(aggregate_id)

    def decide(self, state: Tally, command: Add, now: int) -> list[Event] | Rejection:
        if command.amount == 0:
            return []
        if state.total + command.amount < 0:
            return Rejection("below_zero", "the tally cannot go below zero")
        return [TallyAdded(at=now, actor="test", amount=command.amount)]

    def evolve(self, state: Tally, event: Event) -> Tally:
        assert isinstance(event, TallyAdded)
        return replace(state, total=state.total + event.amount)


TALLY = TallyDecider()
_clock = itertools.count(1_000)


def clock() -> int:
    return next(_clock)


LogFactory = Callable[[], AggregateLog]


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogFactory]:
    """``make_log()``: a log on the same durable store each call (a fresh process's view)."""
    if request.param == "memory":
        shared = MemoryAggregateLog()
        yield lambda: shared
        return
    if request.param == "sqlite":
        yield lambda: SQLiteAggregateLog(tmp_path)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    clients: list[aioredis.Redis] = []

    def on_redis() -> AggregateLog:
        clients.append(aioredis.Redis.from_url(server.url))
        return RedisAggregateLog(clients[-1])
    yield on_redis
    for client in clients:
        await client.aclose()


async def opened(make_log: LogFactory) -> Aggregates:
    aggregates = Aggregates(make_log(), clock)
    await aggregates.open()
    return aggregates


async def test_commands_are_recorded_in_order_and_the_state_is_their_fold(
        make_log: LogFactory) -> None:
    aggregates = await opened(make_log)
    for amount in (5, 3, -2):
        await aggregates.execute(TALLY, "a", Add(amount))
    assert (await aggregates.state(TALLY, "a")).total == 6
    records = await aggregates.records("tally", "a")
    assert [r.seq for r in records] == [1, 2, 3]
    assert [r.lot_id for r in records] == ["tally:a"] * 3
    assert replay(TALLY, "a", (r.event for r in records)) == Tally("a", 6)
    await aggregates.close()


async def test_a_refused_command_changes_nothing(make_log: LogFactory) -> None:
    aggregates = await opened(make_log)
    await aggregates.execute(TALLY, "a", Add(1))
    with pytest.raises(Refused) as refused:
        await aggregates.execute(TALLY, "a", Add(-2))
    assert refused.value.rejection.code == "below_zero"
    assert len(await aggregates.records("tally", "a")) == 1
    assert await aggregates.execute(TALLY, "a", Add(0)) == []
    assert len(await aggregates.records("tally", "a")) == 1
    await aggregates.close()


async def test_a_restarted_process_reads_every_aggregate_back(make_log: LogFactory) -> None:
    first = await opened(make_log)
    await first.execute(TALLY, "b", Add(2))
    await first.execute(TALLY, "a", Add(7))
    await first.close()
    second = await opened(make_log)
    assert (await second.state(TALLY, "a")).total == 7
    assert await second.ids("tally") == ["b", "a"]
    assert await second.ids("other") == []
    assert not await second.exists(TALLY, "c")
    assert (await second.state(TALLY, "c")).total == 0
    assert await second.ids("tally") == ["b", "a"]  # reading one makes no stream
    await second.close()


async def test_two_processes_writing_one_aggregate_keep_one_gap_free_order(
        make_log: LogFactory) -> None:
    one, two = await opened(make_log), await opened(make_log)
    await one.state(TALLY, "a")
    await two.state(TALLY, "a")  # both hold seq 0: every second append is stale first
    await asyncio.gather(*(process.execute(TALLY, "a", Add(1))
                           for _ in range(10) for process in (one, two)))
    records = await one.records("tally", "a")
    assert [r.seq for r in records] == list(range(1, 21))
    assert (await two.state(TALLY, "a")).total == 20
    await one.close()
    await two.close()


async def test_an_append_with_a_stale_sequence_number_lands_nothing(
        make_log: LogFactory) -> None:
    log = make_log()
    await log.open()
    row = Row("tally:a", 1, 1, "TallyAdded", "{}", "0" * 64)
    assert await log.append("tally:a", 0, [row])
    assert not await log.append("tally:a", 0, [row])
    assert len(await log.read("tally:a")) == 1
    await log.close()


async def test_an_altered_event_is_caught_when_read_back(make_log: LogFactory) -> None:
    aggregates = await opened(make_log)
    await aggregates.execute(TALLY, "a", Add(1))
    rows = await aggregates.log.read("tally:a")
    forged = replace(rows[0], seq=2, body=rows[0].body.replace('"amount":1', '"amount":9'))
    assert await aggregates.log.append("tally:a", 1, [forged])
    fresh = Aggregates(aggregates.log, clock)
    with pytest.raises(Exception, match="does not match its hash"):
        await fresh.state(TALLY, "a")
    await aggregates.close()


def test_an_aggregate_is_named_by_its_kind_and_a_safe_id() -> None:
    assert stream_of("tally", "A-1.x_2") == "tally:A-1.x_2"
    assert is_aggregate_id("A-1.x_2") and not is_aggregate_id("a/b")
    for kind, ident in (("Tally", "a"), ("tally", "a:b"), ("tally", ""), ("tally", "a" * 65)):
        with pytest.raises(ValueError):
            stream_of(kind, ident)
