"""Random command sequences on random forward english lots with proxy bidding: the
invariants of the shared machine hold, every proxy maximum is respected, proxies at rest
have answered every bid they could, and replaying the record reproduces the state."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction.english import PROXY_REF, Proxies, ProxySet
from auction.model import SYSTEM, Act, BidAccepted, Event
from auction.state import OPEN

from .test_state_machine import BIDDERS, LotMachine, lot_params


def proxy_params() -> st.SearchStrategy[dict[str, Any]]:
    return lot_params().filter(
        lambda p: p["direction"] == "forward" and p["improve"] == "leader"
    ).map(lambda p: {**p, "proxy": True})


class ProxyMachine(LotMachine):
    ACTIONS = ("proxy", *LotMachine.ACTIONS, "proxy", "proxy", "raise")

    @initialize(params=proxy_params(), ready=st.sampled_from([3, 2, 4]),
                stage=st.sampled_from(["open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)

    def do_proxy(self, data: st.DataObject) -> None:
        """A maximum a few steps above the next acceptable price (or below it)."""
        s = self.s
        bidder = data.draw(st.sampled_from(BIDDERS), label="proxy bidder")
        base = s.best if s.best is not None else s.params.start_price
        step = s.params.step_at(base)
        amount = data.draw(st.one_of(st.integers(-1, 8).map(lambda k: base + k * step),
                                     st.integers(-3, 3).map(lambda k: base + step + k)),
                           label="maximum")
        self.apply(Act(bidder_id=bidder, act="proxy", amount=amount))

    def do_raise(self, data: st.DataObject) -> None:
        book = self.s.play
        if isinstance(book, Proxies) and book.maxima:
            bidder = data.draw(st.sampled_from(sorted(book.maxima)), label="raiser")
            delta = data.draw(st.integers(-300, 3000), label="delta")
            self.apply(Act(bidder_id=bidder, act="proxy", amount=book.maxima[bidder][0] + delta))

    def check_event(self, fact: Event) -> None:
        super().check_event(fact)
        if isinstance(fact, BidAccepted) and fact.actor == SYSTEM:
            assert fact.ref == PROXY_REF
            maximum = self.maximum_after(fact.bidder_id)
            assert maximum is not None and fact.amount <= maximum, "an auto-bid past the maximum"

    def maximum_after(self, bidder_id: str) -> int | None:
        """The holder's maximum, counting a ProxySet of the decision being applied."""
        pending = [e for e in self.pending if isinstance(e, ProxySet)
                   and e.bidder_id == bidder_id]
        if pending:
            return pending[-1].amount
        book = self.s.play
        return book.maxima[bidder_id][0] if isinstance(book, Proxies) and \
            bidder_id in book.maxima else None

    def apply(self, cmd: Any) -> Any:
        from auction.lot import decide
        decision = decide(self.state, cmd, self.now)
        self.pending = decision if isinstance(decision, list) else []
        return super().apply(cmd)

    @invariant()
    def proxies_at_rest_have_answered_every_bid_they_could(self) -> None:
        if self.state is None or self.state.status != OPEN:
            return
        s = self.s
        book = s.play
        if not isinstance(book, Proxies):
            return
        price = s.params.start_price if s.best is None else s.best + s.params.step_at(s.best)
        held = book.maxima.get(s.leader) if s.leader is not None else None
        reach = price + s.params.step_at(price)
        for bidder_id, (maximum, seq) in book.maxima.items():
            if bidder_id == s.leader or maximum < price:
                continue
            # Only a later maximum tying the leader's earlier one on the grid may rest.
            assert held is not None and held[1] < seq and maximum < reach
            assert price <= held[0] < reach

    @invariant()
    def a_leading_proxy_never_pays_more_than_needed(self) -> None:
        if self.state is None or not self.s.bids:
            return
        last = self.events[-1] if self.events else None
        if isinstance(last, BidAccepted) and last.actor == SYSTEM and len(self.s.bids) > 1:
            # An auto-bid is exactly one step above the bid it answers.
            before = self.s.bids[-2].amount
            assert last.amount == before + self.s.params.step_at(before)


ProxyMachine.TestCase.settings = LotMachine.TestCase.settings
TestProxyMachine = ProxyMachine.TestCase
