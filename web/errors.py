"""Errors of the web layer and their wire form, for HTTP and WebSocket alike.

Every error leaves as ``{"code", "message": {"zh", "en"}, "detail"}``: ``code`` is stable
and machine-readable, ``message`` is for people, ``detail`` says what exactly was wrong
(a field name, a limit). Business rejections keep the code the rules gave them.
"""

from collections.abc import Mapping
from typing import Any

import orjson

import auction.lot  # noqa: F401 (its formats add their codes to auction.messages)
import auction.trade.accounts  # noqa: F401 (the trade's deciders add theirs)
import auction.trade.applications  # noqa: F401
import auction.trade.confirmations  # noqa: F401 (its codes too)
import auction.trade.deposits_bank  # noqa: F401 (its flags and codes, likewise)
import auction.trade.notices  # noqa: F401
import auction.trade.outbox  # noqa: F401 (its codes too)
import auction.trade.results  # noqa: F401 (its codes too)
from auction.messages import MESSAGES as RULE_MESSAGES
from auction.messages import message as rule_message

#: Messages of the codes the web layer adds to those of :mod:`auction.messages`.
WEB_MESSAGES: dict[str, tuple[str, str]] = {
    "bad_json": ("消息不是有效的 JSON", "The message is not valid JSON."),
    "bad_request": ("请求格式不正确", "The request is malformed."),
    "bad_message": ("消息格式不正确", "The message is malformed."),
    "unknown_type": ("未知的消息类型", "Unknown message type."),
    "unauthorized": ("缺少或无效的访问令牌", "A valid access token is required."),
    "not_found": ("未找到", "Not found."),
    "unknown_lot": ("未找到该标的", "No such lot."),
    "not_ended": ("标的尚未结束，结果尚未公布", "The lot has not ended: no result yet."),
    "unknown_session": ("未找到该竞价会", "No such session."),
    "method_not_allowed": ("不支持该请求方法", "Method not allowed."),
    "too_large": ("消息过大", "The message is too large."),
    "request_timeout": ("请求发送过慢，已超时", "The request was not sent in time."),
    "not_subscribed": ("尚未订阅该标的", "You are not subscribed to this lot."),
    "too_many_subscriptions": ("订阅的标的过多", "Too many subscriptions on one connection."),
    "too_many_connections": ("来自同一地址的连接过多",
                             "Too many connections from this network address."),
    "bad_seq": ("序号超出标的当前进度", "after_seq is beyond the lot's last event."),
    "unavailable": ("服务暂不可用，请稍后重试", "The service is unavailable; try again later."),
    "internal_error": ("服务器内部错误", "Internal server error."),
    "bad_signature": ("银行通知签名无效或已过期", "The bank notification's signature is "
                                                 "missing, wrong or too old."),
    "bank_not_configured": ("未配置银行通知密钥", "Bank notifications are not configured."),
    "bad_statement": ("银行流水文件无法读取", "The bank statement cannot be read."),
    # Codes of the engine (engine/runtime.py): the record's guards.
    "invalid_input": ("输入含有无法记录的内容（超出范围的数字、无法保存的字符）",
                      "The input holds what the record cannot keep (a number out of range, "
                      "a character that cannot be stored)."),
    # Codes of the trade around a lot (web/trade.py, web/bidders.py, web/barred.py).
    "winner_barred": ("中标人或其联合体成员现列入禁止参与名单（如失信被执行人），本步骤不予办理；"
                      "请撤销成交或认定违约后由次高者递补或重新挂牌",
                      "The winner or a consortium member is now on the barred parties list "
                      "(e.g. dishonest judgment debtors): this step of the award is refused; "
                      "annul the award, or declare a default and go to the runner-up or "
                      "relist."),
    "weak_password": ("密码强度不足：至少 10 位，含大写、小写、数字、符号中的三类，且不含证件号码",
                      "The password is too weak: at least 10 characters of three kinds, "
                      "not holding the code."),
    "login_failed": ("登录失败：证件号码、密码或动态验证码不正确",
                     "Login failed: the code, the password or the one-time code is wrong."),
    "passkey_failed": ("通行密钥登录失败（挑战已使用或过期、密钥未注册或签名计数异常）",
                       "Passkey login failed (the challenge is used or expired, the passkey "
                       "is not registered, or its counter went back)."),
    "passkey_refused": ("通行密钥未能添加（挑战已使用或过期，或验证未通过）",
                        "The passkey was not added (the challenge is used or expired, or the "
                        "answer did not verify)."),
    "csrf": ("请求缺少有效的防伪造令牌，请刷新页面后重试",
             "The request lacks a valid anti-forgery token: reload the page."),
    "unsupported_type": ("文件类型不支持（仅限 PDF、PNG、JPEG）",
                         "Unsupported file type (PDF, PNG or JPEG only)."),
    "quarantined": ("该标的的记录无法读取，已隔离，请联系管理员",
                    "This lot's record cannot be read: the lot is quarantined; contact the "
                    "operator."),
}


#: Texts of codes the pages themselves show (no server sends them): failures of the
#: connection or of a request that got no answer.
PAGE_MESSAGES: dict[str, tuple[str, str]] = {
    "server_error": ("服务器错误，请稍后再试", "Server error; try again later."),
    "offline": ("未连接服务器，报价未发送", "Not connected: the bid was not sent."),
    "connection_lost": ("连接中断，报价结果未知，请核对“我的报价记录”",
                        "Connection lost: check “My bids” to see whether the bid counted."),
    "timeout": ("服务器未及时响应，请核对“我的报价记录”",
                "No answer from the server: check “My bids”."),
    "network": ("网络错误，请检查连接", "Network error: check the connection."),
    "sign_failed": ("本设备无法为报价签名，报价未发送",
                    "This device could not sign the bid: it was not sent."),
    "passkey_cancelled": ("通行密钥操作已取消或未完成",
                          "The passkey prompt was cancelled or did not finish."),
    "error": ("操作失败", "The action failed."),
}


def catalogue() -> dict[str, dict[str, str]]:
    """The one catalogue of codes and their texts (``code -> {"zh", "en"}``): the rules'
    codes, the web layer's and the pages' own. Served to the pages at
    ``GET /api/errors.json``."""
    codes = {**RULE_MESSAGES, **WEB_MESSAGES, **PAGE_MESSAGES}
    return {code: {"zh": zh, "en": en} for code, (zh, en) in sorted(codes.items())}


#: :func:`catalogue` encoded once.
CATALOGUE_JSON = orjson.dumps(catalogue())


def describe(code: str) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` for a web or rules code (unknown codes echo the code)."""
    if code in WEB_MESSAGES:
        zh, en = WEB_MESSAGES[code]
        return {"zh": zh, "en": en}
    return rule_message(code)


def error_body(code: str, detail: str = "") -> dict[str, Any]:
    """The ``{"code", "message", "detail"}`` object of an error."""
    return {"code": code, "message": describe(code), "detail": detail}


class WebError(Exception):
    """A request the web layer refuses: ``status`` for HTTP, ``code`` for both protocols."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


def lot_missing(quarantined: Mapping[str, str], lot_id: str) -> WebError:
    """The error for a lot the engine has no state of: 503 ``quarantined`` (with the
    reason) when its record could not be read back, else 404 ``unknown_lot``."""
    reason = quarantined.get(lot_id)
    if reason is not None:
        return WebError(503, "quarantined", reason)
    return WebError(404, "unknown_lot", f"no lot {lot_id!r}")
