"""Random command sequences on random dutch and japanese lots (time running, late and
early ticks, acceptances, stays, drops, price bids, pause/resume, staff extensions and
cancellations, late registrations) never break the invariants of the rules core; the
record replays to the same state and re-decides identically in auction.verify."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from auction.clock import DUTCH, BidderDropped, ClockStepped, LevelAdvanced
from auction.draw import commitment
from auction.lot import decide, next_deadline, replay
from auction.model import (
    Act,
    BidAccepted,
    CancelLot,
    ConfirmDeposit,
    CreateLot,
    Event,
    ExtendLot,
    LotAwarded,
    LotCancelled,
    LotDrawn,
    LotFailed,
    PauseLot,
    PlaceBid,
    RegisterBidder,
    ResumeLot,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.state import OPEN, PAUSED
from auction.verify import build_export, dumps, verify

from .test_state_machine import BIDDERS, FINAL, HOST, NUMBERS, T0, RecordedLot

SEED = "seed of the random lot"
OUTCOMES = (LotAwarded, LotFailed, LotCancelled)


@st.composite
def clock_params(draw: st.DrawFn, fmt: str) -> tuple[str, dict[str, Any]]:
    direction = draw(st.sampled_from(["forward", "reverse"]))
    step = draw(st.sampled_from([100, 1, 250]))
    start = step * draw(st.integers(3, 12)) + draw(st.sampled_from([0, 7]))
    p: dict[str, Any] = {"direction": direction, "start_price": f"{start / 100:.2f}",
                         "step": f"{step / 100:.2f}", "tick_s": draw(st.sampled_from([1, 5, 2])),
                         "deposit": draw(st.sampled_from(["50.00", "0.00"]))}
    if draw(st.booleans()):
        p["opens_at"] = T0 + draw(st.sampled_from([0, 3000]))
    if fmt == "dutch":
        levels = draw(st.integers(1, min(6, (start - 1) // step)))
        off_grid = draw(st.sampled_from([0, 1])) if step > 1 else 0  # a limit off the grid
        sign = -1 if direction == "forward" else 1
        p["floor" if direction == "forward" else "ceiling"] = (
            f"{(start + sign * (levels * step - off_grid)) / 100:.2f}")
    else:
        p["tie_rule"] = draw(st.sampled_from(["earliest", "lottery"]))
    return fmt, p


class ClockMachine(RecordedLot):
    FORMAT = "dutch"
    BEST_NEVER_WORSENS = False  # a clock's price is the clock's, not an improvement

    @initialize(data=st.data(), ready=st.sampled_from([3, 2, 4, 1, 0]),
                open_it=st.sampled_from([True, True, True, False]))
    def create(self, data: st.DataObject, ready: int, open_it: bool) -> None:
        fmt, params = data.draw(clock_params(self.FORMAT), label="params")
        decision = self.apply(CreateLot(lot_id="lot-x", session_id="s", format=fmt,
                                        title="clock", params=params, actor=HOST))
        assert isinstance(decision, list), decision
        for bidder, number in zip(BIDDERS[:ready], NUMBERS, strict=False):
            self.apply(RegisterBidder(bidder_id=bidder, bidder_no=number, name=bidder,
                                      actor=HOST))
            self.apply(ConfirmDeposit(bidder_id=bidder, amount=9000, account="a", actor=HOST))
        self.apply(ScheduleLot(actor=HOST))
        if open_it:
            if self.s.opens_at is not None:
                self.now = self.s.opens_at
            self.do_start()
            self.tick()

    def check_event(self, fact: Event) -> None:
        super().check_event(fact)
        if self.state is None:
            return
        s, p = self.state, self.state.params
        assert s.outcome is None, "an event after the outcome"
        forward = p.direction == "forward"
        if isinstance(fact, BidAccepted):
            assert s.status == OPEN and s.eligible(s.bidders[fact.bidder_id])
            if s.format == "dutch":
                assert fact.amount == DUTCH.price(p, DUTCH.level_at(s, self.now))
                assert s.closes_at is not None and self.now < s.closes_at
            else:
                assert fact.amount == s.play.price
                assert fact.bidder_id in s.play.members if s.play.members is not None else True
                assert fact.bidder_id not in s.play.out
            falling = forward == (s.format == "dutch")
            assert fact.amount <= p.start_price if falling else fact.amount >= p.start_price
        if isinstance(fact, ClockStepped):
            assert fact.level > s.play.level
        if isinstance(fact, LevelAdvanced):
            assert fact.level == s.play.level + 1 and len(s.play.confirmed) >= 2
        if isinstance(fact, BidderDropped):
            assert fact.bidder_id not in s.play.confirmed
        if isinstance(fact, LotDrawn):
            assert commitment(fact.seed) == s.play.seed_hash
        if isinstance(fact, OUTCOMES):
            assert not any(isinstance(e, OUTCOMES) for e in self.events)
        if isinstance(fact, LotAwarded) and s.format == "japanese":
            assert fact.bidder_id not in s.play.out or s.play.members is not None

    # ---------------------------------------------------------------- commands
    #: What a step does, weighted by repetition (the first is what shrinking favours).
    ACTIONS = ("act", "advance", "act", "tick", "act", "advance_to_deadline", "act", "tick",
               "bid", "advance", "act", "register", "deposit", "pause", "resume", "extend",
               "do_start", "cancel")

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        action = data.draw(st.sampled_from(self.ACTIONS), label="action")
        getattr(self, action)(data)

    def advance(self, data: st.DataObject) -> None:
        tick_ms = self.s.params.options.tick_s * 1000
        self.now += data.draw(st.one_of(st.integers(0, tick_ms), st.integers(0, 4 * tick_ms)),
                              label="ms")

    def advance_to_deadline(self, data: st.DataObject) -> None:
        deadline = next_deadline(self.s)
        offset = data.draw(st.sampled_from([0, -1, 1]), label="offset")
        if deadline is not None:
            self.now = max(self.now, deadline + offset)

    def tick(self, data: st.DataObject | None = None) -> None:
        cmd = Tick(seed=SEED, seed_hash=commitment(SEED))
        assert isinstance(self.apply(cmd), list), "a tick is never refused"
        assert decide(self.s, cmd, self.now) == [], "firing a tick twice did something"

    def bidder(self, data: st.DataObject) -> str:
        s = self.s
        likely = [b for b in sorted(s.bidders) if s.eligible(s.bidders[b])]
        return data.draw(st.one_of(st.sampled_from(likely or BIDDERS), st.sampled_from(BIDDERS)),
                         label="bidder")

    def act(self, data: st.DataObject) -> None:
        choices = (["stay", "stay", "stay", "drop", "accept", "bogus"]
                   if self.s.format == "japanese" else ["accept", "stay"])
        what = data.draw(st.sampled_from(choices), label="act")
        if what == "accept" and not data.draw(st.integers(0, 3), label="roll") == 3:
            return  # an acceptance ends a dutch lot: keep it rare
        self.apply(Act(bidder_id=self.bidder(data), act=what, ip="10.0.0.1"))

    def bid(self, data: st.DataObject) -> None:
        p = self.s.params
        play = self.s.play
        if play is None:
            price = p.start_price
        elif self.s.format == "dutch":
            price = DUTCH.price(p, play.level)
        else:
            price = play.price
        steps = data.draw(st.integers(-1, 2), label="steps")
        self.apply(PlaceBid(bidder_id=self.bidder(data), amount=price + steps * p.tiers[0].step))

    def register(self, data: st.DataObject) -> None:
        bidder = data.draw(st.sampled_from(BIDDERS[:-1]), label="bidder")
        number = data.draw(st.sampled_from(NUMBERS), label="number")
        self.apply(RegisterBidder(bidder_id=bidder, bidder_no=number, name=bidder, actor=HOST))

    def deposit(self, data: st.DataObject) -> None:
        bidder = data.draw(st.sampled_from(BIDDERS), label="bidder")
        amount = data.draw(st.sampled_from([9000, 1, 0]), label="deposit")
        self.apply(ConfirmDeposit(bidder_id=bidder, amount=amount, account="a", actor=HOST))

    def do_start(self, data: st.DataObject | None = None) -> None:
        self.apply(StartLot(actor=HOST, seed=SEED, seed_hash=commitment(SEED)))

    def pause(self, data: st.DataObject) -> None:
        self.apply(PauseLot(actor=HOST, reason="fault"))

    def resume(self, data: st.DataObject) -> None:
        self.apply(ResumeLot(actor=HOST, reason="restored"))

    def extend(self, data: st.DataObject) -> None:
        delta = data.draw(st.integers(-2_000, 20_000), label="delta")
        base = self.s.closes_at if self.s.closes_at is not None else self.now
        self.apply(ExtendLot(actor=HOST, reason="request", closes_at=base + delta))

    def cancel(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 9), label="roll") == 9:
            self.apply(CancelLot(actor=HOST, reason="order"))

    # ---------------------------------------------------------------- invariants
    @invariant()
    def gap_free_and_one_outcome(self) -> None:
        assert [r.seq for r in self.records] == list(range(1, len(self.records) + 1))
        if self.state is None:
            return
        assert self.state.version == len(self.events)
        outcomes = [e for e in self.events if isinstance(e, OUTCOMES)]
        assert len(outcomes) == (1 if self.state.status in FINAL else 0)
        assert self.state.status != "closed"
        assert (self.state.status == PAUSED) == (self.state.paused_at is not None)

    @invariant()
    def the_clock_is_consistent(self) -> None:
        s = self.state
        if s is None or s.status != OPEN:
            return
        deadline = next_deadline(s)
        assert deadline is not None and s.closes_at is not None and deadline <= s.closes_at
        if s.format == "dutch":
            assert 0 <= s.play.level < DUTCH.levels(s.params)
        else:
            assert not set(s.play.confirmed) & s.play.out

    @invariant()
    def the_replayed_record_reproduces_the_state(self) -> None:
        assert self.shadow == self.state

    def teardown(self) -> None:
        if self.state is None:
            return
        assert replay(self.events) == self.state
        result = verify(dumps(build_export(self.state, self.records, exported_at=self.now)))
        assert result.ok, result.summary


class JapaneseMachine(ClockMachine):
    FORMAT = "japanese"
    ACTIONS = ("act", "advance", "act", "act", "tick", "act", "advance_to_deadline", "act",
               "act", "tick", "bid", "advance", "act", "register", "deposit", "pause",
               "resume", "extend", "do_start", "cancel")


SETTINGS = settings(max_examples=120, stateful_step_count=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestDutchMachine = ClockMachine.TestCase
TestDutchMachine.settings = SETTINGS
TestJapaneseMachine = JapaneseMachine.TestCase
TestJapaneseMachine.settings = SETTINGS
