"""The transaction confirmation (成交确认书) of an awarded lot: an aggregate of kind
``confirmation`` whose id is the lot's id; a multi-unit lot (:mod:`auction.units`) has one
per winner, whose id is the lot's id and the winner's number (:func:`confirmation_id`).

The center issues the document once per winner (its SHA-256, the price, the deposit, the record's
head it was made from and the signing window's end are recorded); the winner signs it
within the window, naming the very document it signs by its hash, so a document changed
after issue cannot be signed. When a runner-up is awarded after the winner's default, its
confirmation is issued in turn and supersedes the first. Pure: the engine makes and stores the PDF
(:mod:`web.confirmation`) and passes in what the record must hold.
"""

from dataclasses import dataclass, replace

from auction.messages import MESSAGES
from auction.model import Event, Rejection, register_event

KIND = "confirmation"

MESSAGES.update({
    "already_issued": ("成交确认书已签发", "The confirmation has been issued already."),
    "not_issued": ("成交确认书尚未签发", "No confirmation has been issued for this lot."),
    "not_winner": ("仅成交人可签署成交确认书", "Only the winner signs the confirmation."),
    "already_signed": ("成交确认书已签署", "The confirmation is signed already."),
    "window_closed": ("签署期限已过", "The signing window has closed."),
    "document_changed": ("文件与签发的成交确认书不一致",
                         "This is not the confirmation document that was issued."),
})
_SHA256_HEX = frozenset("0123456789abcdef")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmationIssued(Event):
    """The center issued the confirmation of lot ``lot_id`` to the winner."""

    lot_id: str
    bidder_id: str
    bidder_no: str
    amount: int
    deposit: int
    currency: str
    head_seq: int
    head_hash: str
    document_sha256: str
    sign_by: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmationSigned(Event):
    """The winner signed (accepted) the document whose SHA-256 is ``document_sha256``."""

    bidder_id: str
    document_sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueConfirmation:
    lot_id: str
    bidder_id: str
    bidder_no: str
    amount: int
    deposit: int
    currency: str
    head_seq: int
    head_hash: str
    document_sha256: str
    sign_by: int
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignConfirmation:
    bidder_id: str
    document_sha256: str
    actor: str


@dataclass(frozen=True)
class Confirmation:
    """The confirmation of one lot: ``issued`` None until the center issued it."""

    lot_id: str
    issued: ConfirmationIssued | None = None
    signed: ConfirmationSigned | None = None

    @property
    def status(self) -> str:
        """``none``, ``issued`` (awaiting the winner's signature) or ``signed``."""
        return "signed" if self.signed else "issued" if self.issued else "none"


def confirmation_id(lot_id: str, bidder_no: str, multi_unit: bool) -> str:
    """The id of the confirmation of ``bidder_no``'s award in lot ``lot_id``: the lot's id,
    or ``{lot_id}-{bidder_no}`` for each winner of a multi-unit lot."""
    return f"{lot_id}-{bidder_no}" if multi_unit else lot_id


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and set(text) <= _SHA256_HEX


class ConfirmationDecider:
    kind = KIND

    def initial(self, aggregate_id: str) -> Confirmation:
        return Confirmation(aggregate_id)

    def decide(self, state: Confirmation, command: IssueConfirmation | SignConfirmation,
               now: int) -> list[Event] | Rejection:
        if isinstance(command, IssueConfirmation):
            # Issued once per winner: a runner-up awarded after a default gets its own,
            # which supersedes the first (signed or not).
            if state.issued is not None and state.issued.bidder_id == command.bidder_id:
                return Rejection("already_issued", "the confirmation is issued already")
            if state.lot_id not in (command.lot_id, confirmation_id(
                    command.lot_id, command.bidder_no, True)):
                return Rejection("invalid_input", "the confirmation's id is its lot's id "
                                                  "(and, in a multi-unit lot, the winner's "
                                                  "number)")
            if not _is_sha256(command.document_sha256) or command.sign_by <= now:
                return Rejection("invalid_input", "a document hash (SHA-256, hex) and a "
                                                  "signing window ending in the future")
            return [ConfirmationIssued(
                at=now, actor=command.actor, lot_id=command.lot_id,
                bidder_id=command.bidder_id, bidder_no=command.bidder_no,
                amount=command.amount, deposit=command.deposit, currency=command.currency,
                head_seq=command.head_seq, head_hash=command.head_hash,
                document_sha256=command.document_sha256, sign_by=command.sign_by)]
        issued = state.issued
        if issued is None:
            return Rejection("not_issued", "no confirmation has been issued for this lot")
        if command.bidder_id != issued.bidder_id:
            return Rejection("not_winner", "only the winner signs the confirmation")
        if state.signed is not None:
            return Rejection("already_signed", "the confirmation is signed already")
        if now > issued.sign_by:
            return Rejection("window_closed", "the signing window has closed")
        if command.document_sha256 != issued.document_sha256:
            return Rejection("document_changed", "this is not the document issued")
        return [ConfirmationSigned(at=now, actor=command.actor, bidder_id=command.bidder_id,
                                   document_sha256=command.document_sha256)]

    def evolve(self, state: Confirmation, event: Event) -> Confirmation:
        if isinstance(event, ConfirmationIssued):
            return replace(state, issued=event, signed=None)
        assert isinstance(event, ConfirmationSigned)
        return replace(state, signed=event)


CONFIRMATIONS = ConfirmationDecider()
