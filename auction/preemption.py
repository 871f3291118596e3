"""Pre-emptive purchase rights (优先购买权) of a forward lot: ``english`` and ``listing_timed``.

A lot's ``preemption`` parameter names holders (the bidder ids of bidders who will
register, e.g. a company's existing shareholders or a tenant: the center knows them when
it creates the lot, before registration draws their bidder numbers) in order of
priority: the first is priority 1. A holder bids like anyone, and may also *match* the
best price: a price bid equal to the best (:class:`~auction.model.PlaceBid`), recorded as
the bid (``BidAccepted``) and :class:`PriceMatched`; the holder then leads at that price. A
match needs the best to be held by a bidder the holder outranks: a non-holder, or a
holder of lower priority (when several holders match the same price, the higher priority
wins). Anyone else must still beat the best by a step. A lot ending with a holder in the
lead awards it at the equal price when no higher bid followed.

The rules of exercise (``exercise``):

- ``during`` (the default): holders may match at any time while price bids are taken. A
  match is a bid like any other for the soft close (``extend_on: any``) and restarts a
  ``listing_timed`` countdown; it is never a new best (``leader_change``, ``rank_1``).
- ``at_end``: holders bid only by steps while bidding runs. When bidding ends with an
  award of the best price due (bids in, the reserve and ``min_bidders`` met) and eligible
  holders who outrank the best bidder registered, :class:`MatchWindowOpened` offers them
  the final price for ``window_s`` seconds from the end of bidding (server time: the
  window ends at the closing time plus ``window_s``, however late the timer fires, and
  moves with pauses as every deadline does). Inside it only those holders may bid, and
  only the final price (a match); the highest priority that matched wins. When the window
  ends the lot closes: nobody matching leaves the best bidder winning.

Everything is an event of the record, so ``auction verify`` decides it again.
"""

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from auction.errors import InvalidParams
from auction.messages import MESSAGES
from auction.model import SYSTEM, BidAccepted, Event, PlaceBid, register_event
from auction.money import format_amount
from auction.params import MAX_SECONDS, EnglishParams, _Reader
from auction.record import Recorded
from auction.state import Bidder, LotState

#: The rules of exercise (``exercise``).
EXERCISE = ("during", "at_end")
#: Most holders a lot may name.
MAX_HOLDERS = 100
#: The longest bidder id a holder may be named by.
MAX_ID = 64
#: ``window_s`` of an ``at_end`` lot that does not give one.
DEFAULT_WINDOW_S = 300

MESSAGES.update({
    "match_window": ("优先购买期内只有优先购买权人可以最终价格（同等价格）购买",
                     "While holders of pre-emptive rights are offered the final price, "
                     "only they may bid, and only that price"),
})


@dataclass(frozen=True, slots=True)
class Preemption:
    """Holders (bidder ids, priority 1 first), the rules of exercise, and the window of an
    ``at_end`` lot in seconds (0 under ``during``)."""

    holders: tuple[str, ...]
    exercise: str
    window_s: int

    def priority(self, bidder_id: str) -> int | None:
        """The priority of holder ``bidder_id`` (1 is the highest), None for a non-holder."""
        return self.holders.index(bidder_id) + 1 if bidder_id in self.holders else None

    def public(self) -> dict[str, Any]:
        """What anyone may know: how many holders there are, not who they are."""
        return {"holders": len(self.holders), "exercise": self.exercise,
                **({"window_s": self.window_s} if self.exercise == "at_end" else {})}


def parse(raw: object, parse_rest: Callable[[object], EnglishParams]) -> EnglishParams:
    """A lot's parameters by ``parse_rest`` with its ``preemption`` (absent or null: none),
    which needs forward bidding that shows the best price and improves on it."""
    if not isinstance(raw, Mapping):
        return parse_rest(raw)
    outer = _Reader(raw)
    spec = outer.take("preemption")
    params = parse_rest(outer.raw)
    if spec is None:
        return params
    r = _Reader(spec, "preemption")
    holders = r.take("holders")
    exercise = r.text("exercise", "during", EXERCISE)
    window_s = r.integer("window_s", 1, MAX_SECONDS)
    r.done()
    if (not isinstance(holders, list) or not 0 < len(holders) <= MAX_HOLDERS
            or not all(isinstance(h, str) and 0 < len(h.strip()) == len(h) <= MAX_ID
                       for h in holders)
            or len(set(holders)) != len(holders)):
        raise InvalidParams(f"preemption holders must be a list of 1 to {MAX_HOLDERS} "
                            "different bidder ids, in order of priority", "preemption")
    if window_s is not None and exercise != "at_end":
        raise InvalidParams("preemption window_s applies to exercise at_end", "preemption")
    if params.direction != "forward" or params.improve != "leader" \
            or params.visibility != "price":
        raise InvalidParams("pre-emptive rights need a forward lot that shows the best price "
                            "and improves on it", "preemption")
    if params.proxy:
        raise InvalidParams("pre-emptive rights do not go with proxy bidding", "preemption")
    if params.units > 1:
        raise InvalidParams("pre-emptive rights apply to single-unit lots", "preemption")
    if getattr(params.options, "cap", None) is not None:
        # Reaching a listing's cap ends price bidding at once: there is no best to match.
        raise InvalidParams("pre-emptive rights do not go with a cap", "preemption")
    return dataclasses.replace(params, preemption=Preemption(
        tuple(holders), exercise,
        (window_s or DEFAULT_WINDOW_S) if exercise == "at_end" else 0))


def of(state: LotState) -> Preemption | None:
    """The lot's pre-emptive rights, None when it has none."""
    return state.params.preemption


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class PriceMatched(Event):
    """Holder ``bidder_id`` (of priority ``priority``) matched the best price ``amount`` with
    the ``BidAccepted`` before it in the same decision: it leads at that price."""

    bidder_id: str
    bidder_no: str
    amount: int
    priority: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class MatchWindowOpened(Event):
    """Bidding ended (``exercise: at_end``): ``holders`` (numbers, priority order) may match
    the final ``price`` until ``closes_at``."""

    closes_at: int
    price: int
    holders: list[str]


@dataclass(frozen=True, slots=True)
class Window:
    """An open match window: the final price and the holders (ids) it is offered to."""

    price: int
    offered: tuple[str, ...]


def matched(s: LotState, e: PriceMatched) -> None:
    """The holder leads, and ranks before the bidders who reached the price earlier (its
    ``last_seq`` is put just before theirs: :meth:`LotState.ranking` orders equal prices
    by it)."""
    s.leader = e.bidder_id
    holder = s.changing(e.bidder_id)
    holder.last_seq = min(b.last_seq for b in s.bidders.values() if b.last_bid == e.amount) - 1


def window_of(e: MatchWindowOpened, s: LotState) -> Window:
    """The window ``e`` opens."""
    return Window(e.price, tuple(s.numbers[no] for no in e.holders))


# --------------------------------------------------------------------------- the rules


def offered(state: LotState, entrants: int) -> list[Bidder]:
    """The holders an ``at_end`` lot offers its final price as bidding ends, priority
    order: none unless the close would award the best price (a bid in, the reserve met,
    at least ``min_bidders`` ``entrants``); else the eligible registered holders who
    outrank the best bidder."""
    pre = of(state)
    p = state.params
    if (pre is None or pre.exercise != "at_end" or state.leader is None
            or state.best is None or entrants < p.min_bidders
            or (p.reserve is not None and state.best < p.reserve)):
        return []
    leader = pre.priority(state.leader)
    out = []
    for rank, holder in enumerate(pre.holders, 1):
        bidder = state.bidders.get(holder)
        if leader is not None and rank >= leader:
            break
        if bidder is not None and state.eligible(bidder):
            out.append(bidder)
    return out


def opening(state: LotState, now: int, ends: int, entrants: int) -> MatchWindowOpened | None:
    """The window that opens when bidding ends at ``ends`` (``now`` at or after it), None
    when none does."""
    holders = offered(state, entrants)
    pre = of(state)
    if not holders or pre is None or state.best is None:
        return None
    return MatchWindowOpened(at=now, actor=SYSTEM, closes_at=ends + pre.window_s * 1000,
                             price=state.best, holders=[b.bidder_no for b in holders])


def may_match(state: LotState, bidder: Bidder, window: Window | None) -> bool:
    """Whether ``bidder`` may match the best price now: a holder outranking the best
    bidder, under ``during`` while bids are taken, under ``at_end`` offered the price in
    an open ``window``."""
    pre = of(state)
    if pre is None or state.leader is None or state.leader == bidder.bidder_id:
        return False
    mine = pre.priority(bidder.bidder_id)
    if mine is None or (pre.exercise == "at_end") != (window is not None):
        return False
    if window is not None and bidder.bidder_id not in window.offered:
        return False
    theirs = pre.priority(state.leader)
    return theirs is None or mine < theirs


def matches(state: LotState, bidder: Bidder, amount: object, window: Window | None) -> bool:
    """Whether a price bid of ``amount`` by ``bidder`` is a match of the best price."""
    return amount == state.best and may_match(state, bidder, window)


def price_matched(state: LotState, bidder: Bidder, amount: int, now: int) -> PriceMatched:
    """The :class:`PriceMatched` that follows the bid of holder ``bidder`` matching the
    best price ``amount``."""
    pre = of(state)
    priority = None if pre is None else pre.priority(bidder.bidder_id)
    assert priority is not None  # only a holder matches
    return PriceMatched(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                        bidder_no=bidder.bidder_no, amount=amount, priority=priority)


def match(state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> list[Event]:
    """The events of a match with nothing else to record: the bid, then
    :class:`PriceMatched`."""
    return [BidAccepted(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                        bidder_no=bidder.bidder_no, amount=cmd.amount, ip=cmd.ip,
                        device=cmd.device, ref=cmd.ref, confirmed=cmd.confirmed),
            price_matched(state, bidder, cmd.amount, now)]


# --------------------------------------------------------------------------- views


def matched_no(state: LotState) -> str | None:
    """The number of the holder leading by a match (another bidder holds the same price),
    None when the best was not matched."""
    leader = state.bidders.get(state.leader) if state.leader is not None else None
    if leader is None or not any(b.last_bid == state.best and b is not leader
                                 for b in state.bidders.values()):
        return None
    return leader.bidder_no


def view(state: LotState, view: dict[str, Any], audience: str,
         window: Window | None) -> None:
    """Add ``preemption`` to a snapshot: the holder leading by a match, the open window
    (its end, price and how many holders it offers), and for staff the holders (ids, in
    order of priority)."""
    pre = of(state)
    if pre is None:
        return
    out: dict[str, Any] = {
        "matched_no": matched_no(state),
        "window": None if window is None else {
            "closes_at": state.closes_at,
            "price": format_amount(window.price, state.params.decimals),
            "holders": len(window.offered)},
    }
    if audience == "staff":
        out["holders"] = list(pre.holders)
    view["preemption"] = out


def bidder_view(state: LotState, view: dict[str, Any], bidder: Bidder,
                window: Window | None, open_for_bids: bool) -> None:
    """Add ``preemption`` to a holder's own standing: its priority, whether it may match
    the best price now (``open_for_bids``: the lot takes its price bids) and that price."""
    pre = of(state)
    priority = None if pre is None else pre.priority(bidder.bidder_id)
    if priority is None:
        return
    may = open_for_bids and state.eligible(bidder) and may_match(state, bidder, window)
    view["preemption"] = {
        "priority": priority, "may_match": may,
        "match_price": format_amount(state.best, state.params.decimals)
        if may and state.best is not None else None}


def redact(state: LotState, record: Recorded, audience: str,
           bidder_id: str | None) -> dict[str, Any] | None:
    """:class:`PriceMatched` and :class:`MatchWindowOpened` as ``audience`` may see them
    (None for other events): everyone sees a match's bidder number and price and a
    window's end and price; the holders' ids, priorities and the numbers offered a window
    are for staff (a holder offered one sees ``own``)."""
    e = record.event
    money = state.params.decimals
    out: dict[str, Any] = {"seq": record.seq, "type": type(e).__name__, "at": e.at}
    if isinstance(e, PriceMatched):
        out.update(bidder_no=e.bidder_no, amount=format_amount(e.amount, money))
        if audience == "staff":
            out.update(actor=e.actor, bidder_id=e.bidder_id, priority=e.priority)
        return out
    if isinstance(e, MatchWindowOpened):
        out.update(closes_at=e.closes_at, price=format_amount(e.price, money))
        if audience == "staff":
            out.update(actor=e.actor, holders=list(e.holders))
        elif (audience == "bidder" and bidder_id in state.bidders
              and state.bidders[bidder_id].bidder_no in e.holders):
            out["own"] = True
        return out
    return None
