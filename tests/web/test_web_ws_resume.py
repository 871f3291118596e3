"""Resume from a sequence number: nothing missed, nothing twice, across reconnects while
bids keep coming."""

import asyncio
import contextlib
from typing import Any

from web_support import Client, Server

BIDS = 80


async def bid_war(server: Server, lot_id: str, tokens: list[str], stop: asyncio.Event) -> int:
    """Two bidders outbid each other until ``stop`` or BIDS bids; the number accepted."""
    clients = [await server.connect() for _ in tokens]
    for client, token in zip(clients, tokens, strict=True):
        await client.subscribe(lot_id, token, after_seq=None)
    accepted = 0
    for i in range(BIDS):
        if stop.is_set():
            break
        amount = f"{100 + 10 * i}.00"
        reply = await clients[i % 2].bid(lot_id, amount, ref=f"r{i}")
        assert reply["type"] == "ack", reply
        accepted += 1
        if i % 4 == 0:
            await asyncio.sleep(0.002)
    return accepted


async def read_until(client: Client, seqs: list[int], events: list[dict[str, Any]],
                     predicate: Any, timeout: float = 10.0) -> None:
    """Read updates into ``seqs``/``events`` until ``predicate(seqs)``."""
    async with asyncio.timeout(timeout):
        while not predicate(seqs):
            msg = await client.recv()
            if msg["type"] == "update":
                for event in msg["events"]:
                    seqs.append(event["seq"])
                    events.append(event)


async def test_reconnecting_with_the_last_seq_misses_nothing_and_repeats_nothing(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    start = server.seq(lot_id)
    stop = asyncio.Event()
    war = asyncio.create_task(bid_war(server, lot_id, tokens, stop))
    seqs: list[int] = []
    events: list[dict[str, Any]] = []
    try:
        for round_ in range(4):  # drop the connection three times mid-war
            client = await server.connect()
            await client.send({"type": "subscribe", "lot_id": lot_id,
                               "after_seq": seqs[-1] if seqs else 0})
            assert (await client.recv())["type"] == "subscribed"
            target = start + 10 * (round_ + 1)
            if round_ == 3:
                await war
                target = server.seq(lot_id)
            await read_until(client, seqs, events, lambda s, t=target: s and s[-1] >= t)
            await client.conn.close()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await war
    final = server.seq(lot_id)
    assert final == start + BIDS
    assert seqs == list(range(1, final + 1))
    history = await server.engine.history(lot_id)
    assert [e["type"] for e in events] == [type(r.event).__name__ for r in history]


async def test_resume_after_a_drop_without_a_close_handshake(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    watcher = await server.connect()
    first = await watcher.subscribe(lot_id)
    last = first["events"][-1]["seq"]
    watcher.conn.transport.abort()  # as a lost network would
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0], after_seq=None)
    assert (await bidder.bid(lot_id, "100.00"))["type"] == "ack"
    other = await server.connect()
    await other.subscribe(lot_id, tokens[1], after_seq=None)
    assert (await other.bid(lot_id, "100.00", ref="equal"))["code"] == "not_improving"
    assert (await other.bid(lot_id, "110.00"))["type"] == "ack"
    again = await server.connect()
    update = await again.subscribe(lot_id, after_seq=last)
    assert [e["seq"] for e in update["events"]] == [last + 1, last + 2]
    assert [e["amount"] for e in update["events"]] == ["100.00", "110.00"]
    await again.quiet()


async def test_resume_from_the_current_seq_gets_only_live_events(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    now = server.seq(lot_id)
    update = await client.subscribe(lot_id, after_seq=now)
    assert update["events"] == [] and update["state"]["seq"] == now
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    await bidder.bid(lot_id, "100.00")
    live = await client.next("update")
    assert [e["seq"] for e in live["events"]] == [now + 1]


async def test_a_bidder_resumes_with_its_own_view(server: Server) -> None:
    lot_id, tokens = await server.open_lot(visibility="rank")
    one, two = await server.connect(), await server.connect()
    await one.subscribe(lot_id, tokens[0])
    await two.subscribe(lot_id, tokens[1])
    mark = server.seq(lot_id)
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    assert (await two.bid(lot_id, "110.00"))["type"] == "ack"
    again = await server.connect()
    update = await again.subscribe(lot_id, tokens[0], after_seq=mark)
    assert [e.get("amount") for e in update["events"]] == ["100.00", None]
    assert update["state"]["you"]["rank"] == 2
