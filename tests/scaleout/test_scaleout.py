"""The scale-out backend with real processes: two servers sharing one Redis and one
Postgres that this test run starts itself, bidders on both, and crashes of each part."""

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from lotplay import setup_lot, staff_get
from services import PostgresServer, RedisServer

from auction.money import parse_amount
from engine import redis_keys as keys
from engine.ownership import LEASE_TTL_MS
from helpers import ServerProcess
from web.client import LotClient

pytestmark = pytest.mark.slow
_databases = itertools.count(1)


class Stack:
    """One Redis, one Postgres database, and server processes on them."""

    def __init__(self, tmp: Path, postgres: PostgresServer) -> None:
        self.tmp = tmp
        self.redis = RedisServer(tmp / "redis")
        self.postgres = postgres
        self.dsn = postgres.create_database(f"scaleout_{next(_databases)}")
        self.servers: list[ServerProcess] = []

    def server(self, addressed: bool = False) -> ServerProcess:
        """A server process on the stack; ``addressed``: given its own address
        (``AUCTION_PROCESS_URL``), which it tells clients of the lots it owns."""
        data = self.tmp / f"server{len(self.servers)}"
        data.mkdir()
        server = ServerProcess(str(data), extra_env={"AUCTION_REDIS_URL": self.redis.url,
                                                     "AUCTION_POSTGRES_DSN": self.dsn})
        if addressed:
            server.extra_env["AUCTION_PROCESS_URL"] = server.base
        self.servers.append(server)
        return server

    async def redis_rows(self, lot_id: str) -> list[tuple[int, str, str]]:
        client = aioredis.Redis.from_url(self.redis.url)
        try:
            entries = await client.xrange(keys.events(lot_id))
        finally:
            await client.aclose()
        return [(int(eid.split(b"-")[0]), orjson.loads(f[b"b"]), f[b"h"].decode())
                for eid, f in entries]

    async def postgres_rows(self, lot_id: str) -> list[tuple[int, str, str]]:
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch(
                "SELECT seq, body_text, hash FROM events WHERE lot_id = $1 ORDER BY seq", lot_id)
        finally:
            await conn.close()
        return [(r["seq"], orjson.loads(r["body_text"]), r["hash"]) for r in rows]

    async def redis_seq(self, lot_id: str) -> int:
        client = aioredis.Redis.from_url(self.redis.url)
        try:
            return int(await client.hget(keys.meta(lot_id), "seq") or 0)
        finally:
            await client.aclose()

    async def record_complete(self, lot_id: str, timeout: float = 20) -> list[Any]:
        """Wait until Postgres holds every event Redis acknowledged, gap-free, and what
        the lot's stream still holds (it is trimmed once Postgres has it) exactly; return
        Postgres's record."""
        deadline = time.monotonic() + timeout
        while True:
            last = await self.redis_seq(lot_id)
            in_redis = await self.redis_rows(lot_id)
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                in_postgres = await self.postgres_rows(lot_id)
                if ([seq for seq, _, _ in in_postgres] == list(range(1, last + 1))
                        and in_postgres[len(in_postgres) - len(in_redis):] == in_redis):
                    return in_postgres
            assert time.monotonic() < deadline, "the Postgres record did not catch up"
            await asyncio.sleep(0.2)


@pytest_asyncio.fixture
async def stack(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Stack]:
    s = Stack(tmp_path, postgres_server)
    s.redis.start()
    try:
        yield s
    finally:
        for server in s.servers:
            server.stop()
        s.redis.kill()


async def keep_bidding(client: LotClient, until: float) -> None:
    """Bid the least acceptable price until ``until``; pause a little after a refusal."""
    while time.monotonic() < until:
        nxt = client.state.get("next_min")
        if not client.connected:
            return
        if client.state.get("status") != "open" or not nxt or client.leading():
            await asyncio.sleep(0.005)
            continue
        try:
            reply = await client.bid(nxt, timeout=5)
        except (ConnectionError, TimeoutError):
            return
        if reply["type"] != "ack":
            await asyncio.sleep(0.02)


async def connect_all(clients: list[LotClient]) -> None:
    for client in clients:
        await client.connect()
    for client in clients:
        await client.wait_for(lambda c: c.state.get("status") == "open", timeout=15)


def until_close(closes_at: int, margin_s: float = 0.7) -> float:
    return time.monotonic() + max(0.0, (closes_at - time.time() * 1000) / 1000 - margin_s)


async def check_result(stack: Stack, lot_id: str, clients: list[LotClient],
                       closes_at: int) -> list[Any]:
    """Every acknowledged bid is in the final record, the lot closed once with the best
    acknowledged bid as winner, and Postgres equals Redis."""
    for client in clients:
        await client.wait_for(lambda c: bool(c.state.get("outcome")), timeout=30)
    record = await stack.record_complete(lot_id)
    by_seq = {seq: body for seq, body, _ in record}
    assert sorted(by_seq) == list(range(1, len(record) + 1))
    acked = [ack for c in clients for ack in c.acked]
    assert acked, "no bid was acknowledged"
    for ack in acked:
        assert by_seq[ack["seq"]]["type"] == "BidAccepted"
        assert by_seq[ack["seq"]]["amount"] == parse_amount(ack["amount"], 2)
    assert [b["type"] for b in by_seq.values()].count("LotClosed") == 1
    closed = next(b for b in by_seq.values() if b["type"] == "LotClosed")
    assert closed["closes_at"] == closes_at and closed["at"] >= closes_at
    best = max(acked, key=lambda a: parse_amount(a["amount"], 2))
    winner = next(c for c in clients if best in c.acked)
    awarded = [b for b in by_seq.values() if b["type"] == "LotAwarded"]
    assert len(awarded) == 1
    assert (awarded[0]["bidder_no"], awarded[0]["amount"]) == (
        winner.bidder_no, parse_amount(best["amount"], 2))
    return record


async def test_two_processes_serve_one_lot_in_one_order_and_close_it_once(stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=8, bidders=6)
    bidders = [LotClient((a if i % 2 else b).ws_url, lot_id, t) for i, t in enumerate(tokens)]
    watchers = [LotClient(a.ws_url, lot_id), LotClient(b.ws_url, lot_id)]
    try:
        await connect_all(bidders + watchers)
        closes_at = watchers[0].state["closes_at"]
        await asyncio.gather(*(keep_bidding(c, until_close(closes_at)) for c in bidders))
        record = await check_result(stack, lot_id, bidders + watchers, closes_at)
        closed = next(body for _, body, _ in record if body["type"] == "LotClosed")
        assert closed["at"] - closes_at < 1000  # fired on time by one of the processes
        for client in bidders + watchers:  # same events, same order, gap-free, once
            assert [e["seq"] for e in client.events] == [seq for seq, _, _ in record]
            assert [e["type"] for e in client.events] == [body["type"] for _, body, _ in record]
        assert sum(1 for c in bidders if c.acked) >= 2
        assert {c.ws_url for c in bidders if c.acked} == {a.ws_url, b.ws_url}
        seen_by_a = await staff_get(a, f"/api/lots/{lot_id}/events")
        seen_by_b = await staff_get(b, f"/api/lots/{lot_id}/events")
        assert seen_by_a == seen_by_b
    finally:
        for client in bidders + watchers:
            await client.close()


@pytest.mark.parametrize("victim", ["owner", "follower", "redis"])
async def test_a_kill_9_mid_lot_loses_no_acknowledged_bid(stack: Stack, victim: str) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=14, bidders=4)
    clients = [LotClient((a if i % 2 else b).ws_url, lot_id, t) for i, t in enumerate(tokens)]
    try:
        await connect_all(clients)
        closes_at = clients[0].state["closes_at"]
        busy = [asyncio.create_task(keep_bidding(c, until_close(closes_at))) for c in clients]
        await asyncio.sleep(2.5)
        before = sum(len(c.acked) for c in clients)
        assert before > 10, "the lot was not busy"
        if victim != "redis":
            # a created the lot and owns it: killed, b takes it over with its deadline;
            # the clients of the killed process move to the survivor and resume
            dead, survivor = (a, b) if victim == "owner" else (b, a)
            dead.kill()
            await asyncio.gather(*busy)
            for client in clients:
                if client.ws_url == dead.ws_url:
                    await client.close()
                    client.ws_url = survivor.ws_url
                    await client.connect()
        else:
            stack.redis.kill()
            await asyncio.sleep(1.0)  # bids meanwhile are refused, never acknowledged
            stack.redis.start()  # same port, same data directory (appendfsync always)
            await asyncio.gather(*busy)
            for client in clients:  # a link may have dropped on either side: resume
                if not client.connected:
                    await client.close()
                    await client.connect()
        await asyncio.gather(*(keep_bidding(c, until_close(closes_at)) for c in clients))
        assert sum(len(c.acked) for c in clients) > before
        record = await check_result(stack, lot_id, clients, closes_at)
        if victim != "redis":  # closed by the survivor's own timer, on time
            closed = next(body for _, body, _ in record if body["type"] == "LotClosed")
            assert closed["at"] - closes_at < 500
    finally:
        for client in clients:
            await client.close()


async def feed_rows(server: ServerProcess) -> float:
    """How many events of other processes' appends the server's feed has received
    (``auction_feed_rows_total`` of its ``/metrics``)."""
    return await server.metric("auction_feed_rows_total")


async def test_a_process_serving_no_client_of_a_lot_receives_none_of_its_events(
        stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=30, bidders=2)
    clients = [LotClient(a.ws_url, lot_id, t) for t in tokens]
    try:
        await connect_all(clients)
        await asyncio.gather(*(keep_bidding(c, time.monotonic() + 1.5) for c in clients))
        assert sum(len(c.acked) for c in clients) > 10, "the lot was not busy"
        assert await feed_rows(b) == 0  # b serves no client of the lot: nothing came
        watcher = LotClient(b.ws_url, lot_id)  # now b does
        clients.append(watcher)
        await watcher.connect()
        await asyncio.gather(*(keep_bidding(c, time.monotonic() + 1.0) for c in clients[:2]))
        last = await stack.redis_seq(lot_id)
        await watcher.wait_for(lambda c: c.events[-1]["seq"] == last, timeout=10)
        assert await feed_rows(b) > 0
    finally:
        for client in clients:
            await client.close()


async def test_a_client_is_told_which_process_owns_its_lot_and_moving_there_spares_the_others(
        stack: Stack) -> None:
    a, b, c = stack.server(addressed=True), stack.server(addressed=True), stack.server()
    for server in (a, b, c):
        await server.start()
    lot_id, tokens = await setup_lot(a, duration_s=30, bidders=2)  # a takes its lease
    first = LotClient(a.ws_url, lot_id, tokens[0])
    second = LotClient(b.ws_url, lot_id, tokens[1])
    unaddressed = LotClient(c.ws_url, lot_id)
    clients = [first, second, unaddressed]
    try:
        await connect_all(clients)
        for client in clients:
            await client.wait_for(lambda x: x.session.role is not None, timeout=10)
        assert first.session.owner is None  # a owns it
        assert second.session.owner == a.ws_url  # b knows where a is
        assert unaddressed.session.owner is None  # c was given no address: it tells nothing
        assert (await second.bid(second.state["next_min"]))["type"] == "ack"  # forwarded
        # The bidder moves to the owner: b and c then spend nothing on the lot.
        moved = LotClient(second.session.owner, lot_id, tokens[1])
        clients.append(moved)
        await moved.connect()
        await moved.wait_for(lambda x: x.session.role is not None, timeout=10)
        assert moved.session.owner is None
        await second.close()
        await unaddressed.close()
        deadline = time.monotonic() + 10  # b and c stop following the lot a while after
        while await b.metric("auction_feed_lots") or await c.metric("auction_feed_lots"):
            assert time.monotonic() < deadline, "a process kept following the lot"
            await asyncio.sleep(0.2)
        rows_b, rows_c = await feed_rows(b), await feed_rows(c)
        await asyncio.gather(*(keep_bidding(x, time.monotonic() + 1.5) for x in (first, moved)))
        assert len(moved.acked) > 3 and len(first.acked) > 3, "the lot was not busy"
        assert (await feed_rows(b), await feed_rows(c)) == (rows_b, rows_c)
    finally:
        for client in clients:
            await client.close()


async def test_clients_joining_a_lot_on_a_second_process_mid_bidding_get_every_update_in_order(
        stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=30, bidders=2)
    bidders = [LotClient(a.ws_url, lot_id, t) for t in tokens]
    watchers: list[LotClient] = []
    try:
        await connect_all(bidders)
        busy = [asyncio.create_task(keep_bidding(c, time.monotonic() + 3.0)) for c in bidders]
        for _ in range(5):  # b's feed of the lot starts with the first of them
            await asyncio.sleep(0.4)
            watchers.append(LotClient(b.ws_url, lot_id))
            await watchers[-1].connect()
        await asyncio.gather(*busy)
        last = await stack.redis_seq(lot_id)
        for watcher in watchers:
            await watcher.wait_for(lambda c: c.events[-1]["seq"] == last, timeout=10)
            assert [e["seq"] for e in watcher.events] == list(range(1, last + 1))
        assert await feed_rows(b) > 0
    finally:
        for client in bidders + watchers:
            await client.close()


async def test_the_lot_list_of_a_process_shows_a_lot_created_on_another_as_it_stands(
        stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    listed = await staff_get(b, "/api/lots")  # b holds the lots it listed, as they were
    lot_id, tokens = await setup_lot(a, duration_s=30, bidders=2)
    assert lot_id not in {lot["lot_id"] for lot in listed["lots"]}
    clients = [LotClient(a.ws_url, lot_id, t) for t in tokens]
    try:
        await connect_all(clients)
        seen = 0
        for client in clients:  # read once, then again after the lot moved on at a
            await client.wait_for(lambda c, seen=seen: c.state.get("seq", 0) >= seen,
                                  timeout=5)
            reply = await client.bid(client.state["next_min"], timeout=5)
            assert reply["type"] == "ack"
            lots = {lot["lot_id"]: lot for lot in (await staff_get(b, "/api/lots"))["lots"]}
            assert lots[lot_id]["status"] == "open"
            assert (lots[lot_id]["seq"], lots[lot_id]["best"]) == (reply["seq"], reply["amount"])
            seen = reply["seq"]
        assert await feed_rows(b) == 0
    finally:
        for client in clients:
            await client.close()


async def test_bidding_goes_on_while_postgres_is_down_and_the_record_catches_up(
        stack: Stack) -> None:
    a = stack.server()
    await a.start()
    lot_id, tokens = await setup_lot(a, duration_s=12, bidders=3)
    clients = [LotClient(a.ws_url, lot_id, t) for t in tokens]
    try:
        await connect_all(clients)
        closes_at = clients[0].state["closes_at"]
        busy = [asyncio.create_task(keep_bidding(c, until_close(closes_at))) for c in clients]
        await asyncio.sleep(1.5)
        stack.postgres.stop("immediate")
        down_at = sum(len(c.acked) for c in clients)
        await asyncio.sleep(3.0)
        while_down = sum(len(c.acked) for c in clients) - down_at
        assert while_down > 10, "bidding stopped while Postgres was down"
        stack.postgres.start()
        await asyncio.gather(*busy)
        await check_result(stack, lot_id, clients, closes_at)
    finally:
        for client in clients:
            await client.close()
        stack.postgres.start()


async def lease_and_epoch(stack: Stack, lot_id: str) -> tuple[str | None, int]:
    client = aioredis.Redis.from_url(stack.redis.url)
    try:
        holder, epoch = await client.get(keys.lease(lot_id)), await client.get(keys.epoch(lot_id))
    finally:
        await client.aclose()
    return (holder.decode() if holder else None), int(epoch or 0)


async def test_a_kill_9_of_the_lots_owner_hands_the_lot_over_within_the_lease_ttl(
        stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=14, bidders=4)
    owner, epoch = await lease_and_epoch(stack, lot_id)
    assert owner is not None and epoch == 1  # a created the lot and owns it
    # every bidder on b: each bid is forwarded to a, the owner
    clients = [LotClient(b.ws_url, lot_id, t) for t in tokens]
    try:
        await connect_all(clients)
        closes_at = clients[0].state["closes_at"]
        busy = [asyncio.create_task(keep_bidding(c, until_close(closes_at))) for c in clients]
        await asyncio.sleep(2.0)
        before = sum(len(c.acked) for c in clients)
        assert before > 10, "the lot was not busy"
        killed = time.monotonic()
        a.kill()  # bids in flight at a are lost unacknowledged
        # (an ack a sent just before it died may still arrive: it proves no take-over)
        while (taken := await lease_and_epoch(stack, lot_id))[0] in (None, owner):
            assert time.monotonic() - killed < LEASE_TTL_MS / 1000 + 3.0, "no take-over"
            await asyncio.sleep(0.05)
        assert taken[1] == 2
        after = sum(len(c.acked) for c in clients)
        while sum(len(c.acked) for c in clients) == after:  # bidding goes on at b
            assert time.monotonic() - killed < LEASE_TTL_MS / 1000 + 3.0, "no bid after it"
            await asyncio.sleep(0.05)
        await asyncio.gather(*busy)
        await asyncio.gather(*(keep_bidding(c, until_close(closes_at)) for c in clients))
        await check_result(stack, lot_id, clients, closes_at)
    finally:
        for client in clients:
            await client.close()


async def test_an_owner_stalled_past_its_lease_acknowledges_nothing_after_the_take_over(
        stack: Stack) -> None:
    a, b = stack.server(), stack.server()
    await a.start()
    await b.start()
    lot_id, tokens = await setup_lot(a, duration_s=16, bidders=4)
    clients = [LotClient((a if i % 2 else b).ws_url, lot_id, t) for i, t in enumerate(tokens)]
    assert a.proc is not None
    try:
        await connect_all(clients)
        closes_at = clients[0].state["closes_at"]
        busy = [asyncio.create_task(keep_bidding(c, until_close(closes_at))) for c in clients]
        await asyncio.sleep(2.0)
        a.proc.send_signal(signal.SIGSTOP)  # a freezes with bids in flight, lease held
        try:
            await asyncio.sleep(LEASE_TTL_MS / 1000 + 2.0)
            _, epoch = await lease_and_epoch(stack, lot_id)
            assert epoch == 2, "b did not take the lot over"
        finally:
            a.proc.send_signal(signal.SIGCONT)  # a wakes up believing it owns the lot
        await asyncio.gather(*busy)
        for client in clients:
            if not client.connected:
                await client.close()
                await client.connect()
        await asyncio.gather(*(keep_bidding(c, until_close(closes_at)) for c in clients))
        # every ack (a's included, before and after its stall) is in the one record
        await check_result(stack, lot_id, clients, closes_at)
    finally:
        for client in clients:
            await client.close()
