"""The Redis backend's fan-out between processes (engine/logs/redis.py, engine/runtime.py):
a process follows the appends of only the lots its clients watch, joins a lot's feed
with no gap, and arms deadlines only for the lots it owns; real Redis, two engines."""

import asyncio

from services import RedisServer
from test_contract import Clock, open_lot
from test_ownership import engine_on, two_on

from auction.model import PlaceBid, Rejection
from auction.record import Recorded
from auction.state import LotState
from engine.redis_engine import RedisEngine


async def bid_on(engine: RedisEngine, bidders: list[str], bids: int,
                 start: int = 11000) -> None:
    for i in range(bids):
        result = await engine.execute(
            "L1", PlaceBid(bidder_id=bidders[i % 2], amount=start + 1000 * i))
        assert not isinstance(result, Rejection), result


async def test_a_process_whose_clients_watch_no_lot_receives_none_of_its_appends(
        redis_server: RedisServer) -> None:
    redis_server.flush()
    clock = Clock()
    async with engine_on(redis_server, clock) as a, engine_on(redis_server, clock) as b, \
            engine_on(redis_server, clock) as c:
        bidders = await open_lot(a, "L1")
        seen: list[int] = []
        watching = await c.subscribe("L1", lambda s, rs: seen.extend(r.seq for r in rs))
        await bid_on(a, bidders, 8)
        last = a._get("L1").version
        for _ in range(100):  # c's feed delivers the lot's appends, b's nothing
            if seen and seen[-1] == last:
                break
            await asyncio.sleep(0.02)
        assert seen[-1] == last and c.metrics.feed_rows >= 8
        assert b.metrics.feed_rows == 0 and b.metrics.feed_lots == 0
        assert a.metrics.feed_rows == 0  # the owner skips its own broadcasts undecoded
        # b reads the lot on demand, current, though it never followed it
        state = await b.find("L1")
        assert state is not None and b._get("L1").version == last
        watching.close()


async def test_a_lot_is_no_longer_followed_some_time_after_its_last_listener_left(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        b.unfollow_s = 0.2
        bidders = await open_lot(a, "L1")
        first = await b.subscribe("L1", lambda s, rs: None)
        second = await b.subscribe("L1", lambda s, rs: None)
        first.close()
        await asyncio.sleep(0.4)
        assert b.metrics.feed_lots == 1  # one listener is left
        second.close()
        await asyncio.sleep(0.4)
        assert b.metrics.feed_lots == 0
        received = b.metrics.feed_rows
        await bid_on(a, bidders, 4)
        await asyncio.sleep(0.3)
        assert b.metrics.feed_rows == received
        # a listener back within the delay keeps the feed: nothing to subscribe again
        again = await b.subscribe("L1", lambda s, rs: None)
        again.close()
        await b.subscribe("L1", lambda s, rs: None)
        await asyncio.sleep(0.4)
        assert b.metrics.feed_lots == 1


async def test_a_listener_joining_on_another_process_mid_bidding_gets_every_event_once_in_order(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        bidding = asyncio.create_task(bid_on(a, bidders, 60))
        received: list[list[int]] = []
        for _ in range(6):  # joins at every moment of the bidding, each with after_seq 0
            await asyncio.sleep(0.01)
            got: list[int] = []
            received.append(got)

            def listener(state: LotState, records: list[Recorded], got: list[int] = got) -> None:
                got.extend(r.seq for r in records)
            await b.subscribe("L1", listener, after_seq=0)
        await bidding
        last = a._get("L1").version
        for _ in range(100):
            if all(got and got[-1] == last for got in received):
                break
            await asyncio.sleep(0.02)
        for got in received:
            assert got == list(range(1, last + 1))


async def test_a_listener_joining_after_other_processes_appended_unseen_starts_from_the_last_event(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        assert await b.find("L1") is not None  # b holds the lot, and follows it not
        await bid_on(a, bidders, 5)  # nothing more is appended after these
        got: list[int] = []
        await b.subscribe("L1", lambda s, rs: got.extend(r.seq for r in rs), after_seq=0)
        assert got == list(range(1, a._get("L1").version + 1))


async def test_deadlines_are_armed_on_the_lots_owner_only(redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        await b.subscribe("L1", lambda s, rs: None)
        await bid_on(b, bidders, 2)  # forwarded to a
        assert a._get("L1").timer is not None
        held = b._get("L1")
        assert held.timer is None and held.deadline is None and "L1" not in b.ownership.held


async def test_an_owner_follows_its_lots_without_subscribing_until_another_process_takes_one(
        redis_server: RedisServer) -> None:
    async with two_on(redis_server) as (a, b, clock):
        bidders = await open_lot(a, "L1")
        seen: list[int] = []
        watching = await a.subscribe("L1", lambda s, rs: seen.extend(r.seq for r in rs))
        # The owner's clients get its own appends from its writer: no subscription.
        assert a.metrics.feed_lots == 1 and a.log.watching() == 0
        await bid_on(a, bidders, 2)
        assert seen[-1] == a._get("L1").version
        # a stalls past its lease; b takes the lot over and appends to it.
        assert a.ownership._renewer is not None
        a.ownership._renewer.cancel()
        await asyncio.sleep(a.ownership.ttl_ms / 1000 + 0.1)
        await bid_on(b, bidders, 2, start=13000)
        # a wakes up: its renewal finds the lease taken, and its listener, which saw
        # nothing of b's appends, is brought up to them, then follows the feed.
        assert await a.ownership.renew() == ["L1"]
        await caught_up(seen, b)
        assert seen == list(range(seen[0], b._get("L1").version + 1))
        assert a.log.watching() == 1
        await bid_on(b, bidders, 1, start=15000)
        await caught_up(seen, b)
        assert seen == list(range(seen[0], b._get("L1").version + 1))
        assert a.metrics.feed_rows >= 1
        watching.close()


async def caught_up(seen: list[int], engine: RedisEngine) -> None:
    """Wait (at most 2 s) until ``seen`` ends with the last event ``engine`` holds of L1."""
    for _ in range(100):
        if seen[-1] == engine._get("L1").version:
            return
        await asyncio.sleep(0.02)
