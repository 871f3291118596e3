"""Counts before the opening or close (``show_counts``): whether the public and the
bidders see how many bidders registered and how many bids are in (RULES.md, More rules)."""

from typing import Any

import pytest

from auction.errors import InvalidParams
from auction.listing_timed import parse as parse_listing
from auction.model import ScheduleLot, StartLot
from auction.params import parse_english, public_params
from auction.record import GENESIS, seal
from auction.views import BIDDER, PUBLIC, STAFF, WITHHELD, redact, snapshot

from .listing_support import listing
from .support import HOST, MINUTE, T0, Lot
from .support import english as params

CLOSE = T0 + MINUTE


def registered(*bidders: str, **overrides: Any) -> Lot:
    lot = Lot(params(**overrides))
    for bidder in bidders:
        lot.register(bidder)
    lot.accept(ScheduleLot(actor=HOST))
    return lot


def counts(lot: Lot, audience: str, bidder_id: str | None = None) -> tuple[Any, Any]:
    view = snapshot(lot.s, audience, bidder_id)
    return view["bidders"], view["bid_count"]


def seen(lot: Lot, audience: str, bidder_id: str | None = None) -> list[dict[str, Any]]:
    return [redact(lot.s, r, audience, bidder_id)
            for r in seal("lot-1", 1, GENESIS, lot.events)]


def test_by_default_everyone_sees_the_counts_before_the_opening() -> None:
    lot = registered("a", "b")
    assert counts(lot, PUBLIC) == (2, 0)
    assert [e["type"] for e in seen(lot, PUBLIC)].count("BidderRegistered") == 2


def test_after_open_hides_how_many_registered_until_the_lot_opens() -> None:
    lot = registered("a", "b", "c", show_counts="after_open")
    assert counts(lot, PUBLIC) == (None, None)
    assert counts(lot, BIDDER, "a") == (None, None)
    assert counts(lot, STAFF) == (3, 0)
    lot.accept(StartLot(actor=HOST))
    assert counts(lot, PUBLIC) == (3, 0)


def test_while_the_counts_are_hidden_others_registrations_are_withheld_from_the_record(
        ) -> None:
    lot = registered("a", "b", show_counts="after_open")
    public = seen(lot, PUBLIC)
    kinds = [e["type"] for e in public]
    assert "BidderRegistered" not in kinds and "DepositConfirmed" not in kinds
    assert kinds.count(WITHHELD) == 4
    withheld = next(e for e in public if e["type"] == WITHHELD)
    assert set(withheld) == {"seq", "type"}  # not even when
    # Every sequence number is still there (gap-free).
    assert [e["seq"] for e in public] == list(range(1, len(lot.events) + 1))
    # Staff see everything.
    assert [e["type"] for e in seen(lot, STAFF)].count("BidderRegistered") == 2


def test_a_bidder_still_sees_its_own_registration_while_counts_are_hidden() -> None:
    lot = registered("a", "b", show_counts="after_close", visibility="blind")
    own = [e for e in seen(lot, BIDDER, "a") if e["type"] == "BidderRegistered"]
    assert len(own) == 1 and own[0]["own"] is True


def test_after_close_hides_the_counts_of_a_blind_lot_until_it_ends() -> None:
    lot = registered("a", "b", show_counts="after_close", visibility="blind")
    lot.accept(StartLot(actor=HOST))
    lot.bids(("a", "100.00"), ("b", "110.00"), ("a", "120.00"))
    assert counts(lot, PUBLIC) == (None, None)
    assert counts(lot, BIDDER, "a") == (None, None)
    assert counts(lot, STAFF) == (2, 3)
    kinds = [e["type"] for e in seen(lot, BIDDER, "a")]
    assert kinds.count("BidAccepted") == 2  # its own two bids, not b's
    lot.tick(at=CLOSE)
    assert counts(lot, PUBLIC) == (2, 3)
    assert [e["type"] for e in seen(lot, PUBLIC)].count("BidAccepted") == 3


def test_after_close_needs_blind_visibility() -> None:
    with pytest.raises(InvalidParams, match="visibility blind") as caught:
        parse_english(params(show_counts="after_close"))
    assert caught.value.field == "show_counts"


def test_everyone_sees_when_the_counts_are_disclosed() -> None:
    shown = public_params(parse_english(params(show_counts="after_open")))
    assert shown["show_counts"] == "after_open"
    assert "show_counts" not in public_params(parse_english(params()))


def test_a_listing_lot_may_hide_its_counts_until_it_opens_but_not_until_it_closes() -> None:
    assert parse_listing(listing(show_counts="after_open")).show_counts == "after_open"
    with pytest.raises(InvalidParams, match="show_counts"):
        parse_listing(listing(show_counts="after_close"))
