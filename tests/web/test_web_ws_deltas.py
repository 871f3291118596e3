"""Live ``update``s carry what changed, not the lot's snapshot; catch-ups carry the whole
snapshot; a client that folds them holds the snapshot the server would give it now."""

from __future__ import annotations

import json
from typing import Any

import orjson
from web_support import HOST_TOKEN, Client, Server


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


async def wire_update(client: Client) -> tuple[int, dict[str, Any]]:
    """The next ``update`` as sent: its size in bytes and its fields."""
    await client.next("update")
    raw = client.seen[-1].encode()
    return len(raw), orjson.loads(raw)


async def test_a_live_update_of_a_bid_carries_what_changed_not_the_snapshot(
        server: Server) -> None:
    lot_id = await server.make_lot(start_price="1000000.00", step="10000.00",
                                   deposit="50000.00")
    tokens = [(await server.register(lot_id, f"co-{i}"))["token"] for i in range(20)]
    await server.open(lot_id)
    public, staff, bidder = [await server.connect() for _ in range(3)]
    first = await public.subscribe(lot_id)
    assert "state" in first and "delta" not in first  # a catch-up: the whole snapshot
    await staff.subscribe(lot_id, HOST_TOKEN)
    await bidder.subscribe(lot_id, tokens[5])
    assert (await bidder.bid(lot_id, "1200000.00"))["type"] == "ack"
    size, update = await wire_update(public)
    assert "state" not in update
    assert update["delta"] == {"seq": update["events"][0]["seq"], "bid_count": 1,
                               "best": "1200000.00", "leader_no": update["events"][0][
                                   "bidder_no"], "next_min": "1210000.00"}
    assert size <= 300, size  # the whole snapshot was about 800 bytes
    staff_size, staff_update = await wire_update(staff)
    assert "state" not in staff_update and "register/5/last_bid" in staff_update["delta"]
    assert staff_size <= 600, staff_size  # the whole staff snapshot of 20 bidders: 3.5 KB


async def test_a_watcher_that_leaves_and_comes_back_folds_into_the_current_snapshot(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(bidders=3, visibility="rank")
    bidders = [await server.connect() for _ in tokens]
    for client, token in zip(bidders, tokens, strict=True):
        await client.subscribe(lot_id, token)
    staff = await server.connect()
    await staff.subscribe(lot_id, HOST_TOKEN)
    assert (await bidders[0].bid(lot_id, "110.00", ref="a"))["type"] == "ack"
    # bidder 1 leaves: while nobody watches its view, the hub forgets it ...
    await bidders[1].send({"type": "unsubscribe", "lot_id": lot_id})
    await bidders[1].next("unsubscribed")
    assert (await bidders[2].bid(lot_id, "120.00", ref="b"))["type"] == "ack"
    assert (await bidders[0].bid(lot_id, "130.00", ref="c"))["type"] == "ack"
    # ... and on its return starts from a whole snapshot; the deltas then fit it.
    again = await bidders[1].subscribe(lot_id, tokens[1], after_seq=None)
    assert "state" in again
    assert (await bidders[1].bid(lot_id, "140.00", ref="d"))["type"] == "ack"
    assert (await bidders[2].bid(lot_id, "150.00", ref="e"))["type"] == "ack"
    seq = server.seq(lot_id)
    for client, token in [*zip(bidders, tokens, strict=True), (staff, HOST_TOKEN)]:
        while client.states[lot_id]["seq"] < seq:
            await client.next("update")
        status, view = await server.call("GET", f"/api/lots/{lot_id}", token=token)
        assert status == 200
        assert canonical(client.states[lot_id]) == canonical(view)
