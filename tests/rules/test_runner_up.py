"""The runner-up of every format: after a winner's default the lot goes to the second of
the format's final ranking at the price that bidder offered (its own last accepted bid;
the cap after a listing's cap), never below the reserve; a lot nobody else bid on has no
runner-up. ``auction verify`` decides the offer again from the record."""

from __future__ import annotations

from records.listing_lots import ENDS, ListingSimLot, land, lottery_lot, secondary_lot
from records.sim import HOST, T0, SimLot, cny, params
from records.test_clock_records import dutch_lot, japanese_lot
from records.test_proxy_records import proxy_lot
from records.test_sealed_records import played

from auction.default import AwardedToRunnerUp, DeclareDefault
from auction.lot import decide
from auction.model import BidAccepted, CreateLot, Rejection, Tick
from auction.verify import build_export, dumps, verify

DEFAULT = DeclareDefault(actor=HOST, reason="逾期未缴纳成交价款", then="runner_up")
LATER = T0 + 100_000_000


def runner_up(lot: SimLot) -> tuple[str, int]:
    """The default decided on ``lot``: the runner-up's bidder id and price (the lot's
    record, with the default, verifies)."""
    events = lot.do(DEFAULT, LATER)
    offer = events[-1]
    assert isinstance(offer, AwardedToRunnerUp), events
    assert lot.s.outcome is not None and lot.s.status == "awarded"
    assert (lot.s.outcome.bidder_id, lot.s.outcome.amount) == (offer.bidder_id, offer.amount)
    result = verify(dumps(build_export(lot.s, lot.records, LATER + 1000)))
    assert result.ok, result.summary
    return offer.bidder_id, offer.amount


def refused(lot: SimLot) -> str:
    decision = decide(lot.s, DEFAULT, LATER)
    assert isinstance(decision, Rejection), decision
    return decision.code


def own_last_bid(lot: SimLot, bidder_id: str) -> int:
    return [r.event.amount for r in lot.records
            if isinstance(r.event, BidAccepted) and r.event.bidder_id == bidder_id][-1]


def test_an_english_runner_up_below_the_reserve_is_not_offered_the_lot() -> None:
    lot = SimLot("L-R", params(reserve="1015000.00"))
    for bidder in "abc":
        lot.register(bidder)
    lot.open()
    for i, (bidder, price) in enumerate(zip("abc", ("1000000.00", "1010000.00", "1020000.00"),
                                            strict=True)):
        lot.bid(bidder, price, T0 + 1000 * (i + 1))
    lot.close()
    assert refused(lot) == "no_runner_up"


def test_a_proxy_lot_s_runner_up_gets_it_at_its_last_accepted_bid_not_its_secret_maximum(
        ) -> None:
    lot = proxy_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "c"
    who, price = runner_up(lot)
    assert who == "a" and price == own_last_bid(lot, "a") == cny("1080000.00")


def test_a_dutch_lot_has_no_runner_up_as_only_its_winner_accepted_a_price() -> None:
    assert refused(dutch_lot()) == "no_runner_up"


def test_a_japanese_lot_s_runner_up_is_the_other_bidder_who_confirmed_the_last_level() -> None:
    lot = japanese_lot()
    assert lot.s.outcome is not None
    winner = lot.s.outcome.bidder_id
    who, price = runner_up(lot)
    assert {who, winner} == {"a", "b"}  # c dropped a level earlier
    assert price == own_last_bid(lot, who) == cny("1020000.00")


def test_a_sealed_lot_s_runner_up_is_the_second_best_opened_bid_at_its_own_price() -> None:
    # procurement (reverse): final bids a 460000 (revised), b 450000, c 470000
    lot = played(tie=False)
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "b"
    assert runner_up(lot) == ("a", cny("460000.00"))
    tied = played()  # a revised to 450000 too: the draw chose one, the other is next
    assert tied.s.outcome is not None
    winner = tied.s.outcome.bidder_id
    who, price = runner_up(tied)
    assert {who, winner} == {"a", "b"} and price == cny("450000.00")


def multi_round_lot() -> SimLot:
    """Initial bids only, one round with no new bids: c wins on its coefficient; a's
    coefficient puts it before b although its price is higher."""
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = "L-MR", None, [], []
    lot.do(CreateLot(lot_id="L-MR", session_id="S-1", format="multi_round",
                     title="办公设备采购", params={
                         "step": "100.00", "ceiling": "1000000.00", "deposit": "5000.00",
                         "rounds": 1, "coefficients": {"a": "0.02", "c": "0.05"}},
                     actor=HOST), T0 - 60_000)
    for bidder in "abc":
        lot.register(bidder)
    lot.open(T0)
    for i, (bidder, price) in enumerate(zip("abc", ("900000.00", "890000.00", "880000.00"),
                                            strict=True)):
        lot.bid(bidder, price, T0 + 1000 * (i + 1))
    while lot.s.status == "open":
        assert lot.s.closes_at is not None
        lot.do(Tick(), lot.s.play.ends_at)
    return lot


def test_a_multi_round_runner_up_is_second_by_adjusted_price_and_gets_its_own_offer() -> None:
    lot = multi_round_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "c"
    # adjusted: a 900000/1.02 = 882352.94 before b 890000; by raw price b would be next
    assert runner_up(lot) == ("a", cny("900000.00"))


def test_a_listing_without_its_cap_reached_goes_to_the_next_best_listing_price() -> None:
    lot = ListingSimLot("L-LIST", land(cap=None, cap_rule=None, cap_confirm_s=None))
    for bidder in "abc":
        lot.register(bidder)
    lot.open()
    for i, (bidder, price) in enumerate(zip("acb", ("10000000.00", "10200000.00",
                                                    "10300000.00"), strict=True)):
        lot.bid(bidder, price, T0 + 10_000 * (i + 1))
    lot.tick(ENDS)  # nobody confirms timed bidding: the listing's best wins
    lot.tick(ENDS + 120_000)
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "b"
    assert runner_up(lot) == ("c", cny("10200000.00"))


def test_a_listing_after_a_cap_lottery_goes_to_the_other_candidate_at_the_cap() -> None:
    lot = lottery_lot()
    assert lot.s.outcome is not None
    winner = lot.s.outcome.bidder_id
    who, price = runner_up(lot)
    assert {who, winner} == {"a", "b"} and price == lot.s.outcome.amount == cny("12000000.00")


def test_a_listing_with_a_second_quantity_goes_to_the_next_quantity_bidder_at_the_cap(
        ) -> None:
    lot = secondary_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_id == "a"
    assert runner_up(lot) == ("b", cny("12000000.00"))  # b bid 500 m², a 700 m²
    assert refused(lot) == "no_runner_up"  # b defaults too: nobody else bid
