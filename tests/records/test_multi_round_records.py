"""A finished multi_round lot: its export verifies offline and tampering is found; the
announcement, the full report (JSON and CSV), the OCDS release and the collusion checks
read it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auction.collusion import check_lot
from auction.formats import revealed_records, withheld
from auction.model import CancelLot, CreateLot, PauseLot, ResumeLot, Tick
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, STAFF, redact, snapshot

from .sim import HOST, T0, SimLot
from .test_verify import failure, rechain

FIRST, TURN, PAUSE = 300_000, 120_000, 120_000


def rounds_lot(lot_id: str = "L-ROUNDS") -> SimLot:
    """Three bidders, two rounds, a coefficient, a pause, a late bid that records the
    turn change it was judged after, and an award."""
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = lot_id, None, [], []
    lot.do(CreateLot(lot_id=lot_id, session_id="S-1", format="multi_round",
                     title="办公设备采购 第3包",
                     params={"step": "100.00", "ceiling": "1000000.00", "deposit": "5000.00",
                             "rounds": 2, "coefficients": {"c": "0.05"}}, actor=HOST),
           T0 - 60_000)
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.open(T0)
    lot.bid("a", "900000.00", T0 + 1000, ip="10.0.0.1", device="web:aa")
    lot.bid("b", "950000.00", T0 + 2000, ip="10.0.0.2", device="web:bb")
    lot.bid("c", "960000.00", T0 + 3000, ip="10.0.0.3", device="web:cc")
    lot.do(Tick(), T0 + FIRST)  # round 1: b (950000), c (914285.71), a (900000) in turn
    lot.bid("b", "890000.00", T0 + FIRST + 10_000, ip="10.0.0.2", device="web:bb")
    lot.do(PauseLot(actor=HOST, reason="网络故障"), T0 + FIRST + 20_000)
    lot.do(ResumeLot(actor=HOST, reason="已恢复"), T0 + FIRST + 30_000)
    # c's turn by the clock; the tick of b's turn end has not run
    lot.bid("c", "930000.00", T0 + FIRST + TURN + 10_000 + 500, ip="10.0.0.3",
            device="web:cc")
    lot.close()
    return lot


def export_of(lot: SimLot) -> dict[str, Any]:
    return build_export(lot.s, lot.records, exported_at=T0 + 10_000_000)


def test_the_export_of_a_finished_multi_round_lot_verifies() -> None:
    lot = rounds_lot()
    assert lot.s.status == "awarded"
    kinds = [type(r.event).__name__ for r in lot.records]
    assert {"RoundStarted", "TurnStarted", "TurnEnded", "RoundEnded"} <= set(kinds)
    result = verify(dumps(export_of(lot)))
    assert result.ok, result.summary
    assert "awarded to bidder No. 2090 at 930000.00 CNY" in result.summary


def test_a_changed_revealed_price_is_found_even_with_a_rebuilt_chain() -> None:
    doc = export_of(rounds_lot())
    ended = next(e for e in doc["events"] if e["event"]["type"] == "TurnEnded"
                 and e["event"]["amount"] is not None)
    ended["event"]["price"] -= 100
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (ended["seq"], "rules")
    assert detail.startswith("TurnEnded.price: the rules give")


def test_a_changed_turn_order_is_found_even_with_a_rebuilt_chain() -> None:
    doc = export_of(rounds_lot())
    start = next(e for e in doc["events"] if e["event"]["type"] == "RoundStarted")
    start["event"]["order"] = list(reversed(start["event"]["order"]))
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (start["seq"], "rules")


def test_an_award_to_the_lowest_raw_price_instead_of_the_lowest_adjusted_fails() -> None:
    doc = export_of(rounds_lot())
    award = next(e for e in doc["events"] if e["event"]["type"] == "LotAwarded")
    award["event"].update(bidder_id="b", bidder_no="1377", amount=89_000_000)
    doc["outcome"].update(bidder_id="b", bidder_no="1377", amount="890000.00")
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (award["seq"], "rules")
    assert detail == "LotAwarded.bidder_id: the rules give 'c', the file has 'b'"


def test_a_bid_out_of_turn_is_found_even_with_a_rebuilt_chain() -> None:
    doc = export_of(rounds_lot())
    bid = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted"
               and e["event"]["bidder_id"] == "b" and e["event"]["amount"] == 89_000_000)
    bid["event"].update(bidder_id="a", bidder_no="4821", actor="4821")
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (bid["seq"], "rules")
    assert "not_your_turn" in detail


def test_removing_a_turn_end_is_found() -> None:
    doc = export_of(rounds_lot())
    index = next(i for i, e in enumerate(doc["events"]) if e["event"]["type"] == "TurnEnded")
    del doc["events"][index]
    seq, kind, _ = failure(rechain(doc))
    assert seq is not None and kind == "rules"


def test_the_announcement_and_ocds_show_bidder_numbers_only() -> None:
    lot = rounds_lot()
    shown = json.dumps([announcement(lot.s, lot.records),
                        ocds_release(lot.s, lot.records, "ocds-x", "中心")],
                       ensure_ascii=False, default=str)
    for secret in ("公司 ", "acct-", "10.0.0.", "web:", '"a"', '"b"', '"c"'):
        assert secret not in shown
    result = announcement(lot.s, lot.records)
    assert result["outcome"]["bidder_no"] == "2090" and result["bid_count"] == 5
    assert result["format"] == "multi_round"


def test_the_full_report_and_its_csv_and_the_collusion_checks_read_the_lot() -> None:
    lot = rounds_lot()
    flags = [f.to_dict() for f in check_lot(lot.record())]
    report = full_report(lot.s, lot.records, [], flags, T0 + 10_000_000)
    assert report["final"] and len(report["bids"]) == 5
    assert report["lot"]["play"]["phase"] == "done"
    assert [r["bidder_no"] for r in report["lot"]["play"]["table"]] == ["2090", "1377", "4821"]
    assert any(row["type"] == "TurnEnded" for row in report["timeline"])
    csv_text = report_csv(report)
    assert "TurnEnded" in csv_text and "RoundStarted" in csv_text


@pytest.mark.parametrize("when", ["initial_round", "mid_turn"])
def test_bids_a_cancelled_multi_round_lot_never_revealed_stay_sealed_for_good(
        when: str) -> None:
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = "L-CANCEL", None, [], []
    lot.do(CreateLot(lot_id=lot.lot_id, session_id="S-1", format="multi_round", title="采购",
                     params={"step": "100.00", "deposit": "5000.00"}, actor=HOST),
           T0 - 60_000)
    for bidder_id, no in (("a", "4821"), ("b", "1377")):
        lot.register(bidder_id, no)
    lot.open(T0)
    lot.bid("a", "900017.00", T0 + 1000)
    lot.bid("b", "950023.00", T0 + 2000)
    hidden = ["900017", "950023"]
    if when == "mid_turn":
        lot.do(Tick(), T0 + FIRST)  # round 1 reveals both; b (the worst) is in turn
        lot.bid("b", "800031.00", T0 + FIRST + 1000)
        lot.bid("b", "700043.00", T0 + FIRST + 2000)
        hidden = ["800031", "700043"]
    lot.do(CancelLot(actor=HOST, reason="投诉处理"), T0 + FIRST + 3000)
    assert lot.s.status == "cancelled"
    # Staff reads of the raw record (report, export, collusion, bids, events) refuse.
    assert withheld(lot.s)
    public = revealed_records(lot.s, lot.records)
    texts = [json.dumps(announcement(lot.s, public), ensure_ascii=False),
             json.dumps(ocds_release(lot.s, public, "ocds-x", "center"), default=str),
             json.dumps([snapshot(lot.s, a) for a in (STAFF, PUBLIC)]),
             json.dumps([redact(lot.s, r, a) for r in lot.records for a in (STAFF, PUBLIC)])]
    for text in texts:
        for amount in hidden:
            assert amount not in text, (amount, text)
    if when == "mid_turn":  # what round 1 revealed stays public
        assert "900017.00" in texts[0] and "950023.00" in texts[0]


@pytest.mark.parametrize(("fmt", "params", "start"), [
    ("multi_round", {"step": "100.00"}, None),
    ("multi_round", {"step": "100.00", "ceiling": "5000.00"}, "5000.00"),
    ("sealed", {"duration_s": 60}, None),
    ("sealed", {"duration_s": 60, "start_price": "700.00"}, "700.00"),
])
def test_a_lot_announces_only_the_start_price_its_format_has(
        fmt: str, params: dict[str, Any], start: str | None) -> None:
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = "L-START", None, [], []
    lot.do(CreateLot(lot_id=lot.lot_id, session_id="S-1", format=fmt, title="采购",
                     params=params, actor=HOST), T0 - 60_000)
    lot.open(T0)
    lot.do(CancelLot(actor=HOST, reason="撤销"), T0 + 1000)
    assert announcement(lot.s, lot.records)["start_price"] == start
    assert snapshot(lot.s, PUBLIC)["params"]["start_price"] == start
    tender = ocds_release(lot.s, lot.records, "ocds-x", "center")["tender"]
    assert (str(tender["value"]["amount"]) if "value" in tender else None) == start
