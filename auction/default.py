"""Changes of an award after the hammer: suspended or annulled on an upheld objection
(``ChangeAward``, ``AwardChanged``), and a winner's default (违约) after the award and
what follows by the lot's rule (RULES.md "Before and after the auction"): the winner's
deposit is forfeited, and the lot
goes to the runner-up at its own last price, or is relisted as a new lot linked to this
one with an attempt counter.

``DeclareDefault`` (staff, with a reason; the payment side will call it on a payment
overdue) decides, on an awarded lot:

* ``WinnerDefaulted``: who defaulted, at what price, and what follows (``then``);
* ``DepositForfeited``: the winner's deposit, when it is confirmed and not yet settled;
* then either ``AwardedToRunnerUp``: the next bidder of the format's final ranking
  (:meth:`auction.formats.Format.ranking`: by price in the lot's direction, equal prices
  by who reached them first; a ``multi_round`` lot by adjusted price; a sealed lot by its
  opened final bids; a listing after its cap, the holders of the cap price first), at the
  price it offered, never a bidder who defaulted nor a price below the reserve
  (``no_runner_up`` when there is none);
* or ``LotRelisted``: the new lot's id, its attempt (this lot's + 1) and start price,
  which may be lower than this lot's for a forward lot (higher for a reverse one) but not
  beyond its reserve (ceiling); the lot has then failed.

The new lot is created like any lot and then linked with ``LinkRelisting`` (its first
command after creation): ``RelistedFrom`` records the old lot and the attempt.

The lot parameter ``on_default`` (:func:`parse_policy`) states the lot's rule: ``relist``
(a default never offers the runner-up: ``then: runner_up`` is refused) or ``runner_up``
(the runner-up may be offered the lot: its deposit is held until the winner's award is
settled, :func:`runner_up_hold`); without it the host chooses when declaring the default
and nothing is held.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auction.deposits import CONFIRMED, deposit_status
from auction.errors import InvalidParams
from auction.formats import of
from auction.messages import MESSAGES
from auction.model import (
    DepositApplied,
    DepositForfeited,
    DepositRefunded,
    Event,
    Rejection,
    register_event,
)
from auction.money import within
from auction.state import AWARDED, DRAFT, FAILED, Bidder, LotState, Outcome

RUNNER_UP, RELIST = "runner_up", "relist"
#: The values of the lot parameter ``on_default``.
POLICIES = (RUNNER_UP, RELIST)
#: What an upheld objection does to the award (``ChangeAward``).
SUSPENDED, ANNULLED, REINSTATED = "suspended", "annulled", "reinstated"

MESSAGES.update({
    "no_runner_up": ("没有可递补的次高报价人", "No other bidder to offer the lot to."),
    "relist_only": ("本标的规则为违约后重新挂牌，不向候补人递补",
                    "The lot's rule relists it after a default: no runner-up is offered."),
})


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclareDefault:
    """The winner defaulted; ``then`` is ``runner_up`` or ``relist`` (with the new lot's
    id and start price)."""

    actor: str
    reason: str
    then: str
    new_lot_id: str = ""
    start_price: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRelisting:
    """Link a draft lot to the lot it relists (``attempt``: which attempt it is)."""

    actor: str
    prev_lot_id: str
    attempt: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeAward:
    """An objection upheld (or its review ended): the award is ``suspended`` (暂停),
    ``annulled`` (撤销: the lot has then failed) or ``reinstated`` after a suspension."""

    actor: str
    reason: str
    effect: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class AwardChanged(Event):
    effect: str
    reason: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class WinnerDefaulted(Event):
    """Carries the whole command (``then``, and for a relisting the new lot's id and start
    price), so that ``auction verify`` decides it again from this event."""

    bidder_id: str
    bidder_no: str
    amount: int
    then: str
    new_lot_id: str
    start_price: int
    reason: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class AwardedToRunnerUp(Event):
    bidder_id: str
    bidder_no: str
    amount: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class LotRelisted(Event):
    new_lot_id: str
    attempt: int
    start_price: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class RelistedFrom(Event):
    prev_lot_id: str
    attempt: int
    reason: str


def parse_policy(params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The ``on_default`` rule of a lot's parameters (None when not given) and the
    parameters without it (the format parses the rest). Raises :class:`InvalidParams`
    for another value."""
    rest = dict(params)
    policy = rest.pop("on_default", None)
    if policy is not None and policy not in POLICIES:
        raise InvalidParams("on_default must be runner_up or relist", "on_default")
    return policy, rest


def _start_allowed(state: LotState, start: int) -> bool:
    p = state.params
    if not within(start, p.decimals):
        return False
    before = of(state).start_price(state)
    if p.direction == "forward":
        return (before is None or start <= before) and (p.reserve is None
                                                        or start >= p.reserve)
    return (before is None or start >= before) and (p.ceiling is None or start <= p.ceiling)


def _may_win(state: LotState, price: int) -> bool:
    """Whether ``price`` could be awarded: it meets the reserve (a forward lot's; a
    reverse lot accepts nothing above its ceiling in the first place)."""
    reserve = state.params.reserve
    return state.params.direction != "forward" or reserve is None or price >= reserve


def runner_up(state: LotState, winner_id: str | None) -> tuple[Bidder, int] | None:
    """The bidder a default of ``winner_id`` offers the lot to, with its price: the next
    of the format's final ranking, neither the winner nor a bidder who defaulted, at a
    price that could be awarded (None: nobody)."""
    return next(((b, price) for b, price in of(state).ranking(state)
                 if b.bidder_id != winner_id and not b.defaulted
                 and _may_win(state, price)), None)


def runner_up_hold(state: LotState, events: Sequence[Event]) -> tuple[str | None, int | None]:
    """Whose deposit an ended lot holds for the runner-up offer, and when the hold ended
    (None: it holds still). Only a forward lot whose rule (``on_default``) is
    ``runner_up`` holds one: the runner-up of its award (:func:`runner_up`). The hold
    ends when the winner's award is settled (its deposit applied to the price it paid, or
    otherwise settled), when a default offers the runner-up the lot (it is the winner
    then) or relists it; an award annulled holds nothing (every deposit of the lot falls
    due from the annulment). ``events``: the lot's record. ``(None, None)``: nothing
    held. A multi-unit lot holds nothing: a default there is not offered to anyone."""
    if (state.on_default != RUNNER_UP or state.params.direction != "forward"
            or state.params.units > 1):
        return None, None
    offered = None
    for event in events:
        if isinstance(event, WinnerDefaulted) and offered is None:
            offered = event
        elif isinstance(event, AwardedToRunnerUp):
            return event.bidder_id, event.at
    outcome = state.outcome
    if outcome is None:
        return None, None
    offer = runner_up(state, outcome.bidder_id)
    if offer is None:
        return None, None
    held = offer[0].bidder_id
    if state.status != AWARDED:
        # relisted: held until then; annulled, every deposit is due from the annulment
        return (held, offered.at) if offered is not None else (None, None)
    settled = [e.at for e in events
               if isinstance(e, (DepositApplied, DepositRefunded, DepositForfeited))
               and e.bidder_id == outcome.bidder_id]
    return held, (settled[0] if settled else None)


def decide_default(state: LotState, cmd: DeclareDefault, now: int) -> list[Event] | Rejection:
    """The caller has checked the actor and that the reason is text."""
    outcome = state.outcome
    if state.status != AWARDED or outcome is None or outcome.bidder_id is None:
        return Rejection("invalid_state", "only an awarded lot's winner defaults")
    if state.params.units > 1:
        return Rejection("not_supported", "a winner of a multi-unit lot defaults outside "
                         "the lot: its units are not passed on by these rules")
    if state.award_suspended:
        return Rejection("invalid_state", "the award is suspended")
    if not cmd.reason.strip():
        return Rejection("reason_required")
    winner = state.bidders[outcome.bidder_id]
    assert outcome.amount is not None  # an award has a price
    events: list[Event] = [WinnerDefaulted(
        at=now, actor=cmd.actor, bidder_id=winner.bidder_id, bidder_no=winner.bidder_no,
        amount=outcome.amount, then=cmd.then, new_lot_id=cmd.new_lot_id,
        start_price=cmd.start_price, reason=cmd.reason)]
    if deposit_status(state, winner) == CONFIRMED:
        assert winner.deposit is not None
        events.append(DepositForfeited(at=now, actor=cmd.actor, bidder_id=winner.bidder_id,
                                       amount=winner.deposit, reason=cmd.reason))
    if cmd.then == RUNNER_UP:
        if state.on_default == RELIST:
            return Rejection("relist_only", "the lot's rule (on_default) relists it")
        offer = runner_up(state, winner.bidder_id)
        if offer is None:
            return Rejection("no_runner_up", "nobody else bid within the lot's reserve: "
                                             "relist the lot instead")
        runner, price = offer
        return [*events, AwardedToRunnerUp(at=now, actor=cmd.actor,
                                           bidder_id=runner.bidder_id,
                                           bidder_no=runner.bidder_no, amount=price)]
    if cmd.then != RELIST:
        return Rejection("invalid_params", "then is runner_up or relist")
    if not cmd.new_lot_id or cmd.new_lot_id == state.lot_id:
        return Rejection("invalid_params", "the new lot's id")
    if not _start_allowed(state, cmd.start_price):
        return Rejection("invalid_params", "the relisted start price must be within the "
                                           "money range, no higher than this lot's (lower "
                                           "for a reverse lot) and not beyond its reserve "
                                           "(ceiling)")
    return [*events, LotRelisted(at=now, actor=cmd.actor, new_lot_id=cmd.new_lot_id,
                                 attempt=state.attempt + 1, start_price=cmd.start_price)]


def decide_change(state: LotState, cmd: ChangeAward, now: int) -> list[Event] | Rejection:
    """The caller has checked the actor and that the reason is text."""
    if state.status != AWARDED:
        return Rejection("invalid_state", "only an award is suspended, annulled or "
                                          "reinstated")
    if not cmd.reason.strip():
        return Rejection("reason_required")
    allowed = (REINSTATED,) if state.award_suspended else (SUSPENDED, ANNULLED)
    if cmd.effect not in allowed:
        return Rejection("invalid_state", f"the award may be {' or '.join(allowed)} now")
    return [AwardChanged(at=now, actor=cmd.actor, effect=cmd.effect, reason=cmd.reason)]


def award_changed(state: LotState, event: AwardChanged) -> None:
    state.award_suspended = event.effect == SUSPENDED
    if event.effect == ANNULLED:
        state.status = FAILED
        state.outcome = Outcome(FAILED, reason=f"award annulled: {event.reason}", at=event.at)


def decide_link(state: LotState, cmd: LinkRelisting, now: int) -> list[Event] | Rejection:
    if state.status != DRAFT or state.relist_of is not None:
        return Rejection("invalid_state", "a draft lot not yet linked is linked")
    if cmd.attempt < 2 or not cmd.prev_lot_id or cmd.prev_lot_id == state.lot_id:
        return Rejection("invalid_params", "the lot relisted and an attempt from 2")
    return [RelistedFrom(at=now, actor=cmd.actor, prev_lot_id=cmd.prev_lot_id,
                         attempt=cmd.attempt, reason=cmd.reason)]


def defaulted(state: LotState, event: WinnerDefaulted) -> None:
    state.changing(event.bidder_id).defaulted = True


def runner_up_awarded(state: LotState, event: AwardedToRunnerUp) -> None:
    state.outcome = Outcome(AWARDED, bidder_id=event.bidder_id, bidder_no=event.bidder_no,
                            amount=event.amount, at=event.at)
    state.leader, state.best = event.bidder_id, event.amount


def relisted(state: LotState, event: LotRelisted) -> None:
    state.status = FAILED
    state.relisted_as = event.new_lot_id
    state.outcome = Outcome(FAILED, reason=f"relisted as {event.new_lot_id}", at=event.at)


def linked(state: LotState, event: RelistedFrom) -> None:
    state.relist_of, state.attempt = event.prev_lot_id, event.attempt
