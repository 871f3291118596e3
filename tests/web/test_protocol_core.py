"""The WebSocket protocol's core (web.protocol) without sockets: fed frames and the time,
it answers with what to send and what to do. The lots are a real EmbeddedEngine, which
also executes the commands the core asks for; the limiters are the real ones on a clock
the test moves."""

from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from web_support import open_lot

from auction.model import PlaceBid as PlaceBidCommand
from auction.model import (
    Rejection,
)
from engine.api import EngineError, Quarantined, UnknownLot
from engine.embedded import EmbeddedEngine
from web.auth import BidderClaims, StaffDirectory, issue_bidder_token
from web.limits import RateLimiter
from web.protocol import (
    MAX_FRAME,
    Count,
    Effect,
    Execute,
    Joined,
    Rules,
    Send,
    ServerProtocol,
    Unwatch,
    Watch,
)
from web.schemas import CLIENT_MESSAGES, tag_of

SECRET = b"s" * 32
HOST = "host-token-of-the-core-tests"
NOW = 1_000_000
DAY = 86_400_000


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Lots:
    """The engine's lots, with a lot that reads as quarantined."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.engine = engine
        self.broken: BaseException | None = None

    def lot(self, lot_id: str) -> Any:
        if self.broken is not None:
            raise self.broken
        return self.engine.lot(lot_id)

    def quarantined(self) -> dict[str, str]:
        return {"Q": "the record does not verify"}


def token(bidder: str = "x", lot_id: str = "L", exp: int = NOW + DAY, gen: int = 0,
          bidder_no: str | None = None) -> str:
    return issue_bidder_token(SECRET, BidderClaims(lot_id, bidder, bidder_no or f"{ord(bidder)}",
                                                   exp, gen))


class Harness:
    """A core and the real parts that carry its effects out (the engine)."""

    def __init__(self, engine: EmbeddedEngine, *, max_subscriptions: int = 3) -> None:
        self.engine = engine
        self.lots = Lots(engine)
        self.clock = Clock()
        self.core = ServerProtocol(
            lots=self.lots, staff=StaffDirectory({HOST: ("alice", "host")}),
            rules=Rules(secret=SECRET, max_subscriptions=max_subscriptions,
                        address_rate=2, bid_rate=1),
            messages=RateLimiter(2, 4, clock=self.clock),
            bids=RateLimiter(1, 2, clock=self.clock), ip="10.0.0.1", default_device="ua:d")
        self.now = NOW

    def feed(self, message: Any, *, binary: bool = False) -> list[Effect]:
        self.clock.t += 10  # the limiters' buckets are full again
        data = message if isinstance(message, bytes) else orjson.dumps(message)
        return self.core.receive(data, self.now, binary=binary)

    async def carry_out(self, effects: list[Effect]) -> list[Effect]:
        """Every effect, with the outcomes of watching (always delivering) and executing
        (by the engine) folded in."""
        done: list[Effect] = []
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            done.append(effect)
            if isinstance(effect, Watch):
                pending[:0] = self.core.watched(effect)
            elif isinstance(effect, Execute):
                result = await self.engine.execute(effect.lot_id, effect.command)
                pending[:0] = self.core.executed(effect, result)
        return done

    async def send(self, message: Any) -> list[Effect]:
        return await self.carry_out(self.feed(message))

    async def subscribe(self, lot_id: str = "L", tok: str | None = None,
                        **extra: Any) -> list[Effect]:
        msg = {"type": "subscribe", "lot_id": lot_id, **extra}
        if tok is not None:
            msg["token"] = tok
        return await self.send(msg)


def sent(effects: list[Effect]) -> list[dict[str, Any]]:
    """The messages the effects send, as the client reads them."""
    return [orjson.loads(msgspec.json.encode(e.message)) for e in effects
            if isinstance(e, Send)]


def only(effects: list[Effect]) -> dict[str, Any]:
    messages = sent(effects)
    assert len(messages) == 1, messages
    return messages[0]


def counts(effects: list[Effect]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.name, e.labels) for e in effects if isinstance(e, Count)]


@pytest.fixture
async def h(engine: EmbeddedEngine) -> Harness:
    await open_lot(engine, proxy=True)
    return Harness(engine)


# ---------------------------------------------------------------------- every message


def test_every_client_message_type_has_a_test_here() -> None:
    source = Path(__file__).read_text()
    for cls in CLIENT_MESSAGES:
        assert f'"type": "{tag_of(cls)}"' in source, tag_of(cls)


def test_the_first_message_is_welcome_with_the_protocol_and_the_frame_limit(
        h: Harness) -> None:
    msg = only(h.core.welcome(NOW))
    assert msg == {"type": "welcome", "server_time": NOW, "protocol": 1,
                   "max_frame": MAX_FRAME}


async def test_a_public_subscribe_asks_to_watch_the_public_audience_and_logs_no_join(
        h: Harness) -> None:
    effects = await h.subscribe(after_seq=0, ref="s1")
    watch = effects[0]
    assert isinstance(watch, Watch)
    assert (watch.lot_id, watch.audience, watch.bidder_id, watch.after_seq) == (
        "L", "public", None, 0)
    assert watch.greeting.role == "public" and watch.greeting.ref == "s1"
    assert effects[1:] == [] and "L" in h.core.subs


async def test_a_bidder_subscribe_watches_as_the_bidder_and_logs_the_join(h: Harness) -> None:
    effects = await h.subscribe(tok=token(), device="dev-1")
    watch, joined = effects
    assert isinstance(watch, Watch) and watch.audience == "bidder"
    assert watch.bidder_id == "x" and watch.token_gen == 0
    assert watch.greeting.bidder_no == str(ord("x"))
    assert joined == Joined("L", "bidder", "dev-1", "x", str(ord("x")), None)


async def test_a_staff_subscribe_watches_the_staff_view_and_logs_the_staff_member(
        h: Harness) -> None:
    effects = await h.subscribe(tok=HOST)
    watch, joined = effects
    assert isinstance(watch, Watch) and watch.audience == "staff"
    assert watch.greeting.role == "host"
    assert joined == Joined("L", "host", "ua:d", None, None, "alice")


async def test_subscribing_again_stops_the_old_watch_before_the_new_one(h: Harness) -> None:
    await h.subscribe()
    effects = await h.subscribe(tok=token())
    assert effects[0] == Unwatch("L") and isinstance(effects[1], Watch)
    assert h.core.subs["L"].role == "bidder"


async def test_unsubscribe_stops_the_watch_and_answers_unsubscribed(h: Harness) -> None:
    await h.subscribe()
    effects = await h.send({"type": "unsubscribe", "lot_id": "L", "ref": "u"})
    assert effects[0] == Unwatch("L")
    assert only(effects) == {"type": "unsubscribed", "lot_id": "L", "ref": "u"}
    assert h.core.subs == {}


async def test_a_bid_of_the_subscribed_bidder_is_executed_and_acked_with_its_amount(
        h: Harness) -> None:
    await h.subscribe(tok=token())
    effects = await h.send({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b1"})
    execute = effects[0]
    assert isinstance(execute, Execute) and execute.kind == "bid"
    assert isinstance(execute.command, PlaceBidCommand)
    assert (execute.command.amount, execute.command.ip, execute.command.device) == (
        100, "10.0.0.1", "ua:d")
    ack = only(effects)
    assert ack["type"] == "ack" and ack["ref"] == "b1" and ack["amount"] == "1.00"
    assert ack["seq"] == h.engine.lot("L").version  # type: ignore[union-attr]
    assert ("bids", ("bid", "accepted")) in counts(effects)


async def test_a_bid_the_rules_refuse_is_answered_with_their_code(h: Harness) -> None:
    await h.subscribe(tok=token())
    await h.send({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b1"})
    effects = await h.send({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b2"})
    msg = only(effects)
    assert msg["type"] == "rejected" and msg["ref"] == "b2"
    assert ("bids", ("bid", msg["code"])) in counts(effects)


async def test_an_act_with_an_amount_is_executed_and_acked_with_the_act(h: Harness) -> None:
    await h.subscribe(tok=token())
    effects = await h.send({"type": "act", "lot_id": "L", "act": "proxy", "amount": "5.00",
                            "ref": "p"})
    ack = only(effects)
    assert ack["type"] == "ack" and ack["act"] == "proxy" and ack["amount"] == "5.00"
    assert ("bids", ("act", "accepted")) in counts(effects)


async def test_an_act_without_an_amount_carries_none(h: Harness) -> None:
    await h.subscribe(tok=token())
    effects = h.feed({"type": "act", "lot_id": "L", "act": "confirm", "ref": "c"})
    execute = effects[0]
    assert isinstance(execute, Execute) and execute.kind == "act" and execute.minor is None
    # accepted with events that are no bid of its own: the ack names no amount
    records = await h.engine.execute("L", PlaceBidCommand(bidder_id="y", amount=100))
    assert not isinstance(records, Rejection)
    ack = only(h.core.executed(execute, records))
    assert ack["type"] == "ack" and ack["act"] == "confirm" and "amount" not in ack


def test_ping_is_answered_with_the_server_time_and_the_offset(h: Harness) -> None:
    msg = only(h.feed({"type": "ping", "client_time": NOW - 250, "ref": "t"}))
    assert msg == {"type": "pong", "client_time": NOW - 250, "server_time": NOW,
                   "offset_ms": 250, "ref": "t"}


async def test_closing_stops_every_watch(h: Harness) -> None:
    await open_lot(h.engine, "M")
    await h.subscribe("L")
    await h.subscribe("M")
    assert h.core.close() == [Unwatch("L"), Unwatch("M")]
    assert h.core.subs == {}


# ---------------------------------------------------------------------- errors


def error(effects: list[Effect]) -> dict[str, Any]:
    msg = only(effects)
    assert msg["type"] == "error", msg
    assert ("ws_errors", (msg["code"],)) in counts(effects)
    assert not [e for e in effects if not isinstance(e, Send | Count)], effects
    return msg


def test_too_many_messages_from_the_address_are_answered_rate_limited_with_the_ref(
        h: Harness) -> None:
    ping = orjson.dumps({"type": "ping", "client_time": 1, "ref": "t"})
    replies = [h.core.receive(ping, NOW) for _ in range(5)]
    msg = error(replies[-1])
    assert msg["code"] == "rate_limited" and msg["ref"] == "t"
    assert ("rate_limited", ("messages",)) in counts(replies[-1])
    oversized = h.core.receive(b'{"ref": "t", "x": "' + b"a" * MAX_FRAME + b'"}', NOW)
    assert "ref" not in error(oversized)


def test_a_frame_over_the_limit_is_answered_too_large(h: Harness) -> None:
    assert error(h.feed(b"[" + b" " * MAX_FRAME + b"]"))["code"] == "too_large"


def test_a_binary_frame_is_answered_bad_message(h: Harness) -> None:
    effects = h.feed({"type": "ping", "client_time": 1}, binary=True)
    assert error(effects)["code"] == "bad_message"


@pytest.mark.parametrize("frame", [b"not json", b"[]", b'{"type": "nope"}',
                                   b'{"type": "ping"}', b'{"type": "subscribe"}'])
def test_a_frame_that_is_no_message_is_answered_with_an_error_and_nothing_else(
        h: Harness, frame: bytes) -> None:
    assert error(h.feed(frame))["code"]


def test_a_bid_with_a_bad_amount_and_another_fault_is_answered_by_the_other_fault(
        h: Harness) -> None:
    msg = error(h.feed({"type": "bid", "lot_id": "L", "amount": "1e3"}))
    assert msg["code"] != "invalid_amount"


async def test_a_bid_with_a_bad_amount_is_rejected_invalid_amount_and_not_executed(
        h: Harness) -> None:
    await h.subscribe(tok=token())
    for amount in ("1e3", 12, "-1.00", "0.001"):
        effects = h.feed({"type": "bid", "lot_id": "L", "amount": amount, "ref": "b"})
        msg = only(effects)
        assert (msg["type"], msg["code"]) == ("rejected", "invalid_amount"), amount
        assert not [e for e in effects if isinstance(e, Execute)]


@pytest.mark.parametrize(("lot_id", "code"), [("nope", "unknown_lot"), ("Q", "quarantined")])
async def test_a_subscribe_to_a_lot_without_state_names_why(h: Harness, lot_id: str,
                                                            code: str) -> None:
    assert error(await h.subscribe(lot_id))["code"] == code


async def test_a_subscribe_after_the_last_event_is_bad_seq(h: Harness) -> None:
    version = h.engine.lot("L").version  # type: ignore[union-attr]
    assert error(await h.subscribe(after_seq=version + 1))["code"] == "bad_seq"
    assert "L" not in h.core.subs


@pytest.mark.parametrize("tok", [
    "neither-staff-nor-bidder",
    token(lot_id="M"),                    # another lot's
    token(exp=NOW),                       # expired
    token(bidder="w"),                    # not registered
    token(bidder_no="999"),               # not the registered number
    token(gen=1),                         # not the current generation
    token()[:-4] + "AAAA",                # forged
])
async def test_a_subscribe_with_a_token_that_does_not_hold_is_bad_token(h: Harness,
                                                                       tok: str) -> None:
    assert error(await h.subscribe(tok=tok))["code"] == "bad_token"
    assert h.core.subs == {}


async def test_a_subscription_beyond_the_limit_is_refused_but_resubscribing_is_not(
        engine: EmbeddedEngine) -> None:
    h = Harness(engine, max_subscriptions=1)
    await open_lot(engine, "L")
    await open_lot(engine, "M")
    await h.subscribe("L")
    assert error(await h.subscribe("M"))["code"] == "too_many_subscriptions"
    assert isinstance((await h.subscribe("L", tok=token()))[1], Watch)


def test_unsubscribing_from_a_lot_not_watched_is_not_subscribed(h: Harness) -> None:
    assert error(h.feed({"type": "unsubscribe", "lot_id": "L"}))["code"] == "not_subscribed"


@pytest.mark.parametrize(("outcome", "code"), [
    (UnknownLot("L"), "unknown_lot"), (Quarantined("L", "bad record"), "quarantined"),
    (EngineError("down"), "unavailable"), (RuntimeError("bug"), "internal_error")])
async def test_a_watch_that_fails_is_answered_and_leaves_no_subscription(
        h: Harness, outcome: BaseException, code: str) -> None:
    watch = h.feed({"type": "subscribe", "lot_id": "L", "ref": "s"})[0]
    assert isinstance(watch, Watch)
    msg = error(h.core.watched(watch, outcome))
    assert (msg["code"], msg["ref"]) == (code, "s")
    assert h.core.subs == {}


@pytest.mark.parametrize(("tok", "detail"), [(None, "only a bidder"),
                                             (HOST, "a host may not")])
async def test_only_a_bidder_subscribed_with_its_token_may_bid_or_act(
        h: Harness, tok: str | None, detail: str) -> None:
    bid = {"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b"}
    assert only(h.feed(bid))["code"] == "forbidden"  # not subscribed at all
    await h.subscribe(tok=tok)
    for msg in (bid, {"type": "act", "lot_id": "L", "act": "confirm", "ref": "a"},
                {"type": "enrol", "lot_id": "L", "alg": "ecdsa-p256", "key": "AAAA", "ref": "k"}):
        effects = h.feed(msg)
        reply = only(effects)
        assert (reply["type"], reply["code"]) == ("rejected", "forbidden")
        assert detail in reply["detail"]
        assert ("bids", (msg["type"], "forbidden")) in counts(effects)


async def test_a_bid_after_the_token_expired_is_rejected_bad_token(h: Harness) -> None:
    await h.subscribe(tok=token(exp=NOW + 1000))
    h.now = NOW + 1000
    msg = only(h.feed({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b"}))
    assert (msg["type"], msg["code"]) == ("rejected", "bad_token")


async def test_bids_beyond_the_bidders_rate_are_rejected_rate_limited(h: Harness) -> None:
    await h.subscribe(tok=token())
    bid = orjson.dumps({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b"})
    replies = [h.core.receive(bid, NOW) for _ in range(3)]
    assert isinstance(replies[0][0], Execute) and isinstance(replies[1][0], Execute)
    msg = only(replies[2])
    assert (msg["type"], msg["code"]) == ("rejected", "rate_limited")
    assert ("rate_limited", ("bids",)) in counts(replies[2])


async def test_enrolments_count_against_the_bidders_rate_like_bids(h: Harness) -> None:
    """Each enrolment the rules take is an event: a bidder cannot fill the record with
    them faster than it could with bids."""
    await h.subscribe(tok=token())
    enrol = orjson.dumps({"type": "enrol", "lot_id": "L", "alg": "ecdsa-p256", "key": "AAAA",
                          "ref": "k"})
    replies = [h.core.receive(enrol, NOW) for _ in range(3)]
    assert isinstance(replies[0][0], Execute) and isinstance(replies[1][0], Execute)
    assert replies[0][0].command.key == "AAAA"  # type: ignore[union-attr]
    msg = only(replies[2])
    assert (msg["type"], msg["code"], msg["ref"]) == ("rejected", "rate_limited", "k")
    assert ("rate_limited", ("bids",)) in counts(replies[2])


@pytest.mark.parametrize(("outcome", "kind", "code"), [
    (UnknownLot("L"), "error", "unknown_lot"), (EngineError("down"), "rejected", "unavailable"),
    (RuntimeError("bug"), "error", "internal_error")])
async def test_an_execution_that_fails_is_answered(h: Harness, outcome: BaseException,
                                                   kind: str, code: str) -> None:
    await h.subscribe(tok=token())
    execute = h.feed({"type": "bid", "lot_id": "L", "amount": "1.00", "ref": "b"})[0]
    assert isinstance(execute, Execute)
    msg = only(h.core.executed(execute, outcome))
    assert (msg["type"], msg["code"], msg["ref"]) == (kind, code, "b")


@pytest.mark.parametrize(("broken", "code"), [(Quarantined("L", "bad"), "quarantined"),
                                              (EngineError("down"), "unavailable"),
                                              (RuntimeError("bug"), "internal_error")])
def test_a_lot_that_cannot_be_read_is_answered_with_an_error(h: Harness, broken: Exception,
                                                             code: str) -> None:
    h.lots.broken = broken
    msg = error(h.feed({"type": "unsubscribe", "lot_id": "L", "ref": "u"}))
    assert msg["code"] == "not_subscribed"  # unsubscribing reads no lot
    msg = error(h.feed({"type": "subscribe", "lot_id": "L", "ref": "s"}))
    assert (msg["code"], msg["ref"]) == (code, "s")
