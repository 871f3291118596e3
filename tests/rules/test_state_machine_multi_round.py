"""Random command sequences on random multi_round lots (time advancing, late ticks, pauses,
staff extensions and cancellations; initial bids sealed by the server or by the bidders,
with commitments, matching and mismatched reveals and voids) never break the invariants
of the rules core or of the format; every rejection changes nothing; the record replays
to the state; the outcome never depends on when a Tick runs; and under bidder sealing no
initial price is in the record before its bidder reveals it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from auction.commit_reveal import (
    BidCommitted,
    BidRevealed,
    BidsVoided,
    RevealOpened,
    seal_commitment,
)
from auction.lot import decide, evolve, next_deadline
from auction.model import (
    Act,
    BidAccepted,
    Command,
    Event,
    LotAwarded,
    LotFailed,
    PlaceBid,
    Rejection,
    Tick,
)
from auction.money import CURRENCY_DECIMALS, format_amount
from auction.multi_round import RoundStarted, final_end
from auction.state import CLOSED, OPEN, PAUSED
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .test_state_machine import (
    BIDDERS,
    OUTCOME_EVENTS,
    T0,
    LotMachine,
)

COEFFICIENTS = ("0", "0.05", "0.1", "0.333333", "2")
SALTS = ("a1" * 16, "b2" * 32, "c3" * 20)
SCALE = 10**6


@st.composite
def rounds_params(draw: st.DrawFn) -> dict[str, Any]:
    """Valid multi_round params with short phases, so that random time crosses them."""

    def pick(*options: Any) -> Any:
        return draw(st.sampled_from(options))

    currency = pick("CNY", "JPY")
    decimals = CURRENCY_DECIMALS[currency]
    step = pick(100, 1, 2500)
    p: dict[str, Any] = {
        "currency": currency, "step": format_amount(step, decimals),
        "rounds": pick(2, 1, 3), "turn_s": pick(3, 1, 10), "first_pause_s": pick(5, 1, 20),
        "pause_s": pick(2, 1, 8), "deposit": format_amount(5000, decimals),
    }
    if pick(True, False):
        p["ceiling"] = format_amount(step * pick(50, 10, 200), decimals)
    if pick(True, False):
        p["coefficients"] = {b: pick(*COEFFICIENTS) for b in BIDDERS[:4] if pick(True, False)}
    if pick(False, True):
        p["opens_at"] = T0 + pick(0, 2_000)
    if pick(False, True):
        p["sealing"] = "bidder"
        p["reveal_s"] = pick(3, 1, 10)
    return p


def coefficient_units(params: dict[str, Any], bidder_id: str) -> int:
    """The coefficient in millionths, read independently of the format's code."""
    text = params.get("coefficients", {}).get(bidder_id, "0")
    whole, _, frac = text.partition(".")
    return int(whole) * SCALE + int((frac + "000000")[:6])


class RoundsMachine(LotMachine):
    """:class:`LotMachine` on a multi_round lot, with the format's own checks."""

    FORMAT = "multi_round"
    #: The best is by adjusted price, and a bidder may take back part of an unrevealed
    #: cut within its turn (its last bid of the turn counts).
    BEST_NEVER_WORSENS = False

    ACTIONS = ("bid", "advance", "bid", "tick", "advance_to_deadline", "bid", "tick",
               "bid_at_deadline", "advance", "register", "deposit", "pause", "resume",
               "extend", "schedule", "start", "cancel", "bid", "advance", "reveal", "reveal",
               "advance_to_deadline", "reveal")

    def __init__(self) -> None:
        super().__init__()
        self.params: dict[str, Any] = {}
        #: Bidder sealing: each bidder's committed (amount, salt), kept by the bidder.
        self.secrets: dict[str, tuple[int, str]] = {}
        #: The reveal just checked (its ``BidAccepted`` follows).
        self.pending_reveal: Event | None = None

    @property
    def by_bidder(self) -> bool:
        return self.params.get("sealing") == "bidder"

    @initialize(params=rounds_params(), ready=st.sampled_from([3, 2, 4, 1, 0]),
                stage=st.sampled_from(["open", "open", "open", "scheduled", "draft"]))
    def create(self, params: dict[str, Any], ready: int, stage: str) -> None:
        self.params = params
        event(f"sealing {params.get('sealing', 'server')} {stage}")
        self.prepare(params, ready, stage)

    # ------------------------------------------------------------------ the format's checks
    def adjusted_key(self, bidder_id: str) -> tuple[int, int, int]:
        """A ranking key by integer cross-multiplication: price / (1 + c) as the pair
        (price * SCALE, SCALE + c) compared through a common denominator below."""
        bidder = self.s.bidders[bidder_id]
        assert bidder.last_bid is not None
        # a revealed initial bid ranks by the sequence number of its commitment
        commit = next((r.seq for r in self.records if isinstance(r.event, BidCommitted)
                       and r.event.bidder_id == bidder_id), None)
        seq = commit if commit is not None and bidder.bids == 1 else bidder.last_seq
        return bidder.last_bid * SCALE, SCALE + coefficient_units(self.params, bidder_id), seq

    def best_entrant(self) -> str:
        entrants = self.s.play.entrants
        best = entrants[0]
        for other in entrants[1:]:
            pb, db, sb = self.adjusted_key(best)
            po, do, so = self.adjusted_key(other)
            if po * db < pb * do or (po * db == pb * do and so < sb):
                best = other
        return best

    def check_event(self, fact: Event) -> None:
        assert fact.at == self.now
        if self.state is None or self.state.play is None:
            return
        s, play = self.state, self.state.play
        assert s.outcome is None, "an event after the outcome"
        if isinstance(fact, BidAccepted):
            assert s.status == OPEN
            assert s.closes_at is not None and fact.at < s.closes_at, "a bid at/after close"
            assert s.eligible(s.bidders[fact.bidder_id])
            assert fact.amount > 0
            if play.phase in ("prebid", "reveal"):
                assert fact.bidder_id not in play.entrants, "a second pre-bid"
                assert s.params.ceiling is None or fact.amount <= s.params.ceiling
                assert fact.at < play.ends_at
                assert (play.phase == "reveal") == self.by_bidder
                if self.by_bidder:  # the price of a reveal that matched the commitment
                    revealed = self.pending_reveal
                    assert isinstance(revealed, BidRevealed)
                    assert (revealed.bidder_id, revealed.amount) == (fact.bidder_id,
                                                                     fact.amount)
            else:
                assert play.phase == "turn" and play.order[play.turn] == fact.bidder_id
                assert fact.at < play.ends_at
                step = s.params.tiers[0].step
                assert fact.amount <= play.revealed[fact.bidder_id] - step, "not a step lower"
        self.pending_reveal = fact if isinstance(fact, BidRevealed) else None
        if isinstance(fact, BidCommitted):
            assert self.by_bidder and play.phase == "prebid" and fact.at < play.ends_at
            assert fact.bidder_id not in play.commits, "a second commitment"
        if isinstance(fact, BidRevealed):
            assert play.phase == "reveal" and fact.at < play.ends_at
            assert fact.bidder_id not in play.revealed_ids
            assert seal_commitment(s.lot_id, fact.bidder_no, fact.amount,
                                   fact.salt) == play.commits[fact.bidder_id].commitment
        if isinstance(fact, RevealOpened):
            assert play.phase == "prebid" and play.commits and fact.at >= play.ends_at
            assert sorted(fact.bidder_nos) == sorted(s.bidders[b].bidder_no
                                                     for b in play.commits)
            assert fact.closes_at >= play.ends_at + int(self.params["reveal_s"]) * 1000
        if isinstance(fact, BidsVoided):
            assert play.phase == "reveal" and fact.at >= play.ends_at
            assert fact.bidder_nos and sorted(fact.bidder_nos) == sorted(
                s.bidders[b].bidder_no for b in play.commits if b not in play.revealed_ids)
        if isinstance(fact, OUTCOME_EVENTS):
            assert not any(isinstance(e, OUTCOME_EVENTS) for e in self.events)
        if isinstance(fact, (LotAwarded, LotFailed)):
            assert s.status == CLOSED
            if isinstance(fact, LotFailed):
                assert (fact.reason, play.entrants) == ("no_bids", [])
            else:
                best = self.best_entrant()
                assert (fact.bidder_id, fact.amount) == (best, s.bidders[best].last_bid)
                assert all(len(s.bidders[b].own) >= 1 for b in play.entrants)

    def do_bid(self, data: st.DataObject) -> None:
        """A bid near the highest acceptable price of the bidder in turn (or a pre-bid
        near the ceiling), by that bidder mostly, sometimes by anyone; and checks that
        ticking first would have changed nothing."""
        s = self.s
        play = s.play
        step = s.params.tiers[0].step
        likely = [b for b in sorted(s.bidders) if s.eligible(s.bidders[b])]
        if play is not None and play.phase == "turn":
            likely = [play.order[play.turn]]
        bidder = data.draw(st.one_of(st.sampled_from(likely or BIDDERS),
                                     st.sampled_from(BIDDERS)), label="bidder")
        target = s.params.ceiling or step * 50
        if play is not None and bidder in play.revealed:
            target = play.revealed[bidder] - step
        elif s.bidders.get(bidder) is not None and s.bidders[bidder].last_bid is not None:
            target = s.bidders[bidder].last_bid - step  # type: ignore[operator]
        amount = data.draw(st.one_of(
            st.integers(0, 3).map(lambda k: target - k * step),
            st.integers(-2, 4).map(lambda k: target - k * step),
            st.integers(-3, 3).map(lambda k: target + k),
            st.integers(-step, 3 * max(target, step)),
        ), label="amount")
        cmd: Command = PlaceBid(bidder_id=bidder, amount=amount, ip="10.0.0.1", device="d")
        if self.by_bidder and (play is None or play.phase == "prebid") and data.draw(
                st.sampled_from([True, True, True, True, False]), label="commit"):
            salt = data.draw(st.sampled_from(SALTS), label="salt")
            number = s.bidders[bidder].bidder_no if bidder in s.bidders else "?"
            cmd = Act(bidder_id=bidder, act="commit", ip="10.0.0.1", device="d",
                      commitment=seal_commitment(s.lot_id, number, amount, salt))
            self.tick_first_changes_nothing(cmd)
            if isinstance(self.apply(cmd), list):
                self.secrets[bidder] = (amount, salt)
            return
        self.tick_first_changes_nothing(cmd)
        self.apply(cmd)

    def do_reveal(self, data: st.DataObject) -> None:
        """A bidder reveals its commitment, or a price or salt that does not match."""
        play = self.state.play if self.state is not None else None
        committed = sorted(play.commits) if play is not None else []
        bidder = data.draw(st.sampled_from(committed) if committed and data.draw(
            st.booleans(), label="a committed bidder") else st.sampled_from(BIDDERS),
            label="revealer")
        if (play is not None and play.phase == "prebid" and committed
                and data.draw(st.sampled_from([True, True, False]), label="wait")):
            event("reveal when the first pause ended")
            self.now = max(self.now, play.ends_at + data.draw(st.integers(0, 900)))
        amount, salt = self.secrets.get(bidder, (140, SALTS[0]))
        how = data.draw(st.sampled_from(["match", "match", "amount", "salt"]), label="how")
        if how == "amount":
            amount += 1
        if how == "salt":
            salt = SALTS[1] if salt != SALTS[1] else SALTS[2]
        cmd = Act(bidder_id=bidder, act="reveal", amount=amount, salt=salt, ip="10.0.0.2",
                  device="d")
        self.tick_first_changes_nothing(cmd)
        decision = self.apply(cmd)
        play = self.state.play if self.state is not None else None
        if (how != "match" and isinstance(decision, Rejection) and play is not None
                and play.phase == "reveal" and bidder in play.commits):
            event(f"reveal refused {decision.code}")

    def tick_first_changes_nothing(self, cmd: Command) -> None:
        """Deciding a Tick at ``now`` first, then ``cmd``, gives the same events (or the
        same refusal) as deciding ``cmd`` alone (in an open lot: opening a scheduled
        lot at its opens_at is the shared rules' Tick, before which nobody bids)."""
        if self.state is None or self.state.status != OPEN:
            return
        alone = decide(self.state, cmd, self.now)
        ticked = decide(self.state, Tick(), self.now)
        assert isinstance(ticked, list)
        state = copy.deepcopy(self.state)
        for fact in ticked:
            state = evolve(state, fact)
        after = decide(state, cmd, self.now)
        if isinstance(alone, Rejection):
            assert isinstance(after, Rejection) and after.code == alone.code
        else:
            assert isinstance(after, list) and alone == [*ticked, *after]

    # ------------------------------------------------------------------ invariants
    @invariant()
    def the_state_is_consistent(self) -> None:
        if self.state is None:
            return
        s = self.state
        assert (s.status == PAUSED) == (s.paused_at is not None)
        play = s.play
        if play is None:
            assert s.status not in (OPEN, PAUSED, CLOSED)
            return
        assert len(set(play.entrants)) == len(play.entrants)
        assert set(play.revealed) <= set(play.entrants)
        if s.status in (OPEN, PAUSED):
            assert s.closes_at == final_end(s)
            assert play.ends_at <= s.closes_at
            assert play.phase in ("prebid", "reveal", "turn", "pause")
        assert play.revealed_ids == set(play.entrants) if self.by_bidder else not play.commits
        assert not {s.bidders[b].bidder_no for b in play.entrants} & set(play.voided)
        if s.status == OPEN:
            assert next_deadline(s) == play.ends_at
        if play.phase in ("turn", "pause"):
            assert sorted(play.order) == sorted(play.entrants)
            assert set(play.revealed) == set(play.entrants)
        if play.entrants:
            assert s.leader == self.best_entrant()

    @invariant()
    def nobody_sees_a_price_before_it_is_revealed(self) -> None:
        if self.state is None or self.state.play is None or self.state.status not in (
                OPEN, PAUSED):
            return
        play = self.state.play
        for audience in ("public", "staff"):
            rows = snapshot(self.state, audience)["play"]["table"]
            shown = {r["bidder_no"]: r["price"] for r in rows}
            assert len(shown) == len(play.revealed)
            if play.phase in ("prebid", "reveal"):
                assert shown == {}

    @invariant()
    def no_initial_price_is_recorded_before_its_bidder_reveals_it(self) -> None:
        """Under bidder sealing the record holds an initial price only in a reveal that
        matched its commitment; until round 1 starts (and for good in a lot cancelled
        before) nobody but its bidder sees it, staff included."""
        if self.state is None or not self.by_bidder:
            return
        s, play = self.state, self.state.play
        revealers = [r.event.bidder_id for r in self.records
                     if isinstance(r.event, BidRevealed)]
        assert set(revealers) == (set() if play is None else play.revealed_ids)
        assert len(revealers) == len(set(revealers))
        initial = set()
        for record in self.records:
            if isinstance(record.event, RoundStarted):
                break
            if isinstance(record.event, BidAccepted):
                initial.add(record.event.bidder_id)
        assert initial == set(revealers)
        if play is None or play.round > 0:
            return
        for record in self.records:
            if isinstance(record.event, (BidAccepted, BidRevealed)):
                assert "amount" not in redact(s, record, STAFF)
                assert "amount" not in redact(s, record, PUBLIC)
                other = next((b for b in s.bidders if b != record.event.bidder_id), None)
                if other is not None:
                    assert "amount" not in redact(s, record, BIDDER, other)
                assert "amount" in redact(s, record, BIDDER, record.event.bidder_id)


RoundsMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestRoundsMachine = RoundsMachine.TestCase
