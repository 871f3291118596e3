"""Emergencies: suspension and termination with a public notice, resuming from the last
valid price or restarting from the start price (RULES.md, More rules)."""

import pytest

from auction import english
from auction.lot import replay
from auction.model import Act, CancelLot, PauseLot, ResumeLot
from auction.params import parse_english, public_params
from auction.record import GENESIS, event_to_dict, seal
from auction.state import CANCELLED
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, redact, snapshot

from .support import HOST, MINUTE, T0, cny, kinds, opened

NOTICE = "因交易系统故障，本标的暂停竞价，恢复时间另行通知。"
LATER = T0 + 10_000


def suspend(lot, notice: str = NOTICE, at: int = LATER) -> None:  # type: ignore[no-untyped-def]
    lot.accept(PauseLot(actor=HOST, reason="system failure", notice=notice), at)


def test_a_suspension_carries_its_public_notice_to_the_board_and_every_room() -> None:
    lot = opened("a", "b")
    suspend(lot)
    view = snapshot(lot.s, PUBLIC)
    assert view["status"] == "paused" and view["notice"] == NOTICE
    paused = redact(lot.s, seal("lot-1", 1, GENESIS, lot.events)[-1], PUBLIC)
    assert paused["type"] == "LotPaused" and paused["notice"] == NOTICE
    assert paused["actor"] == HOST and paused["reason"] == "system failure"


def test_resuming_continues_from_the_last_valid_price_and_clears_the_notice() -> None:
    lot = opened("a", "b")
    lot.bids(("a", "100.00"), ("b", "110.00"))
    suspend(lot)
    events = lot.accept(ResumeLot(actor=HOST, reason="system restored"), LATER + MINUTE)
    assert "restart" not in event_to_dict(events[0])
    assert "notice" not in snapshot(lot.s, PUBLIC)
    assert lot.s.best == cny("110.00")
    assert english.min_next_bid(lot.s, None) == cny("120.00")


def test_a_lot_that_allows_it_may_restart_bidding_from_the_start_price() -> None:
    lot = opened("a", "b", restart_allowed=True)
    lot.bids(("a", "100.00"), ("b", "150.00"))
    suspend(lot)
    events = lot.accept(ResumeLot(actor=HOST, reason="court order lifted", restart=True),
                        LATER + MINUTE)
    assert event_to_dict(events[0])["restart"] is True
    assert lot.s.best is None and lot.s.leader is None and lot.s.bids == []
    assert english.min_next_bid(lot.s, None) == cny("100.00")
    assert snapshot(lot.s, PUBLIC)["bid_count"] == 0
    # b led before: every earlier bid is void, b may bid again, from the start price.
    lot.take("b", "100.00", at=LATER + MINUTE + 1)
    lot.tick(at=T0 + 2 * MINUTE + 1)
    assert lot.s.outcome is not None
    assert (lot.s.outcome.bidder_id, lot.s.outcome.amount) == ("b", cny("100.00"))


def test_a_restart_voids_the_proxy_maxima_too() -> None:
    lot = opened("a", "b", restart_allowed=True, proxy=True)
    lot.accept(Act(bidder_id="a", act="proxy", amount=cny("200.00")))
    suspend(lot)
    lot.accept(ResumeLot(actor=HOST, reason="restart", restart=True), LATER + 1)
    assert kinds(lot.take("b", "100.00", at=LATER + 2)) == ["BidAccepted"]


def test_a_lot_that_does_not_allow_it_refuses_a_restart() -> None:
    lot = opened("a")
    lot.take("a", "100.00")
    suspend(lot)
    lot.refuse(ResumeLot(actor=HOST, reason="restart", restart=True), "restart_not_allowed")


def test_a_restart_flag_that_is_not_a_boolean_is_refused() -> None:
    lot = opened("a", restart_allowed=True)
    suspend(lot)
    lot.refuse(ResumeLot(actor=HOST, reason="restart", restart=1), "restart_not_allowed")  # type: ignore[arg-type]


def test_a_termination_carries_its_notice_and_its_reason() -> None:
    lot = opened("a")
    notice = "根据法院裁定，本标的终止拍卖。"
    events = lot.accept(CancelLot(actor=HOST, reason="court order", notice=notice))
    assert event_to_dict(events[0])["notice"] == notice
    assert lot.s.status == CANCELLED
    view = snapshot(lot.s, PUBLIC)
    assert view["notice"] == notice and view["outcome"]["reason"] == "court order"


@pytest.mark.parametrize("notice", ["x" * 501, "a\x00b", 5])
def test_a_notice_that_cannot_be_recorded_is_refused(notice: object) -> None:
    lot = opened("a")
    lot.refuse(PauseLot(actor=HOST, reason="r", notice=notice), "invalid_params")  # type: ignore[arg-type]
    lot.refuse(CancelLot(actor=HOST, reason="r", notice=notice), "invalid_params")  # type: ignore[arg-type]


def test_suspensions_and_restarts_replay_and_verify() -> None:
    lot = opened("a", "b", restart_allowed=True)
    lot.bids(("a", "100.00"), ("b", "110.00"))
    suspend(lot)
    lot.accept(ResumeLot(actor=HOST, reason="restored", restart=True), LATER + 5)
    lot.take("a", "100.00", at=LATER + 6)
    lot.accept(PauseLot(actor=HOST, reason="outage", notice="网络中断"), LATER + 7)
    lot.accept(CancelLot(actor=HOST, reason="court order", notice="终止"), LATER + 8)
    assert replay(lot.events) == lot.s
    result = verify(dumps(build_export(lot.s, seal("lot-1", 1, GENESIS, lot.events))))
    assert result.ok, result.summary


def test_everyone_sees_whether_a_lot_may_restart() -> None:
    assert public_params(parse_english(
        {"start_price": "1.00", "step": "1.00", "duration_s": 60, "restart_allowed": True}
    ))["restart_allowed"] is True
