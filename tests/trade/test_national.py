"""The transaction result in the national platform's field layout: what it fills from the
record, the notice and the confirmation, what it leaves out."""

import random

from records.sim import HOST, T0, SimLot, honest_companies, honest_lot

from auction.aggregate import replay
from auction.model import CancelLot
from auction.trade.confirmations import (
    CONFIRMATIONS,
    ConfirmationIssued,
    ConfirmationSigned,
)
from auction.trade.national import UNFILLED, national_result
from auction.trade.results import RESULT_NOTICES, ResultNoticePublished


def test_an_awarded_lot_names_its_winner_price_period_and_signature() -> None:
    rng = random.Random(3)
    lot = honest_lot(rng, "L-EN", honest_companies(rng, 3))
    o = lot.s.outcome
    assert o is not None and o.bidder_id is not None and o.amount is not None
    notice = replay(RESULT_NOTICES, "L-EN", [ResultNoticePublished(
        at=o.at, actor="alice", lot_id="L-EN", trade_kind="land", working_days=5,
        starts_at=o.at, ends_at=o.at + 7 * 86_400_000, issuer="中心", contact="",
        bidders=["a"])])
    issued = ConfirmationIssued(at=o.at + 1, actor="alice", lot_id="L-EN",
                                bidder_id=o.bidder_id, bidder_no="1", amount=o.amount,
                                deposit=1, currency="CNY", head_seq=1, head_hash="0" * 64,
                                document_sha256="0" * 64, sign_by=o.at + 9)
    signed = ConfirmationSigned(at=T0 + 3_600_000 + 5_000, actor="1", bidder_id=o.bidder_id,
                                document_sha256="0" * 64)
    confirmation = replay(CONFIRMATIONS, "L-EN", [issued, signed])
    row = national_result(lot.s, lot.records, platform_code="P-33", region_code="330100",
                          center_name="某市公共资源交易中心", notice=notice,
                          confirmation=confirmation, generated_at=T0 + 86_400_000)
    assert row["TRADE_RESULT"] == "成交" and row["TRADE_MODE"] == "网上竞价"
    assert row["WIN_BIDDER_NAME"] == lot.s.bidders[o.bidder_id].name
    assert row["WIN_PRICE"] == f"{o.amount // 100}.{o.amount % 100:02d}"
    assert (row["CURRENCY_CODE"], row["PRICE_UNIT"], row["PRICE_DIRECTION"]) == (
        "156", "元", "增价")
    assert row["TRADE_END_TIME"] == "20260101090000"  # 01:00 UTC is 09:00 in China
    assert row["CONFIRM_SIGN_TIME"] == "20260101090005"
    assert row["PUBLICITY_STATE"] == "stands" and "PUBLICITY_END_TIME" in row
    assert row["RECORD_HASH"] == lot.records[-1].hash
    assert row["PLATFORM_CODE"] == "P-33" and row["REGION_CODE"] == "330100"
    assert not set(row) & set(UNFILLED)


def test_a_failed_or_cancelled_lot_says_so_and_names_nobody() -> None:
    failed = SimLot("L-F").open()
    failed.close()
    row = national_result(failed.s, failed.records, platform_code="", region_code="",
                          center_name="", notice=None, confirmation=None, generated_at=T0)
    assert row["TRADE_RESULT"] == "流拍" and "WIN_BIDDER_NAME" not in row
    assert "PLATFORM_CODE" not in row and "PUBLICITY_START_TIME" not in row
    cancelled = SimLot("L-C")
    cancelled.do(CancelLot(actor=HOST, reason="标的信息有误"), T0)
    row = national_result(cancelled.s, cancelled.records, platform_code="", region_code="",
                          center_name="", notice=RESULT_NOTICES.initial("L-C"),
                          confirmation=CONFIRMATIONS.initial("L-C"), generated_at=T0)
    assert row["TRADE_RESULT"] == "终止" and row["TRADE_RESULT_REASON"] == "标的信息有误"
    assert "TRADE_START_TIME" not in row and "PUBLICITY_STATE" not in row
