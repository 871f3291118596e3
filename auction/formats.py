"""What a format is to the rest of the rules: the plug-in interface and the registry.

The lot decider (:mod:`auction.lot`) owns what every format shares — the lifecycle,
registration, deposits, staff actions, pause and resume, eligibility and the checks on
who may bid — and asks the lot's :class:`Format` for everything else: its parameters,
how it opens, how it judges a bid or another bidder action (:class:`~auction.model.Act`),
its deadlines, what a deadline does, how its own events change the state, and what each
audience may see. A format module defines a subclass and :func:`register`\\ s one
instance; :mod:`auction.lot` imports every format module.

Rules every format keeps:

- ``decide`` is pure: the same state, command and time give the same events. A command
  is judged as of ``now`` even when a deadline before ``now`` has not been ticked yet
  (the engine's timer may fire late): the outcome never depends on when a Tick runs.
- ``LotState.closes_at`` is the instant after which nothing more can be accepted unless
  something extends it (None while the format cannot know it yet); ``deadline`` is when
  the next Tick must be decided (a phase change, a clock step, the close).
- Format state lives in ``LotState.play`` (made by the format from its events) and
  format parameters in ``EnglishParams.options`` (frozen, hashable).
"""

import abc
from collections.abc import Callable
from typing import Any

from auction import witnessed
from auction.model import (
    SYSTEM,
    Act,
    Command,
    Decision,
    Event,
    LotAwarded,
    LotFailed,
    LotOpened,
    PlaceBid,
    Rejection,
    StartLot,
    Tick,
)
from auction.params import EnglishParams
from auction.record import Recorded
from auction.state import OPEN, Bidder, LotState


class Format(abc.ABC):
    """A format's rules. Defaults are those of a lot that simply opens and closes at its
    ``closes_at``; subclasses override what differs."""

    #: The format's name in ``CreateLot.format``.
    name = ""
    #: Evolve handlers of the format's own event types (applied after ``version`` moves on).
    events: dict[type[Event], Callable[[LotState, Any], None]] = {}

    @abc.abstractmethod
    def parse(self, raw: object) -> EnglishParams:
        """Validated parameters (raise :class:`~auction.errors.InvalidParams`)."""

    def admit(self, params: EnglishParams) -> None:
        """Checks a new lot's parsed parameters must pass beyond :meth:`parse`: rules made
        after lots were recorded under older ones, which replaying those records (parsing
        their parameters again) must not apply. Raise :class:`~auction.errors.InvalidParams`.
        By default there are none."""
        return None

    def open(self, state: LotState, now: int, actor: str, cmd: StartLot | Tick) -> Decision:
        """Events of opening the lot at ``now`` (by staff or at its ``opens_at``)."""
        return open_lot(state, now, actor)

    def over(self, state: LotState, now: int) -> bool:
        """Whether an open lot can accept nothing more at ``now`` (it is due to close)."""
        return state.status == OPEN and state.closes_at is not None and now >= state.closes_at

    def deadline(self, state: LotState) -> int | None:
        """When the next Tick of an open lot must be decided."""
        return state.closes_at

    @abc.abstractmethod
    def tick(self, state: LotState, now: int, cmd: Tick) -> Decision:
        """Events of the deadline due at ``now`` (``deadline(state) <= now``)."""

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        """Judge a price bid of an eligible bidder in an open lot that is not over."""
        return Rejection("not_supported", f"a {self.name} lot takes no price bids")

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        """Judge another action of an eligible bidder in an open lot that is not over."""
        return Rejection("not_supported", f"a {self.name} lot has no action {cmd.act!r}")

    def after(self, state: LotState, event: Event) -> None:  # noqa: B027 (a hook: doing nothing is the default)
        """Called after every event of the lot has been applied (any type): update
        ``state.play`` for shared events (a bid, a resume shifting clocks...)."""

    def min_next_bid(self, state: LotState, bidder: Bidder | None) -> int | None:
        """The least acceptable price for ``bidder`` (or anyone), when there is one."""
        return None

    def view(  # noqa: B027 (a hook: doing nothing is the default)
            self, state: LotState, view: dict[str, Any], audience: str,
            bidder_id: str | None) -> None:
        """Adjust a snapshot (:func:`auction.views.snapshot`) in place: add the format's
        own state under ``view["play"]``, hide what the audience may not see."""

    def bidder_view(  # noqa: B027 (a hook: doing nothing is the default)
            self, state: LotState, view: dict[str, Any], bidder: Bidder) -> None:
        """Adjust a bidder's own standing (:func:`auction.views.bidder_view`) in place."""

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        """The event as a non-staff ``audience`` (or staff, for what even staff may not
        see yet) may see it, or None for the shared rules of :func:`auction.views.redact`."""
        return None

    def withholds(self, state: LotState) -> bool:
        """Whether the lot's record now holds prices nobody may see yet, staff included
        (sealed bids before the opening, unrevealed turns): the staff reads of the raw
        record (bids, events, report, export, collusion) refuse the lot meanwhile."""
        return False

    def start_price(self, state: LotState) -> int | None:
        """The start price the lot announces (views, result, OCDS ``tender.value``), None
        when it has none (``EnglishParams.start_price`` then holds a stand-in the format
        never shows)."""
        return state.params.start_price

    def ranking(self, state: LotState) -> list[tuple[Bidder, int]]:
        """The final ranking of an ended lot, best first: the bidders the lot could be
        awarded to, each with the price it offered (its own last accepted bid, unless the
        format says otherwise). What a winner's default offers the runner-up from
        (:mod:`auction.default`). By default the prices in the lot's direction, equal
        prices by who reached them first (:meth:`LotState.ranking`)."""
        return [(b, b.last_bid) for b in state.ranking() if b.last_bid is not None]

    def unrevealed(self, state: LotState) -> frozenset[int]:
        """Sequence numbers of the lot's ``BidAccepted`` events whose prices are not
        revealed (sealed bids before the opening, a ``multi_round`` lot's initial bids or
        turn in progress). Once the lot has ended they stay unrevealed for good (a lot
        cancelled before revealing them): every record leaves them out."""
        return frozenset()

    def command_of(self, event: Event) -> Command | None:
        """For :mod:`auction.verify`: the command whose decision starts with ``event``, for
        the format's own event types (None: no decision starts with it)."""
        return None


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name} is registered already")
    FORMATS[fmt.name] = fmt
    return fmt


def of(state: LotState) -> Format:
    """The format of ``state``."""
    return FORMATS[state.format]


def withheld(state: LotState) -> bool:
    """Whether the raw record of ``state`` may not be shown yet (:meth:`Format.withholds`,
    or a reserve entered late and sealed until the lot ends: :mod:`auction.witnessed`)."""
    return of(state).withholds(state) or witnessed.sealed(state)


def revealed_records(state: LotState, records: list[Recorded]) -> list[Recorded]:
    """``records`` without the bids whose prices were never revealed
    (:meth:`Format.unrevealed`): what public records of an ended lot may show."""
    hidden = of(state).unrevealed(state)
    if not hidden:
        return records
    return [r for r in records if r.seq not in hidden]


def short_of_bidders(state: LotState) -> bool:
    """Whether the lot has fewer eligible bidders than its ``min_bidders`` to open (with
    ``below_min: award_single``, one eligible bidder is enough to open)."""
    p = state.params
    if p.min_bidders == 1:
        return False
    eligible = sum(1 for b in state.bidders.values() if state.eligible(b))
    return eligible < p.min_bidders and not (p.below_min == "award_single" and eligible == 1)


def below_minimum(state: LotState, now: int, entrants: int,
                  reserve: int | None = None) -> Event | None:
    """The outcome of a close with ``entrants`` (at least one) bidders who bid, when
    fewer than the lot's ``min_bidders``: ``LotFailed`` (``too_few_bids``) or, under
    ``below_min: award_single`` with a single entrant, the leader wins at the start
    price (``LotFailed`` ``reserve_not_met`` when that is below the reserve, or
    ``ceiling_exceeded`` above a reverse lot's ``reserve``, an internal ceiling entered
    late: see :mod:`auction.witnessed`). None when there are enough."""
    p = state.params
    if entrants >= p.min_bidders:
        return None
    if p.below_min != "award_single" or entrants != 1:
        return LotFailed(at=now, actor=SYSTEM, reason="too_few_bids")
    failure = witnessed.fails(state, p.start_price, p.reserve if reserve is None else reserve)
    if failure is not None:
        return LotFailed(at=now, actor=SYSTEM, reason=failure)
    assert state.leader is not None  # one bidder bid
    winner = state.bidders[state.leader]
    return LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                      bidder_no=winner.bidder_no, amount=p.start_price)


def open_lot(state: LotState, now: int, actor: str) -> Decision:
    """``LotOpened`` at ``now``. A ``duration_s`` counts from the lot's ``opens_at`` when it
    has one (however late the clock or staff open it), else from ``now``."""
    p = state.params
    start = state.opens_at if state.opens_at is not None else now
    closes_at = p.closes_at if p.closes_at is not None else start + (p.duration_s or 0) * 1000
    if closes_at <= now:
        return Rejection("bad_deadline", "the closing time has passed")
    if p.max_closes_at is not None and p.max_closes_at < closes_at:
        return Rejection("bad_deadline", "max_closes_at is before the closing time")
    return [LotOpened(at=now, actor=actor, closes_at=closes_at, max_closes_at=p.max_closes_at)]
