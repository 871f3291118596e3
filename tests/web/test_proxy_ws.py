"""Proxy bidding over the WebSocket protocol (docs/protocol.md, Proxy bidding): a bidder
leaves a maximum with ``act proxy`` and gets an ack; the engine's bids for it reach
everybody as bids of its number; nobody else ever sees the maximum."""

from typing import Any

from web_support import HOST_TOKEN, Client, Server


async def bidder(server: Server, lot_id: str, token: str) -> tuple[Client, dict[str, Any]]:
    client = await server.connect()
    update = await client.subscribe(lot_id, token)
    return client, update




async def next_you(client: Client) -> dict[str, Any]:
    return (await client.next("you"))["you"]


async def test_a_proxy_maximum_is_acked_and_others_see_only_the_automatic_bids(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(proxy=True)
    a, first = await bidder(server, lot_id, tokens[0])
    assert first["state"]["params"]["proxy"] is True
    b, _ = await bidder(server, lot_id, tokens[1])
    watcher = await server.connect()
    await watcher.subscribe(lot_id)
    staff = await server.connect()
    await staff.subscribe(lot_id, HOST_TOKEN)

    ack = await a.act(lot_id, "proxy", "300.00")
    assert ack["type"] == "ack" and ack["act"] == "proxy" and ack["amount"] == "300.00"
    seen = await watcher.next("update")
    kinds = [(e["type"], e.get("amount")) for e in seen["events"]]
    assert kinds == [("ProxySet", None), ("BidAccepted", "100.00")]
    assert seen["state"]["best"] == "100.00"

    ack = await b.bid(lot_id, "150.00")
    assert ack["type"] == "ack" and ack["amount"] == "150.00"
    seen = await watcher.next("update")
    assert [e.get("amount") for e in seen["events"]] == ["150.00", "160.00"]
    assert seen["state"]["best"] == "160.00"
    for client in (watcher, b, staff):
        assert not any("300.00" in frame for frame in client.seen), "the maximum leaked"
    assert any('"proxy_max":"300.00"' in frame for frame in a.seen)


async def test_a_proxy_maximum_is_refused_with_a_code_when_too_low_or_disabled(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(proxy=True)
    a, _ = await bidder(server, lot_id, tokens[0])
    assert (await a.bid(lot_id, "200.00"))["type"] == "ack"
    b, _ = await bidder(server, lot_id, tokens[1])
    refused = await b.act(lot_id, "proxy", "205.00")
    assert refused["type"] == "rejected" and refused["code"] == "proxy_too_low"
    plain, plain_tokens = await server.open_lot()
    c, _ = await bidder(server, plain, plain_tokens[0])
    refused = await c.act(plain, "proxy", "500.00")
    assert refused["type"] == "rejected" and refused["code"] == "proxy_disabled"
