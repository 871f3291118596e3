"""Bidder tokens are signed, lot-scoped and expire; staff tokens are looked up."""

import base64

import pytest

from web.auth import (
    BidderClaims,
    StaffDirectory,
    TokenError,
    issue_bidder_token,
    verify_bidder_token,
)

SECRET = b"0123456789abcdef0123456789abcdef"
CLAIMS = BidderClaims("L-1", "acme", "4821", exp=2_000)


def test_a_bidder_token_carries_its_claims_for_its_lot() -> None:
    token = issue_bidder_token(SECRET, CLAIMS)
    assert verify_bidder_token(SECRET, token, now=1_000, lot_id="L-1") == CLAIMS
    assert verify_bidder_token(SECRET, token, now=1_000) == CLAIMS


def test_a_bidder_token_is_useless_for_another_lot() -> None:
    token = issue_bidder_token(SECRET, CLAIMS)
    with pytest.raises(TokenError, match="another lot"):
        verify_bidder_token(SECRET, token, now=1_000, lot_id="L-2")


def test_a_bidder_token_expires() -> None:
    token = issue_bidder_token(SECRET, CLAIMS)
    with pytest.raises(TokenError, match="expired"):
        verify_bidder_token(SECRET, token, now=2_000)


def test_a_changed_payload_or_another_key_breaks_the_signature() -> None:
    token = issue_bidder_token(SECRET, CLAIMS)
    prefix, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(
        b"acme", b"evil")).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="signature"):
        verify_bidder_token(SECRET, f"{prefix}.{forged}.{signature}", now=0)
    with pytest.raises(TokenError, match="signature"):
        verify_bidder_token(b"another-secret-0123456789", token, now=0)


@pytest.mark.parametrize("token", [
    "", "b1.", "b1.x.y", "abc", "b1.a.b.c", "b1.%%%.%%%", "b1.é.x", "b1." + "a" * 2000,
])
def test_garbage_is_not_a_bidder_token(token: str) -> None:
    with pytest.raises(TokenError):
        verify_bidder_token(SECRET, token, now=0)


def test_staff_tokens_are_looked_up_exactly() -> None:
    staff = StaffDirectory({"tok-a": ("alice", "host"), "tok-s": ("sam", "supervisor")})
    alice = staff.lookup("tok-a")
    assert alice is not None and alice.staff_id == "alice" and alice.may_act
    sam = staff.lookup("tok-s")
    assert sam is not None and not sam.may_act
    assert staff.lookup("tok-") is None and staff.lookup("tok-a ") is None
    assert staff.lookup("") is None
