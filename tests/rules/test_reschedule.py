"""A lot's opening time follows its notice: ``ScheduleLot`` with ``opens_at`` schedules a
draft lot to open by itself then, and reschedules a scheduled lot that has not opened
(e.g. an amendment of its notice moving the bidding time, the amendment as reason); the
lot cannot be started before it, and the record replays and verifies."""

from auction.lot import replay
from auction.model import ScheduleLot, StartLot
from auction.record import GENESIS, seal
from auction.state import OPEN, SCHEDULED
from auction.verify import build_export, dumps, verify

from .support import HOST, MINUTE, T0, Lot, kinds
from .support import english as params

HOUR = 60 * MINUTE


def test_a_draft_lot_scheduled_with_an_opening_time_opens_by_itself_then_and_not_before(
        ) -> None:
    lot = Lot(params(closes_at=None, duration_s=600))
    lot.register("a")
    events = lot.accept(ScheduleLot(actor=HOST, reason="公告 N-1", opens_at=T0 + HOUR))
    assert events[0].opens_at == T0 + HOUR and lot.s.opens_at == T0 + HOUR
    lot.refuse(StartLot(actor=HOST), "too_early", at=T0 + HOUR - 1)
    assert lot.tick(at=T0 + HOUR - 1) == []
    assert kinds(lot.tick(at=T0 + HOUR)) == ["LotOpened"]
    assert lot.s.status == OPEN


def test_an_amendment_reschedules_a_scheduled_lot_and_the_old_time_no_longer_opens_it(
        ) -> None:
    lot = Lot(params(closes_at=None, duration_s=600))
    lot.register("a")
    lot.accept(ScheduleLot(actor=HOST, opens_at=T0 + HOUR))
    events = lot.accept(ScheduleLot(actor=HOST, reason="更正公告：竞价时间顺延",
                                    opens_at=T0 + 3 * HOUR))
    assert kinds(events) == ["LotScheduled"] and events[0].reason == "更正公告：竞价时间顺延"
    assert lot.s.status == SCHEDULED and lot.s.opens_at == T0 + 3 * HOUR
    assert lot.tick(at=T0 + HOUR) == []
    lot.refuse(StartLot(actor=HOST), "too_early", at=T0 + 2 * HOUR)
    assert kinds(lot.accept(StartLot(actor=HOST), at=T0 + 3 * HOUR)) == ["LotOpened"]
    assert replay(lot.events) == lot.s
    result = verify(dumps(build_export(lot.s, seal("lot-1", 1, GENESIS, lot.events))))
    assert result.ok, result.summary


def test_a_scheduled_lot_is_not_scheduled_again_without_a_new_opening_time() -> None:
    lot = Lot(params(closes_at=None, duration_s=600))
    lot.accept(ScheduleLot(actor=HOST))
    lot.refuse(ScheduleLot(actor=HOST), "invalid_state")


def test_an_open_lot_is_not_rescheduled() -> None:
    lot = Lot(params(closes_at=None, duration_s=600)).open("a", "b")
    lot.refuse(ScheduleLot(actor=HOST, opens_at=T0 + HOUR), "invalid_state")


def test_an_opening_time_in_the_past_or_after_the_lots_fixed_close_is_refused() -> None:
    lot = Lot(params(closes_at=T0 + HOUR))
    lot.refuse(ScheduleLot(actor=HOST, opens_at=T0), "invalid_params")
    lot.refuse(ScheduleLot(actor=HOST, opens_at=T0 + HOUR), "invalid_params")
    lot.accept(ScheduleLot(actor=HOST, opens_at=T0 + HOUR - 1))
