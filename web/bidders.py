"""Bidder accounts at the edge: passwords, the second factor, sessions, CSRF, login limits.

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended profile); the record keeps the hash only. A password has at least
  :data:`PASSWORD_MIN` characters of three kinds and does not hold the account's code.
* The second factor is TOTP (RFC 6238, pyotp: 6 digits, 30 s, one step of clock skew
  either way). Its secret is not recorded: it is derived from the server's secret and a
  random salt recorded with the account (:func:`totp_secret`), shown once at
  registration. A code is accepted once (a replayed code in its window is refused).
* A session is a signed cookie (:data:`SESSION_COOKIE`: ``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` over HTTPS, ``Path=/``), valid :data:`SESSION_TTL_S`;
  every account action also sends :data:`CSRF_HEADER` with the token the login (or
  ``GET /api/account``) gave, bound to the cookie.
* Logins fail with one code (``login_failed``) whatever was wrong, take as long for an
  unknown account (a dummy hash is verified), and are limited per account and per
  network address (:class:`LoginLimiter`: ``rate_limited`` after
  :data:`MAX_FAILURES` failures in :data:`FAILURE_WINDOW_S`).
"""

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from collections import deque

import pyotp
from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auction.trade.accounts import account_id
from auction.trade.identity import is_resident_id, is_uscc
from web.errors import WebError
from web.keys import SETTINGS

PASSWORD_MIN = 10
SESSION_COOKIE = "auction_account"
SESSION_TTL_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60

HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified for an unknown account, so that its answer takes as long; made at the
    first sign-in, not at every start (a hash costs about 0.1 s)."""
    return HASHER.hash(secrets.token_hex(16))


def password_problem(password: str, code: str) -> str:
    """Why ``password`` is too weak (``""`` when it is not)."""
    if len(password) < PASSWORD_MIN:
        return f"at least {PASSWORD_MIN} characters"
    kinds = (any(c.islower() for c in password) + any(c.isupper() for c in password)
             + any(c.isdigit() for c in password) + any(not c.isalnum() for c in password))
    if kinds < 3:
        return "at least three kinds of characters: lower case, upper case, digits, others"
    if code.lower() in password.lower():
        return "the password must not hold the code"
    return ""


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (an empty hash: a dummy one is
    verified and the answer is no)."""
    def verify() -> bool:
        try:
            return HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def totp_secret(server_secret: bytes, account: str, salt: str) -> str:
    """The base32 TOTP secret of ``account`` (HMAC-SHA256 of its id and salt)."""
    digest = hmac.new(server_secret, f"totp\n{account}\n{salt}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()[:20]).decode("ascii")


def totp_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def account_of_code(code: str) -> str | None:
    """The account id a login code names (credit code or identity number), or None."""
    if is_uscc(code):
        return account_id("organisation", code)
    if is_resident_id(code):
        return account_id("person", code)
    return None


class LoginLimiter:
    """Failed logins per key (an account, a network address) in a sliding window, and
    the TOTP steps already used per account."""

    def __init__(self, max_failures: int = MAX_FAILURES,
                 window_s: float = FAILURE_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._used_step: dict[str, int] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, keys: list[str], now: float) -> bool:
        return any(len(self._recent(key, now)) >= self.max_failures for key in keys)

    def fail(self, keys: list[str], now: float) -> None:
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def use_otp(self, account: str, secret: str, otp: str, at_s: float) -> bool:
        """Whether ``otp`` is the account's code now (one step of skew) and not used
        before; a code accepted is remembered."""
        totp = pyotp.TOTP(secret)
        for skew in (0, -1, 1):
            step = int(at_s // totp.interval) + skew
            if hmac.compare_digest(totp.generate_otp(step), otp):
                if self._used_step.get(account, -1) >= step:
                    return False
                self._used_step[account] = step
                return True
        return False


def _sign(server_secret: bytes, purpose: str, text: str) -> str:
    return hmac.new(server_secret, f"{purpose}\n{text}".encode(), hashlib.sha256).hexdigest()


def issue_session(server_secret: bytes, account: str, now_ms: int) -> str:
    """The cookie value of a new session of ``account``."""
    body = f"{account}.{now_ms + SESSION_TTL_S * 1000}.{secrets.token_hex(8)}"
    return f"{body}.{_sign(server_secret, 'session', body)}"


def read_session(server_secret: bytes, value: str, now_ms: int) -> str | None:
    """The account of a session cookie whose signature holds and that has not expired."""
    body, _, signature = value.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not signature.isascii():
        return None
    if not hmac.compare_digest(signature, _sign(server_secret, "session", body)):
        return None
    return parts[0] if int(parts[1]) > now_ms else None


def csrf_token(server_secret: bytes, cookie: str) -> str:
    return _sign(server_secret, "csrf", cookie)


def set_session(response: web.StreamResponse, request: web.Request, value: str) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="Strict", secure=secure)


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def session_account(request: web.Request, now_ms: int, *, action: bool) -> tuple[str, str]:
    """``(account id, cookie)`` of the request's session; 401 without a valid one. An
    ``action`` also needs the CSRF header bound to the cookie (403 otherwise)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    secret = request.config_dict[SETTINGS].secret
    account = read_session(secret, cookie, now_ms) if cookie else None
    if account is None or cookie is None:
        raise WebError(401, "unauthorized", "log in to a bidder account")
    sent = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape")
    if action and not hmac.compare_digest(sent, csrf_token(secret, cookie).encode()):
        raise WebError(403, "csrf", f"the {CSRF_HEADER} header is missing or wrong")
    return account, cookie

