"""The WebSocket protocol (docs/protocol.md) as a sans-I/O object: one
:class:`ServerProtocol` per connection, fed the client's frames and the time, returning
what to do — messages to send, lots to start or stop watching, commands to execute,
counters to count. It does no I/O and never awaits; :mod:`web.ws` is the asyncio driver
that carries the effects out and feeds their outcomes back (:meth:`ServerProtocol.watched`,
:meth:`ServerProtocol.executed`).

What it decides: which client message is which (:mod:`web.schemas`), every error and
rejection, who may bid and act, the per-address message limit and the per-bidder bid
limit, the subscription limit, the replies (``welcome``, ``subscribed``, ``unsubscribed``,
``ack``, ``rejected``, ``error``, ``pong``). What it reads: the lots' current state and
the staff directory, both synchronous look-ups of memory.

Bad input never changes anything: a frame that is not a valid message is answered with
``error`` (or ``rejected`` ``invalid_amount``) and no other effect.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from auction.errors import InvalidAmount
from auction.model import Act as ActCommand
from auction.model import BidAccepted, EnrollKey, Rejection
from auction.model import PlaceBid as PlaceBidCommand
from auction.money import format_amount, parse_amount
from auction.record import Recorded
from auction.state import LotState
from auction.views import BIDDER, PUBLIC, STAFF
from engine.api import EngineError, Quarantined, UnknownLot
from engine.signatures import ReceiptKey
from web.auth import (
    BidderClaims,
    Staff,
    TokenError,
    check_generation,
    looks_like_bidder_token,
    verify_bidder_token,
)
from web.errors import describe, lot_missing
from web.logs import LOT_ID, REF
from web.schemas import (
    Ack,
    Act,
    Enrol,
    ErrorMessage,
    Invalid,
    Ping,
    PlaceBid,
    Pong,
    Rejected,
    ServerMessage,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Welcome,
    decode_message,
    ref_in,
    with_amount,
)

#: The protocol logs as the WebSocket endpoint it serves.
log = logging.getLogger("web.ws")

PROTOCOL = 1
#: Largest frame the protocol handles; larger ones get ``error`` ``too_large``.
MAX_FRAME = 16 * 1024
BAD = "bad_message"
#: Marks a message whose amount was good (see :meth:`ServerProtocol.receive`).
_GOOD = object()


# ---------------------------------------------------------------------- what it reads


class Lots(Protocol):
    """The lots' current state (the engine)."""

    def lot(self, lot_id: str) -> LotState | None: ...

    def quarantined(self) -> dict[str, str]: ...


class StaffDirectory(Protocol):
    def lookup(self, token: str) -> Staff | None: ...


class Limiter(Protocol):
    def take(self, key: Hashable) -> bool: ...


@dataclass(frozen=True)
class Rules:
    """The settings the protocol applies."""

    secret: bytes
    max_subscriptions: int
    address_rate: float
    bid_rate: float
    #: Signs every ``ack`` (a receipt: the protocol answers with :class:`SendAck`); None:
    #: acks carry none.
    receipts: ReceiptKey | None = None


# ---------------------------------------------------------------------- what it returns


@dataclass(frozen=True)
class Send:
    """Send ``message`` to the client."""

    message: ServerMessage


@dataclass(frozen=True)
class SendAck:
    """Send ``ack`` with a receipt: the driver signs the acks it sends in one flush
    together (:meth:`engine.signatures.ReceiptKey.sign_all`: one signature for all of
    them) and sets each one's ``receipt`` and ``receipt_path`` before sending it."""

    ack: Ack


@dataclass(frozen=True)
class Watch:
    """Start delivering the lot to the client (:meth:`web.hub.Hub.watch`), ``greeting``
    first; then call :meth:`ServerProtocol.watched`."""

    lot_id: str
    audience: str
    bidder_id: str | None
    after_seq: int | None
    greeting: Subscribed
    token_gen: int | None
    #: Whether each ``update`` carries the chain head (``subscribe`` ``heads``).
    heads: bool = False


@dataclass(frozen=True)
class Unwatch:
    """Stop delivering the lot to the client (and log that it left)."""

    lot_id: str


@dataclass(frozen=True)
class Joined:
    """A bidder or staff member joined the lot: log it for the supervisors."""

    lot_id: str
    role: str
    device: str
    bidder_id: str | None
    bidder_no: str | None
    staff_id: str | None


@dataclass(frozen=True)
class Execute:
    """Execute ``command`` on the lot; then call :meth:`ServerProtocol.executed`."""

    lot_id: str
    command: PlaceBidCommand | ActCommand | EnrollKey
    kind: str
    decimals: int
    minor: int | None
    #: The client's ref of the message (echoed in the answer).
    ref: str = ""


@dataclass(frozen=True)
class Count:
    """Count one in the metric ``name`` with ``labels``."""

    name: str
    labels: tuple[str, ...]


Effect = Send | SendAck | Watch | Unwatch | Joined | Execute | Count


@dataclass(slots=True)
class _Subscription:
    role: str
    claims: BidderClaims | None
    device: str
    staff_id: str | None


class ServerProtocol:
    """One client connection's protocol state: its subscriptions and their roles."""

    __slots__ = ("lots", "staff", "rules", "messages", "bids", "ip", "default_device",
                 "subs", "_pending", "context")

    def __init__(self, *, lots: Lots, staff: StaffDirectory, rules: Rules,
                 messages: Limiter, bids: Limiter, ip: str, default_device: str) -> None:
        self.lots, self.staff, self.rules = lots, staff, rules
        self.messages, self.bids = messages, bids
        self.ip, self.default_device = ip, default_device
        self.subs: dict[str, _Subscription] = {}
        #: Subscriptions whose :class:`Watch` is being carried out.
        self._pending: dict[str, _Subscription] = {}
        #: The lot and ref of the message last received (for the driver's log lines).
        self.context: tuple[str | None, str | None] = (None, None)

    # ------------------------------------------------------------------ entry points

    def welcome(self, now: int) -> list[Effect]:
        """The connection's first message."""
        return [Send(Welcome(server_time=now, protocol=PROTOCOL, max_frame=MAX_FRAME))]

    def receive(self, data: bytes, now: int, *, binary: bool = False) -> list[Effect]:
        """What to do about one frame from the client."""
        self.context = (None, None)
        if not self.messages.take(self.ip):
            return [Count("rate_limited", ("messages",)),
                    *self._error("rate_limited", f"at most {self.rules.address_rate:g} "
                                 "messages per second from one address",
                                 ref_in(data) if len(data) <= MAX_FRAME else None)]
        if len(data) > MAX_FRAME:
            return self._error("too_large", f"frames are limited to {MAX_FRAME} bytes")
        if binary:
            return self._error(BAD, "binary frames are not accepted: send JSON text frames")
        bad_amount: Any = _GOOD
        try:
            msg = decode_message(data)
        except Invalid as exc:
            if exc.code != "invalid_amount":
                return self._error(exc.code, exc.detail, ref_in(data))
            # A bid or an action whose amount is bad: answered with ``rejected``
            # ``invalid_amount`` once the rest of it holds and the bidder may bid.
            try:
                msg, bad_amount = with_amount(data)
            except Invalid as again:
                return self._error(again.code, again.detail, ref_in(data))
        self.context = (msg.lot_id if not isinstance(msg, Ping) else None, msg.ref)
        lot_token, ref_token = LOT_ID.set(self.context[0]), REF.set(msg.ref)
        try:
            if isinstance(msg, Subscribe):
                return self._subscribe(msg, now)
            if isinstance(msg, Unsubscribe):
                return self._unsubscribe(msg)
            if isinstance(msg, Ping):
                return [Send(Pong(client_time=msg.client_time, server_time=now,
                                  offset_ms=now - msg.client_time, ref=msg.ref))]
            if isinstance(msg, Enrol):
                return self._enrol(msg, now)
            act = msg.act if isinstance(msg, Act) else None
            signed = (None if msg.sig is None else
                      {"seen": msg.sig.seen, "nonce": msg.sig.nonce, "sig": msg.sig.sig})
            extra = ({"commitment": msg.commitment or "", "salt": msg.salt or ""}
                     if isinstance(msg, Act) else {})
            return self._bidder_command(msg.lot_id, msg.ref, act,
                                        msg.amount if bad_amount is _GOOD else bad_amount,
                                        now, signed, confirmed=isinstance(msg, PlaceBid)
                                        and msg.confirmed,
                                        units=msg.units if isinstance(msg, PlaceBid) else 1,
                                        **extra)
        except Invalid as exc:
            return self._error(exc.code, exc.detail, msg.ref)
        except Exception as exc:  # noqa: BLE001 - every failure is answered
            return self.failed(exc, msg.ref)
        finally:
            REF.reset(ref_token)
            LOT_ID.reset(lot_token)

    def watched(self, watch: Watch, error: BaseException | None = None) -> list[Effect]:
        """The outcome of a :class:`Watch`: delivering (``error`` None) or not."""
        sub = self._pending.pop(watch.lot_id)
        if error is not None:
            if isinstance(error, UnknownLot):
                return self._error("unknown_lot", f"no lot {watch.lot_id!r}",
                                   watch.greeting.ref)
            return self.failed(error, watch.greeting.ref)
        self.subs[watch.lot_id] = sub
        if sub.role == PUBLIC:
            return []
        # joins of bidders and staff are logged for the supervisors
        claims = sub.claims
        log.info("subscribed as %s%s", sub.role,
                 f" (bidder number {claims.bidder_no})" if claims else "")
        return [Joined(watch.lot_id, sub.role, sub.device,
                       claims.bidder_id if claims else None,
                       claims.bidder_no if claims else None, sub.staff_id)]

    def executed(self, execute: Execute,
                 result: list[Recorded] | Rejection | BaseException) -> list[Effect]:
        """The outcome of an :class:`Execute`: the engine's records, its rejection, or the
        exception it raised."""
        command, kind = execute.command, execute.kind
        if isinstance(result, UnknownLot):
            return self._error("unknown_lot", f"no lot {execute.lot_id!r}", execute.ref)
        if isinstance(result, EngineError):
            return self._rejected(kind, execute.lot_id, execute.ref, "unavailable", str(result))
        if isinstance(result, BaseException):
            return self.failed(result, execute.ref)
        if isinstance(result, Rejection):
            return self._rejected(kind, execute.lot_id, execute.ref, result.code,
                                  result.detail)
        act = (command.act if isinstance(command, ActCommand)
               else "enrol" if isinstance(command, EnrollKey) else None)
        # The bidder's own event (a clock may record its advance before it).
        own = next((rec for rec in result
                    if getattr(rec.event, "bidder_id", None) == command.bidder_id), result[0])
        ack = Ack(lot_id=execute.lot_id, ref=execute.ref, seq=own.seq, at=own.event.at,
                  act=act, hash=own.hash)
        log.debug("%s accepted: seq %d", kind, own.seq)
        accepted = next((rec.event for rec in result if isinstance(rec.event, BidAccepted)
                         and rec.event.bidder_id == command.bidder_id), None)
        if accepted is not None and act is None:
            ack.amount = format_amount(accepted.amount, execute.decimals)
        elif execute.minor is not None:
            ack.amount = format_amount(execute.minor, execute.decimals)
        return [Count("bids", (kind, "accepted")),
                Send(ack) if self.rules.receipts is None else SendAck(ack)]

    def failed(self, exc: BaseException, ref: str | None) -> list[Effect]:
        """The answer to a message whose handling raised ``exc``."""
        if isinstance(exc, Quarantined):
            return self._error("quarantined", exc.reason, ref)
        if isinstance(exc, EngineError):
            return self._error("unavailable", str(exc), ref)
        log.error("WebSocket message failed", exc_info=exc)
        return self._error("internal_error", "", ref)

    def close(self) -> list[Effect]:
        """The connection ended: stop watching everything."""
        effects: list[Effect] = [Unwatch(lot_id) for lot_id in self.subs]
        self.subs.clear()
        return effects

    # ------------------------------------------------------------------ replies

    def _error(self, code: str, detail: str, ref: str | None = None) -> list[Effect]:
        return [Count("ws_errors", (code,)),
                Send(ErrorMessage(code=code, message=describe(code), detail=detail, ref=ref))]

    def _rejected(self, kind: str, lot_id: str, ref: str, code: str,
                  detail: str = "") -> list[Effect]:
        """Answer a bid (``kind`` ``bid``) or an action (``act``) with a rejection."""
        log.debug("%s rejected: %s", kind, code)
        return [Count("bids", (kind, code)),
                Send(Rejected(lot_id=lot_id, ref=ref, code=code, message=describe(code),
                              detail=detail))]

    # ------------------------------------------------------------------ messages

    def _lot(self, lot_id: str) -> LotState:
        state = self.lots.lot(lot_id)
        if state is None:
            missing = lot_missing(self.lots.quarantined(), lot_id)
            raise Invalid(missing.code, missing.detail)
        return state

    def _subscribe(self, msg: Subscribe, now: int) -> list[Effect]:
        lot_id, after_seq, token = msg.lot_id, msg.after_seq, msg.token
        state = self._lot(lot_id)
        if after_seq is not None and after_seq > state.version:
            raise Invalid("bad_seq", f"after_seq {after_seq} is beyond the lot's last event "
                                     f"{state.version}")
        role, audience, claims, staff = self._authenticate(lot_id, token, state, now)
        if lot_id not in self.subs and len(self.subs) >= self.rules.max_subscriptions:
            raise Invalid("too_many_subscriptions",
                          f"at most {self.rules.max_subscriptions} lots per connection")
        effects: list[Effect] = []
        if self.subs.pop(lot_id, None) is not None:
            effects.append(Unwatch(lot_id))
        self._pending[lot_id] = _Subscription(role, claims, msg.device or self.default_device,
                                              staff.staff_id if staff else None)
        greeting = Subscribed(lot_id=lot_id, role=cast(Any, role),
                              bidder_no=claims.bidder_no if claims else None, ref=msg.ref)
        effects.append(Watch(lot_id, audience, claims.bidder_id if claims else None,
                             after_seq, greeting, claims.gen if claims else None,
                             bool(msg.heads)))
        return effects

    def _authenticate(self, lot_id: str, token: str | None, state: LotState, now: int
                      ) -> tuple[str, str, BidderClaims | None, Staff | None]:
        """``(role, audience, claims, staff)`` of ``token`` for ``lot_id``."""
        if token is None:
            return PUBLIC, PUBLIC, None, None
        staff = self.staff.lookup(token)
        if staff is not None:
            return staff.role, STAFF, None, staff
        if not looks_like_bidder_token(token):
            raise Invalid("bad_token", "the token is neither a staff nor a bidder token")
        try:
            claims = verify_bidder_token(self.rules.secret, token, now, lot_id)
            bidder = state.bidders.get(claims.bidder_id)
            if bidder is None or bidder.bidder_no != claims.bidder_no:
                raise TokenError("the bidder is not registered in this lot")
            check_generation(claims, bidder.token_gen)
        except TokenError as exc:
            raise Invalid("bad_token", str(exc)) from None
        return BIDDER, BIDDER, claims, None

    def _unsubscribe(self, msg: Unsubscribe) -> list[Effect]:
        lot_id = msg.lot_id
        if self.subs.pop(lot_id, None) is None:
            raise Invalid("not_subscribed", f"not subscribed to {lot_id!r}")
        return [Unwatch(lot_id), Send(Unsubscribed(lot_id=lot_id, ref=msg.ref))]

    def _enrol(self, msg: Enrol, now: int) -> list[Effect]:
        """Enrol the subscribed bidder's public key (decided by the rules)."""
        claims = self._bidder_of(msg.lot_id, msg.ref, "enrol", now)
        if not isinstance(claims, BidderClaims):
            return claims
        if not self.bids.take((msg.lot_id, claims.bidder_id)):  # each one is an event
            return [Count("rate_limited", ("bids",)),
                    *self._rejected("enrol", msg.lot_id, msg.ref, "rate_limited",
                                    f"at most {self.rules.bid_rate:g} bids and enrolments "
                                    "per second per bidder")]
        command = EnrollKey(bidder_id=claims.bidder_id, alg=msg.alg, key=msg.key,
                            certificate=msg.certificate or "", token_gen=claims.gen)
        state = self._lot(msg.lot_id)
        return [Execute(msg.lot_id, command, "enrol", state.params.decimals, None, msg.ref)]

    def _bidder_of(self, lot_id: str, ref: str, kind: str, now: int
                   ) -> BidderClaims | list[Effect]:
        """The claims of the bidder subscribed to ``lot_id``, or the rejection of its
        ``kind`` of message."""
        self._lot(lot_id)
        sub = self.subs.get(lot_id)
        if sub is None or sub.claims is None:
            detail = (f"only a bidder subscribed to this lot with its bidder token may {kind}"
                      if sub is None or sub.role == PUBLIC else f"a {sub.role} may not {kind}")
            return self._rejected(kind, lot_id, ref, "forbidden", detail)
        if sub.claims.exp <= now:
            return self._rejected(kind, lot_id, ref, "bad_token",
                                  "the bidder token has expired: subscribe with a new one")
        return sub.claims

    def _bidder_command(self, lot_id: str, ref: str, act: str | None, amount: Any,
                        now: int, signed: dict[str, Any] | None = None, *,
                        confirmed: bool = False, commitment: str = "",
                        salt: str = "", units: int = 1) -> list[Effect]:
        """Decide a bid (``act`` None) or an action of the subscribed bidder. A bid's
        amount (and an action's, when not null) must be a decimal string, else
        ``invalid_amount``."""
        kind = "bid" if act is None else "act"
        state = self._lot(lot_id)
        claims = self._bidder_of(lot_id, ref, kind, now)
        if not isinstance(claims, BidderClaims):
            return claims
        sub = self.subs[lot_id]
        if not self.bids.take((lot_id, claims.bidder_id)):
            return [Count("rate_limited", ("bids",)),
                    *self._rejected(kind, lot_id, ref, "rate_limited",
                                    f"at most {self.rules.bid_rate:g} bids per second "
                                    "per bidder")]
        decimals = state.params.decimals
        minor: int | None = None
        if amount is not None or act is None:
            try:
                minor = parse_amount(amount, decimals)
            except InvalidAmount as exc:
                return self._rejected(kind, lot_id, ref, "invalid_amount", exc.message)
        command: PlaceBidCommand | ActCommand
        if act is None:
            assert minor is not None
            command = PlaceBidCommand(bidder_id=claims.bidder_id, amount=minor, ip=self.ip,
                                      device=sub.device, ref=ref, token_gen=claims.gen,
                                      signed=signed, confirmed=confirmed, units=units)
        else:
            command = ActCommand(bidder_id=claims.bidder_id, act=act, amount=minor,
                                 commitment=commitment, salt=salt, ip=self.ip,
                                 device=sub.device, ref=ref, token_gen=claims.gen,
                                 signed=signed)
        return [Execute(lot_id, command, kind, decimals, minor, ref)]
