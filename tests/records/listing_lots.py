"""Simulated ``listing_timed`` lots for the record tests (see :mod:`.sim`)."""

from __future__ import annotations

from typing import Any

from auction.draw import commitment
from auction.model import Act, CreateLot, Event, ScheduleLot, StartLot, Tick
from auction.record import Recorded
from auction.state import LotState

from .sim import HOST, T0, SimLot, cny

SEED = "c0ffee" * 10 + "abcd"
ENDS = T0 + 600_000


def land(**overrides: Any) -> dict[str, Any]:
    """国有建设用地使用权: listing 10 minutes from 10,000,000.00 by 100,000.00, capped at
    12,000,000.00 with a lottery (60 s to declare)."""
    base: dict[str, Any] = {"start_price": "10000000.00", "step": "100000.00",
                            "deposit": "2000000.00", "listing_ends_at": ENDS,
                            "confirm_s": 120, "countdown_s": 60, "cap": "12000000.00",
                            "cap_rule": "lottery", "cap_confirm_s": 60}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class ListingSimLot(SimLot):
    def __init__(self, lot_id: str, lot_params: dict[str, Any], *,
                 title: str = "国有建设用地使用权 XQ-2026-07") -> None:
        self.lot_id = lot_id
        self.state: LotState | None = None
        self.records: list[Recorded] = []
        self.connections: list[dict[str, Any]] = []
        self.do(CreateLot(lot_id=lot_id, session_id="S-1", format="listing_timed", title=title,
                          params=lot_params, actor=HOST), T0 - 60_000)

    def open(self, at: int = T0) -> ListingSimLot:
        self.do(ScheduleLot(actor=HOST), at)
        self.do(StartLot(actor=HOST, seed=SEED, seed_hash=commitment(SEED)), at)
        return self

    def act(self, bidder_id: str, act: str, at: int, amount: str | None = None,
            ip: str = "") -> list[Event]:
        return self.do(Act(bidder_id=bidder_id, act=act, ip=ip,
                           amount=None if amount is None else cny(amount)), at)

    def tick(self, at: int) -> list[Event]:
        return self.do(Tick(seed=SEED, seed_hash=commitment(SEED)), at)


def lottery_lot() -> ListingSimLot:
    """Three bidders bid in the listing, two confirm, timed bidding reaches the cap, the
    third... cannot follow; the other confirmed bidder declares; the draw decides."""
    lot = ListingSimLot("L-LAND", land())
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.open()
    lot.bid("a", "10000000.00", T0 + 10_000, ip="10.0.0.1", device="web:aa")
    lot.bid("b", "10500000.00", T0 + 20_000, ip="10.0.0.2", device="web:bb")
    lot.bid("c", "10600000.00", T0 + 30_000, ip="10.0.0.3", device="web:cc")
    lot.tick(ENDS)
    lot.act("a", "confirm", ENDS + 1000)
    lot.act("b", "confirm", ENDS + 2000)
    lot.tick(ENDS + 120_000)
    lot.bid("a", "11000000.00", ENDS + 130_000, ip="10.0.0.1", device="web:aa")
    lot.bid("b", "12000000.00", ENDS + 140_000, ip="10.0.0.2", device="web:bb")
    lot.act("a", "accept_cap", ENDS + 150_000)
    lot.tick(ENDS + 200_000)
    return lot


def secondary_lot() -> ListingSimLot:
    """Capped with a second quantity (m² of public housing) bid on after the cap."""
    lot = ListingSimLot("L-SEC", land(cap_rule="secondary", cap_confirm_s=None,
                                      secondary={"start": "500.00", "step": "100.00",
                                                 "countdown_s": 30, "unit": "m²"}))
    for bidder_id, no in (("a", "4821"), ("b", "1377")):
        lot.register(bidder_id, no)
    lot.open()
    lot.bid("a", "12000000.00", T0 + 10_000, ip="10.0.0.1")
    lot.act("b", "secondary", T0 + 20_000, "500.00", ip="10.0.0.2")
    lot.act("a", "secondary", T0 + 25_000, "700.00", ip="10.0.0.1")
    lot.tick(T0 + 55_000)
    return lot
