"""The bank ledger under random sequences of references, arrivals (repeated, late, short,
foreign, unknown), refund batches, confirmations and settlements: a reference never has
two matched arrivals, a matched arrival obeys every rule, the same arrival again changes
nothing, the balances are what is held, and replaying the events gives the same state."""

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from auction.aggregate import replay
from auction.model import Event, Rejection
from auction.trade.deposits_bank import (
    APPLIED,
    DECIDER,
    DEPOSIT,
    EXPORTED,
    HELD,
    MATCHED,
    ConfirmRefund,
    ExportRefunds,
    OpenReference,
    ReceiveTransfer,
    SettleTransfer,
    balances,
    new_reference,
    same_name,
)

NAMES = ("甲公司", "乙公司", "丙公司")
T0 = 1_758_600_000_000


class BankLedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = DECIDER.initial("main")
        self.events: list[Event] = []
        self.now = T0
        self.sent: list[ReceiveTransfer] = []

    def do(self, command: Any) -> list[Event] | Rejection:
        self.now += 1000
        decision = DECIDER.decide(self.state, command, self.now)
        if not isinstance(decision, Rejection):
            for event in decision:
                self.state = DECIDER.evolve(self.state, event)
            self.events += decision
        return decision

    @rule(party=st.integers(0, 2), lot=st.sampled_from(["L1", "L2"]),
          digits=st.integers(0, 10**9 - 1), deadline=st.none() | st.integers(0, 30))
    def open_reference(self, party: int, lot: str, digits: int, deadline: int | None) -> None:
        self.do(OpenReference(reference=new_reference(DEPOSIT, f"{digits:09d}"),
                              purpose=DEPOSIT, lot_id=lot, party_id=f"p{party}",
                              payer_name=NAMES[party], amount=5000,
                              deadline=None if deadline is None else T0 + deadline * 1000,
                              actor="h"))

    @rule(data=st.data(), txn=st.integers(0, 12), name=st.sampled_from(NAMES),
          amount=st.sampled_from([4999, 5000, 5001]), at=st.integers(0, 40),
          lot_open=st.booleans())
    def arrive(self, data: st.DataObject, txn: int, name: str, amount: int, at: int,
               lot_open: bool) -> None:
        refs = sorted(self.state.references) or ["nothing"]
        text = data.draw(st.sampled_from([*refs, "转账"]))
        command = ReceiveTransfer(transaction_id=f"T{txn}", text=text, payer_account="6222",
                                  payer_name=name, amount=amount, value_at=T0 + at * 1000,
                                  source="notification", actor="bank", lot_open=lot_open)
        before = len(self.events)
        decision = self.do(command)
        known = [c for c in self.sent if c.transaction_id == command.transaction_id]
        if known:
            assert decision == [] or (isinstance(decision, Rejection)
                                      and decision.code == "conflict")
            assert len(self.events) == before
        else:
            assert not isinstance(decision, Rejection)
            self.sent.append(command)

    @rule(data=st.data(), batch=st.integers(0, 5))
    def export(self, data: st.DataObject, batch: int) -> None:
        held = [t for t, v in self.state.transfers.items() if v.status == HELD]
        if held:
            chosen = data.draw(st.lists(st.sampled_from(held), min_size=1, unique=True))
            self.do(ExportRefunds(batch_id=f"B{batch}", transaction_ids=chosen, actor="h"))

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        if self.state.transfers:
            txn = data.draw(st.sampled_from(sorted(self.state.transfers)))
            self.do(ConfirmRefund(transaction_id=txn, bank_transaction_id=f"K{txn}", actor="h"))

    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        if self.state.transfers:
            txn = data.draw(st.sampled_from(sorted(self.state.transfers)))
            self.do(SettleTransfer(transaction_id=txn, how=APPLIED, reason="price paid",
                                   actor="bank"))

    @invariant()
    def one_match_per_reference_and_each_by_the_rules(self) -> None:
        matched = [t for t in self.state.transfers.values() if t.outcome == MATCHED]
        assert len({t.reference for t in matched}) == len(matched)
        for t in matched:
            ref = self.state.references[t.reference]
            assert t.amount == ref.amount and same_name(t.payer_name, ref.payer_name)
            assert ref.deadline is None or t.value_at <= ref.deadline
            assert self.state.matched[t.reference] == t.transaction_id

    @invariant()
    def balances_are_what_is_held(self) -> None:
        held: dict[str, int] = {}
        for t in self.state.transfers.values():
            held[t.lot_id] = held.get(t.lot_id, 0) + (
                t.amount if t.status in (HELD, EXPORTED) else 0)
        assert balances(self.state) == held

    @invariant()
    def replay_gives_the_same_state(self) -> None:
        again = replay(DECIDER, "main", self.events)
        assert again.transfers == self.state.transfers
        assert again.references == self.state.references
        assert again.batches == self.state.batches


BankLedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                               deadline=None)
test_the_bank_ledger_holds_its_invariants = BankLedgerMachine.TestCase
