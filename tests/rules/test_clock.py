"""Soft close (延时), pausing and resuming, and staff extensions of the closing time."""

from auction.lot import next_deadline
from auction.model import SYSTEM, CloseExtended, ExtendLot, LotResumed, PauseLot, ResumeLot
from auction.state import AWARDED, OPEN, PAUSED

from .support import HOST, MINUTE, T0, Lot, kinds, opened

CLOSE = T0 + MINUTE
SOFT = {"extend_window_s": 30, "extend_s": 60}


# --------------------------------------------------------------------------- soft close


def test_a_bid_inside_the_window_moves_the_close_to_the_bid_time_plus_the_extension() -> None:
    lot = opened("a", **SOFT)
    at = CLOSE - 10_000
    events = lot.take("a", "100.00", at=at)
    assert events[1] == CloseExtended(at=at, actor=SYSTEM, closes_at=at + 60_000,
                                      reason="soft_close")
    assert lot.s.closes_at == at + 60_000
    assert next_deadline(lot.s) == at + 60_000


def test_a_bid_exactly_the_window_before_the_close_does_not_extend() -> None:
    lot = opened("a", **SOFT)
    assert kinds(lot.take("a", "100.00", at=CLOSE - 30_000)) == ["BidAccepted"]
    assert lot.s.closes_at == CLOSE


def test_a_bid_one_millisecond_inside_the_window_extends() -> None:
    lot = opened("a", **SOFT)
    assert kinds(lot.take("a", "100.00", at=CLOSE - 29_999)) == ["BidAccepted",
                                                                 "CloseExtended"]


def test_soft_close_never_moves_the_close_earlier() -> None:
    lot = opened("a", extend_window_s=30, extend_s=5)
    assert kinds(lot.take("a", "100.00", at=CLOSE - 10_000)) == ["BidAccepted"]
    assert lot.s.closes_at == CLOSE


def test_soft_close_never_extends_beyond_max_closes_at() -> None:
    lot = opened("a", "b", **SOFT, max_closes_at=CLOSE + 20_000)
    lot.take("a", "100.00", at=CLOSE - 10_000)
    assert lot.s.closes_at == CLOSE + 20_000
    assert kinds(lot.take("b", "110.00", at=CLOSE + 19_000)) == ["BidAccepted"]
    assert lot.s.closes_at == CLOSE + 20_000
    lot.refuse_bid("a", "120.00", "closed", at=CLOSE + 20_000)


def test_a_lot_without_soft_close_never_extends() -> None:
    lot = opened("a")
    assert kinds(lot.take("a", "100.00", at=CLOSE - 1)) == ["BidAccepted"]


def test_successive_last_second_bids_keep_extending_the_close() -> None:
    lot = opened("a", "b", **SOFT)
    at = CLOSE - 1
    for bidder, price in [("a", "100.00"), ("b", "110.00"), ("a", "120.00")]:
        lot.take(bidder, price, at=at)
        assert lot.s.closes_at == at + 60_000
        at = lot.s.closes_at - 1
    lot.tick(at=lot.s.closes_at)
    assert lot.s.status == AWARDED


# --------------------------------------------------------------------------- pause and resume


def test_pausing_stops_the_clock_and_resuming_adds_the_paused_time_to_every_deadline() -> None:
    lot = opened("a", **SOFT, max_closes_at=CLOSE + MINUTE)
    lot.pause(at=T0 + 10_000)
    assert lot.s.status == PAUSED and lot.s.paused_at == T0 + 10_000
    lot.refuse_bid("a", "100.00", "paused", at=T0 + 20_000)
    events = lot.resume(at=T0 + 70_000)
    assert events == [LotResumed(at=T0 + 70_000, actor=HOST, reason="network restored",
                                 paused_ms=60_000)]
    assert lot.s.status == OPEN and lot.s.paused_at is None
    assert lot.s.closes_at == CLOSE + 60_000
    assert lot.s.max_closes_at == CLOSE + MINUTE + 60_000


def test_a_paused_lot_does_not_close_at_its_old_closing_time() -> None:
    lot = opened("a")
    lot.bids(("a", "100.00"))
    lot.pause(at=CLOSE - 1000)
    assert lot.tick(at=CLOSE + 5 * MINUTE) == []
    lot.resume(at=CLOSE + 5 * MINUTE)
    lot.refuse_bid("a", "110.00", "already_leading", at=CLOSE + 5 * MINUTE + 999)
    assert lot.tick(at=CLOSE + 5 * MINUTE + 999) == []
    assert kinds(lot.tick(at=CLOSE + 5 * MINUTE + 1000)) == ["LotClosed", "LotAwarded"]


def test_only_an_open_lot_is_paused_and_only_a_paused_lot_resumed() -> None:
    lot = opened("a")
    lot.refuse(ResumeLot(actor=HOST, reason="r"), "invalid_state")
    lot.pause()
    lot.refuse(PauseLot(actor=HOST, reason="r"), "invalid_state")
    lot.resume()
    lot.refuse(ResumeLot(actor=HOST, reason="r"), "invalid_state")


def test_a_lot_cannot_be_paused_once_its_closing_time_has_come() -> None:
    lot = opened("a")
    lot.refuse(PauseLot(actor=HOST, reason="r"), "invalid_state", at=CLOSE)


def test_a_resume_sequenced_before_the_pause_instant_adds_no_time() -> None:
    lot = opened("a")
    lot.pause(at=T0 + 5000)
    events = lot.resume(at=T0 + 4000)  # a server clock stepped back
    assert isinstance(events[0], LotResumed) and events[0].paused_ms == 0
    assert lot.s.closes_at == CLOSE


# --------------------------------------------------------------------------- staff extension


def test_staff_extend_the_closing_time_with_a_reason() -> None:
    lot = opened("a")
    events = lot.extend(CLOSE + MINUTE, at=T0 + 1000)
    assert events == [CloseExtended(at=T0 + 1000, actor=HOST, closes_at=CLOSE + MINUTE,
                                    reason="bidder request")]
    assert lot.s.closes_at == CLOSE + MINUTE


def test_an_extension_must_move_the_close_later() -> None:
    lot = opened("a")
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=CLOSE), "bad_deadline")
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=CLOSE - 1), "bad_deadline")
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=str(CLOSE + 1)),  # type: ignore[arg-type]
               "bad_deadline")
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=True), "bad_deadline")


def test_staff_may_extend_past_max_closes_at_which_then_moves_too() -> None:
    lot = opened("a", **SOFT, max_closes_at=CLOSE + 10_000)
    lot.extend(CLOSE + MINUTE)
    assert (lot.s.closes_at, lot.s.max_closes_at) == (CLOSE + MINUTE, CLOSE + MINUTE)
    lot.take("a", "100.00", at=CLOSE + MINUTE - 1)
    assert lot.s.closes_at == CLOSE + MINUTE


def test_an_extension_below_max_closes_at_leaves_the_cap() -> None:
    lot = opened("a", max_closes_at=CLOSE + MINUTE)
    lot.extend(CLOSE + 1000)
    assert lot.s.max_closes_at == CLOSE + MINUTE


def test_a_paused_lot_can_be_extended_relative_to_its_frozen_closing_time() -> None:
    lot = opened("a")
    lot.pause(at=T0 + 1000)
    lot.extend(CLOSE + 1000, at=CLOSE + 10 * MINUTE)
    lot.resume(at=CLOSE + 10 * MINUTE)
    assert lot.s.closes_at == CLOSE + 1000 + (CLOSE + 10 * MINUTE - (T0 + 1000))


def test_a_lot_cannot_be_extended_before_it_opens_or_once_its_close_has_come() -> None:
    lot = opened("a")
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=CLOSE + MINUTE), "invalid_state",
               at=CLOSE)
    lot.tick(at=CLOSE)
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=CLOSE + MINUTE), "invalid_state")
    lot = Lot()
    lot.refuse(ExtendLot(actor=HOST, reason="r", closes_at=CLOSE + MINUTE), "invalid_state")
