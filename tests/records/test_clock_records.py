"""Records of the clock formats (dutch, japanese): the export verifies offline (ticks,
acceptances, confirmations, drops, a tie draw), tampering is caught, and the result, the
reports, OCDS and the collusion checks hold them."""

from __future__ import annotations

import json
from typing import Any

from auction.collusion import check_lot
from auction.draw import commitment
from auction.model import (
    Act,
    CreateLot,
    LotAwarded,
    PauseLot,
    ResumeLot,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import build_export, dumps, verify

from .sim import HOST, T0, SimLot, cny
from .test_verify import rechain

SEED = "the engine's seed of the lot"
TICK = 10_000


class ClockSimLot(SimLot):
    def __init__(self, lot_id: str, fmt: str, lot_params: dict[str, Any]) -> None:
        self.lot_id = lot_id
        self.state = None
        self.records = []
        self.connections = []
        self.do(CreateLot(lot_id=lot_id, session_id="S-1", format=fmt, title="国有产权 C-7",
                          params=lot_params, actor=HOST), T0 - 60_000)

    def start(self) -> ClockSimLot:
        self.do(ScheduleLot(actor=HOST), T0)
        self.do(StartLot(actor=HOST, seed=SEED, seed_hash=commitment(SEED)), T0)
        return self

    def tick(self, at: int) -> None:
        self.do(Tick(seed=SEED, seed_hash=commitment(SEED)), at)

    def act(self, bidder_id: str, act: str, at: int) -> None:
        self.do(Act(bidder_id=bidder_id, act=act, ip=f"10.0.0.{ord(bidder_id)}",
                    device=f"web:{bidder_id}", ref=f"r-{at}"), at)


def dutch_lot() -> ClockSimLot:
    lot = ClockSimLot("L-DUTCH", "dutch", {
        "start_price": "1000000.00", "step": "10000.00", "tick_s": 10,
        "floor": "900000.00", "deposit": "50000.00"})
    for bidder_id, no in (("a", "4821"), ("b", "1377")):
        lot.register(bidder_id, no)
    lot.start()
    lot.tick(T0 + TICK)
    lot.do(PauseLot(actor=HOST, reason="网络故障"), T0 + 12_000)
    lot.do(ResumeLot(actor=HOST, reason="已恢复"), T0 + 42_000)
    lot.tick(T0 + 50_000)
    lot.act("b", "accept", T0 + 55_000)
    return lot


def japanese_lot() -> ClockSimLot:
    lot = ClockSimLot("L-JAPAN", "japanese", {
        "start_price": "1000000.00", "step": "10000.00", "tick_s": 10,
        "tie_rule": "lottery", "deposit": "50000.00"})
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.start()
    for bidder_id in "abc":
        lot.act(bidder_id, "stay", T0 + 1000)
    lot.tick(T0 + TICK)
    lot.act("c", "drop", T0 + TICK + 1000)
    lot.act("a", "stay", T0 + TICK + 2000)
    lot.act("b", "stay", T0 + TICK + 3000)
    lot.act("a", "stay", T0 + 2 * TICK + 5)  # before the tick: the clock advances first
    lot.do(Act(bidder_id="b", act="stay", amount=cny("1020000.00")), T0 + 2 * TICK + 6)
    lot.tick(T0 + 3 * TICK)
    lot.tick(T0 + 4 * TICK)  # nobody confirmed 1030000.00: a tie at 1020000.00, drawn
    return lot


def test_the_export_of_a_dutch_lot_verifies() -> None:
    lot = dutch_lot()
    assert isinstance(lot.events[-1], LotAwarded)
    assert lot.events[-1].amount == cny("980000.00")
    result = verify(dumps(build_export(lot.s, lot.records, exported_at=T0 + 100_000)))
    assert result.ok, result.summary
    assert "awarded to bidder No. 1377 at 980000.00 CNY" in result.summary


def test_the_export_of_a_japanese_lot_with_a_tie_draw_verifies() -> None:
    lot = japanese_lot()
    names = [type(e).__name__ for e in lot.events]
    assert {"DrawCommitted", "LevelAdvanced", "BidderDropped", "LotDrawn"} <= set(names)
    assert lot.events[-1].amount == cny("1020000.00")  # type: ignore[attr-defined]
    result = verify(dumps(build_export(lot.s, lot.records, exported_at=T0 + 100_000)))
    assert result.ok, result.summary


def tampered(lot: ClockSimLot, kind: str, change: Any) -> tuple[int | None, str]:
    doc = json.loads(dumps(build_export(lot.s, lot.records, exported_at=T0 + 100_000)))
    entry = next(e for e in doc["events"] if e["event"]["type"] == kind
                 and e["event"].get("dropped", True))
    change(entry["event"])
    result = verify(dumps(rechain(doc)))
    assert not result.ok and result.discrepancy is not None
    return result.discrepancy.seq, result.discrepancy.kind


def test_a_dutch_acceptance_at_another_price_is_caught() -> None:
    lot = dutch_lot()

    def cheaper(event: dict[str, Any]) -> None:
        event["amount"] -= 1_000_000

    seq, kind = tampered(lot, "BidAccepted", cheaper)
    assert kind == "rules"
    assert lot.records[seq - 1].event.__class__.__name__ == "BidAccepted"


def test_a_dutch_step_moved_in_time_is_caught() -> None:
    def later(event: dict[str, Any]) -> None:
        event["level"] = 3

    assert tampered(dutch_lot(), "ClockStepped", later)[1] == "rules"


def test_a_forged_draw_winner_is_caught() -> None:
    lot = japanese_lot()
    drawn = next(e for e in lot.events if type(e).__name__ == "LotDrawn")
    other = next(n for n in drawn.candidates if n != drawn.winner_no)  # type: ignore[attr-defined]

    def forged(event: dict[str, Any]) -> None:
        event["winner_no"] = other

    assert tampered(lot, "LotDrawn", forged)[1] == "rules"


def test_a_hidden_drop_out_is_caught() -> None:
    def hide(event: dict[str, Any]) -> None:
        event["dropped"] = []

    assert tampered(japanese_lot(), "LevelAdvanced", hide)[1] == "rules"


def test_results_reports_ocds_and_collusion_checks_hold_clock_lots() -> None:
    for lot in (dutch_lot(), japanese_lot()):
        result = announcement(lot.s, lot.records)
        assert result["outcome"]["status"] == "awarded"
        report = full_report(lot.s, lot.records, [], [], T0 + 100_000)
        assert report["final"] and report["bids"]
        assert lot.s.format in report_csv(report) or report_csv(report)
        assert ocds_release(lot.s, lot.records, "ocds-x", T0 + 100_000)
        check_lot(lot.record())
        json.dumps(report)
