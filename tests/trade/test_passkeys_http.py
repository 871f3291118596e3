"""Passkeys (WebAuthn) of bidder accounts over HTTP on a real server, answered by a
software authenticator (an ES256 key making real attestations and assertions): a
signed-in account adds a passkey and later logs in with it alone; refused are an answer
to a challenge the server never gave, a challenge answered twice or too late, a passkey no
account holds or another account's, a counter going back, and a registration challenge
answered for another account."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any

import cbor2
import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from test_trade_http import CODE, OTHER, Bidder, Clock, account, start
from web_support import Server, ServerFactory

from web.passkeys import CHALLENGE_TTL_S

RP_ID = "localhost"
ORIGIN = "http://localhost:8080"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """A passkey on a software authenticator: a P-256 key, its credential id, the user
    handle it was made for and a signature counter."""

    def __init__(self, counter: int = 0) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.counter = counter
        self.user_handle = b""

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return orjson.dumps({"type": kind, "challenge": challenge, "origin": origin,
                             "crossOrigin": False})

    def create(self, options: dict[str, Any], origin: str = ORIGIN) -> dict[str, Any]:
        """The answer of ``navigator.credentials.create`` to ``options``."""
        self.user_handle = unb64(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest()
                     + bytes([0x01 | 0x04 | 0x40]) + self.counter.to_bytes(4, "big")
                     + bytes(16) + len(self.credential_id).to_bytes(2, "big")
                     + self.credential_id + cose)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                "type": "public-key", "name": "测试密钥",
                "response": {"clientDataJSON": b64(client_data),
                             "attestationObject": b64(attestation)}}

    def get(self, options: dict[str, Any], *, counter: int | None = None,
            rp_id: str = RP_ID, origin: str = ORIGIN) -> dict[str, Any]:
        """The answer of ``navigator.credentials.get`` to ``options`` (the counter moves
        on by one unless given)."""
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x01 | 0x04])
                     + self.counter.to_bytes(4, "big"))
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64(client_data),
                             "authenticatorData": b64(auth_data), "signature": b64(signature),
                             "userHandle": b64(self.user_handle)}}


async def passkey_server(make_server: ServerFactory,
                         tmp_path: Path) -> tuple[Server, Clock]:
    server, clock, *_ = await start(make_server, tmp_path, passkey_rp_id=RP_ID,
                                    passkey_origin=ORIGIN)
    return server, clock


async def with_passkey(server: Server, bidders: list[Bidder], code: str = CODE,
                       counter: int = 0) -> tuple[Bidder, Authenticator]:
    """An account signed in with its password that has added a passkey."""
    bidder = await account(server, bidders, code)
    status, options = await bidder.call("POST", "/api/account/passkeys/options", {})
    assert status == 200 and options["rp"]["id"] == RP_ID
    assert options["authenticatorSelection"]["residentKey"] == "required"
    authenticator = Authenticator(counter)
    status, added = await bidder.call("POST", "/api/account/passkeys",
                                      authenticator.create(options))
    assert status == 201, added
    assert added["passkeys"][0]["credential_id"] == b64(authenticator.credential_id)
    return bidder, authenticator


async def passkey_login(server: Server, bidders: list[Bidder], authenticator: Authenticator,
                        **answer: Any) -> tuple[Bidder, int, Any]:
    """A new browser logs in with ``authenticator``: ``(browser, status, answer)``."""
    browser = Bidder(server)
    bidders.append(browser)
    _, options = await browser.call("POST", "/api/account/passkey-login/options", {})
    status, data = await browser.call("POST", "/api/account/passkey-login",
                                      authenticator.get(options, **answer))
    if status == 200:
        browser.csrf = data["csrf"]
    return browser, status, data


def refused(status: int, data: Any, words: str) -> None:
    assert status == 401 and data["error"]["code"] == "passkey_failed", data
    assert words in data["error"]["detail"], data


async def test_an_account_adds_a_passkey_and_logs_in_with_it_alone(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    _, authenticator = await with_passkey(server, bidders)
    browser, status, data = await passkey_login(server, bidders, authenticator)
    assert status == 200 and data["account_id"] == f"org-{CODE}"
    status, page = await browser.call("GET", "/api/account")
    assert status == 200 and page["passkeys"][0]["last_used_at"] is not None
    assert (await browser.call("POST", "/api/account/passkeys/options", {}))[0] == 200
    kinds = [type(r.event).__name__
             for r in await server.engine.aggregates.records("account", f"org-{CODE}")]
    assert kinds == ["AccountRegistered", "PasskeyAdded", "PasskeyUsed"]


async def test_adding_a_passkey_needs_a_signed_in_account_and_its_csrf_token(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    stranger = Bidder(server)
    bidders.append(stranger)
    status, _ = await stranger.call("POST", "/api/account/passkeys/options", {})
    assert status == 401
    bidder = await account(server, bidders, CODE)
    status, error = await bidder.call("POST", "/api/account/passkeys/options", {}, csrf=False)
    assert status == 403 and error["error"]["code"] == "csrf"


async def test_a_registration_challenge_answers_for_its_own_account_only_and_once(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    first = await account(server, bidders, CODE)
    second = await account(server, bidders, OTHER)
    _, options = await first.call("POST", "/api/account/passkeys/options", {})
    answer = Authenticator().create(options)
    status, error = await second.call("POST", "/api/account/passkeys", answer)
    assert status == 400 and error["error"]["code"] == "passkey_refused"
    status, error = await first.call("POST", "/api/account/passkeys", answer)
    assert status == 400 and "used or expired" in error["error"]["detail"]
    _, options = await first.call("POST", "/api/account/passkeys/options", {})
    wrong_origin = Authenticator().create(options, origin="http://localhost:9999")
    status, error = await first.call("POST", "/api/account/passkeys", wrong_origin)
    assert status == 400 and error["error"]["code"] == "passkey_refused"


async def test_a_login_answering_a_challenge_the_server_never_gave_is_refused(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    _, authenticator = await with_passkey(server, bidders)
    browser = Bidder(server)
    bidders.append(browser)
    status, data = await browser.call("POST", "/api/account/passkey-login", authenticator.get(
        {"challenge": b64(secrets.token_bytes(32))}))
    refused(status, data, "challenge is unknown")
    assert (await browser.call("GET", "/api/account"))[0] == 401


async def test_a_login_challenge_answered_twice_or_too_late_is_refused(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock = await passkey_server(make_server, tmp_path)
    _, authenticator = await with_passkey(server, bidders)
    browser = Bidder(server)
    bidders.append(browser)
    _, options = await browser.call("POST", "/api/account/passkey-login/options", {})
    assert (await browser.call("POST", "/api/account/passkey-login",
                               authenticator.get(options)))[0] == 200
    status, data = await browser.call("POST", "/api/account/passkey-login",
                                      authenticator.get(options))  # a replay
    refused(status, data, "used or expired")
    _, options = await browser.call("POST", "/api/account/passkey-login/options", {})
    clock.now += CHALLENGE_TTL_S * 1000
    status, data = await browser.call("POST", "/api/account/passkey-login",
                                      authenticator.get(options))
    refused(status, data, "used or expired")


async def test_a_login_with_a_passkey_no_account_holds_or_another_accounts_is_refused(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    _, mine = await with_passkey(server, bidders, CODE)
    _, theirs = await with_passkey(server, bidders, OTHER)
    stranger = Authenticator()
    stranger.user_handle = mine.user_handle
    _, status, data = await passkey_login(server, bidders, stranger)
    refused(status, data, "not one of an account's")
    theirs.user_handle = mine.user_handle  # another account's passkey claiming this account
    _, status, data = await passkey_login(server, bidders, theirs)
    refused(status, data, "not one of an account's")


async def test_a_login_whose_signature_counter_goes_back_is_refused(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    _, authenticator = await with_passkey(server, bidders, counter=1)
    assert (await passkey_login(server, bidders, authenticator, counter=7))[1] == 200
    _, status, data = await passkey_login(server, bidders, authenticator, counter=3)
    refused(status, data, "sign count")
    _, status, data = await passkey_login(server, bidders, authenticator, counter=7)
    refused(status, data, "sign count")
    assert (await passkey_login(server, bidders, authenticator, counter=8))[1] == 200


async def test_a_login_signed_for_another_relying_party_is_refused(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, _ = await passkey_server(make_server, tmp_path)
    _, authenticator = await with_passkey(server, bidders)
    _, status, data = await passkey_login(server, bidders, authenticator,
                                          rp_id="evil.example")
    refused(status, data, "RP ID")
