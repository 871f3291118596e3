"""A small driver for the rules core: a lot, a server clock, and assertions that a
command was accepted or refused (and that a refusal changed nothing)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Self

from auction.draw import commitment
from auction.lot import decide, evolve, replay
from auction.model import (
    CancelLot,
    Command,
    ConfirmDeposit,
    CreateLot,
    Decision,
    Event,
    ExtendLot,
    PauseLot,
    PlaceBid,
    RegisterBidder,
    Rejection,
    ResumeLot,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.money import parse_amount
from auction.state import LotState

T0 = 1_700_000_000_000
MINUTE = 60_000
HOST = "staff:host"


def cny(text: str) -> int:
    return parse_amount(text, 2)


def english(**overrides: Any) -> dict[str, Any]:
    """Forward english params: start 100.00, step 10.00, closes one minute after T0."""
    params: dict[str, Any] = {"start_price": "100.00", "step": "10.00",
                              "closes_at": T0 + MINUTE, "deposit": "50.00"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


class Lot:
    """One lot driven through ``decide``/``evolve`` at the server time ``now``."""

    def __init__(self, params: dict[str, Any] | None = None, *, now: int = T0,
                 title: str = "国有建设用地使用权 A-1") -> None:
        self.now = now
        self.state: LotState | None = None
        self.events: list[Event] = []
        self.accept(CreateLot(lot_id="lot-1", session_id="s-1", format="english", title=title,
                              params=english() if params is None else params, actor=HOST))

    # ----------------------------------------------------------------- driving
    @property
    def s(self) -> LotState:
        assert self.state is not None
        return self.state

    def decide(self, cmd: Command, at: int | None = None) -> Decision:
        """Decide ``cmd`` at ``at`` (default: ``now``); apply its events if any."""
        now = self.now if at is None else at
        before = copy.deepcopy(self.state)
        decision = decide(self.state, cmd, now)
        assert self.state == before, "decide changed the state"
        if not isinstance(decision, Rejection):
            for event in decision:
                self.state = evolve(self.state, event)
            self.events.extend(decision)
        return decision

    def accept(self, cmd: Command, at: int | None = None) -> list[Event]:
        decision = self.decide(cmd, at)
        assert not isinstance(decision, Rejection), decision
        return decision

    def refuse(self, cmd: Command, code: str, at: int | None = None) -> Rejection:
        before = copy.deepcopy(self.state)
        decision = self.decide(cmd, at)
        assert isinstance(decision, Rejection), decision
        assert decision.code == code, decision
        assert self.state == before
        return decision

    #: The lot's secret seed for the formats that draw lots (clock, listing_timed): given
    #: at the start and with every tick, as the server does. None: no seed.
    seed: str | None = None

    def _seeded(self) -> dict[str, str]:
        return {} if self.seed is None else {"seed": self.seed,
                                             "seed_hash": commitment(self.seed)}

    def tick(self, at: int | None = None) -> list[Event]:
        return self.accept(Tick(**self._seeded()), at)

    # ----------------------------------------------------------------- shortcuts
    def register(self, bidder_id: str, no: str | None = None, deposit: str | None = "50.00"
                 ) -> None:
        self.accept(RegisterBidder(bidder_id=bidder_id, bidder_no=no or f"N{bidder_id}",
                                   name=f"竞买人 {bidder_id}", actor=HOST))
        if deposit is not None:
            self.accept(ConfirmDeposit(bidder_id=bidder_id, amount=cny(deposit),
                                       account=f"acct-{bidder_id}", actor=HOST))

    def open(self, *bidders: str) -> Self:
        for bidder in bidders:
            self.register(bidder)
        self.accept(ScheduleLot(actor=HOST))
        self.accept(StartLot(actor=HOST, **self._seeded()))
        return self

    def bid(self, bidder_id: str, amount: str, at: int | None = None) -> Decision:
        return self.decide(PlaceBid(bidder_id=bidder_id, amount=cny(amount)), at)

    def take(self, bidder_id: str, amount: str, at: int | None = None) -> list[Event]:
        """Place a bid that must be accepted; return its events."""
        return self.accept(PlaceBid(bidder_id=bidder_id, amount=cny(amount)), at)

    def refuse_bid(self, bidder_id: str, amount: str, code: str, at: int | None = None
                   ) -> Rejection:
        return self.refuse(PlaceBid(bidder_id=bidder_id, amount=cny(amount)), code, at)

    def bids(self, *pairs: tuple[str, str]) -> None:
        for bidder_id, amount in pairs:
            decision = self.bid(bidder_id, amount)
            assert not isinstance(decision, Rejection), (bidder_id, amount, decision)

    def pause(self, at: int | None = None) -> list[Event]:
        return self.accept(PauseLot(actor=HOST, reason="network fault"), at)

    def resume(self, at: int | None = None) -> list[Event]:
        return self.accept(ResumeLot(actor=HOST, reason="network restored"), at)

    def extend(self, closes_at: int, at: int | None = None) -> Decision:
        return self.decide(ExtendLot(actor=HOST, reason="bidder request", closes_at=closes_at),
                           at)

    def cancel(self, at: int | None = None) -> Decision:
        return self.decide(CancelLot(actor=HOST, reason="court order"), at)

    def replayed(self) -> LotState | None:
        return replay(self.events)


def opened(*bidders: str, **overrides: Any) -> Lot:
    """An open lot (opened at T0) with eligible ``bidders``."""
    return Lot(english(**overrides)).open(*bidders)


def code_of(decision: Decision) -> str:
    assert isinstance(decision, Rejection), decision
    return decision.code


def kinds(events: Sequence[Event]) -> list[str]:
    return [type(e).__name__ for e in events]
