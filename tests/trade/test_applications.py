"""Bidder accounts and applications: registration by a valid code, the application window,
terms, barred parties, consortia, documents, review with reasons before the auction and
of the winner after, deposits, and admission to the lot only when eligible."""

from dataclasses import replace
from typing import Any

import pytest

from auction.model import Rejection
from auction.trade.accounts import (
    Account,
    AccountDecider,
    ChangePassword,
    RegisterAccount,
    account_id,
)
from auction.trade.applications import (
    AdmitBidder,
    Application,
    ApplicationDecider,
    AttachDocument,
    CountDeposit,
    RecordBarredAtAward,
    ReviewApplication,
    ReviewWinner,
    SubmitApplication,
    WithdrawApplication,
    application_id,
    eligible,
)
from engine.aggregates import Aggregates, MemoryAggregateLog, Refused

CODE = "91350100M000100Y43"
PERSON = "11010519491231002X"
ACCOUNTS = AccountDecider()
APPS = ApplicationDecider()
OPEN, CLOSE = 1_000, 10_000
SHA = "ab" * 32


def run(decider: Any, state: Any, command: object, now: int = 2_000) -> Any:
    events = decider.decide(state, command, now)
    assert not isinstance(events, Rejection), events
    for event in events:
        state = decider.evolve(state, event)
    return state


def refused(decider: Any, state: Any, command: object, now: int = 2_000) -> str:
    result = decider.decide(state, command, now)
    assert isinstance(result, Rejection), result
    code: str = result.code
    return code


def register(party: str = "organisation", code: str = CODE) -> RegisterAccount:
    return RegisterAccount(party=party, name="某某投资有限公司", code=code,
                           contact={"person": "张三", "phone": "13800000000",
                                    "email": "a@example.cn"},
                           password_hash="$argon2id$...", totp_salt="salt")


def test_an_account_is_registered_once_under_its_valid_code() -> None:
    state = run(ACCOUNTS, Account(account_id("organisation", CODE)), register())
    assert state.status == "active" and state.code == CODE and state.account_id == f"org-{CODE}"
    assert refused(ACCOUNTS, state, register()) == "exists"
    person = run(ACCOUNTS, Account(account_id("person", PERSON)), register("person", PERSON))
    assert person.account_id == f"person-{PERSON}"


def test_a_code_with_a_wrong_check_character_or_another_accounts_id_is_refused() -> None:
    wrong = CODE[:17] + "4"
    assert refused(ACCOUNTS, Account(f"org-{wrong}"), register(code=wrong)) == \
        "invalid_party_code"
    assert refused(ACCOUNTS, Account(f"person-{CODE}"), register()) == "invalid_params"


def test_a_password_is_changed_only_on_an_account_that_exists() -> None:
    assert refused(ACCOUNTS, Account("org-x"), ChangePassword("h")) == "unknown_account"
    state = run(ACCOUNTS, Account(f"org-{CODE}"), register())
    assert run(ACCOUNTS, state, ChangePassword("new")).password_hash == "new"


def submit(**changes: Any) -> SubmitApplication:
    base = SubmitApplication(notice_id="N-1", lot_id="L-1", name="某某投资有限公司",
                             contact={"phone": "13800000000"}, accept_terms=True,
                             apply_from=OPEN, apply_until=CLOSE, deposit_required=500,
                             prequalification=True, consortium_allowed=False,
                             actor=f"org-{CODE}")
    return replace(base, **changes)


def applied(**changes: Any) -> Application:
    return run(APPS, Application(application_id("L-1", f"org-{CODE}")), submit(**changes))


def test_one_application_per_account_and_lot() -> None:
    assert application_id("L-1", "org-a") == application_id("L-1", "org-a")
    assert application_id("L-1", "org-a") != application_id("L-2", "org-a")
    state = applied()
    assert state.status == "submitted" and state.account_id == f"org-{CODE}"
    assert state.terms_accepted and state.lot_id == "L-1"
    assert refused(APPS, state, submit()) == "exists"


@pytest.mark.parametrize("changes, now, code", [
    ({}, OPEN - 1, "window_closed"),
    ({}, CLOSE, "window_closed"),
    ({"accept_terms": False}, 2_000, "terms_not_accepted"),
    ({"barred": True}, 2_000, "barred"),
    ({"consortium": ("org-b",)}, 2_000, "consortium_not_allowed"),
    ({"consortium": tuple(f"m{i}" for i in range(11)), "consortium_allowed": True}, 2_000,
     "invalid_params"),
])
def test_an_application_outside_the_window_without_terms_barred_or_with_a_consortium_not_allowed_is_refused(  # noqa: E501
        changes: dict[str, Any], now: int, code: str) -> None:
    assert refused(APPS, Application("A-1"), submit(**changes), now) == code


def test_a_consortium_applies_where_the_notice_allows_one() -> None:
    state = applied(consortium=("org-b", "org-c"), consortium_allowed=True)
    assert state.consortium == ("org-b", "org-c")


def test_documents_are_attached_by_their_hash_during_the_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    state = run(APPS, applied(), AttachDocument("营业执照.pdf", SHA, 1234, "application/pdf",
                                                f"org-{CODE}"))
    assert state.documents[0].sha256 == SHA and state.documents[0].size == 1234
    late = AttachDocument("x.pdf", SHA, 1, "application/pdf", "a")
    assert refused(APPS, state, late, CLOSE) == "window_closed"
    monkeypatch.setattr("auction.trade.applications.MAX_DOCUMENTS", 1)
    assert refused(APPS, state, late) == "invalid_state"


def test_a_rejected_application_never_reaches_the_lot() -> None:
    state = applied()
    assert refused(APPS, state, ReviewApplication(False, "reviewer", " ")) == "reason_required"
    state = run(APPS, state, ReviewApplication(False, "reviewer", "营业执照已过期"))
    assert state.status == "rejected" and state.reason == "营业执照已过期"
    assert not eligible(state)
    for command in (CountDeposit(500, "staff", "bob", "到账核实"), AdmitBidder("b", "1", "s"),
                    ReviewApplication(True, "r"), AttachDocument("a", SHA, 1, "t", "x")):
        assert refused(APPS, state, command) == "invalid_state"


def test_an_approved_application_with_its_deposit_is_eligible_and_admitted_once() -> None:
    state = applied()
    assert refused(APPS, state, AdmitBidder("b", "1", "system")) == "not_eligible_yet"
    state = run(APPS, state, ReviewApplication(True, "reviewer"))
    assert state.status == "approved"
    assert refused(APPS, state, ReviewApplication(True, "reviewer")) == "invalid_state"
    detail = APPS.decide(state, AdmitBidder("b", "1", "system"), 2_000)
    assert isinstance(detail, Rejection) and detail.detail == "deposit"
    assert refused(APPS, state, CountDeposit(499, "bank", "bank")) == "deposit_too_low"
    assert refused(APPS, state, CountDeposit(500, "staff", "bob")) == "reason_required"
    state = run(APPS, state, CountDeposit(500, "bank", "bank", account="6222 0001"))
    assert state.deposit == 500 and eligible(state) and state.deposit_account == "6222 0001"
    assert refused(APPS, state, CountDeposit(500, "bank", "bank")) == "exists"
    state = run(APPS, state, AdmitBidder(state.application_id, "123456", "system"))
    assert state.bidder_no == "123456"
    assert refused(APPS, state, AdmitBidder("b", "1", "system")) == "already_registered"
    assert refused(APPS, state, WithdrawApplication("a", "changed my mind")) == "invalid_state"


def test_a_deposit_without_review_leaves_the_review_missing() -> None:
    state = run(APPS, applied(), CountDeposit(600, "staff", "bob", "柜台缴纳，已核实"))
    result = APPS.decide(state, AdmitBidder("b", "1", "system"), 2_000)
    assert isinstance(result, Rejection) and result.detail == "qualification review"


def test_an_applicant_withdraws_before_admission() -> None:
    state = run(APPS, applied(), WithdrawApplication(f"org-{CODE}", "放弃竞买"))
    assert state.status == "withdrawn" and not eligible(state)


def test_without_pre_qualification_the_winner_alone_is_reviewed_after_the_auction() -> None:
    state = applied(prequalification=False)
    assert refused(APPS, state, ReviewApplication(True, "r")) == "invalid_state"
    assert refused(APPS, state, ReviewWinner(True, "r")) == "invalid_state"
    state = run(APPS, state, CountDeposit(500, "bank", "bank"))
    assert eligible(state)
    state = run(APPS, state, AdmitBidder("A", "42", "system"))
    assert refused(APPS, state, ReviewWinner(True, "r", barred=True)) == "barred"
    assert refused(APPS, state, ReviewWinner(False, "r")) == "reason_required"
    after = run(APPS, state, ReviewWinner(False, "r", "资格后审：不符合竞买人条件"))
    assert after.post_review == "disqualified"
    assert run(APPS, state, ReviewWinner(True, "r")).post_review == "qualified"
    assert refused(APPS, after, ReviewWinner(True, "r")) == "invalid_state"


def test_a_step_of_the_award_refused_for_the_barred_list_is_recorded_on_an_admitted_winner(
) -> None:
    state = run(APPS, applied(), ReviewApplication(True, "r"))
    state = run(APPS, state, CountDeposit(500, "bank", "bank"))
    assert refused(APPS, state, RecordBarredAtAward("confirmation", "h")) == "invalid_state"
    state = run(APPS, state, AdmitBidder("A", "42", "system"))
    assert refused(APPS, state, RecordBarredAtAward("signing", "h")) == "invalid_state"
    events = APPS.decide(state, RecordBarredAtAward("confirmation", "host-1"), 9_000)
    assert not isinstance(events, Rejection)
    assert [(e.actor, e.at) for e in events] == [("host-1", 9_000)]
    after = run(APPS, state, RecordBarredAtAward("confirmation", "host-1"))
    assert after.barred_at_award == "confirmation" and after.status == "approved"
    assert run(APPS, after, RecordBarredAtAward("payment", "h")).barred_at_award == "payment"


def test_commands_on_an_application_that_does_not_exist_are_refused() -> None:
    assert refused(APPS, Application("A-0"), ReviewApplication(True, "r")) == \
        "unknown_application"
    assert not eligible(Application("A-0"))


async def test_accounts_and_applications_are_recorded_and_replay_to_the_same_state() -> None:
    log = MemoryAggregateLog()
    first = Aggregates(log, lambda: 2_000)
    acct = account_id("organisation", CODE)
    await first.execute(ACCOUNTS, acct, register())
    app_id = application_id("L-1", acct)
    for command in (submit(), AttachDocument("营业执照.pdf", SHA, 9, "application/pdf", acct),
                    ReviewApplication(True, "reviewer"), CountDeposit(500, "bank", "bank"),
                    AdmitBidder(app_id, "777777", "system")):
        await first.execute(APPS, app_id, command)
    with pytest.raises(Refused):
        await first.execute(APPS, app_id, submit())
    again = Aggregates(log, lambda: 3_000)
    assert await again.state(APPS, app_id) == await first.state(APPS, app_id)
    assert (await again.state(ACCOUNTS, acct)).code == CODE
    kinds = [type(r.event).__name__
             for r in await again.records("application", app_id)]
    assert kinds == ["ApplicationSubmitted", "DocumentAttached", "ApplicationApproved",
                     "ApplicantDepositCounted", "BidderAdmitted"]
