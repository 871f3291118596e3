"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /api/openapi.json``.

Kept beside :mod:`web.api` by hand; a test checks that every route of the application
is described here and every path described here is routed. The parameters of each lot
format are not written here: they are read off the format's own parser
(:func:`format_params_schema`), so the document cannot drift from the rules.
"""

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

from auction.errors import InvalidParams
from auction.lot import FORMATS
from auction.money import AMOUNT_PATTERN, MAX_WHOLE_DIGITS
from auction.params import _Reader

#: An amount that may be zero (a deposit, a tier's ``from``): zero or a positive amount
#: (:data:`auction.money.AMOUNT_PATTERN`, the one place that pattern is written).
AMOUNT_OR_ZERO_PATTERN = rf"^(0(\.0{{1,2}})?|{AMOUNT_PATTERN[1:-1]})$"
_AMOUNT = {"type": "string", "pattern": AMOUNT_PATTERN,
           "description": "Decimal string in the lot's currency, greater than zero, at most "
                          "its decimals (CNY: 2, JPY: 0), at most "
                          f"{MAX_WHOLE_DIGITS} digits before the point (the money "
                          "maximum). Numbers, null and larger amounts are refused "
                          "(invalid_amount).",
           "examples": ["1250000.00"]}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"}
#: Largest whole number a client may send (web.validate.MAX_INT: safe in JavaScript).
_MAX_INT = 2**53 - 1
_MS = {"type": "integer", "minimum": 0, "maximum": _MAX_INT,
       "description": "Unix time in milliseconds (server clock)"}
#: Free text: no control characters, not blank (web.validate.Reader.text).
_TEXT_PATTERN = (r"^[^\x00-\x1f\x7f]*"  # explicit, not \s: what Python's str.strip() removes
                 r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
                 r"[^\x00-\x1f\x7f]*$")
_TEXT = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": _TEXT_PATTERN}


# ------------------------------------------------------------------ lot parameters

#: One example of each format's parameters: the document shows it, and the tests create
#: a lot of every format from it. A test fails for a format without one.
FORMAT_EXAMPLES: dict[str, dict[str, Any]] = {
    "english": {"start_price": "1000000.00", "step": "10000.00", "duration_s": 3600,
                "deposit": "100000.00", "extend_window_s": 300, "extend_s": 300},
    "dutch": {"start_price": "1000.00", "step": "10.00", "tick_s": 5, "floor": "800.00",
              "deposit": "100.00"},
    "japanese": {"start_price": "1000.00", "step": "10.00", "tick_s": 10,
                 "deposit": "100.00"},
    "sealed": {"closes_at": 4102444800000, "deposit": "100.00", "revisions": 1},
    "listing_timed": {"start_price": "10000000.00", "step": "100000.00",
                      "listing_ends_at": 4102444800000, "deposit": "1000000.00",
                      "cap": "15000000.00", "cap_rule": "lottery"},
    "multi_round": {"step": "100.00", "ceiling": "50000.00", "rounds": 3,
                    "deposit": "1000.00"},
}
#: More parameters the parsers are probed with (besides the examples), so that every
#: key a format reads is seen with its type and no key is called required that some
#: valid lot leaves out (a key is required when every probe fails without it).
_PROBES: dict[str, list[dict[str, Any]]] = {
    "english": [{"start_price": "100.00", "steps": [{"from": "0", "step": "1.00"}],
                 "closes_at": 4102444800000, "proxy": True}],
    "dutch": [{"direction": "reverse", "start_price": "800.00", "step": "10.00",
               "tick_s": 5, "ceiling": "1000.00"}],
    "sealed": [{"duration_s": 600, "start_price": "100.00"}],
    "listing_timed": [{"start_price": "100.00", "step": "10.00",
                       "listing_ends_at": 4102444800000},
                      {"start_price": "100.00", "step": "10.00",
                       "listing_ends_at": 4102444800000, "cap": "200.00",
                       "cap_rule": "secondary",
                       "secondary": {"start": "0", "step": "1.00", "unit": "m²"}}],
    "multi_round": [{"step": "1.00", "coefficients": {"b1": "0.05"}}],
}
#: Keys a parser takes as raw JSON (containers, free text): their shape. The typed keys
#: inside a container are read off the parser like the others.
_RAW: dict[str, dict[str, Any]] = {
    "steps": {"type": "array", "minItems": 1},
    "secondary": {"type": "object"},
    "unit": {"type": "string", "maxLength": 20},
    "coefficients": {"type": "object", "additionalProperties": {
        "type": "string", "pattern": r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$"}},
}


@contextlib.contextmanager
def _recording(log: list[tuple[str, str, str, tuple[Any, ...], dict[str, Any]]]
               ) -> Iterator[None]:
    """While open, every read of :class:`auction.params._Reader` (the one way the
    parsers read parameters) is logged as ``(object, kind, key, args, kwargs)``."""
    names = ("__init__", "take", "text", "boolean", "integer", "amount")
    saved = {name: getattr(_Reader, name) for name in names}
    depth = [0]

    def init(self: Any, raw: object, what: str = "params") -> None:
        saved["__init__"](self, raw, what)
        self.what = what

    def wrap(kind: str) -> Callable[..., Any]:
        def read(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                log.append((self.what, kind, key, args, kwargs))
            depth[0] += 1
            try:
                return saved[kind](self, key, *args, **kwargs)
            finally:
                depth[0] -= 1
        return read

    try:
        _Reader.__init__ = init  # type: ignore[method-assign]
        for name in names[1:]:
            setattr(_Reader, name, wrap(name))
        yield
    finally:
        for name, method in saved.items():
            setattr(_Reader, name, method)


def _spec(kind: str, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if kind == "text":
        return {"enum": list(args[1]), "default": args[0]}
    if kind == "boolean":
        return {"type": "boolean", "default": args[0]}
    if kind == "integer":
        return {"type": "integer", "minimum": args[0], "maximum": args[1]}
    if kind == "amount":
        zero = kwargs.get("zero", False)
        return {**_AMOUNT, "pattern": AMOUNT_OR_ZERO_PATTERN if zero else AMOUNT_PATTERN,
                "description": "Decimal string in the lot's currency" + (
                    ", zero or more" if zero else ", greater than zero")
                + f", at most {MAX_WHOLE_DIGITS} digits before the point (invalid_amount "
                "otherwise)"}
    return copy.deepcopy(_RAW[key])  # a raw key without a shape here: a KeyError, at once


def _fails_without(parse: Callable[[object], Any], params: dict[str, Any], key: str) -> bool:
    try:
        parse({k: v for k, v in params.items() if k != key})
    except InvalidParams:
        return True
    return False


def format_params_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the parameters of format ``name``, read off its parser: the
    keys it reads (anything else is refused), each key's type, choices and bounds, and
    the keys no valid lot leaves out. Rules across keys (``give exactly one of closes_at
    and duration_s``...) are the parser's alone: a body this schema admits may still be
    refused with ``invalid_params``, never the other way round."""
    parse = FORMATS[name].parse
    probes = [FORMAT_EXAMPLES[name], *_PROBES.get(name, [])]
    log: list[tuple[str, str, str, tuple[Any, ...], dict[str, Any]]] = []
    with _recording(log):
        for probe in probes:
            parse(probe)  # an example the parser refuses is a programming error
    objects: dict[str, dict[str, dict[str, Any]]] = {}
    # A typed read says more than a raw one (the dutch clock takes the other direction's
    # limit raw, to refuse it): typed reads first, raw ones for keys read only so.
    for what, kind, key, args, kwargs in sorted(log, key=lambda entry: entry[1] == "take"):
        fields = objects.setdefault(what, {})
        if kind != "take" or key not in fields:
            fields[key] = _spec(kind, key, args, kwargs)
    for container in set(objects) - {"params"}:
        inner = _obj([], objects[container])
        inner["required"] = [k for k in objects[container]
                             if _nested_required(parse, probes, container, k)]
        for key, spec in objects[container].items():
            if key not in inner["required"]:
                _nullable(spec)
        outer = objects["params"][container]
        if outer.get("type") == "array":
            outer["items"] = inner
        else:
            outer.update(inner)
    required = [key for key in objects["params"]
                if all(key in p for p in probes)
                and all(_fails_without(parse, p, key) for p in probes)]
    for key, spec in objects["params"].items():
        if key not in required:  # the parsers read null as left out
            _nullable(spec)
    schema = _obj(required, objects["params"])
    schema["description"] = (f"Parameters of a {name} lot (RULES.md; docs/protocol.md), "
                             "read off the rules' own parser. Unknown keys and values "
                             "out of these bounds are refused (invalid_params), as are "
                             "combinations the rules forbid.")
    schema["examples"] = [FORMAT_EXAMPLES[name]]
    return schema


def _nullable(spec: dict[str, Any]) -> None:
    if "enum" in spec:
        spec["enum"] = [*spec["enum"], None]
    else:
        spec["type"] = [spec["type"], "null"]


def _absent_or_null(props: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Optional body keys as the server reads them: null is the same as absent."""
    out = {}
    for key, spec in props.items():
        out[key] = spec = dict(spec)
        _nullable(spec)
    return out


def _nested_required(parse: Callable[[object], Any], probes: list[dict[str, Any]],
                     container: str, key: str) -> bool:
    """Whether every probe holding ``container`` fails without its ``key``."""
    found = False
    for probe in probes:
        value = probe.get(container)
        items = value if isinstance(value, list) else [value] if value is not None else []
        for index, item in enumerate(items):
            found = True
            changed = {k: v for k, v in item.items() if k != key}
            new = ([*items[:index], changed, *items[index + 1:]] if isinstance(value, list)
                   else changed)
            try:
                parse({**probe, container: new})
            except InvalidParams:
                continue
            return False
    return found


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


#: How a session's lots close (docs/protocol.md, Sessions: parallel, serial, staggered).
_SESSION_MODE: dict[str, Any] = {"enum": ["parallel", "serial", "staggered"],
                                 "default": "parallel"}
_STAGGER: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 86400,
                            "description": "seconds between the closes of consecutive lots "
                                           "(staggered sessions only)"}

_READINESS: dict[str, Any] = {
    "type": "object", "required": ["status", "reasons", "quarantined", "lots", "server_time"],
    "additionalProperties": False,
    "properties": {"status": {"enum": ["ready", "not_ready"]},
                   "reasons": {"type": "object", "additionalProperties": {"type": "string"}},
                   "quarantined": {"type": "object",
                                   "additionalProperties": {"type": "string"}},
                   "lots": {"type": "integer"},
                   "server_time": _MS}}


def _obj(required: list[str], properties: dict[str, Any], *,
         closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int, codes: dict[int, str] | None = None) -> dict[str, Any]:
    text = {400: "Bad input (bad_json, bad_request, invalid_amount, invalid_params, ...)",
            401: "Missing or unknown token (unauthorized, bad_token)",
            403: "Not allowed (forbidden): a supervisor acting, a bidder token on a staff route",
            404: "Unknown lot (unknown_lot) or bidder (unknown_bidder)",
            409: "Rejected by the auction rules; the code says why (invalid_state, exists, "
                 "already_registered, deposit_too_low, bad_deadline, ...)",
            413: "Body larger than 64 KiB (too_large)",
            503: "The engine cannot serve now (unavailable)"}
    text.update(codes or {})
    return {str(s): {"description": text[s], **_json(_ref("Error"))} for s in statuses}


def _op(summary: str, ok: int, response: dict[str, Any], *, errors: tuple[int, ...] = (),
        body: dict[str, Any] | None = None, staff: bool = False,
        params: list[dict[str, Any]] | None = None, description: str = "",
        codes: dict[int, str] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary,
                          "responses": {str(ok): {"description": "OK", **_json(response)},
                                        **_errors(*errors, codes=codes)}}
    if description:
        op["description"] = description
    if staff:
        op["security"] = [{"staffToken": []}]
    if body is not None:  # a body without required fields may be left out
        op["requestBody"] = {"required": bool(body.get("required")), **_json(body)}
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


def _action(summary: str, body: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"post": _op(summary, 200, _ref("ActionResult"), errors=_ACTION_ERRORS, body=body,
                        staff=True, params=_LOT, description=description)}


_REASON = {**_TEXT, "description": "Why (recorded with the event)"}
_OPTIONAL_REASON = {**_TEXT, "description": "Why (optional; recorded with the event when "
                                            "given)"}

# The record (web/records.py, docs/records.md): results, reports, exports, OCDS, deposits,
# collusion checks.
_OBJECT = {"type": "object"}
_FLAGS = {"type": "array", "items": _obj(
    ["check", "scope", "level", "lots", "bidders", "evidence", "message"], {
        "check": {"enum": ["shared_address", "shared_device", "shared_account", "lockstep",
                           "identical_prices", "fixed_gap", "cover_bidding",
                           "winner_rotation"]},
        "scope": {"enum": ["lot", "lots"]}, "level": {"enum": ["high", "medium"]},
        "lots": {"type": "array", "items": _ID},
        "bidders": {"type": "array", "items": _OBJECT},
        "evidence": _OBJECT, "message": _obj(["zh", "en"], {"zh": {"type": "string"},
                                                            "en": {"type": "string"}})})}
#: A UTC offset from -14:00 to +14:00.
_TZ = r"^[+-]?((0?[0-9]|1[0-3]):[0-5][0-9]|14:00)$"
_ENDED = ("409 not_ended until the lot is awarded, failed or cancelled.")
#: Staff records that would show prices nobody may see yet (auction.formats.withheld).
_SEALED = ("409 sealed while the lot's bids are not revealed yet: a sealed lot before its "
           "opening, a multi_round lot under way.")
_RECORD_PATHS: dict[str, Any] = {
    "/api/lots/{lot_id}/result": {"get": _op(
        "The result announcement (结果公示) of an ended lot (public)", 200, _OBJECT,
        errors=(404, 409), params=_LOT, description=(
            "Winner's bidder number, price and time, numbers of bidders and bids, the price "
            "history (bidder numbers only) and the chain hashes of the outcome and of the "
            "last event. " + _ENDED))},
    "/api/lots/{lot_id}/ocds": {"get": _op(
        "The lot as an OCDS 1.1 release package (public)", 200, _OBJECT, errors=(404, 409),
        params=_LOT, description="Open Contracting Data Standard with the bids extension; "
                                 "amounts are exact JSON numbers. " + _ENDED)},
    "/api/ocds": {"get": _op(
        "Every ended lot as an OCDS 1.1 release package (public)", 200, _OBJECT,
        params=[_query("session_id", {"type": "string"}, "only the lots of this session")])},
    "/api/lots/{lot_id}/report": {"get": _op(
        "The full report (staff): timeline, bids with identities, staff actions, "
        "connections, deposits, collusion flags", 200, _OBJECT,
        errors=(400, *_STAFF_ERRORS, 409), staff=True, description=_SEALED,
        params=[*_LOT, _query("format", {"enum": ["json", "csv"]},
                              "csv: one table, UTF-8 with a byte-order mark"),
                _query("tz", {"type": "string", "examples": ["+08:00"], "pattern": _TZ},
                       "UTC offset of the CSV's times (default +08:00)")])},
    "/api/lots/{lot_id}/export": {"get": _op(
        "The lot's verifiable export (staff): events, hashes, outcome", 200, _obj(
            ["format_version", "lot_id", "events", "outcome"], {
                "format_version": {"const": 1}, "lot_id": _ID, "exported_at": _MS,
                "chain": _OBJECT, "events": {"type": "array", "items": _obj(
                    ["seq", "event", "hash"], {"seq": {"type": "integer"}, "event": _OBJECT,
                                               "hash": {"type": "string"}})},
                "outcome": _OBJECT}),
        errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT,
        description="Check it offline with `auction verify FILE` (docs/records.md). "
                    + _SEALED)},
    "/api/lots/{lot_id}/deposits": {"get": _op(
        "The deposits ledger (staff): status of every deposit, what is to be refunded",
        200, _OBJECT, errors=_STAFF_ERRORS, staff=True, params=_LOT)},
    **{f"/api/lots/{{lot_id}}/bidders/{{bidder_id}}/deposit/{action}": {"post": _op(
        f"{summary} (host, after the lot ended)", 200, _ref("ActionResult"),
        errors=_ACTION_ERRORS, staff=True, params=_BIDDER,
        body=_obj(["reason"], {"reason": _REASON}))}
       for action, summary in (("refund", "Record a deposit as refunded"),
                               ("forfeit", "Record a deposit as forfeited"),
                               ("apply", "Record the winner's deposit as applied to its "
                                         "payment"))},
    "/api/lots/{lot_id}/collusion": {"get": _op(
        "Collusion checks of one lot (staff)", 200,
        _obj(["lot_id", "flags"], {"lot_id": _ID, "flags": _FLAGS}),
        errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT, description=_SEALED)},
    "/api/collusion": {"get": _op(
        "Collusion checks of every lot and across lots (staff)", 200,
        _obj(["lots", "across", "checked", "thresholds"], {
            "lots": {"type": "object", "additionalProperties": _FLAGS}, "across": _FLAGS,
            "checked": {"type": "integer"}, "thresholds": _OBJECT}),
        errors=(401, 403), staff=True,
        params=[_query("session_id", {"type": "string"}, "only the lots of this session")])},
}

# ?format=csv answers text/csv (found by the schemathesis fuzzer: tests/security).
_RECORD_PATHS["/api/lots/{lot_id}/report"]["get"]["responses"]["200"]["content"]["text/csv"] = {
    "schema": {"type": "string"}}

def _create_lot(name: str) -> dict[str, Any]:
    """The body creating a lot of format ``name``."""
    return _obj(["session_id", "title", "format", "params"], {
        "session_id": _ID, "title": _TEXT, "format": {"const": name},
        "params": _ref(f"LotParams_{name}"),
        "lot_id": {**_ID, "description": "generated (L-XXXXXXXX) when absent"},
        "reason": _OPTIONAL_REASON})


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Auction engine HTTP API",
        "version": "1",
        "description": (
            "Staff API of the electronic auction engine (公共资源交易中心). Staff send "
            "`Authorization: Bearer <token>`: hosts may act, supervisors only read. Bidders "
            "bid over the WebSocket at `/ws` (see docs/protocol.md) with the token issued "
            "at registration. Amounts are decimal strings, times Unix milliseconds. Every "
            "error is `{\"error\": {\"code\", \"message\": {\"zh\", \"en\"}, \"detail\"}}`; "
            "unknown fields are refused."),
    },
    "components": {
        "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _obj(["error"], {"error": _obj(["code", "message", "detail"], {
                "code": {"type": "string"},
                "message": _obj(["zh", "en"], {"zh": {"type": "string"},
                                               "en": {"type": "string"}}),
                "detail": {"type": "string"}})}),
            "Session": _obj(["session_id", "name", "created_at", "created_by", "mode",
                             "stagger_s"], {
                "session_id": _ID, "name": {"type": "string"}, "created_at": _MS,
                "created_by": {"type": "string"}, "mode": _SESSION_MODE,
                "stagger_s": _STAGGER}),
            **{f"LotParams_{name}": format_params_schema(name) for name in sorted(FORMATS)},
            **{f"CreateLot_{name}": _create_lot(name) for name in sorted(FORMATS)},
            "LotView": {
                "type": "object",
                "description": "A lot as the caller may see it (auction.views.snapshot): the "
                               "public view hides identities, the reserve and, under rank or "
                               "blind visibility, prices; a bidder's view adds `you`; the "
                               "staff view adds `reserve`, `register` and `ranking`.",
                "required": ["lot_id", "session_id", "title", "format", "status", "seq",
                             "params", "bidders", "bid_count"],
                "properties": {
                    "lot_id": _ID, "session_id": _ID, "title": {"type": "string"},
                    "format": {"type": "string"},
                    "status": {"enum": ["draft", "scheduled", "open", "paused", "closed",
                                        "awarded", "failed", "cancelled"]},
                    "seq": {"type": "integer", "description": "last event's sequence number"},
                    "opens_at": {"type": ["integer", "null"]},
                    "closes_at": {"type": ["integer", "null"]},
                    "max_closes_at": {"type": ["integer", "null"]},
                    "paused_at": {"type": ["integer", "null"]},
                    "params": {"type": "object"}, "bidders": {"type": "integer"},
                    "bid_count": {"type": "integer"},
                    "best": {"type": ["string", "null"]},
                    "leader_no": {"type": ["string", "null"]},
                    "next_min": {"type": ["string", "null"]},
                    "outcome": {"type": ["object", "null"]},
                    "you": {"type": "object"}, "reserve": {"type": ["string", "null"]},
                    "register": {"type": "array", "items": {"type": "object"}},
                    "ranking": {"type": "array", "items": {"type": "string"}},
                },
            },
            "BidderPass": _obj(
                ["lot_id", "bidder_id", "bidder_no", "token", "expires_at", "room_url"], {
                    "lot_id": _ID, "bidder_id": _ID,
                    "bidder_no": {"type": "string", "description": "random, unique in the lot"},
                    "token": {"type": "string",
                              "description": "signed bidder token: valid for this lot only"},
                    "expires_at": _MS,
                    "room_url": {"type": "string", "examples": ["/room/L-1A2B3C4D#token=b1..."],
                                 "description": "the bidder room, token in the fragment"}}),
            "ActionResult": _obj(["lot_id", "seq", "events", "state"], {
                "lot_id": _ID, "seq": {"type": "integer"},
                "events": {"type": "array", "items": {"type": "object"},
                           "description": "the events the action caused (staff view)"},
                "state": _ref("LotView")}),
        },
    },
    "paths": {
        "/healthz": {"get": _op("Liveness", 200, _obj(["status", "lots", "server_time"], {
            "status": {"const": "ok"}, "lots": {"type": "integer"}, "server_time": _MS}))},
        "/readyz": {"get": {**_op(
            "Readiness", 200, _READINESS, description=(
                "200 when the engine can serve commands; 503 with `reasons` (check -> why: "
                "engine, store, redis, redis_fanout, postgres, postgres_lag) when it "
                "cannot. `quarantined` lists lots whose record cannot be read (lot id -> "
                "why); the others are served.")),
            "responses": {"200": {"description": "Ready", **_json(_READINESS)},
                          "503": {"description": "Not ready: `reasons` says why",
                                  **_json(_READINESS)}}}},
        "/api/openapi.json": {"get": _op("This document", 200, {"type": "object"})},
        "/api/time": {"get": _op("Server time", 200, _obj(["server_time"],
                                                          {"server_time": _MS}))},
        "/api/sessions": {
            "get": _op("Every session, in order of creation", 200, _obj(
                ["sessions"], {"sessions": {"type": "array", "items": _ref("Session")}})),
            "post": _op("Create a session (host)", 201, _ref("Session"),
                        errors=(400, 401, 403, 409, 413, 503), staff=True,
                        body=_obj(["name"], {"name": {**_TEXT, "maxLength": 200},
                                             **_absent_or_null({
                                                 "session_id": _ID, "mode": _SESSION_MODE,
                                                 "stagger_s": _STAGGER})})),
        },
        "/api/lots": {
            "get": _op("Every lot: public views, staff views with a staff token", 200,
                       _obj(["lots"], {"lots": {"type": "array", "items": _ref("LotView")}}),
                       errors=(401,), codes={401: "unauthorized: a token that is neither a "
                                                   "staff token nor a valid bidder token (a "
                                                   "bidder token gets the public views)"},
                       params=[_query("session_id", {"type": "string"},
                                      "only the lots of this session")]),
            "post": _op("Create a lot in draft (host); answers its staff view", 201,
                        _ref("LotView"), errors=(400, 401, 403, 409, 413, 503), staff=True,
                        codes={400: "Bad input: bad_json, bad_request (the body's shape), "
                                    "invalid_amount (an amount among the format's "
                                    "parameters: its key is the error's field), "
                                    "invalid_params (any other parameter, or the title), "
                                    "unknown_session",
                               409: "exists: a lot with this lot_id exists"},
                        description="The body depends on the lot's format: one schema per "
                                    "format (CreateLot_<format>), each with its format's "
                                    "parameters and an example.",
                        body={"oneOf": [_ref(f"CreateLot_{name}") for name in sorted(FORMATS)],
                              "discriminator": {"propertyName": "format", "mapping": {
                                  name: f"#/components/schemas/CreateLot_{name}"
                                  for name in sorted(FORMATS)}},
                              "required": ["session_id", "title", "format", "params"]}),
        },
        "/api/lots/{lot_id}": {"get": _op(
            "One lot as the caller may see it", 200, _ref("LotView"), errors=(401, 404),
            params=_LOT, description="No token, or a bidder token of another lot: the public "
                                     "view. A staff token: the staff view. A bidder token of "
                                     "this lot: that bidder's view.",
            codes={401: "unauthorized (an unknown token), bad_token (a bidder token that "
                        "is expired, revoked, forged or of a bidder not registered here)",
                   404: "unknown_lot"})},
        "/api/lots/{lot_id}/bids": {"get": _op(
            "Every accepted bid with identities, address and device (staff)", 200,
            _obj(["lot_id", "bids"], {"lot_id": _ID, "bids": {"type": "array", "items": _obj(
                ["seq", "at", "bidder_id", "bidder_no", "amount", "ip", "device", "ref"], {
                    "seq": {"type": "integer"}, "at": _MS, "bidder_id": _ID,
                    "bidder_no": {"type": "string"}, "amount": _AMOUNT,
                    "ip": {"type": "string"}, "device": {"type": "string"},
                    "ref": {"type": "string"}})}}),
            errors=(*_STAFF_ERRORS, 409), staff=True, params=_LOT, description=_SEALED)},
        "/api/lots/{lot_id}/events": {"get": _op(
            "The lot's hash-chained record (staff)", 200,
            _obj(["lot_id", "events", "last_seq"], {
                "lot_id": _ID, "last_seq": {"type": "integer"},
                "events": {"type": "array", "items": _obj(["seq", "event", "hash"], {
                    "seq": {"type": "integer"},
                    "event": {"type": "object", "description": "canonical event dict; "
                                                               "amounts in minor units"},
                    "hash": {"type": "string", "description": "sha256 chain, hex"}})}}),
            errors=(400, 401, 403, 404, 409), staff=True, description=_SEALED,
            params=[*_LOT, _query("after", {"type": "integer", "minimum": 0, "maximum": _MAX_INT},
                                  "only events with seq > after (default 0)"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000},
                           "at most this many events (default 1000)")])},
        "/api/lots/{lot_id}/bidders": {"post": _op(
            "Register a bidder (host): random bidder number and a bidder token", 201,
            _ref("BidderPass"), errors=_ACTION_ERRORS, staff=True, params=_LOT,
            codes={400: "Bad input: bad_json, bad_request, invalid_params",
                   404: "unknown_lot",
                   409: "Rejected by the rules: invalid_state (registration has ended), "
                        "already_registered"},
            body=_obj(["bidder_id", "name"], {"bidder_id": _ID, "name": _TEXT,
                                              "reason": _OPTIONAL_REASON}))},
        "/api/lots/{lot_id}/bidders/{bidder_id}/deposit": {"post": _op(
            "Confirm a bidder's deposit (host)", 200, _ref("ActionResult"),
            errors=_ACTION_ERRORS, staff=True, params=_BIDDER,
            codes={400: "Bad input: bad_json, bad_request, invalid_amount (the amount), "
                        "invalid_params",
                   404: "unknown_lot",
                   409: "Rejected by the rules: invalid_state, unknown_bidder, "
                        "deposit_too_low"},
            body=_obj(["amount", "account"], {"amount": _AMOUNT, "account": _TEXT,
                                              "reason": _OPTIONAL_REASON}))},
        "/api/lots/{lot_id}/bidders/{bidder_id}/token": {"post": _op(
            "Issue a new token for a registered bidder (host)", 200, _ref("BidderPass"),
            errors=(400, 401, 403, 404, 413), staff=True, params=_BIDDER,
            body=_obj([], {}))},
        "/api/lots/{lot_id}/bidders/{bidder_id}/revoke": {"post": _op(
            "Revoke every token issued so far to a bidder (host)", 200, _ref("ActionResult"),
            errors=_ACTION_ERRORS, staff=True, params=_BIDDER,
            body=_obj(["reason"], {"reason": _REASON}),
            description="Recorded as a TokensRevoked event with the host and the reason. "
                        "The revoked tokens are refused from then on and the bidder's open "
                        "WebSockets are closed (4003); issue a new token with .../token.")},
        "/api/lots/{lot_id}/schedule": _action(
            "Schedule a draft lot (host)", _obj([], {"reason": _OPTIONAL_REASON}),
            "The reason, when given, is recorded in the LotScheduled event."),
        "/api/lots/{lot_id}/start": _action(
            "Open a scheduled lot now (host)", _obj([], {"reason": _OPTIONAL_REASON}),
            "The reason, when given, is recorded in the LotOpened event."),
        "/api/lots/{lot_id}/pause": _action("Pause an open lot (host)",
                                            _obj(["reason"], {"reason": _REASON})),
        "/api/lots/{lot_id}/resume": _action("Resume a paused lot (host)",
                                             _obj(["reason"], {"reason": _REASON})),
        "/api/lots/{lot_id}/extend": _action(
            "Move the closing time later (host)",
            _obj(["reason", "closes_at"], {"reason": _REASON, "closes_at": _MS})),
        "/api/lots/{lot_id}/cancel": _action("Cancel a lot (host)",
                                             _obj(["reason"], {"reason": _REASON})),
        **_RECORD_PATHS,
    },
}
