"""Driving clock lots (dutch, japanese) through the rules core, on top of support.Lot."""

from __future__ import annotations

from typing import Any

from auction.model import Act, CreateLot, Event

from .support import HOST, T0, Lot

SEED = "a secret seed of the lot"
SECOND = 1000


def dutch_params(**overrides: Any) -> dict[str, Any]:
    """Forward dutch: 100.00 falling by 10.00 every 10 s to a floor of 60.00 (5 levels)."""
    params: dict[str, Any] = {"start_price": "100.00", "step": "10.00", "tick_s": 10,
                              "floor": "60.00", "deposit": "50.00"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def japanese_params(**overrides: Any) -> dict[str, Any]:
    """Forward japanese: 100.00 rising by 10.00 every 10 s, earliest tie rule."""
    params: dict[str, Any] = {"start_price": "100.00", "step": "10.00", "tick_s": 10,
                              "deposit": "50.00"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


class ClockLot(Lot):
    """A lot of a clock format, opened by staff at T0 with the engine's draw seed."""

    seed = SEED

    def __init__(self, fmt: str, params: dict[str, Any], *, now: int = T0) -> None:
        self.now = now
        self.state = None
        self.events: list[Event] = []
        self.accept(CreateLot(lot_id="lot-1", session_id="s-1", format=fmt,
                              title="国有产权 C-7", params=params, actor=HOST))

    def act(self, bidder_id: str, act: str, at: int | None = None) -> list[Event]:
        return self.accept(Act(bidder_id=bidder_id, act=act), at)

    def refuse_act(self, bidder_id: str, act: str, code: str, at: int | None = None) -> None:
        self.refuse(Act(bidder_id=bidder_id, act=act), code, at)


def dutch(*bidders: str, **overrides: Any) -> ClockLot:
    return ClockLot("dutch", dutch_params(**overrides)).open(*bidders)


def japanese(*bidders: str, **overrides: Any) -> ClockLot:
    return ClockLot("japanese", japanese_params(**overrides)).open(*bidders)
