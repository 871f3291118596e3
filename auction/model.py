"""Commands (imperative) and events (past tense) of a lot: small frozen dataclasses.

Times are integer milliseconds of the server's clock (Unix epoch); amounts are integer
minor units of the lot's currency. Every event carries ``at`` (when the engine
sequenced it) and ``actor`` (a staff id, a bidder number, or ``"system"``). Every staff
command carries a ``reason`` and its event records it (RULES.md: the actor and, for staff
actions, a reason); where a reason is optional it defaults to ``""``.

A field added to an event after records were written (such as the ``reason`` of
``LotScheduled``) is declared with :func:`recorded_if_set`: its default is left out of the
event's dict, so the records written before it encode, hash and verify as they always
did, and read back with the default.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

SYSTEM = "system"
#: The metadata key of an event field left out of the record while it has its default.
IF_SET = "recorded_if_set"


def recorded_if_set(default: Any) -> Any:
    """An event field with ``default``, written into the record only when it differs
    from it (see the module's docstring). A list default is made afresh for each event."""
    if isinstance(default, list):
        return field(default_factory=list, metadata={IF_SET: True})
    return field(default=default, metadata={IF_SET: True})


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateLot:
    lot_id: str
    session_id: str
    format: str
    title: str
    params: Mapping[str, Any]
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterBidder:
    """Register ``bidder_id``; ``bidder_no`` is drawn at random by the caller."""

    bidder_id: str
    bidder_no: str
    name: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmDeposit:
    bidder_id: str
    amount: int
    account: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleLot:
    """Schedule a draft lot; with ``opens_at`` it opens by itself then. A scheduled lot
    that has not opened takes a new ``opens_at`` the same way (rescheduled, e.g. when an
    amendment of its notice moves the bidding time, the amendment as reason)."""

    actor: str
    reason: str = ""
    opens_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartLot:
    """Open a scheduled lot. ``seed_hash`` and ``seed`` are filled by the engine (see
    :class:`Tick`)."""

    actor: str
    reason: str = ""
    seed_hash: str = ""
    seed: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseLot:
    """Suspend the lot. ``notice``: the public notice of an emergency suspension, shown on
    the board and in every room (``""``: none)."""

    actor: str
    reason: str
    notice: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeLot:
    """Resume the lot: bidding continues from the last valid price, or with ``restart``
    (where the lot's ``restart_allowed`` lets the host choose it) starts again from the
    start price, every earlier bid void."""

    actor: str
    reason: str
    restart: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendLot:
    actor: str
    reason: str
    closes_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelLot:
    """Terminate the lot; ``notice``: the public notice of the termination (``""``: none)."""

    actor: str
    reason: str
    notice: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeTokens:
    """Revoke every token issued so far to ``bidder_id`` (lost or leaked). The bidder stays
    registered and eligible; staff issue it a new token."""

    bidder_id: str
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceBid:
    """A bid by registered ``bidder_id``; ``ip`` and ``device`` are recorded for supervisors.
    ``token_gen``, when given, is the generation of the token the bid came with: a token
    revoked since (see :class:`RevokeTokens`) makes the bid ``bad_token``."""

    bidder_id: str
    amount: int
    ip: str = ""
    device: str = ""
    ref: str = ""
    token_gen: int | None = None
    #: The bidder's signature (:mod:`auction.signing`): ``{"seen": n, "nonce": ..., "sig":
    #: ...}``, or None for an unsigned bid.
    signed: Mapping[str, Any] | None = None
    #: The bidder confirmed a bid far above its next acceptable price (a lot's
    #: ``confirm_above_steps``): recorded with the bid.
    confirmed: bool = False
    #: How many units the price is for, in a multi-unit lot (:mod:`auction.units`).
    units: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Fire whatever deadline of the lot is due at ``now``; harmless when none is.

    ``seed`` is the lot's secret draw seed and ``seed_hash`` its published commitment
    (:mod:`auction.draw`): the engine fills both in every ``Tick`` and ``StartLot``; a
    format that may draw lots commits to ``seed_hash`` when the lot opens and reveals
    ``seed`` at the draw. Nothing else reads them."""

    seed_hash: str = ""
    seed: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Act:
    """A bidder's action other than a price bid, named by ``act`` and judged by the lot's
    format (``confirm``, ``accept``, ``stay``, ``drop``, ``proxy``...); ``amount`` when the
    action carries one. Same recording fields as :class:`PlaceBid`.

    ``commitment`` and ``salt`` serve a bidder-sealed ``sealed`` lot
    (:mod:`auction.sealed`): ``commit`` carries the hash of a price and a secret salt,
    ``reveal`` the price and that salt."""

    bidder_id: str
    act: str
    amount: int | None = None
    commitment: str = ""
    salt: str = ""
    ip: str = ""
    device: str = ""
    ref: str = ""
    token_gen: int | None = None
    signed: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollKey:
    """A bidder enrols the public key its actions will be signed with (:mod:`auction.
    signing`): ``alg`` names the algorithm, ``key`` the public key as the algorithm
    writes it, ``certificate`` the bidder's certificate (PEM) where the algorithm takes
    one (SM2). The key is checked by the algorithm before it is recorded."""

    bidder_id: str
    alg: str
    key: str
    certificate: str = ""
    token_gen: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundDeposit:
    """Staff record that ``bidder_id``'s deposit was paid back (after the lot ended)."""

    bidder_id: str
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ForfeitDeposit:
    """Staff record that ``bidder_id``'s deposit is kept as a penalty (after the lot ended)."""

    bidder_id: str
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyDeposit:
    """Staff record that the winner's deposit was applied to its payment."""

    bidder_id: str
    actor: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Announce:
    """A host's announcement to the lot's bidders (shown in every room and on the board)."""

    actor: str
    text: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AskHost:
    """A registered bidder's ``question`` or ``objection`` to the host while the lot runs
    (open or suspended); seen by staff and by the bidder, never by other bidders."""

    bidder_id: str
    kind: str
    text: str
    ip: str = ""
    device: str = ""
    ref: str = ""
    token_gen: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerQuestion:
    """Staff answer the question or objection recorded at ``question`` (its sequence
    number); a ``public`` answer is shown to everyone (the asker is never named)."""

    actor: str
    question: int
    text: str
    public: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnterReserve:
    """A host enters the lot's reserve (internal ceiling of a reverse lot) ``amount``;
    ``salt`` is drawn by the server (:data:`auction.draw.RANDOM_HEX`). See
    :mod:`auction.witnessed`."""

    actor: str
    amount: int
    salt: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveReserve:
    """A supervisor approves the pending entry whose commitment is ``commitment``."""

    actor: str
    commitment: str
    reason: str = ""


Command = (
    CreateLot | RegisterBidder | ConfirmDeposit | ScheduleLot | StartLot | PauseLot | ResumeLot
    | ExtendLot | CancelLot | RevokeTokens | PlaceBid | Act | Tick | RefundDeposit | ForfeitDeposit
    | ApplyDeposit | EnrollKey | Announce | AskHost | AnswerQuestion | EnterReserve
    | ApproveReserve
)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: int
    actor: str
    #: On the event that records a bidder's signed action (the first of its decision):
    #: the signature and the signed fields the event does not hold itself, ``{"seen": n,
    #: "nonce": ..., "sig": ...}`` (:mod:`auction.signing`). Absent from unsigned events.
    signed: Mapping[str, Any] | None = recorded_if_set(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class LotCreated(Event):
    lot_id: str
    session_id: str
    format: str
    title: str
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class BidderRegistered(Event):
    bidder_id: str
    bidder_no: str
    name: str
    reason: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositConfirmed(Event):
    bidder_id: str
    amount: int
    account: str
    reason: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokensRevoked(Event):
    """Every token issued to ``bidder_id`` before this event is void."""

    bidder_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LotScheduled(Event):
    reason: str = recorded_if_set("")
    #: When the lot opens by itself from now on (None: unchanged).
    opens_at: int | None = recorded_if_set(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class LotOpened(Event):
    """Opened by staff (``StartLot``, with its reason) or by the clock at ``opens_at``."""

    closes_at: int
    max_closes_at: int | None
    reason: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class BidAccepted(Event):
    bidder_id: str
    bidder_no: str
    amount: int
    ip: str = ""
    device: str = ""
    ref: str = ""
    #: Sent with the bidder's explicit confirmation (recorded only when true: the bids
    #: recorded before it existed keep their bytes).
    confirmed: bool = recorded_if_set(False)
    #: How many units the price is for, in a multi-unit lot (recorded only when not 1).
    units: int = recorded_if_set(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseExtended(Event):
    """``closes_at`` moved later: by soft close (actor ``system``) or by staff."""

    closes_at: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LotPaused(Event):
    reason: str
    #: The public notice of the suspension (recorded only when given).
    notice: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class LotResumed(Event):
    reason: str
    paused_ms: int
    #: Bidding starts again from the start price: every earlier bid is void (recorded
    #: only when true).
    restart: bool = recorded_if_set(False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LotCancelled(Event):
    reason: str
    #: The public notice of the termination (recorded only when given).
    notice: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class LotClosed(Event):
    closes_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LotAwarded(Event):
    """``bidder_id`` won at ``amount``. A multi-unit lot (:mod:`auction.units`) records
    one per winner, in the order of the ranking, ``amount`` being the price of each of
    its ``units`` (recorded only when not 1)."""

    bidder_id: str
    bidder_no: str
    amount: int
    units: int = recorded_if_set(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LotFailed(Event):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositRefunded(Event):
    """The deposit (``amount``) of ``bidder_id`` was paid back."""

    bidder_id: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositForfeited(Event):
    """The deposit (``amount``) of ``bidder_id`` is kept: it will not be paid back."""

    bidder_id: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositApplied(Event):
    """The winner's deposit (``amount``) went to its payment for the lot."""

    bidder_id: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawCommitted(Event):
    """The commitment to the lot's draw seed, published when the lot opens (formats that
    may decide by lottery): ``seed_hash = sha256(seed)`` (:mod:`auction.draw`)."""

    seed_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LotDrawn(Event):
    """A verifiable draw: ``winner_no`` is ``candidates[int(sha256(seed + lot_id), 16) %
    len(candidates)]``, candidates being bidder numbers in sorted order; ``purpose`` says
    what was drawn (``cap_lottery``, ``tie``...). Anyone can recompute it."""

    purpose: str
    seed: str
    candidates: list[str]
    index: int
    winner_no: str
    #: Values no single party controls, mixed into the draw (:func:`auction.draw.draw`),
    #: in the order of ``candidates``; empty in draws of the operator's seed alone.
    contributions: list[str] = recorded_if_set([])


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEnrolled(Event):
    """``bidder_id`` (actor: its number) enrolled the public ``key`` of algorithm ``alg``
    (with its ``certificate`` where the algorithm takes one): its signed actions from now
    on are checked against it. A later one replaces it (:mod:`auction.signing` says
    when that is allowed)."""

    bidder_id: str
    alg: str
    key: str
    certificate: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class Announced(Event):
    """A host's announcement ``text`` to the lot's bidders."""

    text: str
    reason: str = recorded_if_set("")


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionAsked(Event):
    """Bidder ``bidder_id`` asked the host (``kind``: question or objection)."""

    bidder_id: str
    bidder_no: str
    kind: str
    text: str
    ip: str = ""
    device: str = ""
    ref: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionAnswered(Event):
    """Staff answered the question recorded at ``question``."""

    question: int
    text: str
    public: bool = recorded_if_set(False)
    reason: str = recorded_if_set("")


_E = TypeVar("_E", bound=type[Event])

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        LotCreated, BidderRegistered, DepositConfirmed, LotScheduled, LotOpened, BidAccepted,
        CloseExtended, LotPaused, LotResumed, LotCancelled, LotClosed, LotAwarded, LotFailed,
        TokensRevoked, DepositRefunded, DepositForfeited, DepositApplied, DrawCommitted,
        LotDrawn, KeyEnrolled, Announced, QuestionAsked, QuestionAnswered,
    )
}


def register_event(cls: _E) -> _E:
    """Class decorator: make a format's own event type known to the record (by class
    name, which must be new)."""
    if EVENT_TYPES.setdefault(cls.__name__, cls) is not cls:
        raise ValueError(f"event type {cls.__name__} is registered already")
    return cls


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused command: nothing changes. ``code`` is stable and machine-readable."""

    code: str
    detail: str = ""


Decision = list[Event] | Rejection
