"""A multi_round lot played over real WebSockets: sealed pre-bids, the reveal at round 1,
turns in order with not_your_turn, a turn bid hidden until its turn ends, the award."""

from __future__ import annotations

from typing import Any

import orjson
from web_support import HOST_TOKEN, Client, Server

PARAMS = {"step": "1.00", "ceiling": "1000.00", "deposit": "50.00", "rounds": 1,
          "turn_s": 3, "first_pause_s": 2, "pause_s": 1}


async def make_rounds_lot(server: Server) -> str:
    if server.session_id is None:
        server.session_id = (await server.ok("POST", "/api/sessions", {"name": "s"}))[
            "session_id"]
    lot = await server.ok("POST", "/api/lots", {
        "session_id": server.session_id, "title": "办公设备采购", "format": "multi_round",
        "params": PARAMS})
    return str(lot["lot_id"])


async def until_event(client: Client, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next update holding an event of type ``kind``."""
    while True:
        update = await client.next("update", timeout)
        if any(e["type"] == kind for e in update["events"]):
            return update


def event_of(update: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in update["events"] if e["type"] == kind)
    return found


async def test_a_multi_round_lot_plays_over_websockets(server: Server) -> None:
    lot_id = await make_rounds_lot(server)
    passes = [await server.register(lot_id, f"secret-co-{i}", name=f"Hidden {i}")
              for i in (1, 2)]
    numbers = [p["bidder_no"] for p in passes]
    public, staff = await server.connect(), await server.connect()
    await public.subscribe(lot_id)
    await staff.subscribe(lot_id, HOST_TOKEN)
    bidders = []
    for p in passes:
        client = await server.connect()
        update = await client.subscribe(lot_id, p["token"])
        assert update["state"]["play"]["phase"] is None
        bidders.append(client)
    await server.open(lot_id)

    # Pre-bids: sealed; one each.
    assert (await bidders[0].bid(lot_id, "900.00", "p1"))["type"] == "ack"
    assert (await bidders[1].bid(lot_id, "950.00", "p2"))["type"] == "ack"
    # Staff reads of the raw record would show the sealed pre-bids: refused meanwhile.
    for path in ("bids", "events", "report", "export"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/{path}",
                                         token=HOST_TOKEN)
        assert (status, data["error"]["code"]) == (409, "sealed"), path
    again = await bidders[0].bid(lot_id, "800.00", "p3")
    assert (again["type"], again["code"]) == ("rejected", "revision_limit")
    own = await until_event(bidders[0], "RoundStarted")
    before = "".join(public.seen) + "".join(staff.seen)
    assert "900.00" not in before.split('"RoundStarted"')[0]

    # Round 1 reveals both under numbers; the worse (950.00) takes the first turn.
    start = event_of(own, "RoundStarted")
    assert start["order"] == [numbers[1], numbers[0]]
    assert start["prices"] == ["950.00", "900.00"]
    play = own["state"]["play"]
    assert play["phase"] == "turn" and play["turn_no"] == numbers[1]
    assert [(r["bidder_no"], r["price"], r["coefficient"], r["adjusted"])
            for r in play["table"]] == [(numbers[0], "900.00", "0", "900.00"),
                                        (numbers[1], "950.00", "0", "950.00")]
    out = await bidders[0].bid(lot_id, "800.00", "t1")
    assert (out["type"], out["code"]) == ("rejected", "not_your_turn")
    assert (await bidders[1].bid(lot_id, "850.00", "t2"))["type"] == "ack"

    # The turn bid shows to nobody else until the turn ends.
    ended = await until_event(public, "TurnEnded")
    turn_end = event_of(ended, "TurnEnded")
    assert (turn_end["bidder_no"], turn_end["amount"], turn_end["price"]) == (
        numbers[1], "850.00", "850.00")
    revealed_at = "".join(public.seen).index('"TurnEnded"')
    assert "850.00" not in "".join(public.seen)[:revealed_at]
    assert ended["state"]["play"]["turn_no"] == numbers[0]

    final = await until_event(public, "LotAwarded")
    award = event_of(final, "LotAwarded")
    assert (award["bidder_no"], award["amount"]) == (numbers[1], "850.00")
    assert final["state"]["play"]["phase"] == "done"
    report = await server.ok("GET", f"/api/lots/{lot_id}/report", token=HOST_TOKEN)
    assert sorted(b["amount"] for b in report["bids"]) == ["850.00", "900.00", "950.00"]
    text = "".join(public.seen)
    for secret in ("secret-co", "Hidden", "acct-"):
        assert secret not in text
    for frame in map(orjson.loads, public.seen):
        for e in frame.get("events", []):
            if e["type"] == "BidAccepted":
                assert set(e) == {"seq", "type", "at"}
