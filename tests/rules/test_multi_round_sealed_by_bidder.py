"""Bidder-sealed initial bids of ``multi_round`` (``sealing: bidder``, commit-reveal): in
the first pause a bidder commits to a hash of its price and a salt it keeps; at its end
the commitments are published and a reveal window opens; an initial bid not revealed in
it is void and its bidder takes no turns; the open rounds run on the revealed prices."""

from __future__ import annotations

from typing import Any

import pytest

from auction.commit_reveal import (
    BidCommitted,
    BidRevealed,
    BidsVoided,
    RevealOpened,
    seal_commitment,
)
from auction.errors import InvalidParams
from auction.formats import FORMATS, revealed_records
from auction.lot import replay
from auction.model import Act, BidAccepted, LotFailed, Tick
from auction.multi_round import RoundStarted, TurnStarted, final_end, parse_multi_round
from auction.record import GENESIS, seal
from auction.views import BIDDER, PUBLIC, STAFF, redact, snapshot

from .rounds_support import FIRST, PAUSE, TURN, Rounds
from .support import T0, cny, kinds

SALT_A, SALT_B, SALT_C = "a5" * 16, "b6" * 32, "c7" * 24
SALTS = {"a": SALT_A, "b": SALT_B, "c": SALT_C}
REVEAL_S = 60
REVEAL = REVEAL_S * 1000
WINDOW = T0 + FIRST  # the reveal window opens when the first pause ends
ROUND_1 = WINDOW + REVEAL  # and round 1 starts when it ends
FMT = FORMATS["multi_round"]


class SealedRounds(Rounds):
    """A multi_round lot whose bidders seal their initial bids, keeping (price, salt) as
    the room page does."""

    def commitment(self, bidder_id: str, amount: str) -> str:
        return seal_commitment("lot-1", f"N{bidder_id}", cny(amount), SALTS[bidder_id])

    def commit(self, bidder_id: str, amount: str, at: int | None = None) -> list[Any]:
        return self.accept(Act(bidder_id=bidder_id, act="commit",
                               commitment=self.commitment(bidder_id, amount)), at)

    def reveal_cmd(self, bidder_id: str, amount: str, salt: str | None = None) -> Act:
        return Act(bidder_id=bidder_id, act="reveal", amount=cny(amount),
                   salt=SALTS[bidder_id] if salt is None else salt)

    def reveal(self, bidder_id: str, amount: str, at: int | None = None) -> list[Any]:
        return self.accept(self.reveal_cmd(bidder_id, amount), WINDOW + 1000 if at is None
                           else at)


def committed(*commits: tuple[str, str], **overrides: Any) -> SealedRounds:
    """An open bidder-sealed lot whose bidders committed ``commits`` (bidder id, price)
    at T0 + 1 s on."""
    lot = SealedRounds(sealing="bidder", reveal_s=REVEAL_S, **overrides)
    lot.open(*(b for b, _ in commits))
    for i, (bidder_id, price) in enumerate(commits):
        lot.commit(bidder_id, price, at=T0 + 1000 * (i + 1))
    return lot


def revealing(*commits: tuple[str, str], **overrides: Any) -> SealedRounds:
    """:func:`committed`, then the first pause ends: the reveal window is open."""
    lot = committed(*commits, **overrides)
    lot.tick(at=WINDOW)
    return lot


def records(lot: Rounds) -> list[Any]:
    return seal("lot-1", 1, GENESIS, lot.events)


# --------------------------------------------------------------------------- parameters


def test_sealing_by_the_bidder_takes_a_reveal_window_defaulting_to_ten_minutes() -> None:
    options = parse_multi_round({"step": "1.00", "sealing": "bidder"}).options
    assert (options.sealing, options.reveal_s) == ("bidder", 600)
    options = parse_multi_round({"step": "1.00", "sealing": "bidder", "reveal_s": 30}).options
    assert options.reveal_s == 30
    assert parse_multi_round({"step": "1.00"}).options.sealing == "server"


@pytest.mark.parametrize("params", [{"reveal_s": 30}, {"sealing": "nobody"},
                                    {"sealing": "bidder", "reveal_s": 0}])
def test_a_reveal_window_without_bidder_sealing_or_an_unknown_sealing_is_refused(
        params: dict[str, Any]) -> None:
    with pytest.raises(InvalidParams):
        parse_multi_round({"step": "1.00", **params})


# --------------------------------------------------------------------------- commitments


def test_an_initial_bid_with_a_price_is_refused_where_bidders_seal_their_own() -> None:
    lot = committed()
    lot.register("a")
    lot.refuse_bid("a", "900.00", "commit_required")


def test_a_commitment_carries_no_price_and_the_record_holds_none_before_the_reveal() -> None:
    lot = committed(("a", "876.54"))
    commit = lot.events[-1]
    assert isinstance(commit, BidCommitted) and commit.bidder_no == "Na"
    assert commit.commitment == lot.commitment("a", "876.54")
    assert str(cny("876.54")) not in repr(lot.events) and "876.54" not in repr(lot.events)
    assert lot.s.bids == [] and lot.s.play.entrants == []
    with_amount = Act(bidder_id="a", act="commit", commitment="0" * 64, amount=1)
    lot.refuse(with_amount, "invalid_params")
    lot.refuse(Act(bidder_id="a", act="commit", commitment="XYZ"), "invalid_params")


def test_a_bidder_commits_to_one_initial_bid_only() -> None:
    lot = committed(("a", "900.00"))
    lot.refuse(Act(bidder_id="a", act="commit", commitment=lot.commitment("a", "800.00")),
               "revision_limit")


def test_the_commitments_are_published_and_the_reveal_window_opens_when_the_first_pause_ends(
        ) -> None:
    lot = committed(("b", "950.00"), ("a", "900.00"))
    assert lot.s.closes_at == WINDOW + REVEAL  # each reveal moves it on
    events = lot.tick(at=WINDOW + 5)
    assert kinds(events) == ["RevealOpened"]
    opened = events[0]
    assert isinstance(opened, RevealOpened)
    assert opened.closes_at == ROUND_1  # from the end of the pause, not from the tick
    assert opened.bidder_nos == ["Nb", "Na"]
    assert opened.commitments == [lot.commitment("b", "950.00"), lot.commitment("a", "900.00")]
    assert lot.s.play.phase == "reveal" and lot.s.play.ends_at == ROUND_1
    view = snapshot(lot.s, PUBLIC)["play"]
    assert view["phase"] == "reveal" and view["ends_at"] == ROUND_1
    assert view["commitments"] == [{"bidder_no": "Nb", "commitment": opened.commitments[0]},
                                   {"bidder_no": "Na", "commitment": opened.commitments[1]}]
    # nobody revealed yet: the lot would end with the window
    assert lot.s.closes_at == ROUND_1


def test_a_lot_without_commitments_fails_when_the_first_pause_ends_without_a_window() -> None:
    lot = committed()
    lot.register("a")
    assert kinds(lot.tick(at=WINDOW)) == ["LotClosed", "LotFailed"]
    assert lot.s.outcome is not None and lot.s.outcome.reason == "no_bids"


def test_commitments_end_with_the_first_pause_and_price_bids_wait_for_the_turns() -> None:
    lot = revealing(("a", "900.00"))
    lot.register("b")
    lot.refuse(Act(bidder_id="b", act="commit", commitment=lot.commitment("b", "800.00")),
               "prebid_closed", at=WINDOW + 1)
    lot.refuse_bid("a", "900.00", "reveal_only", at=WINDOW + 1)


# --------------------------------------------------------------------------- reveals


def test_a_reveal_before_the_window_is_refused() -> None:
    lot = committed(("a", "900.00"))
    lot.refuse(lot.reveal_cmd("a", "900.00"), "not_reveal_time", at=T0 + 5000)


def test_a_reveal_that_does_not_match_the_commitment_is_refused_and_changes_nothing() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.refuse(lot.reveal_cmd("a", "900.01"), "reveal_mismatch", at=WINDOW + 1)
    lot.refuse(lot.reveal_cmd("a", "900.00", SALT_B), "reveal_mismatch", at=WINDOW + 1)
    lot.refuse(lot.reveal_cmd("a", "900.00", "not hex"), "invalid_params", at=WINDOW + 1)
    lot.refuse(Act(bidder_id="a", act="reveal", salt=SALT_A), "invalid_amount", at=WINDOW + 1)
    lot.register("c")
    lot.refuse(lot.reveal_cmd("c", "900.00"), "no_commitment", at=WINDOW + 1)
    events = lot.reveal("a", "900.00")
    assert kinds(events) == ["BidRevealed", "BidAccepted"]
    assert lot.s.play.entrants == ["a"] and lot.s.play.revealed_ids == {"a"}
    lot.refuse(lot.reveal_cmd("a", "900.00"), "already_revealed", at=WINDOW + 2000)


def test_a_revealed_price_above_the_ceiling_is_refused_like_a_bid() -> None:
    lot = revealing(("a", "1000.01"))
    lot.refuse(lot.reveal_cmd("a", "1000.01"), "above_ceiling", at=WINDOW + 1)


def test_each_reveal_lengthens_the_lot_by_the_turns_of_one_more_entrant() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.reveal("a", "900.00")
    assert lot.s.closes_at == ROUND_1 + 3 * TURN + 2 * PAUSE == final_end(lot.s)
    lot.reveal("b", "950.00")
    assert lot.s.closes_at == ROUND_1 + 3 * 2 * TURN + 2 * PAUSE


def test_reveals_stay_sealed_from_staff_the_public_and_other_bidders_until_the_window_ends(
        ) -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.reveal("a", "900.00")
    for audience in (PUBLIC, STAFF):
        view = snapshot(lot.s, audience)
        assert view["best"] is None and view["play"]["table"] == []
        assert view["play"]["revealed_count"] == 1 and view["play"]["committed"] == 2
    assert "900.00" not in repr(snapshot(lot.s, STAFF))
    mine = snapshot(lot.s, BIDDER, "a")["play"]["you"]
    assert (mine["initial_revealed"], mine["can_reveal"], mine["price"]) == (True, False,
                                                                            "900.00")
    assert mine["revealed"] is None  # the price everybody knows: none yet
    theirs = snapshot(lot.s, BIDDER, "b")["play"]["you"]
    assert (theirs["initial_revealed"], theirs["can_reveal"]) == (False, True)
    assert theirs["commitment"] == lot.commitment("b", "950.00")
    for record in records(lot):
        if isinstance(record.event, (BidRevealed, BidAccepted, BidCommitted)):
            for shown in (redact(lot.s, record, STAFF), redact(lot.s, record, PUBLIC),
                          redact(lot.s, record, BIDDER, "b")):
                assert "amount" not in shown and "salt" not in shown
    own = [redact(lot.s, r, BIDDER, "a") for r in records(lot)
           if isinstance(r.event, BidRevealed)]
    assert own[0]["amount"] == "900.00" and own[0]["salt"] == SALT_A
    assert revealed_records(lot.s, records(lot)) == records(lot)[:-2]
    assert FMT.withholds(lot.s)


def test_an_unrevealed_initial_bid_is_void_and_its_bidder_takes_no_turns() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"), ("c", "920.00"))
    lot.reveal("a", "900.00")
    lot.reveal("c", "920.00")
    events = lot.tick(at=ROUND_1)
    assert kinds(events) == ["BidsVoided", "RoundStarted", "TurnStarted"]
    assert isinstance(events[0], BidsVoided) and events[0].bidder_nos == ["Nb"]
    started = events[1]
    assert isinstance(started, RoundStarted)
    assert (started.order, started.prices) == (["Nc", "Na"], [cny("920.00"), cny("900.00")])
    assert isinstance(events[2], TurnStarted) and events[2].ends_at == ROUND_1 + TURN
    assert lot.s.play.voided == ["Nb"] and "b" not in lot.s.play.entrants
    lot.refuse_bid("b", "800.00", "prebid_closed", at=ROUND_1 + 1)
    assert snapshot(lot.s, PUBLIC)["play"]["voided"] == ["Nb"]
    # the reveals are public from now on: who committed and revealed what
    shown = [redact(lot.s, r, PUBLIC) for r in records(lot)
             if isinstance(r.event, (BidRevealed, BidCommitted))]
    assert {s.get("amount") for s in shown} == {None, "900.00", "920.00"}
    assert all("ip" not in s for s in shown)
    staff = [redact(lot.s, r, STAFF) for r in records(lot) if isinstance(r.event, BidRevealed)]
    assert [(r["bidder_no"], r["ip"]) for r in staff] == [("Na", ""), ("Nc", "")]
    lot.refuse(lot.reveal_cmd("b", "950.00"), "not_reveal_time", at=ROUND_1 + 1)


def test_the_open_rounds_run_on_the_revealed_prices_and_the_lowest_wins() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.reveal("b", "950.00")
    lot.reveal("a", "900.00")
    lot.to_next_phase()
    assert lot.in_turn() == "b"
    lot.take("b", "880.00", at=ROUND_1 + 1000)
    lot.now = lot.s.closes_at
    events = lot.tick()
    assert kinds(events)[-2:] == ["LotClosed", "LotAwarded"]
    assert (lot.s.outcome.bidder_no, lot.s.outcome.amount) == ("Nb", cny("880.00"))
    assert replay(lot.events) == lot.s


def test_a_lot_where_nobody_reveals_fails_with_every_initial_bid_void() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    events = lot.tick(at=ROUND_1)
    assert kinds(events) == ["BidsVoided", "LotClosed", "LotFailed"]
    assert isinstance(events[0], BidsVoided) and events[0].bidder_nos == ["Na", "Nb"]
    assert isinstance(events[2], LotFailed) and events[2].reason == "no_bids"
    # the commitments were published; no price was
    assert all(redact(lot.s, r, PUBLIC).get("amount") is None for r in records(lot))


def test_equal_revealed_initial_prices_rank_by_their_commitments_not_their_reveals() -> None:
    lot = revealing(("a", "900.00"), ("b", "900.00"))
    lot.reveal("b", "900.00", at=WINDOW + 1000)
    lot.reveal("a", "900.00", at=WINDOW + 2000)
    events = lot.tick(at=ROUND_1)
    started = next(e for e in events if isinstance(e, RoundStarted))
    # the earlier commitment (a) ranks better: of equal prices the later takes its turn first
    assert started.order == ["Nb", "Na"]
    assert lot.s.leader == "a"


def test_a_reveal_after_the_window_ended_unticked_is_judged_after_its_end() -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.reveal("a", "900.00")
    lot.refuse(lot.reveal_cmd("b", "950.00"), "not_reveal_time", at=ROUND_1 + 10)
    nobody = committed(("a", "900.00"))
    # the first pause and the window both ended unticked, nobody revealed: the lot is over
    nobody.refuse(nobody.reveal_cmd("a", "900.00"), "closed", at=ROUND_1 + 10)


def test_a_reveal_after_an_unticked_end_of_the_first_pause_records_the_window_first() -> None:
    lot = committed(("a", "900.00"))
    events = lot.reveal("a", "900.00", at=WINDOW + 10)
    assert kinds(events) == ["RevealOpened", "BidRevealed", "BidAccepted"]
    assert FMT.command_of(events[0]) == Tick()


def test_pausing_during_the_reveal_window_moves_its_end() -> None:
    lot = revealing(("a", "900.00"))
    lot.pause(at=WINDOW + 10_000)
    lot.resume(at=WINDOW + 40_000)
    assert lot.s.play.ends_at == ROUND_1 + 30_000
    lot.reveal("a", "900.00", at=ROUND_1 + 10_000)
    assert kinds(lot.tick(at=ROUND_1 + 30_000)) == ["RoundStarted", "TurnStarted"]


def test_a_pause_before_an_unticked_end_of_the_first_pause_moves_the_window_too() -> None:
    lot = committed(("a", "900.00"))
    lot.pause(at=WINDOW + 5_000)
    lot.resume(at=WINDOW + 25_000)
    opened = lot.tick(at=WINDOW + 25_000)
    assert isinstance(opened[0], RevealOpened) and opened[0].closes_at == ROUND_1 + 20_000


def test_a_lot_cancelled_during_the_window_keeps_its_reveals_sealed_for_good() -> None:
    lot = revealing(("a", "900.00"))
    lot.reveal("a", "900.00")
    lot.cancel(at=WINDOW + 2000)
    kept = records(lot)
    revealed_seq = next(r.seq for r in kept if isinstance(r.event, BidRevealed))
    assert revealed_seq in FMT.unrevealed(lot.s)
    assert all(r.seq != revealed_seq for r in revealed_records(lot.s, kept))
    assert "amount" not in redact(lot.s, kept[revealed_seq - 1], PUBLIC)
    commit = next(r for r in kept if isinstance(r.event, BidCommitted))
    # a commitment holds no price: staff see the whole event once the lot ended
    assert redact(lot.s, commit, STAFF)["commitment"] == commit.event.commitment


def test_the_bidder_is_told_whether_it_may_commit_or_reveal() -> None:
    lot = SealedRounds(sealing="bidder")
    lot.register("a")
    before = snapshot(lot.s, BIDDER, "a")["play"]
    assert before["sealing"] == "bidder" and before["you"]["can_commit"] is False
    lot = committed(("a", "900.00"))
    lot.register("b")
    you = snapshot(lot.s, BIDDER, "b")["play"]["you"]
    assert (you["can_commit"], you["can_reveal"], you["commitment"]) == (True, False, None)
    assert lot.s.bidders["b"] and FMT.min_next_bid(lot.s, lot.s.bidders["b"]) is None
    you = snapshot(lot.s, BIDDER, "a")["play"]["you"]
    assert (you["can_commit"], you["commitment"]) == (False, lot.commitment("a", "900.00"))
    assert snapshot(lot.s, PUBLIC)["play"]["committed"] == 1


def test_other_actions_are_not_supported_and_server_sealed_lots_take_no_commitments() -> None:
    lot = committed(("a", "900.00"))
    lot.refuse(Act(bidder_id="a", act="proxy", amount=cny("1.00")), "not_supported")
    server = Rounds().open("a")
    server.refuse(Act(bidder_id="a", act="commit", commitment="0" * 64), "not_supported")


def test_every_commitment_reveal_window_and_void_is_a_decision_verification_rebuilds(
        ) -> None:
    lot = revealing(("a", "900.00"), ("b", "950.00"))
    lot.reveal("a", "900.00")
    lot.tick(at=ROUND_1)
    for event in lot.events:
        if isinstance(event, (RevealOpened, BidsVoided)):
            assert FMT.command_of(event) == Tick()
        if isinstance(event, BidCommitted):
            assert FMT.command_of(event) == Act(bidder_id=event.bidder_id, act="commit",
                                                commitment=event.commitment)
        if isinstance(event, BidRevealed):
            assert FMT.command_of(event) == Act(bidder_id="a", act="reveal",
                                                amount=cny("900.00"), salt=SALT_A)
    assert replay(lot.events) == lot.s
