"""Pre-emptive purchase rights (优先购买权) in ``english`` and ``listing_timed`` lots: holders
named by bidder number and priority may match the best price, during bidding or once in
a window at its end (RULES.md, More rules; :mod:`auction.preemption`)."""

from typing import Any

import pytest

from auction.english import ENGLISH
from auction.errors import InvalidParams
from auction.lot import replay
from auction.model import (
    BidAccepted,
    CloseExtended,
    ConfirmDeposit,
    LotAwarded,
    LotClosed,
    PlaceBid,
)
from auction.params import parse_english, public_params
from auction.preemption import MatchWindowOpened, PriceMatched
from auction.record import GENESIS, Recorded, seal
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, STAFF, bidder_view, redact, snapshot

from .listing_support import LISTING_ENDS, SECOND, listed
from .support import MINUTE, T0, Lot, cny, kinds, opened
from .support import english as params

CLOSE = T0 + MINUTE
WINDOW_S = 30


def holders(*ids: str, **rules: Any) -> dict[str, Any]:
    return {"holders": list(ids), **rules}


def during(*bidders: str, **overrides: Any) -> Lot:
    """An open english lot whose holders are h1 (priority 1) and h2 (priority 2)."""
    return opened(*bidders, preemption=holders("h1", "h2"), **overrides)


def at_end(*bidders: str, **overrides: Any) -> Lot:
    return opened(*bidders, preemption=holders("h1", "h2", exercise="at_end",
                                               window_s=WINDOW_S), **overrides)


def winner(lot: Lot) -> tuple[str | None, int | None]:
    outcome = lot.s.outcome
    assert outcome is not None
    return outcome.bidder_id, outcome.amount


def verified(lot: Lot) -> None:
    assert replay(lot.events) == lot.s
    result = verify(dumps(build_export(lot.s, seal("lot-1", 1, GENESIS, lot.events))))
    assert result.ok, result.summary


# --------------------------------------------------------------------------- during


def test_a_holder_may_match_the_best_price_and_then_leads_at_it() -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    events = lot.take("h1", "120.00")
    assert kinds(events) == ["BidAccepted", "PriceMatched"]
    matched = events[1]
    assert isinstance(matched, PriceMatched)
    assert (matched.bidder_no, matched.amount, matched.priority) == ("Nh1", cny("120.00"), 1)
    assert (lot.s.leader, lot.s.best) == ("h1", cny("120.00"))


def test_a_non_holder_must_still_beat_the_best_by_a_step() -> None:
    lot = during("a", "b", "h1")
    lot.take("h1", "120.00")
    lot.refuse_bid("a", "120.00", "not_improving")
    lot.take("a", "130.00")
    lot.refuse_bid("b", "130.00", "not_improving")


def test_a_holder_may_also_beat_the_best_by_a_step_like_anyone() -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    assert kinds(lot.take("h1", "130.00")) == ["BidAccepted"]
    assert lot.s.leader == "h1"


def test_the_lot_ends_with_the_holder_winning_at_the_equal_price_when_no_higher_bid_follows(
        ) -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    lot.take("h1", "120.00")
    assert kinds(lot.tick(CLOSE)) == ["LotClosed", "LotAwarded"]
    assert winner(lot) == ("h1", cny("120.00"))
    verified(lot)


def test_a_higher_bid_after_a_match_takes_the_lead_and_the_holder_may_match_it_again() -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    lot.take("h1", "120.00")
    lot.take("a", "130.00")
    assert lot.s.leader == "a"
    lot.take("h1", "130.00")
    lot.tick(CLOSE)
    assert winner(lot) == ("h1", cny("130.00"))


def test_of_two_holders_matching_the_same_price_the_higher_priority_wins() -> None:
    lot = during("a", "h1", "h2")
    lot.take("a", "120.00")
    lot.take("h2", "120.00")
    assert lot.s.leader == "h2"
    lot.take("h1", "120.00")
    assert lot.s.leader == "h1"
    # The lower priority cannot take the price back from the higher one.
    lot.refuse_bid("h2", "120.00", "not_improving")
    lot.tick(CLOSE)
    assert winner(lot) == ("h1", cny("120.00"))
    assert [b.bidder_id for b in lot.s.ranking()] == ["h1", "h2", "a"]


def test_a_higher_priority_holder_may_match_a_lower_one_who_beat_the_best_by_a_step() -> None:
    lot = during("a", "h1", "h2")
    lot.take("a", "120.00")
    lot.take("h2", "130.00")
    assert kinds(lot.take("h1", "130.00")) == ["BidAccepted", "PriceMatched"]
    assert lot.s.leader == "h1"
    lot.refuse_bid("h2", "130.00", "not_improving")


def test_a_holder_in_the_lead_cannot_match_its_own_price() -> None:
    lot = during("a", "h1")
    lot.take("h1", "120.00")
    lot.refuse_bid("h1", "120.00", "already_leading")


def test_the_start_price_is_bid_not_matched_before_any_bid() -> None:
    lot = during("h1")
    assert kinds(lot.take("h1", "100.00")) == ["BidAccepted"]


def test_a_holder_without_its_deposit_cannot_match() -> None:
    lot = Lot(params(preemption=holders("h1")))
    lot.register("a")
    lot.register("h1", deposit=None)
    lot.open()
    lot.take("a", "120.00")
    lot.refuse_bid("h1", "120.00", "deposit_missing")


def test_a_match_in_the_soft_close_window_extends_the_close_like_any_bid() -> None:
    lot = during("a", "h1", extend_window_s=20, extend_s=30)
    lot.take("a", "120.00")
    events = lot.take("h1", "120.00", at=CLOSE - 5_000)
    assert kinds(events) == ["BidAccepted", "PriceMatched", "CloseExtended"]
    assert isinstance(events[2], CloseExtended) and events[2].closes_at == CLOSE + 25_000


def test_a_match_is_not_a_new_best_for_a_soft_close_on_leader_change() -> None:
    lot = during("a", "h1", extend_window_s=20, extend_s=30, extend_on="leader_change")
    lot.take("a", "120.00")
    assert kinds(lot.take("h1", "120.00", at=CLOSE - 5_000)) == ["BidAccepted", "PriceMatched"]


def test_the_holder_s_room_offers_to_match_the_best_price_when_it_may() -> None:
    lot = during("a", "h1", "h2")
    assert bidder_view(lot.s, "h1")["preemption"] == {  # type: ignore[index]
        "priority": 1, "may_match": False, "match_price": None}
    lot.take("a", "120.00")
    assert bidder_view(lot.s, "h2")["preemption"] == {  # type: ignore[index]
        "priority": 2, "may_match": True, "match_price": "120.00"}
    assert "preemption" not in bidder_view(lot.s, "a")  # type: ignore[operator]
    lot.take("h1", "120.00")
    assert bidder_view(lot.s, "h2")["preemption"]["may_match"] is False  # type: ignore[index]
    lot.tick(CLOSE)
    assert bidder_view(lot.s, "h1")["preemption"]["may_match"] is False  # type: ignore[index]


def test_everyone_sees_that_a_holder_matched_by_its_number_only() -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    assert snapshot(lot.s, PUBLIC)["preemption"] == {"matched_no": None, "window": None}
    lot.take("h1", "120.00")
    public = snapshot(lot.s, PUBLIC)
    assert public["preemption"] == {"matched_no": "Nh1", "window": None}
    assert public["leader_no"] == "Nh1"
    assert public["params"]["preemption"] == {"holders": 2, "exercise": "during"}
    assert snapshot(lot.s, STAFF)["preemption"]["holders"] == ["h1", "h2"]
    record = Recorded("lot-1", lot.s.version, lot.events[-1], "")
    assert redact(lot.s, record, PUBLIC) == {
        "seq": lot.s.version, "type": "PriceMatched", "at": T0, "bidder_no": "Nh1",
        "amount": "120.00"}
    staff = redact(lot.s, record, STAFF)
    assert (staff["bidder_id"], staff["priority"]) == ("h1", 1)


# --------------------------------------------------------------------------- at_end


def test_at_end_holders_only_beat_the_best_by_a_step_while_bidding_runs() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    lot.refuse_bid("h1", "120.00", "not_improving")
    assert bidder_view(lot.s, "h1")["preemption"]["may_match"] is False  # type: ignore[index]


def test_at_end_the_close_offers_the_final_price_to_the_holders_for_the_window() -> None:
    lot = at_end("a", "h1", "h2")
    lot.take("a", "120.00")
    events = lot.tick(CLOSE)
    assert kinds(events) == ["MatchWindowOpened"]
    opened_ = events[0]
    assert isinstance(opened_, MatchWindowOpened)
    assert (opened_.closes_at, opened_.price, opened_.holders) == (
        CLOSE + WINDOW_S * SECOND, cny("120.00"), ["Nh1", "Nh2"])
    assert lot.s.status == "open" and lot.s.closes_at == CLOSE + WINDOW_S * SECOND
    public = snapshot(lot.s, PUBLIC)
    assert public["preemption"]["window"] == {
        "closes_at": CLOSE + WINDOW_S * SECOND, "price": "120.00", "holders": 2}
    assert public["next_min"] is None
    assert bidder_view(lot.s, "h2")["preemption"] == {  # type: ignore[index]
        "priority": 2, "may_match": True, "match_price": "120.00"}


def test_at_end_a_holder_matching_inside_the_window_wins_at_the_final_price() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    assert kinds(lot.take("h1", "120.00", at=CLOSE + 10 * SECOND)) == [
        "BidAccepted", "PriceMatched"]
    assert kinds(lot.tick(CLOSE + WINDOW_S * SECOND)) == ["LotClosed", "LotAwarded"]
    assert winner(lot) == ("h1", cny("120.00"))
    verified(lot)


def test_at_end_nobody_matching_leaves_the_best_bidder_winning() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    lot.tick(CLOSE + WINDOW_S * SECOND)
    assert winner(lot) == ("a", cny("120.00"))
    verified(lot)


def test_at_end_in_the_window_only_offered_holders_may_bid_and_only_the_final_price() -> None:
    lot = at_end("a", "b", "h1")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    at = CLOSE + SECOND
    lot.refuse_bid("b", "130.00", "match_window", at)
    lot.refuse_bid("b", "120.00", "match_window", at)
    lot.refuse_bid("a", "130.00", "match_window", at)
    lot.refuse_bid("h1", "130.00", "match_window", at)
    lot.take("h1", "120.00", at)
    lot.refuse_bid("h1", "120.00", "match_window", at)


def test_at_end_a_holder_eligible_only_once_the_window_opened_is_not_offered_the_price(
        ) -> None:
    lot = Lot(params(preemption=holders("h1", "h2", exercise="at_end", window_s=WINDOW_S)))
    lot.register("a")
    lot.register("h1", deposit=None)
    lot.register("h2")
    lot.open()
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    lot.accept(ConfirmDeposit(bidder_id="h1", amount=cny("50.00"), account="acct-h1",
                             actor="staff:host"),
               CLOSE + SECOND)
    assert bidder_view(lot.s, "h1")["preemption"]["may_match"] is False  # type: ignore[index]
    lot.refuse_bid("h1", "120.00", "match_window", CLOSE + SECOND)


def test_at_end_a_higher_priority_holder_s_match_overrides_a_lower_one_s_in_the_window(
        ) -> None:
    lot = at_end("a", "h1", "h2")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    lot.take("h2", "120.00", CLOSE + SECOND)
    lot.refuse_bid("a", "120.00", "match_window", CLOSE + SECOND)
    lot.take("h1", "120.00", CLOSE + 2 * SECOND)
    lot.refuse_bid("h2", "120.00", "match_window", CLOSE + 3 * SECOND)
    lot.tick(CLOSE + WINDOW_S * SECOND)
    assert winner(lot) == ("h1", cny("120.00"))
    verified(lot)


def test_at_end_the_window_closes_on_time_however_late_the_timer_fires() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    ends = CLOSE + WINDOW_S * SECOND
    # Sent once bidding ended, before any tick: the window opens in the same decision.
    assert kinds(lot.take("h1", "120.00", ends - 1)) == [
        "MatchWindowOpened", "BidAccepted", "PriceMatched"]
    lot.refuse_bid("a", "130.00", "closed", ends)


def test_at_end_a_tick_after_the_window_s_end_opens_and_closes_it_at_once() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    ends = CLOSE + WINDOW_S * SECOND
    lot.refuse_bid("h1", "120.00", "closed", ends)
    events = lot.tick(ends + 5 * MINUTE)
    assert kinds(events) == ["MatchWindowOpened", "LotClosed", "LotAwarded"]
    assert isinstance(events[1], LotClosed) and events[1].closes_at == ends
    assert isinstance(events[2], LotAwarded) and events[2].bidder_id == "a"
    verified(lot)


def test_at_end_the_window_moves_with_a_pause_like_every_deadline() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    lot.pause(CLOSE + SECOND)
    lot.resume(CLOSE + MINUTE + SECOND)
    assert lot.s.closes_at == CLOSE + MINUTE + WINDOW_S * SECOND
    lot.take("h1", "120.00", CLOSE + MINUTE + 20 * SECOND)
    lot.tick(CLOSE + MINUTE + WINDOW_S * SECOND)
    assert winner(lot) == ("h1", cny("120.00"))
    verified(lot)


@pytest.mark.parametrize(("bids", "extra", "expected"), [
    ([("h1", "120.00")], {}, ("h1", "120.00")),  # the top holder leads already
    ([("a", "120.00")], {"reserve": "150.00"}, None),  # no award due: the reserve
    ([], {}, None),  # no bid at all
    ([("a", "120.00")], {"min_bidders": 2}, None),  # too few bidders bid
])
def test_at_end_no_window_opens_unless_the_close_would_award_the_best_to_an_outranked_bidder(
        bids: list[tuple[str, str]], extra: dict[str, Any],
        expected: tuple[str, str] | None) -> None:
    lot = at_end("a", "h1", **extra)
    lot.bids(*bids)
    events = lot.tick(CLOSE)
    assert "MatchWindowOpened" not in kinds(events)
    assert lot.s.status in ("awarded", "failed")
    if expected is not None:
        assert winner(lot) == (expected[0], cny(expected[1]))


def test_at_end_only_registered_eligible_holders_who_outrank_the_best_bidder_are_offered(
        ) -> None:
    lot = Lot(params(preemption=holders("h1", "h2", "h3", exercise="at_end")))
    lot.register("a")
    lot.register("h1", deposit=None)
    lot.register("h2")
    lot.register("h3")
    lot.open()
    lot.take("a", "120.00")
    lot.take("h2", "130.00")
    events = lot.tick(CLOSE)
    # h1 has no deposit, h3 ranks below the best bidder h2: nobody is offered.
    assert kinds(events) == ["LotClosed", "LotAwarded"]

    lot = Lot(params(preemption=holders("h1", "h2", exercise="at_end")))
    lot.register("a")
    lot.register("h2")
    lot.open()
    lot.take("a", "120.00")
    window = lot.tick(CLOSE)[0]
    assert isinstance(window, MatchWindowOpened) and window.holders == ["Nh2"]
    assert lot.s.closes_at == CLOSE + 300 * SECOND  # the default window


def test_everyone_sees_the_window_and_only_staff_see_whom_it_offers() -> None:
    lot = at_end("a", "h1")
    lot.take("a", "120.00")
    lot.tick(CLOSE)
    record = Recorded("lot-1", lot.s.version, lot.events[-1], "")
    assert redact(lot.s, record, PUBLIC) == {
        "seq": lot.s.version, "type": "MatchWindowOpened", "at": CLOSE,
        "closes_at": CLOSE + WINDOW_S * SECOND, "price": "120.00"}
    assert redact(lot.s, record, STAFF)["holders"] == ["Nh1"]
    bid = Recorded("lot-1", lot.s.version - 1, lot.events[-2], "")
    assert redact(lot.s, bid, PUBLIC)["type"] == "BidAccepted"
    assert snapshot(lot.s, PUBLIC)["params"]["preemption"] == {
        "holders": 2, "exercise": "at_end", "window_s": WINDOW_S}


# --------------------------------------------------------------------------- listing_timed


def test_a_holder_may_match_in_a_listing_and_in_timed_bidding() -> None:
    lot = listed("a", "h1", preemption=holders("h1"))
    lot.take("a", "120.00")
    assert kinds(lot.take("h1", "120.00")) == ["BidAccepted", "PriceMatched"]
    lot.take("a", "130.00")
    lot.tick(LISTING_ENDS)
    lot.act("a", "confirm", at=LISTING_ENDS + SECOND)
    lot.act("h1", "confirm", at=LISTING_ENDS + SECOND)
    lot.tick(LISTING_ENDS + 300 * SECOND)
    assert lot.phase == "timed"
    at = LISTING_ENDS + 400 * SECOND
    events = lot.take("h1", "130.00", at)
    # A match restarts the countdown as any timed bid does.
    assert kinds(events) == ["BidAccepted", "PriceMatched", "CloseExtended"]
    lot.tick(at + 240 * SECOND)
    assert winner(lot) == ("h1", cny("130.00"))
    verified(lot)


def test_a_listing_s_holder_who_did_not_enter_timed_bidding_cannot_match_in_it() -> None:
    lot = listed("a", "b", "h1", preemption=holders("h1"), confirm="auto")
    lot.take("a", "120.00")
    lot.take("b", "130.00")
    lot.take("a", "140.00")
    lot.tick(LISTING_ENDS)
    lot.take("b", "150.00", LISTING_ENDS + SECOND)
    lot.refuse_bid("h1", "150.00", "not_confirmed", LISTING_ENDS + SECOND)


def test_a_listing_at_end_offers_the_final_price_when_timed_bidding_ends() -> None:
    lot = listed("a", "h1", preemption=holders("h1", exercise="at_end", window_s=WINDOW_S),
                 confirm="auto")
    lot.take("a", "120.00")
    lot.take("h1", "130.00")
    lot.tick(LISTING_ENDS)
    lot.take("a", "140.00", LISTING_ENDS + SECOND)
    lot.refuse_bid("h1", "140.00", "not_improving", LISTING_ENDS + 2 * SECOND)
    ends = LISTING_ENDS + SECOND + 240 * SECOND  # the countdown restarted by a's bid
    assert lot.s.closes_at == ends
    assert kinds(lot.tick(ends)) == ["MatchWindowOpened"]
    assert lot.phase == "window"
    assert lot.s.play.match_window is not None
    lot.refuse_bid("a", "150.00", "match_window", ends + SECOND)
    lot.take("h1", "140.00", ends + SECOND)
    assert kinds(lot.tick(ends + WINDOW_S * SECOND)) == ["LotClosed", "LotAwarded"]
    assert winner(lot) == ("h1", cny("140.00"))
    verified(lot)


def test_a_listing_nobody_confirmed_offers_the_listing_s_best_to_the_holders() -> None:
    lot = listed("a", "h1", preemption=holders("h1", exercise="at_end", window_s=WINDOW_S))
    lot.take("a", "120.00")
    lot.tick(LISTING_ENDS)
    ends = LISTING_ENDS + 300 * SECOND
    # A match sent as the confirmations ended opens the window in its own decision.
    assert kinds(lot.take("h1", "120.00", ends)) == [
        "MatchWindowOpened", "BidAccepted", "PriceMatched"]
    events = lot.tick(ends + WINDOW_S * SECOND)
    assert isinstance(events[0], LotClosed) and events[0].closes_at == ends + WINDOW_S * SECOND
    assert winner(lot) == ("h1", cny("120.00"))
    verified(lot)


def test_a_listing_s_views_show_the_match_and_the_window() -> None:
    lot = listed("a", "h1", preemption=holders("h1", exercise="at_end", window_s=WINDOW_S))
    lot.take("a", "120.00")
    assert snapshot(lot.s, "bidder", "h1")["you"]["preemption"] == {
        "priority": 1, "may_match": False, "match_price": None}
    lot.tick(LISTING_ENDS)
    lot.tick(LISTING_ENDS + 300 * SECOND)
    room = snapshot(lot.s, "bidder", "h1")
    assert room["you"]["preemption"]["may_match"] is True
    assert room["preemption"]["window"]["price"] == "120.00"
    events = lot.take("h1", "120.00", LISTING_ENDS + 301 * SECOND)
    record = Recorded("lot-1", lot.s.version, events[-1], "")
    assert redact(lot.s, record, "bidder", "a")["bidder_no"] == "Nh1"
    window = Recorded("lot-1", lot.s.version - 2, next(
        e for e in lot.events if isinstance(e, MatchWindowOpened)), "")
    assert redact(lot.s, window, "bidder", "h1")["own"] is True
    assert "own" not in redact(lot.s, window, "bidder", "a")
    assert snapshot(lot.s, PUBLIC)["preemption"]["matched_no"] == "Nh1"


# --------------------------------------------------------------------------- parameters


def test_a_lot_without_pre_emptive_rights_says_nothing_of_them() -> None:
    p = parse_english(params())
    assert p.preemption is None
    lot = opened("a")
    assert "preemption" not in snapshot(lot.s, PUBLIC)
    assert "preemption" not in public_params(lot.s.params)
    assert ENGLISH.parse({**params(), "preemption": None}).preemption is None


@pytest.mark.parametrize(("spec", "extra"), [
    ("Nh1", {}), ({}, {}), ({"holders": []}, {}), ({"holders": ["a", "a"]}, {}),
    ({"holders": [""]}, {}), ({"holders": [" a"]}, {}), ({"holders": [7]}, {}),
    ({"holders": ["a" * 65]}, {}), ({"holders": [str(i) for i in range(101)]}, {}),
    ({"holders": ["a"], "exercise": "later"}, {}),
    ({"holders": ["a"], "window_s": 60}, {}),
    ({"holders": ["a"], "exercise": "at_end", "window_s": 0}, {}),
    ({"holders": ["a"], "priority": 1}, {}),
    ({"holders": ["a"]}, {"direction": "reverse"}),
    ({"holders": ["a"]}, {"improve": "own"}),
    ({"holders": ["a"]}, {"visibility": "blind", "improve": "own"}),
    ({"holders": ["a"]}, {"proxy": True}),
])
def test_pre_emptive_rights_are_refused_when_malformed_or_on_a_lot_they_do_not_fit(
        spec: object, extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidParams) as raised:
        ENGLISH.parse(params(preemption=spec, **extra))
    assert raised.value.field in ("preemption", "exercise", "window_s", "priority")


def test_pre_emptive_rights_do_not_go_with_a_listing_s_cap() -> None:
    from auction.listing_timed import parse
    from auction.preemption import parse as with_preemption

    from .listing_support import listing
    with pytest.raises(InvalidParams):
        with_preemption(listing(cap="500.00", preemption=holders("a")), parse)


def test_a_lot_s_other_parameters_are_still_checked_beside_its_holders() -> None:
    with pytest.raises(InvalidParams) as raised:
        ENGLISH.parse(params(preemption=holders("a"), colour="red"))
    assert raised.value.field == "colour"
    with pytest.raises(InvalidParams):
        ENGLISH.parse(["not", "an", "object"])


def test_a_signed_or_plain_bid_equal_to_the_best_is_the_holder_s_match() -> None:
    lot = during("a", "h1")
    lot.take("a", "120.00")
    events = lot.accept(PlaceBid(bidder_id="h1", amount=cny("120.00"), ref="match-1",
                                 ip="10.0.0.9", device="room"))
    bid = events[0]
    assert isinstance(bid, BidAccepted) and (bid.ref, bid.ip) == ("match-1", "10.0.0.9")
    verified(lot)
