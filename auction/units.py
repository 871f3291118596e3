"""Multi-unit lots (``units`` above 1): N identical units (quotas, licences, plates) sold
in one open ascending ``english`` auction, or in one ``sealed`` opening (:func:`award`
over the final bids, see :mod:`auction.sealed`).

Each bidder's standing bid is its last one: a price for each of ``units`` units (1
unless the lot's ``max_units_per_bidder`` allows more). The bids ranked best first (equal
prices by who reached them first) are *allotted* the lot's units in turn, each as many as
it asks for while units are left: the *cut-off* is the price of the last bid allotted a
unit once every unit is allotted (None while some are not). A new bid must beat the
cut-off by the step (any price from the start price while units are left), and its
bidder's own last bid too; it may not ask for fewer units than that bid did.

At the close only bids at or above the reserve are allotted units; each winner is awarded
its units (one ``LotAwarded`` each, in the order of the ranking) at its own price
(``pricing: pay_as_bid``) or all at the lowest winning price (``pricing: uniform``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auction.formats import below_minimum
from auction.messages import MESSAGES
from auction.model import SYSTEM, Event, LotAwarded, LotClosed, LotFailed, Rejection
from auction.money import format_amount
from auction.state import AWARDED, Award, Bidder, LotState

MESSAGES.update({
    "bad_units": ("申购数量不符合本标的规定（至少 1 个，至多为每位竞买人可竞买的数量）",
                  "The number of units must be from 1 to what this lot allows one bidder"),
    "units_reduced": ("申购数量不得少于本人上一次出价的数量",
                      "A bid may not ask for fewer units than your last bid"),
})


def awards_of(state: LotState) -> list[Award]:
    """Every award of an awarded lot, best first: a multi-unit lot's winners, or the single
    winner of any other lot (one unit at its price); empty unless awarded."""
    o = state.outcome
    if o is None or o.status != AWARDED or o.bidder_id is None or o.bidder_no is None \
            or o.amount is None:
        return []
    return list(o.awards) or [Award(o.bidder_id, o.bidder_no, 1, o.amount)]


def allotment(state: LotState, floor: int | None = None,
              ranked: list[Bidder] | None = None) -> list[tuple[Bidder, int]]:
    """The bidders allotted units, best first, with how many each: the bids of ``ranked``
    (by default the lot's ranking; those at or above ``floor`` when given) each take as
    many units as they ask for while units are left."""
    left = state.params.units
    allotted: list[tuple[Bidder, int]] = []
    for bidder in state.ranking() if ranked is None else ranked:
        if left == 0 or (floor is not None and (bidder.last_bid or 0) < floor):
            break
        units = min(bidder.last_units, left)
        allotted.append((bidder, units))
        left -= units
    return allotted


@dataclass(frozen=True, slots=True)
class Board:
    """The allotment of an open multi-unit ``english`` lot (its ``LotState.play``, made
    anew after every bid, :func:`note`): how many units each bidder holds now, how many
    are allotted, and the cut-off price (None while units are left). Every view of the
    lot reads it, so a bid's views cost no more sorting than the bid itself."""

    held: Mapping[str, int]
    allotted: int
    cut_off: int | None


def note(state: LotState) -> None:
    """Keep the allotment of ``state`` (after a bid, or a restart voiding every bid) in
    ``state.play``: a new :class:`Board` each time, never one changed in place (a copy of
    the state made to decide ahead may share the old one)."""
    allotted = allotment(state)
    total = sum(units for _, units in allotted)
    state.play = Board({b.bidder_id: units for b, units in allotted}, total,
                       allotted[-1][0].last_bid if total == state.params.units else None)


def board(state: LotState) -> Board:
    """The lot's :class:`Board` (an empty one before the first bid)."""
    return state.play if isinstance(state.play, Board) else Board({}, 0, None)


def cut_off(state: LotState) -> int | None:
    """The lowest price still winning a unit once every unit is allotted, else None."""
    return board(state).cut_off


def held(state: LotState, bidder: Bidder) -> int:
    """How many units ``bidder`` would win if the lot closed now (reserve aside)."""
    return board(state).held.get(bidder.bidder_id, 0)


def reference(state: LotState, bidder: Bidder | None) -> int | None:
    """The price a new bid (of ``bidder``, or of anyone) must improve on: the higher of the
    cut-off and the bidder's own last bid (None: only the start price binds)."""
    own = None if bidder is None else bidder.last_bid
    return max((price for price in (cut_off(state), own) if price is not None), default=None)


def judge_units(bidder: Bidder, units: int) -> Rejection | None:
    """Why a bid of ``bidder`` may not ask for ``units`` units, or None when it may (the
    lot's ``max_units_per_bidder`` is checked by :mod:`auction.lot` for every lot)."""
    if bidder.last_bid is not None and units < bidder.last_units:
        return Rejection("units_reduced")
    return None


def close(state: LotState, now: int, closed: LotClosed) -> list[Event]:
    """The outcome of closing a multi-unit lot with at least one bid: each winner's award,
    or ``LotFailed`` (too few bidders, or no bid at or above the reserve)."""
    short = below_minimum(state, now, sum(1 for b in state.bidders.values() if b.bids))
    if short is not None:
        return [closed, short]
    return [closed, *award(state, now)]


def award(state: LotState, now: int, ranked: list[Bidder] | None = None) -> list[Event]:
    """The outcome of the bids of ``ranked`` (default: the lot's ranking), best first: a
    ``LotAwarded`` for each bidder allotted a unit among the bids at or above the reserve,
    at its own price or (``uniform``) at the lowest winning one; ``LotFailed``
    (``reserve_not_met``) when no bid reaches the reserve."""
    allotted = allotment(state, state.params.reserve, ranked)
    if not allotted:
        return [LotFailed(at=now, actor=SYSTEM, reason="reserve_not_met")]
    uniform = state.params.pricing == "uniform"
    lowest = allotted[-1][0].last_bid
    events: list[Event] = []
    for bidder, units in allotted:
        price = lowest if uniform else bidder.last_bid
        assert price is not None  # allotted bidders have a bid
        events.append(LotAwarded(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                                 bidder_no=bidder.bidder_no, amount=price, units=units))
    return events


def view(state: LotState, view: dict[str, Any]) -> None:
    """The board's part of a multi-unit lot: how many units, how many are allotted and the
    cut-off price (None while units are left)."""
    now = board(state)
    view["units"] = {
        "total": state.params.units, "allotted": now.allotted,
        "cut_off": None if now.cut_off is None
        else format_amount(now.cut_off, state.params.decimals),
    }


def bidder_view(state: LotState, view: dict[str, Any], bidder: Bidder) -> None:
    """A bidder's standing in a multi-unit lot: how many units its last bid asks for and
    how many it holds now; ``leading`` says whether it holds any."""
    units = held(state, bidder)
    view["units_asked"] = bidder.last_units if bidder.last_bid is not None else None
    view["units_held"] = units
    view["leading"] = units > 0
