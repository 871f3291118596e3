"""A reserve entered late, witnessed, and sealed until the close (issue 19; docs/protocol.md).

A forward ``english`` lot with ``reserve_entry: {"before_close_s": N}`` has no reserve in
its parameters: a host enters one after the lot was created (:class:`EnterReserve`), a
supervisor (another person) approves it (:class:`ApproveReserve`); a reverse lot gets an
internal ceiling the same way (the lot fails when the best price is above it).

- The record holds the entry as a commitment, ``sha256("<amount in minor units>:<salt>")``
  (lowercase hex; the salt is 32 to 128 random lowercase hex digits the server draws),
  published to everyone at once; the amount and salt are in the entry's event too, but
  no view, export or record read shows them, to staff either, before the lot has ended
  (:func:`sealed`, :func:`redact`).
- A pending entry (entered, not approved) may be replaced by a new entry; an approved one
  never changes. The approval names the commitment it approves and is refused to the
  person who entered it (``same_person``).
- Entry and approval end ``N`` seconds before the closing time planned when the lot
  opened (soft-close and staff extensions do not move it; a suspension moves it on by
  its length, as it does the close): a pending entry then lapses
  (:class:`ReserveLapsed`, actor ``system``), the lot has no reserve.
- A lot that opens with nothing entered announces that it has no reserve
  (:class:`NoReserveAnnounced`, in the opening's decision); nothing can be entered after:
  bidders are never told "no reserve" and then find one.
- At the close the approved entry is revealed (:class:`ReserveRevealed`: amount and
  salt, after ``LotClosed`` and before the outcome) and decides the outcome like a
  reserve (forward) or a ceiling (reverse). ``auction verify`` decides every step again:
  an entry whose amount and salt do not give its commitment, or a reveal of anything but
  the approved entry, fails it.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auction.draw import RANDOM_HEX
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    ApproveReserve,
    Decision,
    EnterReserve,
    Event,
    LotOpened,
    LotResumed,
    Rejection,
    recorded_if_set,
    register_event,
)
from auction.money import AMOUNT_RANGE, format_amount, within
from auction.state import ENDED, OPEN, LotState

MESSAGES.update({
    "reserve_entry_off": ("本标的不设录入保留价", "This lot takes no reserve entry"),
    "reserve_entry_closed": ("保留价录入已截止", "The time to enter or approve a reserve "
                                               "has passed"),
    "reserve_fixed": ("保留价已录入并经确认，不能更改",
                      "The reserve was entered and approved: it cannot change"),
    "no_pending_reserve": ("没有待确认的保留价", "No reserve entry awaits approval"),
    "commitment_mismatch": ("确认的承诺值与待确认的保留价不符",
                            "The commitment approved is not that of the pending entry"),
    "same_person": ("录入人与确认人不能是同一人",
                    "The person who entered the reserve cannot approve it"),
})

#: States of a lot's reserve entry, as views show them (``reserve_entry.status``).
WAITING, ENTERED, APPROVED, LAPSED, NONE, REVEALED = (
    "waiting", "entered", "approved", "lapsed", "none", "revealed")


# --------------------------------------------------------------------------- commands


#: The commands of a reserve entered late (defined in :mod:`auction.model`, beside the
#: others: every command is forwarded between processes by its type's name).
COMMANDS = (EnterReserve, ApproveReserve)


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveEntered(Event):
    """A host entered the reserve: ``commitment`` is public at once; ``amount`` and
    ``salt`` are sealed (:func:`redact`) until the lot has ended."""

    commitment: str
    amount: int
    salt: str
    reason: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveApproved(Event):
    """A supervisor approved the entry ``commitment``: it is the lot's reserve."""

    commitment: str
    reason: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveLapsed(Event):
    """The entry ``commitment`` was not approved by the deadline: the lot has no reserve."""

    commitment: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class NoReserveAnnounced(Event):
    """The lot opened with nothing entered: it has no reserve, and none can be entered."""


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveRevealed(Event):
    """At the close: the approved entry's ``amount`` and ``salt`` (their hash is
    ``commitment``), which the outcome that follows used."""

    commitment: str
    amount: int
    salt: str


EVENTS = (ReserveEntered, ReserveApproved, ReserveLapsed, NoReserveAnnounced, ReserveRevealed)


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class Witnessed:
    """A lot's reserve entry (``LotState.witnessed``)."""

    status: str = WAITING
    commitment: str | None = None
    amount: int | None = None
    salt: str | None = None
    entered_by: str | None = None
    approved_by: str | None = None
    #: When entry and approval end (ms), fixed when the lot opens.
    deadline: int | None = None


def commitment(amount: int, salt: str) -> str:
    """The published hash of an entry: ``sha256("<amount in minor units>:<salt>")``."""
    return hashlib.sha256(f"{amount}:{salt}".encode()).hexdigest()


def of(state: LotState) -> Witnessed | None:
    """The lot's reserve entry, None for a lot without ``reserve_entry``."""
    entry: Witnessed | None = state.witnessed
    return entry


def sealed(state: LotState) -> bool:
    """Whether the lot's record holds an entered amount nobody may see yet: an entry was
    made and the lot has not ended."""
    entry = of(state)
    return entry is not None and entry.amount is not None and state.status not in ENDED


def _passed(state: LotState, entry: Witnessed, now: int) -> bool:
    """Whether the deadline has come at ``now`` (while the lot is suspended its time
    stands still: the deadline moves on by the pause when it resumes)."""
    moment = now if state.paused_at is None else state.paused_at
    return entry.deadline is not None and moment >= entry.deadline


# --------------------------------------------------------------------------- decide


def decide(state: LotState, cmd: EnterReserve | ApproveReserve, now: int,
           over: bool) -> Decision:
    """Judge an entry or an approval (the actor and reason were checked as text)."""
    entry = of(state)
    if entry is None:
        return Rejection("reserve_entry_off")
    if over:
        return Rejection("invalid_state", "the lot has ended")
    if entry.status == APPROVED:
        return Rejection("reserve_fixed")
    if entry.status in (LAPSED, NONE) or _passed(state, entry, now):
        return Rejection("reserve_entry_closed")
    if isinstance(cmd, EnterReserve):
        if (isinstance(cmd.amount, bool) or not isinstance(cmd.amount, int)
                or not within(cmd.amount, state.params.decimals)):
            return Rejection("invalid_amount", AMOUNT_RANGE)
        if not isinstance(cmd.salt, str) or not RANDOM_HEX.fullmatch(cmd.salt):
            return Rejection("invalid_params", "the salt is 32 to 128 lowercase hex digits")
        return [ReserveEntered(at=now, actor=cmd.actor, amount=cmd.amount, salt=cmd.salt,
                               commitment=commitment(cmd.amount, cmd.salt),
                               reason=cmd.reason)]
    if entry.status != ENTERED:
        return Rejection("no_pending_reserve")
    if cmd.commitment != entry.commitment:
        return Rejection("commitment_mismatch")
    if cmd.actor == entry.entered_by:
        return Rejection("same_person")
    return [ReserveApproved(at=now, actor=cmd.actor, commitment=cmd.commitment,
                            reason=cmd.reason)]


def on_open(state: LotState, decision: Decision) -> Decision:
    """The opening's decision, with :class:`NoReserveAnnounced` after its ``LotOpened``
    when nothing was entered, or :class:`ReserveLapsed` when an entry is pending and the
    lot opens at or past its deadline (later than planned)."""
    entry = of(state)
    if isinstance(decision, Rejection) or entry is None or entry.status not in (WAITING,
                                                                                ENTERED):
        return decision
    # An english lot's opening is its LotOpened (reserve_entry is english's only).
    opened = next(e for e in decision if isinstance(e, LotOpened))
    if entry.status == WAITING:
        return [*decision, NoReserveAnnounced(at=opened.at, actor=SYSTEM)]
    if opened.at >= opened.closes_at - (state.params.reserve_entry_s or 0) * 1000:
        return [*decision, *lapse(state, opened.at)]
    return decision


def deadline(state: LotState) -> int | None:
    """When a pending entry lapses (an open lot), or None."""
    entry = of(state)
    if entry is None or entry.status != ENTERED or state.status != OPEN:
        return None
    return entry.deadline


def lapse(state: LotState, now: int) -> list[Event]:
    """:class:`ReserveLapsed` when a pending entry's deadline has come (or the close)."""
    entry = of(state)
    if entry is None or entry.status != ENTERED or entry.commitment is None:
        return []
    return [ReserveLapsed(at=now, actor=SYSTEM, commitment=entry.commitment)]


def at_close(state: LotState, now: int) -> tuple[list[Event], int | None]:
    """The events a close records before its outcome (the reveal of the approved entry,
    or the lapse of a pending one), and the reserve the outcome uses."""
    entry = of(state)
    if entry is None or entry.status != APPROVED:
        return lapse(state, now), state.params.reserve
    assert entry.commitment is not None and entry.amount is not None and entry.salt is not None
    return [ReserveRevealed(at=now, actor=SYSTEM, commitment=entry.commitment,
                            amount=entry.amount, salt=entry.salt)], entry.amount


def fails(state: LotState, price: int, reserve_in_force: int | None) -> str | None:
    """Why ``price`` (the best, or the start price a single bidder wins at) cannot win
    against ``reserve_in_force``: ``reserve_not_met`` (forward, below it),
    ``ceiling_exceeded`` (reverse, above an internal ceiling), None when it can."""
    if reserve_in_force is None:
        return None
    if state.params.direction == "forward":
        return "reserve_not_met" if price < reserve_in_force else None
    return "ceiling_exceeded" if price > reserve_in_force else None


# --------------------------------------------------------------------------- evolve


def created(state: LotState) -> None:
    """A new lot with ``reserve_entry`` gets its (empty) entry."""
    if state.params.reserve_entry_s is not None:
        state.witnessed = Witnessed()


def opened(state: LotState, event: LotOpened) -> None:
    """The deadline is fixed by the closing time planned at the opening."""
    entry = of(state)
    if entry is not None:
        entry.deadline = event.closes_at - (state.params.reserve_entry_s or 0) * 1000


def resumed(state: LotState, event: LotResumed) -> None:
    """The deadline moves on by the pause, like the close."""
    entry = of(state)
    if entry is not None and entry.deadline is not None:
        entry.deadline += event.paused_ms


def entered(state: LotState, event: ReserveEntered) -> None:
    entry = of(state)
    assert entry is not None
    entry.status, entry.commitment = ENTERED, event.commitment
    entry.amount, entry.salt, entry.entered_by = event.amount, event.salt, event.actor


def approved(state: LotState, event: ReserveApproved) -> None:
    entry = of(state)
    assert entry is not None
    entry.status, entry.approved_by = APPROVED, event.actor


def lapsed(state: LotState, event: ReserveLapsed) -> None:
    entry = of(state)
    assert entry is not None
    entry.status = LAPSED  # its amount stays sealed in the record until the lot ends


def announced(state: LotState, event: NoReserveAnnounced) -> None:
    entry = of(state)
    assert entry is not None
    entry.status = NONE


def revealed(state: LotState, event: ReserveRevealed) -> None:
    entry = of(state)
    assert entry is not None
    entry.status = REVEALED


APPLY: dict[type[Event], Callable[[LotState, Any], None]] = {
    ReserveEntered: entered, ReserveApproved: approved, ReserveLapsed: lapsed,
    NoReserveAnnounced: announced, ReserveRevealed: revealed}


# --------------------------------------------------------------------------- views


def view(state: LotState, staff: bool) -> dict[str, Any] | None:
    """The entry as a snapshot shows it (``reserve_entry``): its status, deadline and
    commitment; who entered and approved it (staff); the amount once revealed."""
    entry = of(state)
    if entry is None:
        return None
    out: dict[str, Any] = {"status": entry.status, "deadline": entry.deadline,
                           "before_close_s": state.params.reserve_entry_s,
                           "commitment": entry.commitment}
    if staff:
        out.update(entered_by=entry.entered_by, approved_by=entry.approved_by)
    if entry.status == REVEALED and entry.amount is not None:
        out["amount"] = format_amount(entry.amount, state.params.decimals)
    return out


def redact(state: LotState, seq: int, event: Event, staff: bool) -> dict[str, Any]:
    """One of the entry's events as an audience sees it: the amount, salt and reason of
    :class:`ReserveEntered` (a reason could repeat the amount) only for staff once the lot
    has ended; the reveal for all."""
    out: dict[str, Any] = {"seq": seq, "type": type(event).__name__, "at": event.at,
                           "actor": event.actor}
    if isinstance(event, ReserveApproved):
        out["reason"] = event.reason
    if isinstance(event, ReserveEntered | ReserveApproved | ReserveLapsed):
        out["commitment"] = event.commitment
    if isinstance(event, ReserveEntered) and staff and state.status in ENDED:
        out.update(amount=format_amount(event.amount, state.params.decimals),
                   salt=event.salt, reason=event.reason)
    if isinstance(event, ReserveRevealed):
        out.update(commitment=event.commitment,
                   amount=format_amount(event.amount, state.params.decimals), salt=event.salt)
    return out
