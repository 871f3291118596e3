"""The deposits ledger (保证金台账): each bidder's deposit from confirmation to settlement.

A deposit is ``pending`` until staff confirm it (``DepositConfirmed``), then
``confirmed``. When the lot ends (awarded, failed or cancelled), every confirmed deposit
but the winner's becomes ``refundable`` by itself: that status is derived from the lot's
state, no event is needed. Staff then settle each deposit with one event, the only
commands a lot takes after it ended:

===================  =====================================  ==============================
command              from                                   to
===================  =====================================  ==============================
``RefundDeposit``    refundable, or the winner's confirmed  ``refunded``
``ForfeitDeposit``   refundable or confirmed                ``forfeited`` (a penalty)
``ApplyDeposit``     the winner's confirmed                 ``applied`` (to its payment)
===================  =====================================  ==============================

``refunded``, ``forfeited`` and ``applied`` are final. Every settlement names its staff
actor and a reason and records the amount, so the ledger can be read from the events.
"""

from collections.abc import Iterable
from typing import Any

from auction.model import (
    ApplyDeposit,
    DepositApplied,
    DepositConfirmed,
    DepositForfeited,
    DepositRefunded,
    Event,
    ForfeitDeposit,
    RefundDeposit,
    Rejection,
)
from auction.money import format_amount
from auction.record import Recorded
from auction.state import AWARDED, CANCELLED, FAILED, Bidder, LotState

PENDING, CONFIRMED, REFUNDABLE = "pending", "confirmed", "refundable"
APPLIED, REFUNDED, FORFEITED = "applied", "refunded", "forfeited"
STATUSES = (PENDING, CONFIRMED, REFUNDABLE, APPLIED, REFUNDED, FORFEITED)
#: Lot statuses after which deposits are settled.
SETTLING = frozenset({AWARDED, FAILED, CANCELLED})

SettleCommand = RefundDeposit | ForfeitDeposit | ApplyDeposit
SETTLE_COMMANDS = (RefundDeposit, ForfeitDeposit, ApplyDeposit)
SETTLE_EVENTS = (DepositRefunded, DepositForfeited, DepositApplied)


def is_winner(state: LotState, bidder: Bidder) -> bool:
    """Whether ``bidder`` won the lot (one of the winners of a multi-unit lot)."""
    o = state.outcome
    return o is not None and o.status == AWARDED and (
        o.bidder_id == bidder.bidder_id or any(a.bidder_id == bidder.bidder_id
                                               for a in o.awards))


def deposit_status(state: LotState, bidder: Bidder) -> str:
    """The bidder's deposit status, one of :data:`STATUSES`."""
    if bidder.settled is not None:
        return bidder.settled
    if bidder.deposit is None:
        return PENDING
    if state.status in SETTLING and not is_winner(state, bidder):
        return REFUNDABLE
    return CONFIRMED


def decide_settlement(state: LotState, cmd: SettleCommand, now: int) -> list[Event] | Rejection:
    """The event settling a deposit, or why it may not be settled so. The caller has
    checked the actor and the reason."""
    if state.status not in SETTLING:
        return Rejection("invalid_state", "deposits are settled after the lot has ended")
    bidder = state.bidders.get(cmd.bidder_id) if isinstance(cmd.bidder_id, str) else None
    if bidder is None:
        return Rejection("unknown_bidder")
    status = deposit_status(state, bidder)
    winner = is_winner(state, bidder)
    event_type: type[DepositRefunded | DepositForfeited | DepositApplied]
    if isinstance(cmd, RefundDeposit):
        allowed, event_type = status == REFUNDABLE or (winner and status == CONFIRMED), \
            DepositRefunded
    elif isinstance(cmd, ForfeitDeposit):
        allowed, event_type = status in (REFUNDABLE, CONFIRMED), DepositForfeited
    else:
        if not winner:
            return Rejection("invalid_state", "only the winner's deposit can be applied")
        allowed, event_type = status == CONFIRMED, DepositApplied
    if not allowed:
        return Rejection("invalid_state", f"the deposit is {status}")
    assert bidder.deposit is not None  # a refundable or confirmed deposit has an amount
    return [event_type(at=now, actor=cmd.actor, bidder_id=bidder.bidder_id,
                       amount=bidder.deposit, reason=cmd.reason)]


def settled(state: LotState, event: DepositRefunded | DepositForfeited | DepositApplied) -> None:
    """Apply a settlement event (evolve)."""
    kind = REFUNDED if isinstance(event, DepositRefunded) else (
        FORFEITED if isinstance(event, DepositForfeited) else APPLIED)
    state.changing(event.bidder_id).settled = kind


def ledger(state: LotState, records: Iterable[Recorded]) -> dict[str, Any]:
    """The lot's deposits ledger for staff: every registered bidder's deposit with its
    status and history, totals per status, and what is to be refunded."""
    decimals = state.params.decimals

    def money(value: int | None) -> str | None:
        return None if value is None else format_amount(value, decimals)

    history: dict[str, list[dict[str, Any]]] = {b: [] for b in state.bidders}
    for record in records:
        event = record.event
        if isinstance(event, (DepositConfirmed, *SETTLE_EVENTS)):
            entry = {"seq": record.seq, "at": event.at, "type": type(event).__name__,
                     "actor": event.actor, "amount": money(event.amount)}
            if isinstance(event, DepositConfirmed):
                entry["account"] = event.account
            else:
                entry["reason"] = event.reason
            history.setdefault(event.bidder_id, []).append(entry)
    totals = {s: {"count": 0, "amount": 0} for s in STATUSES}
    rows = []
    for bidder in state.bidders.values():
        status = deposit_status(state, bidder)
        totals[status]["count"] += 1
        totals[status]["amount"] += bidder.deposit or 0
        rows.append({"bidder_id": bidder.bidder_id, "bidder_no": bidder.bidder_no,
                     "name": bidder.name, "status": status, "amount": money(bidder.deposit),
                     "account": bidder.deposit_account, "winner": is_winner(state, bidder),
                     "history": history.get(bidder.bidder_id, [])})
    refundable = [r for r in rows if r["status"] == REFUNDABLE]
    return {
        "lot_id": state.lot_id, "lot_status": state.status, "currency": state.params.currency,
        "required": money(state.params.deposit), "deposits": rows,
        "totals": {s: {"count": t["count"], "amount": money(t["amount"])}
                   for s, t in totals.items()},
        "to_refund": [{k: r[k] for k in ("bidder_id", "bidder_no", "name", "amount", "account")}
                      for r in refundable],
        "to_refund_total": money(totals[REFUNDABLE]["amount"]),
    }
