"""Passkeys of a bidder account in the rules: added once to an active account (at most
MAX_PASSKEYS), used for a login only by the account that holds it, and only with a
signature counter that moves forward (or stays at 0 for an authenticator that does not
count)."""

from test_applications import ACCOUNTS, CODE, refused, register, run

from auction.trade.accounts import (
    MAX_PASSKEYS,
    Account,
    AddPasskey,
    UsePasskey,
    account_id,
)


def account() -> Account:
    return run(ACCOUNTS, Account(account_id("organisation", CODE)), register())


def add(credential: str = "cred-1", count: int = 0) -> AddPasskey:
    return AddPasskey(credential_id=credential, public_key="pQECAyYg", sign_count=count,
                      name="笔记本电脑")


def test_a_passkey_is_added_once_to_an_account_that_exists() -> None:
    assert refused(ACCOUNTS, Account("org-x"), add()) == "unknown_account"
    state = run(ACCOUNTS, account(), add(), now=5_000)
    passkey = state.passkey("cred-1")
    assert passkey is not None and passkey.added_at == 5_000 and passkey.name == "笔记本电脑"
    assert refused(ACCOUNTS, state, add()) == "exists"


def test_an_account_holds_a_bounded_number_of_passkeys() -> None:
    state = account()
    for no in range(MAX_PASSKEYS):
        state = run(ACCOUNTS, state, add(f"cred-{no}"))
    assert refused(ACCOUNTS, state, add("one-more")) == "invalid_state"


def test_a_login_with_a_passkey_the_account_does_not_hold_is_refused() -> None:
    state = run(ACCOUNTS, account(), add("cred-1"))
    assert refused(ACCOUNTS, state, UsePasskey("cred-of-another-account", 1)) == \
        "unknown_passkey"
    assert refused(ACCOUNTS, account(), UsePasskey("cred-1", 1)) == "unknown_passkey"


def test_a_login_whose_counter_goes_back_or_stays_is_refused() -> None:
    state = run(ACCOUNTS, account(), add("cred-1", count=1))
    state = run(ACCOUNTS, state, UsePasskey("cred-1", 5), now=7_000)
    passkey = state.passkey("cred-1")
    assert passkey is not None and (passkey.sign_count, passkey.last_used_at) == (5, 7_000)
    assert refused(ACCOUNTS, state, UsePasskey("cred-1", 4)) == "passkey_counter"
    assert refused(ACCOUNTS, state, UsePasskey("cred-1", 5)) == "passkey_counter"
    assert refused(ACCOUNTS, state, UsePasskey("cred-1", 0)) == "passkey_counter"


def test_an_authenticator_that_does_not_count_logs_in_with_a_counter_of_zero() -> None:
    state = run(ACCOUNTS, account(), add("cred-1", count=0))
    state = run(ACCOUNTS, state, UsePasskey("cred-1", 0))
    state = run(ACCOUNTS, state, UsePasskey("cred-1", 0))
    other = run(ACCOUNTS, state, add("cred-2"))
    assert [p.credential_id for p in other.passkeys] == ["cred-1", "cred-2"]
    assert other.passkeys[0].last_used_at is not None and other.passkeys[1].last_used_at is None
