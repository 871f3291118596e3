"""A sealed lot over real sockets: before the opening no audience but the bidder itself
(not the public, not other bidders, not hosts, not supervisors) receives a sealed price,
over WebSocket or HTTP; at the opening everyone receives all of them at once."""

import asyncio
from typing import Any

import orjson
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Client, Server

from auction.verify import verify

#: The sealed prices: none may appear in a frame of another audience before the opening.
A1, A2, B1 = "7771.23", "7772.34", "8883.45"


async def sealed_lot(server: Server, **params: Any) -> str:
    if server.session_id is None:
        server.session_id = (await server.ok("POST", "/api/sessions", {"name": "s"}))[
            "session_id"]
    lot = await server.ok("POST", "/api/lots", {
        "session_id": server.session_id, "title": "政府采购 密封报价", "format": "sealed",
        "params": {"duration_s": 3, "deposit": "10.00", "revisions": 1, **params}})
    return str(lot["lot_id"])


async def drain(client: Client, seconds: float = 0.3) -> str:
    try:
        while True:
            await client.recv(seconds)
    except TimeoutError:
        return "".join(client.seen)


async def until_opened(client: Client) -> dict[str, Any]:
    """The BidsOpened event ``client`` receives (within the lot's time)."""
    async with asyncio.timeout(10):
        while True:
            msg = await client.recv(10)
            for event in msg.get("events", []) if msg["type"] == "update" else []:
                if event["type"] == "BidsOpened":
                    return event


async def play(server: Server) -> tuple[str, dict[str, Client]]:
    """A sealed lot watched by the public, a host, a supervisor and both bidders; b1 bids
    and revises, b2 bids once."""
    lot_id = await sealed_lot(server)
    tokens = [(await server.register(lot_id, f"b{i}"))["token"] for i in (1, 2)]
    who = {name: await server.connect() for name in ("public", "host", "supervisor", "b1", "b2")}
    await who["public"].subscribe(lot_id)
    await who["host"].subscribe(lot_id, HOST_TOKEN)
    await who["supervisor"].subscribe(lot_id, SUPERVISOR_TOKEN)
    await who["b1"].subscribe(lot_id, tokens[0])
    await who["b2"].subscribe(lot_id, tokens[1])
    await server.open(lot_id)
    assert (await who["b1"].bid(lot_id, A1, ref="a1"))["type"] == "ack"
    assert (await who["b2"].bid(lot_id, B1, ref="b1"))["type"] == "ack"
    assert (await who["b1"].bid(lot_id, A2, ref="a2"))["type"] == "ack"
    refused = await who["b1"].bid(lot_id, "9999.00", ref="a3")
    assert refused["type"] == "rejected" and refused["code"] == "revision_limit"
    return lot_id, who


async def test_before_the_opening_only_the_bidder_itself_receives_its_price(
        server: Server) -> None:
    lot_id, who = await play(server)
    frames = {name: await drain(client) for name, client in who.items()}
    for name in ("public", "host", "supervisor"):
        for amount in (A1, A2, B1):
            assert amount not in frames[name], (name, amount)
    assert A1 in frames["b1"] and A2 in frames["b1"] and B1 not in frames["b1"]
    assert B1 in frames["b2"] and A1 not in frames["b2"] and A2 not in frames["b2"]
    # Staff see how many bids are in, not the prices.
    last = who["supervisor"].states[lot_id]  # as folded from its updates
    assert last["play"]["bid_count"] == 3
    assert last["play"]["bidders_in"] == 2
    # Over HTTP too: the staff view and the staff records refuse or hide the prices.
    for token in (HOST_TOKEN, SUPERVISOR_TOKEN, None):
        status, view = await server.call("GET", f"/api/lots/{lot_id}", token=token)
        assert status == 200
        text = orjson.dumps(view).decode()
        assert all(a not in text for a in (A1, A2, B1)), token
    for path in ("report", "export", "collusion", "bids", "events"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/{path}",
                                         token=SUPERVISOR_TOKEN)
        assert (status, data["error"]["code"]) == (409, "sealed"), path
    status, data = await server.call("GET", "/api/collusion", token=SUPERVISOR_TOKEN)
    assert status == 200 and data["checked"] == 0


def staff_bids(client: Client) -> list[dict[str, Any]]:
    """Every BidAccepted event of the update frames ``client`` received."""
    return [e for f in client.seen for e in orjson.loads(f).get("events", [])
            if e["type"] == "BidAccepted"]


async def test_before_the_opening_staff_learn_how_many_bids_are_in_and_not_who_bid(
        server: Server) -> None:
    lot_id, who = await play(server)
    await drain(who["host"])
    await drain(who["supervisor"])
    late = await server.connect()  # a catch-up gets the same as the live feed
    await late.subscribe(lot_id, SUPERVISOR_TOKEN, after_seq=0)
    await drain(late)
    for client in (who["host"], who["supervisor"], late):
        bids = staff_bids(client)
        assert len(bids) == 3 and all(set(b) == {"seq", "type", "at"} for b in bids)
        last = client.states[lot_id]
        assert [row["bids"] for row in last["register"]] == [None, None]
    for path in (f"/api/lots/{lot_id}", f"/api/lots?session_id={server.session_id}"):
        status, data = await server.call("GET", path, token=SUPERVISOR_TOKEN)
        views = data["lots"] if "lots" in data else [data]
        assert status == 200 and [r["bids"] for r in views[0]["register"]] == [None, None]
    # At the opening the supervisors see who bid, from where and on which device.
    await until_opened(who["supervisor"])
    await asyncio.sleep(0.3)
    fresh = await server.connect()
    await fresh.subscribe(lot_id, SUPERVISOR_TOKEN, after_seq=0)
    await drain(fresh)
    bids = staff_bids(fresh)
    assert len(bids) == 3 and all(b["bidder_id"] and "ip" in b and "device" in b
                                  for b in bids)
    status, view = await server.call("GET", f"/api/lots/{lot_id}", token=SUPERVISOR_TOKEN)
    assert sorted(row["bids"] for row in view["register"]) == [1, 2]


async def test_at_the_opening_everyone_receives_every_final_bid_and_the_winner(
        server: Server) -> None:
    lot_id, who = await play(server)
    for name, client in who.items():
        opened = await until_opened(client)
        assert sorted(opened["amounts"]) == [A2, B1], name
        assert len(opened["bidder_nos"]) == 2
    await asyncio.sleep(0.3)
    # Who subscribes after the opening gets the record as it may now be seen: staff every
    # bid with its price, the public the opened bids.
    late = await server.connect()
    update = await late.subscribe(lot_id, SUPERVISOR_TOKEN)
    bids = [e for e in update["events"] if e["type"] == "BidAccepted"]
    assert [b["amount"] for b in bids] == [A1, B1, A2]
    public = await server.connect()
    update = await public.subscribe(lot_id)
    opened = next(e for e in update["events"] if e["type"] == "BidsOpened")
    assert sorted(opened["amounts"]) == [A2, B1]
    result = await server.ok("GET", f"/api/lots/{lot_id}/result", token=None)
    assert result["outcome"]["status"] == "awarded"
    assert result["outcome"]["amount"] == B1
    public = await server.ok("GET", f"/api/lots/{lot_id}", token=None)
    assert [b["amount"] for b in public["play"]["bids"]] == [B1, A2]
    report = await server.ok("GET", f"/api/lots/{lot_id}/report", token=SUPERVISOR_TOKEN)
    assert [b["amount"] for b in report["bids"]] == [A1, B1, A2]
    async with server.http.get(f"{server.base}/api/lots/{lot_id}/export",
                               headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200
        assert verify(await resp.text()).ok


async def test_a_sealed_lot_cancelled_before_its_opening_never_shows_its_prices(
        server: Server) -> None:
    lot_id, who = await play(server)
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "court order"})
    await asyncio.sleep(0.3)
    status, result = await server.call("GET", f"/api/lots/{lot_id}/result", token=None)
    assert status == 200 and result["status"] == "cancelled"
    status, ocds = await server.call("GET", f"/api/lots/{lot_id}/ocds", token=None)
    assert status == 200
    text = orjson.dumps([result, ocds]).decode()
    assert all(a not in text for a in (A1, A2, B1, "7771.23".replace(".", ""))), text
    status, data = await server.call("GET", f"/api/lots/{lot_id}/report", token=HOST_TOKEN)
    assert (status, data["error"]["code"]) == (409, "sealed")
