"""A reserve entered late, witnessed, sealed until the close (``reserve_entry``, issue 19;
:mod:`auction.witnessed`)."""

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from auction.errors import InvalidParams
from auction.formats import withheld
from auction.lot import decide, next_deadline
from auction.model import (
    ApproveReserve,
    CreateLot,
    EnterReserve,
    ExtendLot,
    LotAwarded,
    Rejection,
    ScheduleLot,
    StartLot,
)
from auction.params import parse_english, public_params
from auction.record import GENESIS, event_from_dict, event_to_dict, seal
from auction.state import AWARDED, FAILED, OPEN
from auction.verify import build_export, dumps, verify
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot
from auction.witnessed import (
    NoReserveAnnounced,
    ReserveEntered,
    ReserveRevealed,
    commitment,
)

from .support import HOST, MINUTE, T0, Lot, cny, kinds
from .support import english as params

SUPERVISOR = "staff:supervisor"
SALT = "5a10" * 8  # 32 hex digits, as the server draws them
CLOSE = T0 + MINUTE
#: Entry and approval end 20 s before the planned close.
DEADLINE = CLOSE - 20_000


def late(**overrides: Any) -> dict[str, Any]:
    return params(**{"reserve_entry": {"before_close_s": 20}, **overrides})


def scheduled(*bidders: str, **overrides: Any) -> Lot:
    lot = Lot(late(**overrides))
    for bidder in bidders:
        lot.register(bidder)
    lot.accept(ScheduleLot(actor=HOST))
    return lot


def enter(lot: Lot, amount: str, at: int | None = None, actor: str = HOST) -> str:
    """A host enters ``amount``: its commitment."""
    events = lot.accept(EnterReserve(actor=actor, amount=cny(amount), salt=SALT,
                                     reason="评估报告"), at)
    assert isinstance(events[0], ReserveEntered)
    return events[0].commitment


def approve(lot: Lot, digest: str, at: int | None = None, actor: str = SUPERVISOR) -> None:
    lot.accept(ApproveReserve(actor=actor, commitment=digest), at)


def witnessed(amount: str, *bidders: str, **overrides: Any) -> Lot:
    """An open lot whose reserve ``amount`` was entered and approved before it opened."""
    lot = scheduled(*bidders, **overrides)
    approve(lot, enter(lot, amount))
    lot.accept(StartLot(actor=HOST))
    return lot


# --------------------------------------------------------------------------- parameters


def test_reserve_entry_takes_the_seconds_before_the_close_when_entry_ends() -> None:
    p = parse_english(late())
    assert p.reserve_entry_s == 20 and p.reserve is None
    assert public_params(p)["reserve_entry"] == {"before_close_s": 20}
    assert "reserve_entry" not in public_params(parse_english(params()))


@pytest.mark.parametrize("entry", [{}, {"before_close_s": -1}, {"before_close_s": "20"},
                                   {"before_close_s": 20, "by": "host"}, 20, [20]])
def test_a_malformed_reserve_entry_is_refused(entry: object) -> None:
    with pytest.raises(InvalidParams) as exc:
        parse_english(params(reserve_entry=entry))
    assert exc.value.field in ("reserve_entry", "before_close_s", "by")


def test_a_lot_has_a_reserve_or_a_reserve_entry_never_both() -> None:
    with pytest.raises(InvalidParams, match="not both"):
        parse_english(late(reserve="150.00"))


def test_a_reverse_lot_may_have_a_public_ceiling_and_an_internal_one_entered_late() -> None:
    p = parse_english(late(direction="reverse", ceiling="100.00"))
    assert p.ceiling == cny("100.00") and p.reserve_entry_s == 20


def test_only_english_lots_take_a_reserve_entry_other_formats_do_not_know_it() -> None:
    assert Lot(late()).s.witnessed is not None and Lot().s.witnessed is None
    refused = decide(None, CreateLot(
        lot_id="lot-3", session_id="s", format="sealed", title="t", actor=HOST,
        params={"start_price": "100.00", "closes_at": CLOSE,
                "reserve_entry": {"before_close_s": 20}}), T0)
    assert isinstance(refused, Rejection) and refused.code == "invalid_params"
    assert "reserve_entry" in refused.detail


# --------------------------------------------------------------------------- entry, approval


def test_a_host_enters_a_commitment_of_the_amount_and_a_salt_and_a_supervisor_approves_it(
) -> None:
    lot = scheduled("a")
    digest = enter(lot, "150.00")
    assert digest == hashlib.sha256(f"{cny('150.00')}:{SALT}".encode()).hexdigest()
    assert digest == commitment(cny("150.00"), SALT)
    entered = lot.events[-1]
    assert entered.actor == HOST and isinstance(entered, ReserveEntered)
    assert entered.reason == "评估报告"
    approve(lot, digest)
    assert lot.events[-1].actor == SUPERVISOR
    assert lot.s.witnessed.status == "approved"


def test_the_person_who_entered_the_reserve_cannot_approve_it() -> None:
    lot = scheduled()
    digest = enter(lot, "150.00")
    lot.refuse(ApproveReserve(actor=HOST, commitment=digest), "same_person")


def test_an_approval_names_the_commitment_of_the_pending_entry() -> None:
    lot = scheduled()
    enter(lot, "150.00")
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment="0" * 64), "commitment_mismatch")


def test_there_is_nothing_to_approve_before_an_entry() -> None:
    lot = scheduled()
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment="0" * 64), "no_pending_reserve")


def test_a_pending_entry_may_be_replaced_and_only_the_new_one_approved() -> None:
    lot = scheduled()
    first = enter(lot, "150.00")
    second = enter(lot, "160.00", actor="staff:host2")
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment=first), "commitment_mismatch")
    approve(lot, second)
    # The replacing host entered it: the first host may approve, the second may not.
    assert lot.s.witnessed.entered_by == "staff:host2"


def test_an_approved_reserve_cannot_change() -> None:
    lot = scheduled()
    digest = enter(lot, "150.00")
    approve(lot, digest)
    lot.refuse(EnterReserve(actor=HOST, amount=cny("90.00"), salt=SALT), "reserve_fixed")
    lot.refuse(ApproveReserve(actor="staff:other", commitment=digest), "reserve_fixed")


def test_a_lot_without_reserve_entry_takes_none() -> None:
    lot = Lot()
    lot.refuse(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT), "reserve_entry_off")
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment="0" * 64), "reserve_entry_off")


@pytest.mark.parametrize(("change", "code"), [
    ({"amount": 0}, "invalid_amount"), ({"amount": True}, "invalid_amount"),
    ({"amount": "150"}, "invalid_amount"), ({"amount": 10**30}, "invalid_amount"),
    ({"salt": "short"}, "invalid_params"), ({"salt": SALT.upper()}, "invalid_params"),
    ({"salt": None}, "invalid_params"), ({"actor": " "}, "invalid_params"),
    ({"reason": "x" * 501}, "invalid_params"),
])
def test_an_entry_needs_an_amount_a_server_salt_and_an_actor(change: dict[str, Any],
                                                             code: str) -> None:
    lot = scheduled()
    cmd = dataclasses.replace(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT),
                              **change)
    lot.refuse(cmd, code)


def test_nothing_is_entered_once_the_lot_has_ended() -> None:
    lot = witnessed("150.00", "a")
    lot.tick(at=CLOSE)
    lot.refuse(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT), "invalid_state")


# --------------------------------------------------------------------------- deadline


def test_a_lot_that_opens_with_nothing_entered_announces_no_reserve_and_takes_none_after(
) -> None:
    lot = scheduled("a")
    events = lot.accept(StartLot(actor=HOST))
    assert kinds(events) == ["LotOpened", "NoReserveAnnounced"]
    assert events[1].actor == "system"
    assert lot.s.witnessed.status == "none"
    lot.refuse(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT),
               "reserve_entry_closed")
    assert snapshot(lot.s, PUBLIC)["reserve_entry"]["status"] == "none"


def test_a_lot_opening_by_itself_with_nothing_entered_announces_no_reserve() -> None:
    lot = scheduled("a", opens_at=T0 + 1000)
    assert kinds(lot.tick(at=T0 + 1000)) == ["LotOpened", "NoReserveAnnounced"]


def test_a_pending_entry_may_be_approved_while_bidding_until_the_deadline() -> None:
    lot = scheduled("a", "b")
    digest = enter(lot, "150.00")
    assert kinds(lot.accept(StartLot(actor=HOST))) == ["LotOpened"]
    assert lot.s.witnessed.deadline == DEADLINE
    assert next_deadline(lot.s) == DEADLINE
    lot.take("a", "100.00")
    approve(lot, digest, at=DEADLINE - 1)
    assert next_deadline(lot.s) == CLOSE


def test_a_pending_entry_not_approved_by_the_deadline_lapses() -> None:
    lot = scheduled("a", "b")
    digest = enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment=digest), "reserve_entry_closed",
               at=DEADLINE)  # the deadline has come, before its tick
    events = lot.tick(at=DEADLINE)
    assert kinds(events) == ["ReserveLapsed"] and events[0].actor == "system"
    assert lot.s.witnessed.status == "lapsed"
    lot.refuse(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT),
               "reserve_entry_closed", at=DEADLINE + 1)
    lot.take("a", "100.00", at=DEADLINE + 1)
    closing = lot.tick(at=CLOSE)
    assert kinds(closing) == ["LotClosed", "LotAwarded"]  # no reserve


def test_a_new_entry_is_refused_after_the_deadline_even_before_any_tick() -> None:
    lot = scheduled("a")
    first = enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.refuse(EnterReserve(actor=HOST, amount=cny("150.00"), salt=SALT),
               "reserve_entry_closed", at=DEADLINE + 5)
    assert lot.s.witnessed.commitment == first


def test_the_deadline_is_fixed_when_the_lot_opens_extensions_do_not_move_it() -> None:
    lot = scheduled("a", extend_window_s=30, extend_s=30)
    digest = enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "100.00", at=CLOSE - 1000)  # soft close: the close moves
    lot.accept(ExtendLot(actor=HOST, reason="network", closes_at=CLOSE + 10 * MINUTE),
               at=CLOSE - 900)
    assert lot.s.witnessed.deadline == DEADLINE
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment=digest), "reserve_entry_closed",
               at=CLOSE - 800)
    assert kinds(lot.tick(at=CLOSE)) == ["ReserveLapsed"]  # overdue: lapses at the next tick
    assert lot.s.status == OPEN


def test_a_pending_entry_at_a_deadline_that_is_the_close_lapses_in_the_close() -> None:
    lot = Lot(params(reserve_entry={"before_close_s": 0}))
    lot.register("a")
    lot.accept(ScheduleLot(actor=HOST))
    enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.take("a", "100.00")
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "ReserveLapsed", "LotAwarded"]


# --------------------------------------------------------------------------- the close


def test_the_approved_reserve_is_revealed_at_the_close_and_a_best_below_it_fails() -> None:
    lot = witnessed("150.00", "a", "b")
    lot.bids(("a", "100.00"), ("b", "140.00"))
    events = lot.tick(at=CLOSE)
    assert kinds(events) == ["LotClosed", "ReserveRevealed", "LotFailed"]
    reveal = events[1]
    assert isinstance(reveal, ReserveRevealed)
    assert (reveal.amount, reveal.salt) == (cny("150.00"), SALT)
    assert reveal.commitment == commitment(reveal.amount, reveal.salt)
    assert lot.s.outcome is not None and lot.s.outcome.reason == "reserve_not_met"
    assert lot.s.witnessed.status == "revealed"


def test_a_best_reaching_the_approved_reserve_wins() -> None:
    lot = witnessed("150.00", "a", "b")
    lot.bids(("a", "100.00"), ("b", "150.00"))
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "ReserveRevealed", "LotAwarded"]
    assert lot.s.status == AWARDED and lot.s.outcome.amount == cny("150.00")


def test_a_lot_with_no_bid_reveals_its_reserve_and_fails() -> None:
    lot = witnessed("150.00", "a")
    assert kinds(lot.tick(at=CLOSE)) == ["LotClosed", "ReserveRevealed", "LotFailed"]


def test_a_reverse_lot_above_its_internal_ceiling_fails_and_at_or_below_it_wins() -> None:
    above = witnessed("80.00", "a", direction="reverse")
    above.take("a", "90.00")
    assert kinds(above.tick(at=CLOSE))[-1] == "LotFailed"
    assert above.s.outcome is not None and above.s.outcome.reason == "ceiling_exceeded"
    within = witnessed("80.00", "a", direction="reverse")
    within.take("a", "80.00")
    within.tick(at=CLOSE)
    assert within.s.status == AWARDED


def test_a_single_bidder_at_the_start_price_meets_the_witnessed_reserve_or_fails() -> None:
    below = witnessed("150.00", "a", "b", min_bidders=2, below_min="award_single")
    below.take("a", "100.00")
    assert kinds(below.tick(at=CLOSE)) == ["LotClosed", "ReserveRevealed", "LotFailed"]
    assert below.s.outcome is not None and below.s.outcome.reason == "reserve_not_met"
    met = witnessed("100.00", "a", "b", min_bidders=2, below_min="award_single")
    met.take("a", "120.00")
    met.tick(at=CLOSE)
    assert met.s.status == AWARDED and met.s.outcome.amount == cny("100.00")
    reverse = witnessed("90.00", "a", "b", min_bidders=2, below_min="award_single",
                        direction="reverse")
    reverse.take("a", "90.00")
    reverse.tick(at=CLOSE)
    assert reverse.s.outcome is not None and reverse.s.outcome.reason == "ceiling_exceeded"


# --------------------------------------------------------------------------- sealed


def _views(lot: Lot) -> str:
    """Every snapshot and every redacted event, as every audience gets them."""
    records = seal("lot-1", 1, GENESIS, lot.events)
    shown: list[Any] = [snapshot(lot.s, a, "a") for a in (PUBLIC, BIDDER, STAFF)]
    shown += [redact(lot.s, r, a, "a") for r in records for a in (PUBLIC, BIDDER, STAFF)]
    return json.dumps(shown, ensure_ascii=False)


def test_no_view_shows_the_amount_or_salt_before_the_lot_ends_staff_included() -> None:
    lot = scheduled("a", "b")
    digest = enter(lot, "157.00")
    approve(lot, digest)
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "110.00"))
    text = _views(lot)
    assert SALT not in text and "157" not in text and str(cny("157.00")) not in text
    assert "评估报告" not in text  # the entry's reason is sealed with it
    assert digest in text
    staff = snapshot(lot.s, STAFF)
    assert staff["reserve"] is None
    assert staff["reserve_entry"] == {
        "status": "approved", "deadline": DEADLINE, "before_close_s": 20, "commitment": digest,
        "entered_by": HOST, "approved_by": SUPERVISOR}
    assert "entered_by" not in snapshot(lot.s, PUBLIC)["reserve_entry"]
    assert withheld(lot.s)  # the raw record's reads refuse the lot meanwhile


def test_at_the_close_everyone_sees_the_revealed_reserve() -> None:
    lot = witnessed("157.00", "a")
    lot.take("a", "100.00")
    lot.tick(at=CLOSE)
    assert not withheld(lot.s)
    assert snapshot(lot.s, PUBLIC)["reserve_entry"]["amount"] == "157.00"
    records = seal("lot-1", 1, GENESIS, lot.events)
    reveal = next(r for r in records if isinstance(r.event, ReserveRevealed))
    assert redact(lot.s, reveal, PUBLIC)["amount"] == "157.00"
    assert redact(lot.s, reveal, PUBLIC)["salt"] == SALT
    entry = next(r for r in records if isinstance(r.event, ReserveEntered))
    assert redact(lot.s, entry, STAFF)["amount"] == "157.00"
    assert redact(lot.s, entry, STAFF)["reason"] == "评估报告"
    # The reveal is the public one; the entry's reason (it could repeat the amount) is
    # for staff.
    assert not {"amount", "salt", "reason"} & set(redact(lot.s, entry, PUBLIC))


def test_a_lapsed_entry_stays_sealed_until_the_lot_ends() -> None:
    lot = scheduled("a")
    enter(lot, "157.00")
    lot.accept(StartLot(actor=HOST))
    lot.tick(at=DEADLINE)
    assert withheld(lot.s) and SALT not in _views(lot)
    lot.cancel()
    assert not withheld(lot.s)


def test_a_lot_without_reserve_entry_is_not_withheld_and_shows_no_entry() -> None:
    lot = Lot().open("a")
    lot.pause()
    lot.resume()
    assert not withheld(lot.s) and "reserve_entry" not in snapshot(lot.s, PUBLIC)


# --------------------------------------------------------------------------- the record


def _export(lot: Lot, events: list[Any] | None = None) -> str:
    records = seal("lot-1", 1, GENESIS, lot.events if events is None else events)
    return dumps(build_export(lot.s, records))


def _witnessed_and_closed() -> Lot:
    lot = scheduled("a", "b")
    enter(lot, "200.00")
    digest = enter(lot, "150.00", actor="staff:host2")
    approve(lot, digest)
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "160.00"))
    lot.tick(at=CLOSE)
    return lot


def test_auction_verify_replays_the_entry_the_approval_and_the_reveal() -> None:
    lot = _witnessed_and_closed()
    result = verify(_export(lot))
    assert result.ok, result
    lapsed = scheduled("a")
    enter(lapsed, "150.00")
    lapsed.accept(StartLot(actor=HOST))
    lapsed.tick(at=DEADLINE)
    lapsed.take("a", "100.00")
    lapsed.tick(at=CLOSE)
    assert verify(_export(lapsed)).ok
    none = scheduled("a")
    none.accept(StartLot(actor=HOST))
    none.tick(at=CLOSE)
    assert NoReserveAnnounced in map(type, none.events) and verify(_export(none)).ok


def _forged(lot: Lot, kind: type, **change: Any) -> list[Any]:
    events = []
    for event in lot.events:
        if isinstance(event, kind):
            body = event_to_dict(event)
            body.update(change)
            event = event_from_dict(body)
        events.append(event)
    return events


def test_a_forged_reveal_fails_verification() -> None:
    lot = _witnessed_and_closed()
    forged = verify(_export(lot, _forged(lot, ReserveRevealed, amount=cny("170.00"))))
    assert not forged.ok and forged.discrepancy is not None
    assert forged.discrepancy.kind == "rules"


def test_an_entry_whose_amount_does_not_give_its_commitment_fails_verification() -> None:
    lot = _witnessed_and_closed()
    forged = verify(_export(lot, _forged(lot, ReserveEntered, amount=cny("170.00"))))
    assert not forged.ok and forged.discrepancy is not None
    assert forged.discrepancy.kind == "rules"


def test_an_outcome_that_ignored_the_revealed_reserve_fails_verification() -> None:
    lot = witnessed("150.00", "a")
    lot.take("a", "100.00")
    lot.tick(at=CLOSE)
    assert lot.s.status == FAILED
    winner = lot.s.bidders["a"]
    events = [*lot.events[:-1], LotAwarded(at=CLOSE, actor="system", bidder_id="a",
                                           bidder_no=winner.bidder_no, amount=cny("100.00"))]
    forged = verify(_export(lot, events))
    assert not forged.ok


def test_the_state_replays_from_the_record() -> None:
    lot = _witnessed_and_closed()
    assert lot.replayed() == lot.s
    assert lot.s.status == AWARDED
    assert lot.s.witnessed.status == "revealed"


def test_a_suspension_stops_the_time_to_approve_and_moves_the_deadline_on() -> None:
    lot = scheduled("a")
    digest = enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.pause(at=DEADLINE - 1000)
    # Suspended before the deadline: its time stands still, approval is still in time.
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment="0" * 64), "commitment_mismatch",
               at=DEADLINE + 5000)  # judged, not refused for time
    lot.resume(at=DEADLINE + 9000)
    assert lot.s.witnessed.deadline == DEADLINE + 10_000
    approve(lot, digest, at=DEADLINE + 9500)
    lot.refuse(EnterReserve(actor=HOST, amount=cny("1.00"), salt=SALT), "reserve_fixed")


def test_approval_is_refused_during_a_suspension_begun_after_the_deadline() -> None:
    lot = scheduled("a", extend_window_s=1, extend_s=1)
    digest = enter(lot, "150.00")
    lot.accept(StartLot(actor=HOST))
    lot.pause(at=DEADLINE + 1)
    lot.refuse(ApproveReserve(actor=SUPERVISOR, commitment=digest), "reserve_entry_closed",
               at=DEADLINE + 2)


def test_a_pending_entry_lapses_at_the_opening_when_the_lot_opens_past_its_deadline() -> None:
    lot = scheduled("a", reserve_entry={"before_close_s": 50}, closes_at=None, duration_s=60,
                    opens_at=T0 + 1000)
    enter(lot, "150.00")
    assert kinds(lot.tick(at=T0 + 20_000)) == ["LotOpened", "ReserveLapsed"]
    assert lot.s.witnessed.status == "lapsed"
