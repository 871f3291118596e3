"""Records of a multi-unit lot: the export verifies (every award is decided again from
the bids), a changed number of units or a changed award is caught, and the reports show
every winner."""

from __future__ import annotations

from decimal import Decimal

from auction.model import PlaceBid
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import verify

from .sim import T0, SimLot, cny, params
from .test_verify import export_of, failure, rechain, text_of


def plates_lot() -> SimLot:
    lot = SimLot("L-PLATES", params(units=3, pricing="uniform", max_units_per_bidder=2))
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090"), ("d", "3310")):
        lot.register(bidder_id, no)
    lot.open(T0)
    lot.do(PlaceBid(bidder_id="a", amount=cny("1000000.00"), units=2, ip="10.0.0.1"),
           T0 + 5_000)
    lot.bid("b", "1010000.00", T0 + 10_000, ip="10.0.0.2")
    lot.bid("c", "1020000.00", T0 + 20_000, ip="10.0.0.3")
    lot.bid("d", "1030000.00", T0 + 30_000, ip="10.0.0.4")
    lot.close()
    return lot


def test_the_export_of_a_multi_unit_lot_verifies() -> None:
    lot = plates_lot()
    assert lot.s.outcome is not None
    assert [(a.bidder_no, a.units, a.amount) for a in lot.s.outcome.awards] == [
        ("3310", 1, cny("1010000.00")), ("2090", 1, cny("1010000.00")),
        ("1377", 1, cny("1010000.00"))]
    result = verify(text_of(lot))
    assert result.ok, result.summary
    assert "1 unit to bidder No. 1377 at 1010000.00" in result.summary


def test_a_bid_for_more_units_than_the_cap_is_caught_by_the_rules_with_a_rebuilt_chain(
        ) -> None:
    doc = export_of(plates_lot())
    entry = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted")
    entry["event"]["units"] = 3
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (entry["seq"], "rules")


def test_an_award_of_more_units_is_caught() -> None:
    doc = export_of(plates_lot())
    award = [e for e in doc["events"] if e["event"]["type"] == "LotAwarded"][0]
    award["event"]["units"] = 2
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (award["seq"], "rules")


def test_an_award_changed_to_another_price_is_caught() -> None:
    doc = export_of(plates_lot())
    award = [e for e in doc["events"] if e["event"]["type"] == "LotAwarded"][-1]
    award["event"]["amount"] = cny("1030000.00")
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (award["seq"], "rules")


def test_reports_of_a_multi_unit_lot_name_every_winner() -> None:
    lot = plates_lot()
    public = announcement(lot.s, lot.records)
    assert [(a["bidder_no"], a["units"], a["amount"]) for a in public["outcome"]["awards"]] == [
        ("3310", 1, "1010000.00"), ("2090", 1, "1010000.00"), ("1377", 1, "1010000.00")]
    report = full_report(lot.s, lot.records, [], [], T0 + 4_000_000)
    report_csv(report)
    release = ocds_release(lot.s, lot.records, "ocds-test", "test publisher")
    assert [(a["id"], a["suppliers"][0]["id"], a["value"]["amount"])
            for a in release["awards"]] == [
        ("L-PLATES-award-1", "bidder-3310", Decimal("1010000.00")),
        ("L-PLATES-award-2", "bidder-2090", Decimal("1010000.00")),
        ("L-PLATES-award-3", "bidder-1377", Decimal("1010000.00"))]
    suppliers = {p["id"] for p in release["parties"] if "supplier" in p["roles"]}
    assert suppliers == {"bidder-3310", "bidder-2090", "bidder-1377"}
