"""The served OpenAPI document and the server agree on lots of every format, both ways: a
lot of each format is created from the document's own example, every body the
document's schema refuses is refused by the server, and every body the server accepts is
valid by the document (mutations of the examples: each key left out, wrong types, values
at and beyond their bounds, unknown keys). The parameters are read off the rules' own
parsers, so a new format or a new key cannot be left out of the document."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
from web_support import Server

from auction.lot import FORMATS
from web.keys import BODIES
from web.routes import OPENAPI


def _resolved(node: Any) -> Any:
    """``node`` with every ``#/components/schemas/...`` reference written out."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            name = node["$ref"].removeprefix("#/components/schemas/")
            return _resolved(OPENAPI["components"]["schemas"][name])
        return {k: _resolved(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_resolved(v) for v in node]
    return node


def _served_document(server_doc: dict[str, Any]) -> jsonschema.Draft202012Validator:
    body = server_doc["paths"]["/api/lots"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body == OPENAPI["paths"]["/api/lots"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    return jsonschema.Draft202012Validator(_resolved(body))


def _examples(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    schemas = document["components"]["schemas"]
    out = {}
    for name in FORMATS:
        examples = schemas[f"LotParams_{name}"]["examples"]
        assert len(examples) == 1, name
        out[name] = examples[0]
    return out


def test_every_format_has_its_parameters_and_one_example_in_the_document() -> None:
    schemas = OPENAPI["components"]["schemas"]
    body = OPENAPI["paths"]["/api/lots"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert {r["$ref"] for r in body["oneOf"]} == {
        f"#/components/schemas/CreateLot_{name}" for name in FORMATS}
    for name in FORMATS:
        params = schemas[f"LotParams_{name}"]
        assert params["additionalProperties"] is False and params["properties"], name
        assert schemas[f"CreateLot_{name}"]["properties"]["format"] == {"const": name}
        assert len(params["examples"]) == 1
        assert FORMATS[name].parse(params["examples"][0])  # the rules accept it


async def test_a_lot_of_every_format_is_created_from_the_document_s_example(
        server: Server) -> None:
    document = await server.ok("GET", "/api/openapi.json", token=None)
    validator = _served_document(document)
    session = await server.ok("POST", "/api/sessions", {"name": "s"})
    for name, params in _examples(document).items():
        body = {"session_id": session["session_id"], "title": f"{name} lot",
                "format": name, "params": params}
        validator.validate(body)
        status, data = await server.call("POST", "/api/lots", body)
        assert status == 201, (name, data)
        assert data["format"] == name


#: Values every key is tried with, besides the example's own.
ODD_VALUES: list[Any] = [
    None, True, 0, 1, -1, 7.5, 2**53, 10**14 + 1, "", "x", "0", "0.00", "0.001", "1.005",
    "1e5", "-1.00", "01.00", "100", "100.00", "999999999999999999.99",
    "1000000000000000000.00", [], {}, ["x"], "forward", "reverse", "CNY", "JPY", "XXX",
    "leader", "own", "price", "blind", "lottery", "secondary", "earliest", 3600, 86401,
    31622401,
]


def _mutations(params: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    out = [{k: v for k, v in params.items() if k != key} for key in params]
    for key in keys:
        for value in ODD_VALUES:
            out.append({**params, key: value})
    out.append({**params, "no_such_key": 1})
    out.append({})
    return out


async def test_the_document_and_the_server_agree_on_the_parameters_of_every_format(
        server: Server) -> None:
    document = await server.ok("GET", "/api/openapi.json", token=None)
    validator = _served_document(document)
    schemas = document["components"]["schemas"]
    session = await server.ok("POST", "/api/sessions", {"name": "s"})
    disagreements: list[str] = []
    checked = accepted = 0
    for name, example in _examples(document).items():
        keys = sorted(schemas[f"LotParams_{name}"]["properties"])
        for params in _mutations(copy.deepcopy(example), keys):
            body = {"session_id": session["session_id"], "title": "t", "format": name,
                    "params": params}
            valid = validator.is_valid(body)
            status, data = await server.call("POST", "/api/lots", body)
            checked += 1
            accepted += status == 201
            if status == 201 and not valid:
                disagreements.append(f"{name} {params}: the server accepts, the document "
                                     "refuses")
            if not valid and status != 400:
                disagreements.append(f"{name} {params}: the document refuses, the server "
                                     f"answers {status}")
            if status not in (201, 400):
                disagreements.append(f"{name} {params}: {status} {data}")
            if status == 400:
                assert data["error"]["code"] in ("invalid_params", "invalid_amount"), (
                    name, params, data)
    assert not disagreements, "\n".join(disagreements[:20])
    assert checked > 1000 and accepted > 100


async def test_an_amount_in_a_lot_s_parameters_is_refused_as_the_document_says(
        server: Server) -> None:
    document = await server.ok("GET", "/api/openapi.json", token=None)
    start = document["components"]["schemas"]["LotParams_english"]["properties"][
        "start_price"]
    assert "invalid_amount" in start["description"]
    assert "invalid_params" not in start["description"]
    lot_errors = document["paths"]["/api/lots"]["post"]["responses"]["400"]["description"]
    assert "invalid_amount" in lot_errors
    session = await server.ok("POST", "/api/sessions", {"name": "s"})
    status, data = await server.call("POST", "/api/lots", {
        "session_id": session["session_id"], "title": "t", "format": "english",
        "params": {"start_price": 100, "step": "1.00", "duration_s": 60}})
    assert status == 400 and data["error"]["code"] == "invalid_amount"


async def test_every_route_that_reads_a_body_documents_its_408_request_timeout_answer(
        server: Server) -> None:
    """Every route whose body the server reads (the app's own table of bodies) may answer
    408 request_timeout (a body sent too slowly) and 413 too_large: the document says so."""
    document = await server.ok("GET", "/api/openapi.json", token=None)
    reading = {(method.lower(), path) for (method, path), body in server.app[BODIES].items()
               if body is not None}
    assert reading, "the app reads no body"
    with_body = {(method, path) for path, ops in document["paths"].items()
                 for method, op in ops.items() if "requestBody" in op}
    assert with_body == reading
    for method, path in sorted(reading):
        responses = document["paths"][path][method]["responses"]
        assert "request_timeout" in responses.get("408", {}).get("description", ""), (
            method, path)
        assert "too_large" in responses.get("413", {}).get("description", ""), (method, path)
        assert responses["408"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
