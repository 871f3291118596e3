"""What each audience sees (views.py): the public never sees the reserve or bidder
identities; under ``rank`` a bidder sees only its own rank and price; under ``blind``
nobody but staff sees a best price until the end; staff see everything."""

import json
from typing import Any

import pytest

from auction.model import ConfirmDeposit, PlaceBid, RegisterBidder
from auction.record import GENESIS, Recorded, seal
from auction.views import (
    BIDDER,
    PUBLIC,
    STAFF,
    audience_key,
    bidder_view,
    redact,
    snapshot,
)

from .support import HOST, MINUTE, T0, Lot, cny, english

SECRETS = ["secret-id-a", "secret-id-b", "甲建设集团", "乙建设集团", "10.9.8.7", "fp-777",
           "6222-acct"]


def lot_with_bids(**overrides: Any) -> Lot:
    """Bidders secret-id-a (no 0731) and secret-id-b (no 0732); a bids 100, b 110, a 120
    (reverse: 100, 90, 80); reserve 500.00 on forward lots."""
    if overrides.get("direction") != "reverse":
        overrides.setdefault("reserve", "500.00")
    lot = Lot(english(**overrides))
    for bidder_id, no, name in [("secret-id-a", "0731", "甲建设集团"),
                                ("secret-id-b", "0732", "乙建设集团")]:
        lot.accept(RegisterBidder(bidder_id=bidder_id, bidder_no=no, name=name, actor=HOST))
        lot.accept(ConfirmDeposit(bidder_id=bidder_id, amount=5000, account="6222-acct",
                                  actor=HOST))
    lot.open()
    prices = (["100.00", "90.00", "80.00"] if overrides.get("direction") == "reverse"
              else ["100.00", "110.00", "120.00"])
    for bidder_id, price in zip(["secret-id-a", "secret-id-b", "secret-id-a"], prices,
                                strict=True):
        lot.accept(PlaceBid(bidder_id=bidder_id, amount=cny(price), ip="10.9.8.7",
                            device="fp-777"))
    return lot


def records(lot: Lot) -> list[Recorded]:
    return seal("lot-1", 1, GENESIS, lot.events)


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def everything(lot: Lot, audience: str, bidder_id: str | None = None) -> str:
    return dump([snapshot(lot.s, audience, bidder_id),
                 [redact(lot.s, r, audience, bidder_id) for r in records(lot)]])


@pytest.mark.parametrize("visibility", ["price", "rank", "blind"])
@pytest.mark.parametrize("ended", [False, True])
def test_the_public_never_sees_the_reserve_or_bidder_identities(visibility: str,
                                                                ended: bool) -> None:
    lot = lot_with_bids(visibility=visibility)
    if ended:
        lot.tick(at=T0 + MINUTE)
    seen = everything(lot, PUBLIC)
    for secret in SECRETS + ["500.00", "50000"]:
        assert secret not in seen
    assert snapshot(lot.s, PUBLIC)["params"]["has_reserve"] is True


@pytest.mark.parametrize("visibility", ["rank", "blind"])
def test_a_bidder_never_sees_another_bidders_identity_or_the_reserve(visibility: str) -> None:
    lot = lot_with_bids(visibility=visibility)
    seen = everything(lot, BIDDER, "secret-id-b")
    for secret in ["secret-id-a", "甲建设集团", "乙建设集团", "10.9.8.7", "500.00", "0731"]:
        assert secret not in seen


def test_under_price_visibility_everyone_sees_the_best_price_and_its_bidder_number() -> None:
    lot = lot_with_bids()
    view = snapshot(lot.s, PUBLIC)
    assert (view["best"], view["leader_no"], view["next_min"]) == ("120.00", "0731", "130.00")
    assert view["bid_count"] == 3 and view["bidders"] == 2
    bids = [redact(lot.s, r, PUBLIC) for r in records(lot) if r.event.__class__.__name__
            == "BidAccepted"]
    assert [(b["bidder_no"], b["amount"]) for b in bids] == [
        ("0731", "100.00"), ("0732", "110.00"), ("0731", "120.00")]


def test_under_price_visibility_a_bidder_sees_exactly_what_the_public_sees() -> None:
    lot = lot_with_bids()
    assert audience_key(lot.s, BIDDER, "secret-id-a") == PUBLIC
    assert snapshot(lot.s, BIDDER, "secret-id-a") == snapshot(lot.s, PUBLIC)
    for record in records(lot):
        assert redact(lot.s, record, BIDDER, "secret-id-a") == redact(lot.s, record, PUBLIC)


def test_a_bidder_gets_its_own_standing_from_bidder_view() -> None:
    lot = lot_with_bids()
    you = bidder_view(lot.s, "secret-id-b")
    assert you is not None
    assert (you["bidder_no"], you["eligible"], you["last_bid"], you["bids"]) == (
        "0732", True, "110.00", 1)
    assert (you["rank"], you["leading"], you["next_min"]) == (2, False, "130.00")
    assert [b["amount"] for b in you["own_bids"]] == ["110.00"]
    assert bidder_view(lot.s, "nobody") is None
    assert bidder_view(lot.s, None) is None


def test_a_bidders_standing_can_list_only_its_bids_after_a_sequence_number() -> None:
    lot = lot_with_bids(max_jump_steps=0)
    lot.bids(("secret-id-b", "500.00"), ("secret-id-a", "600.00"), ("secret-id-b", "700.00"))
    every = bidder_view(lot.s, "secret-id-b")
    assert every is not None
    assert [b["amount"] for b in every["own_bids"]] == ["110.00", "500.00", "700.00"]
    seqs = [b["seq"] for b in every["own_bids"]]
    for after, expected in ((0, seqs), (seqs[0], seqs[1:]), (seqs[1], seqs[2:]),
                            (seqs[2] - 1, seqs[2:]), (seqs[2], [])):
        you = bidder_view(lot.s, "secret-id-b", bids_after=after)
        assert you is not None
        assert [b["seq"] for b in you["own_bids"]] == expected, after
        assert you["bids"] == 3  # the count is always the whole
    assert bidder_view(lot.s, None) is None


def test_under_rank_visibility_a_bidder_sees_only_its_own_rank_and_price() -> None:
    lot = lot_with_bids(visibility="rank")
    key = audience_key(lot.s, BIDDER, "secret-id-b")
    assert key == "bidder:secret-id-b"
    view = snapshot(lot.s, BIDDER, "secret-id-b")
    assert (view["best"], view["leader_no"], view["next_min"]) == (None, None, None)
    you = view["you"]
    assert (you["rank"], you["last_bid"], you["leading"]) == (2, "110.00", False)
    # Bids improve the bidder's own bid: its next price is its own plus a step, never
    # one reckoned from the hidden best.
    assert you["next_min"] == "120.00"
    rest = {**view, "you": {**you, "next_min": None}}
    assert "120.00" not in dump(rest) and "0731" not in dump(view)
    events = [redact(lot.s, r, BIDDER, "secret-id-b") for r in records(lot)]
    shown = [e for e in events if e["type"] == "BidAccepted" and "amount" in e]
    assert [(e["bidder_no"], e["amount"]) for e in shown] == [("0732", "110.00")]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_under_rank_visibility_the_public_sees_no_price_until_the_end() -> None:
    lot = lot_with_bids(visibility="rank", reserve=None)
    view = snapshot(lot.s, PUBLIC)
    assert (view["best"], view["leader_no"], view["next_min"]) == (None, None, None)
    assert "you" not in view
    lot.tick(at=T0 + MINUTE)
    view = snapshot(lot.s, PUBLIC)
    assert (view["best"], view["leader_no"]) == ("120.00", "0731")
    assert view["outcome"] == {"status": "awarded", "bidder_no": "0731", "amount": "120.00",
                               "reason": None, "at": T0 + MINUTE}


def test_under_rank_visibility_with_own_improvement_a_bidder_sees_its_next_price() -> None:
    lot = lot_with_bids(visibility="rank", direction="reverse", improve="own")
    you = snapshot(lot.s, BIDDER, "secret-id-b")["you"]
    assert (you["rank"], you["next_min"]) == (2, "80.00")


def test_under_blind_visibility_no_bidder_sees_a_best_price_or_rank_until_the_end() -> None:
    lot = lot_with_bids(visibility="blind", reserve=None)
    view = snapshot(lot.s, BIDDER, "secret-id-a")
    assert (view["best"], view["leader_no"]) == (None, None)
    you = view["you"]
    assert (you["rank"], you["leading"], you["last_bid"]) == (None, None, "120.00")
    lot.tick(at=T0 + MINUTE)
    view = snapshot(lot.s, BIDDER, "secret-id-b")
    assert (view["best"], view["leader_no"]) == ("120.00", "0731")
    assert view["you"]["next_min"] is None  # the lot is no longer open


def test_registration_events_are_marked_as_own_only_for_that_bidder() -> None:
    lot = lot_with_bids(visibility="blind")
    shown = [redact(lot.s, r, BIDDER, "secret-id-a") for r in records(lot)[1:5]]
    assert [e.get("own") for e in shown] == [True, True, None, None]
    public = [redact(lot.s, r, PUBLIC) for r in records(lot)[1:5]]
    assert all(set(e) == {"seq", "type", "at"} for e in public)


def test_the_public_sees_the_lot_title_but_not_its_parameters_in_the_creation_event() -> None:
    lot = lot_with_bids()
    created = redact(lot.s, records(lot)[0], PUBLIC)
    assert created == {"seq": 1, "type": "LotCreated", "at": T0, "title": lot.s.title,
                       "format": "english"}


def test_clock_events_are_public() -> None:
    lot = lot_with_bids(visibility="blind")
    lot.pause()
    lot.resume(at=T0 + 1000)
    shown = [redact(lot.s, r, PUBLIC) for r in records(lot)[-2:]]
    assert shown[0] == {"seq": shown[0]["seq"], "type": "LotPaused", "at": T0, "actor": HOST,
                        "reason": "network fault"}
    assert shown[1]["paused_ms"] == 1000


def test_the_award_is_public_with_the_bidder_number_only() -> None:
    lot = lot_with_bids(visibility="blind", reserve=None)
    lot.tick(at=T0 + MINUTE)
    award = redact(lot.s, records(lot)[-1], PUBLIC)
    assert award == {"seq": award["seq"], "type": "LotAwarded", "at": T0 + MINUTE,
                     "bidder_no": "0731", "amount": "120.00"}


@pytest.mark.parametrize("visibility", ["price", "rank", "blind"])
def test_staff_see_everything(visibility: str) -> None:
    lot = lot_with_bids(visibility=visibility)
    view = snapshot(lot.s, STAFF)
    assert audience_key(lot.s, STAFF, "secret-id-a") == STAFF
    assert (view["best"], view["leader_no"], view["reserve"]) == ("120.00", "0731", "500.00")
    assert view["ranking"] == ["0731", "0732"]
    assert view["register"][0] == {
        "bidder_id": "secret-id-a", "bidder_no": "0731", "name": "甲建设集团",
        "deposit": "50.00", "eligible": True, "last_bid": "120.00", "bids": 2}
    seen = everything(lot, STAFF)
    for secret in SECRETS:
        assert secret in seen
    bid = redact(lot.s, records(lot)[-1], STAFF)
    assert (bid["amount"], bid["ip"], bid["bidder_id"]) == ("120.00", "10.9.8.7", "secret-id-a")
    lot.tick(at=T0 + MINUTE)
    assert snapshot(lot.s, STAFF)["outcome"]["bidder_id"] is None  # reserve not met
    assert "bidder_id" not in snapshot(lot.s, PUBLIC)["outcome"]


def test_staff_see_the_winners_identity_in_the_outcome() -> None:
    lot = lot_with_bids(reserve=None)
    lot.tick(at=T0 + MINUTE)
    assert snapshot(lot.s, STAFF)["outcome"]["bidder_id"] == "secret-id-a"
    assert snapshot(lot.s, PUBLIC)["outcome"]["bidder_no"] == "0731"


def test_an_unknown_audience_sees_what_the_public_sees() -> None:
    lot = lot_with_bids(visibility="rank")
    assert audience_key(lot.s, "supervisor?") == PUBLIC
    assert snapshot(lot.s, "supervisor?") == snapshot(lot.s, PUBLIC)


@pytest.mark.parametrize("visibility", ["price", "rank", "blind"])
def test_subscribers_with_the_same_key_receive_identical_views(visibility: str) -> None:
    lot = lot_with_bids(visibility=visibility)
    subscribers = [(PUBLIC, None), (PUBLIC, "secret-id-a"), (BIDDER, "secret-id-a"),
                   (BIDDER, "secret-id-b"), (BIDDER, "stranger"), (BIDDER, None),
                   (STAFF, None), (STAFF, "x"), ("other", None)]
    by_key: dict[str, str] = {}
    for audience, bidder_id in subscribers:
        key = audience_key(lot.s, audience, bidder_id)
        seen = everything(lot, audience, bidder_id)
        assert by_key.setdefault(key, seen) == seen, (key, audience, bidder_id)


def test_amounts_leave_as_decimal_strings_in_the_currency_of_the_lot() -> None:
    lot = Lot(english(currency="JPY", start_price="1000", step="100", deposit="500"))
    view = snapshot(lot.s, STAFF)
    assert (view["params"]["start_price"], view["reserve"], view["best"]) == ("1000", None, None)


def test_a_snapshot_before_opening_shows_no_next_price() -> None:
    lot = Lot()
    lot.register("a")
    view = snapshot(lot.s, PUBLIC)
    assert (view["status"], view["next_min"], view["outcome"]) == ("draft", None, None)
    assert bidder_view(lot.s, "a") == {
        "bidder_no": "Na", "eligible": True, "last_bid": None, "bids": 0, "rank": None,
        "leading": False, "next_min": None, "own_bids": []}
