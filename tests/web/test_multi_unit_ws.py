"""Multi-unit lots over the WebSocket protocol (docs/protocol.md, Multi-unit lots): a bid
carries its units; the board's snapshot shows the cut-off; a bidder pushed below the
cut-off gets its standing at once, holding no unit any more."""

from typing import Any

from web_support import Client, Server


async def bidder(server: Server, lot_id: str, token: str) -> tuple[Client, dict[str, Any]]:
    client = await server.connect()
    return client, await client.subscribe(lot_id, token)


async def standing(client: Client) -> dict[str, Any]:
    """The next ``you`` of ``client``'s bidder."""
    return dict((await client.next("you"))["you"])


async def test_a_bidder_pushed_below_the_cut_off_is_told_at_once(server: Server) -> None:
    lot_id, tokens = await server.open_lot(bidders=3, units=2, max_units_per_bidder=2)
    a, first = await bidder(server, lot_id, tokens[0])
    assert first["state"]["params"]["units"] == 2
    assert first["state"]["units"] == {"total": 2, "allotted": 0, "cut_off": None}
    b, _ = await bidder(server, lot_id, tokens[1])
    c, _ = await bidder(server, lot_id, tokens[2])
    watcher = await server.connect()
    await watcher.subscribe(lot_id)

    await a.send({"type": "bid", "lot_id": lot_id, "amount": "100.00", "ref": "a1"})
    assert (await a.answer())["type"] == "ack"
    assert (await b.bid(lot_id, "120.00"))["type"] == "ack"
    state = (await watcher.until(lambda s: s.get("bid_count") == 2))["state"]
    assert state["units"] == {"total": 2, "allotted": 2, "cut_off": "100.00"}
    assert state["next_min"] == "110.00"

    refused = await c.bid(lot_id, "100.00")
    assert refused["type"] == "rejected" and refused["code"] == "not_improving"
    assert (await c.bid(lot_id, "110.00", ref="c2"))["type"] == "ack"
    while (you := await standing(a))["units_held"] != 0:
        pass
    assert you["leading"] is False and you["next_min"] == "120.00"


async def test_a_bid_for_more_units_than_the_lot_allows_is_refused(server: Server) -> None:
    lot_id, tokens = await server.open_lot(units=3)
    a, _ = await bidder(server, lot_id, tokens[0])
    await a.send({"type": "bid", "lot_id": lot_id, "amount": "100.00", "ref": "a1",
                  "units": 2})
    refused = await a.answer()
    assert refused["type"] == "rejected" and refused["code"] == "bad_units"
