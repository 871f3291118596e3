"""A ``listing_timed`` lot over real WebSockets: listing bids, the confirmation, timed bids,
the countdown closing the lot; the cap lottery with declarations and a public draw that
anyone recomputes; what each audience is sent."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from web_support import Server

from auction.verify import dumps, verify


async def listing_lot(server: Server, bidders: int, **params: Any) -> tuple[str, list[str]]:
    """An open listing_timed lot whose listing ends ``ends_ms`` after now."""
    ends_ms = params.pop("ends_ms", 1500)
    session = await server.ok("POST", "/api/sessions", {"name": "s"})
    lot = await server.ok("POST", "/api/lots", {
        "session_id": session["session_id"], "title": "国有建设用地使用权 WS-1",
        "format": "listing_timed",
        "params": {"start_price": "100.00", "step": "10.00", "deposit": "50.00",
                   "listing_ends_at": server.engine.now() + ends_ms, "confirm_s": 1,
                   "countdown_s": 1, **params}})
    lot_id = str(lot["lot_id"])
    tokens = [(await server.register(lot_id, f"b{i + 1}"))["token"] for i in range(bidders)]
    await server.open(lot_id)
    return lot_id, tokens






async def test_a_lot_goes_from_listing_through_confirmation_to_timed_bidding_and_closes(
        server: Server) -> None:
    lot_id, (t1, t2, t3) = await listing_lot(server, 3)
    one, two, three = await server.connect(), await server.connect(), await server.connect()
    public = await server.connect()
    await one.subscribe(lot_id, t1)
    await two.subscribe(lot_id, t2)
    await three.subscribe(lot_id, t3)
    first = await public.subscribe(lot_id)
    assert first["state"]["play"]["phase"] == "listing"
    assert (await one.bid(lot_id, "100.00"))["type"] == "ack"
    assert (await two.bid(lot_id, "110.00"))["type"] == "ack"
    assert (await one.act(lot_id, "confirm"))["code"] == "wrong_phase"
    await public.until(lambda s: s["play"]["phase"] == "confirm")
    assert (await three.bid(lot_id, "120.00", ref="late"))["code"] == "wrong_phase"
    assert (await three.act(lot_id, "confirm"))["code"] == "no_listing_bid"
    ack = await one.act(lot_id, "confirm", ref="c1")
    assert ack["type"] == "ack" and ack["act"] == "confirm" and ack["ref"] == "c1"
    update = await public.until(lambda s: s["play"]["confirmed"] == 1)
    confirmation = next(e for e in update["events"] if e["type"] == "BidderConfirmed")
    assert set(confirmation) == {"seq", "type", "at"}
    timed = await public.until(lambda s: s["play"]["phase"] == "timed")
    assert timed["state"]["next_min"] == "120.00"
    assert (await two.bid(lot_id, "120.00", ref="t2"))["code"] == "not_confirmed"
    assert (await one.bid(lot_id, "120.00", ref="t1"))["type"] == "ack"
    ended = await public.until(lambda s: s["status"] == "awarded")
    assert ended["state"]["outcome"]["amount"] == "120.00"
    assert ended["state"]["play"]["phase"] == "ended"


async def test_the_cap_lottery_draws_in_public_and_anyone_recomputes_it(server: Server) -> None:
    lot_id, (t1, t2, t3) = await listing_lot(server, 3, ends_ms=60_000, cap="150.00",
                                             cap_rule="lottery", cap_confirm_s=1)
    one, two = await server.connect(), await server.connect()
    public = await server.connect()
    await one.subscribe(lot_id, t1)
    mine = await two.subscribe(lot_id, t2)
    assert mine["state"]["play"]["you"]["declared"] is False
    first = await public.subscribe(lot_id)
    seed_hash = first["state"]["play"]["seed_hash"]
    assert (await one.bid(lot_id, "150.01"))["code"] == "above_cap"
    assert (await one.bid(lot_id, "150.00"))["type"] == "ack"
    await public.until(lambda s: s["play"]["phase"] == "cap")
    assert (await two.bid(lot_id, "140.00"))["code"] == "wrong_phase"
    assert (await two.act(lot_id, "accept_cap"))["type"] == "ack"
    declared = await two.until(lambda s: s["play"]["you"]["declared"])
    assert declared["state"]["play"]["candidates"] == 2
    ended = await public.until(lambda s: s["status"] == "awarded")
    draw = ended["state"]["play"]["draw"]
    assert hashlib.sha256(draw["seed"].encode()).hexdigest() == seed_hash
    index = int(hashlib.sha256((draw["seed"] + lot_id).encode()).hexdigest(), 16) % 2
    assert draw["index"] == index and draw["winner_no"] == draw["candidates"][index]
    assert ended["state"]["outcome"] == {**ended["state"]["outcome"], "amount": "150.00",
                                         "bidder_no": draw["winner_no"]}


async def test_the_records_of_an_ended_lot_are_served_and_the_export_verifies(
        server: Server) -> None:
    lot_id, (t1, t2) = await listing_lot(server, 2, ends_ms=60_000, cap="150.00",
                                         cap_rule="lottery", cap_confirm_s=1)
    one, public = await server.connect(), await server.connect()
    await one.subscribe(lot_id, t1)
    await public.subscribe(lot_id)
    status, _ = await server.call("GET", f"/api/lots/{lot_id}/result", token=None)
    assert status != 200  # nothing before the end
    assert (await one.bid(lot_id, "150.00"))["type"] == "ack"
    await public.until(lambda s: s["status"] == "awarded")
    result = await server.ok("GET", f"/api/lots/{lot_id}/result", token=None)
    assert result["format"] == "listing_timed" and result["outcome"]["amount"] == "150.00"
    report = await server.ok("GET", f"/api/lots/{lot_id}/report")
    assert any(row["type"] == "LotDrawn" for row in report["timeline"])
    ocds = await server.ok("GET", f"/api/lots/{lot_id}/ocds", token=None)
    assert ocds
    await server.ok("GET", f"/api/lots/{lot_id}/collusion")
    status, doc = await server.call("GET", f"/api/lots/{lot_id}/export")
    assert status == 200
    assert verify(dumps(doc)).ok


async def test_after_the_cap_the_second_quantity_is_bid_with_act_secondary(
        server: Server) -> None:
    lot_id, (t1, t2) = await listing_lot(
        server, 2, ends_ms=60_000, cap="150.00", cap_rule="secondary",
        secondary={"start": "500.00", "step": "50.00", "countdown_s": 1, "unit": "m²"})
    one, two = await server.connect(), await server.connect()
    public = await server.connect()
    await one.subscribe(lot_id, t1)
    await two.subscribe(lot_id, t2)
    await public.subscribe(lot_id)
    assert (await one.bid(lot_id, "150.00"))["type"] == "ack"
    await public.until(lambda s: s["play"]["phase"] == "secondary")
    assert (await two.act(lot_id, "secondary", "520.00"))["code"] == "off_step"
    assert (await two.act(lot_id, "secondary", "1.5e3"))["code"] == "invalid_amount"
    ack = await two.act(lot_id, "secondary", "550.00")
    assert ack["type"] == "ack" and ack["amount"] == "550.00"
    ended = await public.until(lambda s: s["status"] == "awarded")
    sec = ended["state"]["play"]["secondary"]
    assert sec["best"] == "550.00" and sec["unit"] == "m²"
    assert ended["state"]["outcome"]["amount"] == "150.00"
    assert ended["state"]["outcome"]["bidder_no"] == sec["leader_no"]
    events = [e for raw in public.seen for e in orjson.loads(raw).get("events", [])]
    bid = next(e for e in events if e["type"] == "SecondaryBid")
    assert bid["quantity"] == "550.00" and "ip" not in bid
