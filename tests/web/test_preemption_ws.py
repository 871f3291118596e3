"""Pre-emptive purchase rights over the WebSocket protocol (docs/protocol.md, Pre-emptive
purchase rights): a holder learns it may match from its own standing after a rival's bid,
matches with a bid of the best price, and everyone sees the match by number only."""

from typing import Any

from web_support import Client, Server


async def update_with(client: Client, kind: str) -> dict[str, Any]:
    """The next ``update`` holding an event of type ``kind``."""
    while True:
        seen = await client.next("update")
        if any(e["type"] == kind for e in seen["events"]):
            return seen


async def holder_offer(client: Client) -> dict[str, Any]:
    """The holder's ``you.preemption`` from its next standing."""
    return dict((await client.next("you"))["you"]["preemption"])


async def test_a_holder_is_told_it_may_match_after_a_rival_s_bid_and_its_match_is_public(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(preemption={"holders": ["b2"]})
    rival = await server.connect()
    await rival.subscribe(lot_id, tokens[0])
    holder = await server.connect()
    await holder.subscribe(lot_id, tokens[1])
    watcher = await server.connect()
    first = await watcher.subscribe(lot_id)
    assert first["state"]["params"]["preemption"] == {"holders": 1, "exercise": "during"}

    assert (await rival.bid(lot_id, "120.00"))["type"] == "ack"
    offer = await holder_offer(holder)
    assert offer == {"priority": 1, "may_match": True, "match_price": "120.00"}

    refused = await rival.bid(lot_id, "120.00")
    assert refused["type"] == "rejected" and refused["code"] == "already_leading"
    ack = await holder.bid(lot_id, "120.00")
    assert ack["type"] == "ack" and ack["amount"] == "120.00"
    seen = await update_with(watcher, "PriceMatched")
    matched = next(e for e in seen["events"] if e["type"] == "PriceMatched")
    assert set(matched) == {"seq", "type", "at", "bidder_no", "amount"}
    assert seen["state"]["preemption"]["matched_no"] == seen["state"]["leader_no"]
    assert not any("b2" in frame for frame in watcher.seen), "the holder's id leaked"
