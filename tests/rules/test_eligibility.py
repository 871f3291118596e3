"""Eligible bidder: registered for the lot, holding a confirmed deposit of at least the
lot's deposit. Bidder numbers are unique in the lot."""

import pytest

from auction.model import (
    BidderRegistered,
    ConfirmDeposit,
    DepositConfirmed,
    PlaceBid,
    RegisterBidder,
)

from .support import HOST, MINUTE, T0, Lot, cny, english, opened


def register(bidder_id: str = "a", no: str = "0731", name: str = "甲公司") -> RegisterBidder:
    return RegisterBidder(bidder_id=bidder_id, bidder_no=no, name=name, actor=HOST)


def deposit(bidder_id: str = "a", amount: object = 5000) -> ConfirmDeposit:
    return ConfirmDeposit(bidder_id=bidder_id, amount=amount, account="6222 0000",  # type: ignore[arg-type]
                          actor=HOST)


def test_a_registered_bidder_gets_its_bidder_number() -> None:
    lot = Lot()
    events = lot.accept(register())
    assert events == [BidderRegistered(at=T0, actor=HOST, bidder_id="a", bidder_no="0731",
                                       name="甲公司")]
    assert lot.s.bidders["a"].bidder_no == "0731"
    assert lot.s.numbers == {"0731": "a"}
    assert not lot.s.eligible(lot.s.bidders["a"])


def test_a_bidder_registers_only_once() -> None:
    lot = Lot()
    lot.accept(register())
    lot.refuse(register(no="0999"), "already_registered")


def test_bidder_numbers_are_unique_in_the_lot() -> None:
    lot = Lot()
    lot.accept(register("a", "0731"))
    lot.refuse(register("b", "0731"), "number_taken")
    lot.accept(register("b", "0732"))


@pytest.mark.parametrize(("bidder_id", "no", "name"), [
    ("", "1", "n"), ("a", "", "n"), ("a", "1", "x" * 501), (None, "1", "n"), ("a", 7, "n"),
    ("a", "\ud800", "n"), ("a", "system", "n"),
])
def test_a_registration_needs_an_id_and_a_number(bidder_id: object, no: object,
                                                 name: object) -> None:
    Lot().refuse(register(bidder_id, no, name), "invalid_params")  # type: ignore[arg-type]


def test_a_bidder_may_register_without_a_name_and_while_the_lot_is_open() -> None:
    lot = opened()
    lot.accept(register(name=""))


def test_registration_ends_with_the_lot() -> None:
    lot = opened("a")
    lot.refuse(register("z", "9"), "invalid_state", at=T0 + MINUTE)
    lot.tick(at=T0 + MINUTE)
    lot.refuse(register("z", "9"), "invalid_state")


def test_a_confirmed_deposit_of_at_least_the_lots_deposit_makes_a_bidder_eligible() -> None:
    lot = Lot(english(deposit="50.00"))
    lot.accept(register())
    events = lot.accept(deposit(amount=cny("50.00")))
    assert events == [DepositConfirmed(at=T0, actor=HOST, bidder_id="a", amount=5000,
                                       account="6222 0000")]
    assert lot.s.eligible(lot.s.bidders["a"])


def test_a_deposit_below_the_lots_deposit_is_refused() -> None:
    lot = Lot(english(deposit="50.00"))
    lot.accept(register())
    lot.refuse(deposit(amount=4999), "deposit_too_low")
    lot.refuse(deposit(amount=0), "deposit_too_low")


def test_a_deposit_is_a_positive_amount_even_when_the_lot_asks_for_none() -> None:
    lot = Lot(english(deposit=None))
    lot.accept(register())
    lot.refuse(deposit(amount=0), "deposit_too_low")
    lot.refuse(deposit(amount=-1), "deposit_too_low")
    lot.accept(deposit(amount=1))


@pytest.mark.parametrize("amount", [50.0, "5000", True, None])
def test_a_deposit_amount_must_be_whole_minor_units(amount: object) -> None:
    lot = Lot()
    lot.accept(register())
    lot.refuse(deposit(amount=amount), "invalid_amount")


def test_a_deposit_for_an_unregistered_bidder_is_refused() -> None:
    Lot().refuse(deposit("ghost"), "unknown_bidder")


def test_a_deposit_needs_a_bidder_and_a_recordable_account() -> None:
    lot = Lot()
    lot.accept(register())
    lot.refuse(ConfirmDeposit(bidder_id="a", amount=5000, account="x" * 501, actor=HOST),
               "invalid_params")
    lot.refuse(ConfirmDeposit(bidder_id=["a"], amount=5000, account="",  # type: ignore[arg-type]
                              actor=HOST), "invalid_params")


def test_no_deposit_is_confirmed_after_the_lot_ends() -> None:
    lot = opened()
    lot.accept(register())
    lot.refuse(deposit(), "invalid_state", at=T0 + MINUTE)


def test_an_unregistered_bidder_cannot_bid() -> None:
    opened("a").refuse_bid("stranger", "100.00", "not_eligible")


def test_a_bidder_id_that_is_not_text_is_not_eligible() -> None:
    opened("a").refuse(PlaceBid(bidder_id=["a"], amount=10000), "not_eligible")  # type: ignore[arg-type]


def test_a_registered_bidder_without_a_confirmed_deposit_cannot_bid() -> None:
    lot = opened()
    lot.register("a", deposit=None)
    lot.refuse_bid("a", "100.00", "deposit_missing")


def test_a_bidder_becomes_eligible_when_its_deposit_is_confirmed_during_bidding() -> None:
    lot = opened()
    lot.register("a", deposit=None)
    lot.accept(deposit(amount=cny("50.00")))
    assert lot.s.eligible(lot.s.bidders["a"])
    lot.bids(("a", "100.00"))
