"""Passkeys (WebAuthn) of bidder accounts at the edge, with py_webauthn.

* A signed-in account adds a passkey: ``POST /api/account/passkeys/options`` answers the
  creation options (a fresh challenge, the account as the user, a discoverable credential
  asked for, the account's passkeys excluded); the browser's
  ``navigator.credentials.create`` answers, ``POST /api/account/passkeys`` verifies it
  (challenge, origin, relying party id, user presence) and records ``PasskeyAdded``.
* Anyone logs in with one: ``POST /api/account/passkey-login/options`` answers the request
  options (a fresh challenge, no credential named: the authenticator offers the
  discoverable ones); ``POST /api/account/passkey-login`` takes the assertion: its user
  handle names the account, the credential must be one of that account's, the signature
  must verify with its public key and the counter move forward (``UsePasskey`` records
  it); then the session cookie and CSRF token as a password login gives.
* Challenges (:class:`Challenges`) are 32 random bytes, single-use (taken on first use,
  whatever the outcome) and short-lived (:data:`CHALLENGE_TTL_S`), each bound to its
  purpose and, for a registration, to the account that asked for it. They are kept in
  the process, as the login limits are (docs/security.md).
* The relying party id is ``Settings.passkey_rp_id`` or the request's host name (never an
  IP address: WebAuthn refuses them), the origin ``Settings.passkey_origin`` or the
  request's scheme and host.
"""

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from auction.aggregate import is_aggregate_id
from auction.trade.accounts import Account, AddPasskey, UsePasskey
from engine.aggregates import Refused
from web import bidders
from web.api import json_response, read_body
from web.config import Settings
from web.errors import WebError
from web.keys import ENGINE, SETTINGS, TRADE
from web.limits import client_address
from web.schemas import PasskeyAnswer

#: How long a challenge may be answered.
CHALLENGE_TTL_S = 120
#: Most challenges outstanding in one process (the oldest are dropped beyond).
MAX_CHALLENGES = 10_000
REGISTER, LOGIN = "register", "login"
_BAD_ANSWER = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError)


@dataclass(frozen=True)
class Issued:
    purpose: str
    account: str
    expires_ms: int


class Challenges:
    """The challenges handed out and not used yet, by their bytes."""

    def __init__(self, ttl_s: int = CHALLENGE_TTL_S, limit: int = MAX_CHALLENGES) -> None:
        self.ttl_ms = ttl_s * 1000
        self.limit = limit
        self._issued: OrderedDict[bytes, Issued] = OrderedDict()

    def issue(self, purpose: str, account: str, now_ms: int) -> bytes:
        challenge = secrets.token_bytes(32)
        self._issued[challenge] = Issued(purpose, account, now_ms + self.ttl_ms)
        while len(self._issued) > self.limit:
            self._issued.popitem(last=False)
        return challenge

    def take(self, challenge: bytes, purpose: str, account: str, now_ms: int) -> bool:
        """Whether ``challenge`` was issued for ``purpose`` (and ``account``, when not
        ``""``) and has not expired; it is used up either way."""
        issued = self._issued.pop(challenge, None)
        return (issued is not None and issued.purpose == purpose
                and issued.expires_ms > now_ms and (not account or issued.account == account))


def relying_party(request: web.Request) -> tuple[str, str]:
    """``(rp id, origin)`` of the request: the settings', else the request's host."""
    settings: Settings = request.config_dict[SETTINGS]
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    origin = settings.passkey_origin or f"{'https' if secure else 'http'}://{request.host}"
    rp_id = settings.passkey_rp_id or (request.url.host or "")
    return rp_id, origin


def _now(request: web.Request) -> int:
    now: int = request.config_dict[ENGINE].now()
    return now


def _challenges(request: web.Request) -> Challenges:
    trade = request.config_dict[TRADE]
    challenges: Challenges = trade.passkeys
    return challenges


def _options(options: Any) -> web.Response:
    return web.Response(text=options_to_json(options), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def _credential(request: web.Request) -> dict[str, Any]:
    """The browser's answer (``PublicKeyCredential.toJSON()``) as the body's JSON."""
    body: PasskeyAnswer = await read_body(request)
    credential: dict[str, Any] = msgspec.to_builtins(body)
    return credential


def _challenge_of(credential: dict[str, Any]) -> bytes:
    client_data = base64url_to_bytes(credential["response"]["clientDataJSON"])
    challenge: bytes = parse_client_data_json(client_data).challenge
    return challenge


def _refused(detail: str) -> WebError:
    return WebError(401, "passkey_failed", detail)


async def _account(request: web.Request, account: str) -> Account:
    trade = request.config_dict[TRADE]
    state: Account = await request.config_dict[ENGINE].aggregates.state(trade.accounts,
                                                                          account)
    return state


def passkey_views(account: Account) -> list[dict[str, Any]]:
    """The account's passkeys as its page lists them (never the public key)."""
    return [{"credential_id": p.credential_id, "name": p.name, "added_at": p.added_at,
             "last_used_at": p.last_used_at} for p in account.passkeys]


async def registration_options(request: web.Request) -> web.Response:
    """The options of ``navigator.credentials.create`` for the signed-in account."""
    now = _now(request)
    account_id, _ = bidders.session_account(request, now, action=True)
    await read_body(request)
    account = await _account(request, account_id)
    if account.status != "active":
        raise WebError(401, "unauthorized", "log in to a bidder account")
    rp_id, _ = relying_party(request)
    settings: Settings = request.config_dict[SETTINGS]
    options = generate_registration_options(
        rp_id=rp_id, rp_name=settings.center_name or "auction",
        user_id=account_id.encode(), user_name=account.code, user_display_name=account.name,
        challenge=_challenges(request).issue(REGISTER, account_id, now),
        timeout=CHALLENGE_TTL_S * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(
            p.credential_id)) for p in account.passkeys])
    return _options(options)


async def add_passkey(request: web.Request) -> web.Response:
    """Verify the authenticator's answer to a registration challenge of this account and
    record the passkey."""
    now = _now(request)
    account_id, _ = bidders.session_account(request, now, action=True)
    credential = await _credential(request)
    try:
        challenge = _challenge_of(credential)
    except _BAD_ANSWER:
        raise WebError(400, "passkey_refused", "not a WebAuthn registration") from None
    if not _challenges(request).take(challenge, REGISTER, account_id, now):
        raise WebError(400, "passkey_refused", "the challenge is unknown, used or expired")
    rp_id, origin = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin)
    except _BAD_ANSWER as exc:
        raise WebError(400, "passkey_refused", str(exc)[:300]) from None
    name = str(credential.get("name") or "passkey")[:100]
    trade = request.config_dict[TRADE]
    try:
        await request.config_dict[ENGINE].aggregates.execute(trade.accounts, account_id,
                                                             AddPasskey(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count, name=name))
    except Refused as exc:
        raise WebError(409, exc.rejection.code, exc.rejection.detail) from None
    account = await _account(request, account_id)
    return json_response({"passkeys": passkey_views(account)}, 201)


async def login_options(request: web.Request) -> web.Response:
    """The options of ``navigator.credentials.get``: a challenge, no account named."""
    await read_body(request)
    rp_id, _ = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp_id, challenge=_challenges(request).issue(LOGIN, "", _now(request)),
        timeout=CHALLENGE_TTL_S * 1000,
        user_verification=UserVerificationRequirement.PREFERRED)
    return _options(options)


async def login(request: web.Request) -> web.Response:
    """Log in with a passkey: the assertion answers an unused login challenge, its user
    handle names the account, its credential is one of the account's, its signature holds
    and its counter moves forward. Any failure answers 401 ``passkey_failed`` (counted by
    the login limits); the session cookie and the CSRF token otherwise."""
    now = _now(request)
    settings: Settings = request.config_dict[SETTINGS]
    trade = request.config_dict[TRADE]
    address = f"address:{client_address(request, settings.trusted_proxies)}"
    if trade.logins.blocked([address], now / 1000):
        raise WebError(429, "rate_limited", "too many failed logins: wait and try again")
    credential = await _credential(request)
    try:
        account_id = await _verify_login(request, credential, now)
    except WebError:
        trade.logins.fail([address], now / 1000)
        raise
    account = await _account(request, account_id)
    cookie = bidders.issue_session(settings.secret, account_id, now)
    response = json_response({"account_id": account_id, "name": account.name,
                              "csrf": bidders.csrf_token(settings.secret, cookie)})
    bidders.set_session(response, request, cookie)
    return response


async def _verify_login(request: web.Request, credential: dict[str, Any], now: int) -> str:
    try:
        challenge = _challenge_of(credential)
        user_handle = base64url_to_bytes(credential["response"].get("userHandle") or "")
        credential_id = bytes_to_base64url(base64url_to_bytes(credential["rawId"]))
        account_id = user_handle.decode()
    except (*_BAD_ANSWER, UnicodeDecodeError):
        raise _refused("not a WebAuthn assertion") from None
    if not _challenges(request).take(challenge, LOGIN, "", now):
        raise _refused("the challenge is unknown, used or expired")
    account = await _account(request, account_id) if is_aggregate_id(account_id) \
        else Account(account_id)
    passkey = account.passkey(credential_id) if account.status == "active" else None
    if passkey is None:
        raise _refused("the passkey is not one of an account's")
    rp_id, origin = relying_party(request)
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count)
    except _BAD_ANSWER as exc:
        raise _refused(str(exc)[:300]) from None
    trade = request.config_dict[TRADE]
    try:
        await request.config_dict[ENGINE].aggregates.execute(
            trade.accounts, account_id, UsePasskey(credential_id, verified.new_sign_count))
    except Refused as exc:
        raise _refused(exc.rejection.detail or exc.rejection.code) from None
    return account_id

