"""The transaction result of an ended lot in the field layout of the national public
resource trading platform's data standard (全国公共资源交易平台数据规范: 交易结果信息),
beside the OCDS release (:mod:`auction.report`). Pure.

Fields are the standard's upper-case codes; values are text, times ``yyyyMMddHHmmss`` in
China time, amounts decimal strings in yuan (元). What the project does not hold is in
:data:`UNFILLED` and left out of each record; docs/after-the-auction.md lists both.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from auction.model import BidAccepted
from auction.money import format_amount
from auction.record import Recorded
from auction.report import _times, announcement
from auction.state import AWARDED, CANCELLED, FAILED, LotState
from auction.trade.confirmations import Confirmation
from auction.trade.results import ResultNotice
from auction.workdays import CHINA

#: 交易方式 of each format.
TRADE_MODES = {"english": "网上竞价", "dutch": "网上减价竞价", "japanese": "网上增价竞价",
               "sealed": "网上密封报价", "multi_round": "网上多轮报价",
               "listing_timed": "网上挂牌"}
#: 交易结果 of each outcome.
RESULTS = {AWARDED: "成交", FAILED: "流拍", CANCELLED: "终止"}
#: ISO 4217 numeric codes (the standard's 币种代码).
CURRENCY_CODES = {"CNY": "156", "USD": "840", "EUR": "978", "HKD": "344", "JPY": "392"}
#: Fields of the standard the project does not hold, and why.
UNFILLED: Mapping[str, str] = {
    "PUB_SERVICE_PLAT_CODE": "the province's public service platform code (assigned on "
                             "joining; not a setting yet)",
    "TENDER_PROJECT_CODE": "the approved project code (项目编号) from the notice (no "
                           "notice module yet)",
    "WIN_BIDDER_CODE": "the winner's unified social credit code (统一社会信用代码): "
                       "bidders are registered by name only",
    "WIN_BIDDER_ROLE_TYPE": "whether the winner is a legal person or natural person",
    "LAND_LOCATION": "the land's location, area, use and term (出让年限): no land data",
    "TRANSFEROR_NAME": "the transferor / seller (出让人), other than the center",
    "CONTRACT_CODE": "the contract's number and signing date (the confirmation is not the "
                     "contract)",
}


def _time(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, CHINA).strftime("%Y%m%d%H%M%S")


def national_result(state: LotState, records: Sequence[Recorded], *, platform_code: str,
                    region_code: str, center_name: str, notice: ResultNotice | None,
                    confirmation: Confirmation | None, generated_at: int) -> dict[str, Any]:
    """The 交易结果信息 record of an ended lot."""
    outcome = state.outcome
    assert outcome is not None  # an ended lot has an outcome
    public = announcement(state, records)
    opened, ended = _times(records)
    decimals = state.params.decimals
    winner = (state.bidders[outcome.bidder_id] if outcome.status == AWARDED
              and outcome.bidder_id is not None else None)
    published = notice.published if notice is not None else None
    signed = confirmation.signed if confirmation is not None else None
    bids = [r for r in records if isinstance(r.event, BidAccepted)]
    row: dict[str, Any] = {
        "PLATFORM_CODE": platform_code or None,
        "REGION_CODE": region_code or None,
        "TRADE_ORG_NAME": center_name or None,
        "BID_SECTION_CODE": state.lot_id,
        "BID_SECTION_NAME": state.title,
        "SESSION_CODE": state.session_id,
        "TRADE_MODE": TRADE_MODES.get(state.format, state.format),
        "PRICE_DIRECTION": "增价" if state.params.direction == "forward" else "减价",
        "TRADE_RESULT": RESULTS[outcome.status],
        "TRADE_RESULT_REASON": outcome.reason,
        "START_PRICE": public["start_price"],
        "CURRENCY_CODE": CURRENCY_CODES.get(state.params.currency, state.params.currency),
        "PRICE_UNIT": "元",
        "WIN_BIDDER_NAME": winner.name if winner else None,
        "WIN_BIDDER_NO": winner.bidder_no if winner else None,
        "WIN_PRICE": (format_amount(outcome.amount, decimals)
                      if winner and outcome.amount is not None else None),
        "DEPOSIT_AMOUNT": format_amount(state.params.deposit, decimals),
        "BIDDER_COUNT": str(public["bidders"]),
        "VALID_BIDDER_COUNT": str(public["eligible"]),
        "BID_COUNT": str(len(bids)),
        "TRADE_START_TIME": _time(opened),
        "TRADE_END_TIME": _time(ended),
        "PUBLICITY_START_TIME": _time(published.starts_at) if published else None,
        "PUBLICITY_END_TIME": _time(published.ends_at) if published else None,
        "PUBLICITY_STATE": (notice.award if notice is not None and published else None),
        "CONFIRM_SIGN_TIME": _time(signed.at) if signed else None,
        "RECORD_HASH": public["record"]["last_hash"],
        "DATA_TIMESTAMP": _time(generated_at),
    }
    return {k: v for k, v in row.items() if v is not None}
