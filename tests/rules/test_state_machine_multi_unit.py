"""Random command sequences on random multi-unit english and sealed lots (``units``,
``pricing``, ``max_units_per_bidder``): the invariants of the shared machines hold, and
every close awards, judged independently from the bids, the best bids (equal prices by
time) never more than the lot's units, each award at or above the reserve, and under
uniform pricing every award at the lowest winning bid."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction.lot import decide
from auction.model import BidAccepted, Command, Event, LotAwarded, LotFailed, PlaceBid
from auction.money import parse_amount
from auction.sealed import finals
from auction.state import AWARDED, CLOSED
from auction.views import PUBLIC, bidder_view, snapshot

from .test_state_machine import FINAL, OUTCOME_EVENTS, LotMachine, lot_params
from .test_state_machine_sealed import SealedMachine, sealed_params


@st.composite
def multi_unit_params(draw: st.DrawFn) -> dict[str, Any]:
    p = draw(lot_params().filter(lambda p: p["direction"] == "forward"
                                 and p["visibility"] == "price"
                                 and p.get("below_min") != "award_single"))
    p.pop("reserve_entry", None)  # a reserve entered late applies to single-unit lots
    units = draw(st.sampled_from([3, 2, 5]), label="units")
    return {**p, "units": units,
            "pricing": draw(st.sampled_from(["uniform", "pay_as_bid"]), label="pricing"),
            "max_units_per_bidder": draw(st.integers(1, units), label="cap")}


def expected_awards(params: Any, last: dict[str, tuple[int, int, int]]
                    ) -> list[tuple[str, int, int]]:
    """The awards of a close judged from each bidder's last (price, units, when) alone:
    best price first and equal prices by when, at or above the reserve, units allotted in
    turn while left; under uniform pricing all at the lowest winning price."""
    ranked = sorted(last.items(), key=lambda item: (-item[1][0], item[1][2]))
    left, expected = params.units, []
    for bidder_id, (price, units, _) in ranked:
        if left == 0 or (params.reserve is not None and price < params.reserve):
            break
        expected.append((bidder_id, min(units, left), price))
        left -= min(units, left)
    if params.pricing == "uniform" and expected:
        expected = [(b, u, expected[-1][2]) for b, u, _ in expected]
    return expected


class MultiUnitChecks(LotMachine):
    """What every multi-unit machine checks: the awards of a decision (:meth:`made`) and
    one outcome made of one or several awards."""

    pending: list[Event] = []

    def apply(self, cmd: Command) -> Any:
        decision = decide(self.state, cmd, self.now)
        self.pending = decision if isinstance(decision, list) else []
        return super().apply(cmd)

    def made(self, expected: list[tuple[str, int, int]]) -> None:
        """The awards of the decision being applied are ``expected``, never more units
        than the lot's, each at or above the reserve."""
        p = self.s.params
        made = [(e.bidder_id, e.units, e.amount) for e in self.pending
                if isinstance(e, LotAwarded)]
        assert made == expected and made, "an award with no bid at the reserve"
        assert sum(units for _, units, _ in made) <= p.units
        assert all(p.reserve is None or price >= p.reserve for _, _, price in made)

    @invariant()
    def exactly_one_outcome_once_ended(self) -> None:
        """One outcome (of one decision: the awards of a close follow each other) once
        ended, and it never changes."""
        if self.state is None:
            return
        outcomes = [e for e in self.events if isinstance(e, OUTCOME_EVENTS)]
        if self.state.status in FINAL:
            assert outcomes and self.state.outcome is not None
            assert all(isinstance(e, LotAwarded) for e in outcomes) or len(outcomes) == 1
            assert self.state.outcome.status == self.state.status
            if self.state.status == AWARDED:
                assert len(self.state.outcome.awards) == len(outcomes)
        else:
            assert outcomes == [] and self.state.outcome is None


class MultiUnitMachine(MultiUnitChecks):
    @initialize(params=multi_unit_params(), ready=st.sampled_from([4, 3, 2]),
                stage=st.sampled_from(["open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)

    def draw_units(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from([1, 2, 1, 3, 0]), label="units")

    def check_event(self, fact: Event) -> None:
        if isinstance(fact, LotAwarded) and self.s.status == AWARDED:
            return  # a further award of the close: checked with the first
        super().check_event(fact)
        if isinstance(fact, BidAccepted):
            bidder = self.s.bidders[fact.bidder_id]
            assert 1 <= fact.units <= self.s.params.max_units_per_bidder
            assert bidder.last_bid is None or fact.units >= bidder.last_units

    def check_outcome(self, fact: LotAwarded | LotFailed) -> None:
        """Every award of the close, judged from the bids alone: each bidder's last bid
        (price, units, when), best price first and equal prices by time, at or above the
        reserve, allotted units in turn while units are left."""
        s = self.s
        if isinstance(fact, LotFailed):
            super().check_outcome(fact)
            return
        last: dict[str, tuple[int, int, int]] = {}
        for bid in s.bids:
            event = self.events[bid.seq - 1]
            assert isinstance(event, BidAccepted)
            last[bid.bidder_id] = (bid.amount, event.units, bid.seq)
        self.made(expected_awards(s.params, last))

    @invariant()
    def the_advertised_next_price_is_accepted(self) -> None:
        """The next acceptable price a view shows (the cut-off and a step, or the start
        price) is accepted from every eligible bidder for the units it last asked for."""
        s = self.state
        if s is None or s.status != "open" or s.closes_at is None or self.now >= s.closes_at:
            return
        public = snapshot(s, PUBLIC)
        for bidder in s.bidders.values():
            you = bidder_view(s, bidder.bidder_id)
            if not s.eligible(bidder) or you is None or you["next_min"] is None:
                continue
            shown = {you["next_min"]} | ({public["next_min"]} if bidder.last_bid is None
                                         or you["units_held"] == 0 else set())
            for price in shown - {None}:
                decision = decide(s, PlaceBid(bidder_id=bidder.bidder_id,
                                              amount=parse_amount(price, s.params.decimals),
                                              units=bidder.last_units), self.now)
                assert isinstance(decision, list), (price, decision)

    @invariant()
    def the_board_never_allots_more_than_the_units(self) -> None:
        if self.state is None or self.s.status != "open":
            return
        units = snapshot(self.s, PUBLIC)["units"]
        assert units["allotted"] <= units["total"] == self.s.params.units
        assert (units["cut_off"] is None) == (units["allotted"] < units["total"])


MultiUnitMachine.TestCase.settings = LotMachine.TestCase.settings
TestMultiUnitMachine = MultiUnitMachine.TestCase


@st.composite
def sealed_multi_unit_params(draw: st.DrawFn) -> dict[str, Any]:
    p = draw(sealed_params().filter(lambda p: p["direction"] == "forward"))
    units = draw(st.sampled_from([2, 3]), label="units")
    return {**p, "tie_rule": "earliest", "units": units,
            "pricing": draw(st.sampled_from(["uniform", "pay_as_bid"]), label="pricing")}


class SealedMultiUnitMachine(MultiUnitChecks, SealedMachine):
    """Sealed pay-as-bid and uniform-price lots: the opening's awards judged from the
    final bids (equal prices by when the final bid, or commitment, was sequenced)."""

    @initialize(params=sealed_multi_unit_params(), ready=st.sampled_from([4, 3, 2]),
                stage=st.sampled_from(["open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)

    def check_event(self, fact: Event) -> None:
        if isinstance(fact, LotAwarded):
            assert self.s.status in (CLOSED, AWARDED) and fact.at == self.now
            if self.s.status == CLOSED:  # the first award: check them all
                play = self.s.play
                last = {b.bidder_id: (b.last_bid or 0, b.last_units,
                                      play.commits[b.bidder_id].seq if play.commits
                                      else b.last_seq)
                        for b in finals(self.s)}
                self.made(expected_awards(self.s.params, last))
            return
        super().check_event(fact)


SealedMultiUnitMachine.TestCase.settings = LotMachine.TestCase.settings
TestSealedMultiUnitMachine = SealedMultiUnitMachine.TestCase
