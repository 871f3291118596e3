"""What the plug-in interface gives a format that overrides only what it must: no price
bids, no bidder actions, no next price; its deadline is the lot's closing time."""

from __future__ import annotations

from auction.formats import Format
from auction.model import Act, Decision, PlaceBid, Rejection, Tick
from auction.params import EnglishParams, parse_english
from auction.state import LotState

from .support import opened


class Bare(Format):
    name = "bare"

    def parse(self, raw: object) -> EnglishParams:
        return parse_english(raw)

    def tick(self, state: LotState, now: int, cmd: Tick) -> Decision:
        return []


def test_a_format_takes_no_price_bid_no_action_and_names_no_next_price_by_default() -> None:
    lot = opened("a")
    fmt, bidder = Bare(), lot.s.bidders["a"]
    assert fmt.bid(lot.s, bidder, PlaceBid(bidder_id="a", amount=100), lot.now) == Rejection(
        "not_supported", "a bare lot takes no price bids")
    assert fmt.act(lot.s, bidder, Act(bidder_id="a", act="stay"), lot.now) == Rejection(
        "not_supported", "a bare lot has no action 'stay'")
    assert fmt.min_next_bid(lot.s, bidder) is None
    assert fmt.deadline(lot.s) == lot.s.closes_at
