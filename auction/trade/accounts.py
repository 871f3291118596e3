"""Bidder accounts: an organisation (its unified social credit code) or a person (its
resident identity number) registered with a contact, a password hash and the salt of its
second factor.

The account's id is its identifier prefixed by its kind (:func:`account_id`): one account
per credit code or identity number, and the id says whose it is. The password is hashed
and the second factor's secret derived at the edge (web/accounts.py); the record holds
the hash (argon2id) and a salt, never a password or a TOTP secret.

Passkeys (WebAuthn): an account adds a passkey from its signed-in page (the edge, web/
passkeys.py, verifies the authenticator's answer; the record keeps the credential's id,
its public key and its signature counter), then logs in with it. A login names the
credential and its new counter: a credential the account does not have is refused, and
so is a counter that does not move forward (an authenticator that counts, cloned).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, register_event
from auction.trade.identity import party_code_problem

MESSAGES.update({
    "invalid_party_code": ("统一社会信用代码或身份证号码不正确（校验位不符）",
                           "The credit code or identity number is not valid (its check "
                           "character does not match)."),
    "unknown_account": ("未找到该账户", "No such account."),
    "unknown_passkey": ("该通行密钥不属于此账户", "The passkey is not one of this account's."),
    "passkey_counter": ("通行密钥的签名计数未递增，疑似被复制，已拒绝",
                        "The passkey's signature counter did not move forward (a cloned "
                        "authenticator?): refused."),
})

#: Most passkeys one account holds.
MAX_PASSKEYS = 10

_PREFIX = {"organisation": "org", "person": "person"}


def account_id(party: str, code: str) -> str:
    """The id of the account of the ``party`` (``organisation`` or ``person``) ``code``."""
    return f"{_PREFIX.get(party, party)}-{code}"


@dataclass(frozen=True)
class Account:
    account_id: str
    status: str = "none"  # none | active
    party: str = ""
    name: str = ""
    code: str = ""
    contact: Mapping[str, Any] | None = None
    password_hash: str = ""
    totp_salt: str = ""
    registered_at: int = 0
    passkeys: tuple["Passkey", ...] = ()

    def passkey(self, credential_id: str) -> "Passkey | None":
        return next((p for p in self.passkeys if p.credential_id == credential_id), None)


@dataclass(frozen=True)
class Passkey:
    """A passkey of an account: its credential id and COSE public key (base64url), and
    the authenticator's signature counter as last seen (0: it does not count)."""

    credential_id: str
    public_key: str
    sign_count: int
    name: str
    added_at: int
    last_used_at: int | None = None


@dataclass(frozen=True)
class RegisterAccount:
    party: str
    name: str
    code: str
    contact: Mapping[str, Any]  # {"person", "phone", "email"}
    password_hash: str
    totp_salt: str


@dataclass(frozen=True)
class ChangePassword:
    password_hash: str


@dataclass(frozen=True)
class AddPasskey:
    credential_id: str
    public_key: str
    sign_count: int
    name: str


@dataclass(frozen=True)
class UsePasskey:
    """A login with the passkey ``credential_id``, its counter now ``sign_count``."""

    credential_id: str
    sign_count: int


AccountCommand = RegisterAccount | ChangePassword | AddPasskey | UsePasskey


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRegistered(Event):
    party: str
    name: str
    code: str
    contact: Mapping[str, Any]
    password_hash: str
    totp_salt: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(Event):
    password_hash: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class PasskeyAdded(Event):
    credential_id: str
    public_key: str
    sign_count: int
    name: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class PasskeyUsed(Event):
    credential_id: str
    sign_count: int


class AccountDecider:
    kind = "account"

    def initial(self, aggregate_id: str) -> Account:
        return Account(aggregate_id)

    def decide(self, state: Account, command: AccountCommand,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, RegisterAccount):
            if state.status != "none":
                return Rejection("exists", "an account for this code exists")
            problem = party_code_problem(command.party, command.code)
            if problem:
                return Rejection("invalid_party_code", problem)
            if account_id(command.party, command.code) != state.account_id:
                return Rejection("invalid_params", "the account id is not the code's")
            return [AccountRegistered(at=now, actor=state.account_id, party=command.party,
                                      name=command.name, code=command.code,
                                      contact=dict(command.contact),
                                      password_hash=command.password_hash,
                                      totp_salt=command.totp_salt)]
        if state.status != "active":
            return Rejection("unknown_account", state.account_id)
        if isinstance(command, AddPasskey):
            if state.passkey(command.credential_id) is not None:
                return Rejection("exists", "the passkey is the account's already")
            if len(state.passkeys) >= MAX_PASSKEYS:
                return Rejection("invalid_state", f"an account holds {MAX_PASSKEYS} passkeys "
                                                  "at most")
            return [PasskeyAdded(at=now, actor=state.account_id,
                                 credential_id=command.credential_id,
                                 public_key=command.public_key,
                                 sign_count=command.sign_count, name=command.name)]
        if isinstance(command, UsePasskey):
            passkey = state.passkey(command.credential_id)
            if passkey is None:
                return Rejection("unknown_passkey", "not a passkey of this account")
            if (command.sign_count or passkey.sign_count) and \
                    command.sign_count <= passkey.sign_count:
                return Rejection("passkey_counter",
                                 f"counter {command.sign_count}, last seen "
                                 f"{passkey.sign_count}")
            return [PasskeyUsed(at=now, actor=state.account_id,
                                credential_id=command.credential_id,
                                sign_count=command.sign_count)]
        return [PasswordChanged(at=now, actor=state.account_id,
                                password_hash=command.password_hash)]

    def evolve(self, state: Account, event: Event) -> Account:
        if isinstance(event, AccountRegistered):
            return replace(state, status="active", party=event.party, name=event.name,
                           code=event.code, contact=event.contact,
                           password_hash=event.password_hash, totp_salt=event.totp_salt,
                           registered_at=event.at)
        if isinstance(event, PasskeyAdded):
            passkey = Passkey(event.credential_id, event.public_key, event.sign_count,
                              event.name, event.at)
            return replace(state, passkeys=(*state.passkeys, passkey))
        if isinstance(event, PasskeyUsed):
            return replace(state, passkeys=tuple(
                replace(p, sign_count=event.sign_count, last_used_at=event.at)
                if p.credential_id == event.credential_id else p for p in state.passkeys))
        assert isinstance(event, PasswordChanged)
        return replace(state, password_hash=event.password_hash)
