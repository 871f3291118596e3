"""The client side of the WebSocket protocol (docs/protocol.md) as a sans-I/O object, the
one core of every Python client (the demo bots, the load-test users and drivers, the test
clients): :class:`LotSession` keeps what a browser room keeps for one lot and makes the
messages to send; the drivers (asyncio: :class:`LotClient` below, gevent in
:mod:`loadtests.locust_support`, a bare socket in :mod:`loadtests.drivers`) move the
bytes.

It keeps the last sequence number seen (checking that the order is gap-free and that
nothing comes twice), the latest state (the snapshot of a catch-up ``update`` with the
deltas of the live ones applied, :func:`fold`), the bidder number and the acknowledged
bids; a subscribe made after a dropped connection resumes after the last sequence number
seen, and every request carries a fresh ``ref`` whose reply :meth:`LotSession.receive`
hands back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from auction.commit_reveal import seal_commitment
from auction.deltas import DeltaError, apply
from auction.money import CURRENCY_DECIMALS, parse_amount
from auction.signing import ACT_FIELDS
from engine.signatures import Signer

#: The types of the messages that answer a request by its ``ref``.
REPLIES = frozenset({"subscribed", "unsubscribed", "ack", "rejected", "error", "pong"})


class ProtocolViolation(AssertionError):
    """The server broke a promise of the protocol (a gap, a duplicate, a delta that does
    not fit)."""


def fold(state: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """The lot's snapshot after ``update``: its ``state`` (a catch-up), or ``state`` (the
    snapshot as of the event before the update's first) with its ``delta`` and ``gone``
    applied. ``state`` is not changed.

    Raises :class:`ProtocolViolation` if a delta does not fit ``state``."""
    if "state" in update:
        whole: dict[str, Any] = update["state"]
        return whole
    events = update["events"]
    if state is None or not events or state.get("seq") != events[0]["seq"] - 1:
        raise ProtocolViolation(f"a delta from seq {events[0]['seq'] - 1 if events else '?'} "
                                f"for a state at {None if state is None else state.get('seq')}")
    try:
        return apply(state, update["delta"], update.get("gone", ()))
    except DeltaError as exc:
        raise ProtocolViolation(str(exc)) from None


class LotSession:
    """One client's view of one lot: fed the server's messages (decoded), it makes the
    client's. ``resume`` False: a subscribe asks for the current state only (no
    history), and the first ``update`` sets the sequence number."""

    _refs = itertools.count(1)

    def __init__(self, lot_id: str, token: str | None = None, *, device: str | None = None,
                 resume: bool = True, keep_events: bool = True,
                 signer: Signer | None = None, heads: bool = False) -> None:
        self.lot_id, self.token, self.device = lot_id, token, device
        #: Signs every bid and action when given (docs/protocol.md, Signed actions).
        self.signer = signer
        self.resume, self.keep_events = resume, keep_events
        #: Whether to ask for the chain head with every update (a witness does).
        self.want_heads = heads
        #: The sequence number of the last event seen (0: none yet).
        self.last_seq = 0
        self.synced = resume
        self.state: dict[str, Any] = {}
        self.role: str | None = None
        self.bidder_no: str | None = None
        #: Scale-out backend: the WebSocket address of the process owning the lot, when
        #: the server subscribed to is not it (a client that can reach it may connect
        #: there instead; its commands are forwarded either way).
        self.owner: str | None = None
        self.acked: list[dict[str, Any]] = []
        #: Every event seen, in order (when ``keep_events``).
        self.events: list[dict[str, Any]] = []
        #: The refs of the requests sent and not answered yet.
        self.pending: set[str] = set()
        #: ``(seq, hash)`` of every chain head the server's updates announced, in order
        #: (what a public witness keeps).
        self.heads: list[tuple[int, str]] = []
        #: Bidder sealing: the bid file of the last acknowledged commitment (lot, bidder
        #: number, amount, salt, commitment), and those of commitments in flight by ref.
        self.bid_file: dict[str, str] | None = None
        self._commits: dict[str, dict[str, str]] = {}
        #: The bidder's own standing from its last ``you`` frame (None before one).
        self.you: dict[str, Any] | None = None

    # ------------------------------------------------------------------ requests

    def _ref(self, prefix: str) -> str:
        ref = f"{prefix}{next(self._refs)}"
        self.pending.add(ref)
        return ref

    def subscribe(self) -> dict[str, Any]:
        """The ``subscribe`` message: resuming after the last event seen (0 at first), or
        the current state only."""
        msg: dict[str, Any] = {"type": "subscribe", "lot_id": self.lot_id,
                               "ref": self._ref("s")}
        if self.resume:
            msg["after_seq"] = self.last_seq
        else:
            self.synced = False
        if self.token is not None:
            msg["token"] = self.token
        if self.device is not None:
            msg["device"] = self.device
        if self.want_heads:
            msg["heads"] = True
        return msg

    def bid(self, amount: str, ref: str | None = None, units: int = 1) -> dict[str, Any]:
        """A ``bid`` message with a fresh ``ref`` (or ``ref``); ``units``: how many units
        of a multi-unit lot the price is for (sent and signed when not 1)."""
        if ref is not None:
            self.pending.add(ref)
        msg: dict[str, Any] = {"type": "bid", "lot_id": self.lot_id, "amount": amount,
                               "ref": ref or self._ref("b")}
        if units != 1:
            msg["units"] = units
        return self._signed(msg, "bid", amount,
                            {"units": str(units)} if units != 1 else None)

    def act(self, name: str, amount: str | None = None, **extra: str) -> dict[str, Any]:
        """An ``act`` message with a fresh ``ref`` (``extra``: ``commitment``, ``salt``)."""
        msg: dict[str, Any] = {"type": "act", "lot_id": self.lot_id, "act": name,
                               "ref": self._ref("a"), **extra}
        if amount is not None:
            msg["amount"] = amount
        return self._signed(msg, name, amount)

    def enrol(self) -> dict[str, Any]:
        """The ``enrol`` message of the signer's public key (and certificate)."""
        assert self.signer is not None, "enrolling needs a signer"
        msg: dict[str, Any] = {"type": "enrol", "lot_id": self.lot_id, "alg": self.signer.alg,
                               "key": self.signer.key, "ref": self._ref("k")}
        if self.signer.certificate:
            msg["certificate"] = self.signer.certificate
        return msg

    def _signed(self, msg: dict[str, Any], action: str, amount: str | None,
                fields: dict[str, str] | None = None) -> dict[str, Any]:
        """``msg`` with the signer's ``sig`` over it (unchanged without a signer)."""
        if self.signer is None or self.bidder_no is None:
            return msg
        minor = None
        if amount is not None:
            currency = self.state.get("params", {}).get("currency", "CNY")
            minor = parse_amount(amount, CURRENCY_DECIMALS[currency])
        # the further fields an action carries are signed too (auction.signing.ACT_FIELDS)
        fields = {name: msg[name] for name in ACT_FIELDS if msg.get(name)}
        msg["sig"] = self.signer.signed(self.lot_id, self.bidder_no, action, minor,
                                        self.last_seq, fields)
        return msg

    def commit(self, amount: str) -> dict[str, Any]:
        """The ``commit`` of a sealed price ``amount`` (a decimal string) in a
        bidder-sealed lot: a fresh random salt, the commitment sent, the amount and the
        salt kept in :attr:`bid_file` once acknowledged (the subscription must have
        given the bidder number and the lot's state its currency)."""
        if self.bidder_no is None:
            raise ValueError("commit needs a bidder subscription")
        currency = self.state.get("params", {}).get("currency", "CNY")
        minor = parse_amount(amount, CURRENCY_DECIMALS[currency])
        salt = secrets.token_hex(32)
        commitment = seal_commitment(self.lot_id, self.bidder_no, minor, salt)
        msg = self.act("commit", commitment=commitment)
        self._commits[msg["ref"]] = {"lot_id": self.lot_id, "bidder_no": self.bidder_no,
                                     "amount": amount, "salt": salt,
                                     "commitment": commitment}
        return msg

    def reveal(self, bid_file: dict[str, str] | None = None) -> dict[str, Any]:
        """The ``reveal`` of ``bid_file`` (by default the one kept by :meth:`commit`)."""
        held = bid_file or self.bid_file
        if held is None:
            raise ValueError("no bid file to reveal")
        return self.act("reveal", held["amount"], salt=held["salt"])

    def ping(self, client_time: int) -> dict[str, Any]:
        return {"type": "ping", "client_time": client_time, "ref": self._ref("p")}

    def forget(self, ref: str) -> None:
        """Stop waiting for ``ref``'s reply (it timed out, the connection was lost)."""
        self.pending.discard(ref)
        self._commits.pop(ref, None)

    # ------------------------------------------------------------------ replies

    def receive(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Take in one message from the server; return it if it is the reply to a request
        still waited for, else None.

        Raises :class:`ProtocolViolation` on an ``update`` out of order."""
        kind = msg.get("type")
        if kind == "update" and msg.get("lot_id") == self.lot_id:
            self._update(msg)
            return None
        if kind == "subscribed" and msg.get("lot_id") == self.lot_id:
            self.role, self.bidder_no = msg.get("role"), msg.get("bidder_no")
            self.owner = msg.get("owner")
        if kind == "you" and msg.get("lot_id") == self.lot_id:
            self.you = msg.get("you")
        ref = msg.get("ref")
        if kind not in REPLIES or ref not in self.pending:
            return None
        self.pending.discard(ref)
        if kind == "ack":
            self.acked.append(msg)
        held = self._commits.pop(ref, None) if isinstance(ref, str) else None
        if held is not None and kind == "ack":
            self.bid_file = held
        return msg

    def _update(self, msg: dict[str, Any]) -> None:
        if not self.synced:  # the current state, maybe with the events of a commit
            self.synced = True  # that was in flight, then live
            self.state = msg["state"]
            self.last_seq = self.state["seq"]
            return
        events = msg["events"]
        for event in events:
            if event["seq"] != self.last_seq + 1:
                raise ProtocolViolation(f"{self.lot_id}: got seq {event['seq']} after "
                                        f"{self.last_seq}")
            self.last_seq = event["seq"]
            if self.keep_events:
                self.events.append(event)
        if events and isinstance(msg.get("head"), str):
            self.heads.append((events[-1]["seq"], msg["head"]))
        self.state = fold(self.state, msg)

    # ------------------------------------------------------------------ the lot

    def leading(self) -> bool:
        return self.bidder_no is not None and self.state.get("leader_no") == self.bidder_no

    def open_for_me(self) -> bool:
        """Whether the lot is open and this bidder is not leading it."""
        return (self.state.get("status") == "open" and self.state.get("next_min") is not None
                and self.state.get("leader_no") != self.bidder_no)


class SessionView:
    """What a driver of a :class:`LotSession` (its ``session``) shows of the lot."""

    session: LotSession

    @property
    def last_seq(self) -> int:
        return self.session.last_seq

    @property
    def state(self) -> dict[str, Any]:
        return self.session.state

    @property
    def bidder_no(self) -> str | None:
        return self.session.bidder_no

    @property
    def acked(self) -> list[dict[str, Any]]:
        return self.session.acked

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.session.events

    def leading(self) -> bool:
        return self.session.leading()

    @property
    def you(self) -> dict[str, Any] | None:
        """The bidder's own standing from its last ``you`` frame (None before one)."""
        return self.session.you

    def open_for_me(self) -> bool:
        """Whether the lot is open and this bidder is not leading it."""
        return self.session.open_for_me()


# ----------------------------------------------------------------- asyncio driver


class LotClient(SessionView):
    """Watch (and, with a bidder token, bid and act on) one lot."""

    def __init__(self, ws_url: str, lot_id: str, token: str | None = None, *,
                 signer: Signer | None = None, **connect_options: Any) -> None:
        """``connect_options`` go to ``websockets.connect`` (``ssl``, ``origin``,
        ``additional_headers``, ``local_addr``...); ``signer`` signs every bid and action."""
        self.ws_url, self.lot_id, self.token = ws_url, lot_id, token
        self.connect_options = connect_options
        self.session = LotSession(lot_id, token, signer=signer)
        self.changed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        """(Re)connect and subscribe, resuming after the last sequence number seen."""
        self._ws = await websockets.connect(self.ws_url, max_size=2**22,
                                            **self.connect_options)
        await self._ws.send(orjson.dumps(self.session.subscribe()).decode())
        self._reader = asyncio.create_task(self._read(self._ws))

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                reply = self.session.receive(orjson.loads(raw))
                future = self._waiting.pop(reply["ref"], None) if reply else None
                if reply is not None and future is not None and not future.done():
                    future.set_result(reply)
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
            self._waiting.clear()
            self.changed.set()

    async def request(self, msg: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send ``msg`` (made by :attr:`session`); return the reply to its ``ref``."""
        if self._ws is None:
            raise ConnectionError("not connected")
        ref = msg["ref"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            await self._ws.send(orjson.dumps(msg).decode())
            return await asyncio.wait_for(future, timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionError("connection lost") from exc
        finally:
            self._waiting.pop(ref, None)
            self.session.forget(ref)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved here whatever happened

    async def bid(self, amount: str, timeout: float = 10.0, units: int = 1) -> dict[str, Any]:
        """Send a bid (for ``units`` units of a multi-unit lot); return the server's
        ``ack`` or ``rejected`` message."""
        return await self.request(self.session.bid(amount, units=units), timeout)

    async def act(self, name: str, amount: str | None = None,
                  timeout: float = 10.0, **extra: str) -> dict[str, Any]:
        """Send action ``name`` (``extra``: ``commitment``, ``salt``); return the server's
        ``ack`` or ``rejected`` message."""
        return await self.request(self.session.act(name, amount, **extra), timeout)

    async def enrol(self, timeout: float = 10.0) -> dict[str, Any]:
        """Enrol the signer's key; return the server's ``ack`` or ``rejected`` message."""
        return await self.request(self.session.enrol(), timeout)
    async def commit(self, amount: str, timeout: float = 10.0) -> dict[str, Any]:
        """Commit to a sealed price (bidder sealing); the reply. The amount and salt are
        kept in ``session.bid_file`` when acknowledged: keep them until the reveal."""
        return await self.request(self.session.commit(amount), timeout)

    async def reveal(self, bid_file: dict[str, str] | None = None,
                     timeout: float = 10.0) -> dict[str, Any]:
        """Reveal the committed price (the kept bid file, or ``bid_file``); the reply."""
        return await self.request(self.session.reveal(bid_file), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until ``predicate(self)`` holds."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()
