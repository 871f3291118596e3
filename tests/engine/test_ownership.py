"""Lot ownership on the Redis backend (engine/ownership.py): one owner per lot, fenced
appends, forwarding to the owner, take-over of a dead owner's lots; real Redis."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from services import RedisServer
from test_contract import Clock, open_lot

from auction.default import ChangeAward, DeclareDefault, LinkRelisting
from auction.lot import COMMANDS
from auction.model import (
    Act,
    Announce,
    AnswerQuestion,
    ApplyDeposit,
    ApproveReserve,
    AskHost,
    CancelLot,
    ConfirmDeposit,
    CreateLot,
    EnrollKey,
    EnterReserve,
    ExtendLot,
    ForfeitDeposit,
    PauseLot,
    PlaceBid,
    RefundDeposit,
    RegisterBidder,
    Rejection,
    ResumeLot,
    RevokeTokens,
    ScheduleLot,
    StartLot,
    Tick,
)
from engine import redis_keys as keys
from engine.eventlog import Row
from engine.logs.redis import Fenced
from engine.ownership import _plain, decode_command, encode_command
from engine.redis_engine import RedisEngine

TTL_MS = 600


def engine_on(redis: RedisServer, clock: Clock) -> RedisEngine:
    engine = RedisEngine(redis.url, None, clock)
    assert engine.ownership is not None
    engine.ownership.ttl_ms = TTL_MS
    return engine


@contextlib.asynccontextmanager
async def two_on(redis: RedisServer) -> AsyncIterator[tuple[RedisEngine, RedisEngine, Clock]]:
    """Two processes on an emptied Redis, sharing one clock: ``(a, b, clock)``."""
    redis.flush()
    clock = Clock()
    async with engine_on(redis, clock) as a, engine_on(redis, clock) as b:
        assert a.ownership is not None and b.ownership is not None
        yield a, b, clock


async def stream_seqs(redis: RedisServer, lot_id: str) -> list[int]:
    client = aioredis.Redis.from_url(redis.url)
    try:
        return [int(eid.split(b"-")[0]) for eid, _ in await client.xrange(keys.events(lot_id))]
    finally:
        await client.aclose()


async def lease_holder(redis: RedisServer, lot_id: str) -> str | None:
    client = aioredis.Redis.from_url(redis.url)
    try:
        value = await client.get(keys.lease(lot_id))
        return value.decode() if value is not None else None
    finally:
        await client.aclose()


async def test_a_command_at_a_process_that_does_not_own_the_lot_is_decided_by_the_owner(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        assert await lease_holder(redis_server, "L1") == a.ownership.id
        results = [await (a if i % 2 else b).execute("L1", PlaceBid(
            bidder_id=bidders[i % 2], amount=11000 + 1000 * i)) for i in range(6)]
        assert all(not isinstance(r, Rejection) for r in results), results
        # b owns nothing: it forwarded, and answered with the owner's records
        assert "L1" not in b.ownership.held
        seqs = [r.seq for result in results if isinstance(result, list) for r in result]
        assert len(seqs) == len(set(seqs)) == 6
        assert await stream_seqs(redis_server, "L1") == list(
            range(1, a._get("L1").version + 1))
        # one order, read the same in both processes
        await b.catch_up(b._get("L1"))
        assert [r.hash for r in b._get("L1").records] == [r.hash for r in a._get("L1").records]
        # A forwarded command that ends the lot: b keeps the ended lot's state, not its
        # records (they are read back), and still answers with the command's record.
        ended = await b.execute("L1", CancelLot(actor="host1", reason="withdrawn"))
        assert isinstance(ended, list) and [type(r.event).__name__ for r in ended] == [
            "LotCancelled"], ended
        assert ended[-1].seq == (await a.history("L1"))[-1].seq
        assert (await b.history("L1"))[-1] == ended[-1]


async def test_an_owner_keeps_its_lots_past_the_lease_ttl_by_renewing_them(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        epoch = a.ownership.held["L1"]
        await asyncio.sleep(3 * TTL_MS / 1000)
        assert await lease_holder(redis_server, "L1") == a.ownership.id
        result = await b.execute("L1", PlaceBid(bidder_id=bidders[0], amount=11000))
        assert isinstance(result, list) and result, result
        assert a.ownership.held == {"L1": epoch} and b.ownership.held == {}


async def test_an_ended_lot_costs_its_owner_no_lease_and_a_later_command_takes_it_again(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        a.ownership.ended_hold_s = b.ownership.ended_hold_s = 0.5
        await open_lot(a, "L1")
        await open_lot(a, "L2")
        epoch = a.ownership.held["L1"]
        ended = await a.execute("L1", CancelLot(actor="host1", reason="withdrawn"))
        assert isinstance(ended, list) and ended, ended
        # Commands coming late are decided under the same lease, not a new one each.
        late = await a.execute("L1", CancelLot(actor="host1", reason="late"))
        assert isinstance(late, Rejection), late
        assert a.ownership.held["L1"] == epoch and await epoch_of(redis_server, "L1") == epoch
        # Some time after its last command the lease is given up, and only the live
        # lots are renewed.
        async with asyncio.timeout(5):
            while "L1" in a.ownership.held or await lease_holder(redis_server, "L1"):
                await asyncio.sleep(0.02)
        assert list(a.ownership.held) == ["L2"] and await a.ownership.renew() == []
        assert await lease_holder(redis_server, "L2") == a.ownership.id
        # A command for the ended lot, at either process, takes its lease again (a new
        # epoch), and gives it up in its turn.
        again = await b.execute("L1", CancelLot(actor="host1", reason="again"))
        assert isinstance(again, Rejection), again
        assert b.ownership.held["L1"] == epoch + 1 == await epoch_of(redis_server, "L1")
        async with asyncio.timeout(5):
            while "L1" in b.ownership.held or await lease_holder(redis_server, "L1"):
                await asyncio.sleep(0.02)
        assert (await a.history("L1"))[-1] == ended[-1]


async def epoch_of(redis: RedisServer, lot_id: str) -> int:
    client = aioredis.Redis.from_url(redis.url)
    try:
        return int(await client.get(keys.epoch(lot_id)))
    finally:
        await client.aclose()


async def test_a_stalled_owners_lot_is_taken_over_its_appends_refused_and_its_commands_sent_on(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        epoch = a.ownership.held["L1"]
        # a stalls: it neither renews nor answers, yet believes it owns the lot
        for task in (a.ownership._renewer, a.ownership._listener):
            assert task is not None
            task.cancel()
        started = time.monotonic()
        taken = await b.execute("L1", PlaceBid(bidder_id=bidders[0], amount=11000))
        assert isinstance(taken, list) and taken, taken
        assert time.monotonic() - started < TTL_MS / 1000 + 2.0
        assert b.ownership.held["L1"] > epoch
        before = await stream_seqs(redis_server, "L1")
        # the old owner's own append is fenced: the log refuses it and stores nothing
        row = Row("L1", before[-1] + 1, clock.t, "BidAccepted", "{}", "0" * 64)
        with pytest.raises(Fenced):
            await a.log.append("L1", before[-1], [row], epoch=epoch)
        assert await stream_seqs(redis_server, "L1") == before
        # a wakes up (it listens again, still believing it owns the lot): a command sent
        # to it is refused by the log there and sent on to the new owner
        a.ownership._listener = asyncio.create_task(
            a.ownership._listen(a._serve_forwarded, asyncio.Event()))
        late = await a.execute("L1", PlaceBid(bidder_id=bidders[1], amount=12000))
        assert isinstance(late, list) and late, late
        assert await stream_seqs(redis_server, "L1") == before + [r.seq for r in late]
        assert b._get("L1").records[-1].hash == late[-1].hash
        assert "L1" not in a.ownership.held


async def test_two_processes_contending_for_a_free_lot_keep_one_order(
        redis_server: RedisServer) -> None:
    redis_server.flush()
    clock = Clock()
    async with engine_on(redis_server, clock) as a:
        bidders = await open_lot(a, "L1", bidders=4)
    # a closed and released its lease: both new processes race for the free lot
    async with engine_on(redis_server, clock) as b, engine_on(redis_server, clock) as c:
        assert b.ownership is not None and c.ownership is not None
        results = await asyncio.gather(*(
            (b if i % 2 else c).execute("L1", PlaceBid(bidder_id=bidders[i % 4],
                                                       amount=11000 + 1000 * i))
            for i in range(20)))
        assert all(isinstance(r, list) or r.code in ("already_leading", "not_improving")
                   for r in results), results
        # exactly one of them owns the lot; the other forwarded
        assert ("L1" in b.ownership.held) != ("L1" in c.ownership.held)
        # Both started from the snapshot a kept when it left (the lot's records in their
        # memory begin after it): each answer, forwarded or not, is the command's own.
        assert b._get("L1").base == c._get("L1").base == 11
        for i, result in enumerate(results):
            if isinstance(result, list):
                assert [(r.event.bidder_id, r.event.amount) for r in result] == [
                    (bidders[i % 4], 11000 + 1000 * i)], (i, result)
        seqs = sorted(r.seq for result in results if isinstance(result, list) for r in result)
        stream = await stream_seqs(redis_server, "L1")
        assert seqs and seqs == stream[-len(seqs):]
        assert stream == list(range(1, len(stream) + 1))
        for engine in (b, c):
            await engine.catch_up(engine._get("L1"))
        assert [r.hash for r in b._get("L1").records] == [r.hash for r in c._get("L1").records]


async def test_every_kind_of_command_survives_being_forwarded_unchanged() -> None:
    commands = [CreateLot(lot_id="L9", session_id="S1", format="english", title="t",
                          params=MappingProxyType({"start_price": "1.00", "nested": {"a": 1}}),
                          actor="host1"),
                PlaceBid(bidder_id="B0", amount=10**14, ref="r", token_gen=3),
                PlaceBid(bidder_id="B0", amount=100, signed={"seen": 4, "nonce": "n0nce-01",
                                                             "sig": "c2ln"}),
                EnrollKey(bidder_id="B0", alg="sm2", key="04" + "ab" * 64,
                          certificate="-----BEGIN CERTIFICATE-----\n…", token_gen=1),
                ExtendLot(actor="host1", reason="r", closes_at=1_800_000_000_000), Tick(),
                EnterReserve(actor="host1", amount=765432, salt="5a10" * 8, reason="r"),
                ApproveReserve(actor="sup1", commitment="ab" * 32),
                DeclareDefault(actor="host1", reason="未按期签约", then="relist",
                               new_lot_id="L9-2", start_price=90_000),
                LinkRelisting(actor="host1", prev_lot_id="L9", attempt=2),
                ChangeAward(actor="host1", reason="异议成立", effect="suspended")]
    # every kind of command the lot decider takes is among them
    assert {type(c) for c in commands} | {RegisterBidder, ConfirmDeposit, ScheduleLot,
                                          StartLot, PauseLot, ResumeLot, CancelLot,
                                          RevokeTokens, Act, RefundDeposit, ForfeitDeposit,
                                          ApplyDeposit, Announce, AskHost,
                                          AnswerQuestion} == set(COMMANDS)
    for command in commands:
        doc = orjson.loads(orjson.dumps(encode_command(command), default=_plain))
        back = decode_command(doc)
        assert type(back) is type(command)
        assert encode_command(back) == orjson.loads(orjson.dumps(encode_command(command),
                                                                 default=_plain))


async def test_a_process_with_an_address_tells_where_the_owner_of_a_lot_is(
        redis_server: RedisServer) -> None:
    redis_server.flush()
    clock = Clock()
    a, b = engine_on(redis_server, clock), engine_on(redis_server, clock)
    silent = engine_on(redis_server, clock)
    assert a.ownership is not None and b.ownership is not None
    a.ownership.address, b.ownership.address = "ws://a.example/ws", "ws://b.example/ws"
    async with a, b, silent:
        await open_lot(a, "L1")
        assert await a.owner_address("L1") is None  # a owns it
        assert await b.owner_address("L1") == "ws://a.example/ws"
        assert await silent.owner_address("L1") is None  # given no address: tells nothing
        assert await b.owner_address("L-NOBODY") is None  # no owner yet
        await asyncio.sleep(TTL_MS * 2 / 1000)  # the address outlives its first TTL
        assert await b.owner_address("L1") == "ws://a.example/ws"
        await a.close()  # a clean stop releases the lease and forgets the address
        assert await b.owner_address("L1") is None
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            assert await client.get(keys.address(a.ownership.id)) is None
        finally:
            await client.aclose()


async def hget_calls(redis: RedisServer) -> int:
    """How many HGETs Redis has served (how a lot's last sequence number is read)."""
    client = aioredis.Redis.from_url(redis.url)
    try:
        stats = await client.info("commandstats")
        return int(stats.get("cmdstat_hget", {}).get("calls", 0))
    finally:
        await client.aclose()


async def test_a_refusal_under_a_lease_certainly_held_asks_the_log_nothing_and_one_after_it_does(
        redis_server: RedisServer) -> None:
    """A refusal records nothing, so it is answered once known to be decided on the latest
    state. While the owner's lease is certainly its own, no other process can have
    appended: the log is not asked. Once it is not (a stalled owner, taken over), the log
    is asked, and a command refused on the old state is decided again on the new one."""
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        assert isinstance(await a.execute("L1", PlaceBid(bidder_id=bidders[0], amount=11000)),
                          list)
        asked = await hget_calls(redis_server)
        for amount in (10000, 11000, 10500):
            refused = await a.execute("L1", PlaceBid(bidder_id=bidders[1], amount=amount))
            assert isinstance(refused, Rejection), refused
        assert await hget_calls(redis_server) == asked
        # a stalls (no renewal), and b takes the lot over and appends to it
        for task in (a.ownership._renewer, a.ownership._listener):
            assert task is not None
            task.cancel()
        taken = await b.execute("L1", PlaceBid(bidder_id=bidders[1], amount=12000))
        assert isinstance(taken, list) and taken, taken
        assert not a.ownership.certain("L1") and "L1" in a.ownership.held
        a.ownership._listener = asyncio.create_task(
            a.ownership._listen(a._serve_forwarded, asyncio.Event()))
        # On a's old state bidder 0 leads: refused there (already leading). The log is
        # asked, the bid decided again on what b appended, and it is accepted (at b).
        late = await a.execute("L1", PlaceBid(bidder_id=bidders[0], amount=13000))
        assert isinstance(late, list) and late, late
        assert [(r.event.bidder_id, r.event.amount) for r in late] == [(bidders[0], 13000)]
        assert (await b.history("L1"))[-1].hash == late[-1].hash


async def test_the_poll_reads_the_sessions_only_when_another_process_made_one(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``POLL_S`` a process reads the shared log's due timers, ended counts and
    number of sessions in one pipeline; the sessions themselves (a center's whole
    history) only when that number moved, so the poll costs the same after years."""
    from engine import runtime

    monkeypatch.setattr(runtime, "POLL_S", 0.05)
    async with two_on(redis_server) as (a, b, _):
        await a.create_session("S1", "Land sale", "host1")
        reads: list[int] = []
        real = b.log.sessions

        async def sessions() -> Any:
            found = await real()
            reads.append(len(found))
            return found

        monkeypatch.setattr(b.log, "sessions", sessions)
        async with asyncio.timeout(5):  # learnt by polling (made before the spy: or not)
            while "S1" not in {s.session_id for s in b.sessions()}:
                await asyncio.sleep(0.01)
        settled = len(reads)
        await asyncio.sleep(0.5)  # about ten polls, nothing new
        assert len(reads) == settled
        await a.create_session("S2", "Mining rights", "host1")
        async with asyncio.timeout(5):
            while "S2" not in {s.session_id for s in b.sessions()}:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        assert reads[settled:] == [2]  # read once, when the count moved
        assert [s.session_id for s in b.sessions()] == ["S1", "S2"]


@pytest.mark.parametrize("scripted", [True, False], ids=["one-script", "script-per-lot"])
async def test_a_renewal_keeps_the_leases_still_held_and_reports_the_lost_ones(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, scripted: bool) -> None:
    """The renewal of every lease held, by one script per ``RENEW_CHUNK`` lots (a
    standalone Redis) and by a script per lot (a cluster's way, run here on one node):
    the same leases renewed, the same found lost, the address published."""
    from engine import ownership as owning

    monkeypatch.setattr(owning, "RENEW_CHUNK", 2)  # three calls for five lots
    redis_server.flush()
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        mine = owning.Ownership(client, ttl_ms=5000, address="ws://10.0.0.1:8080/ws")
        mine._scripted = scripted
        lost: list[str] = []
        mine.on_lost = lost.append
        for i in range(1, 6):  # each lot under an epoch of its own: 11, 21, ... 51
            lot_id = f"L{i}"
            await client.set(keys.epoch(lot_id), 10 * i)
            assert await mine.acquire(lot_id) == 10 * i + 1
            await client.pexpire(keys.lease(lot_id), 1000)  # renewed: 5 s again
        await client.set(keys.lease("L2"), "another")  # taken over by another process
        await client.incr(keys.epoch("L2"))
        await client.incr(keys.epoch("L4"))  # (an epoch moved on under this lease)
        assert await mine.renew() == ["L2", "L4"] and lost == ["L2", "L4"]
        assert mine.held == {"L1": 11, "L3": 31, "L5": 51}
        for lot_id in ("L1", "L3", "L5"):
            assert 4000 < await client.pttl(keys.lease(lot_id)) <= 5000
            assert await lease_holder(redis_server, lot_id) == mine.id
        assert await lease_holder(redis_server, "L2") == "another"
        assert await client.get(keys.address(mine.id)) == b"ws://10.0.0.1:8080/ws"
        assert 4000 < await client.pttl(keys.address(mine.id)) <= 5000
        # Nothing held: the address alone is published.
        for lot_id in ("L1", "L3", "L5"):
            mine.lost(lot_id)
        await client.delete(keys.address(mine.id))
        assert await mine.renew() == []
        assert await client.get(keys.address(mine.id)) == b"ws://10.0.0.1:8080/ws"
    finally:
        await client.aclose()
