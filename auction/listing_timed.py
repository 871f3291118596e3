"""The ``listing_timed`` format: listing then timed bidding (网上挂牌 + 限时竞价, RULES.md).

Phases (``Play.phase``); ``LotState.closes_at`` is always the end of the current phase, so
pausing and resuming (which shift ``closes_at``) shift every deadline of every phase:

- ``listing``: forward bids as ``english`` (leader mode, step grid), no soft close, until
  ``listing_ends_at``. At its end: no bid → failed (``no_bids``); else ``confirm``.
- ``confirm``: bidders with a valid listing bid have ``confirm_s`` to confirm (Act
  ``confirm``). Nobody confirmed → the listing's best wins if it meets the reserve. With
  ``confirm: auto`` there is no such phase: as the listing ends with bids, timed bidding
  opens at once for every bidder with a listing bid (nobody bidding in it: the
  listing's best wins when the countdown runs out).
- ``timed``: only confirmed bidders bid, from the listing's best; each accepted bid restarts
  the countdown (``closes_at = t + countdown_s``). The countdown runs out → best wins if it
  meets the reserve, else failed.
- ``cap`` (``cap_rule`` ``lottery``): a bid equal to the cap stops price bidding; within
  ``cap_confirm_s`` the bidders who could bid when the cap was reached may accept the cap
  price (Act ``accept_cap``; the bidder who reached it is in already); then the verifiable
  draw (:mod:`auction.draw`) picks the winner at the cap price.
- ``secondary`` (``cap_rule`` ``secondary``): after the cap, the same bidders bid on a
  second quantity (Act ``secondary`` with ``amount`` the quantity, in the lot's decimals),
  ascending from ``start`` by ``step``, each bid restarting its own countdown; its best
  wins at the cap price (nobody bids: the bidder who reached the cap).

Phase changes that are due but not ticked yet are part of the decision of the command
that finds them (a confirmation sent just after the listing ended first records the
confirm window's opening), so outcomes never depend on when a Tick runs; closing is left
to the Tick (commands then get ``closed``).
"""

from dataclasses import dataclass, field
from typing import Any

from auction import preemption
from auction.draw import RANDOM_HEX, commitment, draw
from auction.english import judge_bid
from auction.english import min_next_bid as english_min_next_bid
from auction.errors import InvalidParams
from auction.formats import Format, below_minimum, open_lot, register
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    CloseExtended,
    Command,
    Decision,
    DrawCommitted,
    Event,
    LotAwarded,
    LotClosed,
    LotDrawn,
    LotFailed,
    LotOpened,
    PlaceBid,
    Rejection,
    StartLot,
    Tick,
    recorded_if_set,
    register_event,
)
from auction.money import CURRENCY_DECIMALS, format_amount, within
from auction.params import (
    MAX_JUMP_STEPS,
    MAX_MS,
    MAX_SECONDS,
    SHOW_COUNTS,
    STEP_ROUNDINGS,
    EnglishParams,
    Tier,
    _Reader,
)
from auction.preemption import MatchWindowOpened, PriceMatched, Window
from auction.record import Recorded
from auction.state import OPEN, Bidder, LotState

LISTING, CONFIRM, TIMED, CAP, SECONDARY, ENDED = (
    "listing", "confirm", "timed", "cap", "secondary", "ended")
#: Pre-emptive rights exercised at the end (:mod:`auction.preemption`): the holders
#: offered the final price may match it.
WINDOW = "window"
CAP_RULES = ("none", "lottery", "secondary")
#: How bidders enter timed bidding (``confirm``): ``required`` (the default: each bidder
#: with a listing bid confirms within ``confirm_s``) or ``auto`` (every bidder with a
#: listing bid enters as the listing ends; there is no confirm window).
CONFIRM_MODES = ("required", "auto")

MESSAGES.update({
    "wrong_phase": ("当前阶段不能进行此操作", "This is not possible in the lot's current phase."),
    "no_listing_bid": ("您在挂牌期没有有效报价，不能进入限时竞价",
                       "Only bidders with a valid listing bid may enter timed bidding."),
    "already_confirmed": ("您已确认参加限时竞价", "You have confirmed already."),
    "not_confirmed": ("您未确认参加限时竞价", "You did not confirm for timed bidding."),
    "already_declared": ("您已接受最高限价", "You have accepted the cap price already."),
    "not_in_cap": ("您不能参加最高限价后的程序",
                   "You may not take part in what follows the price cap."),
    "below_secondary_start": ("报价低于起始数量", "The quantity is below the start."),
    "draw_unverifiable": ("摇号种子与公布的哈希不符",
                          "The draw seed does not match the published hash."),
})


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class Secondary:
    """The second quantity bid on after the cap (竞配建 / 竞自持)."""

    start: int
    step: int
    countdown_s: int
    unit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingOptions:
    listing_ends_at: int
    confirm_s: int
    countdown_s: int
    cap: int | None
    cap_rule: str
    cap_confirm_s: int
    secondary: Secondary | None
    confirm: str = "required"

    def public(self, decimals: int) -> dict[str, Any]:
        sec = self.secondary
        return {
            "listing_ends_at": self.listing_ends_at, "confirm_s": self.confirm_s,
            **({"confirm": self.confirm} if self.confirm != "required" else {}),
            "countdown_s": self.countdown_s,
            "cap": None if self.cap is None else format_amount(self.cap, decimals),
            "cap_rule": self.cap_rule,
            "cap_confirm_s": self.cap_confirm_s if self.cap_rule == "lottery" else None,
            "secondary": None if sec is None else {
                "start": format_amount(sec.start, decimals),
                "step": format_amount(sec.step, decimals),
                "countdown_s": sec.countdown_s, "unit": sec.unit},
        }


def parse(raw: object) -> EnglishParams:
    """Validate the parameters of a ``listing_timed`` lot (see the module doc)."""
    r = _Reader(raw)
    currency = r.text("currency", "CNY", tuple(CURRENCY_DECIMALS))
    decimals = CURRENCY_DECIMALS[currency]
    deposit = r.amount("deposit", decimals, zero=True)
    start_price = r.amount("start_price", decimals)
    step = r.amount("step", decimals)
    percent = r.percent("step_percent")
    step_round = r.text("step_round", "up", STEP_ROUNDINGS)
    reserve = r.amount("reserve", decimals)
    max_jump_steps = r.jump_guard()
    opens_at = r.integer("listing_opens_at", 0, MAX_MS)
    ends_at = r.integer("listing_ends_at", 0, MAX_MS)
    confirm_s = r.integer("confirm_s", 1, MAX_SECONDS)
    confirm = r.text("confirm", "required", CONFIRM_MODES)
    countdown_s = r.integer("countdown_s", 1, MAX_SECONDS)
    cap = r.amount("cap", decimals)
    cap_rule = r.text("cap_rule", "none", CAP_RULES)
    cap_confirm_s = r.integer("cap_confirm_s", 1, MAX_SECONDS)
    raw_secondary = r.take("secondary")
    min_bidders, below_min = r.minimum()
    show_counts = r.text("show_counts", "always", SHOW_COUNTS[:2])
    confirm_above_steps = r.integer("confirm_above_steps", 0, MAX_JUMP_STEPS)
    r.done()
    for key, value in (("start_price", start_price), ("listing_ends_at", ends_at)):
        if value is None:
            raise InvalidParams(f"{key} is required", key)
    assert start_price is not None and ends_at is not None
    if (step is None) == (percent is None):
        raise InvalidParams("give exactly one of step and step_percent", "step")
    if step_round != "up" and percent is None:
        raise InvalidParams("step_round applies to percentage steps", "step_round")
    if opens_at is not None and opens_at >= ends_at:
        raise InvalidParams("listing_opens_at must be before listing_ends_at",
                            "listing_opens_at")
    if cap is not None and cap <= start_price:
        raise InvalidParams("cap must be above start_price", "cap")
    if cap is not None and reserve is not None and reserve > cap:
        raise InvalidParams("reserve must not be above cap", "reserve")
    if cap is not None and min_bidders > 1:
        # Reaching the cap ends price bidding at once, however few have bid.
        raise InvalidParams("min_bidders above 1 does not go with a cap", "min_bidders")
    if cap is None and cap_rule != "none":
        raise InvalidParams("cap_rule needs a cap", "cap_rule")
    if confirm == "auto" and confirm_s is not None:
        raise InvalidParams("confirm_s applies to confirm required", "confirm_s")
    if cap_confirm_s is not None and cap_rule != "lottery":
        raise InvalidParams("cap_confirm_s applies to cap_rule lottery", "cap_confirm_s")
    secondary = None
    if cap_rule == "secondary":
        secondary = _secondary(raw_secondary, decimals)
    elif raw_secondary is not None:
        raise InvalidParams("secondary applies to cap_rule secondary", "secondary")
    options = ListingOptions(
        listing_ends_at=ends_at, confirm_s=confirm_s or 300, countdown_s=countdown_s or 240,
        cap=cap, cap_rule=cap_rule, cap_confirm_s=cap_confirm_s or 300, secondary=secondary,
        confirm=confirm)
    return EnglishParams(
        direction="forward", currency=currency, decimals=decimals, deposit=deposit or 0,
        start_price=start_price, tiers=(Tier(0, step or 0, percent or 0),),
        step_multiple=True, reserve=reserve,
        ceiling=None, max_jump_steps=max_jump_steps, opens_at=opens_at, closes_at=ends_at,
        duration_s=None, extend_window_s=0, extend_s=0, max_closes_at=None,
        improve="leader", visibility="price", options=options, step_round=step_round,
        min_bidders=min_bidders, below_min=below_min, show_counts=show_counts,
        confirm_above_steps=confirm_above_steps)


def _secondary(raw: object, decimals: int) -> Secondary:
    if raw is None:
        raise InvalidParams("cap_rule secondary needs secondary {start, step, countdown_s, "
                            "unit}", "secondary")
    r = _Reader(raw, "secondary")
    start = r.amount("start", decimals, zero=True)
    step = r.amount("step", decimals)
    countdown_s = r.integer("countdown_s", 1, MAX_SECONDS)
    unit = r.take("unit")
    r.done()
    if start is None or step is None:
        raise InvalidParams("secondary needs start and step", "secondary")
    if unit is None:
        unit = ""
    if not isinstance(unit, str) or len(unit) > 20:
        raise InvalidParams("secondary unit must be text of at most 20 characters",
                            "secondary")
    return Secondary(start=start, step=step, countdown_s=countdown_s or 240, unit=unit)


def _options(state: LotState) -> ListingOptions:
    options: ListingOptions = state.params.options
    return options


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmOpened(Event):
    """The listing ended with bids: ``bidders`` (numbers) may confirm until ``closes_at``."""

    closes_at: int
    bidders: list[str]


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidderConfirmed(Event):
    """``bidder_id`` confirmed it enters timed bidding."""

    bidder_id: str
    bidder_no: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class TimedOpened(Event):
    """Timed bidding started from the listing's best; the countdown ends at ``closes_at``."""

    closes_at: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class CapReached(Event):
    """The best price reached the cap (by ``bidder_id``): price bidding stopped and
    ``cap_rule`` decides; its phase (if any) ends at ``closes_at``."""

    bidder_id: str
    bidder_no: str
    cap_rule: str
    closes_at: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class CapAccepted(Event):
    """``bidder_id`` declared it accepts the cap price (a candidate of the draw), with its
    random ``contribution`` to the draw when it gave one (:mod:`auction.draw`)."""

    bidder_id: str
    bidder_no: str
    contribution: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class SecondaryBid(Event):
    """A bid of ``quantity`` (minor units of the second quantity) after the cap."""

    bidder_id: str
    bidder_no: str
    quantity: int
    ip: str = ""
    device: str = ""
    ref: str = ""


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class Play:
    phase: str = LISTING
    #: Bidders (ids) with a valid listing bid, in order of their first one.
    listed: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    seed_hash: str | None = None
    cap_by: str | None = None
    #: Phase in which the cap was reached (who may follow: everyone eligible after the
    #: listing, confirmed bidders after timed bidding).
    cap_in: str | None = None
    declared: list[str] = field(default_factory=list)
    #: The random contributions to the draw of the declarations that carried one.
    contributions: dict[str, str] = field(default_factory=dict)
    sec_best: int | None = None
    sec_leader: str | None = None
    sec_bids: int = 0
    #: Bidders (ids) by their last bid on the second quantity, the best last (each such
    #: bid beats every earlier one).
    sec_by: list[str] = field(default_factory=list)
    draw: dict[str, Any] | None = None
    #: When the listing ends (ended): ``listing_ends_at`` moved by pauses and
    #: extensions during the listing (None before the lot opens).
    listing_ends_at: int | None = None
    #: The open match window of pre-emptive rights exercised at the end (phase window).
    match_window: Window | None = None


def _play(state: LotState) -> Play:
    if state.play is None:
        state.play = Play()
    play: Play = state.play
    return play


def _on_confirm_opened(s: LotState, e: ConfirmOpened) -> None:
    _play(s).phase = CONFIRM
    s.closes_at = e.closes_at


def _on_confirmed(s: LotState, e: BidderConfirmed) -> None:
    _play(s).confirmed.append(e.bidder_id)


def _on_timed(s: LotState, e: TimedOpened) -> None:
    play = _play(s)
    play.phase = TIMED
    s.closes_at = e.closes_at
    if _options(s).confirm == "auto":
        # Every bidder with a listing bid enters without confirming.
        play.confirmed = list(play.listed)


def _on_cap(s: LotState, e: CapReached) -> None:
    play = _play(s)
    play.cap_by, play.cap_in = e.bidder_id, play.phase
    play.phase = {"lottery": CAP, "secondary": SECONDARY}.get(e.cap_rule, ENDED)
    s.closes_at = e.closes_at


def _on_accepted(s: LotState, e: CapAccepted) -> None:
    play = _play(s)
    play.declared.append(e.bidder_id)
    if e.contribution:
        play.contributions[e.bidder_id] = e.contribution


def _on_window(s: LotState, e: MatchWindowOpened) -> None:
    play = _play(s)
    play.phase, play.match_window = WINDOW, preemption.window_of(e, s)
    s.closes_at = e.closes_at


def _on_secondary(s: LotState, e: SecondaryBid) -> None:
    play = _play(s)
    play.sec_best, play.sec_leader = e.quantity, e.bidder_id
    play.sec_bids += 1
    play.sec_by = [b for b in play.sec_by if b != e.bidder_id] + [e.bidder_id]


# --------------------------------------------------------------------------- the course


@dataclass(slots=True)
class Course:
    """Where the lot stands at ``now``: its phase, the end of that phase, the phase
    changes due but not recorded yet (``events``), and whether it is due to close."""

    phase: str
    ends: int
    events: list[Event]
    due: bool


def course(state: LotState, now: int) -> Course:
    play = _play_of(state)
    o = _options(state)
    assert state.closes_at is not None  # an open lot always has a phase end
    phase, ends = play.phase, state.closes_at
    events: list[Event] = []
    while now >= ends:
        if phase == LISTING and state.best is not None and o.confirm == "auto":
            ends += o.countdown_s * 1000
            events.append(TimedOpened(at=now, actor=SYSTEM, closes_at=ends))
            phase = TIMED
        elif phase == LISTING and state.best is not None:
            ends += o.confirm_s * 1000
            listed = [state.bidders[b].bidder_no for b in play.listed]
            events.append(ConfirmOpened(at=now, actor=SYSTEM, closes_at=ends,
                                        bidders=sorted(listed)))
            phase = CONFIRM
        elif phase == CONFIRM and play.confirmed:
            ends += o.countdown_s * 1000
            events.append(TimedOpened(at=now, actor=SYSTEM, closes_at=ends))
            phase = TIMED
        elif phase in (CONFIRM, TIMED) and (
                window := preemption.opening(state, now, ends, len(play.listed))) is not None:
            # Bidding ended with an award due: holders of pre-emptive rights are offered
            # the final price first.
            events.append(window)
            ends, phase = window.closes_at, WINDOW
        else:
            return Course(phase, ends, events, True)
    return Course(phase, ends, events, False)


def _play_of(state: LotState) -> Play:
    """The format state, without creating it (a fresh one before the first event)."""
    return state.play if isinstance(state.play, Play) else Play()


def _in_cap(state: LotState, play: Play, bidder: Bidder) -> bool:
    """Whether ``bidder`` may take part in what follows the cap."""
    return play.cap_in == LISTING or bidder.bidder_id in play.confirmed


def _window_bid(state: LotState, bidder: Bidder, cmd: PlaceBid, now: int,
                c: Course) -> Decision:
    """A price bid in the match window: only a match of the final price by a holder it
    offers (the window may open in this very decision)."""
    opening = next((e for e in c.events if isinstance(e, MatchWindowOpened)), None)
    window = _play_of(state).match_window if opening is None \
        else preemption.window_of(opening, state)
    if not preemption.matches(state, bidder, cmd.amount, window):
        return Rejection("match_window")
    return [*c.events, *preemption.match(state, bidder, cmd, now)]


def _close(state: LotState, now: int, c: Course, cmd: Tick) -> Decision:
    play = _play_of(state)
    closed = LotClosed(at=now, actor=SYSTEM, closes_at=c.ends)
    events: list[Event] = [*c.events, closed]
    cap = _options(state).cap
    if c.phase == CAP:
        assert cap is not None and play.cap_by is not None
        if play.seed_hash is None or commitment(cmd.seed) != play.seed_hash:
            return Rejection("draw_unverifiable")
        numbers = sorted(state.bidders[b].bidder_no for b in [play.cap_by, *play.declared])
        mixed = [play.contributions[state.numbers[no]] for no in numbers
                 if state.numbers[no] in play.contributions]
        candidates, index, winner_no = draw(cmd.seed, state.lot_id, numbers, mixed)
        winner = state.bidders[state.numbers[winner_no]]
        return [*events, LotDrawn(at=now, actor=SYSTEM, purpose="cap_lottery", seed=cmd.seed,
                                  candidates=candidates, index=index, winner_no=winner_no,
                                  contributions=mixed),
                LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                           bidder_no=winner.bidder_no, amount=cap)]
    if c.phase == SECONDARY:
        assert cap is not None and play.cap_by is not None
        winner = state.bidders[play.sec_leader or play.cap_by]
        return [*events, LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                                    bidder_no=winner.bidder_no, amount=cap)]
    if state.leader is None or state.best is None:
        return [*events, LotFailed(at=now, actor=SYSTEM, reason="no_bids")]
    short = below_minimum(state, now, len(play.listed))
    if short is not None:
        return [*events, short]
    reserve = state.params.reserve
    if reserve is not None and state.best < reserve:
        return [*events, LotFailed(at=now, actor=SYSTEM, reason="reserve_not_met")]
    leader = state.bidders[state.leader]
    return [*events, LotAwarded(at=now, actor=SYSTEM, bidder_id=leader.bidder_id,
                                bidder_no=leader.bidder_no, amount=state.best)]


# --------------------------------------------------------------------------- the format


class ListingTimed(Format):
    name = "listing_timed"
    events = {
        ConfirmOpened: _on_confirm_opened, BidderConfirmed: _on_confirmed,
        TimedOpened: _on_timed, CapReached: _on_cap, CapAccepted: _on_accepted,
        SecondaryBid: _on_secondary, MatchWindowOpened: _on_window,
        PriceMatched: preemption.matched,
    }

    def parse(self, raw: object) -> EnglishParams:
        return preemption.parse(raw, parse)

    def open(self, state: LotState, now: int, actor: str, cmd: StartLot | Tick) -> Decision:
        opened = open_lot(state, now, actor)
        if isinstance(opened, Rejection) or _options(state).cap_rule != "lottery":
            return opened
        return [*opened, DrawCommitted(at=now, actor=actor, seed_hash=cmd.seed_hash)]

    def over(self, state: LotState, now: int) -> bool:
        return state.status == OPEN and course(state, now).due

    def tick(self, state: LotState, now: int, cmd: Tick) -> Decision:
        c = course(state, now)
        if not c.due:
            return c.events
        return _close(state, now, c, cmd)

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        c = course(state, now)
        play = _play_of(state)
        if c.phase == WINDOW:
            return _window_bid(state, bidder, cmd, now, c)
        if c.phase not in (LISTING, TIMED):
            return Rejection("wrong_phase", f"no price bids in the {c.phase} phase")
        # Under confirm auto, timed bidding may open in this very decision: who bid in
        # the listing is in.
        entered = play.listed if _options(state).confirm == "auto" else play.confirmed
        if c.phase == TIMED and bidder.bidder_id not in entered:
            return Rejection("not_confirmed")
        o = _options(state)
        amount = cmd.amount
        at_cap = (o.cap is not None and isinstance(amount, int)
                  and not isinstance(amount, bool) and amount >= o.cap)
        if at_cap and amount > (o.cap or 0):
            return Rejection("above_cap")
        # The cap is above the start price and above any best (bidding stops there): a
        # bid of the cap needs no step. A holder of pre-emptive rights may match the best.
        matching = preemption.matches(state, bidder, amount, None)
        refused: Rejection | None = None
        if at_cap and state.leader == bidder.bidder_id:
            refused = Rejection("already_leading")
        elif not at_cap and not matching:
            refused = judge_bid(state, bidder, amount, cmd.confirmed)
        if refused is not None:
            return refused
        events: list[Event] = [*c.events, BidAccepted(
            at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
            bidder_no=bidder.bidder_no, amount=cmd.amount, ip=cmd.ip, device=cmd.device,
            ref=cmd.ref, confirmed=cmd.confirmed)]
        if matching:
            events.append(preemption.price_matched(state, bidder, cmd.amount, now))
        if at_cap:
            return events + self._cap(state, bidder, now)
        if c.phase == TIMED and now + o.countdown_s * 1000 > c.ends:
            events.append(CloseExtended(at=now, actor=SYSTEM,
                                        closes_at=now + o.countdown_s * 1000,
                                        reason="countdown"))
        return events

    def _cap(self, state: LotState, bidder: Bidder, now: int) -> list[Event]:
        o = _options(state)
        assert o.cap is not None
        window = {"lottery": o.cap_confirm_s,
                  "secondary": o.secondary.countdown_s if o.secondary else 0}.get(o.cap_rule, 0)
        reached = CapReached(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                             bidder_no=bidder.bidder_no, cap_rule=o.cap_rule,
                             closes_at=now + window * 1000)
        if o.cap_rule != "none":
            return [reached]
        return [reached, LotClosed(at=now, actor=SYSTEM, closes_at=now),
                LotAwarded(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                           bidder_no=bidder.bidder_no, amount=o.cap)]

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        c = course(state, now)
        play = _play_of(state)
        me = bidder.bidder_id
        if cmd.act == "confirm":
            if c.phase != CONFIRM:
                return Rejection("wrong_phase", "confirmations are taken in the confirm phase")
            if me not in play.listed:
                return Rejection("no_listing_bid")
            if me in play.confirmed:
                return Rejection("already_confirmed")
            return [*c.events, BidderConfirmed(at=now, actor=bidder.bidder_no, bidder_id=me,
                                               bidder_no=bidder.bidder_no)]
        if cmd.act == "accept_cap":
            if c.phase != CAP:
                return Rejection("wrong_phase", "the cap price is accepted in the cap phase")
            if not _in_cap(state, play, bidder):
                return Rejection("not_in_cap")
            if me == play.cap_by or me in play.declared:
                return Rejection("already_declared")
            if cmd.salt and not (isinstance(cmd.salt, str) and RANDOM_HEX.fullmatch(cmd.salt)):
                return Rejection("invalid_params", "a contribution to the draw is 32 to 128 "
                                                   "lowercase hex digits")
            return [CapAccepted(at=now, actor=bidder.bidder_no, bidder_id=me,
                                bidder_no=bidder.bidder_no, contribution=cmd.salt)]
        if cmd.act == "secondary":
            return self._secondary(state, bidder, cmd, now, c)
        return super().act(state, bidder, cmd, now)

    def _secondary(self, state: LotState, bidder: Bidder, cmd: Act, now: int,
                   c: Course) -> Decision:
        play = _play_of(state)
        sec = _options(state).secondary
        if c.phase != SECONDARY or sec is None:
            return Rejection("wrong_phase", "quantities are bid after the cap")
        if not _in_cap(state, play, bidder):
            return Rejection("not_in_cap")
        q = cmd.amount
        if not within(q, state.params.decimals):
            return Rejection("invalid_amount", "the quantity must be whole minor units, from "
                                               "one to the money maximum")
        if play.sec_leader == bidder.bidder_id:
            return Rejection("already_leading")
        if play.sec_best is None:
            if q < sec.start:
                return Rejection("below_secondary_start")
        elif q < play.sec_best + sec.step:
            return Rejection("not_improving")
        if (q - sec.start) % sec.step != 0:
            return Rejection("off_step")
        events: list[Event] = [SecondaryBid(
            at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
            bidder_no=bidder.bidder_no, quantity=q, ip=cmd.ip, device=cmd.device,
            ref=cmd.ref)]
        restart = now + sec.countdown_s * 1000
        if restart > c.ends:
            events.append(CloseExtended(at=now, actor=SYSTEM, closes_at=restart,
                                        reason="countdown"))
        return events

    def after(self, state: LotState, event: Event) -> None:
        play = _play(state)
        if isinstance(event, BidAccepted):
            if play.phase == LISTING and event.bidder_id not in play.listed:
                play.listed.append(event.bidder_id)
        elif isinstance(event, DrawCommitted):
            play.seed_hash = event.seed_hash
        elif isinstance(event, LotDrawn):
            play.draw = {"purpose": event.purpose, "seed": event.seed,
                         "candidates": list(event.candidates), "index": event.index,
                         "winner_no": event.winner_no}
        elif isinstance(event, (LotClosed, LotOpened)):
            play.phase = ENDED if isinstance(event, LotClosed) else LISTING
        if play.phase == LISTING and state.closes_at is not None:
            play.listing_ends_at = state.closes_at  # the listing's end, as clocks moved it

    def ranking(self, state: LotState) -> list[tuple[Bidder, int]]:
        """After the cap, those who hold the cap price rank first, at the cap: with
        ``secondary``, the bidders on the second quantity by their last such bid, best
        first, then the one who reached the cap; with ``lottery``, the one who reached the
        cap, then those who declared they accept it, in the order they did. Everyone else
        follows by its own last price."""
        play, cap = _play_of(state), _options(state).cap
        if play.cap_by is None or cap is None:
            return super().ranking(state)
        first = [*reversed(play.sec_by), play.cap_by, *play.declared]
        held = list(dict.fromkeys(first))  # in order, once each
        rest = [(b, p) for b, p in super().ranking(state) if b.bidder_id not in held]
        return [(state.bidders[b], cap) for b in held] + rest
    def bidder_view(self, state: LotState, view: dict[str, Any], bidder: Bidder) -> None:
        play = _play_of(state)
        takes_bids = play.phase in (LISTING, WINDOW) or (
            play.phase == TIMED and bidder.bidder_id in play.confirmed)
        preemption.bidder_view(state, view, bidder, play.match_window,
                               state.status == OPEN and takes_bids)

    def min_next_bid(self, state: LotState, bidder: Bidder | None) -> int | None:
        play = _play_of(state)
        if play.phase not in (LISTING, TIMED) or (
                play.phase == TIMED and bidder is not None
                and bidder.bidder_id not in play.confirmed):
            return None
        least = english_min_next_bid(state, bidder)
        cap = _options(state).cap
        if least is None or cap is None:
            return least if cap is None else cap
        return min(least, cap)

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        play = _play_of(state)
        p = state.params
        o = _options(state)

        def money(value: int | None) -> str | None:
            return None if value is None else format_amount(value, p.decimals)

        def nos(ids: list[str]) -> list[str]:
            return sorted(state.bidders[b].bidder_no for b in ids)

        staff = audience == "staff"
        cap_by = state.bidders[play.cap_by].bidder_no if play.cap_by else None
        out: dict[str, Any] = {
            "phase": play.phase, "phase_ends_at": state.closes_at,
            "listing_ends_at": o.listing_ends_at if play.listing_ends_at is None
            else play.listing_ends_at,
            "listed": len(play.listed), "confirmed": len(play.confirmed),
            "cap": money(o.cap), "cap_rule": o.cap_rule,
            "cap_reached": play.cap_by is not None, "cap_by_no": cap_by,
            "candidates": (1 + len(play.declared)) if play.cap_by else 0,
            "seed_hash": play.seed_hash, "draw": play.draw,
            "secondary": None,
        }
        if o.secondary is not None:
            leader = state.bidders[play.sec_leader].bidder_no if play.sec_leader else None
            sec = o.secondary
            least: int | None = (sec.start if play.sec_best is None
                                 else play.sec_best + sec.step)
            if not within(least, p.decimals):
                least = None
            out["secondary"] = {"unit": sec.unit, "start": money(sec.start),
                                "step": money(sec.step), "best": money(play.sec_best),
                                "leader_no": leader, "bids": play.sec_bids,
                                "next_min": money(least) if play.phase == SECONDARY else None}
        if staff:
            out["listed_nos"] = nos(play.listed)
            out["confirmed_nos"] = nos(play.confirmed)
            out["declared_nos"] = nos(play.declared)
        bidder = state.bidders.get(bidder_id) if bidder_id and audience == "bidder" else None
        if bidder is not None:
            me = bidder.bidder_id
            out["you"] = {
                "listed": me in play.listed, "confirmed": me in play.confirmed,
                "may_confirm": play.phase == CONFIRM and me in play.listed
                and me not in play.confirmed,
                "may_bid": (play.phase == LISTING and state.eligible(bidder))
                or (play.phase == TIMED and me in play.confirmed),
                "in_cap": play.cap_by is not None and _in_cap(state, play, bidder),
                "declared": me == play.cap_by or me in play.declared,
            }
        view["play"] = out
        preemption.view(state, view, audience, play.match_window)

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        e = record.event
        shown = preemption.redact(state, record, audience, bidder_id)
        if shown is not None:
            return shown
        out: dict[str, Any] = {"seq": record.seq, "type": type(e).__name__, "at": e.at,
                               "actor": e.actor}
        if isinstance(e, SecondaryBid):
            out.update(bidder_no=e.bidder_no,
                       quantity=format_amount(e.quantity, state.params.decimals))
            if audience == "staff":
                out.update(bidder_id=e.bidder_id, ip=e.ip, device=e.device, ref=e.ref)
            return out
        if isinstance(e, (BidderConfirmed, CapAccepted)):
            if audience == "staff":
                out.update(bidder_id=e.bidder_id, bidder_no=e.bidder_no)
            elif audience == "bidder" and e.bidder_id == bidder_id:
                out["own"] = True
            if audience != "staff":
                out.pop("actor")
            return out
        if isinstance(e, CapReached):
            out.update(bidder_no=e.bidder_no, cap_rule=e.cap_rule, closes_at=e.closes_at)
            if audience == "staff":
                out["bidder_id"] = e.bidder_id
            return out
        return None

    def command_of(self, event: Event) -> Command | None:
        if isinstance(event, (ConfirmOpened, TimedOpened, MatchWindowOpened)):
            return Tick()
        if isinstance(event, BidderConfirmed):
            return Act(bidder_id=event.bidder_id, act="confirm")
        if isinstance(event, CapAccepted):
            return Act(bidder_id=event.bidder_id, act="accept_cap", salt=event.contribution)
        if isinstance(event, SecondaryBid):
            return Act(bidder_id=event.bidder_id, act="secondary", amount=event.quantity,
                       ip=event.ip, device=event.device, ref=event.ref)
        return None


LISTING_TIMED = register(ListingTimed())
