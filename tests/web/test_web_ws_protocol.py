"""The WebSocket protocol message by message (docs/protocol.md), and bad input of every
kind: each gets its clear error, the connection and every other client carry on, and
nothing changes."""

import asyncio
import time
from typing import Any

import orjson
import pytest
import websockets
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Client, Server, ServerFactory

from engine.signatures import check_receipt
from web.auth import BidderClaims, issue_bidder_token

# ---------------------------------------------------------------- every message


async def test_welcome_on_connect(server: Server) -> None:
    client = await server.connect(welcome=False)
    msg = await client.recv()
    assert msg["type"] == "welcome" and msg["protocol"] == 1 and msg["max_frame"] == 16384
    assert abs(msg["server_time"] - server.engine.now()) < 5_000


async def test_ping_gets_pong_with_server_time_and_offset(server: Server) -> None:
    client = await server.connect()
    await client.send({"type": "ping", "client_time": 1_000, "ref": "p1"})
    pong = await client.recv()
    assert pong["type"] == "pong" and pong["client_time"] == 1_000 and pong["ref"] == "p1"
    assert pong["offset_ms"] == pong["server_time"] - 1_000
    assert abs(pong["server_time"] - server.engine.now()) < 5_000


async def test_public_subscribe_gets_every_event_and_the_public_state(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    client = await server.connect()
    await client.send({"type": "subscribe", "lot_id": lot_id, "after_seq": 0, "ref": "s"})
    subscribed = await client.recv()
    assert subscribed == {"type": "subscribed", "lot_id": lot_id, "role": "public",
                          "bidder_no": None, "ref": "s"}
    update = await client.recv()
    assert update["type"] == "update" and update["lot_id"] == lot_id
    assert [e["seq"] for e in update["events"]] == list(range(1, server.seq(lot_id) + 1))
    assert update["state"]["status"] == "open" and update["state"]["seq"] == server.seq(lot_id)
    assert "register" not in update["state"]


async def test_subscribe_without_after_seq_gets_the_state_only(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    client = await server.connect()
    update = await client.subscribe(lot_id, after_seq=None)
    assert update["events"] == [] and update["state"]["seq"] == server.seq(lot_id)
    update = await client.subscribe(lot_id, after_seq=5)  # resubscribing replaces
    assert [e["seq"] for e in update["events"]] == list(range(6, server.seq(lot_id) + 1))


async def test_a_bidder_bids_and_gets_the_update_then_the_ack(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    watcher = await server.connect()
    await watcher.subscribe(lot_id)
    bidder = await server.connect()
    await bidder.send({"type": "subscribe", "lot_id": lot_id, "after_seq": 0,
                       "token": tokens[0]})
    subscribed = await bidder.recv()
    assert subscribed["role"] == "bidder" and subscribed["bidder_no"].isdigit()
    assert (await bidder.recv())["type"] == "update"
    you = await bidder.recv()
    assert you["type"] == "you" and you["you"]["bidder_no"] == subscribed["bidder_no"]
    assert you["you"]["eligible"] is True
    await bidder.send({"type": "bid", "lot_id": lot_id, "amount": "100.00", "ref": "b-1"})
    update = await bidder.next("update")
    (event,) = update["events"]
    assert event["type"] == "BidAccepted" and event["amount"] == "100.00"
    assert event["bidder_no"] == subscribed["bidder_no"]
    ack = await bidder.next("ack")
    receipt = {key: ack.pop(key) for key in ("hash", "receipt", "receipt_path")}
    assert ack == {"type": "ack", "lot_id": lot_id, "ref": "b-1", "seq": event["seq"],
                   "amount": "100.00", "at": event["at"]}
    assert receipt["hash"] == (await server.engine.record(lot_id))[-1].hash
    key = await server.ok("GET", "/.well-known/auction-receipt-key", token=None)
    assert check_receipt(key["key"], {**ack, **receipt})
    seen = await watcher.next("update")
    assert seen["events"] == update["events"] and seen["state"]["best"] == "100.00"


async def test_a_bid_past_confirm_above_steps_is_refused_until_sent_confirmed(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(confirm_above_steps=2)
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    await bidder.send({"type": "bid", "lot_id": lot_id, "amount": "150.00", "ref": "b-1"})
    refused = await bidder.next("rejected")
    assert refused["code"] == "confirm_required" and refused["ref"] == "b-1"
    assert refused["message"]["en"].startswith("The bid is far above")
    await bidder.send({"type": "bid", "lot_id": lot_id, "amount": "150.00", "ref": "b-2",
                       "confirmed": True})
    assert (await bidder.next("ack"))["amount"] == "150.00"
    bids = (await server.ok("GET", f"/api/lots/{lot_id}/events", token=HOST_TOKEN))["events"]
    accepted = [e["event"] for e in bids if e["event"]["type"] == "BidAccepted"]
    assert accepted[-1]["confirmed"] is True


async def test_a_rule_rejection_comes_with_its_code_and_messages(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    for amount, code in [("90.00", "below_start"), ("105.00", "off_step")]:
        rejected = await bidder.bid(lot_id, amount, ref=f"x{amount}")
        assert rejected["type"] == "rejected" and rejected["code"] == code
        assert rejected["ref"] == f"x{amount}" and rejected["lot_id"] == lot_id
        assert rejected["message"]["zh"] and rejected["message"]["en"]
    assert (await bidder.bid(lot_id, "100.00"))["type"] == "ack"
    other = await server.connect()
    await other.subscribe(lot_id, tokens[1])
    assert (await other.bid(lot_id, "100.00"))["code"] == "not_improving"


async def test_staff_subscribe_as_host_or_supervisor_and_see_the_register(
        server: Server) -> None:
    lot_id, _ = await server.open_lot()
    for token, role in [(HOST_TOKEN, "host"), (SUPERVISOR_TOKEN, "supervisor")]:
        client = await server.connect()
        await client.send({"type": "subscribe", "lot_id": lot_id, "after_seq": 0,
                           "token": token})
        assert (await client.recv())["role"] == role
        update = await client.recv()
        assert [b["bidder_id"] for b in update["state"]["register"]] == ["b1", "b2"]


async def test_unsubscribe_stops_the_updates(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    watcher = await server.connect()
    await watcher.subscribe(lot_id)
    await watcher.send({"type": "unsubscribe", "lot_id": lot_id, "ref": "u"})
    assert await watcher.recv() == {"type": "unsubscribed", "lot_id": lot_id, "ref": "u"}
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    assert (await bidder.bid(lot_id, "100.00"))["type"] == "ack"
    await watcher.quiet()
    await watcher.send({"type": "unsubscribe", "lot_id": lot_id})
    assert (await watcher.recv())["code"] == "not_subscribed"


async def test_one_connection_watches_several_lots(server: Server) -> None:
    first, tokens = await server.open_lot()
    second, _ = await server.open_lot()
    client = await server.connect()
    await client.subscribe(first)
    await client.subscribe(second)
    bidder = await server.connect()
    await bidder.subscribe(first, tokens[0])
    await bidder.bid(first, "100.00")
    assert (await client.next("update"))["lot_id"] == first


async def test_the_end_of_a_lot_reaches_the_public_with_bidder_numbers_only(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(duration_s=1)
    watcher = await server.connect()
    await watcher.subscribe(lot_id)
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[0])
    ack = await bidder.bid(lot_id, "100.00")
    async with asyncio.timeout(5):
        while True:
            update = await watcher.next("update")
            if update["state"]["outcome"]:
                break
    outcome = update["state"]["outcome"]
    assert outcome["status"] == "awarded" and outcome["amount"] == "100.00"
    assert outcome["bidder_no"] == (await server.ok("GET", f"/api/lots/{lot_id}/bids"))[
        "bids"][0]["bidder_no"] and "bidder_id" not in outcome
    assert ack["type"] == "ack"
    late = await bidder.bid(lot_id, "110.00", ref="late")
    assert late["code"] == "closed"


# ---------------------------------------------------------------- bad input


async def assert_carries_on(server: Server, client: Client, lot_id: str, seq: int,
                            others: list[Client]) -> None:
    """Nothing changed, ``client`` still answers, and the ``others`` still get updates."""
    assert server.seq(lot_id) == seq
    await client.send({"type": "ping", "client_time": 1})
    assert (await client.next("pong"))["client_time"] == 1
    for other in others:
        await other.send({"type": "ping", "client_time": 2})
        assert (await other.next("pong"))["client_time"] == 2


BAD_FRAMES: list[tuple[Any, str]] = [
    ("not json", "bad_json"),
    ("{\"type\": \"ping\", ", "bad_json"),
    ("NaN", "bad_json"),
    ("[1, 2, 3]", "bad_message"),
    ("\"ping\"", "bad_message"),
    ("42", "bad_message"),
    ("null", "bad_message"),
    ({}, "bad_message"),
    ({"type": 7}, "bad_message"),
    ({"type": "dance"}, "unknown_type"),
    ({"type": "ping"}, "bad_message"),
    ({"type": "ping", "client_time": "now"}, "bad_message"),
    ({"type": "ping", "client_time": 1.5}, "bad_message"),
    ({"type": "ping", "client_time": True}, "bad_message"),
    ({"type": "ping", "client_time": -1}, "bad_message"),
    ({"type": "ping", "client_time": 1, "extra": 1}, "bad_message"),
    ({"type": "subscribe"}, "bad_message"),
    ({"type": "subscribe", "lot_id": 5}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "after_seq": "3"}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "after_seq": -1}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "after_seq": 2.0}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "after_seq": 10**6}, "bad_seq"),
    ({"type": "subscribe", "lot_id": "{lot}", "token": 123}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "colour": "red"}, "bad_message"),
    ({"type": "subscribe", "lot_id": "no-such-lot"}, "unknown_lot"),
    ({"type": "subscribe", "lot_id": "x" * 65}, "bad_message"),
    ({"type": "subscribe", "lot_id": "{lot}", "token": "wrong"}, "bad_token"),
    ({"type": "subscribe", "lot_id": "{lot}", "token": "b1.abc.def"}, "bad_token"),
    ({"type": "unsubscribe"}, "bad_message"),
    ({"type": "unsubscribe", "lot_id": "no-such-lot"}, "not_subscribed"),
    ({"type": "bid", "lot_id": "{lot}", "amount": "100.00"}, "bad_message"),
    ({"type": "bid", "lot_id": "no-such-lot", "amount": "100.00", "ref": "r"}, "unknown_lot"),
    ({"type": "bid", "lot_id": "{lot}", "amount": "100.00", "ref": "r" * 65}, "bad_message"),
    ({"type": "bid", "lot_id": "{lot}", "amount": "100.00", "ref": 5}, "bad_message"),
    ({"type": "bid", "lot_id": "{lot}", "amount": "100.00", "ref": "r", "bidder_id": "b2"},
     "bad_message"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_bad_frames_get_a_clear_error_and_change_nothing(
        server: Server, frame: Any, code: str) -> None:
    lot_id, tokens = await server.open_lot()
    bystander = await server.connect()
    await bystander.subscribe(lot_id)
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    if isinstance(frame, dict):
        frame = orjson.loads(orjson.dumps(frame).decode().replace("{lot}", lot_id))
        if frame.get("type") != "bid":
            frame.setdefault("ref", "echo")
    await client.send(frame)
    error = await client.recv()
    assert error["type"] == "error" and error["code"] == code, error
    assert set(error) >= {"code", "message", "detail"} and error["message"]["en"]
    if isinstance(frame, dict) and isinstance(frame.get("ref"), str) and len(frame["ref"]) < 65:
        assert error["ref"] == frame["ref"]
    await assert_carries_on(server, client, lot_id, seq, [bystander])
    await bystander.quiet(0.05)
    assert (await client.bid(lot_id, "100.00", ref="after"))["type"] == "ack"
    assert (await bystander.next("update"))["events"][0]["seq"] == seq + 1


@pytest.mark.parametrize("amount", [
    100, 100.0, 100.5, "100.001", "1e2", "-100.00", "+100.00", " 100.00", "100.00 ", "0",
    "0.00", "", "１００.00", "100,00", "NaN", "Infinity", "0x64", "00100.00", [], {},
    "1" * 30, None, "1000000000000000.00", "184467440737095520.00",
])
async def test_malformed_amounts_are_rejected_as_invalid_amount(server: Server,
                                                                amount: Any) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    rejected = await client.bid(lot_id, amount, ref="bad")
    assert rejected["type"] == "rejected" and rejected["code"] == "invalid_amount", rejected
    assert rejected["ref"] == "bad" and rejected["detail"]
    await assert_carries_on(server, client, lot_id, seq, [])


async def test_a_jpy_lot_refuses_any_decimals(server: Server) -> None:
    lot_id, tokens = await server.open_lot(currency="JPY", start_price="100", step="10",
                                           deposit="50")
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    assert (await client.bid(lot_id, "100.0"))["code"] == "invalid_amount"
    assert (await client.bid(lot_id, "100"))["type"] == "ack"


async def test_staff_and_the_public_may_not_bid(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    seq = server.seq(lot_id)
    for token in (HOST_TOKEN, SUPERVISOR_TOKEN, None):
        client = await server.connect()
        await client.subscribe(lot_id, token)
        rejected = await client.bid(lot_id, "100.00", ref="try")
        assert rejected["type"] == "rejected" and rejected["code"] == "forbidden", rejected
        await assert_carries_on(server, client, lot_id, seq, [])
    client = await server.connect()
    rejected = await client.bid(lot_id, "100.00")  # not subscribed at all
    assert rejected["code"] == "forbidden"


async def test_a_bidder_token_of_another_lot_is_refused(server: Server) -> None:
    lot_a, tokens_a = await server.open_lot()
    lot_b, _ = await server.open_lot()
    seq_b = server.seq(lot_b)
    client = await server.connect()
    await client.send({"type": "subscribe", "lot_id": lot_b, "after_seq": 0,
                       "token": tokens_a[0]})
    error = await client.recv()
    assert error["type"] == "error" and error["code"] == "bad_token"
    assert "another lot" in error["detail"]
    await client.quiet()  # no subscription: no update
    # Subscribed to lot A as its bidder and to lot B as the public: no bid on B.
    await client.subscribe(lot_a, tokens_a[0])
    await client.subscribe(lot_b)
    assert (await client.bid(lot_b, "100.00"))["code"] == "forbidden"
    assert server.seq(lot_b) == seq_b


async def test_expired_and_forged_bidder_tokens_are_refused(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    state = server.engine.lot(lot_id)
    assert state is not None
    bidder = state.bidders["b1"]
    secret = server.settings.secret
    expired = issue_bidder_token(secret, BidderClaims(lot_id, "b1", bidder.bidder_no,
                                                      exp=server.engine.now() - 1))
    forged = issue_bidder_token(b"someone-elses-secret-000", BidderClaims(
        lot_id, "b1", bidder.bidder_no, exp=server.engine.now() + 10**6))
    unregistered = issue_bidder_token(secret, BidderClaims(lot_id, "ghost", "0000",
                                                           exp=server.engine.now() + 10**6))
    wrong_no = issue_bidder_token(secret, BidderClaims(lot_id, "b1", "0000",
                                                       exp=server.engine.now() + 10**6))
    client = await server.connect()
    for token, detail in [(expired, "expired"), (forged, "signature"),
                          (unregistered, "not registered"), (wrong_no, "not registered")]:
        await client.send({"type": "subscribe", "lot_id": lot_id, "token": token})
        error = await client.recv()
        assert error["code"] == "bad_token" and detail in error["detail"], error
    assert (await client.bid(lot_id, "100.00"))["code"] == "forbidden"


async def test_a_bad_token_on_resubscribe_keeps_the_subscription(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    await client.send({"type": "subscribe", "lot_id": lot_id, "token": "junk"})
    assert (await client.recv())["code"] == "bad_token"
    assert (await client.bid(lot_id, "100.00"))["type"] == "ack"


async def test_a_bidder_cannot_act_for_another(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    await client.send({"type": "bid", "lot_id": lot_id, "amount": "100.00", "ref": "r",
                       "bidder_id": "b2"})
    assert (await client.recv())["code"] == "bad_message"
    assert server.seq(lot_id) == seq
    assert (await client.bid(lot_id, "100.00"))["type"] == "ack"
    bids = await server.ok("GET", f"/api/lots/{lot_id}/bids")
    assert [b["bidder_id"] for b in bids["bids"]] == ["b1"]


async def test_frames_over_16_kib_get_too_large_and_the_connection_stays(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    await client.send({"type": "ping", "client_time": 1, "pad": "x" * 20_000})
    assert (await client.recv())["code"] == "too_large"
    await client.send(b"\x00" * 20_000)
    assert (await client.recv())["code"] == "too_large"
    await client.send(b"{}")  # a binary frame
    error = await client.recv()
    assert error["code"] == "bad_message" and "binary" in error["detail"]
    await assert_carries_on(server, client, lot_id, seq, [])


async def test_frames_over_1_mib_close_the_connection_with_1009(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    bystander = await server.connect()
    await bystander.subscribe(lot_id)
    client = await server.connect(max_size=None)
    await client.send("x" * (1024 * 1024 + 1))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await assert_carries_on(server, bystander, lot_id, server.seq(lot_id), [])


async def test_bids_beyond_the_rate_limit_are_rejected(make_server: ServerFactory) -> None:
    server = await make_server(bid_rate=1.0, bid_burst=2)
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    codes = [(await client.bid(lot_id, "90.00", ref=f"r{i}"))["code"] for i in range(3)]
    assert codes == ["below_start", "below_start", "rate_limited"]


async def test_too_many_subscriptions_on_one_connection(make_server: ServerFactory) -> None:
    server = await make_server(ws_max_subscriptions=1)
    first, _ = await server.open_lot()
    second, _ = await server.open_lot()
    client = await server.connect()
    await client.subscribe(first)
    await client.send({"type": "subscribe", "lot_id": second})
    assert (await client.recv())["code"] == "too_many_subscriptions"
    await client.subscribe(first)  # resubscribing the same lot is fine


async def test_a_flood_of_bad_frames_does_not_disturb_other_clients(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    bidder = await server.connect()
    await bidder.subscribe(lot_id, tokens[1])
    attacker = await server.connect()
    await attacker.subscribe(lot_id, tokens[0])
    seq = server.seq(lot_id)
    started = time.monotonic()
    for i in range(300):
        await attacker.send(["junk", i] if i % 3 else "{{{")
    assert (await bidder.bid(lot_id, "100.00"))["type"] == "ack"
    assert time.monotonic() - started < 5
    errors = 0
    async with asyncio.timeout(5):
        while errors < 300:
            if (await attacker.recv())["type"] == "error":
                errors += 1
    assert server.seq(lot_id) == seq + 1
