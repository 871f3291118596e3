"""Who is asking: staff tokens (configured, compared in constant time) and bidder tokens
(issued at registration, HMAC-SHA256 signed, scoped to one lot, with an expiry).

A bidder token reads ``b1.<payload>.<signature>``: ``payload`` is the base64url of the
JSON claims ``{"lot_id", "bidder_id", "bidder_no", "exp", "gen"}`` (``exp`` in Unix
milliseconds), ``signature`` the base64url HMAC-SHA256 of ``b1.<payload>`` under the
server's secret. It proves who the bidder is for that one lot until ``exp``; for any
other lot it is worthless. ``gen`` is the bidder's token generation when it was issued:
staff revoking the bidder's tokens (a ``TokensRevoked`` event of the lot) moves the
generation on, and every token of an older generation is refused from then on. Tokens
without ``gen`` (issued before it existed) are of generation 0.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from web.config import HOST

BIDDER_PREFIX = "b1."
MAX_TOKEN_LEN = 1024


class TokenError(Exception):
    """A bidder token that is malformed, forged, expired or for another lot."""


@dataclass(frozen=True, slots=True)
class Staff:
    staff_id: str
    role: str

    @property
    def may_act(self) -> bool:
        """Hosts act; supervisors only watch."""
        return self.role == HOST


@dataclass(frozen=True, slots=True)
class BidderClaims:
    lot_id: str
    bidder_id: str
    bidder_no: str
    exp: int
    gen: int = 0


class StaffDirectory:
    """The configured staff tokens. :meth:`lookup` takes the same time whichever token
    matches (or none), so response times tell nothing about the tokens."""

    def __init__(self, staff: Mapping[str, tuple[str, str]]) -> None:
        self._entries = [(hashlib.sha256(token.encode()).digest(), Staff(staff_id, role))
                         for token, (staff_id, role) in staff.items()]

    def lookup(self, token: str) -> Staff | None:
        """The staff member holding ``token``, or None."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = None
        for expected, staff in self._entries:
            if hmac.compare_digest(digest, expected):
                found = staff
        return found


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


#: Unpadded base64url text: the only spelling :func:`_b64encode` gives.
_B64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)


def _b64decode(text: str) -> bytes:
    """The bytes of ``text`` if it is *canonical* unpadded base64url, the exact text
    :func:`_b64encode` gives for them: no padding, no ``+/`` alphabet, no whitespace and
    no stray bits in the last character. Any other spelling of the same bytes is refused,
    so a token has exactly one valid text."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TokenError("the token is not canonical base64url")
    # The pattern and the length leave nothing base64 could refuse.
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(data) != text:
        raise TokenError("the token is not canonical base64url")
    return data


def _sign(secret: bytes, signed_part: str) -> bytes:
    return hmac.new(secret, signed_part.encode("ascii"), hashlib.sha256).digest()


def issue_bidder_token(secret: bytes, claims: BidderClaims) -> str:
    """A signed token carrying ``claims``."""
    payload = orjson.dumps({"lot_id": claims.lot_id, "bidder_id": claims.bidder_id,
                            "bidder_no": claims.bidder_no, "exp": claims.exp,
                            "gen": claims.gen}, option=orjson.OPT_SORT_KEYS)
    signed_part = BIDDER_PREFIX + _b64encode(payload)
    return f"{signed_part}.{_b64encode(_sign(secret, signed_part))}"


def looks_like_bidder_token(token: str) -> bool:
    """Whether ``token`` has the form of a bidder token (not whether it is valid)."""
    return token.startswith(BIDDER_PREFIX)


def verify_bidder_token(secret: bytes, token: str, now: int,
                        lot_id: str | None = None) -> BidderClaims:
    """The claims of ``token`` if its signature holds, it has not expired at ``now``
    (Unix ms) and, when ``lot_id`` is given, it is for that lot. Raises
    :class:`TokenError` saying which check failed."""
    claims = read_bidder_token(secret, token)
    if claims.exp <= now:
        raise TokenError("the token has expired")
    if lot_id is not None and claims.lot_id != lot_id:
        raise TokenError("the token is for another lot")
    return claims


def read_bidder_token(secret: bytes, token: str) -> BidderClaims:
    """The claims of ``token`` if its signature holds, whatever its expiry and lot."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LEN or not token.isascii():
        raise TokenError("the token is malformed")
    if not token.startswith(BIDDER_PREFIX) or token.count(".") != 2:
        raise TokenError("the token is not a bidder token")
    signed_part, _, signature = token.rpartition(".")
    # The signature is decoded strictly, then its canonical bytes are compared in
    # constant time: a token has one spelling, and its check takes the same time however
    # much of a forged signature is right.
    if not hmac.compare_digest(_b64decode(signature), _sign(secret, signed_part)):
        raise TokenError("the token's signature does not hold")
    try:
        data = orjson.loads(_b64decode(signed_part[len(BIDDER_PREFIX):]))
    except orjson.JSONDecodeError:
        raise TokenError("the token's payload is not JSON") from None
    if (not isinstance(data, dict) or set(data) - {"gen"} != _CLAIMS
            or not all(isinstance(data[k], str) for k in ("lot_id", "bidder_id", "bidder_no"))
            or not all(_whole(data.get(k, 0)) for k in ("exp", "gen"))):
        raise TokenError("the token's claims are malformed")
    return BidderClaims(data["lot_id"], data["bidder_id"], data["bidder_no"], data["exp"],
                        data.get("gen", 0))


_CLAIMS = frozenset({"lot_id", "bidder_id", "bidder_no", "exp"})


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_generation(claims: BidderClaims, token_gen: int) -> None:
    """Raise :class:`TokenError` unless ``claims`` are of the bidder's current token
    generation ``token_gen`` (see the module's docstring)."""
    if claims.gen != token_gen:
        raise TokenError("the token was revoked")
