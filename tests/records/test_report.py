"""The result announcement, the full report (JSON and CSV) and the OCDS release, built
from simulated lots."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from auction.model import CancelLot, PauseLot, RefundDeposit, ResumeLot
from auction.report import (
    CSV_COLUMNS,
    OCDS_BID_EXTENSION,
    announcement,
    full_report,
    ocds_package,
    ocds_release,
    report_csv,
)

from .sim import HOST, T0, SimLot, params

SECRETS = ("公司 ", "acct-", "10.0.0.", "web:", "b-id")


def awarded() -> SimLot:
    lot = SimLot("L-R", params(closes_at=T0 + 60_000), title="办公设备采购 A-1")
    lot.register("b-id-1", "4821")
    lot.register("b-id-2", "1377")
    lot.register("b-id-3", "2090", deposit=False)
    lot.open()
    lot.bid("b-id-1", "1000000.00", T0 + 1000, ip="10.0.0.1", device="web:one")
    lot.bid("b-id-2", "1010000.00", T0 + 2000, ip="10.0.0.2", device="=cmd|' /C calc'!A0")
    lot.do(PauseLot(actor=HOST, reason="网络故障"), T0 + 3000)
    lot.do(ResumeLot(actor=HOST, reason="已恢复"), T0 + 4000)
    lot.bid("b-id-1", "1020000.00", T0 + 5000, ip="10.0.0.1", device="web:one")
    lot.close()
    lot.do(RefundDeposit(bidder_id="b-id-2", actor=HOST, reason="退还"), T0 + 90_000)
    lot.join("b-id-1", T0 - 5000, "10.0.0.1", "web:one")
    return lot


def test_the_announcement_names_bidders_by_number_only() -> None:
    lot = awarded()
    result = announcement(lot.s, lot.records)
    assert result["status"] == "awarded" and result["title"] == "办公设备采购 A-1"
    assert result["outcome"] == {"status": "awarded", "bidder_no": "4821",
                                 "amount": "1020000.00", "at": T0 + 61_000, "reason": None}
    assert (result["bidders"], result["eligible"], result["bidding"],
            result["bid_count"]) == (3, 2, 2, 3)
    assert result["history"][0] == {"seq": 9, "at": T0 + 1000, "bidder_no": "4821",
                                    "amount": "1000000.00"}
    assert [h["bidder_no"] for h in result["history"]] == ["4821", "1377", "4821"]
    assert result["opened_at"] == T0 and result["ended_at"] == T0 + 61_000
    assert result["start_price"] == "1000000.00" and result["has_reserve"] is False
    awarded_record = next(r for r in lot.records if type(r.event).__name__ == "LotAwarded")
    assert result["record"] == {"last_seq": lot.records[-1].seq,
                                "last_hash": lot.records[-1].hash,
                                "outcome_seq": awarded_record.seq,
                                "outcome_hash": awarded_record.hash}
    text = json.dumps(result, ensure_ascii=False)
    assert not any(secret in text for secret in SECRETS)


def test_the_announcement_of_a_cancelled_lot_has_no_winner() -> None:
    lot = SimLot("L-C")
    lot.register("a")
    lot.do(CancelLot(actor=HOST, reason="法院裁定中止"), T0 - 1000)
    result = announcement(lot.s, lot.records)
    assert result["outcome"]["status"] == "cancelled"
    assert result["outcome"]["reason"] == "法院裁定中止"
    assert result["opened_at"] is None and result["ended_at"] == T0 - 1000
    assert result["history"] == [] and result["record"]["outcome_seq"] == len(lot.records)


def test_an_announcement_before_any_outcome_has_none() -> None:
    lot = SimLot("L-O")
    result = announcement(lot.s, [])
    assert result["outcome"] is None
    assert result["record"] == {"last_seq": 0, "last_hash": None, "outcome_seq": None,
                                "outcome_hash": None}


def test_the_full_report_holds_identities_actions_connections_and_deposits() -> None:
    lot = awarded()
    flags = [{"check": "shared_address", "level": "medium", "bidders": [
        {"bidder_id": "b-id-1", "bidder_no": "4821"}], "message": {"zh": "甲", "en": "A"}}]
    report = full_report(lot.s, lot.records, lot.connections, flags, T0 + 100_000)
    assert report["lot_id"] == "L-R" and report["final"] is True
    assert report["generated_at"] == T0 + 100_000
    assert report["lot"]["register"][0]["name"] == "公司 b-id-1"
    assert [e["seq"] for e in report["timeline"]] == [r.seq for r in lot.records]
    assert report["timeline"][8]["amount"] == "1000000.00"
    assert report["bids"][1] == {"seq": 10, "at": T0 + 2000, "bidder_id": "b-id-2",
                                 "name": "公司 b-id-2", "bidder_no": "1377",
                                 "amount": "1010000.00", "ip": "10.0.0.2",
                                 "device": "=cmd|' /C calc'!A0", "ref": "r9"}
    actions = {a["action"]: a for a in report["staff_actions"]}
    assert actions["LotPaused"]["reason"] == "网络故障" and actions["LotPaused"]["actor"] == HOST
    assert actions["DepositRefunded"]["details"] == {"bidder_id": "b-id-2",
                                                     "amount": "50000.00"}
    assert actions["DepositConfirmed"]["reason"] is None
    assert "LotClosed" not in actions and "BidAccepted" not in actions
    assert report["connections"] == [{**lot.connections[0], "name": "公司 b-id-1"}]
    assert report["deposits"]["to_refund"] == []
    assert report["collusion"] == flags
    assert report["record"]["last_seq"] == lot.records[-1].seq


def test_the_report_of_a_running_lot_is_not_final() -> None:
    lot = SimLot("L-RUN").open()
    connection = {"at": T0, "kind": "join", "role": "host", "staff_id": "h1", "ip": "1.2.3.4",
                  "device": "web:x"}
    report = full_report(lot.s, lot.records, [connection], [], T0 + 1)
    assert report["final"] is False and report["ended_at"] is None
    assert report["connections"][0]["bidder_no"] is None
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert rows[-1]["section"] == "connection" and rows[-1]["detail"] == "h1"
    report["connections"][0].pop("at")  # an entry the log lost its time of: left blank
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert rows[-1]["time"] == "" and rows[-1]["ip"] == "1.2.3.4"


def test_the_csv_is_one_table_with_sections_and_no_formulas() -> None:
    lot = awarded()
    flags = [{"check": "lockstep", "level": "medium",
              "bidders": [{"bidder_id": "b-id-1", "bidder_no": "4821"},
                          {"bidder_id": "b-id-2", "bidder_no": "1377"}],
              "message": {"zh": "同步", "en": "in step"}}]
    report = full_report(lot.s, lot.records, lot.connections, flags, T0 + 100_000)
    text = report_csv(report)
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    sections = [r["section"] for r in rows]
    assert sections.count("event") == len(lot.records)
    assert sections.count("connection") == 1 and sections.count("deposit") == 3
    assert sections.count("flag") == 1
    bid = next(r for r in rows if r["section"] == "event" and r["seq"] == "10")
    assert bid["type"] == "BidAccepted" and bid["amount"] == "1010000.00"
    assert bid["name"] == "公司 b-id-2" and bid["ip"] == "10.0.0.2"
    assert bid["device"] == "'=cmd|' /C calc'!A0"  # shown as text, never run
    assert bid["time"] == "2026-01-01 08:00:02.000 +08:00"
    paused = next(r for r in rows if r["type"] == "LotPaused")
    assert paused["reason"] == "网络故障" and paused["actor"] == HOST
    created = next(r for r in rows if r["type"] == "LotCreated")
    assert "title=办公设备采购 A-1" in created["detail"]
    flag = next(r for r in rows if r["section"] == "flag")
    assert flag["bidder_no"] == "4821 1377" and flag["reason"] == "同步"
    deposit = next(r for r in rows if r["section"] == "deposit" and r["bidder_id"] == "b-id-2")
    assert deposit["type"] == "refunded" and deposit["detail"] == "account=acct-b-id-2"
    utc = list(csv.DictReader(io.StringIO(report_csv(report, -330))))
    assert utc[9]["time"] == "2025-12-31 18:30:02.000 -05:30"
    assert "\r\n" in text


def _decimal_dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False,
                      default=lambda d: str(d) if isinstance(d, Decimal) else None)


def test_the_ocds_release_of_an_awarded_lot() -> None:
    lot = awarded()
    release = ocds_release(lot.s, lot.records, "ocds-abc123", "某市公共资源交易中心")
    assert release["ocid"] == "ocds-abc123-L-R"
    assert release["id"] == f"ocds-abc123-L-R-{lot.records[-1].seq}"
    assert release["tag"] == ["tender", "award"] and release["date"] == "2026-01-01T00:01:01.000Z"
    tender = release["tender"]
    assert tender["status"] == "complete" and tender["procurementMethod"] == "open"
    assert tender["value"] == {"amount": Decimal("1000000.00"), "currency": "CNY"}
    assert tender["awardCriteriaDetails"] == "highest price"
    assert tender["numberOfTenderers"] == 2
    assert tender["tenderers"] == [{"id": "bidder-1377", "name": "竞买号 1377"},
                                   {"id": "bidder-4821", "name": "竞买号 4821"}]
    assert tender["tenderPeriod"] == {"startDate": "2026-01-01T00:00:00.000Z",
                                      "endDate": "2026-01-01T00:01:01.000Z"}
    parties = {p["id"]: p["roles"] for p in release["parties"]}
    assert parties == {"center": ["procuringEntity"], "bidder-1377": ["tenderer"],
                       "bidder-4821": ["tenderer", "supplier"]}
    award = release["awards"][0]
    assert award["value"] == {"amount": Decimal("1020000.00"), "currency": "CNY"}
    assert award["suppliers"] == [{"id": "bidder-4821", "name": "竞买号 4821"}]
    details = release["bids"]["details"]
    assert [d["value"]["amount"] for d in details] == [Decimal("1000000.00"),
                                                       Decimal("1010000.00"),
                                                       Decimal("1020000.00")]
    assert award["relatedBids"] == [details[-1]["id"]]
    stats = {s["measure"]: s["value"] for s in release["bids"]["statistics"]}
    assert stats == {"bids": 3, "validBids": 3, "bidders": 2,
                     "highestValidBidValue": Decimal("1020000.00"),
                     "lowestValidBidValue": Decimal("1000000.00")}
    text = _decimal_dumps(release)
    assert not any(secret in text for secret in SECRETS)


@pytest.mark.parametrize("end, tag, status", [("failed", ["tender"], "unsuccessful"),
                                              ("cancelled", ["tenderCancellation"],
                                               "cancelled")])
def test_the_ocds_release_of_a_lot_without_award(end: str, tag: list[str],
                                                 status: str) -> None:
    lot = SimLot("L-F", params(direction="reverse", ceiling="1000000.00"))
    lot.register("a")
    if end == "failed":
        lot.open().close()
    else:
        lot.do(CancelLot(actor=HOST, reason="撤销"), T0 - 1)
    release = ocds_release(lot.s, lot.records, "ocds-x", "center")
    assert release["tag"] == tag and release["tender"]["status"] == status
    assert "awards" not in release and release["bids"]["details"] == []
    assert release["tender"]["awardCriteriaDetails"] == "lowest price"
    assert [s["measure"] for s in release["bids"]["statistics"]] == ["bids", "validBids",
                                                                     "bidders"]
    if end == "cancelled":
        assert release["tender"]["tenderPeriod"] == {"startDate": None,
                                                     "endDate": "2025-12-31T23:59:59.999Z"}


def test_the_ocds_package_declares_the_bids_extension() -> None:
    package = ocds_package([{"ocid": "x"}], "https://c.example/api/ocds", T0, "中心")
    assert package == {"uri": "https://c.example/api/ocds", "version": "1.1",
                       "publishedDate": "2026-01-01T00:00:00.000Z",
                       "publisher": {"name": "中心"}, "extensions": [OCDS_BID_EXTENSION],
                       "releases": [{"ocid": "x"}]}
