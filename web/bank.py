"""Deposits and payments through the bank (docs/bank.md): the service between the bank
ledger (:mod:`auction.trade.deposits_bank`, an aggregate) and the lots, and its HTTP routes.

:class:`BankService` opens payment references (:meth:`BankService.open_deposit`, called
when a host registers a bidder; :meth:`BankService.open_payment`, the payment notice to a
winner), takes arrivals (:meth:`BankService.receive`: a signed bank notification or a row
of an imported statement), and carries each outcome to the lot through its existing
commands, actor ``bank``: a matched deposit confirms the bidder's deposit
(``ConfirmDeposit``), a matched payment applies the winner's deposit to the price
(``ApplyDeposit``), a refund the bank confirmed settles the deposit (``RefundDeposit``).
Listeners of :attr:`BankService.listeners` hear of every deposit matched or flagged (the
hook the eligibility of applications listens to).

The ledger is written first, the lot second: should the process stop between the two,
:meth:`BankService.reconcile` (run before every report and every refund export) carries
what the ledger holds to the lots again; each step looks at the lot first, so none is
done twice.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from auction.default import SUSPENDED, AwardChanged, runner_up_hold
from auction.deposits import CONFIRMED, REFUNDABLE, SETTLING, deposit_status, is_winner
from auction.errors import InvalidAmount
from auction.messages import message
from auction.model import ApplyDeposit, ConfirmDeposit, RefundDeposit, Rejection
from auction.money import format_amount, parse_amount
from auction.state import ENDED
from auction.trade import deposits_bank as bank
from auction.trade.deposits_bank import (
    BANK,
    DECIDER,
    DEPOSIT,
    LEDGER_ID,
    MATCHED,
    PAYMENT,
    BankLedger,
    LotEnd,
    Reference,
    Transfer,
)
from auction.units import awards_of
from auction.workdays import CHINA, WorkCalendar, china_date, china_midnight_ms
from engine.aggregates import Refused
from engine.api import Engine
from engine.eventlog import LogUnavailable
from web.api import (
    bearer,
    bidder_claims,
    json_response,
    lot_of,
    read_body,
    read_raw,
    require_host,
    require_staff,
)
from web.auth import looks_like_bidder_token
from web.barred import refuse_barred_winners
from web.config import Settings
from web.errors import WebError
from web.keys import BANK as BANK_KEY
from web.objects import OBJECTS_DIR, FileObjectStore, ObjectStore
from web.publicity import result_notice_ends
from web.schemas import BankNotification, RefundConfirmations, StatementImport, decode_body
from web.workdays import center_calendar

log = logging.getLogger(__name__)

#: The headers of a signed notification (docs/bank.md).
TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Bank-Timestamp", "X-Bank-Signature"
#: The currency of the bank's amounts (a deposit or price in another one is not paid
#: through this path).
DECIMALS = 2


@dataclass(frozen=True, slots=True)
class Arrival:
    """Money the bank says arrived (a notification or a statement row)."""

    transaction_id: str
    text: str
    payer_account: str
    payer_name: str
    amount: int
    value_at: int


@dataclass(frozen=True, slots=True)
class DepositOutcome:
    """What the hook "deposit matched / flagged" tells its listeners: an arrival for a
    party's reference, matched or flagged (``outcome``), of a deposit or of a payment of
    the price (``purpose``); or a refund the bank confirmed (``purpose`` ``refund``,
    ``outcome`` ``refunded``): the milestones webhooks announce."""

    lot_id: str
    party_id: str
    reference: str
    transaction_id: str
    outcome: str
    purpose: str = DEPOSIT
    #: The arrival's amount (minor units) and the account it came from.
    amount: int = 0
    payer_account: str = ""


Listener = Callable[[DepositOutcome], Awaitable[None]]


async def lot_end(engine: Engine, settings: Settings, lot_id: str) -> LotEnd:
    """What the refunds need to know of a lot (an unknown lot, or one not ended: not
    ended): when its result notice ends (:func:`web.publicity.result_notice_ends`), its
    winner, the deposits it forfeited, whether its award is suspended, when the award
    was last reinstated or annulled, and the runner-up whose deposit is held for its
    offer (docs/bank.md "Refunds")."""
    state = await engine.find(lot_id)
    if state is None or state.status not in SETTLING or state.outcome is None:
        return LotEnd(None)
    records = await engine.record(lot_id)
    # the winner of a forward lot keeps its deposit until it is applied to the price; in
    # a reverse lot (procurement: the winner is paid) it is refunded with the others
    forward = state.params.direction == "forward"
    winner = state.outcome.bidder_id if forward else None
    forfeited = frozenset(b.bidder_id for b in state.bidders.values()
                          if b.settled == "forfeited")
    changed = [r.event.at for r in records
               if isinstance(r.event, AwardChanged) and r.event.effect != SUSPENDED]
    runner_up, until = runner_up_hold(state, [r.event for r in records])
    winners = frozenset(a.bidder_id for a in state.outcome.awards) if forward else frozenset()
    return LotEnd(await result_notice_ends(engine, settings, lot_id, records), winner,
                  forfeited, state.award_suspended, changed[-1] if changed else None,
                  runner_up, until, winners=winners)


def end_of_day_ms(day: dt.date) -> int:
    """The last millisecond of ``day`` in China."""
    return china_midnight_ms(day + dt.timedelta(days=1)) - 1


class BankService:
    """The bank path of one server (see the module's docstring)."""

    def __init__(self, engine: Engine, settings: Settings,
                 calendar: WorkCalendar | None = None, store: ObjectStore | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.calendar = calendar or center_calendar(settings)
        #: Where the refund files go (the payment files exported, the bank's result files
        #: imported): content-addressed, their hashes in the ledger's record.
        self.store = store or FileObjectStore(settings.data_dir / OBJECTS_DIR)
        #: Called after each deposit arrival was matched or flagged.
        self.listeners: list[Listener] = []

    async def ledger(self) -> BankLedger:
        try:
            state: BankLedger = await self.engine.aggregates.state(DECIDER, LEDGER_ID)
        except LogUnavailable as exc:
            raise WebError(503, "unavailable", str(exc)) from None
        return state

    async def _execute(self, command: object) -> None:
        try:
            await self.engine.aggregates.execute(DECIDER, LEDGER_ID, command)
        except LogUnavailable as exc:
            raise WebError(503, "unavailable", str(exc)) from None
        except Refused as exc:
            code = exc.rejection.code
            status = 400 if code in ("invalid_params", "invalid_amount") else 409
            raise WebError(status, code, exc.rejection.detail) from None

    async def _open(self, purpose: str, lot_id: str, party_id: str, payer_name: str,
                    amount: int, deadline: int | None) -> Reference:
        for _ in range(5):
            ref = bank.new_reference(purpose, f"{secrets.randbelow(10**9):09d}")
            try:
                await self._execute(bank.OpenReference(
                    reference=ref, purpose=purpose, lot_id=lot_id, party_id=party_id,
                    payer_name=payer_name, amount=amount, deadline=deadline, actor=BANK))
            except WebError as exc:
                if exc.code == "exists":
                    continue  # a random reference taken: draw another
                raise
            break
        found = (await self.ledger()).reference_of(purpose, lot_id, party_id)
        assert found is not None
        return found

    async def open_deposit(self, lot_id: str, applicant_ref: str, payer_name: str,
                           amount_minor: int, deadline_ms: int | None) -> str:
        """The deposit reference (保证金子账号) of ``applicant_ref`` in ``lot_id``, opened
        when it has none: ``amount_minor`` expected from an account named ``payer_name`` by
        ``deadline_ms`` (None: while the lot takes deposits)."""
        ref = await self._open(DEPOSIT, lot_id, applicant_ref, payer_name, amount_minor,
                               deadline_ms)
        return ref.reference

    async def has_deposit_reference(self, lot_id: str, party_id: str) -> bool:
        """Whether the party's deposit is paid through the bank (bank notifications are
        configured and the party has a reference): then a host confirming it by hand
        overrides the bank and must say why."""
        if self.settings.bank_secret is None:
            return False
        return (await self.ledger()).reference_of(DEPOSIT, lot_id, party_id) is not None

    async def open_payment(self, lot_id: str, bidder_no: str | None = None,
                           barred_check: Callable[[str], Awaitable[None]] | None = None
                           ) -> Reference:
        """The payment notice of the lot's winner (in a multi-unit lot, of ``bidder_no``'s
        award; None: the first winner's): the price of its units less its deposit, due by
        the end of the ``payment_days``-th working day from today (in China).
        ``barred_check`` (the winner's bidder id) raises to refuse a winner on the barred
        list (:func:`web.barred.refuse_barred_winners`)."""
        state = await self.engine.find(lot_id)
        if state is None:
            raise WebError(404, "unknown_lot", f"no lot {lot_id!r}")
        awards = awards_of(state)
        if not awards:
            raise WebError(409, "invalid_state", "only an awarded lot has a price to pay")
        if state.params.direction != "forward":
            raise WebError(409, "invalid_state", "in a reverse lot the winner is paid: it "
                                                 "pays no price")
        award = next((a for a in awards if bidder_no in (None, a.bidder_no)), None)
        if award is None:
            raise WebError(409, "invalid_state", f"bidder No. {bidder_no} won no unit")
        winner = state.bidders[award.bidder_id]
        amount = award.amount * award.units - (winner.deposit or 0)
        if amount <= 0:
            raise WebError(409, "invalid_state", "the deposit covers the price")
        if barred_check is not None:
            await barred_check(winner.bidder_id)
        due = self.calendar.add(china_date(self.engine.now()), self.settings.payment_days,
                                "working")
        return await self._open(PAYMENT, lot_id, winner.bidder_id, winner.name, amount,
                                end_of_day_ms(due))

    async def receive(self, arrival: Arrival, source: str,
                      actor: str = BANK) -> tuple[Transfer, bool]:
        """Match ``arrival`` into the ledger and carry the outcome to its lot; the arrival
        as recorded and whether it is new (False: the same arrival was received before
        and nothing changed)."""
        ledger = await self.ledger()
        ref = ledger.references.get(bank.find_reference(arrival.text))
        state = await self.engine.find(ref.lot_id) if ref is not None else None
        lot_open = state is None or state.status not in ENDED
        known = arrival.transaction_id in ledger.transfers
        await self._execute(bank.ReceiveTransfer(
            transaction_id=arrival.transaction_id, text=arrival.text,
            payer_account=arrival.payer_account, payer_name=arrival.payer_name,
            amount=arrival.amount, value_at=arrival.value_at, source=source, actor=actor,
            lot_open=lot_open))
        ledger = await self.ledger()
        transfer = ledger.transfers[arrival.transaction_id]
        if not known:
            await self._carry(ledger, transfer)
            if transfer.party_id:
                await self._tell(DepositOutcome(
                    transfer.lot_id, transfer.party_id, transfer.reference,
                    transfer.transaction_id, transfer.outcome, transfer.purpose,
                    transfer.amount, transfer.payer_account))
        return transfer, not known

    async def _tell(self, outcome: DepositOutcome) -> None:
        for listener in self.listeners:
            await listener(outcome)

    async def payment_status(self, lot_id: str, party_id: str) -> str:
        """``none``, ``awaiting``, ``paid`` or ``overdue``: the payment of the price by
        ``party_id`` (the state the handling of a default starts from)."""
        return bank.payment_status(await self.ledger(), lot_id, party_id, self.engine.now())

    async def _lot_command(self, lot_id: str, command: Any) -> None:
        result = await self.engine.execute(lot_id, command)
        if isinstance(result, Rejection):
            log.warning("bank: %s on lot %s refused: %s %s", type(command).__name__, lot_id,
                        result.code, result.detail)

    async def _carry(self, ledger: BankLedger, transfer: Transfer) -> None:
        """Carry a matched arrival to its lot, unless the lot has it already."""
        if transfer.outcome != MATCHED:
            return
        state = await self.engine.find(transfer.lot_id)
        bidder = state.bidders.get(transfer.party_id) if state is not None else None
        if state is None or bidder is None:
            return
        if transfer.purpose == DEPOSIT:
            if bidder.deposit is None and state.status not in ENDED:
                await self._lot_command(state.lot_id, ConfirmDeposit(
                    bidder_id=bidder.bidder_id, amount=transfer.amount,
                    account=transfer.payer_account, actor=BANK,
                    reason=f"bank transfer {transfer.transaction_id} to "
                           f"{transfer.reference}"))
            return
        # the price paid: the winner's deposit goes to it, the payment on to the seller
        reason = f"price paid by bank transfer {transfer.transaction_id}"
        if transfer.status == bank.HELD:
            await self._execute(bank.SettleTransfer(
                transaction_id=transfer.transaction_id, how=bank.PAID, reason=reason,
                actor=BANK))
        deposit = ledger.reference_of(DEPOSIT, state.lot_id, bidder.bidder_id)
        deposit_txn = ledger.matched.get(deposit.reference) if deposit is not None else None
        if deposit_txn is not None and ledger.transfers[deposit_txn].status == bank.HELD:
            await self._execute(bank.SettleTransfer(
                transaction_id=deposit_txn, how=bank.APPLIED, reason=reason, actor=BANK))
        if is_winner(state, bidder) and bidder.settled is None and bidder.deposit:
            await self._lot_command(state.lot_id, ApplyDeposit(
                bidder_id=bidder.bidder_id, actor=BANK, reason=reason))

    async def _carry_refund(self, transfer: Transfer) -> None:
        state = await self.engine.find(transfer.lot_id)
        bidder = state.bidders.get(transfer.party_id) if state is not None else None
        status = deposit_status(state, bidder) if state is not None and bidder else ""
        if (state is None or bidder is None or transfer.outcome != MATCHED
                or not (status == REFUNDABLE
                        or (status == CONFIRMED and is_winner(state, bidder)))):
            return
        await self._lot_command(state.lot_id, RefundDeposit(
            bidder_id=bidder.bidder_id, actor=BANK,
            reason=f"refunded by the bank: {transfer.bank_transaction_id}"))

    async def reconcile(self) -> BankLedger:
        """Carry to the lots whatever the ledger holds that they lack (after a stop
        between the ledger's write and the lot's); the ledger."""
        ledger = await self.ledger()
        for transfer in list(ledger.transfers.values()):
            if transfer.outcome == MATCHED and transfer.status in (bank.HELD, bank.PAID):
                await self._carry(ledger, transfer)
                await self._settled_on_lot(transfer)
            elif transfer.status == bank.REFUNDED:
                await self._carry_refund(transfer)
        return await self.ledger()

    async def _settled_on_lot(self, transfer: Transfer) -> None:
        """A held deposit the lot settled otherwise (forfeited on a default, applied by a
        host) leaves the ledger the same way, so that the lot reaches zero."""
        state = await self.engine.find(transfer.lot_id)
        bidder = state.bidders.get(transfer.party_id) if state is not None else None
        if (transfer.purpose == DEPOSIT and transfer.status == bank.HELD
                and bidder is not None and bidder.settled in (bank.FORFEITED, bank.APPLIED)):
            await self._execute(bank.SettleTransfer(
                transaction_id=transfer.transaction_id, how=bidder.settled,
                reason=f"{bidder.settled} on lot {transfer.lot_id}", actor=BANK))

    async def ends(self, ledger: BankLedger) -> dict[str, LotEnd]:
        lots = {t.lot_id for t in ledger.transfers.values() if t.lot_id}
        return {lot_id: await lot_end(self.engine, self.settings, lot_id) for lot_id in lots}

    async def refunds(self) -> list[bank.Refund]:
        return (await self.refunds_and_ends())[0]

    async def refunds_and_ends(self) -> tuple[list[bank.Refund], dict[str, LotEnd]]:
        """Every refund payable by now (after :meth:`reconcile`), and what they were
        decided from: each lot's :class:`LotEnd`."""
        ledger = await self.reconcile()
        ends = await self.ends(ledger)
        return (bank.refunds(ledger, ends, self.calendar, self.settings.refund_days,
                             self.engine.now()), ends)

    async def export_refunds(self, actor: str,
                             encoding: str = "utf-8") -> tuple[str, list[bank.Refund], bytes]:
        """Record a batch of every refund payable and not yet exported, its payment file
        kept in the object store (its hash in the record); the batch's id, its refunds
        (none: no batch) and the file."""
        due = [r for r in await self.refunds() if r.status == "due"]
        batch = f"RF-{china_date(self.engine.now()):%Y%m%d}-{secrets.token_hex(3).upper()}"
        data = refund_file(due, encoding)
        if due:
            await self._execute(bank.ExportRefunds(
                batch_id=batch, transaction_ids=[r.transfer.transaction_id for r in due],
                actor=actor, file_sha256=await self.store.put(data)))
        return batch, due, data

    async def batch_file(self, batch_id: str) -> bytes:
        """The payment file of an exported batch, as it was answered."""
        digest = (await self.ledger()).batch_files.get(batch_id)
        data = await self.store.get(digest) if digest else None
        if data is None:
            raise WebError(404, "not_found", f"no payment file of batch {batch_id!r}")
        return data

    async def confirm_refund(self, transaction_id: str, bank_transaction_id: str,
                             actor: str, file_sha256: str = "") -> Transfer:
        """The bank paid the refund ``transaction_id`` back (its ``bank_transaction_id``),
        as its result file ``file_sha256`` (kept in the object store) says, if one."""
        before = (await self.ledger()).transfers.get(transaction_id)
        fresh = before is not None and before.status != bank.REFUNDED
        await self._execute(bank.ConfirmRefund(transaction_id=transaction_id,
                                               bank_transaction_id=bank_transaction_id,
                                               actor=actor, file_sha256=file_sha256))
        transfer = (await self.ledger()).transfers[transaction_id]
        await self._carry_refund(transfer)
        if fresh and transfer.party_id:
            await self._tell(DepositOutcome(transfer.lot_id, transfer.party_id,
                                            transfer.reference, transaction_id,
                                            bank.REFUNDED, "refund", transfer.amount,
                                            transfer.payer_account))
        return transfer


# ------------------------------------------------------------------------ signatures


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Bank-Signature`` of a notification: ``sha256=`` and the hex HMAC-SHA256,
    keyed with the bank secret, of the timestamp, a full stop and the body."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_signature(secret: bytes, headers: Any, body: bytes, now: int,
                    window_s: int) -> None:
    """Raise 401 ``bad_signature`` unless the notification is signed with ``secret`` and
    its timestamp (Unix milliseconds) is within ``window_s`` of ``now``."""
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not stamp.isdigit() or len(stamp) > 16 or not given:
        raise WebError(401, "bad_signature", f"{TIMESTAMP_HEADER} (Unix ms) and "
                                             f"{SIGNATURE_HEADER} are required")
    if not hmac.compare_digest(sign(secret, stamp, body).encode(), given.encode()):
        raise WebError(401, "bad_signature", "the signature does not match the body")
    if abs(now - int(stamp)) > window_s * 1000:
        raise WebError(401, "bad_signature", f"the timestamp is more than {window_s} s "
                                             "from the server's time (a replay?)")


# ------------------------------------------------------------------------ statements

#: The columns of a statement (银行流水) by their header names; 摘要 and 附言 are both
#: read for the reference (banks name the column either way, some have both).
COLUMNS = {"交易时间": "time", "付款账号": "account", "付款户名": "name", "金额": "amount",
           "流水号": "txn"}
_ALIASES = {"对方账号": "付款账号", "对方户名": "付款户名", "交易金额": "金额",
            "贷方金额": "金额", "交易流水号": "流水号"}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M",
                 "%Y/%m/%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S")


def decode_text(data: bytes) -> str:
    """A statement's text: UTF-8 (with or without a byte-order mark), else GBK (GB18030,
    which contains it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise WebError(400, "bad_statement", "the file is neither UTF-8 nor GBK") from None


def parse_time(text: str) -> int:
    """A statement's 交易时间 (China time) as Unix milliseconds."""
    for fmt in _TIME_FORMATS:
        try:
            moment = dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=CHINA).timestamp() * 1000)
    raise ValueError(f"{text!r} is not a time such as 2025-09-23 10:15:00")


def parse_statement(data: bytes) -> tuple[list[Arrival], int]:
    """The arrivals of a bank statement (CSV, UTF-8 or GBK) and how many rows were left
    out (money going out: zero or negative amounts). Raises 400 ``bad_statement`` naming
    the first row that cannot be read; nothing is imported then."""
    reader = csv.reader(io.StringIO(decode_text(data)))
    header = next(reader, None)
    if header is None:
        raise WebError(400, "bad_statement", "the file is empty")
    names = [_ALIASES.get(h.strip(), h.strip()) for h in header]
    where = {key: names.index(col) for col, key in COLUMNS.items() if col in names}
    texts = [i for i, n in enumerate(names) if n in ("摘要", "附言", "用途")]
    missing = [col for col, key in COLUMNS.items() if key not in where]
    if missing or not texts:
        raise WebError(400, "bad_statement", "missing columns: "
                       + ", ".join(missing + ([] if texts else ["摘要/附言"])))
    arrivals, skipped = [], 0
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            cells = {key: row[i].strip() for key, i in where.items()}
            amount_text = cells["amount"].replace(",", "")
            if amount_text.startswith("-") or not amount_text.strip("0."):
                skipped += 1
                continue
            arrivals.append(Arrival(
                transaction_id=cells["txn"], text=" ".join(row[i] for i in texts),
                payer_account=cells["account"], payer_name=cells["name"],
                amount=parse_amount(amount_text, DECIMALS),
                value_at=parse_time(cells["time"])))
        except (IndexError, ValueError, InvalidAmount) as exc:
            raise WebError(400, "bad_statement", f"row {number}: {exc}") from None
    return arrivals, skipped


def refund_file(refunds: Iterable[bank.Refund], encoding: str = "utf-8") -> bytes:
    """The bank payment file (批量代付) of ``refunds``: one row each, paid to the account
    the money came from."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["退款编号", "收款账号", "收款户名", "金额", "附言", "标的", "原流水号",
                     "应退日期"])
    for refund in refunds:
        t = refund.transfer
        why = "退还保证金" if t.outcome == MATCHED else f"退回款项({message(t.outcome)['zh']})"
        writer.writerow([t.transaction_id, t.payer_account, t.payer_name,
                         format_amount(t.amount, DECIMALS), f"{why} {t.reference}".strip(),
                         t.lot_id, t.transaction_id, refund.due_on.isoformat()])
    text = out.getvalue()
    return text.encode("gb18030") if encoding == "gbk" else ("\ufeff" + text).encode()


def parse_confirmations(data: bytes) -> list[tuple[str, str]]:
    """``(退款编号, 银行流水号)`` of each row of the bank's confirmation file (CSV); rows
    whose 状态 says the payment failed are left out."""
    reader = csv.DictReader(io.StringIO(decode_text(data)))
    out = []
    for row in reader:
        status = (row.get("状态") or "成功").strip()
        refund_id = (row.get("退款编号") or "").strip()
        bank_txn = (row.get("银行流水号") or row.get("流水号") or "").strip()
        if refund_id and bank_txn and status in ("成功", "success", "SUCCESS"):
            out.append((refund_id, bank_txn))
    return out


# ------------------------------------------------------------------------ views


def _money(value: int) -> str:
    return format_amount(value, DECIMALS)


def transfer_view(t: Transfer) -> dict[str, Any]:
    return {"transaction_id": t.transaction_id, "reference": t.reference, "lot_id": t.lot_id,
            "party_id": t.party_id, "purpose": t.purpose, "payer_account": t.payer_account,
            "payer_name": t.payer_name, "amount": _money(t.amount), "value_at": t.value_at,
            "received_at": t.received_at, "source": t.source, "outcome": t.outcome,
            "message": message(t.outcome), "status": t.status, "batch_id": t.batch_id,
            "bank_transaction_id": t.bank_transaction_id}


def reference_view(ledger: BankLedger, ref: Reference, now: int) -> dict[str, Any]:
    arrivals = ledger.arrivals(ref.reference)
    status = (MATCHED if ref.reference in ledger.matched
              else "overdue" if ref.deadline is not None and now > ref.deadline
              else "awaiting")
    return {"reference": ref.reference, "purpose": ref.purpose, "lot_id": ref.lot_id,
            "party_id": ref.party_id, "payer_name": ref.payer_name,
            "amount": _money(ref.amount), "deadline": ref.deadline, "status": status,
            "arrivals": [transfer_view(t) for t in arrivals]}


def refund_view(refund: bank.Refund) -> dict[str, Any]:
    return {**transfer_view(refund.transfer), "payable_on": refund.payable_on.isoformat(),
            "due_on": refund.due_on.isoformat(), "refund": refund.status,
            "overdue": refund.overdue}


# ------------------------------------------------------------------------ routes


def _service(request: web.Request) -> BankService:
    return request.config_dict[BANK_KEY]


async def bank_notification(request: web.Request) -> web.Response:
    """A bank's signed notification of money that arrived (docs/bank.md)."""
    service = _service(request)
    secret = service.settings.bank_secret
    if secret is None:
        raise WebError(503, "bank_not_configured", "no bank secret is configured")
    raw = await read_raw(request)
    check_signature(secret, request.headers, raw, service.engine.now(),
                    service.settings.bank_window_s)
    body: BankNotification = decode_body(raw, BankNotification)
    try:
        amount = parse_amount(body.amount, DECIMALS)
    except InvalidAmount as exc:
        raise WebError(400, "invalid_amount", exc.message) from None
    transfer, new = await service.receive(Arrival(
        body.transaction_id, body.reference, body.payer_account, body.payer_name, amount,
        body.value_time), "notification")
    return json_response({"transaction_id": transfer.transaction_id,
                          "reference": transfer.reference, "outcome": transfer.outcome,
                          "message": message(transfer.outcome), "duplicate": not new})


async def import_statement(request: web.Request) -> web.Response:
    """A bank statement imported by a host: every arrival matched as a notification is."""
    host = require_host(request)
    body: StatementImport = await read_body(request)
    arrivals, skipped = parse_statement(_file(body))
    service = _service(request)
    rows, new = [], 0
    for arrival in arrivals:
        transfer, fresh = await service.receive(arrival, "statement", host.staff_id)
        new += fresh
        rows.append(transfer_view(transfer))
    return json_response({"rows": len(arrivals), "new": new, "skipped": skipped,
                          "transfers": rows})


async def bank_ledger(request: web.Request) -> web.Response:
    """The bank ledger for staff: references, arrivals with their flags, refunds (due,
    exported, refunded, overdue), what each lot still holds, shared payer accounts."""
    require_staff(request)
    service = _service(request)
    refunds, ends = await service.refunds_and_ends()
    ledger = await service.ledger()
    now = service.engine.now()
    balances = bank.balances(ledger)
    # a lot counts once its refunds are payable: its result notice has ended, its award
    # is not suspended, no deposit is held for its runner-up offer
    ended = {lot: (start := end.refunds_from()) is not None and now > start
             and (end.runner_up is None or end.runner_up_until is not None)
             for lot, end in ends.items()}
    held = bank.held_for_runner_up(ledger, ends)
    return json_response({
        "references": [reference_view(ledger, r, now) for r in ledger.references.values()],
        "transfers": [transfer_view(t) for t in ledger.transfers.values()],
        "flagged": [transfer_view(t) for t in ledger.transfers.values()
                    if t.outcome != MATCHED],
        "refunds": [refund_view(r) for r in refunds],
        "overdue": [refund_view(r) for r in refunds if r.overdue],
        "held": [{**transfer_view(t), "reason": bank.RUNNER_UP_OFFER,
                  "reason_text": message(bank.RUNNER_UP_OFFER)} for t in held],
        "balances": {lot: _money(v) for lot, v in balances.items()},
        "ended_lots_at_zero": all(
            v == 0 for lot, v in balances.items() if lot and ended.get(lot, False)),
        "payments": [{**reference_view(ledger, r, now),
                      "payment": bank.payment_status(ledger, r.lot_id, r.party_id, now)}
                     for r in ledger.references.values() if r.purpose == PAYMENT],
        "shared_payers": bank.shared_payers(ledger),
        "refund_days": service.settings.refund_days,
        "batches": [{"batch_id": batch, "transaction_ids": ids,
                     "file_sha256": ledger.batch_files.get(batch) or None,
                     "file": f"/api/bank/refunds/batches/{batch}"}
                    for batch, ids in ledger.batches.items()],
    })


async def export_refunds(request: web.Request) -> web.Response:
    """The bank payment file (CSV) of every refund payable and not yet exported, recorded
    as one batch (``?encoding=gbk`` for banks that read GBK)."""
    host = require_host(request)
    encoding = request.query.get("encoding", "utf-8")
    if encoding not in ("utf-8", "gbk"):
        raise WebError(400, "bad_request", "encoding is utf-8 or gbk")
    batch, due, data = await _service(request).export_refunds(host.staff_id, encoding)
    charset = "gb18030" if encoding == "gbk" else "utf-8"
    return web.Response(body=data, content_type="text/csv",
                        charset=charset, headers={
                            "Content-Disposition": f'attachment; filename="{batch}.csv"',
                            "X-Refund-Batch": batch if due else "",
                            "X-Refund-Count": str(len(due)), "Cache-Control": "no-store"})


def _file(body: StatementImport) -> bytes:
    try:
        return base64.b64decode(body.content_base64, validate=True)
    except ValueError:
        raise WebError(400, "bad_statement", "content_base64 is not base64") from None


async def confirm_refunds_file(request: web.Request) -> web.Response:
    """The bank's result file of a refund batch (CSV: 退款编号, 银行流水号, 状态), as
    :func:`confirm_refunds` takes its rows; rows whose 状态 is not success are left out."""
    host = require_host(request)
    body: StatementImport = await read_body(request)
    service = _service(request)
    data = _file(body)
    rows = parse_confirmations(data)
    digest = await service.store.put(data) if rows else ""
    done = [transfer_view(await service.confirm_refund(refund_id, bank_txn, host.staff_id,
                                                       digest))
            for refund_id, bank_txn in rows]
    return json_response({"confirmed": done, "file_sha256": digest or None})


async def refund_batch_file(request: web.Request) -> web.Response:
    """The payment file of an exported refund batch again, from the object store (staff)."""
    require_staff(request)
    batch_id = request.match_info["batch_id"]
    data = await _service(request).batch_file(batch_id)
    return web.Response(body=data, content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{batch_id}.csv"',
        "Cache-Control": "no-store"})


async def confirm_refunds(request: web.Request) -> web.Response:
    """The bank's confirmations of refunds it paid (idempotent: one confirmed again with
    the same bank transaction changes nothing)."""
    host = require_host(request)
    body: RefundConfirmations = await read_body(request)
    service = _service(request)
    done = [transfer_view(await service.confirm_refund(
        item.transaction_id, item.bank_transaction_id, host.staff_id))
        for item in body.confirmations]
    return json_response({"confirmed": done})


async def lot_deposit(request: web.Request) -> web.Response:
    """Deposit instructions and status: a bidder's own (bidder token of the lot), or every
    reference of the lot (staff)."""
    lot_id, state = await lot_of(request)
    service = _service(request)
    ledger = await service.ledger()
    now = service.engine.now()
    token = bearer(request)
    if token is not None and looks_like_bidder_token(token):
        claims = bidder_claims(request, token, lot_id, state)
        if claims is None:
            raise WebError(403, "forbidden", "a token of another lot")
        parties = [claims.bidder_id]
    else:
        require_staff(request)
        parties = list(state.bidders)
    out = []
    for party in parties:
        bidder = state.bidders[party]
        deposit = ledger.reference_of(DEPOSIT, lot_id, party)
        payment = ledger.reference_of(PAYMENT, lot_id, party)
        out.append({
            "bidder_id": party, "name": bidder.name,
            "deposit_status": deposit_status(state, bidder),
            "deposit": reference_view(ledger, deposit, now) if deposit else None,
            "payment": ({**reference_view(ledger, payment, now),
                         "payment": bank.payment_status(ledger, lot_id, party, now)}
                        if payment else None)})
    return json_response({"lot_id": lot_id, "parties": out})


async def payment_notice(request: web.Request) -> web.Response:
    """The payment notice of an awarded lot's winner (opened once; again: the same)."""
    host = require_host(request)
    lot_id, _ = await lot_of(request)
    body = await read_body(request)
    service = _service(request)

    async def barred_check(bidder_id: str) -> None:
        await refuse_barred_winners(request.config_dict, [bidder_id], "payment",
                                    host.staff_id)

    ref = await service.open_payment(lot_id, body.bidder_no, barred_check)
    ledger = await service.ledger()
    return json_response({**reference_view(ledger, ref, service.engine.now()),
                          "payment": bank.payment_status(ledger, lot_id, ref.party_id,
                                                         service.engine.now())}, 201)

