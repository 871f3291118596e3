"""A ``listing_timed`` lot for the rules tests (the driver of :mod:`tests.rules.support`)."""

from __future__ import annotations

from typing import Any

from auction.model import Act, CreateLot, Event

from .support import HOST, MINUTE, T0, Lot, cny

SEED = "9f2c" * 16
SECOND = 1000
LISTING_ENDS = T0 + 10 * MINUTE


def listing(**overrides: Any) -> dict[str, Any]:
    """Listing 100.00 by 10.00 from T0 for ten minutes; confirm 300 s, countdown 240 s."""
    params: dict[str, Any] = {"start_price": "100.00", "step": "10.00", "deposit": "50.00",
                              "listing_ends_at": LISTING_ENDS}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


class ListingLot(Lot):

    seed = SEED
    def __init__(self, params: dict[str, Any] | None = None, *, now: int = T0) -> None:
        self.now = now
        self.state = None
        self.events: list[Event] = []
        self.accept(CreateLot(lot_id="lot-1", session_id="s-1", format="listing_timed",
                              title="国有建设用地使用权 A-1",
                              params=listing() if params is None else params, actor=HOST))

    def act(self, bidder_id: str, act: str, amount: str | None = None,
            at: int | None = None) -> list[Event]:
        return self.accept(Act(bidder_id=bidder_id, act=act,
                               amount=None if amount is None else cny(amount)), at)

    def refuse_act(self, bidder_id: str, act: str, code: str, amount: str | None = None,
                   at: int | None = None) -> None:
        self.refuse(Act(bidder_id=bidder_id, act=act,
                        amount=None if amount is None else cny(amount)), code, at)

    @property
    def phase(self) -> str:
        phase: str = self.s.play.phase
        return phase


def listed(*bidders: str, **overrides: Any) -> ListingLot:
    """An open listing lot with eligible ``bidders``."""
    return ListingLot(listing(**overrides)).open(*bidders)
