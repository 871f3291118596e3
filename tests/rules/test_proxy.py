"""Proxy bidding on forward english lots (RULES.md ``english``: ``proxy``)."""

import pytest

from auction.english import PROXY_REF, ProxySet, proxy_max
from auction.errors import InvalidParams
from auction.model import SYSTEM, Act, BidAccepted, CloseExtended
from auction.params import parse_english, public_params
from auction.record import Recorded
from auction.verify import command_of
from auction.views import bidder_view, redact, snapshot

from .support import MINUTE, T0, cny, english, kinds, opened


def proxy(lot, bidder_id: str, amount: str, at: int | None = None):  # type: ignore[no-untyped-def]
    return lot.decide(Act(bidder_id=bidder_id, act="proxy", amount=cny(amount)), at)


def auto_bids(events):  # type: ignore[no-untyped-def]
    return [(e.bidder_id, e.amount) for e in events
            if isinstance(e, BidAccepted) and e.actor == SYSTEM]


def test_proxy_is_off_by_default_and_a_maximum_is_then_refused() -> None:
    lot = opened("a")
    assert parse_english(english()).proxy is False
    decision = proxy(lot, "a", "200.00")
    assert lot.s.bids == [] and decision.code == "proxy_disabled"  # type: ignore[union-attr]


def test_proxy_applies_to_forward_lots_with_improve_leader_only() -> None:
    with pytest.raises(InvalidParams) as reverse:
        parse_english(english(proxy=True, direction="reverse"))
    assert reverse.value.field == "proxy"
    with pytest.raises(InvalidParams):
        parse_english(english(proxy=True, improve="own"))
    with pytest.raises(InvalidParams):
        parse_english(english(proxy="yes"))
    assert public_params(parse_english(english(proxy=True)))["proxy"] is True
    assert "proxy" not in public_params(parse_english(english()))


def test_a_maximum_left_with_no_bid_yet_bids_the_start_price_for_its_holder() -> None:
    lot = opened("a", proxy=True)
    events = proxy(lot, "a", "300.00")
    assert kinds(events) == ["ProxySet", "BidAccepted"]
    assert auto_bids(events) == [("a", cny("100.00"))]
    assert events[1].ref == PROXY_REF and events[1].bidder_no == "Na"
    assert lot.s.best == cny("100.00") and lot.s.leader == "a"


def test_the_engine_answers_an_outbidding_bid_with_one_step_only() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "300.00")
    events = lot.take("b", "150.00")
    assert auto_bids(events) == [("a", cny("160.00"))]
    assert lot.s.leader == "a" and lot.s.best == cny("160.00")


def test_a_bid_above_the_maximum_wins_and_the_proxy_stops() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "200.00")
    events = lot.take("b", "250.00")
    assert auto_bids(events) == []
    assert lot.s.leader == "b"


def test_the_proxy_bids_up_to_its_maximum_exactly_when_on_the_grid() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "200.00")
    assert auto_bids(lot.take("b", "190.00")) == [("a", cny("200.00"))]
    lot.refuse_bid("a", "210.00", "already_leading")
    assert lot.s.leader == "a"
    assert auto_bids(lot.take("b", "210.00")) == []


def test_two_proxies_compete_step_by_step_until_the_lower_maximum_is_passed() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "150.00")
    events = proxy(lot, "b", "200.00")
    assert auto_bids(events) == [("b", cny("110.00")), ("a", cny("120.00")),
                                 ("b", cny("130.00")), ("a", cny("140.00")),
                                 ("b", cny("150.00"))]
    assert lot.s.leader == "b" and lot.s.best == cny("150.00")


def test_of_two_equal_maxima_the_earlier_wins() -> None:
    for maximum in ("140.00", "150.00"):
        lot = opened("a", "b", proxy=True)
        proxy(lot, "a", maximum)
        proxy(lot, "b", maximum)
        assert lot.s.leader == "a", maximum
        assert lot.s.best <= cny(maximum)  # type: ignore[operator]


def test_a_later_equal_maximum_does_not_bid_the_tie_price_against_the_earlier() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "150.00")
    events = proxy(lot, "b", "150.00")
    assert auto_bids(events) == [("b", cny("110.00")), ("a", cny("120.00")),
                                 ("b", cny("130.00")), ("a", cny("140.00"))]
    assert lot.s.leader == "a" and lot.s.best == cny("140.00")


def test_a_maximum_below_the_next_acceptable_price_is_refused() -> None:
    lot = opened("a", "b", proxy=True)
    lot.take("b", "150.00")
    assert proxy(lot, "a", "155.00").code == "proxy_too_low"  # type: ignore[union-attr]
    assert proxy(lot, "a", "0.01").code == "proxy_too_low"  # type: ignore[union-attr]
    assert lot.decide(Act(bidder_id="a", act="proxy")).code == "invalid_amount"  # type: ignore[union-attr]
    assert lot.decide(Act(bidder_id="a", act="proxy", amount=-5)).code == "invalid_amount"  # type: ignore[union-attr]


def test_a_maximum_more_than_1000_steps_above_the_next_price_is_refused() -> None:
    lot = opened("a", "b", proxy=True)
    assert proxy(lot, "a", "10100.01").code == "proxy_too_high"  # type: ignore[union-attr]
    assert kinds(proxy(lot, "a", "10100.00")) == ["ProxySet", "BidAccepted"]
    events = proxy(lot, "b", "10100.00")
    assert len(auto_bids(events)) == 1000 and lot.s.leader == "a"
    assert lot.s.best == cny("10100.00")


def test_a_maximum_need_not_be_on_the_grid_the_engine_bids_grid_prices_below_it() -> None:
    lot = opened("a", "b", proxy=True)
    proxy(lot, "a", "175.50")
    assert auto_bids(lot.take("b", "160.00")) == [("a", cny("170.00"))]
    assert auto_bids(lot.take("b", "180.00")) == []


def test_a_holder_may_raise_its_maximum_but_not_lower_it_below_its_own_bid() -> None:
    lot = opened("a", "b", proxy=True, max_jump_steps=0)
    proxy(lot, "a", "200.00")
    lot.take("b", "150.00")
    assert lot.s.best == cny("160.00")
    assert proxy(lot, "a", "150.00").code == "proxy_too_low"  # type: ignore[union-attr]
    assert kinds(proxy(lot, "a", "180.00")) == ["ProxySet"]
    assert proxy_max(lot.s, "a") == cny("180.00")
    assert kinds(proxy(lot, "a", "400.00")) == ["ProxySet"]  # leading: no bid needed
    assert auto_bids(lot.take("b", "390.00")) == [("a", cny("400.00"))]


def test_a_raised_maximum_keeps_its_first_place_among_equal_maxima() -> None:
    lot = opened("a", "b", "c", proxy=True)
    proxy(lot, "a", "120.00")
    proxy(lot, "b", "130.00")
    assert lot.s.leader == "b"
    proxy(lot, "a", "200.00")
    proxy(lot, "b", "200.00")
    assert lot.s.leader == "a"


def test_auto_bids_trigger_the_soft_close() -> None:
    lot = opened("a", "b", proxy=True, extend_window_s=60, extend_s=120)
    proxy(lot, "a", "300.00")
    events = lot.take("b", "150.00", at=T0 + 50_000)
    closes = [e for e in events if isinstance(e, CloseExtended)]
    assert closes and closes[-1].closes_at == T0 + 50_000 + 120_000
    assert kinds(events) == ["BidAccepted", "CloseExtended", "BidAccepted"]


def test_proxy_is_refused_on_a_closed_or_paused_lot() -> None:
    lot = opened("a", proxy=True)
    lot.pause()
    assert proxy(lot, "a", "300.00").code == "paused"  # type: ignore[union-attr]
    lot.resume()
    assert proxy(lot, "a", "300.00", at=T0 + 10 * MINUTE).code == "closed"  # type: ignore[union-attr]


def test_other_actions_stay_unsupported_in_english() -> None:
    lot = opened("a", proxy=True)
    decision = lot.decide(Act(bidder_id="a", act="confirm"))
    assert decision.code == "not_supported"  # type: ignore[union-attr]


def test_a_maximum_is_seen_by_its_bidder_only_and_by_staff_after_the_end() -> None:
    lot = opened("a", "b", proxy=True)
    set_events = proxy(lot, "a", "300.00")
    record = Recorded(lot_id="lot-1", seq=lot.s.version - 1, event=set_events[0], hash="")
    for audience, who in (("bidder", "a"), ("bidder", "b"), ("public", None),
                          ("staff", None)):
        assert "amount" not in redact(lot.s, record, audience, who)
    assert bidder_view(lot.s, "a")["proxy_max"] == "300.00"  # type: ignore[index]
    assert bidder_view(lot.s, "b")["proxy_max"] is None  # type: ignore[index]
    assert "300.00" not in str(snapshot(lot.s, "staff"))
    assert "300.00" not in str(snapshot(lot.s, "public"))
    lot.tick(at=T0 + MINUTE)
    assert redact(lot.s, record, "staff")["amount"] == "300.00"


def test_auto_bids_are_recorded_as_bids_of_the_holder_by_the_system() -> None:
    lot = opened("a", "b", proxy=True)
    events = proxy(lot, "a", "300.00")
    bid = events[1]
    assert isinstance(bid, BidAccepted) and bid.actor == SYSTEM and bid.ip == ""
    assert command_of(events[0]) == Act(bidder_id="a", act="proxy", amount=cny("300.00"))
    assert isinstance(events[0], ProxySet)
    assert lot.replayed() == lot.s


def test_no_decision_of_english_starts_with_an_event_of_another_kind() -> None:
    from auction.english import ENGLISH
    from auction.model import LotPaused
    assert ENGLISH.command_of(LotPaused(at=T0, actor="staff", reason="x")) is None
