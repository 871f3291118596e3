"""The record of a sealed lot: its export verifies offline (the opening and the draw are
decided again), tampering is caught, and the records built from it (announcement,
report, OCDS, collusion checks) work once it is opened."""

from typing import Any

from auction import draw
from auction.collusion import check_lot
from auction.formats import revealed_records
from auction.model import CreateLot, LotDrawn, ScheduleLot, StartLot, Tick
from auction.record import GENESIS, chain
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import build_export, dumps, verify

from .sim import HOST, T0, SimLot

SEED = "ab" * 32
OPENING = T0 + 600_000


class SealedSim(SimLot):
    def __init__(self, **overrides: Any) -> None:
        self.lot_id = "L-SEALED"
        self.state = None
        self.records = []
        self.connections = []
        raw = {"closes_at": OPENING, "deposit": "1000.00", "revisions": 1,
               "tie_rule": "lottery", "direction": "reverse", "ceiling": "500000.00",
               **overrides}
        self.do(CreateLot(lot_id=self.lot_id, session_id="S-1", format="sealed",
                          title="政府采购 服务器", params=raw, actor=HOST), T0 - 60_000)

    def open(self, at: int = T0) -> "SealedSim":
        self.do(ScheduleLot(actor=HOST), at)
        self.do(StartLot(actor=HOST, seed=SEED, seed_hash=draw.commitment(SEED)), at)
        return self

    def opening(self) -> None:
        self.do(Tick(seed=SEED, seed_hash=draw.commitment(SEED)), OPENING)


def played(*, tie: bool = True) -> SealedSim:
    lot = SealedSim()
    for bidder in ("a", "b", "c"):
        lot.register(bidder)
    lot.open()
    lot.bid("a", "480000.00", T0 + 1_000, ip="10.0.0.1", device="d-a")
    lot.bid("b", "450000.00", T0 + 2_000, ip="10.0.0.2", device="d-b")
    lot.bid("c", "470000.00", T0 + 3_000, ip="10.0.0.3", device="d-c")
    lot.bid("a", "450000.00" if tie else "460000.00", T0 + 4_000, ip="10.0.0.1", device="d-a")
    lot.opening()
    return lot


def test_the_export_of_an_opened_sealed_lot_with_a_draw_verifies() -> None:
    lot = played()
    assert any(isinstance(e, LotDrawn) for e in lot.events)
    result = verify(dumps(build_export(lot.s, lot.records, OPENING + 1)))
    assert result.ok, result.summary
    assert result.events == len(lot.records)


def rechain(doc: dict[str, Any]) -> dict[str, Any]:
    prev = GENESIS
    for entry in doc["events"]:
        prev = entry["hash"] = chain(prev, doc["lot_id"], entry["seq"], entry["event"])
    doc["outcome"]["last_hash"] = prev
    return doc


def test_a_changed_revealed_price_is_caught_even_with_a_rebuilt_chain() -> None:
    lot = played(tie=False)
    doc = build_export(lot.s, lot.records, OPENING + 1)
    opened = next(e for e in doc["events"] if e["event"]["type"] == "BidsOpened")
    opened["event"]["amounts"][0] += 100
    result = verify(dumps(rechain(doc)))
    assert not result.ok and result.discrepancy is not None
    assert (result.discrepancy.seq, result.discrepancy.kind) == (opened["seq"], "rules")


def test_a_changed_sealed_bid_is_caught_by_the_hash_chain() -> None:
    lot = played()
    doc = build_export(lot.s, lot.records, OPENING + 1)
    bid = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted")
    bid["event"]["amount"] -= 1
    result = verify(dumps(doc))
    assert not result.ok and result.discrepancy is not None
    assert (result.discrepancy.seq, result.discrepancy.kind) == (bid["seq"], "hash")


def test_a_drawn_winner_changed_with_a_rebuilt_chain_is_caught() -> None:
    lot = played()
    doc = build_export(lot.s, lot.records, OPENING + 1)
    drawn = next(e for e in doc["events"] if e["event"]["type"] == "LotDrawn")
    other = next(c for c in drawn["event"]["candidates"] if c != drawn["event"]["winner_no"])
    drawn["event"]["winner_no"] = other
    result = verify(dumps(rechain(doc)))
    assert not result.ok and result.discrepancy is not None
    assert result.discrepancy.kind == "rules"


def test_the_records_of_an_opened_sealed_lot_show_every_bid() -> None:
    lot = played(tie=False)
    records = revealed_records(lot.s, lot.records)
    assert records == lot.records
    result = announcement(lot.s, records)
    assert result["outcome"]["amount"] == "450000.00" and result["bid_count"] == 4
    report = full_report(lot.s, records, [], [], OPENING + 1)
    assert [b["amount"] for b in report["bids"]][-1] == "460000.00"
    assert "BidsOpened" in report_csv(report)
    release = ocds_release(lot.s, records, "ocds-x", "center")
    assert release["awards"][0]["value"]["amount"] == 450000
    assert isinstance(check_lot(lot.record()), list)


def test_the_public_record_of_a_sealed_lot_cancelled_unopened_holds_no_bid() -> None:
    lot = SealedSim()
    lot.register("a")
    lot.open()
    lot.bid("a", "480000.00", T0 + 1_000)
    from auction.model import CancelLot
    lot.do(CancelLot(actor=HOST, reason="court order"), T0 + 2_000)
    records = revealed_records(lot.s, lot.records)
    assert len(records) == len(lot.records) - 1
    result = announcement(lot.s, records)
    assert result["history"] == [] and "480000" not in str(result)
