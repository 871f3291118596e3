"""The ``english`` format: open continuous bidding, forward or reverse (RULES.md).

Proxy bidding (forward lots with ``proxy: true``): a bidder leaves a secret maximum with
``Act(act="proxy", amount=maximum)``, recorded as :class:`ProxySet`. The engine then bids
for it, one step at a time and only as far as needed: whenever the holder is not the
leader and its next acceptable price is within its maximum, a ``BidAccepted`` for that
price follows in the same decision, with actor ``system`` and ref ``proxy`` (the bidder's
number as usual). After every bid (a bidder's own, or an automatic one) the proxies not
leading answer in the order they were set, until none can; a bid at a price an earlier
proxy leading the lot also holds is not made (of two equal maxima the earlier wins).
A maximum is at least the bidder's next acceptable price (or, for the leader, its own
bid) and at most :data:`MAX_PROXY_STEPS` steps above that (so one decision makes a
bounded number of bids); it need not be on the step grid (the engine only bids grid
prices not above it).
It may be raised, or lowered as long as it stays at least what the bidder already bid.
"""

from dataclasses import dataclass, field
from typing import Any

from auction import preemption, witnessed
from auction import units as multi
from auction.formats import Format, below_minimum, register
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    CloseExtended,
    Decision,
    Event,
    LotAwarded,
    LotClosed,
    LotFailed,
    LotResumed,
    PlaceBid,
    Rejection,
    Tick,
    register_event,
)
from auction.money import AMOUNT_RANGE, format_amount, within
from auction.params import HIDDEN_BEST, EnglishParams, admit_new, parse_english
from auction.preemption import MatchWindowOpened, PriceMatched, Window
from auction.record import Recorded
from auction.state import ENDED, OPEN, Bidder, LotState

#: The ``ref`` of the bids the engine makes for a proxy maximum (actor ``system``).
PROXY_REF = "proxy"
#: Most steps a maximum may lie above the bidder's next acceptable price when it is set:
#: it bounds the automatic bids one decision can make (two proxies climbing step by step).
MAX_PROXY_STEPS = 1000

MESSAGES.update({
    "confirm_required": ("报价超出最低可出价较多，请确认后重新提交",
                         "The bid is far above your next acceptable price: confirm it to "
                         "send it"),
    "proxy_disabled": ("本标的不接受代理出价", "This lot takes no proxy maximum"),
    "proxy_too_low": ("代理最高价低于下一可接受价或本人已出价格",
                      "The proxy maximum is below the next acceptable price or your own bid"),
    "proxy_too_high": ("代理最高价超出下一可接受价过多（最多 1000 个幅度）",
                       "The proxy maximum is too far above the next acceptable price "
                       "(at most 1000 steps)"),
})


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySet(Event):
    """``bidder_id`` left (or changed) its secret proxy maximum ``amount``. Seen by that
    bidder only while the lot runs; by staff once it has ended (the record holds it)."""

    bidder_id: str
    bidder_no: str
    amount: int
    ip: str = ""
    device: str = ""
    ref: str = ""


@dataclass(slots=True)
class Proxies:
    """The lot's proxy maxima: bidder id -> (maximum, sequence number of its setting;
    a raised or lowered maximum keeps its first setting's place)."""

    maxima: dict[str, tuple[int, int]] = field(default_factory=dict)


def _proxy_set(state: LotState, event: ProxySet) -> None:
    # A new book each time, never changed in place: a copy of the state made to decide
    # ahead (the scale-out backend's) may share the old one.
    maxima = state.play.maxima if isinstance(state.play, Proxies) else {}
    first = maxima.get(event.bidder_id)
    state.play = Proxies({**maxima, event.bidder_id: (
        event.amount, state.version if first is None else first[1])})


def proxy_max(state: LotState, bidder_id: str) -> int | None:
    """``bidder_id``'s proxy maximum, or None."""
    book = state.play
    if not isinstance(book, Proxies) or bidder_id not in book.maxima:
        return None
    return book.maxima[bidder_id][0]


def reference(state: LotState, bidder: Bidder) -> int | None:
    """The price a new bid of ``bidder`` must improve on (None: only the start price binds;
    a multi-unit lot: :func:`auction.units.reference`)."""
    if state.params.units > 1:
        return multi.reference(state, bidder)
    return bidder.last_bid if state.params.improve == "own" else state.best


def min_next_bid(state: LotState, bidder: Bidder | None) -> int | None:
    """The least improving price for ``bidder``, or for anyone when None (forward: the
    lowest acceptable price; reverse: the highest); None when no price can improve: a
    step past the best would leave the money maximum (forward) or reach zero (reverse)."""
    p = state.params
    if bidder is not None or p.units > 1:
        ref = reference(state, bidder) if bidder is not None else multi.reference(state, None)
    else:
        ref = state.best if p.improve == "leader" else None
    if ref is None:
        return p.start_price
    step = p.step_at(ref)
    least = ref + step if p.direction == "forward" else ref - step
    return least if within(least, p.decimals) else None


def judge_bid(state: LotState, bidder: Bidder, amount: int,
              confirmed: bool = False) -> Rejection | None:
    """Why ``amount`` may not be accepted as ``bidder``'s price, or None when it may
    (status, time and eligibility are checked by the caller).

    The price grid (``step_multiple``) and the step in force are taken from the price the
    bid improves on: the best (``leader``), the bidder's own last bid (``own``) or, for a
    first bid, the start price. ``max_jump_steps`` counts steps past the best (the start
    price before the first bid), whatever ``improve`` is, where the best is public; under
    ``rank`` and ``blind`` visibility past the bidder's own last bid (the start price
    before its first), so that no answer depends on the bids of others. In a multi-unit lot
    (:mod:`auction.units`) it counts past the price the bid improves on (the cut-off, or
    the bidder's own higher bid): both are known to the bidder. The bidder's own
    next acceptable price (:func:`min_next_bid`) is never refused by it.

    With ``confirm_above_steps`` K, a bid more than K steps (of the step in force) past
    the bidder's own next acceptable price needs ``confirmed``, else
    ``confirm_required``: the next acceptable price itself never does.
    """
    p = state.params
    if not within(amount, p.decimals):
        return Rejection("invalid_amount", AMOUNT_RANGE)
    if p.improve == "leader" and state.leader == bidder.bidder_id and p.units == 1:
        return Rejection("already_leading")
    if p.ceiling is not None and amount > p.ceiling:
        return Rejection("above_ceiling")
    forward = p.direction == "forward"
    ref = reference(state, bidder)
    base = p.start_price if ref is None else ref
    step = p.step_at(base)
    if ref is None:
        if forward and amount < p.start_price:
            return Rejection("below_start")
        if not forward and amount > p.start_price:
            return Rejection("above_start")
    elif (amount < ref + step) if forward else (amount > ref - step):
        return Rejection("not_improving")
    if p.step_multiple and (amount - base) % step != 0:
        return Rejection("off_step")
    if p.max_jump_steps is not None and amount != (
            p.start_price if ref is None else ref + step if forward else ref - step):
        shown = (ref if p.units > 1 else state.best) \
            if p.visibility not in HIDDEN_BEST else bidder.last_bid
        anchor = p.start_price if shown is None else shown
        past = amount - anchor if forward else anchor - amount
        if past > p.max_jump_steps * p.step_at(anchor):
            return Rejection("jump_too_large")
    if p.confirm_above_steps is not None and not confirmed:
        least = p.start_price if ref is None else ref + step if forward else ref - step
        if (amount - least if forward else least - amount) > p.confirm_above_steps * step:
            return Rejection("confirm_required")
    return None


def accept(state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> list[Event]:
    """Events of an accepted bid: the bid, and the soft-close extension it triggers
    (``closes_at`` moves to ``max(closes_at, now + extend_s)``, never past
    ``max_closes_at``, when fewer than ``extend_window_s`` seconds are left and the bid
    is one the lot's ``extend_on`` counts: see :func:`extends`)."""
    events: list[Event] = [BidAccepted(
        at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id, bidder_no=bidder.bidder_no,
        amount=cmd.amount, ip=cmd.ip, device=cmd.device, ref=cmd.ref, confirmed=cmd.confirmed,
        units=cmd.units,
    )]
    closes_at = state.closes_at
    assert closes_at is not None  # an open lot always has a closing time
    target = _extension(state, closes_at, now) if extends(state, bidder, cmd.amount) else None
    if target is not None:
        events.append(CloseExtended(at=now, actor=SYSTEM, closes_at=target,
                                    reason="soft_close"))
    return events + answers(state, events, now)


def extends(state: LotState, bidder: Bidder, amount: int) -> bool:
    """Whether an accepted bid of ``bidder`` at ``amount`` is one that moves a soft close
    (``extend_on``): ``any`` bid; under ``rank_1`` only a bid that is the new best (the
    leader raising its own bid counts, a bid behind the best does not); under
    ``leader_change`` only a new best by another bidder than the leader. (A bid the
    engine makes for a proxy always makes a new leader.)"""
    mode = state.params.extend_on
    if mode == "any":
        return True
    best = state.best is None or state.better(amount, state.best)
    return best and (mode == "rank_1" or state.leader != bidder.bidder_id)


def _extension(state: LotState, closes_at: int, now: int) -> int | None:
    """The soft-close target of a bid accepted at ``now`` when the lot closes at
    ``closes_at``, or None when it moves nothing."""
    p = state.params
    if closes_at - now < p.extend_window_s * 1000:
        target = max(closes_at, now + p.extend_s * 1000)
        if state.max_closes_at is not None:
            target = min(target, state.max_closes_at)
        if target > closes_at:
            return target
    return None


def answers(state: LotState, events: list[Event], now: int,
            book: "Proxies | None" = None) -> list[Event]:
    """The automatic bids the proxies (``book``, else the lot's) make after ``events`` (a
    decision so far), as further events of the same decision: one step at a time, only
    as far as needed."""
    if book is None:
        book = state.play if isinstance(state.play, Proxies) else None
    if book is None or not book.maxima:
        return []
    best, leader = state.best, state.leader
    closes_at = state.closes_at
    assert closes_at is not None  # only an open lot takes bids
    for event in events:
        if isinstance(event, BidAccepted):
            best, leader = event.amount, event.bidder_id
        elif isinstance(event, CloseExtended):
            closes_at = event.closes_at
    order = sorted(book.maxima.items(), key=lambda item: item[1][1])
    more: list[Event] = []
    p = state.params
    while True:
        price = p.start_price if best is None else best + p.step_at(best)
        reach = price + p.step_at(price)
        held = book.maxima.get(leader) if leader is not None else None
        # The leader's maximum holds ``price`` but not a step past it: a later proxy
        # whose maximum cannot pass ``price`` either ties it (on the grid), and the
        # earlier maximum wins: that bid is not made.
        tied_seq = held[1] if held is not None and price <= held[0] < reach else None
        holder = next((bidder_id for bidder_id, (maximum, seq) in order
                       if bidder_id != leader and maximum >= price
                       and not (tied_seq is not None and tied_seq < seq and maximum < reach)),
                      None)
        if holder is None:
            return more
        bidder = state.bidders[holder]
        more.append(BidAccepted(at=now, actor=SYSTEM, bidder_id=holder,
                                bidder_no=bidder.bidder_no, amount=price, ref=PROXY_REF))
        target = _extension(state, closes_at, now)
        if target is not None:
            more.append(CloseExtended(at=now, actor=SYSTEM, closes_at=target,
                                      reason="soft_close"))
            closes_at = target
        best, leader = price, holder


def set_proxy(state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
    """Judge a proxy maximum and make the bids it calls for at once."""
    p = state.params
    if not p.proxy:
        return Rejection("proxy_disabled")
    amount = cmd.amount
    if not within(amount, p.decimals):
        return Rejection("invalid_amount", AMOUNT_RANGE)
    leading = state.leader == bidder.bidder_id
    least = bidder.last_bid if leading and bidder.last_bid is not None \
        else min_next_bid(state, bidder)
    if least is None:
        return Rejection("not_improving", "no price can beat the best any more")
    if amount < least:
        return Rejection("proxy_too_low")
    if amount - least > MAX_PROXY_STEPS * p.step_at(least):
        return Rejection("proxy_too_high")
    proxy: list[Event] = [ProxySet(
        at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id, bidder_no=bidder.bidder_no,
        amount=amount, ip=cmd.ip, device=cmd.device, ref=cmd.ref)]
    book = state.play if isinstance(state.play, Proxies) else Proxies()
    first = book.maxima.get(bidder.bidder_id)
    seq = state.version + 1 if first is None else first[1]
    trial = Proxies({**book.maxima, bidder.bidder_id: (amount, seq)})
    return proxy + answers(state, proxy, now, trial)


def close(state: LotState, now: int, closes_at: int | None = None) -> list[Event]:
    """Events of closing the lot: ``LotClosed`` and the outcome. The best price wins if
    the reserve (forward) is met; with no bid or the reserve not met, the lot fails; with
    fewer bidders who bid than ``min_bidders``, see :func:`auction.formats.below_minimum`.
    ``closes_at``: the closing time recorded, when not the lot's (a match window due in
    the same decision moved it)."""
    assert state.closes_at is not None  # only an open lot closes
    closed = LotClosed(at=now, actor=SYSTEM,
                       closes_at=state.closes_at if closes_at is None else closes_at)
    if state.leader is None or state.best is None:
        return [closed, *witnessed.at_close(state, now)[0],
                LotFailed(at=now, actor=SYSTEM, reason="no_bids")]
    if state.params.units > 1:
        return multi.close(state, now, closed)
    # A reserve entered late (auction.witnessed) is revealed here, or lapses.
    before, reserve = witnessed.at_close(state, now)
    short = below_minimum(state, now, sum(1 for b in state.bidders.values() if b.bids),
                          reserve)
    if short is not None:
        return [closed, *before, short]
    failure = witnessed.fails(state, state.best, reserve)
    if failure is not None:
        return [closed, *before, LotFailed(at=now, actor=SYSTEM, reason=failure)]
    winner = state.bidders[state.leader]
    return [closed, *before, LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                                        bidder_no=winner.bidder_no, amount=state.best)]


def _window_opened(s: LotState, e: MatchWindowOpened) -> None:
    s.closes_at = e.closes_at
    s.play = preemption.window_of(e, s)


def _window(state: LotState) -> Window | None:
    """The lot's open match window (pre-emptive rights exercised at the end), or None."""
    return state.play if isinstance(state.play, Window) else None


def _pending(state: LotState, now: int) -> MatchWindowOpened | None:
    """The match window that bidding's end at or before ``now`` opens and that is not
    recorded yet (see :mod:`auction.preemption`), or None."""
    if state.closes_at is None or now < state.closes_at or _window(state) is not None:
        return None
    entrants = sum(1 for b in state.bidders.values() if b.bids)
    return preemption.opening(state, now, state.closes_at, entrants)


class English(Format):
    name = "english"
    events = {ProxySet: _proxy_set, PriceMatched: preemption.matched,
              MatchWindowOpened: _window_opened}

    def parse(self, raw: object) -> EnglishParams:
        return preemption.parse(raw, parse_english)

    def over(self, state: LotState, now: int) -> bool:
        if not super().over(state, now):
            return False
        pending = _pending(state, now)
        return pending is None or now >= pending.closes_at

    def admit(self, params: EnglishParams) -> None:
        admit_new(params)

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        pending = _pending(state, now)
        window = _window(state) if pending is None else preemption.window_of(pending, state)
        if window is not None:
            if not preemption.matches(state, bidder, cmd.amount, window):
                return Rejection("match_window")
            return [*([] if pending is None else [pending]),
                    *preemption.match(state, bidder, cmd, now)]
        if preemption.matches(state, bidder, cmd.amount, None):
            # The bid (and the soft close it moves), then the match.
            events = accept(state, bidder, cmd, now)
            return [events[0], preemption.price_matched(state, bidder, cmd.amount, now),
                    *events[1:]]
        refused = multi.judge_units(bidder, cmd.units) if state.params.units > 1 \
            else None
        refused = refused or judge_bid(state, bidder, cmd.amount, cmd.confirmed)
        return refused if refused is not None else accept(state, bidder, cmd, now)

    def tick(self, state: LotState, now: int, cmd: Tick) -> list[Event]:
        pending = _pending(state, now)
        if pending is None:
            return close(state, now)
        if now < pending.closes_at:
            return [pending]
        return [pending, *close(state, now, pending.closes_at)]

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        if cmd.act != "proxy":
            return super().act(state, bidder, cmd, now)
        return set_proxy(state, bidder, cmd, now)

    def min_next_bid(self, state: LotState, bidder: Bidder | None) -> int | None:
        if _window(state) is not None:
            return None  # only matches of the final price
        return min_next_bid(state, bidder)

    def after(self, state: LotState, event: Event) -> None:
        if state.params.units > 1 and isinstance(event, (BidAccepted, LotResumed)):
            multi.note(state)  # the allotment every view reads

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        preemption.view(state, view, audience, _window(state))
        if state.params.units > 1:
            multi.view(state, view)

    def bidder_view(self, state: LotState, view: dict[str, Any], bidder: Bidder) -> None:
        if state.params.units > 1:
            multi.bidder_view(state, view, bidder)
        if state.params.proxy:
            maximum = proxy_max(state, bidder.bidder_id)
            view["proxy_max"] = (None if maximum is None
                                 else format_amount(maximum, state.params.decimals))
        preemption.bidder_view(state, view, bidder, _window(state), state.status == OPEN)

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        event = record.event
        if not isinstance(event, ProxySet):
            return preemption.redact(state, record, audience, bidder_id)
        own = audience == "bidder" and event.bidder_id == bidder_id
        if own or (audience == "staff" and state.status in ENDED):
            return {"seq": record.seq, "type": "ProxySet", "at": event.at,
                    "actor": event.actor, "bidder_id": event.bidder_id,
                    "bidder_no": event.bidder_no,
                    "amount": format_amount(event.amount, state.params.decimals)}
        return {"seq": record.seq, "type": "ProxySet", "at": event.at}

    def command_of(self, event: Event) -> Act | Tick | None:
        if isinstance(event, MatchWindowOpened):
            return Tick()
        if not isinstance(event, ProxySet):
            return None
        return Act(bidder_id=event.bidder_id, act="proxy", amount=event.amount, ip=event.ip,
                   device=event.device, ref=event.ref)


ENGLISH = register(English())
