"""Random command sequences on ``listing_timed`` lots (time advancing, late ticks, pause and
resume, staff actions, confirmations, cap declarations, second-quantity bids): the
invariants of the shared machine hold, every rejection changes nothing, the record
replays to the same state and verifies offline, and the outcome is the one the rules
give, judged here independently."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize

from auction.draw import commitment
from auction.english import min_next_bid as english_min_next_bid
from auction.lot import decide
from auction.model import (
    Act,
    BidAccepted,
    CloseExtended,
    Event,
    LotAwarded,
    LotDrawn,
    LotFailed,
    PlaceBid,
    StartLot,
    Tick,
)
from auction.state import CLOSED, OPEN
from auction.verify import build_export, dumps, verify

from .test_state_machine import BIDDERS, HOST, OUTCOME_EVENTS, T0, LotMachine

SEED = "5eed" * 16


@st.composite
def listing_params(draw: st.DrawFn) -> dict[str, Any]:
    def pick(*options: Any) -> Any:
        return draw(st.sampled_from(options))

    p: dict[str, Any] = {"start_price": "100.00", "step": "10.00", "deposit": "50.00",
                         "listing_ends_at": T0 + pick(30, 5, 60) * 1000,
                         "confirm_s": pick(10, 1, 30), "countdown_s": pick(10, 2, 30)}
    if pick(False, True):
        # Steps of 10 % of the price improved on (10.00 from the start price).
        del p["step"]
        p["step_percent"] = "10"
        p["step_round"] = pick("up", "down", "half_up")
    if pick(True, False):
        p["reserve"] = pick("130.00", "120.00")
    if pick(False, True):
        p["listing_opens_at"] = T0 + 1000
    if pick(False, True):
        # Straight into timed bidding for every bidder with a listing bid.
        p["confirm"] = "auto"
        del p["confirm_s"]
    rule = pick("lottery", "secondary", None, "none", "minimum")
    if rule == "minimum":
        # A minimum number of bidders (it does not go with a cap).
        p["min_bidders"] = pick(2, 3)
        p["below_min"] = pick("fail", "award_single")
        rule = None
    if rule is not None:
        p["cap"] = pick("155.00", "200.00", "130.00")
        p["cap_rule"] = rule
        if rule == "lottery":
            p["cap_confirm_s"] = pick(10, 1)
        if rule == "secondary":
            p["secondary"] = {"start": "10.00", "step": "5.00", "countdown_s": pick(10, 1),
                              "unit": "m²"}
    return p


class ListingMachine(LotMachine):
    FORMAT = "listing_timed"
    TITLE = "国有建设用地使用权"
    ACTIONS = ("bid", "advance", "confirm", "tick", "bid", "advance_to_deadline", "accept_cap",
               "secondary", "bid", "confirm", "accept_cap", "secondary", "bid_at_deadline",
               "act_at_deadline", "advance", "pause", "resume", "extend", "register",
               "deposit", "cancel")

    @initialize(params=listing_params(), ready=st.sampled_from([3, 2, 4, 1, 0]),
                stage=st.sampled_from(["open", "open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)

    def entrants(self) -> list[str]:
        """The bidders who bid in the listing."""
        return list(self.s.play.listed)

    def tick(self) -> None:
        cmd = Tick(seed=SEED, seed_hash=commitment(SEED))
        decision = self.apply(cmd)
        assert isinstance(decision, list), "a tick is never refused"
        assert decide(self.s, cmd, self.now) == [], "firing a tick twice did something"

    def do_start(self, data: st.DataObject | None) -> None:
        self.apply(StartLot(actor=HOST, seed=SEED, seed_hash=commitment(SEED)))

    def bidder(self, data: st.DataObject) -> str:
        """Mostly an eligible bidder other than the leader, sometimes anyone."""
        s = self.s
        likely = [b for b in sorted(s.bidders) if s.eligible(s.bidders[b]) and b != s.leader]
        return data.draw(st.one_of(st.sampled_from(likely or BIDDERS),
                                   st.sampled_from(BIDDERS)), label="bidder")

    def do_advance(self, data: st.DataObject) -> None:
        self.now += data.draw(st.one_of(st.integers(0, 1_000), st.integers(0, 8_000)),
                              label="ms")

    def do_bid(self, data: st.DataObject) -> None:
        s = self.s
        cap = s.params.options.cap
        base = s.best if s.best is not None else s.params.start_price - 1000
        amount = data.draw(st.one_of(
            st.integers(1, 3).map(lambda k: base + k * 1000),
            st.integers(1, 3).map(lambda k: base + k * s.params.step_at(base)),
            st.sampled_from([cap or 1, (cap or 1) + 1, base + 500, base]),
        ), label="amount")
        self.apply(PlaceBid(bidder_id=self.bidder(data), amount=amount, ip="10.0.0.1"))

    def do_confirm(self, data: st.DataObject) -> None:
        play = self.s.play
        listed = [b for b in play.listed if b not in play.confirmed] if play else []
        bidder = data.draw(st.one_of(st.sampled_from(listed or BIDDERS),
                                     st.sampled_from(BIDDERS)), label="bidder")
        self.apply(Act(bidder_id=bidder, act="confirm"))

    def do_accept_cap(self, data: st.DataObject) -> None:
        self.apply(Act(bidder_id=self.bidder(data), act="accept_cap"))

    def do_secondary(self, data: st.DataObject) -> None:
        best = self.s.play.sec_best if self.s.play else None
        amount = data.draw(st.sampled_from([1000, (best or 1000) + 500, (best or 0) + 200]),
                           label="quantity")
        self.apply(Act(bidder_id=self.bidder(data), act="secondary", amount=amount))

    def do_act_at_deadline(self, data: st.DataObject) -> None:
        self.do_advance_to_deadline(data)
        getattr(self, data.draw(st.sampled_from(["do_confirm", "do_accept_cap",
                                                 "do_secondary"]), label="act"))(data)

    def check_event(self, fact: Event) -> None:
        assert fact.at == self.now
        if self.state is None:
            return
        s, p = self.state, self.state.params
        cap = p.options.cap
        assert s.outcome is None, "an event after the outcome"
        if isinstance(fact, BidAccepted):
            assert s.status == OPEN and s.eligible(s.bidders[fact.bidder_id])
            assert fact.amount >= p.start_price and s.leader != fact.bidder_id
            assert cap is None or fact.amount <= cap
            assert s.best is None or fact.amount > s.best
            assert fact.amount == cap or p.tiers[0].ppm or (
                fact.amount - p.start_price) % p.tiers[0].step == 0
            assert fact.amount == cap or english_min_next_bid(s, None) is None or (
                fact.amount >= english_min_next_bid(s, None))
            assert s.play.cap_by is None, "a price bid after the cap"
            if s.play.phase != "listing":
                assert fact.bidder_id in s.play.confirmed
            else:
                # listing_ends_at, as pauses and staff extensions moved it
                assert s.closes_at is not None and fact.at < s.closes_at
        if type(fact).__name__ == "TimedOpened":
            # Timed bidding opens after a confirm window, or at once under confirm auto
            # (everyone with a listing bid in).
            assert s.play.confirmed or p.options.confirm == "auto"
            assert s.play.phase == ("listing" if p.options.confirm == "auto" else "confirm")
        if type(fact).__name__ == "ConfirmOpened":
            assert p.options.confirm == "required"
        if isinstance(fact, CloseExtended) and fact.actor != HOST:
            assert s.closes_at is not None and fact.closes_at >= s.closes_at
        if isinstance(fact, OUTCOME_EVENTS):
            assert not any(isinstance(e, OUTCOME_EVENTS) for e in self.events)
        if isinstance(fact, LotDrawn):
            assert fact.candidates == sorted(fact.candidates)
            digest = hashlib.sha256((fact.seed + "lot-x").encode()).hexdigest()
            assert fact.index == int(digest, 16) % len(fact.candidates)
            assert fact.winner_no == fact.candidates[fact.index]
        if isinstance(fact, LotFailed) and s.status != CLOSED:
            # Too few eligible bidders to open (min_bidders).
            eligible = sum(1 for b in s.bidders.values() if s.eligible(b))
            assert fact.reason == "too_few_bidders" and eligible < p.min_bidders
            return
        if isinstance(fact, (LotAwarded, LotFailed)):
            assert s.status == CLOSED
            play = s.play
            if play.cap_by is not None:
                assert isinstance(fact, LotAwarded) and fact.amount == cap
                if s.params.options.cap_rule == "none":
                    assert fact.bidder_id == play.cap_by
                if s.params.options.cap_rule == "secondary":
                    assert fact.bidder_id == (play.sec_leader or play.cap_by)
                return
            self.check_outcome(fact)

    def teardown(self) -> None:
        if self.state is None:
            return
        super().teardown()
        result = verify(dumps(build_export(self.s, self.records)))
        assert result.ok, result.summary


ListingMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestListingMachine = ListingMachine.TestCase
