"""Random command sequences on random sealed lots (time advancing, revisions, pause and
resume, staff actions, draws) never break the invariants of the rules core; every
rejection changes nothing; replaying the stored record reproduces the state; and before
the opening no audience but the bidder sees a sealed price."""

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction import draw
from auction.lot import decide
from auction.model import (
    BidAccepted,
    Event,
    LotAwarded,
    LotDrawn,
    LotFailed,
    PlaceBid,
    StartLot,
    Tick,
)
from auction.money import CURRENCY_DECIMALS, format_amount
from auction.sealed import BidsOpened, finals, withheld
from auction.state import CLOSED, OPEN
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .test_state_machine import BIDDERS, HOST, OUTCOME_EVENTS, T0, LotMachine

SEED = "c0ffee" * 10
SEED_HASH = draw.commitment(SEED)


@st.composite
def sealed_params(draw_: st.DrawFn) -> dict[str, Any]:
    def pick(*options: Any) -> Any:
        return draw_(st.sampled_from(options))

    currency = pick("CNY", "JPY")
    decimals = CURRENCY_DECIMALS[currency]
    direction = pick("forward", "reverse")
    p: dict[str, Any] = {"direction": direction, "currency": currency,
                         "revisions": pick(1, 0, 2), "tie_rule": pick("lottery", "earliest")}
    if pick(True, False):
        p["start_price"] = format_amount(pick(100, 50, 150), decimals)
    if direction == "forward" and pick(True, False):
        p["reserve"] = format_amount(pick(120, 100, 140), decimals)
    if direction == "reverse" and pick(True, False):
        p["ceiling"] = format_amount(pick(150, 120, 100), decimals)
        if "start_price" in p and int(p["start_price"].replace(".", "")) > int(
                p["ceiling"].replace(".", "")):
            del p["start_price"]
    if pick(True, False):
        p["deposit"] = format_amount(50, decimals)
    opens = pick(None, 0, 2_000)
    if opens is not None:
        p["opens_at"] = T0 + opens
    span = pick(60, 10, 5)
    if pick(True, False):
        p["closes_at"] = T0 + (opens or 0) + span * 1000
    else:
        p["duration_s"] = span
    return p


class SealedMachine(LotMachine):
    FORMAT = "sealed"
    TITLE = "sealed lot"
    BEST_NEVER_WORSENS = False  # a bidder may revise its own sealed bid

    @initialize(params=sealed_params(), ready=st.sampled_from([3, 2, 4, 1, 0]),
                stage=st.sampled_from(["open", "open", "scheduled", "draft"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)

    def check_event(self, fact: Event) -> None:
        assert fact.at == self.now
        if self.state is None:
            return
        s, p = self.state, self.state.params
        options = p.options
        assert s.outcome is None, "an event after the outcome"
        if isinstance(fact, BidAccepted):
            assert s.status == OPEN
            assert s.closes_at is not None and fact.at < s.closes_at, "a bid at/after close"
            bidder = s.bidders[fact.bidder_id]
            assert s.eligible(bidder) and fact.amount > 0
            assert bidder.bids <= options.revisions, "more revisions than allowed"
            assert fact.amount != bidder.last_bid
            if p.ceiling is not None:
                assert fact.amount <= p.ceiling
            if options.start_price is not None:
                assert (fact.amount >= options.start_price if p.direction == "forward"
                        else fact.amount <= options.start_price)
        if isinstance(fact, BidsOpened):
            assert s.status == CLOSED
            final = finals(s)
            assert fact.bidder_nos == [b.bidder_no for b in final]
            assert fact.amounts == [b.last_bid for b in final]
        if isinstance(fact, OUTCOME_EVENTS):
            assert not any(isinstance(e, OUTCOME_EVENTS) for e in self.events)
        if isinstance(fact, LotDrawn):
            assert options.tie_rule == "lottery" and fact.seed == SEED
        if isinstance(fact, (LotAwarded, LotFailed)):
            # Judged independently from the final bids.
            assert s.status == CLOSED
            final = finals(s)
            forward = p.direction == "forward"
            if not final:
                assert isinstance(fact, LotFailed) and fact.reason == "no_bids"
                return
            best = (max if forward else min)(b.last_bid or 0 for b in final)
            if p.reserve is not None and best < p.reserve:
                assert isinstance(fact, LotFailed) and fact.reason == "reserve_not_met"
                return
            assert isinstance(fact, LotAwarded) and fact.amount == best
            tied = [b.bidder_no for b in final if b.last_bid == best]
            if options.tie_rule == "earliest" or len(tied) == 1:
                assert fact.bidder_no == tied[0]
            else:
                assert fact.bidder_no == draw.draw(SEED, s.lot_id, tied)[2]

    def tick(self) -> None:
        decision = self.apply(Tick(seed=SEED, seed_hash=SEED_HASH))
        assert isinstance(decision, list), "a tick is never refused"
        assert decide(self.s, Tick(seed=SEED, seed_hash=SEED_HASH), self.now) == []

    def do_start(self, data: st.DataObject | None) -> None:
        self.apply(StartLot(actor=HOST, seed=SEED, seed_hash=SEED_HASH))

    def do_bid(self, data: st.DataObject) -> None:
        bidder = data.draw(st.sampled_from(BIDDERS), label="bidder")
        amount = data.draw(st.one_of(st.integers(90, 160), st.sampled_from([0, -1, 140])),
                           label="amount")
        self.apply(PlaceBid(bidder_id=bidder, amount=amount, ip="10.0.0.1", device="d"))

    @invariant()
    def the_state_is_consistent(self) -> None:
        if self.state is None:
            return
        s = self.state
        final = finals(s)
        if final:
            forward = s.params.direction == "forward"
            best = (max if forward else min)(b.last_bid or 0 for b in final)
            assert s.best == best
            assert s.leader == next(b.bidder_id for b in final if b.last_bid == best)
        else:
            assert s.best is None and s.leader is None

    @invariant()
    def no_one_but_the_bidder_sees_a_sealed_price(self) -> None:
        if self.state is None or not withheld(self.state):
            return
        s = self.state
        staff = snapshot(s, STAFF)
        assert staff["best"] is None and staff["leader_no"] is None
        assert all(row["last_bid"] is None for row in staff["register"])
        assert snapshot(s, PUBLIC)["best"] is None
        for record in self.records:
            if isinstance(record.event, BidAccepted):
                assert "amount" not in redact(s, record, STAFF)
                assert "amount" not in redact(s, record, PUBLIC)
                other = next((b for b in s.bidders if b != record.event.bidder_id), None)
                if other is not None:
                    assert "amount" not in redact(s, record, BIDDER, other)
                assert "amount" in redact(s, record, BIDDER, record.event.bidder_id)


SealedMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestSealedMachine = SealedMachine.TestCase
