"""Staff may revoke a bidder's tokens (lost or leaked): the revocation is an event of the
lot's record with the staff id and a reason; bids made with a revoked token are refused
as ``bad_token`` at the instant they are sequenced; the bidder stays registered and
eligible."""

import pytest

from auction.model import PlaceBid, RevokeTokens, TokensRevoked
from auction.record import Recorded
from auction.views import BIDDER, PUBLIC, STAFF, redact

from .support import HOST, T0, cny, opened


def revoke(bidder_id: str = "a", reason: object = "令牌泄露 token leaked") -> RevokeTokens:
    return RevokeTokens(bidder_id=bidder_id, actor=HOST, reason=reason)  # type: ignore[arg-type]


def test_a_revocation_is_recorded_with_its_staff_and_reason_and_counts_generations() -> None:
    lot = opened("a", "b")
    assert lot.s.bidders["a"].token_gen == 0
    events = lot.accept(revoke())
    assert events == [TokensRevoked(at=T0, actor=HOST, bidder_id="a",
                                    reason="令牌泄露 token leaked")]
    lot.accept(revoke())
    assert lot.s.bidders["a"].token_gen == 2
    assert lot.replayed() == lot.state


def test_a_bid_with_a_revoked_token_is_refused_and_the_current_token_bids() -> None:
    lot = opened("a", "b")
    lot.accept(revoke())
    lot.refuse(PlaceBid(bidder_id="a", amount=cny("100.00"), token_gen=0), "bad_token")
    lot.accept(PlaceBid(bidder_id="a", amount=cny("100.00"), token_gen=1))
    lot.accept(PlaceBid(bidder_id="b", amount=cny("110.00")))  # no token generation given


@pytest.mark.parametrize(("command", "code"), [
    (revoke(reason=""), "reason_required"),
    (revoke(reason="   "), "reason_required"),
    (revoke(reason=None), "reason_required"),
    (revoke(reason="x" * 501), "invalid_params"),
    (revoke(bidder_id=""), "invalid_params"),
    (revoke(bidder_id="nobody"), "unknown_bidder"),
])
def test_a_revocation_needs_a_reason_and_a_registered_bidder(command: RevokeTokens,
                                                             code: str) -> None:
    opened("a", "b").refuse(command, code)


def test_tokens_can_be_revoked_whatever_the_lot_s_status() -> None:
    lot = opened("a", "b")
    lot.pause()
    lot.accept(revoke())
    lot.cancel()
    lot.accept(revoke("b"))


def test_only_staff_and_the_bidder_itself_learn_of_a_revocation() -> None:
    lot = opened("a", "b", visibility="rank")
    (event,) = lot.accept(revoke())
    record = Recorded("lot-1", lot.s.version, event, "0" * 64)
    public = redact(lot.s, record, PUBLIC)
    assert public == {"seq": lot.s.version, "type": "TokensRevoked", "at": T0}
    assert redact(lot.s, record, BIDDER, "a")["own"] is True
    assert "own" not in redact(lot.s, record, BIDDER, "b")
    staff = redact(lot.s, record, STAFF)
    assert staff["bidder_id"] == "a" and staff["reason"] == "令牌泄露 token leaked"
