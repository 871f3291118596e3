"""The sealed format (一次报价 / 密封报价) of RULES.md, rule by rule."""

import hashlib
from dataclasses import replace
from typing import Any

import pytest

from auction import draw
from auction.errors import InvalidParams, RecordError
from auction.formats import Format, revealed_records
from auction.lot import decide, evolve, next_deadline, replay
from auction.model import (
    Act,
    BidAccepted,
    CreateLot,
    LotAwarded,
    LotCreated,
    LotDrawn,
    LotFailed,
    PlaceBid,
    Rejection,
    StartLot,
    Tick,
)
from auction.record import GENESIS, Recorded, seal
from auction.sealed import SEALED, BidsOpened, parse_sealed, withheld
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .support import HOST, MINUTE, T0, Lot, cny, kinds

SEED = "5eed" * 16


def sealed(**overrides: Any) -> dict[str, Any]:
    """Forward sealed params: opening one minute after T0, deposit 50.00."""
    params: dict[str, Any] = {"closes_at": T0 + MINUTE, "deposit": "50.00"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


class SealedLot(Lot):
    def __init__(self, params: dict[str, Any], *, now: int = T0) -> None:
        self.now = now
        self.state = None
        self.events = []
        self.accept(CreateLot(lot_id="lot-s", session_id="s-1", format="sealed",
                              title="政府采购 办公设备", params=params, actor=HOST))

    def open_with_seed(self, *bidders: str) -> "SealedLot":
        for bidder in bidders:
            self.register(bidder)
        from auction.model import ScheduleLot
        self.accept(ScheduleLot(actor=HOST))
        self.accept(StartLot(actor=HOST, seed=SEED, seed_hash=draw.commitment(SEED)))
        return self

    def opening(self, seed: str = SEED) -> list[Any]:
        return self.accept(Tick(seed=seed, seed_hash=draw.commitment(seed)), T0 + MINUTE)


def lot(*bidders: str, **overrides: Any) -> SealedLot:
    return SealedLot(sealed(**overrides)).open_with_seed(*bidders)


def records(events: list[Any]) -> list[Recorded]:
    return seal("lot-s", 1, GENESIS, events)


# ------------------------------------------------------------------ parameters


def test_sealed_parameters_default_to_one_bid_per_bidder_and_the_earliest_tie_rule() -> None:
    p = parse_sealed(sealed())
    assert p.options.revisions == 0 and p.options.tie_rule == "earliest"
    assert p.options.start_price is None and p.visibility == "blind"
    assert p.options.public(2) == {"revisions": 0, "tie_rule": "earliest", "start_price": None}


@pytest.mark.parametrize(("raw", "field"), [
    (sealed(ceiling="10.00"), "ceiling"),
    (sealed(direction="reverse", reserve="10.00"), "reserve"),
    (sealed(duration_s=60), "closes_at"),
    (sealed(opens_at=T0 + MINUTE), "opens_at"),
    (sealed(direction="reverse", start_price="20.00", ceiling="10.00"), "start_price"),
    (sealed(revisions=-1), "revisions"),
    (sealed(tie_rule="coin"), "tie_rule"),
    (sealed(step="1.00"), "step"),
])
def test_inconsistent_or_unknown_sealed_parameters_are_refused_naming_the_field(
        raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        parse_sealed(raw)
    assert caught.value.field == field


def test_a_sealed_lot_may_last_a_duration_from_its_opening() -> None:
    s = SealedLot(sealed(closes_at=None, duration_s=90)).open_with_seed("a").s
    assert s.closes_at == T0 + 90_000


# ------------------------------------------------------------------ bidding


def test_each_bidder_bids_once_when_no_revision_is_allowed() -> None:
    s = lot("a", "b")
    s.take("a", "120.00")
    s.take("b", "90.00")
    s.refuse_bid("a", "130.00", "revision_limit")


def test_a_revision_replaces_the_bidders_bid_and_the_final_bid_counts() -> None:
    s = lot("a", "b", revisions=2)
    s.take("a", "150.00")
    s.take("b", "140.00")
    s.take("a", "130.00")  # lower: a revision replaces, it need not improve
    assert s.s.best == cny("140.00") and s.s.leader == "b"
    s.take("a", "145.00")
    s.refuse_bid("a", "160.00", "revision_limit")
    events = s.opening()
    awarded = events[-1]
    assert isinstance(awarded, LotAwarded)
    assert (awarded.bidder_no, awarded.amount) == ("Na", cny("145.00"))


def test_a_revision_to_the_same_price_is_refused() -> None:
    s = lot("a", revisions=1)
    s.take("a", "150.00")
    s.refuse_bid("a", "150.00", "same_bid")


def test_a_forward_bid_below_the_start_price_is_refused() -> None:
    s = lot("a", start_price="100.00")
    s.refuse_bid("a", "99.99", "below_start")
    s.take("a", "100.00")


def test_a_reverse_bid_above_the_start_price_or_the_ceiling_is_refused() -> None:
    s = lot("a", "b", direction="reverse", start_price="900.00", ceiling="1000.00")
    s.refuse_bid("a", "900.01", "above_start")
    s = lot("a", direction="reverse", ceiling="1000.00")
    s.refuse_bid("a", "1000.01", "above_ceiling")
    s.take("a", "1000.00")


@pytest.mark.parametrize("amount", [0, -5, True])
def test_a_sealed_bid_must_be_a_positive_whole_number_of_minor_units(amount: Any) -> None:
    s = lot("a")
    s.refuse(PlaceBid(bidder_id="a", amount=amount), "invalid_amount")


def test_a_sealed_bid_needs_a_confirmed_deposit() -> None:
    s = SealedLot(sealed())
    s.register("a", deposit=None)
    s.open_with_seed()
    s.refuse_bid("a", "100.00", "deposit_missing")


def test_a_bid_sequenced_at_the_opening_instant_is_refused_even_before_the_tick() -> None:
    s = lot("a")
    s.refuse_bid("a", "100.00", "closed", at=T0 + MINUTE)


# ------------------------------------------------------------------ opening


def test_at_the_opening_every_final_bid_is_revealed_at_once_and_the_best_wins() -> None:
    s = lot("a", "b", "c", revisions=1)
    s.take("a", "120.00")
    s.take("b", "180.00")
    s.take("c", "150.00")
    s.take("a", "170.00")
    events = s.opening()
    assert kinds(events) == ["LotClosed", "BidsOpened", "LotAwarded"]
    opened = events[1]
    assert isinstance(opened, BidsOpened)
    assert opened.bidder_nos == ["Nb", "Nc", "Na"]
    assert opened.amounts == [cny("180.00"), cny("150.00"), cny("170.00")]
    assert opened.seqs == [b.last_seq for b in (s.s.bidders[x] for x in "bca")]
    assert s.s.outcome is not None and s.s.outcome.bidder_no == "Nb"
    assert s.s.status == "awarded"


def test_a_reverse_sealed_lot_is_won_by_the_lowest_price() -> None:
    s = lot("a", "b", direction="reverse", ceiling="1000.00")
    s.take("a", "800.00")
    s.take("b", "750.00")
    awarded = s.opening()[-1]
    assert isinstance(awarded, LotAwarded) and awarded.bidder_no == "Nb"


def test_a_sealed_lot_without_bids_fails_at_the_opening() -> None:
    events = lot("a").opening()
    assert kinds(events) == ["LotClosed", "BidsOpened", "LotFailed"]
    assert isinstance(events[-1], LotFailed) and events[-1].reason == "no_bids"


def test_a_best_price_below_the_secret_reserve_fails_the_lot() -> None:
    s = lot("a", reserve="200.00")
    s.take("a", "199.99")
    failed = s.opening()[-1]
    assert isinstance(failed, LotFailed) and failed.reason == "reserve_not_met"


def test_equal_best_prices_go_to_the_earliest_final_bid_under_the_earliest_rule() -> None:
    s = lot("a", "b", "c", revisions=1)
    s.take("a", "150.00")
    s.take("b", "150.00")
    s.take("c", "100.00")
    s.take("a", "140.00")
    s.take("c", "150.00")
    awarded = s.opening()[-1]
    assert isinstance(awarded, LotAwarded) and awarded.bidder_no == "Nb"


def test_a_revised_bid_counts_from_when_it_was_sequenced_for_the_earliest_rule() -> None:
    s = lot("a", "b", revisions=1)
    s.take("a", "100.00")
    s.take("b", "150.00")
    s.take("a", "150.00")
    awarded = s.opening()[-1]
    assert isinstance(awarded, LotAwarded) and awarded.bidder_no == "Nb"


def test_a_lottery_lot_commits_to_its_seed_when_it_opens() -> None:
    s = lot("a", tie_rule="lottery")
    assert kinds(s.events[-2:]) == ["LotOpened", "DrawCommitted"]
    assert s.s.play.seed_hash == draw.commitment(SEED)


def test_equal_best_prices_are_drawn_verifiably_under_the_lottery_rule() -> None:
    s = lot("a", "b", "c", tie_rule="lottery")
    s.take("a", "150.00")
    s.take("b", "150.00")
    s.take("c", "100.00")
    events = s.opening()
    assert kinds(events) == ["LotClosed", "BidsOpened", "LotDrawn", "LotAwarded"]
    drawn, awarded = events[2], events[3]
    assert isinstance(drawn, LotDrawn) and isinstance(awarded, LotAwarded)
    # Recomputed from the published hash, the revealed seed and the candidates alone.
    assert hashlib.sha256(drawn.seed.encode()).hexdigest() == s.s.play.seed_hash
    index = int(hashlib.sha256((drawn.seed + "lot-s").encode()).hexdigest(), 16) % 2
    winner = ["Na", "Nb"][index]
    assert (drawn.candidates, drawn.index, drawn.winner_no) == (["Na", "Nb"], index, winner)
    assert drawn.seed == SEED and drawn.purpose == "tie"
    assert awarded.bidder_no == winner and awarded.amount == cny("150.00")


def test_no_draw_happens_when_the_best_price_is_not_tied() -> None:
    s = lot("a", "b", tie_rule="lottery")
    s.take("a", "150.00")
    s.take("b", "140.00")
    assert kinds(s.opening()) == ["LotClosed", "BidsOpened", "LotAwarded"]


def test_a_draw_with_a_seed_other_than_the_committed_one_is_refused() -> None:
    s = lot("a", "b", tie_rule="lottery")
    s.take("a", "150.00")
    s.take("b", "150.00")
    refused = decide(s.s, Tick(seed="other", seed_hash=draw.commitment("other")), T0 + MINUTE)
    assert isinstance(refused, Rejection) and refused.code == "bad_seed"


def test_pausing_moves_the_opening_by_the_paused_time() -> None:
    s = lot("a")
    s.take("a", "100.00")
    s.pause(at=T0 + 10_000)
    s.refuse_bid("a", "100.00", "paused", at=T0 + 20_000)
    s.resume(at=T0 + 40_000)
    assert s.s.closes_at == T0 + MINUTE + 30_000
    assert s.tick(T0 + MINUTE) == []
    assert kinds(s.tick(T0 + MINUTE + 30_000))[:2] == ["LotClosed", "BidsOpened"]


def test_a_lot_that_cannot_open_is_refused() -> None:
    s = SealedLot(sealed())
    from auction.model import ScheduleLot
    s.accept(ScheduleLot(actor=HOST))
    s.refuse(StartLot(actor=HOST), "bad_deadline", at=T0 + MINUTE)


def test_the_replayed_record_reproduces_the_sealed_state() -> None:
    s = lot("a", "b", revisions=1, tie_rule="lottery")
    s.take("a", "150.00")
    s.take("b", "150.00")
    s.opening()
    assert s.replayed() == s.s


# ------------------------------------------------------------------ who sees what


def _amounts_in(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for v in value.values():
            found |= _amounts_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= _amounts_in(v)
    elif isinstance(value, str) or isinstance(value, int):
        found.add(str(value))
    return found


def test_before_the_opening_no_audience_but_the_bidder_sees_a_price() -> None:
    s = lot("a", "b", revisions=1, reserve="1.00")
    s.take("a", "123.45")
    s.take("b", "678.90")
    s.take("a", "234.56")
    secret = {"123.45", "678.90", "234.56", str(cny("123.45")), str(cny("678.90")),
              str(cny("234.56"))}
    recs = records(s.events)
    for audience, who in ((STAFF, None), (PUBLIC, None), (BIDDER, "b")):
        view = snapshot(s.s, audience, who)
        seen = _amounts_in(view) | _amounts_in([redact(s.s, r, audience, who) for r in recs])
        assert seen & secret == ({"678.90"} if who == "b" else set()), audience
    staff = snapshot(s.s, STAFF)
    assert staff["play"]["bid_count"] == 3 and staff["play"]["bidders_in"] == 2
    assert [row["bids"] for row in staff["register"]] == [None, None]
    assert staff["best"] is None and staff["ranking"] == []
    own = snapshot(s.s, BIDDER, "a")
    assert own["you"]["last_bid"] == "234.56" and own["you"]["revisions_left"] == 0
    assert [b["amount"] for b in own["you"]["own_bids"]] == ["123.45", "234.56"]
    assert redact(s.s, recs[-1], STAFF) == {"seq": recs[-1].seq, "type": "BidAccepted",
                                            "at": recs[-1].event.at}
    assert withheld(s.s)


def test_before_the_opening_staff_see_how_many_bids_are_in_not_who_bid_from_where_or_how_often(
        ) -> None:
    s = lot("a", "b", revisions=2)
    for bidder_id, amount in (("a", "1.00"), ("a", "2.00"), ("b", "3.00")):
        s.accept(PlaceBid(bidder_id=bidder_id, amount=cny(amount), ip="10.1.2.3",
                          device="fp-secret"))
    seen = str([snapshot(s.s, STAFF), [redact(s.s, r, STAFF) for r in records(s.events)]])
    staff_bids = [redact(s.s, r, STAFF) for r in records(s.events)
                  if isinstance(r.event, BidAccepted)]
    assert all(set(b) == {"seq", "type", "at"} for b in staff_bids) and len(staff_bids) == 3
    assert "10.1.2.3" not in seen and "fp-secret" not in seen
    assert [row["bids"] for row in snapshot(s.s, STAFF)["register"]] == [None, None]
    assert snapshot(s.s, STAFF)["play"]["bid_count"] == 3
    assert SEALED.unrevealed(s.s) == {b.seq for b in s.s.bids} and len(s.s.bids) == 3
    s.tick(at=s.s.closes_at)
    assert SEALED.unrevealed(s.s) == frozenset()
    opened = [redact(s.s, r, STAFF) for r in records(s.events)
              if isinstance(r.event, BidAccepted)]
    assert {(b["bidder_id"], b["ip"], b["device"]) for b in opened} == {
        ("a", "10.1.2.3", "fp-secret"), ("b", "10.1.2.3", "fp-secret")}
    assert [row["bids"] for row in snapshot(s.s, STAFF)["register"]] == [2, 1]


def test_after_the_opening_everyone_sees_every_final_bid() -> None:
    s = lot("a", "b")
    s.take("a", "123.45")
    s.take("b", "678.90")
    s.opening()
    recs = records(s.events)
    opened = next(r for r in recs if isinstance(r.event, BidsOpened))
    for audience, who in ((STAFF, None), (PUBLIC, None), (BIDDER, "a")):
        view = snapshot(s.s, audience, who)
        assert view["play"]["opened"] is True
        assert [b["amount"] for b in view["play"]["bids"]] == ["123.45", "678.90"]
        assert redact(s.s, opened, audience, who)["amounts"] == ["123.45", "678.90"]
        assert view["outcome"]["amount"] == "678.90"
    staff = snapshot(s.s, STAFF)
    assert staff["best"] == "678.90" and staff["ranking"] == ["Nb", "Na"]
    assert redact(s.s, recs[-4], STAFF)["amount"] == "678.90"
    assert not withheld(s.s)


def test_a_bidder_without_a_bid_has_all_its_revisions_and_may_bid() -> None:
    s = lot("a", revisions=2)
    you = snapshot(s.s, BIDDER, "a")["you"]
    assert you["revisions_left"] == 2 and you["can_bid"] is True
    assert snapshot(s.s, PUBLIC)["params"]["options"]["revisions"] == 2


def test_a_cancelled_sealed_lot_keeps_its_bids_sealed() -> None:
    s = lot("a")
    s.take("a", "123.45")
    s.cancel()
    assert withheld(s.s)
    assert snapshot(s.s, STAFF)["best"] is None
    kept = revealed_records(s.s, records(s.events))
    assert len(kept) == len(s.events) - 1
    assert not any(isinstance(r.event, BidAccepted) for r in kept)


def test_a_fresh_sealed_lot_shows_its_options_before_any_other_event() -> None:
    s = SealedLot(sealed(start_price="10.00"))
    assert snapshot(s.s, PUBLIC)["params"]["start_price"] == "10.00"
    assert snapshot(s.s, PUBLIC)["params"]["steps"] == []
    assert snapshot(s.s, PUBLIC)["play"]["opened"] is False
    assert replay(s.events) == s.s


# ------------------------------------------------------------------ what a sealed lot has not


def test_a_sealed_lot_takes_no_bidder_actions_but_bids() -> None:
    s = lot("a")
    s.refuse(Act(bidder_id="a", act="confirm"), "not_supported")
    s.refuse(Act(bidder_id="a", act=""), "invalid_params")


def test_a_sealed_lot_has_no_next_acceptable_price_and_no_deadline_once_opened() -> None:
    s = lot("a")
    assert SEALED.min_next_bid(s.s, s.s.bidders["a"]) is None
    assert snapshot(s.s, BIDDER, "a")["you"]["next_min"] is None
    s.opening()
    assert next_deadline(s.s) is None


def test_a_record_naming_a_format_that_is_not_registered_cannot_be_replayed() -> None:
    created = LotCreated(at=T0, actor=HOST, lot_id="lot-u", session_id="s", format="auction",
                         title="?", params={})
    with pytest.raises(RecordError):
        evolve(None, created)
    with pytest.raises(RecordError):
        evolve(None, replace(created, format="sealed", params={"closes_at": "soon"}))


def test_a_format_that_judges_no_price_bids_refuses_them_as_not_supported() -> None:
    # The interface's default, which the sealed format replaces with its own judgement.
    s = lot("a")
    refused = Format.bid(SEALED, s.s, s.s.bidders["a"], PlaceBid(bidder_id="a", amount=1), T0)
    assert isinstance(refused, Rejection) and refused.code == "not_supported"
