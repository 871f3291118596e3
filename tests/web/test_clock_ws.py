"""The clock formats (dutch, japanese) over real WebSockets: the clock steps on the
server's timer, bidders accept, stay and drop with ``act`` and get ``ack`` or
``rejected``, and each audience sees the clock it may see."""

from __future__ import annotations

from typing import Any

from web_support import Server

DUTCH = {"start_price": "100.00", "step": "10.00", "tick_s": 1, "floor": "60.00",
         "deposit": "50.00"}
JAPANESE = {"start_price": "100.00", "step": "10.00", "tick_s": 2, "deposit": "50.00"}


async def clock_lot(server: Server, fmt: str, params: dict[str, Any], bidders: int = 2
                    ) -> tuple[str, list[str]]:
    if server.session_id is None:
        server.session_id = (await server.ok("POST", "/api/sessions", {"name": "s"}))[
            "session_id"]
    lot = await server.ok("POST", "/api/lots", {
        "session_id": server.session_id, "title": "时钟 clock", "format": fmt,
        "params": params})
    lot_id = str(lot["lot_id"])
    tokens = [(await server.register(lot_id, f"b{i + 1}"))["token"] for i in range(bidders)]
    await server.open(lot_id)
    return lot_id, tokens






async def test_a_dutch_clock_steps_on_the_server_timer_and_the_first_accept_wins(
        server: Server) -> None:
    lot_id, tokens = await clock_lot(server, "dutch", DUTCH)
    board = await server.connect()
    first = await board.subscribe(lot_id)
    play = first["state"]["play"]
    assert (play["clock"], play["price"], play["tick_s"], play["limit"]) == (
        "dutch", "100.00", 1, "60.00")
    stepped = await board.until(lambda s: s["play"]["level"] >= 1)
    event = stepped["events"][0]
    assert event["type"] == "ClockStepped" and event["amount"] == stepped["state"]["play"][
        "price"]
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    ack = await bidder.act(lot_id, "accept", ref="take-it")
    assert ack["type"] == "ack" and ack["act"] == "accept"
    ended = await board.until(lambda s: s["status"] == "awarded")
    outcome = ended["state"]["outcome"]
    accepted = next(e for e in ended["events"] if e["type"] == "BidAccepted")
    assert outcome["amount"] == accepted["amount"] and outcome["bidder_no"] == accepted[
        "bidder_no"]
    other = await server.connect()
    await other.subscribe(lot_id, tokens[1])
    refused = await other.act(lot_id, "accept", ref="too-late")
    assert refused["type"] == "rejected" and refused["code"] == "closed"


async def test_a_dutch_clock_with_no_taker_fails_at_its_floor(server: Server) -> None:
    lot_id, _ = await clock_lot(server, "dutch", {**DUTCH, "floor": "90.00"})
    board = await server.connect()
    await board.subscribe(lot_id)
    ended = await board.until(lambda s: s["status"] == "failed")
    assert ended["state"]["outcome"]["reason"] == "no_taker"


async def test_a_dutch_price_bid_must_be_the_price_in_force(server: Server) -> None:
    lot_id, tokens = await clock_lot(server, "dutch", {**DUTCH, "tick_s": 30})
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    refused = await bidder.bid(lot_id, "90.00")
    assert (refused["type"], refused["code"]) == ("rejected", "not_price_in_force")
    assert refused["message"]
    ack = await bidder.bid(lot_id, "100.00", ref="r2")
    assert ack["type"] == "ack" and ack["amount"] == "100.00"


async def test_japanese_bidders_stay_and_drop_and_see_their_status(server: Server) -> None:
    lot_id, tokens = await clock_lot(server, "japanese", JAPANESE, bidders=3)
    board = await server.connect()
    first = await board.subscribe(lot_id)
    assert first["state"]["play"]["in_count"] == 3
    assert "in" not in first["state"]["play"]
    clients = []
    for token in tokens:
        client = await server.connect()
        update = await client.subscribe(lot_id, token)
        assert update["state"]["play"]["status"] == "in"
        clients.append(client)
    a, b, c = clients
    assert (await a.act(lot_id, "stay", ref="a0"))["type"] == "ack"
    assert (await b.act(lot_id, "stay", ref="b0"))["type"] == "ack"
    again = await b.act(lot_id, "stay", ref="b0-again")
    assert (again["type"], again["code"]) == ("rejected", "already_confirmed")
    assert (await c.act(lot_id, "drop", ref="c0"))["type"] == "ack"
    refused = await c.act(lot_id, "stay", ref="c1")
    assert (refused["type"], refused["code"]) == ("rejected", "out_of_clock")
    mine = await a.until(lambda s: s["play"]["level"] == 1)
    assert mine["state"]["play"]["status"] == "in"
    advanced = next(e for e in mine["events"] if e["type"] == "LevelAdvanced")
    assert advanced["amount"] == "110.00" and advanced["dropped_count"] == 1
    assert "dropped" not in advanced
    assert (await a.act(lot_id, "stay", ref="a1"))["type"] == "ack"
    ended = await board.until(lambda s: s["status"] == "awarded")
    assert ended["state"]["outcome"]["amount"] == "110.00"
    assert ended["state"]["play"]["in_count"] is None


async def test_staff_see_who_is_in_a_japanese_clock(server: Server) -> None:
    lot_id, _ = await clock_lot(server, "japanese", {**JAPANESE, "tick_s": 30})
    lot = await server.ok("GET", f"/api/lots/{lot_id}")
    play = lot["play"]
    assert len(play["in"]) == 2 and play["confirmed"] == []
