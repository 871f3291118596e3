"""Hypothesis over the WebSocket protocol, against a real server: random and mutated
messages, random JSON and bytes, and frames that break the WebSocket framing rules.

Invariants, checked after every frame and every example:

* the server never crashes (it answers a ping after every example, its event loop
  reported no error, it never answers ``internal_error``);
* every frame gets exactly one well-formed reply (``error``, ``rejected``, ``ack``,
  ``subscribed``, ``unsubscribed`` or ``pong``, each with exactly its documented fields)
  or a clean close (a close frame with a protocol code, never 1011);
* updates of a subscription come in ``seq`` order without gaps;
* the lot changes only through valid bids: every event the lot gained during an example
  is a ``BidAccepted`` the fuzzer got an ``ack`` for, with that amount.

Budget: ``AUCTION_FUZZ_EXAMPLES`` x 15 message examples and x 10 raw-frame examples
(defaults: 120 and 80, about 5 s), derandomized unless ``AUCTION_FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rawws import BINARY, CLOSE, PING, PONG, TEXT, frame
from threaded import ThreadedServer
from web_support import DEFAULT_PARAMS, HOST_TOKEN, STAFF, SUPERVISOR_TOKEN
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from auction.model import BidAccepted
from web.auth import BidderClaims, issue_bidder_token
from web.errors import WEB_MESSAGES

BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
EXAMPLES = int(os.environ.get("AUCTION_FUZZ_EXAMPLES", "8"))
RANDOM = os.environ.get("AUCTION_FUZZ_RANDOM") == "1"
SECRET = b"fuzz-ws-secret-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {HOST_TOKEN}"}

#: Every field each reply may and must have (docs/protocol.md).
REPLIES: dict[str, tuple[set[str], set[str]]] = {
    "error": ({"type", "code", "message", "detail"}, {"ref"}),
    "rejected": ({"type", "lot_id", "ref", "code", "message", "detail"}, set()),
    "ack": ({"type", "lot_id", "ref", "seq", "amount", "at", "hash", "receipt",
             "receipt_path"}, set()),
    "subscribed": ({"type", "lot_id", "role", "bidder_no"}, {"ref"}),
    "unsubscribed": ({"type", "lot_id"}, {"ref"}),
    "pong": ({"type", "client_time", "server_time", "offset_ms"}, {"ref"}),
}
PUSHED = {"update": {"type", "lot_id", "events", "state", "server_time"},
          "you": {"type", "lot_id", "seq", "you"}}
#: A live update carries a delta (and ``gone`` when keys disappeared) instead of ``state``.
LIVE_UPDATE = ({"type", "lot_id", "events", "delta", "server_time"}, {"gone"})
ERROR_CODES = set(WEB_MESSAGES) | {"rate_limited", "bad_token"}
#: Close codes of a clean refusal: normal, protocol error, bad data, too big.
CLEAN_CLOSES = {1000, 1002, 1003, 1007, 1009}


class World:
    """The server and what the fuzzer may aim at: an open lot and another one, tokens of
    every kind."""

    def __init__(self, server: ThreadedServer) -> None:
        self.server = server
        http = requests.Session()
        http.headers.update(AUTH)
        base = server.base

        def post(path: str, body: Any) -> Any:
            response = http.post(base + path, json=body, timeout=10)
            assert response.status_code in (200, 201), response.text
            return response.json()

        session = post("/api/sessions", {"name": "fuzz"})["session_id"]
        self.lots: list[str] = []
        self.tokens: list[str] = []
        for _ in range(2):
            lot_id = post("/api/lots", {"session_id": session, "title": "t",
                                        "format": "english",
                                        "params": {**DEFAULT_PARAMS, "duration_s": 3600}})[
                "lot_id"]
            for bidder in ("b1", "b2"):
                self.tokens.append(post(f"/api/lots/{lot_id}/bidders",
                                        {"bidder_id": bidder, "name": bidder})["token"])
                post(f"/api/lots/{lot_id}/bidders/{bidder}/deposit",
                     {"amount": "50.00", "account": "a"})
            post(f"/api/lots/{lot_id}/schedule", {})
            post(f"/api/lots/{lot_id}/start", {})
            self.lots.append(lot_id)
        lot = self.lots[0]
        number = http.get(f"{base}/api/lots/{lot}", timeout=10).json()["register"][0][
            "bidder_no"]
        self.tokens += [
            HOST_TOKEN, SUPERVISOR_TOKEN,
            issue_bidder_token(SECRET, BidderClaims(lot, "b1", number, exp=1)),  # expired
            issue_bidder_token(b"another-secret-0123456789", BidderClaims(
                lot, "b1", number, exp=2**50)),  # forged
            issue_bidder_token(SECRET, BidderClaims(lot, "ghost", "0000", exp=2**50)),
            "b1.e30.AAAA", "",
        ]

    def history(self, lot_id: str) -> list[Any]:
        return self.server.run(self.server.engine.history, lot_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ThreadedServer(tmp_path_factory.mktemp("fuzz-ws"), staff=STAFF, secret=SECRET,
                        address_rate=1e6, address_burst=10**6, bid_rate=1e6,
                        bid_burst=10**6, max_connections_per_address=10_000) as server:
        yield World(server)
        assert not server.errors, server.errors


# ------------------------------------------------------------------------ strategies

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=8)


SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"


def maybe(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """Mostly a good value (so that examples get deep into the protocol), sometimes not."""
    # (Hypothesis prefers the first element of sampled_from: the good one.)
    return draw(good) if draw(st.sampled_from([True] * 9 + [False])) else draw(bad)


@st.composite
def messages(draw: st.DrawFn, lots: list[str], tokens: list[str]) -> dict[str, Any]:
    """A message as the protocol defines it, its values mostly valid."""
    lot_id = maybe(draw, st.sampled_from(lots),
                   st.sampled_from(["", "nope", "L-" + "9" * 70]) | st.text(max_size=70))
    ref = maybe(draw, st.text(SAFE, min_size=1, max_size=10),
                st.none() | st.text(max_size=80) | JSON)
    kind = draw(st.sampled_from(["subscribe", "subscribe", "bid", "bid", "bid", "act",
                                 "enrol", "unsubscribe", "ping"]))
    msg: dict[str, Any] = {"type": kind}
    if kind == "subscribe":
        i = draw(st.integers(0, len(tokens) - 1))
        msg["lot_id"] = lots[min(i // 2, len(lots) - 1)] if lot_id in lots else lot_id
        if draw(st.sampled_from([True, False])):
            msg["token"] = maybe(draw, st.just(tokens[i]), st.text(max_size=40) | JSON)
        if draw(st.sampled_from([True, False])):
            msg["after_seq"] = maybe(draw, st.none() | st.integers(0, 12),
                                     st.integers(-3, 10**6) | JSON)
        if draw(st.integers(0, 3)) == 0:
            msg["device"] = maybe(draw, st.text(SAFE, min_size=1, max_size=20),
                                  st.text(max_size=140) | JSON)
    elif kind == "bid":
        msg["lot_id"] = lot_id
        msg["amount"] = maybe(
            draw, st.integers(10, 10**5).map(lambda n: f"{n * 10}.00"),
            st.sampled_from(["100", "1e5", "-100.00", " 100.00", "100.001", "0.00", "NaN",
                             "１００.00", "9" * 30, 100, 100.0]) | JSON)
        if draw(st.integers(0, 3)) == 0:  # a signature (ignored: these lots do not sign)
            msg["sig"] = maybe(draw, st.fixed_dictionaries({
                "seen": st.integers(0, 20), "nonce": st.text(SAFE, min_size=8, max_size=20),
                "sig": st.text(BASE64, min_size=1, max_size=90)}), JSON)
    elif kind == "act":
        msg["lot_id"] = lot_id
        msg["act"] = maybe(draw, st.sampled_from(["confirm", "accept", "proxy", "drop"]),
                           st.text(max_size=40) | JSON)
        if draw(st.sampled_from([True, False])):
            msg["amount"] = maybe(draw, st.integers(10, 10**5).map(lambda n: f"{n * 10}.00"),
                                  st.sampled_from(["1e5", "-1.00", "0.00", 100.0]) | JSON)
    elif kind == "enrol":
        msg["lot_id"] = lot_id
        msg["alg"] = maybe(draw, st.sampled_from(["ecdsa-p256", "sm2"]),
                           st.text(max_size=20) | JSON)
        msg["key"] = maybe(draw, st.text(BASE64, min_size=1, max_size=200),
                           st.text(max_size=40) | JSON)
        if draw(st.sampled_from([True, False])):
            msg["certificate"] = maybe(draw, st.text(max_size=200), JSON)
    elif kind == "unsubscribe":
        msg["lot_id"] = lot_id
    else:
        msg["client_time"] = maybe(draw, st.integers(0, 2**53), JSON)
    if ref is not None or kind in ("bid", "act", "enrol"):
        msg["ref"] = ref
    return msg


@st.composite
def mutated(draw: st.DrawFn, lots: list[str], tokens: list[str]) -> Any:
    """A message with one thing wrong: a field dropped, added, or of another value."""
    msg = draw(messages(lots, tokens))
    keys = sorted(msg)
    how = draw(st.sampled_from(["drop", "add", "replace", "retype", "wrap"]))
    if how == "drop":
        del msg[draw(st.sampled_from(keys))]
    elif how == "add":
        msg[draw(st.text(max_size=12))] = draw(JSON)
    elif how == "replace":
        msg[draw(st.sampled_from(keys))] = draw(JSON)
    elif how == "retype":
        msg["type"] = draw(JSON | st.text(max_size=12))
    else:
        return [msg]
    return msg


def frames(lots: list[str], tokens: list[str]) -> st.SearchStrategy[Any]:
    """What a client may put in one frame: ``str`` (text) or ``bytes`` (binary)."""
    as_text = st.builds(json.dumps, messages(lots, tokens))
    return st.one_of(
        as_text, as_text, as_text,
        st.builds(json.dumps, mutated(lots, tokens)),
        st.builds(json.dumps, JSON),
        st.text(max_size=100),
        st.binary(max_size=100),
        st.sampled_from(["x" * 20_000, '{"type": "ping", "client_time": 1, "pad": "'
                         + "y" * 17_000 + '"}', "z" * (1024 * 1024 + 1)]),
    )


# ------------------------------------------------------------------------ checking


class Session:
    """One connection of the fuzzer: what it was told, checked as it comes."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.acked: dict[int, tuple[str, str]] = {}  # seq -> (lot_id, amount)
        self.last_seq: dict[str, int] = {}
        self.closed: int | None = None

    def answer(self, sent: Any) -> None:
        """Send ``sent``; read until its reply or a clean close; check all of it."""
        try:
            self.conn.send(sent)
            while True:
                msg = orjson.loads(self.conn.recv(timeout=10))
                kind = msg.get("type")
                if kind in PUSHED:
                    self.pushed(msg)
                    continue
                self.reply(msg, sent)
                return
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            assert exc.rcvd.code in CLEAN_CLOSES, exc.rcvd
            self.closed = exc.rcvd.code
            event(f"closed {self.closed}")

    def pushed(self, msg: dict[str, Any]) -> None:
        must, may = LIVE_UPDATE if "delta" in msg else (PUSHED[msg["type"]], set())
        assert must <= set(msg) <= must | may, msg
        if msg["type"] != "update":
            return
        seqs = [e["seq"] for e in msg["events"]]
        lot = msg["lot_id"]
        if lot in self.last_seq and seqs:
            assert seqs[0] == self.last_seq[lot] + 1, (self.last_seq[lot], seqs[:3])
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
        if "delta" in msg:  # made from the snapshot as of the event before its first
            assert seqs and msg["delta"]["seq"] == seqs[-1], msg
            self.last_seq[lot] = seqs[-1]
            return
        assert msg["state"]["seq"] >= (seqs[-1] if seqs else 0)
        self.last_seq[lot] = msg["state"]["seq"]

    def reply(self, msg: dict[str, Any], sent: Any) -> None:
        kind = msg.get("type")
        event(f"reply {kind} {msg.get('code', '')}".strip())
        assert kind in REPLIES, msg
        must, may = REPLIES[kind]
        assert must <= set(msg) <= must | may, msg
        if "code" in msg:
            assert msg["code"] != "internal_error", (sent, msg)
            assert set(msg["message"]) == {"zh", "en"}, msg
            if kind == "error":
                assert msg["code"] in ERROR_CODES, msg
        if kind == "ack":
            self.acked[msg["seq"]] = (msg["lot_id"], msg["amount"])
        if kind == "subscribed":
            self.last_seq.pop(msg["lot_id"], None)  # a new subscription starts afresh
        if kind == "unsubscribed":
            self.last_seq.pop(msg["lot_id"], None)
        if isinstance(sent, str) and len(sent) < 16_384 and "ref" in msg:
            data = json.loads(sent)
            assert isinstance(data, dict) and data.get("ref") == msg["ref"], (sent, msg)


def check_lots_changed_only_by_acks(world: World, before: dict[str, int],
                                    acked: dict[int, tuple[str, str]]) -> None:
    for lot_id, seq in before.items():
        for record in world.history(lot_id)[seq:]:
            assert isinstance(record.event, BidAccepted), record
            lot, amount = acked.get(record.seq, (None, None))
            assert lot == lot_id, f"event {record.seq} of {lot_id} was never acknowledged"
            assert amount == f"{record.event.amount // 100}.{record.event.amount % 100:02d}"


def fuzz_settings(n: int) -> Any:
    return settings(max_examples=n, deadline=None, database=None, derandomize=not RANDOM,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False)


def ping(world: World) -> None:
    with connect(world.server.ws_url, open_timeout=5) as conn:
        assert orjson.loads(conn.recv(timeout=5))["type"] == "welcome"
        conn.send('{"type": "ping", "client_time": 7}')
        assert orjson.loads(conn.recv(timeout=5))["client_time"] == 7


# ------------------------------------------------------------------------ the fuzzers


def test_random_and_mutated_messages(world: World) -> None:
    @given(data=st.data())
    @fuzz_settings(EXAMPLES * 15)
    def example(data: st.DataObject) -> None:
        # Mostly as a bidder of one of the lots, so that bids get as far as the rules.
        bidder = data.draw(st.sampled_from([0, 1, 2, 3, None]))
        sent = data.draw(st.lists(frames(world.lots, world.tokens), min_size=1, max_size=8))
        if bidder is not None:
            sent.insert(0, json.dumps({"type": "subscribe", "lot_id": world.lots[bidder // 2],
                                       "token": world.tokens[bidder]}))
        before = {lot_id: len(world.history(lot_id)) for lot_id in world.lots}
        with connect(world.server.ws_url, max_size=None, open_timeout=5) as conn:
            assert orjson.loads(conn.recv(timeout=5))["type"] == "welcome"
            session = Session(conn)
            for one in sent:
                session.answer(one)
                if session.closed is not None:
                    break
        check_lots_changed_only_by_acks(world, before, session.acked)
        ping(world)

    example()
    assert world.server.alive() and not world.server.errors


class RawClient:
    """A blocking WebSocket client on a bare socket (for frames no library sends)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_frame(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        n = second & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return first & 0xF, self._read(n)

    def close(self) -> None:
        self.sock.close()


@st.composite
def raw_frames(draw: st.DrawFn) -> bytes:
    """One frame, often breaking a rule of RFC 6455: reserved opcodes and bits, missing
    mask, fragments, oversized control frames, bad close codes, invalid UTF-8."""
    opcode = draw(st.sampled_from([TEXT, BINARY, 0x0, PING, PONG, CLOSE])
                  | st.integers(0, 15))
    payload = draw(st.binary(max_size=300)
                   | st.text(max_size=100).map(str.encode)
                   | st.just(b'{"type": "ping", "client_time": 1}')
                   | st.sampled_from([b"\xff\xfe", b"\xc3\x28", b'{"type": "\xed\xa0\x80"}'])
                   | st.integers(0, 5000).map(lambda c: struct.pack("!H", c)))
    return frame(opcode, payload, fin=draw(st.booleans() | st.just(True)),
                 mask=draw(st.booleans() | st.just(True)),
                 rsv=draw(st.sampled_from([0, 0, 0, 1, 4, 7])))


def test_frames_that_break_the_websocket_rules(world: World) -> None:
    follow_up = frame(TEXT, b'{"type": "ping", "client_time": 42}')

    @given(raw=raw_frames())
    @fuzz_settings(EXAMPLES * 10)
    def example(raw: bytes) -> None:
        client = RawClient(world.server.base)
        try:
            opcode, data = client.read_frame()
            assert opcode == TEXT and orjson.loads(data)["type"] == "welcome"
            client.sock.sendall(raw + follow_up)
            while True:  # the follow-up is answered, or the connection is closed cleanly
                try:
                    opcode, data = client.read_frame()
                except (EOFError, ConnectionError):
                    raise AssertionError("dropped without a close frame") from None
                if opcode == CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    # (a client's own close is answered with its code, as RFC 6455
                    # 5.5.1 suggests: any code a client may send, 3000-4999 included)
                    assert code in CLEAN_CLOSES | {1005} or 3000 <= code <= 4999, code
                    return
                if opcode == TEXT:
                    msg = orjson.loads(data)
                    assert msg.get("code") != "internal_error", msg
                    if msg.get("type") == "pong" and msg["client_time"] == 42:
                        return
                    assert msg["type"] in ("error", "pong"), msg
        finally:
            client.close()

    example()
    ping(world)
    assert world.server.alive() and not world.server.errors
