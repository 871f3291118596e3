"""Applications (竞买申请) and their qualification review (资格审查).

An account applies for one lot of a published notice during its application window: it
accepts the lot's terms, declares a consortium where the notice allows one, and attaches
the documents asked for (each by its SHA-256, size and type; the bytes live in the object
store). A party on the barred list is refused at application (the edge looks the list up
and says so in the command) and again at the award: a step of the award refused for it
is recorded on the winner's application (:class:`RecordBarredAtAward`).

With pre-qualification (资格前审) a reviewer approves or rejects the application (a
rejection says why) before the auction; without it (资格后审) the winner alone is
reviewed after the auction. The deposit counts once, in full (the bank's match, or staff
confirming by hand with a reason).

Eligible (:func:`eligible`) = terms accepted + qualified where pre-qualification applies
+ the deposit counted. Only then is the applicant admitted to the lot as a bidder
(:class:`AdmitBidder`, after the lot's own ``RegisterBidder``); a rejected or withdrawn
application never is. Every step is an event with its actor and, where it decides
something, its reason.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, recorded_if_set, register_event

APPLICATION_STATUSES = ("submitted", "approved", "rejected", "withdrawn")
MAX_DOCUMENTS = 20
MAX_CONSORTIUM = 10

MESSAGES.update({
    "terms_not_accepted": ("须在线接受竞买须知", "The lot's terms must be accepted online."),
    "window_closed": ("不在报名期内", "Outside the application window."),
    "barred": ("该竞买人在禁止参与名单内（如失信被执行人）",
               "The party is on the barred list (e.g. dishonest judgment debtors)."),
    "consortium_not_allowed": ("本标的不接受联合竞买", "This lot does not take consortia."),
    "not_eligible_yet": ("尚未具备竞买资格（审查、保证金或须知）",
                         "Not eligible yet (review, deposit or terms)."),
    "unknown_application": ("未找到该竞买申请", "No such application."),
})


def application_id(lot_id: str, account_id: str) -> str:
    """The id of ``account_id``'s application for ``lot_id``: one per account and lot."""
    digest = hashlib.sha256(f"{lot_id}\n{account_id}".encode()).hexdigest()
    return f"A-{digest[:20]}"


@dataclass(frozen=True)
class Document:
    name: str
    sha256: str
    size: int
    content_type: str
    at: int


@dataclass(frozen=True)
class Application:
    application_id: str
    status: str = "none"  # none | submitted | approved | rejected | withdrawn
    notice_id: str = ""
    lot_id: str = ""
    account_id: str = ""
    name: str = ""
    contact: Mapping[str, Any] = field(default_factory=dict)
    consortium: tuple[str, ...] = ()
    prequalification: bool = True
    terms_accepted: bool = False
    apply_until: int = 0
    deposit_required: int = 0
    submitted_at: int = 0
    documents: tuple[Document, ...] = ()
    deposit: int | None = None
    deposit_source: str = ""
    #: The payer's account (on the lot: the deposit's account, which the collusion
    #: checks compare).
    deposit_account: str = ""
    bidder_id: str = ""
    bidder_no: str = ""
    #: After the auction, without pre-qualification: ``""``, ``qualified`` or
    #: ``disqualified``.
    post_review: str = ""
    reason: str = ""
    #: The last step of the award (``result_notice``, ``confirmation``, ``payment``)
    #: refused because the winner was on the barred list then; ``""`` if none was.
    barred_at_award: str = ""


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class SubmitApplication:
    notice_id: str
    lot_id: str
    name: str
    contact: Mapping[str, Any]
    accept_terms: bool
    apply_from: int
    apply_until: int
    deposit_required: int
    prequalification: bool
    consortium_allowed: bool
    actor: str  # the account
    consortium: tuple[str, ...] = ()
    barred: bool = False


@dataclass(frozen=True)
class AttachDocument:
    name: str
    sha256: str
    size: int
    content_type: str
    actor: str


@dataclass(frozen=True)
class ReviewApplication:
    approve: bool
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class WithdrawApplication:
    actor: str
    reason: str


@dataclass(frozen=True)
class CountDeposit:
    """The deposit arrived: ``source`` ``bank`` (matched) or ``staff`` (by hand, with a
    reason), from the payer's ``account``."""

    amount: int
    source: str
    actor: str
    reason: str = ""
    account: str = ""


@dataclass(frozen=True)
class AdmitBidder:
    bidder_id: str
    bidder_no: str
    actor: str


@dataclass(frozen=True)
class ReviewWinner:
    """资格后审: the winner's review after the auction (``barred``: found on the list at
    the award)."""

    approve: bool
    actor: str
    reason: str = ""
    barred: bool = False


@dataclass(frozen=True)
class RecordBarredAtAward:
    """A step of the award (``step``: :data:`AWARD_STEPS`) refused because the admitted
    bidder (a winner) or a consortium member is on the barred list now (the edge looks
    the list up); recorded so that supervisors and reviewers see it."""

    step: str
    actor: str


#: The steps of an award at which the barred list is checked again.
AWARD_STEPS = ("result_notice", "confirmation", "payment")

ApplicationCommand = (SubmitApplication | AttachDocument | ReviewApplication
                      | WithdrawApplication | CountDeposit | AdmitBidder | ReviewWinner
                      | RecordBarredAtAward)


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationSubmitted(Event):
    notice_id: str
    lot_id: str
    name: str
    contact: Mapping[str, Any]
    consortium: list[str]
    prequalification: bool
    apply_until: int
    deposit_required: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentAttached(Event):
    name: str
    sha256: str
    size: int
    content_type: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationApproved(Event):
    reason: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationRejected(Event):
    reason: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationWithdrawn(Event):
    reason: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicantDepositCounted(Event):
    amount: int
    source: str
    reason: str = recorded_if_set("")
    account: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidderAdmitted(Event):
    bidder_id: str
    bidder_no: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class WinnerReviewed(Event):
    qualified: bool
    reason: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BarredAtAward(Event):
    step: str
    reason: str


def eligible(state: Application) -> bool:
    """Terms accepted, qualified where pre-qualification applies, deposit counted."""
    qualified = state.status == ("approved" if state.prequalification else "submitted")
    return state.terms_accepted and qualified and state.deposit is not None


class ApplicationDecider:
    kind = "application"

    def initial(self, aggregate_id: str) -> Application:
        return Application(aggregate_id)

    def decide(self, state: Application, command: ApplicationCommand,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, SubmitApplication):
            return self._submit(state, command, now)
        if state.status == "none":
            return Rejection("unknown_application", state.application_id)
        if isinstance(command, ReviewWinner):
            return self._review_winner(state, command, now)
        if isinstance(command, RecordBarredAtAward):
            if not state.bidder_id or command.step not in AWARD_STEPS:
                return Rejection("invalid_state", "only an admitted bidder's award step is "
                                                  "refused for the barred list")
            return [BarredAtAward(at=now, actor=command.actor, step=command.step,
                                  reason="the winner or a consortium member is on the "
                                         "barred parties list")]
        if state.status in ("rejected", "withdrawn"):
            return Rejection("invalid_state", f"the application is {state.status}")
        if isinstance(command, AttachDocument):
            if now >= state.apply_until:
                return Rejection("window_closed", "documents close with the window")
            if len(state.documents) >= MAX_DOCUMENTS:
                return Rejection("invalid_state", f"at most {MAX_DOCUMENTS} documents")
            return [DocumentAttached(at=now, actor=command.actor, name=command.name,
                                     sha256=command.sha256, size=command.size,
                                     content_type=command.content_type)]
        if isinstance(command, ReviewApplication):
            if not state.prequalification or state.status != "submitted":
                return Rejection("invalid_state", "only a submitted application under "
                                                  "pre-qualification is reviewed")
            if command.approve:
                return [ApplicationApproved(at=now, actor=command.actor,
                                            reason=command.reason)]
            if not command.reason.strip():
                return Rejection("reason_required", "a rejection says why")
            return [ApplicationRejected(at=now, actor=command.actor, reason=command.reason)]
        if isinstance(command, WithdrawApplication):
            if state.bidder_id:
                return Rejection("invalid_state", "the bidder is admitted to the lot")
            return [ApplicationWithdrawn(at=now, actor=command.actor, reason=command.reason)]
        if isinstance(command, CountDeposit):
            if state.deposit is not None:
                return Rejection("exists", "the deposit is counted already")
            if command.amount < state.deposit_required:
                return Rejection("deposit_too_low", "the deposit is short of the lot's")
            if command.source != "bank" and not command.reason.strip():
                return Rejection("reason_required", "a deposit confirmed by hand says why")
            return [ApplicantDepositCounted(at=now, actor=command.actor, amount=command.amount,
                                            source=command.source, reason=command.reason,
                                            account=command.account)]
        if state.bidder_id:
            return Rejection("already_registered", state.bidder_id)
        if not eligible(state):
            return Rejection("not_eligible_yet", _missing(state))
        return [BidderAdmitted(at=now, actor=command.actor, bidder_id=command.bidder_id,
                               bidder_no=command.bidder_no)]

    @staticmethod
    def _submit(state: Application, command: SubmitApplication,
                now: int) -> list[Event] | Rejection:
        if state.status != "none":
            return Rejection("exists", "this account has applied for this lot")
        if not command.apply_from <= now < command.apply_until:
            return Rejection("window_closed", "applications are taken during the window")
        if not command.accept_terms:
            return Rejection("terms_not_accepted", "accept_terms must be true")
        if command.barred:
            return Rejection("barred", "the applicant is on the barred parties list")
        if command.consortium and not command.consortium_allowed:
            return Rejection("consortium_not_allowed", "the notice takes no consortium")
        if len(command.consortium) > MAX_CONSORTIUM:
            return Rejection("invalid_params", f"at most {MAX_CONSORTIUM} consortium members")
        return [ApplicationSubmitted(
            at=now, actor=command.actor, notice_id=command.notice_id, lot_id=command.lot_id,
            name=command.name, contact=dict(command.contact),
            consortium=list(command.consortium), prequalification=command.prequalification,
            apply_until=command.apply_until, deposit_required=command.deposit_required)]

    @staticmethod
    def _review_winner(state: Application, command: ReviewWinner,
                       now: int) -> list[Event] | Rejection:
        if state.prequalification or not state.bidder_id or state.post_review:
            return Rejection("invalid_state", "only an admitted bidder without "
                                              "pre-qualification is reviewed once after")
        if command.barred and command.approve:
            return Rejection("barred", "the winner is on the barred parties list")
        if not command.approve and not command.reason.strip():
            return Rejection("reason_required", "a disqualification says why")
        return [WinnerReviewed(at=now, actor=command.actor, qualified=command.approve,
                               reason=command.reason)]

    def evolve(self, state: Application, event: Event) -> Application:
        if isinstance(event, ApplicationSubmitted):
            return replace(state, status="submitted", notice_id=event.notice_id,
                           lot_id=event.lot_id, account_id=event.actor, name=event.name,
                           contact=event.contact, consortium=tuple(event.consortium),
                           prequalification=event.prequalification, terms_accepted=True,
                           apply_until=event.apply_until,
                           deposit_required=event.deposit_required, submitted_at=event.at)
        if isinstance(event, DocumentAttached):
            document = Document(event.name, event.sha256, event.size, event.content_type,
                                event.at)
            return replace(state, documents=(*state.documents, document))
        if isinstance(event, ApplicationApproved):
            return replace(state, status="approved", reason=event.reason)
        if isinstance(event, ApplicationRejected):
            return replace(state, status="rejected", reason=event.reason)
        if isinstance(event, ApplicationWithdrawn):
            return replace(state, status="withdrawn", reason=event.reason)
        if isinstance(event, ApplicantDepositCounted):
            return replace(state, deposit=event.amount, deposit_source=event.source,
                           deposit_account=event.account)
        if isinstance(event, BidderAdmitted):
            return replace(state, bidder_id=event.bidder_id, bidder_no=event.bidder_no)
        if isinstance(event, BarredAtAward):
            return replace(state, barred_at_award=event.step)
        assert isinstance(event, WinnerReviewed)
        return replace(state, post_review="qualified" if event.qualified else "disqualified",
                       reason=event.reason)


def _missing(state: Application) -> str:
    """What an application still lacks to be eligible."""
    missing = []
    if state.prequalification and state.status != "approved":
        missing.append("qualification review")
    if state.deposit is None:
        missing.append("deposit")
    return ", ".join(missing)
