"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /api/openapi.json``.

Made from the route table (:data:`web.routes.ROUTES`, the one the router is built from):
every request body and successful answer is the JSON Schema of the struct (from
:mod:`web.schemas`) its route declares there, lot parameters one schema per format.
What this module adds is prose: summaries, who may call, the error statuses and codes,
the query parameters.
"""

import copy
import json
from collections.abc import Mapping
from typing import Any

import msgspec

from auction.trade.applications import APPLICATION_STATUSES
from auction.trade.notices import PHASES, TRADE_KINDS
from web.schemas import (
    FORMAT_EXAMPLES,
    FORMAT_PARAMS,
    LOTS_PAGE,
    MAX_INT,
    Document,
    Error,
)

#: The component name of each format's parameters in the documents.
PARAMS_NAMES = {cls.__name__: f"LotParams_{name}" for name, cls in FORMAT_PARAMS.items()}
_REF = "#/components/schemas/{name}"


def components(types: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The JSON Schemas of ``types`` (references into ``#/components/schemas``) and the
    components they refer to, with the documents' names and examples."""
    schemas, defs = msgspec.json.schema_components(types, ref_template=_REF)
    text = json.dumps([schemas, defs])
    for old, new in PARAMS_NAMES.items():
        text = text.replace(f'"{_REF.format(name=old)}"', f'"{_REF.format(name=new)}"')
    schemas, defs = json.loads(text)
    for old, new in PARAMS_NAMES.items():
        if old in defs:
            defs[new] = {**defs.pop(old), "title": new}
    for name, example in FORMAT_EXAMPLES.items():
        if f"LotParams_{name}" in defs:
            defs[f"LotParams_{name}"]["examples"] = [example]
    for schema in defs.values():  # a tag (or any single choice) as a constant
        for prop in schema.get("properties", {}).values():
            if list(prop) == ["enum"] and len(prop["enum"]) == 1:
                prop["const"] = prop.pop("enum")[0]
    return schemas, dict(sorted(defs.items()))




def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int, codes: dict[int, str] | None = None) -> dict[str, Any]:
    text = {400: "Bad input (bad_json, bad_request, invalid_amount, invalid_params, ...)",
            401: "Missing or unknown token (unauthorized, bad_token)",
            403: "Not allowed (forbidden): a supervisor acting, a bidder token on a staff route",
            404: "Unknown lot (unknown_lot) or bidder (unknown_bidder)",
            409: "Rejected by the auction rules; the code says why (invalid_state, exists, "
                 "already_registered, deposit_too_low, bad_deadline, ...)",
            415: "Unsupported media type (unsupported_type)",
            429: "Too many attempts (rate_limited)",
            408: "The body was not received within the body timeout (request_timeout)",
            413: "Body larger than 64 KiB (too_large)",
            503: "The engine cannot serve now (unavailable)"}
    text.update(codes or {})
    return {str(s): {"description": text[s], **_json({"$ref": _REF.format(name="Error")})}
            for s in statuses}


def _op(summary: str, ok: int = 200, *, errors: tuple[int, ...] = (), staff: bool = False,
        params: list[dict[str, Any]] | None = None, description: str = "",
        codes: dict[int, str] | None = None) -> dict[str, Any]:
    """An operation; its body and its answer's schema are added from
    :data:`web.routes.ROUTES` (:func:`_document`)."""
    op: dict[str, Any] = {"summary": summary, "responses": {
        str(ok): {"description": "OK"}, **_errors(*errors, codes=codes)}}
    if description:
        op["description"] = description
    if staff:
        op["security"] = [{"staffToken": []}]
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_LOT = [_path_param("lot_id")]
_BIDDER = [_path_param("lot_id"), _path_param("bidder_id")]
_STAFF_ERRORS = (401, 403, 404)
#: A multi-unit lot's winner, where a lot has one confirmation per winner (staff).
_BIDDER_NO = _query("bidder_no", {"type": "string"}, "a multi-unit lot: the winner whose "
                    "confirmation staff read (default: the first); a winner reads its own")
_ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 503)
#: The steps of an award where the barred list is checked again (docs/trade.md).
_WINNER_BARRED = (" 409 winner_barred: the winner or a consortium member is on the barred "
                  "list now (recorded on its application; 503 unavailable when the list "
                  "cannot be read).")
#: The answers of reading a body, added to every operation that reads one.
_BODY_ERRORS = (408, 413)


def _action(summary: str, description: str = "") -> dict[str, Any]:
    return {"post": _op(summary, errors=_ACTION_ERRORS, staff=True, params=_LOT,
                        description=description)}


_SESSION_QUERY = [_query("session_id", {"type": "string"}, "only the lots of this session")]
#: A UTC offset from -14:00 to +14:00.
_TZ = r"^[+-]?((0?[0-9]|1[0-3]):[0-5][0-9]|14:00)$"
_ENDED = ("409 not_ended until the lot is awarded, failed or cancelled.")
#: Staff records that would show prices nobody may see yet (auction.formats.withheld).
_SEALED = ("409 sealed while the lot's bids are not revealed yet: a sealed lot before its "
           "opening, a multi_round lot under way, a lot with a reserve entered late before "
           "it ends.")

_NOTICE = [_path_param("notice_id")]
_APPLICATION = [_path_param("application_id")]
_ACCOUNT = ("Bidder account: the session cookie of POST /api/account/login, and on every "
            "action the X-CSRF-Token header it answered (401 unauthorized without a "
            "session, 403 csrf without the header).")
_TRADE_ERRORS = {400: "Bad input: bad_json, bad_request, invalid_params, ...",
                 404: "not_found, unknown_lot, unknown_application, unknown_question",
                 409: "Refused by the rules; the code says why (period_too_short, "
                      "invalid_schedule, not_published, window_closed, barred, exists, "
                      "invalid_state, ...)"}
_NOTICE_BODY = ("The schedule is checked against the center's minimum periods for the kind "
                "of trade (trade_periods), in calendar or working days: 409 "
                "period_too_short or invalid_schedule. Every lot must exist (400 "
                "unknown_lot) and, when it opens by itself, open at bidding_at (409 "
                "invalid_schedule). flags lists years the holiday calendar does not know.")
_STATUS_QUERY = _query("status", {"enum": list(APPLICATION_STATUSES)},
                       "only applications in this status")
#: The operations of the trade around a lot (web/trade.py, docs/trade.md).
_TRADE_PATHS: dict[str, dict[str, dict[str, Any]]] = {
    "/api/notices": {
        "get": _op("Published notices, newest first (public)", params=[
            _query("kind", {"enum": list(TRADE_KINDS)}, "only notices of this kind of trade"),
            _query("phase", {"enum": list(PHASES)}, "only notices in this phase")],
            errors=(400,)),
        "post": _op("Publish a notice (公告, host)", 201, staff=True,
                    errors=(400, 401, 403, 409, 503), codes=_TRADE_ERRORS,
                    description=_NOTICE_BODY),
    },
    "/api/notices/{notice_id}": {"get": _op(
        "A notice with its Q&A (public; askers are never named)", errors=(404,),
        params=_NOTICE)},
    "/api/notices/{notice_id}/amend": {"post": _op(
        "Amend a notice (更正公告, host, with a reason)", staff=True, params=_NOTICE,
        errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS,
        description="A change of anything but the title is material: the periods are "
                    "counted again from now. " + _NOTICE_BODY)},
    "/api/notices/{notice_id}/withdraw": {"post": _op(
        "Withdraw a notice (host, with a reason)", staff=True, params=_NOTICE,
        errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS)},
    "/api/notices/{notice_id}/questions": {"post": _op(
        "Ask a question about a notice (bidder account)", 201, params=_NOTICE,
        errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS, description=_ACCOUNT)},
    "/api/notices/{notice_id}/questions/{no}/answer": {"post": _op(
        "Answer a question in public (host)", staff=True,
        params=[*_NOTICE, _path_param("no")], errors=(400, 401, 403, 404, 409, 503),
        codes=_TRADE_ERRORS)},
    "/api/accounts": {"post": _op(
        "Register a bidder account (organisation or person)", 201,
        errors=(400, 409, 503), codes={
            400: "Bad input: bad_request, invalid_party_code (the credit code's or "
                 "identity number's check character), weak_password",
            409: "exists: an account for this code exists"},
        description="Answers the TOTP secret once: the second factor of every login.")},
    "/api/account/login": {"post": _op(
        "Log in (code, password, TOTP code): a session cookie and the CSRF token",
        errors=(400, 401, 429, 503), codes={
            401: "login_failed, whatever was wrong",
            429: "rate_limited: too many failed logins for the account or the address"})},
    "/api/account/logout": {"post": _op("Log out (clears the session cookie)",
                                        errors=(400,))},
    "/api/account/passkeys/options": {"post": _op(
        "Options to add a passkey (WebAuthn): navigator.credentials.create's publicKey",
        errors=(400, 401, 403), description=_ACCOUNT + " The challenge is single-use and "
                                                       "valid 120 s.")},
    "/api/account/passkeys": {"post": _op(
        "Add a passkey: the browser's PublicKeyCredential (toJSON) answering the options",
        201, errors=(400, 401, 403, 409), description=_ACCOUNT, codes={
            400: "passkey_refused: the challenge is unknown, used or expired, or the "
                 "answer does not verify (origin, relying party, signature)",
            409: "exists: the passkey is the account's already"})},
    "/api/account/passkey-login/options": {"post": _op(
        "Options to log in with a passkey: navigator.credentials.get's publicKey",
        errors=(400,), description="Names no account: the authenticator offers its "
                                   "discoverable passkeys. Single-use challenge, 120 s.")},
    "/api/account/passkey-login": {"post": _op(
        "Log in with a passkey: a session cookie and the CSRF token",
        errors=(400, 401, 429), codes={
            401: "passkey_failed: the challenge is unknown, used or expired, the passkey is "
                 "not one of an account's, the signature does not verify or its counter "
                 "did not move forward",
            429: "rate_limited: too many failed logins from the address"})},
    "/api/account": {"get": _op(
        "The account's page: applications, deposits, review, rooms, results",
        errors=(401,), description=_ACCOUNT)},
    "/api/lots/{lot_id}/applications": {"post": _op(
        "Apply for a lot (竞买申请, bidder account) during its notice's window", 201,
        params=_LOT, errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS,
        description=_ACCOUNT + " accept_terms must be true; the barred list is checked "
                               "(409 barred).")},
    "/api/applications": {"get": _op(
        "The reviewer queue (staff)", staff=True, errors=(400, 401, 403),
        params=[_STATUS_QUERY, _query("lot_id", {"type": "string"}, "only this lot's")])},
    "/api/applications/{application_id}": {"get": _op(
        "An application (staff, or its own account: with the room link once admitted)",
        params=_APPLICATION, errors=(401, 404), codes=_TRADE_ERRORS)},
    "/api/applications/{application_id}/documents": {"post": _op(
        "Upload a document of an application (bidder account)", 201, params=[
            *_APPLICATION, _query("name", {"type": "string"}, "the document's name")],
        errors=(400, 401, 403, 404, 409, 413, 415, 503), codes={
            **_TRADE_ERRORS, 413: "too_large: over upload_max_bytes",
            415: "unsupported_type: not PDF, PNG or JPEG (by Content-Type and first bytes)"},
        description=_ACCOUNT + " The body is the file's bytes; stored by its SHA-256, "
                               "which the record keeps.")},
    "/api/applications/{application_id}/review": {"post": _op(
        "Pre-qualification review (资格前审, host): approve, or reject with a reason",
        staff=True, params=_APPLICATION, errors=(400, 401, 403, 404, 409, 503),
        codes=_TRADE_ERRORS, description="An approval with the deposit counted admits "
                                         "the applicant to the lot.")},
    "/api/applications/{application_id}/winner-review": {"post": _op(
        "Post-qualification review of the winner (资格后审, host)", staff=True,
        params=_APPLICATION, errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS)},
    "/api/applications/{application_id}/deposit": {"post": _op(
        "Confirm an application's deposit by hand (host, with a reason)", staff=True,
        params=_APPLICATION, errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS,
        description="The audited override of the bank's match; admits the applicant "
                    "when that makes it eligible.")},
    "/api/applications/{application_id}/withdraw": {"post": _op(
        "Withdraw an application (bidder account, before admission)", params=_APPLICATION,
        errors=(400, 401, 403, 404, 409, 503), codes=_TRADE_ERRORS, description=_ACCOUNT)},
}

#: The operations of every route in :data:`web.routes.ROUTES`, by path and method.
_PATHS: dict[str, dict[str, dict[str, Any]]] = {
    "/healthz": {"get": _op("Liveness")},
    "/readyz": {"get": _op("Readiness", description=(
        "200 when the engine can serve commands; 503 with `reasons` (check -> why: "
        "engine, store, redis, redis_fanout, postgres, postgres_lag) when it cannot. "
        "`quarantined` lists lots whose record cannot be read (lot id -> why); the others "
        "are served."))},
    "/api/openapi.json": {"get": _op("This document")},
    "/api/asyncapi.json": {"get": _op("The AsyncAPI document of the WebSocket protocol")},
    "/api/errors.json": {"get": _op(
        "Every error and rejection code with its texts (code -> {zh, en})",
        description="The one catalogue of the texts the pages show.")},
    "/api/time": {"get": _op("Server time")},
    "/.well-known/auction-receipt-key": {"get": _op(
        "The public key of the server's receipts (Ed25519)",
        description="Every `ack` carries `receipt`, this key's signature over lot, seq, "
                    "hash, amount and act (docs/records.md, Receipts).")},
    "/api/sessions": {
        "get": _op("Every session, in order of creation"),
        "post": _op("Create a session (host)", 201, errors=(400, 401, 403, 409, 413, 503),
                    staff=True),
    },
    "/api/lots": {
        "get": _op("Every lot, a page at a time in order of creation: public views, "
                   "staff views with a staff token",
                   errors=(400, 401), codes={400: "bad_request: a limit out of range",
                                             401: "unauthorized: a token that is neither a "
                                              "staff token nor a valid bidder token (a "
                                              "bidder token gets the public views)"},
                   params=[*_SESSION_QUERY,
                           _query("after", {"type": "string"},
                                  "the next of the page before (default: from the first)"),
                           _query("limit", {"type": "integer", "minimum": 1,
                                            "maximum": LOTS_PAGE},
                                  f"at most this many lots (default {LOTS_PAGE})")]),
        "post": _op("Create a lot in draft (host); answers its staff view", 201,
                    errors=(400, 401, 403, 409, 413, 503), staff=True,
                    codes={400: "Bad input: bad_json, bad_request (the body's shape), "
                                "invalid_amount (an amount among the format's "
                                "parameters: its key is the error's field), "
                                "invalid_params (any other parameter, or an unknown "
                                "format), unknown_session",
                           409: "exists: a lot with this lot_id exists"},
                    description="The body depends on the lot's format: one schema per "
                                "format (CreateLot_<format>), each with its format's "
                                "parameters and an example."),
    },
    "/api/lots/{lot_id}": {"get": _op(
        "One lot as the caller may see it", errors=(401, 404), params=_LOT,
        description="No token, or a bidder token of another lot: the public view. A staff "
                    "token: the staff view. A bidder token of this lot: that bidder's view.",
        codes={401: "unauthorized (an unknown token), bad_token (a bidder token that "
                    "is expired, revoked, forged or of a bidder not registered here)",
               404: "unknown_lot"})},
    "/api/lots/{lot_id}/bids": {"get": _op(
        "Every accepted bid with identities, address and device (staff)",
        errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT, description=_SEALED)},
    "/api/lots/{lot_id}/events": {"get": _op(
        "The lot's hash-chained record (staff)", errors=(400, 401, 403, 404, 409),
        staff=True, description=_SEALED,
        params=[*_LOT, _query("after", {"type": "integer", "minimum": 0, "maximum": MAX_INT},
                              "only events with seq > after (default 0)"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000},
                       "at most this many events (default 1000)")])},
    "/api/lots/{lot_id}/bidders": {"post": _op(
        "Register a bidder (host): random bidder number and a bidder token", 201,
        errors=_ACTION_ERRORS, staff=True, params=_LOT,
        codes={400: "Bad input: bad_json, bad_request, invalid_params",
               404: "unknown_lot",
               409: "Rejected by the rules: invalid_state (registration has ended), "
                    "already_registered"})},
    "/api/lots/{lot_id}/bidders/{bidder_id}/deposit": {"post": _op(
        "Confirm a bidder's deposit (host)", errors=_ACTION_ERRORS, staff=True,
        params=_BIDDER,
        description="With bank notifications configured (bank_secret) and the bidder "
                    "paying through its deposit reference, confirming by hand overrides "
                    "the bank: the reason is then required (reason_required).",
        codes={400: "Bad input: bad_json, bad_request, invalid_amount (the amount), "
                    "invalid_params, reason_required",
               404: "unknown_lot",
               409: "Rejected by the rules: invalid_state, unknown_bidder, "
                    "deposit_too_low"})},
    "/api/lots/{lot_id}/bidders/{bidder_id}/token": {"post": _op(
        "Issue a new token for a registered bidder (host)",
        errors=(400, 401, 403, 404, 413), staff=True, params=_BIDDER)},
    "/api/lots/{lot_id}/bidders/{bidder_id}/revoke": {"post": _op(
        "Revoke every token issued so far to a bidder (host)", errors=_ACTION_ERRORS,
        staff=True, params=_BIDDER,
        description="Recorded as a TokensRevoked event with the host and the reason. The "
                    "revoked tokens are refused from then on and the bidder's open "
                    "WebSockets are closed (4003); issue a new token with .../token.")},
    "/api/lots/{lot_id}/schedule": _action(
        "Schedule a draft lot (host)",
        "The reason, when given, is recorded in the LotScheduled event."),
    "/api/lots/{lot_id}/start": _action(
        "Open a scheduled lot now (host)",
        "The reason, when given, is recorded in the LotOpened event."),
    "/api/lots/{lot_id}/pause": _action("Pause an open lot (host)"),
    "/api/lots/{lot_id}/resume": _action("Resume a paused lot (host)"),
    "/api/lots/{lot_id}/extend": _action("Move the closing time later (host)"),
    "/api/lots/{lot_id}/cancel": _action("Cancel a lot (host)"),
    "/api/lots/{lot_id}/announce": _action(
        "Announce something to the lot's bidders (host)",
        "Recorded as Announced; every room and the board show it, until the lot ends."),
    "/api/lots/{lot_id}/reserve": {"post": _op(
        "Enter the lot's reserve, a reverse lot's internal ceiling (host)",
        errors=_ACTION_ERRORS, staff=True, params=_LOT, description=(
            "A lot with reserve_entry only. The server draws a salt and records "
            "ReserveEntered: everyone sees its commitment sha256(\"<amount in minor "
            "units>:<salt>\"), nobody (staff included) the amount before the lot ends. A "
            "pending entry may be replaced; an approved one never changes. 409 "
            "reserve_entry_off, reserve_entry_closed (after the deadline, or the lot "
            "opened with nothing entered), reserve_fixed, invalid_state."))},
    "/api/lots/{lot_id}/reserve/approve": {"post": _op(
        "Approve the pending reserve entry (supervisor)",
        errors=_ACTION_ERRORS, staff=True, params=_LOT, description=(
            "A supervisor's token only (a host gets 403): the second person of the entry. "
            "Names the commitment approved; recorded as ReserveApproved. 409 "
            "same_person (the supervisor entered it), commitment_mismatch, "
            "no_pending_reserve, reserve_fixed, reserve_entry_closed."))},
    "/api/lots/{lot_id}/questions": {"post": _op(
        "Ask the host a question or raise an objection (bidder token)",
        errors=(400, 401, 403, 404, 409, 413, 503), params=_LOT, description=(
            "While the lot is open or suspended. Recorded as QuestionAsked; staff see it "
            "whole, the asker in its own view, everyone else only that something was "
            "recorded at that sequence number."))},
    "/api/lots/{lot_id}/questions/{seq}/answer": {"post": _op(
        "Answer a question or objection (host)", errors=_ACTION_ERRORS, staff=True,
        params=[_path_param("lot_id"), _path_param("seq")], description=(
            "Recorded as QuestionAnswered; the asker and staff see it, everyone with "
            "public true (never the asker's identity). 409 unknown_question, "
            "already_answered."))},
    # The record (web/records.py, docs/records.md): results, reports, exports, OCDS,
    # deposits, collusion checks.
    "/api/lots/{lot_id}/result": {"get": _op(
        "The result announcement (结果公示) of an ended lot (public)", errors=(404, 409),
        params=_LOT, description=(
            "Winner's bidder number, price and time, numbers of bidders and bids, the price "
            "history (bidder numbers only) and the chain hashes of the outcome and of the "
            "last event. " + _ENDED))},
    "/api/lots/{lot_id}/ocds": {"get": _op(
        "The lot as an OCDS 1.1 release package (public)", errors=(404, 409),
        params=_LOT, description="Open Contracting Data Standard with the bids extension; "
                                 "amounts are exact JSON numbers. " + _ENDED)},
    "/api/ocds": {"get": _op("Every ended lot as an OCDS 1.1 release package (public)",
                             params=_SESSION_QUERY)},
    "/api/lots/{lot_id}/report": {"get": _op(
        "The full report (staff): timeline, bids with identities, staff actions, "
        "connections, deposits, collusion flags",
        errors=(400, *_STAFF_ERRORS, 409), staff=True, description=_SEALED,
        params=[*_LOT, _query("format", {"enum": ["json", "csv"]},
                              "csv: one table, UTF-8 with a byte-order mark"),
                _query("tz", {"type": "string", "examples": ["+08:00"], "pattern": _TZ},
                       "UTC offset of the CSV's times (default +08:00)")])},
    "/api/lots/{lot_id}/export": {"get": _op(
        "The lot's verifiable export (staff): events, hashes, outcome",
        errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT,
        description="Check it offline with `auction verify FILE` (docs/records.md). "
                    + _SEALED)},
    "/api/lots/{lot_id}/deposits": {"get": _op(
        "The deposits ledger (staff): status of every deposit, what is to be refunded",
        errors=_STAFF_ERRORS, staff=True, params=_LOT)},
    **{f"/api/lots/{{lot_id}}/bidders/{{bidder_id}}/deposit/{action}": {"post": _op(
        f"{summary} (host, after the lot ended)", errors=_ACTION_ERRORS, staff=True,
        params=_BIDDER)}
       for action, summary in (("refund", "Record a deposit as refunded"),
                               ("forfeit", "Record a deposit as forfeited"),
                               ("apply", "Record the winner's deposit as applied to its "
                                         "payment"))},
    "/api/lots/{lot_id}/collusion": {"get": _op(
        "Collusion checks of one lot (staff)", errors=(*_STAFF_ERRORS, 409), staff=True,
        params=_LOT, description=_SEALED)},
    "/api/collusion": {"get": _op(
        "Collusion checks of every lot and across lots (staff)", errors=(401, 403),
        staff=True, params=_SESSION_QUERY)},
    **_TRADE_PATHS,
    # Deposits and payments through the bank (web/bank.py, docs/bank.md).
    "/api/bank/notifications": {"post": _op(
        "A bank's signed notification of money that arrived (the bank)",
        errors=(400, 401, 409, 413, 503),
        codes={401: "bad_signature: X-Bank-Timestamp / X-Bank-Signature missing, wrong, "
                    "or the timestamp outside the replay window",
               409: "conflict: the transaction id was received with other content",
               503: "bank_not_configured (no bank_secret), unavailable"},
        description="HMAC-SHA256 of `timestamp.body` with the bank secret (docs/bank.md). "
                    "Idempotent by transaction_id: the same notification again answers its "
                    "outcome with duplicate: true and changes nothing.")},
    "/api/bank/statements": {"post": _op(
        "Import a bank statement (host): CSV, UTF-8 or GBK, base64", errors=(
            400, 401, 403, 409, 413, 503), staff=True,
        codes={400: "bad_statement (a column missing, a row that cannot be read: "
                    "nothing is imported), bad_request"})},
    "/api/bank/ledger": {"get": _op(
        "The bank ledger (staff): references, arrivals with flags, refunds due and "
        "overdue, what each lot holds", errors=(401, 403), staff=True)},
    "/api/bank/refunds/confirmations": {"post": _op(
        "The bank's confirmations of refunds paid (host)", errors=(
            400, 401, 403, 409, 413, 503), staff=True,
        codes={409: "unknown_transfer, not_refundable (not exported, or settled "
                    "otherwise)"})},
    "/api/bank/refunds/confirmations/file": {"post": _op(
        "The bank's result file of refunds paid (host): CSV, UTF-8 or GBK, base64",
        errors=(400, 401, 403, 409, 413, 503), staff=True,
        codes={400: "bad_statement (not base64, neither UTF-8 nor GBK), bad_request",
               409: "unknown_transfer, not_refundable"})},
    "/api/lots/{lot_id}/deposit": {"get": _op(
        "Deposit instructions and status: a bidder's own (bidder token), every bidder's "
        "(staff)", errors=(401, 403, 404), params=_LOT)},
    "/api/lots/{lot_id}/payment": {"post": _op(
        "The payment notice of an awarded lot's winner (host)", 201,
        errors=_ACTION_ERRORS, staff=True, params=_LOT,
        description="The price less the deposit, due by the end of the payment_days-th "
                    "working day; opened once (again: the same notice). A multi-unit lot "
                    "has one per winner (bidder_no): the price of its units." + _WINNER_BARRED)},
    # After the auction (web/after.py, docs/after-the-auction.md).
    "/api/lots/{lot_id}/notice": {
        "post": _op("Publish the result notice (结果公示) of an ended lot (host)", ok=201,
                    errors=_ACTION_ERRORS, staff=True, params=_LOT,
                    description="The publicity period: the working days of the kind of "
                                "trade (publicity_kinds, else publicity_days) from the day "
                                "the lot ended. Publishing again changes nothing."
                                + _WINNER_BARRED),
        "get": _op("The result notice and the answers to objections (public; staff and "
                   "the objector see more)", errors=(401, 404, 409), params=_LOT,
                   description=_ENDED)},
    "/api/lots/{lot_id}/default": {"post": _op(
        "The winner defaulted (host): its deposit is forfeited, then the runner-up gets "
        "the lot at its own last price or the lot is relisted", errors=_ACTION_ERRORS,
        staff=True, params=_LOT,
        description="then runner_up: answers this lot (409 no_runner_up when nobody else "
                    "bid). then relist: answers the new lot LOT-R<attempt>, a draft linked "
                    "to this one, which has failed.")},
    "/api/lots/{lot_id}/award": _action(
        "Suspend, annul or reinstate the award (host, with a reason)",
        "An upheld objection's answer does it by itself (suspended or annulled); this "
        "route reinstates a suspended award after review, or annuls it."),
    "/api/lots/{lot_id}/national": {"get": _op(
        "The ended lot's transaction result in the national platform's field layout "
        "(staff)", errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT,
        description="records: one 交易结果信息 record; unfilled: the standard's fields the "
                    "project does not hold, and why. " + _ENDED)},
    "/api/national": {"get": _op(
        "Every ended lot's transaction result in the national platform's field layout "
        "(staff)", errors=(401, 403), staff=True, params=_SESSION_QUERY)},
    "/api/webhooks": {"get": _op(
        "The webhooks' delivery log (staff): every milestone posted, its attempts and "
        "the last answer", errors=(401, 403), staff=True)},
    "/api/webhooks/{delivery_id}/resend": {"post": _op(
        "Send a milestone again (host, with a reason)", errors=_ACTION_ERRORS, staff=True,
        params=[_path_param("delivery_id")],
        description="404 unknown_delivery for a milestone never posted.")},
    "/api/lots/{lot_id}/objections": {"post": _op(
        "File an objection (异议) during the publicity period (a bidder of the lot, with "
        "its token)", ok=201, errors=(400, 401, 403, 404, 409), params=_LOT,
        description="409 period_over after the period, not_a_bidder.")},
    "/api/lots/{lot_id}/objections/{objection_id}/answer": {"post": _op(
        "Answer an objection with a reason and an outcome (host)",
        errors=_ACTION_ERRORS, staff=True,
        params=[*_LOT, _path_param("objection_id")],
        description="outcome dismissed, or upheld with effect suspended or annulled; "
                    "409 already_answered; 404 unknown_objection.")},
    "/api/lots/{lot_id}/confirmation": {
        "post": _op("Issue the signed transaction confirmation (成交确认书) of an awarded "
                    "lot (host)", ok=201, errors=_ACTION_ERRORS, staff=True, params=_LOT,
                    description="Makes the PDF from the center's template, signs it with "
                                "the center's key (PAdES) and records its SHA-256. 409 "
                                "invalid_state unless awarded, already_issued. A "
                                "multi-unit lot has one per winner (bidder_no)."
                                + _WINNER_BARRED),
        "get": _op("The lot's confirmation (staff, or the winner with its bidder token)",
                   errors=_STAFF_ERRORS, staff=True, params=[*_LOT, _BIDDER_NO])},
    "/api/lots/{lot_id}/confirmation/sign": {"post": _op(
        "The winner signs the issued confirmation (its bidder token)",
        errors=(400, 401, 403, 404, 409), params=_LOT,
        description="409 not_issued, not_winner, already_signed, window_closed, "
                    "document_changed (the hash is not the issued document's).")},
}


def document(table: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    """The document of the JSON routes ``table``: ``(method, path)`` -> a route with its
    ``body`` and ``answer`` types (:data:`web.routes.JSON_ROUTES`)."""
    described = {(method.upper(), path) for path, ops in _PATHS.items() for method in ops}
    assert described == set(table), ("routes and operations differ",
                                     described ^ set(table))
    routes = sorted(table.items())
    types: list[Any] = [Error]
    for _, route in routes:
        types += [t for t in (route.body, route.answer) if t is not None and t is not Document]
    schemas, defs = components(types)
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, Any] = {}
    for (method, path), route in routes:
        op = copy.deepcopy(_PATHS[path][method.lower()])
        ok = next(iter(op["responses"]))
        answer = {"type": "object"} if route.answer is Document else by_type[route.answer]
        op["responses"][ok].update(_json(answer))
        if route.body is not None:
            body = by_type[route.body]
            if "anyOf" in body:  # a tagged union: exactly one of its structs
                body = {"oneOf": body.pop("anyOf"), **body}
            required = bool(defs.get(_ref_name(body), {}).get("required")) or "oneOf" in body
            op["requestBody"] = {"required": required, **_json(body)}
            # What reading any body may answer (web.api.read_body).
            op["responses"].update(_errors(*_BODY_ERRORS))
        paths.setdefault(path, {})[method.lower()] = op
    # ?format=csv answers text/csv (found by the schemathesis fuzzer: tests/security).
    paths["/api/lots/{lot_id}/report"]["get"]["responses"]["200"]["content"]["text/csv"] = {
        "schema": {"type": "string"}}
    # 503 with the same body while not ready.
    ready = paths["/readyz"]["get"]["responses"]
    ready["503"] = {"description": "Not ready: `reasons` says why", "content": ready["200"][
        "content"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Auction engine HTTP API",
            "version": "1",
            "description": (
                "Staff API of the electronic auction engine (公共资源交易中心). Staff send "
                "`Authorization: Bearer <token>`: hosts may act, supervisors only read. "
                "Bidders bid over the WebSocket at `/ws` (see docs/protocol.md and "
                "`/api/asyncapi.json`) with the token issued at registration. Amounts are "
                "decimal strings, times Unix milliseconds; a whole number is written `7`, "
                "never `7.0`. Every error is `{\"error\": {\"code\", \"message\": "
                "{\"zh\", \"en\"}, \"detail\"}}`; unknown fields are refused."),
        },
        "components": {
            "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
            "schemas": defs,
        },
        "paths": paths,
    }


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]

