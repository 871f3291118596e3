"""Records of a lot with proxy bidding: the export verifies (every automatic bid is
decided again from the maximum that caused it), tampering is caught, and the reports
keep each maximum from everybody but staff after the end."""

from __future__ import annotations

import json
from typing import Any

from auction.collusion import check_lot
from auction.model import Act
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import verify

from .sim import T0, SimLot, cny, params
from .test_verify import export_of, failure, rechain, text_of


def proxy_lot() -> SimLot:
    lot = SimLot("L-PROXY", params(proxy=True, extend_window_s=60, extend_s=120))
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.open(T0)
    lot.do(Act(bidder_id="a", act="proxy", amount=cny("1080000.00"), ip="10.0.0.1",
               device="web:aa", ref="p1"), T0 + 5_000)
    lot.bid("b", "1030000.00", T0 + 10_000, ip="10.0.0.2", device="web:bb")
    lot.do(Act(bidder_id="c", act="proxy", amount=cny("1060000.00"), ip="10.0.0.3",
               device="web:cc", ref="p2"), T0 + 20_000)
    lot.do(Act(bidder_id="c", act="proxy", amount=cny("1200000.00"), ip="10.0.0.3",
               device="web:cc", ref="p3"), T0 + 3_590_000)
    lot.close()
    return lot


def test_the_export_of_a_lot_with_proxies_verifies() -> None:
    lot = proxy_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_no == "2090"
    assert lot.s.outcome.amount == cny("1090000.00")
    result = verify(text_of(lot))
    assert result.ok, result.summary


def test_a_changed_maximum_is_caught_by_the_rules_even_with_a_rebuilt_chain() -> None:
    doc = export_of(proxy_lot())
    entry = next(e for e in doc["events"] if e["event"]["type"] == "ProxySet")
    entry["event"]["amount"] = cny("1010000.00")
    seq, kind, _ = failure(rechain(doc))
    assert kind == "rules" and seq is not None and seq > entry["seq"]


def test_an_automatic_bid_claimed_as_the_bidders_own_is_caught() -> None:
    doc = export_of(proxy_lot())
    auto = next(e for e in doc["events"]
                if e["event"]["type"] == "BidAccepted" and e["event"]["actor"] == "system")
    auto["event"]["actor"] = auto["event"]["bidder_no"]
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (auto["seq"], "rules")


def test_reports_of_a_proxy_lot_do_not_crash_and_the_announcement_hides_maxima() -> None:
    lot = proxy_lot()
    public: dict[str, Any] = announcement(lot.s, lot.records)
    assert "1200000.00" not in json.dumps(public)
    report = full_report(lot.s, lot.records, [], [f.to_dict() for f in check_lot(lot.record())],
                         T0 + 4_000_000)
    report_csv(report)
    ocds_release(lot.s, lot.records, "ocds-test", "test publisher")
    check_lot(lot.record())


def test_automatic_bids_answering_at_once_are_not_taken_for_lock_step_bidding() -> None:
    lot = SimLot("L-PROXY-2", params(proxy=True))
    lot.register("a", "4821")
    lot.register("b", "1377")
    lot.open(T0)
    lot.do(Act(bidder_id="a", act="proxy", amount=cny("1200000.00")), T0 + 1_000)
    for n in range(8):
        price = lot.s.best + cny("10000.00")  # type: ignore[operator]
        lot.bid("b", price, T0 + 60_000 * (n + 1), ip="10.0.0.2", device="web:bb")
    assert sum(1 for e in lot.events if getattr(e, "actor", "") == "system") == 9
    assert [f for f in check_lot(lot.record()) if f.check == "lockstep"] == []
