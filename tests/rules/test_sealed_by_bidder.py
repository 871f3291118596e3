"""Bidder-sealed bids (``sealing: bidder``, commit-reveal) of the sealed format: the
server holds a hash until each bidder reveals its price at the opening; an unrevealed
bid is void; a tie drawn by lottery mixes in the tied candidates' commitments."""

import hashlib
import json
from typing import Any

import pytest

from auction import draw
from auction.commit_reveal import (
    BidCommitted,
    BidRevealed,
    BidsVoided,
    RevealOpened,
    seal_commitment,
)
from auction.errors import InvalidParams
from auction.formats import of, revealed_records
from auction.lot import replay
from auction.model import (
    Act,
    BidAccepted,
    LotAwarded,
    LotDrawn,
    LotFailed,
    PlaceBid,
    Rejection,
    Tick,
)
from auction.record import event_to_dict
from auction.sealed import BidsOpened, parse_sealed, withheld
from auction.verify import command_of
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .support import MINUTE, T0, cny, kinds
from .test_sealed import SEED, SealedLot, records, sealed

SALT_A, SALT_B, SALT_C = "a5" * 16, "b6" * 32, "c7" * 24
OPENING = T0 + MINUTE
REVEAL_S = 120


class BidderSealedLot(SealedLot):
    """A bidder-sealed lot whose bidders keep their (amount, salt) as the room page does."""

    def commit(self, bidder_id: str, amount: str, salt: str, at: int | None = None
               ) -> list[Any]:
        c = seal_commitment("lot-s", f"N{bidder_id}", cny(amount), salt)
        return self.accept(Act(bidder_id=bidder_id, act="commit", commitment=c), at)

    def reveal(self, bidder_id: str, amount: str, salt: str, at: int | None = None
               ) -> list[Any] | Rejection:
        return self.decide(Act(bidder_id=bidder_id, act="reveal", amount=cny(amount),
                               salt=salt), OPENING + 1_000 if at is None else at)

    def end_of_window(self) -> list[Any]:
        return self.opening_at(OPENING + REVEAL_S * 1000)

    def opening_at(self, at: int) -> list[Any]:
        return self.accept(self._tick(), at)

    def _tick(self) -> Any:
        from auction.model import Tick
        return Tick(seed=SEED, seed_hash=draw.commitment(SEED))


def bidder_lot(*bidders: str, **overrides: Any) -> BidderSealedLot:
    params = sealed(sealing="bidder", reveal_s=REVEAL_S, **overrides)
    lot = BidderSealedLot(params)
    lot.open_with_seed(*bidders)
    return lot


def test_the_commitment_is_the_sha256_of_the_compact_json_of_lot_bidder_amount_and_salt(
) -> None:
    text = json.dumps(["L-1", "0420", "12600000", SALT_A], separators=(",", ":"))
    assert seal_commitment("L-1", "0420", 12_600_000, SALT_A) == hashlib.sha256(
        text.encode()).hexdigest()
    # non-ASCII lot ids are hashed as UTF-8, as JSON.stringify leaves them
    assert seal_commitment("地块-1", "1", 1, SALT_A) == hashlib.sha256(
        f'["地块-1","1","1","{SALT_A}"]'.encode()).hexdigest()


def test_bidder_sealing_takes_a_reveal_window_defaulting_to_ten_minutes() -> None:
    p = parse_sealed(sealed(sealing="bidder"))
    assert (p.options.sealing, p.options.reveal_s) == ("bidder", 600)
    assert p.options.public(2)["sealing"] == "bidder"
    assert "sealing" not in parse_sealed(sealed()).options.public(2)
    with pytest.raises(InvalidParams) as caught:
        parse_sealed(sealed(reveal_s=60))
    assert caught.value.field == "reveal_s"


def test_a_bid_with_a_price_is_refused_where_bidders_seal_their_own() -> None:
    s = bidder_lot("a")
    s.refuse(PlaceBid(bidder_id="a", amount=cny("100.00")), "commit_required")


def test_a_commitment_carries_no_price_and_the_record_holds_none_before_the_reveal() -> None:
    s = bidder_lot("a", "b")
    s.commit("a", "123.45", SALT_A)
    s.refuse(Act(bidder_id="b", act="commit", amount=cny("1.00"),
                 commitment="0" * 64), "invalid_params")
    s.refuse(Act(bidder_id="b", act="commit", salt=SALT_B, commitment="0" * 64),
             "invalid_params")
    s.refuse(Act(bidder_id="b", act="commit", commitment="XYZ"), "invalid_params")
    text = json.dumps([event_to_dict(e) for e in s.events])
    assert "12345" not in text and "123.45" not in text and SALT_A not in text
    assert s.s.bids == [] and s.s.best is None


def test_a_revision_is_a_new_commitment_within_the_allowed_revisions() -> None:
    s = bidder_lot("a", revisions=1)
    s.commit("a", "100.00", SALT_A)
    c = seal_commitment("lot-s", "Na", cny("100.00"), SALT_A)
    s.refuse(Act(bidder_id="a", act="commit", commitment=c), "same_bid")
    s.commit("a", "110.00", SALT_B)
    s.refuse(Act(bidder_id="a", act="commit", commitment="1" * 64), "revision_limit")
    assert snapshot(s.s, BIDDER, "a")["you"]["revisions_left"] == 0


def test_the_opening_publishes_the_commitments_and_opens_the_reveal_window() -> None:
    s = bidder_lot("a", "b", "c")
    s.commit("b", "100.00", SALT_B)
    s.commit("a", "120.00", SALT_A)
    events = s.opening_at(OPENING + 500)
    assert kinds(events) == ["RevealOpened"]
    opened = events[0]
    assert isinstance(opened, RevealOpened)
    assert opened.bidder_nos == ["Nb", "Na"] and opened.closes_at == OPENING + 500 + 120_000
    assert opened.commitments[1] == seal_commitment("lot-s", "Na", cny("120.00"), SALT_A)
    s.refuse(Act(bidder_id="c", act="commit", commitment="2" * 64), "reveal_only")
    view = snapshot(s.s, PUBLIC)["play"]
    assert view["phase"] == "reveal" and view["reveal_ends_at"] == opened.closes_at
    assert [c["bidder_no"] for c in view["commitments"]] == ["Nb", "Na"]
    assert view["bid_count"] == 2 and view["revealed_count"] == 0


def test_a_reveal_before_the_opening_is_refused() -> None:
    s = bidder_lot("a")
    s.commit("a", "100.00", SALT_A)
    assert s.reveal("a", "100.00", SALT_A, at=T0 + 1) == Rejection("not_reveal_time")


def test_a_reveal_that_does_not_match_the_commitment_is_refused_and_changes_nothing() -> None:
    s = bidder_lot("a", "b")
    s.commit("a", "120.00", SALT_A)
    s.opening_at(OPENING)
    assert s.reveal("a", "120.01", SALT_A) == Rejection("reveal_mismatch")
    assert s.reveal("a", "120.00", SALT_B) == Rejection("reveal_mismatch")
    assert s.reveal("a", "120.00", "short") == Rejection("invalid_params",
                                                          "the salt is 32 to 128 lowercase hex "
                                                          "digits")
    for amount in (None, 0):
        bad = s.decide(Act(bidder_id="a", act="reveal", amount=amount, salt=SALT_A),
                       OPENING + 1)
        assert isinstance(bad, Rejection) and bad.code == "invalid_amount"
    assert s.reveal("b", "1.00", SALT_B) == Rejection("no_commitment")
    assert kinds(s.reveal("a", "120.00", SALT_A)) == ["BidRevealed", "BidAccepted"]
    assert s.reveal("a", "120.00", SALT_A) == Rejection("already_revealed")


def test_a_revealed_price_outside_the_lots_limits_is_refused() -> None:
    s = bidder_lot("a", start_price="100.00")
    s.commit("a", "99.00", SALT_A)
    s.opening_at(OPENING)
    assert s.reveal("a", "99.00", SALT_A) == Rejection("below_start")


def test_reveals_stay_sealed_from_staff_the_public_and_other_bidders_until_the_window_ends(
) -> None:
    s = bidder_lot("a", "b")
    s.commit("a", "120.00", SALT_A)
    s.commit("b", "130.00", SALT_B)
    s.opening_at(OPENING)
    s.reveal("a", "120.00", SALT_A)
    assert withheld(s.s) and of(s.s).withholds(s.s)
    recs = records(s.events)
    for rec in recs:
        if not isinstance(rec.event, (BidCommitted, BidRevealed, BidAccepted)):
            continue
        for audience, who in ((STAFF, None), (PUBLIC, None), (BIDDER, "b")):
            shown = redact(s.s, rec, audience, who)
            assert "amount" not in shown and "salt" not in shown, (rec, audience)
    revealed = next(r for r in recs if isinstance(r.event, BidRevealed))
    assert redact(s.s, revealed, BIDDER, "a")["amount"] == "120.00"
    committed = next(r for r in recs if isinstance(r.event, BidCommitted))
    assert redact(s.s, committed, STAFF) == {"seq": committed.seq, "type": "BidCommitted",
                                             "at": committed.event.at}
    assert redact(s.s, committed, BIDDER, "a")["commitment"] == committed.event.commitment
    assert snapshot(s.s, STAFF)["best"] is None
    you = snapshot(s.s, BIDDER, "a")["you"]
    assert you["revealed"] and not you["can_reveal"] and you["commitment"]
    assert snapshot(s.s, BIDDER, "b")["you"]["can_reveal"]
    # the reveal is left out of every public record of a lot that never opens
    assert {r.seq for r in recs} - {r.seq for r in revealed_records(s.s, recs)} == {
        revealed.seq, revealed.seq + 1}


def test_an_unrevealed_bid_is_void_at_the_end_of_the_window_and_the_revealed_best_wins(
) -> None:
    s = bidder_lot("a", "b", "c")
    s.commit("a", "150.00", SALT_A)  # the best price, never revealed
    s.commit("b", "120.00", SALT_B)
    s.commit("c", "110.00", SALT_C)
    s.opening_at(OPENING)
    s.reveal("c", "110.00", SALT_C)
    s.reveal("b", "120.00", SALT_B)
    events = s.end_of_window()
    assert kinds(events) == ["LotClosed", "BidsVoided", "BidsOpened", "LotAwarded"]
    voided, opened, awarded = events[1:]
    assert isinstance(voided, BidsVoided) and voided.bidder_nos == ["Na"]
    assert isinstance(opened, BidsOpened) and opened.bidder_nos == ["Nb", "Nc"]
    assert opened.seqs == [s.s.play.commits["b"].seq, s.s.play.commits["c"].seq]
    assert isinstance(awarded, LotAwarded) and (awarded.bidder_no, awarded.amount) == (
        "Nb", cny("120.00"))
    view = snapshot(s.s, PUBLIC)["play"]
    assert view["phase"] == "opened" and view["voided"] == ["Na"]
    redacted = redact(s.s, records(s.events)[-6], PUBLIC)
    assert redacted["type"] == "BidRevealed" and redacted["salt"] == SALT_B
    assert "bidder_id" in redact(s.s, records(s.events)[-6], STAFF)
    assert replay(s.events) == s.s


def test_a_lot_where_nobody_reveals_fails_with_every_bid_void() -> None:
    s = bidder_lot("a")
    s.commit("a", "150.00", SALT_A)
    s.opening_at(OPENING)
    events = s.end_of_window()
    assert kinds(events) == ["LotClosed", "BidsVoided", "BidsOpened", "LotFailed"]
    failed = events[-1]
    assert isinstance(failed, LotFailed) and failed.reason == "no_bids"


def test_a_lot_without_commitments_fails_at_the_opening_without_a_reveal_window() -> None:
    s = bidder_lot("a")
    assert kinds(s.opening_at(OPENING)) == ["LotClosed", "BidsOpened", "LotFailed"]


def test_equal_revealed_prices_rank_by_their_commitments_under_the_earliest_rule() -> None:
    s = bidder_lot("a", "b")
    s.commit("b", "120.00", SALT_B)
    s.commit("a", "120.00", SALT_A)
    s.opening_at(OPENING)
    s.reveal("a", "120.00", SALT_A)
    s.reveal("b", "120.00", SALT_B, at=OPENING + 2_000)
    awarded = s.end_of_window()[-1]
    assert isinstance(awarded, LotAwarded) and awarded.bidder_no == "Nb"


def test_a_tie_drawn_by_lottery_mixes_in_the_tied_candidates_commitments() -> None:
    s = bidder_lot("a", "b", "c", tie_rule="lottery")
    for bidder, salt in (("a", SALT_A), ("b", SALT_B), ("c", SALT_C)):
        s.commit(bidder, "120.00" if bidder != "c" else "100.00", salt)
    s.opening_at(OPENING)
    for bidder, salt in (("a", SALT_A), ("b", SALT_B), ("c", SALT_C)):
        s.reveal(bidder, "120.00" if bidder != "c" else "100.00", salt)
    events = s.end_of_window()
    drawn = next(e for e in events if isinstance(e, LotDrawn))
    mixed = [seal_commitment("lot-s", no, cny("120.00"), salt)
             for no, salt in (("Na", SALT_A), ("Nb", SALT_B))]
    assert drawn.candidates == ["Na", "Nb"] and drawn.contributions == mixed
    mix = "".join(f"|{c}" for c in mixed)
    index = int(hashlib.sha256((SEED + "lot-s" + mix).encode()).hexdigest(), 16) % 2
    assert drawn.index == index and drawn.winner_no == ["Na", "Nb"][index]
    assert event_to_dict(drawn)["contributions"] == mixed


def test_every_commitment_reveal_and_opening_is_a_decision_verification_rebuilds() -> None:
    s = bidder_lot("a")
    s.commit("a", "150.00", SALT_A)
    s.opening_at(OPENING)
    s.reveal("a", "150.00", SALT_A)
    committed, opened, revealed = s.events[-4], s.events[-3], s.events[-2]
    assert command_of(committed) == Act(bidder_id="a", act="commit",
                                        commitment=committed.commitment)
    assert command_of(revealed) == Act(bidder_id="a", act="reveal", amount=cny("150.00"),
                                       salt=SALT_A)
    assert command_of(opened) is not None
    # the format's own answer (verification asks every format)
    assert [of(s.s).command_of(e) for e in (committed, opened, revealed)] == [
        command_of(committed), Tick(), command_of(revealed)]
    # the voids start the Tick's decision where no close precedes them (multi_round)
    assert command_of(BidsVoided(at=0, actor="system", bidder_nos=[])) == Tick()
    assert isinstance(s.events[-1], BidAccepted)


def test_other_actions_are_not_supported_by_a_sealed_lot() -> None:
    s = bidder_lot("a")
    s.refuse(Act(bidder_id="a", act="proxy", amount=cny("1.00")), "not_supported")
    server = SealedLot(sealed()).open_with_seed("a")
    server.refuse(Act(bidder_id="a", act="commit", commitment="0" * 64), "not_supported")
