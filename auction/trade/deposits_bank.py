"""The bank ledger (银行到账台账): payment references, arrivals, matching, refunds.

Every deposit (保证金) and every payment of a price goes to a *payment reference*
(保证金子账号 / 缴款码) of its own, opened for one party of one lot with the payer name
expected, the amount and the deadline (:class:`OpenReference`). Money then arrives from the
bank, by a signed notification or a statement import (:class:`ReceiveTransfer`), and is
matched here, purely (:func:`match`):

* ``matched``: the reference is known, the money arrived (the bank's time of the
  transfer) by the deadline, in full and no more, from an account in the name the
  reference expects, and the reference has no matched arrival yet;
* otherwise flagged with its reason, the first that applies in this order:
  ``unknown_reference``, ``duplicate``, ``late``, ``foreign_payer``, ``short``, ``over``
  (or ``lot_ended`` when the service says the lot no longer takes deposits).

A flagged arrival is money the center holds and must pay back to the account it came from.
A matched deposit is paid back once its lot has ended, unless it is the winner's (applied to
the price when the price is paid) or forfeited (:class:`SettleTransfer`). Refunds are
exported to the bank in batches (:class:`ExportRefunds`) and confirmed one by one by the
bank (:class:`ConfirmRefund`); :func:`refunds` says which are payable, by when and whether
they are overdue, :func:`balances` what the center still holds per lot.

One ledger aggregate holds everything (kind :data:`KIND`, id :data:`LEDGER_ID`): a bank
notification names a reference, not a lot, so an arrival must be matched against every
reference at once. The same arrival twice (the bank's transaction id) changes nothing;
the same id with other content is refused (``conflict``).
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auction.messages import MESSAGES
from auction.model import Event, Rejection, recorded_if_set, register_event
from auction.workdays import WorkCalendar, china_date

KIND = "bank_ledger"
LEDGER_ID = "main"
BANK = "bank"

DEPOSIT, PAYMENT = "deposit", "payment"
PURPOSES = (DEPOSIT, PAYMENT)
#: The prefix of the references of each purpose (保证金 / 缴款).
PREFIXES = {DEPOSIT: "BZ", PAYMENT: "JK"}
#: A reference: its prefix, nine digits and a Luhn check digit (a mistyped digit matches
#: no other reference).
REFERENCE = re.compile(r"(BZ|JK)([0-9]{10})")

MATCHED = "matched"
UNKNOWN_REFERENCE, DUPLICATE, LATE = "unknown_reference", "duplicate", "late"
FOREIGN_PAYER, SHORT, OVER, LOT_ENDED = "foreign_payer", "short", "over", "lot_ended"
FLAGS = (UNKNOWN_REFERENCE, DUPLICATE, LATE, FOREIGN_PAYER, SHORT, OVER, LOT_ENDED)

#: What happens to an arrival after it came: ``held`` by the center, exported in a
#: refund batch, paid back (``refunded``), applied to the price, forfeited, or (a matched
#: payment of the price) ``paid`` to the seller.
HELD, EXPORTED, REFUNDED, APPLIED, FORFEITED, PAID = (
    "held", "exported", "refunded", "applied", "forfeited", "paid")
SOURCES = ("notification", "statement", "staff")
#: Why a deposit is held past its lot's refunds: the runner-up may yet be offered the lot.
RUNNER_UP_OFFER = "runner_up_offer"
MAX_TEXT = 200

MESSAGES.update({
    UNKNOWN_REFERENCE: ("附言中没有有效的缴款码（子账号）",
                        "The transfer names no known payment reference."),
    DUPLICATE: ("该缴款码已有一笔保证金到账，本笔将退回",
                "A deposit already arrived for this reference: this one is refunded."),
    LATE: ("到账时间晚于截止时间，将退回", "The money arrived after the deadline: refunded."),
    FOREIGN_PAYER: ("付款户名与申请人不一致（须由申请人本人账户缴纳），将退回",
                    "The payer is not the applicant (it must pay from its own account): "
                    "refunded."),
    SHORT: ("到账金额不足，将退回", "Less than the amount due arrived: refunded."),
    OVER: ("到账金额多于应缴金额，将退回", "More than the amount due arrived: refunded."),
    LOT_ENDED: ("标的已结束，不再接受保证金，将退回",
                "The lot has ended and takes no more deposits: refunded."),
    MATCHED: ("已到账并确认", "Arrived and confirmed."),
    "conflict": ("同一银行流水号的内容不一致", "The bank sent other content under the same "
                                              "transaction id."),
    "unknown_transfer": ("未找到该笔到账", "No such arrival."),
    "not_refundable": ("该笔款项不在可退状态", "This money is not to be refunded."),
    RUNNER_UP_OFFER: ("作为候补保留", "Held for the runner-up offer."),
})


# --------------------------------------------------------------------------- references


def check_digit(digits: str) -> str:
    """The Luhn check digit of ``digits`` (decimal digits)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def new_reference(purpose: str, digits: str) -> str:
    """The reference of ``purpose`` made of nine ``digits`` (chosen at random by the
    caller) and their check digit."""
    if purpose not in PREFIXES or not re.fullmatch(r"[0-9]{9}", digits):
        raise ValueError("a purpose and nine digits are needed")
    return PREFIXES[purpose] + digits + check_digit(digits)


def find_reference(text: str) -> str:
    """The first well-formed reference in ``text`` (a statement's 摘要/附言: the payer may
    write more than the code), or ``""``."""
    for found in REFERENCE.finditer(text.upper()):
        if check_digit(found.group(2)[:9]) == found.group(2)[9]:
            return found.group(0)
    return ""


def same_name(a: str, b: str) -> bool:
    """Whether two account names are the same name: compared after Unicode compatibility
    folding (full-width ``（）`` as ``()``, full-width letters and digits), without spaces,
    letters in one case."""
    return _folded(a) == _folded(b) and bool(_folded(a))


def _folded(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenReference:
    """Open ``reference`` for ``party_id`` of ``lot_id``: ``amount`` (minor units) from an
    account named ``payer_name`` by ``deadline`` (ms; None: no deadline of its own, the lot
    decides). A reference of the same purpose, lot and party open already: nothing new."""

    reference: str
    purpose: str
    lot_id: str
    party_id: str
    payer_name: str
    amount: int
    deadline: int | None
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveTransfer:
    """Money that arrived: ``value_at`` is the bank's time of the transfer (交易时间),
    ``text`` the reference as given or the statement's 摘要/附言. ``lot_open``: whether the
    reference's lot still takes deposits (the caller reads the lot)."""

    transaction_id: str
    text: str
    payer_account: str
    payer_name: str
    amount: int
    value_at: int
    source: str
    actor: str
    lot_open: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRefunds:
    """The arrivals paid back by one bank payment file ``batch_id`` (each in full, to the
    account it came from)."""

    batch_id: str
    transaction_ids: list[str]
    actor: str
    #: The SHA-256 of the payment file as answered (kept in the object store).
    file_sha256: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmRefund:
    """The bank confirms it paid back the arrival ``transaction_id`` (its own transaction
    ``bank_transaction_id``)."""

    transaction_id: str
    bank_transaction_id: str
    actor: str
    #: The SHA-256 of the bank's result file it came in (kept in the object store), when
    #: it came in one.
    file_sha256: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SettleTransfer:
    """A held matched arrival leaves the ledger other than by a refund: ``applied`` to the
    price, ``forfeited``, or ``paid`` to the seller (a payment of the price)."""

    transaction_id: str
    how: str
    reason: str
    actor: str


Command = OpenReference | ReceiveTransfer | ExportRefunds | ConfirmRefund | SettleTransfer


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BankReferenceOpened(Event):
    reference: str
    purpose: str
    lot_id: str
    party_id: str
    payer_name: str
    amount: int
    deadline: int | None


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BankTransferReceived(Event):
    """An arrival and how it was matched: ``outcome`` is ``matched`` or a flag."""

    transaction_id: str
    reference: str
    text: str
    payer_account: str
    payer_name: str
    amount: int
    value_at: int
    source: str
    outcome: str


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BankRefundsExported(Event):
    batch_id: str
    transaction_ids: list[str]
    total: int
    file_sha256: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BankRefundConfirmed(Event):
    transaction_id: str
    bank_transaction_id: str
    amount: int
    file_sha256: str = recorded_if_set("")


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BankTransferSettled(Event):
    transaction_id: str
    how: str
    reason: str
    amount: int


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class Reference:
    reference: str
    purpose: str
    lot_id: str
    party_id: str
    payer_name: str
    amount: int
    deadline: int | None
    opened_at: int


@dataclass(slots=True)
class Transfer:
    transaction_id: str
    reference: str
    text: str
    payer_account: str
    payer_name: str
    amount: int
    value_at: int
    received_at: int
    source: str
    outcome: str
    #: The lot and party of its reference ("" for an unknown reference).
    lot_id: str = ""
    party_id: str = ""
    purpose: str = ""
    status: str = HELD
    batch_id: str = ""
    bank_transaction_id: str = ""
    settled_at: int | None = None


@dataclass(slots=True)
class BankLedger:
    ledger_id: str
    references: dict[str, Reference] = field(default_factory=dict)
    #: (purpose, lot, party) -> its reference.
    by_party: dict[tuple[str, str, str], str] = field(default_factory=dict)
    #: Every arrival by the bank's transaction id, in the order received.
    transfers: dict[str, Transfer] = field(default_factory=dict)
    #: reference -> the transaction id of its matched arrival.
    matched: dict[str, str] = field(default_factory=dict)
    batches: dict[str, list[str]] = field(default_factory=dict)
    #: batch -> the SHA-256 of its payment file ("" when none was kept).
    batch_files: dict[str, str] = field(default_factory=dict)

    def reference_of(self, purpose: str, lot_id: str, party_id: str) -> Reference | None:
        ref = self.by_party.get((purpose, lot_id, party_id))
        return None if ref is None else self.references[ref]

    def arrivals(self, reference: str) -> list[Transfer]:
        return [t for t in self.transfers.values() if t.reference == reference]


# --------------------------------------------------------------------------- decider


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _sha256_ok(value: str) -> bool:
    """Empty (no file kept) or a SHA-256 in lower-case hex."""
    return not value or _SHA256.fullmatch(value) is not None


def _text_ok(*values: object, required: bool = True) -> bool:
    return all(isinstance(v, str) and len(v) <= MAX_TEXT and (v.strip() or not required)
               for v in values)


def _amount_ok(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**17


def match(ledger: BankLedger, cmd: ReceiveTransfer) -> tuple[str, str]:
    """``(reference, outcome)`` of an arrival: the reference it names (``""`` for none
    known) and ``matched`` or its flag (see the module's docstring)."""
    reference = ledger.references.get(find_reference(cmd.text))
    if reference is None:
        return "", UNKNOWN_REFERENCE
    ref = reference.reference
    if ref in ledger.matched:
        return ref, DUPLICATE
    if not cmd.lot_open and reference.purpose == DEPOSIT:
        return ref, LOT_ENDED
    if reference.deadline is not None and cmd.value_at > reference.deadline:
        return ref, LATE
    if not same_name(cmd.payer_name, reference.payer_name):
        return ref, FOREIGN_PAYER
    if cmd.amount < reference.amount:
        return ref, SHORT
    if cmd.amount > reference.amount:
        return ref, OVER
    return ref, MATCHED


def _open(ledger: BankLedger, cmd: OpenReference, now: int) -> list[Event] | Rejection:
    if cmd.purpose not in PURPOSES or not _text_ok(cmd.lot_id, cmd.party_id, cmd.payer_name):
        return Rejection("invalid_params", "purpose, lot, party and payer name are needed")
    if not _amount_ok(cmd.amount):
        return Rejection("invalid_amount", "the amount must be whole minor units above zero")
    if ledger.by_party.get((cmd.purpose, cmd.lot_id, cmd.party_id)) is not None:
        return []
    found = REFERENCE.fullmatch(cmd.reference)
    if (found is None or PREFIXES[cmd.purpose] != found.group(1)
            or find_reference(cmd.reference) != cmd.reference):
        return Rejection("invalid_params", "not a reference of this purpose")
    if cmd.reference in ledger.references:
        return Rejection("exists", "the reference is taken")
    return [BankReferenceOpened(
        at=now, actor=cmd.actor, reference=cmd.reference, purpose=cmd.purpose,
        lot_id=cmd.lot_id, party_id=cmd.party_id, payer_name=cmd.payer_name,
        amount=cmd.amount, deadline=cmd.deadline)]


def _receive(ledger: BankLedger, cmd: ReceiveTransfer, now: int) -> list[Event] | Rejection:
    if (not _text_ok(cmd.transaction_id, cmd.payer_account, cmd.payer_name)
            or not _text_ok(cmd.text, required=False) or cmd.source not in SOURCES
            or isinstance(cmd.value_at, bool) or not isinstance(cmd.value_at, int)):
        return Rejection("invalid_params", "transaction id, payer account and name, time "
                                           "and source are needed")
    if not _amount_ok(cmd.amount):
        return Rejection("invalid_amount", "the amount must be whole minor units above zero")
    known = ledger.transfers.get(cmd.transaction_id)
    if known is not None:
        same = (known.text, known.payer_account, known.payer_name, known.amount,
                known.value_at) == (cmd.text, cmd.payer_account, cmd.payer_name, cmd.amount,
                                    cmd.value_at)
        return [] if same else Rejection("conflict", f"transaction {cmd.transaction_id} "
                                                     "was received with other content")
    reference, outcome = match(ledger, cmd)
    return [BankTransferReceived(
        at=now, actor=cmd.actor, transaction_id=cmd.transaction_id, reference=reference,
        text=cmd.text, payer_account=cmd.payer_account, payer_name=cmd.payer_name,
        amount=cmd.amount, value_at=cmd.value_at, source=cmd.source, outcome=outcome)]


def _export(ledger: BankLedger, cmd: ExportRefunds, now: int) -> list[Event] | Rejection:
    if not _text_ok(cmd.batch_id) or not cmd.transaction_ids:
        return Rejection("invalid_params", "a batch id and at least one arrival are needed")
    if not _sha256_ok(cmd.file_sha256):
        return Rejection("invalid_params", "file_sha256: a SHA-256 in lower-case hex")
    if cmd.batch_id in ledger.batches:
        return Rejection("exists", f"batch {cmd.batch_id} was exported")
    if len(set(cmd.transaction_ids)) != len(cmd.transaction_ids):
        return Rejection("invalid_params", "an arrival twice in one batch")
    total = 0
    for txn in cmd.transaction_ids:
        transfer = ledger.transfers.get(txn)
        if transfer is None:
            return Rejection("unknown_transfer", txn)
        if transfer.status != HELD:
            return Rejection("not_refundable", f"{txn} is {transfer.status}")
        total += transfer.amount
    return [BankRefundsExported(at=now, actor=cmd.actor, batch_id=cmd.batch_id,
                                transaction_ids=list(cmd.transaction_ids), total=total,
                                file_sha256=cmd.file_sha256)]


def _confirm(ledger: BankLedger, cmd: ConfirmRefund, now: int) -> list[Event] | Rejection:
    if not _text_ok(cmd.transaction_id, cmd.bank_transaction_id):
        return Rejection("invalid_params", "the arrival and the bank's transaction id are "
                                           "needed")
    if not _sha256_ok(cmd.file_sha256):
        return Rejection("invalid_params", "file_sha256: a SHA-256 in lower-case hex")
    transfer = ledger.transfers.get(cmd.transaction_id)
    if transfer is None:
        return Rejection("unknown_transfer", cmd.transaction_id)
    if transfer.status == REFUNDED and transfer.bank_transaction_id == cmd.bank_transaction_id:
        return []
    if transfer.status != EXPORTED:
        return Rejection("not_refundable", f"{cmd.transaction_id} is {transfer.status}")
    return [BankRefundConfirmed(at=now, actor=cmd.actor, transaction_id=cmd.transaction_id,
                                bank_transaction_id=cmd.bank_transaction_id,
                                amount=transfer.amount, file_sha256=cmd.file_sha256)]


def _settle(ledger: BankLedger, cmd: SettleTransfer, now: int) -> list[Event] | Rejection:
    if cmd.how not in (APPLIED, FORFEITED, PAID) or not _text_ok(cmd.reason):
        return Rejection("invalid_params", "applied, forfeited or paid, with a reason")
    transfer = ledger.transfers.get(cmd.transaction_id)
    if transfer is None:
        return Rejection("unknown_transfer", cmd.transaction_id)
    if transfer.status == cmd.how:
        return []
    if transfer.status != HELD or transfer.outcome != MATCHED:
        return Rejection("not_refundable", f"{cmd.transaction_id} is {transfer.status} "
                                           f"({transfer.outcome})")
    return [BankTransferSettled(at=now, actor=cmd.actor, transaction_id=cmd.transaction_id,
                                how=cmd.how, reason=cmd.reason, amount=transfer.amount)]


class BankLedgerDecider:
    """The decider of the bank ledger (:mod:`auction.aggregate`)."""

    kind = KIND

    def initial(self, aggregate_id: str) -> BankLedger:
        return BankLedger(aggregate_id)

    def decide(self, state: BankLedger, command: Command, now: int) -> list[Event] | Rejection:
        if isinstance(command, OpenReference):
            return _open(state, command, now)
        if isinstance(command, ReceiveTransfer):
            return _receive(state, command, now)
        if isinstance(command, ExportRefunds):
            return _export(state, command, now)
        if isinstance(command, ConfirmRefund):
            return _confirm(state, command, now)
        return _settle(state, command, now)

    def evolve(self, state: BankLedger, event: Event) -> BankLedger:
        if isinstance(event, BankReferenceOpened):
            ref = Reference(event.reference, event.purpose, event.lot_id, event.party_id,
                            event.payer_name, event.amount, event.deadline, event.at)
            state.references[ref.reference] = ref
            state.by_party[(ref.purpose, ref.lot_id, ref.party_id)] = ref.reference
        elif isinstance(event, BankTransferReceived):
            ref_of = state.references.get(event.reference)
            transfer = Transfer(
                event.transaction_id, event.reference, event.text, event.payer_account,
                event.payer_name, event.amount, event.value_at, event.at, event.source,
                event.outcome, ref_of.lot_id if ref_of else "",
                ref_of.party_id if ref_of else "", ref_of.purpose if ref_of else "")
            state.transfers[transfer.transaction_id] = transfer
            if event.outcome == MATCHED:
                state.matched[event.reference] = event.transaction_id
        elif isinstance(event, BankRefundsExported):
            state.batches[event.batch_id] = list(event.transaction_ids)
            state.batch_files[event.batch_id] = event.file_sha256
            for txn in event.transaction_ids:
                state.transfers[txn].status = EXPORTED
                state.transfers[txn].batch_id = event.batch_id
        elif isinstance(event, BankRefundConfirmed):
            transfer = state.transfers[event.transaction_id]
            transfer.status, transfer.settled_at = REFUNDED, event.at
            transfer.bank_transaction_id = event.bank_transaction_id
        else:
            assert isinstance(event, BankTransferSettled)
            transfer = state.transfers[event.transaction_id]
            transfer.status, transfer.settled_at = event.how, event.at
        return state


DECIDER = BankLedgerDecider()


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class LotEnd:
    """What the refunds need to know of a lot: when its result notice (结果公示) ends
    (None: the lot has not ended), its winner, the parties whose deposit the lot
    forfeited, whether its award is suspended (an objection upheld: every deposit of the
    lot is held until the award is reinstated or annulled) and when the award last changed
    (reinstated or annulled: the deposits fall due counted from the later of the two);
    ``winners``: every winner of a multi-unit lot (each keeps its deposit, as ``winner``)."""

    notice_ends_at: int | None
    winner: str | None = None
    forfeited: frozenset[str] = frozenset()
    award_suspended: bool = False
    award_changed_at: int | None = None
    #: The party whose deposit is held for the runner-up offer (the lot's rule may offer
    #: it the lot should the winner default: :func:`auction.default.runner_up_hold`), and
    #: when that hold ended (None: it holds still).
    runner_up: str | None = None
    runner_up_until: int | None = None
    winners: frozenset[str] = frozenset()

    def refunds_from(self) -> int | None:
        """The instant after which the lot's deposits are payable (None: not yet known)."""
        if self.notice_ends_at is None or self.award_suspended:
            return None
        return max(self.notice_ends_at, self.award_changed_at or self.notice_ends_at)

    def refund_from(self, party_id: str) -> int | None:
        """The instant after which ``party_id``'s deposit is payable: the lot's (see
        :meth:`refunds_from`), for the runner-up held for its offer the later of that and
        the end of the hold (None: not yet known)."""
        start = self.refunds_from()
        if party_id != self.runner_up or start is None:
            return start
        return None if self.runner_up_until is None else max(start, self.runner_up_until)

    def held_for_runner_up(self, party_id: str) -> bool:
        """Whether ``party_id``'s deposit is held for the runner-up offer now."""
        return party_id == self.runner_up and self.runner_up_until is None


@dataclass(frozen=True, slots=True)
class Refund:
    """An arrival to be paid back: payable from ``payable_on`` (a date in China), due by
    ``due_on``; ``status`` is ``due`` (payable, not exported), ``exported``, ``refunded``,
    and ``overdue`` is whether it was not refunded by ``due_on``."""

    transfer: Transfer
    payable_on: dt.date
    due_on: dt.date
    status: str
    overdue: bool


def refunds(ledger: BankLedger, ends: Mapping[str, LotEnd], calendar: WorkCalendar,
            days: int, now: int) -> list[Refund]:
    """Every arrival to be paid back that is payable by now, oldest due first. A flagged
    arrival is payable when it came; a matched deposit once its lot's result notice has
    ended (:meth:`LotEnd.refund_from`: not while the award is suspended, not before the
    award was reinstated or annulled, and the runner-up's not while it is held for the
    runner-up offer), unless it is the winner's or forfeited. Each is due by the
    ``days``-th working day after the day (in China) it became payable (``payable_on``:
    the day it came, the last day of the result notice, the day the award changed, or
    the day the hold for the runner-up offer ended)."""
    today = china_date(now)
    out = []
    for transfer in ledger.transfers.values():
        if transfer.status not in (HELD, EXPORTED, REFUNDED):
            continue
        if transfer.outcome == MATCHED:
            end = ends.get(transfer.lot_id)
            start = end.refund_from(transfer.party_id) if end is not None else None
            if (transfer.purpose != DEPOSIT or end is None or start is None or now <= start
                    or transfer.party_id == end.winner or transfer.party_id in end.forfeited
                    or transfer.party_id in end.winners):
                continue
            payable = china_date(start)
        else:
            payable = china_date(transfer.received_at)
        due = calendar.add(payable, days, "working")
        done = (china_date(transfer.settled_at) if transfer.settled_at is not None
                else today)
        status = {HELD: "due"}.get(transfer.status, transfer.status)
        overdue = done > due if transfer.status == REFUNDED else today > due
        out.append(Refund(transfer, payable, due, status, overdue))
    out.sort(key=lambda r: (r.due_on, r.transfer.received_at))
    return out


def held_for_runner_up(ledger: BankLedger, ends: Mapping[str, LotEnd]) -> list[Transfer]:
    """The matched deposits the center holds for a runner-up offer (not due for refund:
    :meth:`LotEnd.held_for_runner_up`), in the order they came."""
    return [t for t in ledger.transfers.values()
            if t.outcome == MATCHED and t.purpose == DEPOSIT and t.status == HELD
            and (end := ends.get(t.lot_id)) is not None
            and end.held_for_runner_up(t.party_id)]


def balances(ledger: BankLedger) -> dict[str, int]:
    """Per lot, the money the center still holds of the arrivals for it (deposits, flagged
    arrivals and unsettled payments): zero once every one was refunded, applied,
    forfeited or paid on. Arrivals for no known reference are under ``""``."""
    out: dict[str, int] = {}
    for transfer in ledger.transfers.values():
        held = transfer.status in (HELD, EXPORTED)
        out[transfer.lot_id] = out.get(transfer.lot_id, 0) + (transfer.amount if held else 0)
    return out


def payment_status(ledger: BankLedger, lot_id: str, party_id: str, now: int) -> str:
    """The payment of the price by ``party_id`` for ``lot_id``: ``none`` (no payment
    notice), ``awaiting``, ``paid`` or ``overdue`` (the deadline passed unpaid: the state
    the handling of a default starts from)."""
    ref = ledger.reference_of(PAYMENT, lot_id, party_id)
    if ref is None:
        return "none"
    if ref.reference in ledger.matched:
        return "paid"
    if ref.deadline is not None and now > ref.deadline:
        return "overdue"
    return "awaiting"


def shared_payers(ledger: BankLedger) -> list[dict[str, Any]]:
    """Payer accounts that paid for two or more parties (of any lots): evidence of
    collusion (招标投标法实施条例 第四十条), matched or flagged alike."""
    parties: dict[str, set[tuple[str, str]]] = {}
    for transfer in ledger.transfers.values():
        if transfer.party_id:
            parties.setdefault(transfer.payer_account, set()).add(
                (transfer.lot_id, transfer.party_id))
    return [{"payer_account": account,
             "parties": [{"lot_id": lot, "party_id": party} for lot, party in sorted(found)]}
            for account, found in sorted(parties.items())
            if len({party for _, party in found}) > 1]
