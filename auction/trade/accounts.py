"""Bidder accounts: an organisation (its unified social credit code) or a person (its
resident identity number) registered with a contact, a password hash and the salt of its
second factor.

The account's id is its identifier prefixed by its kind (:func:`account_id`): one account
per credit code or identity number, and the id says whose it is. The password is hashed
and the second factor's secret derived at the edge (web/accounts.py); the record holds
the hash (argon2id) and a salt, never a password or a TOTP secret.
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
})

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


class AccountDecider:
    kind = "account"

    def initial(self, aggregate_id: str) -> Account:
        return Account(aggregate_id)

    def decide(self, state: Account, command: RegisterAccount | ChangePassword,
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
        return [PasswordChanged(at=now, actor=state.account_id,
                                password_hash=command.password_hash)]

    def evolve(self, state: Account, event: Event) -> Account:
        if isinstance(event, AccountRegistered):
            return replace(state, status="active", party=event.party, name=event.name,
                           code=event.code, contact=event.contact,
                           password_hash=event.password_hash, totp_salt=event.totp_salt,
                           registered_at=event.at)
        assert isinstance(event, PasswordChanged)
        return replace(state, password_hash=event.password_hash)
