"""Random command sequences on random sealed lots (time advancing, revisions, pause and
resume, staff actions, draws; under bidder sealing commitments, matching and mismatched
reveals and voids) never break the invariants of the rules core; every rejection changes
nothing; replaying the stored record reproduces the state; before the opening no
audience but the bidder sees a sealed price; and under bidder sealing no price is in the
record before its bidder reveals it."""

from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction import draw
from auction.commit_reveal import (
    BidCommitted,
    BidRevealed,
    BidsVoided,
    RevealOpened,
    seal_commitment,
)
from auction.lot import decide
from auction.model import (
    Act,
    BidAccepted,
    Event,
    LotAwarded,
    LotDrawn,
    LotFailed,
    PlaceBid,
    Rejection,
    StartLot,
    Tick,
)
from auction.money import CURRENCY_DECIMALS, format_amount, within
from auction.sealed import BidsOpened, SealedPlay, finals, withheld
from auction.state import CLOSED, OPEN
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .test_state_machine import BIDDERS, HOST, OUTCOME_EVENTS, T0, LotMachine

SEED = "c0ffee" * 10
SEED_HASH = draw.commitment(SEED)
SALTS = ("a1" * 16, "b2" * 32, "c3" * 20)


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
    if pick(False, True):
        p["sealing"] = "bidder"
        p["reveal_s"] = pick(60, 5, 1)
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

    ACTIONS = (*LotMachine.ACTIONS, "reveal", "reveal", "advance_to_deadline", "tick",
               "reveal", "reveal", "reveal")

    def __init__(self) -> None:
        super().__init__()
        #: Bidder sealing: each bidder's last committed (amount, salt), kept by the bidder.
        self.secrets: dict[str, tuple[int, str]] = {}

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
        if isinstance(fact, BidCommitted):
            assert s.status == OPEN and s.closes_at is not None and fact.at < s.closes_at
            assert options.sealing == "bidder" and s.play.phase == "bidding"
        if isinstance(fact, RevealOpened):
            assert fact.at >= (s.closes_at or 0) and len(fact.bidder_nos) == len(s.play.commits)
        if isinstance(fact, BidRevealed):
            held = s.play.commits[fact.bidder_id]
            assert s.play.phase == "reveal" and fact.bidder_id not in s.play.revealed_ids
            assert seal_commitment(s.lot_id, fact.bidder_no, fact.amount,
                                   fact.salt) == held.commitment
        if isinstance(fact, BidsVoided):
            assert fact.bidder_nos == sorted(
                (s.bidders[b].bidder_no for b in s.play.commits if b not in s.play.revealed_ids),
                key=lambda no: s.play.commits[s.numbers[no]].seq)
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
                mixed = ([s.play.commits[s.numbers[no]].commitment for no in sorted(tied)]
                         if options.sealing == "bidder" else [])
                assert fact.bidder_no == draw.draw(SEED, s.lot_id, tied, mixed)[2]

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
        if self.s.params.options.sealing != "bidder":
            self.apply(PlaceBid(bidder_id=bidder, amount=amount, ip="10.0.0.1", device="d"))
            return
        salt = data.draw(st.sampled_from(SALTS), label="salt")
        number = self.s.bidders[bidder].bidder_no if bidder in self.s.bidders else "?"
        commitment = seal_commitment(self.s.lot_id, number, amount, salt)
        decision = self.apply(Act(bidder_id=bidder, act="commit", commitment=commitment,
                                  ip="10.0.0.1", device="d"))
        if isinstance(decision, list):
            self.secrets[bidder] = (amount, salt)

    def do_reveal(self, data: st.DataObject) -> None:
        """A bidder reveals its last commitment, or a price or salt that does not match."""
        bidder = data.draw(st.sampled_from(BIDDERS), label="revealer")
        amount, salt = self.secrets.get(bidder, (140, SALTS[0]))
        how = data.draw(st.sampled_from(["match", "match", "amount", "salt"]), label="how")
        if how == "amount":
            amount += 1
        if how == "salt":
            salt = salt[::-1] if salt[::-1] != salt else SALTS[1]
        s = self.s
        play = s.play
        mismatched = (how != "match" and s.status == OPEN and isinstance(play, SealedPlay)
                      and play.phase == "reveal" and self.now < (s.closes_at or 0)
                      and bidder in play.commits and bidder not in play.revealed_ids
                      and s.eligible(s.bidders[bidder])
                      # a price no bid may have is refused as such first (invalid_amount)
                      and within(amount, s.params.decimals))
        event(f"reveal in {getattr(play, 'phase', None)}")
        decision = self.apply(Act(bidder_id=bidder, act="reveal", amount=amount, salt=salt,
                                  ip="10.0.0.2", device="d"))
        if mismatched:
            assert isinstance(decision, Rejection) and decision.code == "reveal_mismatch"

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
    def no_price_is_recorded_before_its_bidder_reveals_it(self) -> None:
        if self.state is None or self.s.params.options.sealing != "bidder":
            return
        revealers = {r.event.bidder_id for r in self.records
                     if isinstance(r.event, (BidAccepted, BidRevealed))}
        assert revealers == self.s.play.revealed_ids if self.s.play else not revealers
        assert not any(isinstance(r.event, PlaceBid) for r in self.records)

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
            if isinstance(record.event, (BidAccepted, BidRevealed)):
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
