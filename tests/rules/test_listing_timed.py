"""The ``listing_timed`` format (网上挂牌 + 限时竞价) of RULES.md, rule by rule."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from auction.draw import commitment
from auction.errors import InvalidParams
from auction.listing_timed import parse
from auction.lot import decide, replay
from auction.model import Act, ExtendLot, LotDrawn, PlaceBid, Rejection, ScheduleLot, Tick
from auction.record import seal
from auction.views import redact, snapshot

from .listing_support import (
    LISTING_ENDS,
    SECOND,
    SEED,
    ListingLot,
    listed,
    listing,
)
from .support import HOST, MINUTE, T0, cny, kinds

CONFIRM_ENDS = LISTING_ENDS + 300 * SECOND
TIMED_ENDS = CONFIRM_ENDS + 240 * SECOND


def confirmed(*confirming: str, bidders: tuple[str, ...] = ("a", "b", "c"),
              **overrides: Any) -> ListingLot:
    """A lot in timed bidding: a bid 100.00, b bid 110.00 in the listing; ``confirming``
    confirmed; the confirm window ended and was ticked."""
    lot = listed(*bidders, **overrides)
    lot.take("a", "100.00", T0 + MINUTE)
    lot.take("b", "110.00", T0 + 2 * MINUTE)
    lot.tick(LISTING_ENDS)
    for bidder in confirming:
        lot.act(bidder, "confirm", at=LISTING_ENDS + SECOND)
    lot.tick(CONFIRM_ENDS)
    return lot


# --------------------------------------------------------------------------- parameters


def test_the_parameters_have_their_defaults_and_public_options() -> None:
    p = parse(listing())
    assert p.direction == "forward" and p.closes_at == LISTING_ENDS and p.opens_at is None
    assert p.options.public(2) == {
        "listing_ends_at": LISTING_ENDS, "confirm_s": 300, "countdown_s": 240, "cap": None,
        "cap_rule": "none", "cap_confirm_s": None, "secondary": None}
    sec = parse(listing(cap="200.00", cap_rule="secondary",
                        secondary={"start": "0.00", "step": "50.00", "unit": "m²"}))
    assert sec.options.public(2)["secondary"] == {"start": "0.00", "step": "50.00",
                                                  "countdown_s": 240, "unit": "m²"}
    assert parse(listing(cap="200.00", cap_rule="lottery")).options.public(2)[
        "cap_confirm_s"] == 300


@pytest.mark.parametrize("overrides, field", [
    ({"start_price": None}, "start_price"),
    ({"step": None}, "step"),
    ({"listing_ends_at": None}, "listing_ends_at"),
    ({"listing_opens_at": LISTING_ENDS}, "listing_opens_at"),
    ({"cap": "100.00"}, "cap"),
    ({"cap": "150.00", "reserve": "160.00"}, "reserve"),
    ({"cap_rule": "lottery"}, "cap_rule"),
    ({"cap": "150.00", "cap_confirm_s": 60}, "cap_confirm_s"),
    ({"cap": "150.00", "cap_rule": "secondary"}, "secondary"),
    ({"cap": "150.00", "secondary": {"start": "1.00", "step": "1.00"}}, "secondary"),
    ({"cap": "150.00", "cap_rule": "secondary", "secondary": {"start": "1.00"}}, "secondary"),
    ({"cap": "150.00", "cap_rule": "secondary",
      "secondary": {"start": "1.00", "step": "1.00", "unit": 5}}, "secondary"),
    ({"cap": "150.00", "cap_rule": "secondary",
      "secondary": {"start": "1.00", "step": "1.00", "colour": "red"}}, "colour"),
    ({"closes_at": T0}, "closes_at"),
    ({"cap_rule": "dice"}, "cap_rule"),
])
def test_invalid_parameters_are_refused_naming_the_field(overrides: dict[str, Any],
                                                          field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        parse(listing(**overrides))
    assert caught.value.field == field


def test_a_secondary_quantity_without_a_unit_has_an_empty_unit() -> None:
    p = parse(listing(cap="150.00", cap_rule="secondary",
                      secondary={"start": "1.00", "step": "1.00", "countdown_s": 30}))
    assert p.options.secondary.unit == "" and p.options.secondary.countdown_s == 30


# --------------------------------------------------------------------------- listing


def test_listing_bids_are_judged_as_english_forward() -> None:
    lot = listed("a", "b")
    lot.refuse_bid("a", "90.00", "below_start")
    lot.take("a", "100.00")
    lot.refuse_bid("a", "110.00", "already_leading")
    lot.refuse_bid("b", "105.00", "not_improving")
    lot.refuse_bid("b", "125.00", "off_step")
    lot.take("b", "130.00")
    assert lot.s.best == cny("130.00") and lot.phase == "listing"


def test_a_listing_bid_just_before_the_end_does_not_extend_the_listing() -> None:
    lot = listed("a")
    assert kinds(lot.take("a", "100.00", LISTING_ENDS - 1)) == ["BidAccepted"]
    assert lot.s.closes_at == LISTING_ENDS


def test_a_bid_after_the_listing_ended_is_refused_though_the_end_is_not_ticked() -> None:
    lot = listed("a", "b")
    lot.take("a", "100.00")
    lot.refuse_bid("b", "110.00", "wrong_phase", at=LISTING_ENDS)
    lot.refuse_bid("b", "110.00", "wrong_phase", at=LISTING_ENDS + 5 * SECOND)


def test_a_listing_without_bids_fails_at_its_end() -> None:
    lot = listed("a")
    lot.refuse_bid("a", "100.00", "closed", at=LISTING_ENDS)
    assert kinds(lot.tick(LISTING_ENDS)) == ["LotClosed", "LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


def test_a_lot_opens_by_itself_at_listing_opens_at() -> None:
    lot = ListingLot(listing(listing_opens_at=T0 + MINUTE))
    lot.register("a")
    lot.accept(ScheduleLot(actor=HOST))
    assert kinds(lot.tick(T0 + MINUTE)) == ["LotOpened"]
    assert lot.phase == "listing" and lot.s.closes_at == LISTING_ENDS


# --------------------------------------------------------------------------- confirm


def test_bidders_with_a_listing_bid_have_confirm_s_to_confirm() -> None:
    lot = listed("a", "b", "c")
    lot.take("a", "100.00")
    lot.take("b", "110.00")
    lot.refuse_act("a", "confirm", "wrong_phase")
    events = lot.tick(LISTING_ENDS)
    assert kinds(events) == ["ConfirmOpened"]
    assert events[0].bidders == ["Na", "Nb"] and lot.s.closes_at == CONFIRM_ENDS
    lot.refuse_bid("a", "120.00", "wrong_phase", at=LISTING_ENDS + SECOND)
    lot.refuse_act("c", "confirm", "no_listing_bid", at=LISTING_ENDS + SECOND)
    lot.act("a", "confirm", at=LISTING_ENDS + SECOND)
    lot.refuse_act("a", "confirm", "already_confirmed", at=LISTING_ENDS + 2 * SECOND)
    assert lot.s.play.confirmed == ["a"]


def test_a_confirmation_before_the_listing_end_is_ticked_records_the_window_first() -> None:
    lot = listed("a")
    lot.take("a", "100.00")
    events = lot.act("a", "confirm", at=LISTING_ENDS + 10)
    assert kinds(events) == ["ConfirmOpened", "BidderConfirmed"]
    assert lot.s.closes_at == CONFIRM_ENDS


def test_nobody_confirming_awards_the_listing_best_when_it_meets_the_reserve() -> None:
    lot = confirmed(reserve="110.00")
    assert kinds(lot.events[-2:]) == ["LotClosed", "LotAwarded"]
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_no, lot.s.outcome.amount) == ("Nb", cny("110.00"))


def test_nobody_confirming_fails_the_lot_below_the_reserve() -> None:
    lot = confirmed(reserve="200.00")
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"


def test_nobody_confirming_and_the_listing_end_ticked_late_closes_in_one_tick() -> None:
    lot = listed("a")
    lot.take("a", "100.00")
    lot.refuse_act("a", "confirm", "closed", at=CONFIRM_ENDS)
    assert kinds(lot.tick(CONFIRM_ENDS + SECOND)) == [
        "ConfirmOpened", "LotClosed", "LotAwarded"]


# --------------------------------------------------------------------------- timed


def test_timed_bidding_starts_from_the_listing_best_for_confirmed_bidders_only() -> None:
    lot = confirmed("a", "b")
    assert lot.phase == "timed" and lot.s.closes_at == TIMED_ENDS
    assert kinds(lot.events[-1:]) == ["TimedOpened"]
    lot.refuse_bid("c", "120.00", "not_confirmed", at=CONFIRM_ENDS + SECOND)
    lot.refuse_bid("a", "115.00", "not_improving", at=CONFIRM_ENDS + SECOND)
    lot.refuse_bid("b", "120.00", "already_leading", at=CONFIRM_ENDS + SECOND)
    view = snapshot(lot.s, "bidder", "c")
    assert view["you"]["next_min"] is None and view["next_min"] == "120.00"


def test_every_timed_bid_restarts_the_countdown() -> None:
    lot = confirmed("a", "b")
    at = CONFIRM_ENDS + 200 * SECOND
    events = lot.take("a", "120.00", at)
    assert kinds(events) == ["BidAccepted", "CloseExtended"]
    assert lot.s.closes_at == at + 240 * SECOND
    lot.take("b", "130.00", at + 239 * SECOND)
    assert lot.s.closes_at == at + 479 * SECOND


def test_a_timed_bid_at_the_confirm_end_instant_keeps_the_countdown() -> None:
    lot = listed("a", "b")
    lot.take("a", "100.00")
    lot.take("b", "110.00")
    lot.tick(LISTING_ENDS)
    lot.act("a", "confirm", at=LISTING_ENDS + SECOND)
    assert kinds(lot.take("a", "120.00", CONFIRM_ENDS)) == ["TimedOpened", "BidAccepted"]
    assert lot.s.closes_at == TIMED_ENDS


def test_the_countdown_running_out_awards_the_best_or_fails_below_the_reserve() -> None:
    lot = confirmed("a", "b")
    lot.take("a", "120.00", CONFIRM_ENDS + SECOND)
    lot.refuse_bid("b", "130.00", "closed", at=CONFIRM_ENDS + 241 * SECOND)
    assert kinds(lot.tick(CONFIRM_ENDS + 241 * SECOND)) == ["LotClosed", "LotAwarded"]
    assert lot.s.outcome is not None and lot.s.outcome.bidder_no == "Na"
    low = confirmed("a", reserve="500.00")
    low.tick(TIMED_ENDS)
    assert low.s.outcome is not None and low.s.outcome.reason == "reserve_not_met"


# --------------------------------------------------------------------------- cap


def test_a_bid_may_equal_the_cap_off_the_grid_but_never_exceed_it() -> None:
    lot = listed("a", "b", cap="155.00")
    lot.take("a", "100.00")
    lot.refuse_bid("b", "155.01", "above_cap")
    lot.refuse_bid("b", "160.00", "above_cap")
    lot.refuse_bid("a", "155.00", "already_leading")
    assert snapshot(lot.s, "public")["next_min"] == "110.00"
    events = lot.take("b", "155.00")
    assert kinds(events) == ["BidAccepted", "CapReached", "LotClosed", "LotAwarded"]
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_no, lot.s.outcome.amount) == ("Nb", cny("155.00"))


def test_the_next_least_bid_never_passes_the_cap() -> None:
    lot = listed("a", "b", cap="105.00")
    lot.take("a", "100.00")
    assert snapshot(lot.s, "public")["next_min"] == "105.00"


def lottery(**overrides: Any) -> ListingLot:
    """A cap lot (cap 200.00, lottery, 60 s to declare) where a reached the cap in timed
    bidding: a and b confirmed, c did not."""
    lot = confirmed("a", "b", cap="200.00", cap_rule="lottery", cap_confirm_s=60, **overrides)
    events = lot.take("a", "200.00", CONFIRM_ENDS + SECOND)
    assert kinds(events) == ["BidAccepted", "CapReached"]
    return lot


def test_a_lottery_lot_publishes_the_seed_hash_when_it_opens() -> None:
    lot = listed("a", cap="200.00", cap_rule="lottery")
    assert kinds(lot.events[-2:]) == ["LotOpened", "DrawCommitted"]
    assert lot.events[-1].seed_hash == commitment(SEED)
    assert snapshot(lot.s, "public")["play"]["seed_hash"] == commitment(SEED)


def test_after_the_cap_eligible_bidders_may_declare_they_accept_it() -> None:
    lot = lottery()
    assert lot.phase == "cap" and lot.s.closes_at == CONFIRM_ENDS + 61 * SECOND
    at = CONFIRM_ENDS + 2 * SECOND
    lot.refuse_bid("b", "190.00", "wrong_phase", at=at)
    lot.refuse_act("a", "accept_cap", "already_declared", at=at)
    lot.refuse_act("c", "accept_cap", "not_in_cap", at=at)
    assert kinds(lot.act("b", "accept_cap", at=at)) == ["CapAccepted"]
    lot.refuse_act("b", "accept_cap", "already_declared", at=at)
    assert snapshot(lot.s, "public")["play"]["candidates"] == 2
    assert snapshot(lot.s, "staff")["play"]["declared_nos"] == ["Nb"]


def test_the_draw_picks_the_winner_at_the_cap_price_verifiably() -> None:
    lot = lottery()
    lot.act("b", "accept_cap", at=CONFIRM_ENDS + 2 * SECOND)
    lot.refuse_act("b", "accept_cap", "closed", at=CONFIRM_ENDS + 61 * SECOND)
    events = lot.tick(CONFIRM_ENDS + 61 * SECOND)
    assert kinds(events) == ["LotClosed", "LotDrawn", "LotAwarded"]
    drawn = events[1]
    assert isinstance(drawn, LotDrawn)
    assert drawn.candidates == ["Na", "Nb"] and drawn.seed == SEED
    index = int(hashlib.sha256((SEED + "lot-1").encode()).hexdigest(), 16) % 2
    assert drawn.index == index and drawn.winner_no == ["Na", "Nb"][index]
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_no, lot.s.outcome.amount) == (drawn.winner_no, cny("200.00"))
    assert snapshot(lot.s, "public")["play"]["draw"]["winner_no"] == drawn.winner_no


def test_declarations_carrying_random_contributions_mix_them_into_the_draw() -> None:
    # the cap reached in the listing: every eligible bidder may declare
    lot = listed("a", "b", "c", "d", cap="200.00", cap_rule="lottery", cap_confirm_s=60)
    assert kinds(lot.take("a", "200.00", T0 + MINUTE)) == ["BidAccepted", "CapReached"]
    at = T0 + MINUTE + SECOND
    lot.refuse(Act(bidder_id="b", act="accept_cap", salt="not hex"), "invalid_params", at)
    lot.accept(Act(bidder_id="c", act="accept_cap", salt="c0" * 16), at)
    lot.accept(Act(bidder_id="b", act="accept_cap", salt="b0" * 20), at)
    lot.accept(Act(bidder_id="d", act="accept_cap"), at)  # a declaration without one
    drawn = lot.tick(T0 + MINUTE + 60 * SECOND)[1]
    assert isinstance(drawn, LotDrawn)
    # in the order of the sorted candidates; the cap's bidder and d gave none
    assert drawn.candidates == ["Na", "Nb", "Nc", "Nd"]
    assert drawn.contributions == ["b0" * 20, "c0" * 16]
    mix = f"|{'b0' * 20}|{'c0' * 16}"
    index = int(hashlib.sha256((SEED + "lot-1" + mix).encode()).hexdigest(), 16) % 4
    assert drawn.index == index and drawn.winner_no == drawn.candidates[index]
    assert replay(lot.events) == lot.s


def test_a_draw_with_a_seed_not_matching_the_published_hash_is_refused() -> None:
    lot = lottery()
    at = CONFIRM_ENDS + 61 * SECOND
    assert decide(lot.s, Tick(seed="another"), at) == Rejection("draw_unverifiable")


def test_after_a_cap_in_the_listing_every_eligible_bidder_may_declare() -> None:
    lot = listed("a", "b", "c", cap="200.00", cap_rule="lottery")
    lot.take("a", "200.00")
    assert lot.phase == "cap" and lot.s.closes_at == T0 + 300 * SECOND
    lot.act("c", "accept_cap")
    lot.tick(T0 + 300 * SECOND)
    assert lot.events[-2].candidates == ["Na", "Nc"]


def secondary(**overrides: Any) -> ListingLot:
    lot = listed("a", "b", "c", cap="200.00", cap_rule="secondary",
                 secondary={"start": "1000.00", "step": "100.00", "countdown_s": 60,
                            "unit": "m²"}, **overrides)
    lot.take("a", "200.00")
    assert lot.phase == "secondary" and lot.s.closes_at == T0 + 60 * SECOND
    return lot


def test_after_the_cap_bidding_goes_on_on_the_second_quantity() -> None:
    lot = secondary()
    lot.refuse_bid("b", "190.00", "wrong_phase")
    lot.refuse_act("b", "secondary", "below_secondary_start", "900.00")
    lot.refuse_act("b", "secondary", "off_step", "1050.00")
    lot.refuse_act("b", "secondary", "invalid_amount")
    assert kinds(lot.act("b", "secondary", "1000.00", at=T0 + 30 * SECOND)) == [
        "SecondaryBid", "CloseExtended"]
    assert lot.s.closes_at == T0 + 90 * SECOND
    lot.refuse_act("b", "secondary", "already_leading", "1200.00")
    lot.refuse_act("c", "secondary", "not_improving", "1050.00")
    lot.act("c", "secondary", "1200.00", at=T0 + 30 * SECOND)
    view = snapshot(lot.s, "public")["play"]["secondary"]
    assert view == {"unit": "m²", "start": "1000.00", "step": "100.00", "best": "1200.00",
                    "leader_no": "Nc", "bids": 2, "next_min": "1300.00"}
    lot.tick(T0 + 90 * SECOND)
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_no, lot.s.outcome.amount) == ("Nc", cny("200.00"))


def test_with_no_second_quantity_bid_the_bidder_who_reached_the_cap_wins() -> None:
    lot = secondary()
    lot.tick(T0 + 60 * SECOND)
    assert lot.s.outcome is not None and lot.s.outcome.bidder_no == "Na"


def test_after_a_cap_in_timed_bidding_only_confirmed_bidders_follow() -> None:
    lot = confirmed("a", "b", cap="200.00", cap_rule="secondary",
                    secondary={"start": "1.00", "step": "1.00"})
    lot.take("a", "200.00", CONFIRM_ENDS + SECOND)
    lot.refuse_act("c", "secondary", "not_in_cap", "1.00", at=CONFIRM_ENDS + SECOND)
    # At the very instant of the cap the countdown is full already.
    assert kinds(lot.act("b", "secondary", "1.00", at=CONFIRM_ENDS + SECOND)) == [
        "SecondaryBid"]


def test_actions_out_of_their_phase_or_unknown_are_refused() -> None:
    lot = listed("a", cap="200.00", cap_rule="secondary",
                 secondary={"start": "1.00", "step": "1.00"})
    lot.refuse_act("a", "accept_cap", "wrong_phase")
    lot.refuse_act("a", "secondary", "wrong_phase", "1.00")
    lot.refuse_act("a", "dance", "not_supported")


# --------------------------------------------------------------------------- pause


def test_pausing_shifts_the_deadline_of_every_phase() -> None:
    lot = listed("a", "b", cap="200.00", cap_rule="lottery", cap_confirm_s=60)
    lot.take("a", "100.00")
    lot.take("b", "110.00")
    lot.pause(T0 + MINUTE)
    lot.resume(T0 + 2 * MINUTE)
    assert lot.s.closes_at == LISTING_ENDS + MINUTE
    lot.refuse_act("a", "confirm", "wrong_phase", at=LISTING_ENDS + 1)
    lot.tick(LISTING_ENDS + MINUTE)
    assert lot.s.closes_at == CONFIRM_ENDS + MINUTE
    lot.act("a", "confirm", at=LISTING_ENDS + MINUTE + 1)
    lot.pause(LISTING_ENDS + MINUTE + 2)
    lot.resume(LISTING_ENDS + 2 * MINUTE + 2)
    assert lot.s.closes_at == CONFIRM_ENDS + 2 * MINUTE
    lot.tick(CONFIRM_ENDS + 2 * MINUTE)
    assert lot.s.closes_at == TIMED_ENDS + 2 * MINUTE
    cap_at = CONFIRM_ENDS + 2 * MINUTE + SECOND
    lot.take("a", "200.00", cap_at)
    lot.pause(cap_at + 1)
    lot.resume(cap_at + 1 + MINUTE)
    assert lot.s.closes_at == cap_at + 60 * SECOND + MINUTE
    lot.refuse_act("b", "accept_cap", "not_in_cap", at=cap_at + 60 * SECOND + 1)


def test_staff_may_extend_the_current_phase() -> None:
    lot = listed("a")
    lot.take("a", "100.00")
    lot.accept(ExtendLot(actor=HOST, reason="系统维护", closes_at=LISTING_ENDS + MINUTE))
    assert lot.s.closes_at == LISTING_ENDS + MINUTE


# --------------------------------------------------------------------------- views


def test_each_audience_sees_the_phase_and_only_its_own_part() -> None:
    lot = listed("a", "b", "c")
    lot.take("a", "100.00")
    lot.tick(LISTING_ENDS)
    lot.act("a", "confirm", at=LISTING_ENDS + SECOND)
    public = snapshot(lot.s, "public")["play"]
    assert public["phase"] == "confirm" and public["phase_ends_at"] == CONFIRM_ENDS
    assert public["confirmed"] == 1 and public["listed"] == 1
    assert "confirmed_nos" not in public and "you" not in public
    assert snapshot(lot.s, "staff")["play"]["confirmed_nos"] == ["Na"]
    mine = snapshot(lot.s, "bidder", "a")["play"]["you"]
    assert mine == {"listed": True, "confirmed": True, "may_confirm": False,
                    "may_bid": False, "in_cap": False, "declared": False}
    assert snapshot(lot.s, "bidder", "b")["play"]["you"]["may_confirm"] is False
    assert snapshot(lot.s, "public")["next_min"] is None


def test_events_show_confirmations_and_declarations_only_to_staff_and_their_bidder() -> None:
    lot = lottery()
    lot.act("b", "accept_cap", at=CONFIRM_ENDS + 2 * SECOND)
    records = seal("lot-1", 1, "0" * 64, lot.events)
    by_type = {type(r.event).__name__: r for r in records}
    confirmed_rec, accepted = by_type["BidderConfirmed"], by_type["CapAccepted"]
    assert redact(lot.s, confirmed_rec, "public") == {
        "seq": confirmed_rec.seq, "type": "BidderConfirmed", "at": confirmed_rec.event.at}
    assert redact(lot.s, accepted, "bidder", "b")["own"] is True
    assert "own" not in redact(lot.s, accepted, "bidder", "a")
    assert redact(lot.s, accepted, "staff")["bidder_id"] == "b"
    reached = redact(lot.s, by_type["CapReached"], "public")
    assert reached["bidder_no"] == "Na" and "bidder_id" not in reached
    assert redact(lot.s, by_type["CapReached"], "staff")["bidder_id"] == "a"
    sec = secondary()
    sec.act("b", "secondary", "1000.00", at=T0 + SECOND)
    bid = seal("lot-1", 1, "0" * 64, sec.events)[-2]
    assert redact(sec.s, bid, "public")["quantity"] == "1000.00"
    assert "ip" not in redact(sec.s, bid, "public")
    assert redact(sec.s, bid, "staff")["bidder_id"] == "b"
    assert redact(sec.s, seal("lot-1", 1, "0" * 64, sec.events)[0], "public")["type"] == (
        "LotCreated")


def test_replaying_the_record_reproduces_the_state() -> None:
    for lot in (lottery(), secondary(), confirmed("a", "b")):
        assert replay(lot.events) == lot.s


def test_a_price_bid_of_a_non_number_is_refused() -> None:
    lot = listed("a", cap="200.00")
    lot.refuse(PlaceBid(bidder_id="a", amount=True), "invalid_amount")  # type: ignore[arg-type]
    lot.refuse(Act(bidder_id="a", act="confirm"), "wrong_phase")


def test_no_decision_of_the_format_starts_with_a_shared_outcome_event() -> None:
    from auction.listing_timed import LISTING_TIMED
    from auction.model import LotFailed

    assert LISTING_TIMED.command_of(LotFailed(at=T0, actor="system", reason="no_bids")) is None


def test_an_action_without_a_name_is_refused() -> None:
    lot = listed("a")
    lot.refuse(Act(bidder_id="a", act=" "), "invalid_params")


def test_the_format_defaults_take_no_price_bid_and_know_no_least_price() -> None:
    from auction.formats import Format
    from auction.listing_timed import LISTING_TIMED

    lot = listed("a")
    bidder = lot.s.bidders["a"]
    refused = Format.bid(LISTING_TIMED, lot.s, bidder, PlaceBid(bidder_id="a", amount=1), T0)
    assert isinstance(refused, Rejection) and refused.code == "not_supported"
    assert Format.min_next_bid(LISTING_TIMED, lot.s, bidder) is None


@pytest.mark.parametrize("fmt, params, words", [
    ("bingo", listing(), "unknown format"),
    ("listing_timed", listing(cap_rule="lottery"), "invalid parameters"),
])
def test_a_record_of_an_unknown_format_or_invalid_parameters_cannot_be_replayed(
        fmt: str, params: dict[str, Any], words: str) -> None:
    from auction.errors import RecordError
    from auction.model import LotCreated

    created = LotCreated(at=T0, actor=HOST, lot_id="x", session_id="s", format=fmt,
                         title="t", params=params)
    with pytest.raises(RecordError, match=words):
        replay([created])


# --------------------------------------------------------------------------- confirm: auto


def test_with_confirm_auto_the_listing_ends_straight_into_timed_bidding() -> None:
    lot = listed("a", "b", "c", confirm="auto")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    events = lot.tick(at=LISTING_ENDS)
    assert kinds(events) == ["TimedOpened"]
    assert lot.phase == "timed"
    assert lot.s.closes_at == LISTING_ENDS + 240 * SECOND
    # Every bidder with a listing bid is in; one without is not.
    assert lot.s.play.confirmed == ["a", "b"]
    lot.take("a", "120.00", at=LISTING_ENDS + SECOND)
    lot.refuse_bid("c", "130.00", "not_confirmed", at=LISTING_ENDS + SECOND)


def test_with_confirm_auto_nobody_bidding_in_timed_bidding_leaves_the_listing_best_winning(
        ) -> None:
    lot = listed("a", "b", confirm="auto")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    lot.tick(at=LISTING_ENDS)
    events = lot.tick(at=LISTING_ENDS + 240 * SECOND)
    assert kinds(events) == ["LotClosed", "LotAwarded"]
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_id, lot.s.outcome.amount) == ("b", cny("110.00"))


def test_with_confirm_auto_there_is_nothing_to_confirm() -> None:
    lot = listed("a", "b", confirm="auto")
    lot.take("a", "100.00")
    lot.refuse_act("a", "confirm", "wrong_phase", at=LISTING_ENDS + SECOND)


def test_with_confirm_auto_a_bid_after_the_listing_end_opens_timed_bidding_in_its_decision(
        ) -> None:
    lot = listed("a", "b", "c", confirm="auto")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    lot.refuse_bid("c", "130.00", "not_confirmed", at=LISTING_ENDS + SECOND)
    events = lot.take("a", "120.00", at=LISTING_ENDS + SECOND)
    assert kinds(events) == ["TimedOpened", "BidAccepted", "CloseExtended"]


def test_confirm_auto_takes_no_confirm_window() -> None:
    with pytest.raises(InvalidParams, match="confirm_s applies to confirm required"):
        parse(listing(confirm="auto", confirm_s=60))
    assert parse(listing(confirm="auto")).options.public(2)["confirm"] == "auto"
    assert "confirm" not in parse(listing()).options.public(2)
