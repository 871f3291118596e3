"""The ``english`` format: open continuous bidding, forward or reverse (RULES.md)."""

from auction.formats import Format, register
from auction.model import (
    SYSTEM,
    BidAccepted,
    CloseExtended,
    Decision,
    Event,
    LotAwarded,
    LotClosed,
    LotFailed,
    PlaceBid,
    Rejection,
    Tick,
)
from auction.params import EnglishParams, parse_english
from auction.state import Bidder, LotState


def reference(state: LotState, bidder: Bidder) -> int | None:
    """The price a new bid of ``bidder`` must improve on (None: only the start price binds)."""
    return bidder.last_bid if state.params.improve == "own" else state.best


def min_next_bid(state: LotState, bidder: Bidder | None) -> int:
    """The least improving price for ``bidder``, or for anyone when None (forward: the
    lowest acceptable price; reverse: the highest)."""
    p = state.params
    if bidder is not None:
        ref = reference(state, bidder)
    else:
        ref = state.best if p.improve == "leader" else None
    if ref is None:
        return p.start_price
    step = p.step_at(ref)
    return ref + step if p.direction == "forward" else ref - step


def judge_bid(state: LotState, bidder: Bidder, amount: int) -> Rejection | None:
    """Why ``amount`` may not be accepted as ``bidder``'s price, or None when it may
    (status, time and eligibility are checked by the caller).

    The price grid (``step_multiple``) and the step in force are taken from the price the
    bid improves on: the best (``leader``), the bidder's own last bid (``own``) or, for a
    first bid, the start price. ``max_jump_steps`` counts steps past the best (the start
    price before the first bid), whatever ``improve`` is.
    """
    p = state.params
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return Rejection("invalid_amount", "amount must be a whole number of minor units > 0")
    if p.improve == "leader" and state.leader == bidder.bidder_id:
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
    if p.max_jump_steps is not None:
        anchor = p.start_price if state.best is None else state.best
        past = amount - anchor if forward else anchor - amount
        if past > p.max_jump_steps * p.step_at(anchor):
            return Rejection("jump_too_large")
    return None


def accept(state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> list[Event]:
    """Events of an accepted bid: the bid, and the soft-close extension it triggers
    (``closes_at`` moves to ``max(closes_at, now + extend_s)``, never past
    ``max_closes_at``, when fewer than ``extend_window_s`` seconds are left)."""
    events: list[Event] = [BidAccepted(
        at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id, bidder_no=bidder.bidder_no,
        amount=cmd.amount, ip=cmd.ip, device=cmd.device, ref=cmd.ref,
    )]
    p = state.params
    closes_at = state.closes_at
    assert closes_at is not None  # an open lot always has a closing time
    if closes_at - now < p.extend_window_s * 1000:
        target = max(closes_at, now + p.extend_s * 1000)
        if state.max_closes_at is not None:
            target = min(target, state.max_closes_at)
        if target > closes_at:
            events.append(CloseExtended(at=now, actor=SYSTEM, closes_at=target,
                                        reason="soft_close"))
    return events


def close(state: LotState, now: int) -> list[Event]:
    """Events of closing the lot: ``LotClosed`` and the outcome. The best price wins if
    the reserve (forward) is met; with no bid or the reserve not met, the lot fails."""
    assert state.closes_at is not None  # only an open lot closes
    closed = LotClosed(at=now, actor=SYSTEM, closes_at=state.closes_at)
    if state.leader is None or state.best is None:
        return [closed, LotFailed(at=now, actor=SYSTEM, reason="no_bids")]
    reserve = state.params.reserve
    if reserve is not None and state.best < reserve:
        return [closed, LotFailed(at=now, actor=SYSTEM, reason="reserve_not_met")]
    winner = state.bidders[state.leader]
    return [closed, LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                               bidder_no=winner.bidder_no, amount=state.best)]


class English(Format):
    name = "english"

    def parse(self, raw: object) -> EnglishParams:
        return parse_english(raw)

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        refused = judge_bid(state, bidder, cmd.amount)
        return refused if refused is not None else accept(state, bidder, cmd, now)

    def tick(self, state: LotState, now: int, cmd: Tick) -> list[Event]:
        return close(state, now)

    def min_next_bid(self, state: LotState, bidder: Bidder | None) -> int | None:
        return min_next_bid(state, bidder)


ENGLISH = register(English())
