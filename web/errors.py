"""Errors of the web layer and their wire form, for HTTP and WebSocket alike.

Every error leaves as ``{"code", "message": {"zh", "en"}, "detail"}``: ``code`` is stable
and machine-readable, ``message`` is for people, ``detail`` says what exactly was wrong
(a field name, a limit). Business rejections keep the code the rules gave them.
"""

from collections.abc import Mapping
from typing import Any

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
    # Codes of the engine (engine/runtime.py): the record's guards.
    "invalid_input": ("输入含有无法记录的内容（超出范围的数字、无法保存的字符）",
                      "The input holds what the record cannot keep (a number out of range, "
                      "a character that cannot be stored)."),
    "quarantined": ("该标的的记录无法读取，已隔离，请联系管理员",
                    "This lot's record cannot be read: the lot is quarantined; contact the "
                    "operator."),
}


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
