"""Random command sequences on random forward english and listing_timed lots with
pre-emptive purchase rights (优先购买权): the invariants of the format's machine hold, a
holder's match never lowers the best, a non-holder never wins at an equal price over a
holder, priority is respected, an ``at_end`` window opens and closes on time, and
replaying (and, for listing_timed, verifying) the record reproduces the state."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction import witnessed
from auction.english import Window
from auction.lot import decide, next_deadline
from auction.model import BidAccepted, Event, LotAwarded, LotFailed, PlaceBid, Rejection
from auction.preemption import MatchWindowOpened, Preemption, PriceMatched
from auction.state import OPEN, Bidder, LotState

from .test_state_machine import BIDDERS, LotMachine, lot_params
from .test_state_machine_listing_timed import ListingMachine, listing_params


def with_rights(draw: st.DrawFn, p: dict[str, Any]) -> dict[str, Any]:
    holders = draw(st.lists(st.sampled_from(BIDDERS), min_size=1, max_size=3, unique=True))
    exercise = draw(st.sampled_from(["during", "at_end"]))
    spec: dict[str, Any] = {"holders": holders, "exercise": exercise}
    if exercise == "at_end":
        spec["window_s"] = draw(st.sampled_from([5, 1, 30]))
    return {**p, "preemption": spec}


@st.composite
def preemption_params(draw: st.DrawFn) -> dict[str, Any]:
    return with_rights(draw, draw(lot_params().filter(
        lambda p: p["direction"] == "forward" and p["visibility"] == "price"
        and p["improve"] == "leader")))


@st.composite
def listing_preemption_params(draw: st.DrawFn) -> dict[str, Any]:
    return with_rights(draw, draw(listing_params().filter(lambda p: "cap" not in p)))


def rights(s: LotState) -> Preemption:
    pre = s.params.preemption
    assert isinstance(pre, Preemption)
    return pre


def priority(s: LotState, bidder_id: str | None) -> int | None:
    """A bidder's priority as a holder (None: not a holder, or no bidder)."""
    return None if bidder_id is None else rights(s).priority(bidder_id)


def outranks(mine: int | None, theirs: int | None) -> bool:
    return mine is not None and (theirs is None or mine < theirs)


class PreemptionChecks:
    """The checks of pre-emptive rights, mixed into a format's machine."""

    def do_match(self, data: st.DataObject) -> None:
        """A bid of exactly the best price (or a step around it), mostly by a holder."""
        s = self.s
        ids = [h for h in rights(s).holders if h in s.bidders]
        bidder = data.draw(st.one_of(st.sampled_from(ids or BIDDERS), st.sampled_from(BIDDERS)),
                           label="matcher")
        best = s.best if s.best is not None else s.params.start_price
        amount = data.draw(st.one_of(st.just(best), st.integers(-1, 1).map(
            lambda k: best + k * s.params.step_at(best))), label="amount")
        self.apply(PlaceBid(bidder_id=bidder, amount=amount))

    # ------------------------------------------------------------------ checks
    def window(self) -> Window | None:
        """The open match window (english: the format state; listing_timed: in it)."""
        play = self.s.play
        return play if isinstance(play, Window) else getattr(play, "match_window", None)

    def check_event(self, fact: Event) -> None:
        s = self.state
        if s is None or not isinstance(fact, BidAccepted | PriceMatched | MatchWindowOpened):
            super().check_event(fact)
            return
        pre = rights(s)
        if isinstance(fact, MatchWindowOpened):
            assert fact.at == self.now and pre.exercise == "at_end"
            assert s.closes_at is not None and self.now >= s.closes_at, "a window before the end"
            assert fact.closes_at == s.closes_at + pre.window_s * 1000, "a window off time"
            assert fact.price == s.best and fact.holders
            leader = priority(s, s.leader)
            for number in fact.holders:
                assert outranks(pre.priority(s.numbers[number]), leader), "offered outranked"
            return
        if isinstance(fact, PriceMatched):
            # Its bid came just before: the holder is at the best, not yet leading.
            assert fact.priority == pre.priority(fact.bidder_id)
            assert s.best == fact.amount and s.leader != fact.bidder_id
            return
        window = self.window()
        if fact.amount != s.best:
            assert window is None, "a price bid in the match window"
            super().check_event(fact)
            return
        # A match: the best never lowers, and priority is respected.
        assert fact.at == self.now and s.status == OPEN
        assert s.closes_at is not None and fact.at < s.closes_at, "a match at/after the end"
        assert s.eligible(s.bidders[fact.bidder_id])
        assert outranks(priority(s, fact.bidder_id), priority(s, s.leader)), "priority broken"
        assert (pre.exercise == "at_end") == (window is not None), "a match out of its time"
        if window is not None:
            assert fact.bidder_id in window.offered and fact.amount == window.price
        self.bid_extends = s.params.extend_on == "any"

    def check_outcome(self, fact: LotAwarded | LotFailed) -> None:
        super().check_outcome(fact)
        s = self.s
        if isinstance(fact, LotAwarded) and s.best == fact.amount:
            at_best = [b for b in s.bidders.values() if b.last_bid == s.best]
            ranks = [priority(s, b.bidder_id) for b in at_best]
            mine = priority(s, fact.bidder_id)
            # A non-holder never wins at an equal price over a holder; the highest
            # priority at the price wins.
            assert all(not outranks(r, mine) for r in ranks), "an outranked winner"

    @invariant()
    def the_state_is_consistent(self) -> None:
        """The best is the highest price; its leader is the highest-priority holder at it,
        or the only bidder at it who is not a holder."""
        if self.state is None:
            return
        s = self.state
        assert (s.status == "paused") == (s.paused_at is not None)
        if s.status == OPEN:  # the close, or sooner the lapse of a reserve entered late
            lapses = witnessed.deadline(s)
            assert next_deadline(s) == min(d for d in (s.closes_at, lapses) if d is not None)
        if not s.bids:
            assert s.best is None and s.leader is None
            return
        assert s.best == max(b.amount for b in s.bids)
        at_best = [b for b in s.bidders.values() if b.last_bid == s.best]
        assert s.leader in [b.bidder_id for b in at_best]
        assert sum(1 for b in at_best if priority(s, b.bidder_id) is None) <= 1
        leader = priority(s, s.leader)
        assert all(not outranks(priority(s, b.bidder_id), leader) for b in at_best)
        assert s.ranking()[0].bidder_id == s.leader

    @invariant()
    def the_match_window_closes_on_time(self) -> None:
        """In an open window an offered holder outranking the leader may match the final
        price until the window's end, and nobody may bid from then on."""
        s = self.state
        window = None if s is None else self.window()
        if s is None or window is None or s.status != OPEN or s.closes_at is None:
            return
        for holder in window.offered:
            decision = decide(s, PlaceBid(bidder_id=holder, amount=window.price), self.now)
            may = outranks(priority(s, holder), priority(s, s.leader))
            if self.now >= s.closes_at:
                assert isinstance(decision, Rejection) and decision.code == "closed"
            elif may and s.eligible(s.bidders[holder]):
                assert isinstance(decision, list), decision

    @invariant()
    def a_holder_is_offered_to_match_exactly_when_it_may(self) -> None:
        from auction.views import bidder_view
        s = self.state
        if s is None or s.status != OPEN or s.closes_at is None or self.now >= s.closes_at:
            return
        for bidder in s.bidders.values():
            you = bidder_view(s, bidder.bidder_id)
            assert you is not None
            offer = you.get("preemption")
            if offer is None:
                assert priority(s, bidder.bidder_id) is None
                continue
            if offer["may_match"]:
                assert s.best is not None
                decision = decide(s, PlaceBid(bidder_id=bidder.bidder_id, amount=s.best),
                                  self.now)
                assert isinstance(decision, list)
                assert any(isinstance(e, PriceMatched) for e in decision)
            assert self.holder_may(bidder) or not offer["may_match"]

    def holder_may(self, bidder: Bidder) -> bool:
        s = self.s
        return s.best is not None and outranks(priority(s, bidder.bidder_id),
                                               priority(s, s.leader))


class PreemptionMachine(PreemptionChecks, LotMachine):
    ACTIONS = ("match", *LotMachine.ACTIONS, "match", "advance_to_deadline", "match")

    @initialize(params=preemption_params(), ready=st.sampled_from([3, 2, 4]),
                stage=st.sampled_from(["open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)


class ListingPreemptionMachine(PreemptionChecks, ListingMachine):
    ACTIONS = ("match", *ListingMachine.ACTIONS, "match", "confirm", "match")

    @initialize(params=listing_preemption_params(), ready=st.sampled_from([3, 2, 4]),
                stage=st.sampled_from(["open", "open", "scheduled"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.prepare(params, ready, stage)


PreemptionMachine.TestCase.settings = LotMachine.TestCase.settings
TestPreemptionMachine = PreemptionMachine.TestCase
ListingPreemptionMachine.TestCase.settings = ListingMachine.TestCase.settings
TestListingPreemptionMachine = ListingPreemptionMachine.TestCase
