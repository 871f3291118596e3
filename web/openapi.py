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
_ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 503)
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
           "opening, a multi_round lot under way.")

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
        codes={400: "Bad input: bad_json, bad_request, invalid_amount (the amount), "
                    "invalid_params",
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

