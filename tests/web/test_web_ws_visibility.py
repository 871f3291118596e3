"""Each audience sees what the lot's visibility allows, and a public watcher never sees
identities or hidden prices, whatever happens in the lot."""

from typing import Any

import msgspec
import orjson
from web_support import HOST_TOKEN, Client, Server

from web.client import fold
from web.schemas import Update, You

SECRET_NAMES = ("secret-co-1", "secret-co-2", "Hidden Name", "acct-", "127.0.0.1", "ua:",
                "dev-")


async def play(server: Server, **params: Any) -> tuple[str, list[Client], dict[str, Client]]:
    """An open lot with two bidders that each bid twice, watched by the public, staff and
    both bidders from the start. Returns the lot, the bidder clients and the watchers."""
    lot_id = await server.make_lot(reserve="1000.00", **params)
    tokens = [(await server.register(lot_id, f"secret-co-{i}", name=f"Hidden Name {i}"))[
        "token"] for i in (1, 2)]
    watchers = {"public": await server.connect(), "staff": await server.connect()}
    await watchers["public"].subscribe(lot_id)
    await watchers["staff"].subscribe(lot_id, HOST_TOKEN)
    bidders = []
    for i, token in enumerate(tokens):
        client = await server.connect()
        await client.subscribe(lot_id, token, device=f"dev-{i}")
        bidders.append(client)
    await server.open(lot_id)
    for amount, who in [("110.00", 0), ("130.00", 1), ("140.00", 0), ("160.00", 1)]:
        assert (await bidders[who].bid(lot_id, amount, ref=amount))["type"] == "ack"
    return lot_id, bidders, watchers


async def drain(client: Client, seconds: float = 0.3) -> list[str]:
    """Every raw frame ``client`` received, after waiting ``seconds`` for stragglers."""
    try:
        while True:
            await client.recv(seconds)
    except TimeoutError:
        return client.seen


def updates(frames: list[str]) -> list[dict[str, Any]]:
    """The ``update`` frames of one lot, each with the ``state`` folded up to it."""
    out: list[dict[str, Any]] = []
    state: dict[str, Any] | None = None
    for message in map(orjson.loads, frames):
        if message["type"] == "update":
            state = fold(state, message)
            out.append({**message, "state": state})
    return out


def bids_seen(frames: list[str]) -> list[dict[str, Any]]:
    return [e for u in updates(frames) for e in u["events"] if e["type"] == "BidAccepted"]


async def test_price_visibility_shows_prices_and_numbers_never_identities(
        server: Server) -> None:
    lot_id, bidders, watchers = await play(server, visibility="price")
    public = await drain(watchers["public"])
    text = "".join(public)
    for secret in SECRET_NAMES:
        assert secret not in text, secret
    assert "1000.00" not in text  # the reserve
    seen = bids_seen(public)
    assert [b["amount"] for b in seen] == ["110.00", "130.00", "140.00", "160.00"]
    assert all(set(b) == {"seq", "type", "at", "bidder_no", "amount"} for b in seen)
    last = updates(public)[-1]["state"]
    assert last["best"] == "160.00" and last["leader_no"] is not None
    bidder_text = "".join(await drain(bidders[0]))
    for secret in SECRET_NAMES:
        assert secret not in bidder_text, secret
    staff = "".join(await drain(watchers["staff"]))
    assert "secret-co-1" in staff and "Hidden Name 1" in staff and "127.0.0.1" in staff
    assert "dev-0" in staff and '"reserve":"1000.00"' in staff


async def test_rank_visibility_shows_each_bidder_its_own_price_and_rank_only(
        server: Server) -> None:
    lot_id, bidders, watchers = await play(server, visibility="rank")
    public = await drain(watchers["public"])
    text = "".join(public)
    for secret in (*SECRET_NAMES, "110.00", "130.00", "140.00", "160.00", "1000.00"):
        assert secret not in text, secret
    assert all(set(b) == {"seq", "type", "at"} for b in bids_seen(public))
    last = updates(public)[-1]["state"]
    assert last["best"] is None and last["leader_no"] is None
    first = await drain(bidders[0])
    own = [b.get("amount") for b in bids_seen(first)]
    assert own == ["110.00", None, "140.00", None]
    for hidden in ("130.00", "160.00", "secret-co-2", "Hidden Name"):
        assert hidden not in "".join(first), hidden
    you = updates(first)[-1]["state"]["you"]
    assert you["rank"] == 2 and you["leading"] is False and you["last_bid"] == "140.00"
    second = updates(await drain(bidders[1]))[-1]["state"]["you"]
    assert second["rank"] == 1 and second["leading"] is True
    staff = bids_seen(await drain(watchers["staff"]))
    assert [b["bidder_id"] for b in staff] == ["secret-co-1", "secret-co-2"] * 2


async def test_blind_visibility_hides_even_the_rank(server: Server) -> None:
    lot_id, bidders, watchers = await play(server, visibility="blind", improve="own")
    you = updates(await drain(bidders[1]))[-1]["state"]["you"]
    assert you["rank"] is None and you["leading"] is None and you["last_bid"] == "160.00"
    public = "".join(await drain(watchers["public"]))
    for secret in (*SECRET_NAMES, "110.00", "130.00", "140.00", "160.00"):
        assert secret not in public


async def test_a_late_public_watcher_resuming_sees_no_more_than_a_live_one(
        server: Server) -> None:
    lot_id, _, watchers = await play(server, visibility="rank")
    live = [e for u in updates(await drain(watchers["public"])) for e in u["events"]]
    late = await server.connect()
    await late.send({"type": "subscribe", "lot_id": lot_id, "after_seq": 0})
    replay = [e for u in updates(await drain(late)) for e in u["events"]]
    assert replay[-len(live):] == live


async def test_update_and_you_frames_are_the_encoding_of_their_schema_structs(
        server: Server) -> None:
    """Catch-up and live ``update`` frames and ``you`` frames, byte for byte, are what the
    declared structs (web.schemas.Update, You) encode: no field outside the schema, in
    the schema's order."""
    lot_id, tokens = await server.open_lot()  # price visibility: `you` comes apart
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    other = await server.connect()
    await other.subscribe(lot_id, tokens[1])
    assert (await bidder.bid(lot_id, "100.00", ref="b1"))["type"] == "ack"
    assert (await other.bid(lot_id, "110.00", ref="b2"))["type"] == "ack"
    await bidder.next("you")
    frames: dict[str, type[Update | You]] = {"update": Update, "you": You}
    seen = [raw for raw in bidder.seen + other.seen
            if orjson.loads(raw)["type"] in frames]
    kinds = {(orjson.loads(raw)["type"], "delta" in orjson.loads(raw)) for raw in seen}
    assert {("update", False), ("update", True), ("you", False)} <= kinds
    for raw in seen:
        struct = msgspec.json.decode(raw, type=frames[orjson.loads(raw)["type"]])
        assert msgspec.json.encode(struct).decode() == raw


async def test_a_blind_lot_that_hides_its_counts_lets_nobody_count_bidders_or_bids(
        server: Server) -> None:
    lot_id, bidders, watchers = await play(server, visibility="blind",
                                           show_counts="after_close")
    public = updates(await drain(watchers["public"]))
    assert all(u["state"]["bidders"] is None and u["state"]["bid_count"] is None
               for u in public)
    kinds = {e["type"] for u in public for e in u["events"]}
    assert "Withheld" in kinds
    assert not kinds & {"BidderRegistered", "DepositConfirmed", "BidAccepted"}
    withheld = [e for u in public for e in u["events"] if e["type"] == "Withheld"]
    assert all(set(e) == {"seq", "type"} for e in withheld)
    own = updates(await drain(bidders[0]))
    assert own[-1]["state"]["bid_count"] is None
    assert len([e for u in own for e in u["events"] if e["type"] == "BidAccepted"]) == 2
    staff = updates(await drain(watchers["staff"]))
    assert staff[-1]["state"]["bidders"] == 2 and staff[-1]["state"]["bid_count"] == 4
