"""The edge is declared once (web/schemas.py): every HTTP route and every WebSocket message
has its schema, what the server sends is what the schemas and the AsyncAPI document say,
the tables of docs/protocol.md are made from them, and every code the server can send
has its texts in the one error catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
from web_support import Server

from web.asyncapi import ASYNCAPI
from web.docs import PROTOCOL_MD, render
from web.docs import main as docs_main
from web.errors import catalogue
from web.routes import JSON_ROUTES, OPENAPI, ROUTES, STATIC
from web.schemas import (
    CLIENT_MESSAGES,
    MESSAGE_TYPES,
    SERVER_MESSAGES,
    AnyServerMessage,
    tag_of,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_http_route_has_a_schema_and_every_schema_a_route(server: Server) -> None:
    routed: set[tuple[str, str]] = set()
    for route in server.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        if path == STATIC.rstrip("/"):
            continue  # the pages' files
        routed.add((route.method, path))
    assert routed == {(r.method, r.path) for r in ROUTES}, "the router is not the table"
    routed -= {(r.method, r.path) for r in ROUTES if r.serves is not None}  # not JSON
    described = {(method.upper(), path) for path, ops in OPENAPI["paths"].items()
                 for method in ops}
    assert described == routed
    for (method, path), route in JSON_ROUTES.items():
        op = OPENAPI["paths"][path][method.lower()]
        assert ("requestBody" in op) == (route.body is not None), (method, path)
        ok = next(status for status in op["responses"] if status.startswith("2"))
        assert op["responses"][ok]["content"]["application/json"]["schema"], (method, path)


def test_every_websocket_message_has_a_schema_in_the_asyncapi_document() -> None:
    assert set(MESSAGE_TYPES) == {tag_of(m) for m in CLIENT_MESSAGES}
    messages = ASYNCAPI["components"]["messages"]
    assert {name for name in messages if name.startswith("client.")} == {
        f"client.{tag_of(m)}" for m in CLIENT_MESSAGES}
    assert {name for name in messages if name.startswith("server.")} == {
        f"server.{tag_of(m)}" for m in SERVER_MESSAGES}
    for message in messages.values():
        assert message["payload"]["$ref"].startswith("#/components/schemas/")


def _validator(name: str) -> jsonschema.Draft202012Validator:
    """The AsyncAPI document's schema of message ``name``, references resolved."""
    schemas = ASYNCAPI["components"]["schemas"]

    def resolved(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return resolved(schemas[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolved(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [resolved(v) for v in node]
        return node

    return jsonschema.Draft202012Validator(
        resolved(ASYNCAPI["components"]["messages"][name]["payload"]))


async def test_every_message_either_way_is_declared_and_the_server_sends_what_it_declares(
        server: Server) -> None:
    """Every client message type is handled (none answered ``unknown_type``), and every
    frame the server sends in a played lot decodes as its declared message and is valid
    by the served AsyncAPI document."""
    assert await server.ok("GET", "/api/asyncapi.json", token=None) == ASYNCAPI
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    watcher = await server.connect()
    sent = [  # each message and the answer it gets
        ({"type": "subscribe", "lot_id": lot_id, "after_seq": 0, "token": tokens[0],
          "ref": "s"}, "subscribed"),
        ({"type": "bid", "lot_id": lot_id, "amount": "110.00", "ref": "b1"}, "ack"),
        ({"type": "bid", "lot_id": lot_id, "amount": "1.001", "ref": "b2"}, "rejected"),
        ({"type": "act", "lot_id": lot_id, "act": "no_such_act", "ref": "a1"}, "rejected"),
        # the lot's signatures are off: no key is enrolled
        ({"type": "enrol", "lot_id": lot_id, "alg": "ecdsa-p256", "key": "AAAA", "ref": "k1"},
         "rejected"),
        ({"type": "ping", "client_time": 1, "ref": "p"}, "pong"),
        ({"type": "ping", "client_time": "now", "ref": "p2"}, "error"),
        ({"type": "unsubscribe", "lot_id": lot_id, "ref": "u"}, "unsubscribed"),
    ]
    await watcher.subscribe(lot_id)
    for message, answer in sent:
        await client.send(message)
        assert (await client.next(answer))["ref"] == message["ref"]
    await client.send({"type": "ping", "client_time": 2})
    await client.next("pong")
    assert {m["type"] for m, _ in sent} == set(MESSAGE_TYPES)
    frames = [frame for c in (client, watcher) for frame in c.seen]
    seen: set[str] = set()
    for frame in frames:
        message = msgspec.json.decode(frame, type=AnyServerMessage)
        name = tag_of(type(message))
        _validator(f"server.{name}").validate(msgspec.json.decode(frame))
        seen.add(name)
        assert not (name == "error" and msgspec.json.decode(frame)["code"] == "unknown_type")
    assert seen == {tag_of(m) for m in SERVER_MESSAGES}


def test_the_message_tables_of_the_protocol_are_made_from_the_schemas() -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    assert render(text) == text, "docs/protocol.md is stale: run ./dev docs"
    assert docs_main(check=True) == 0


def test_a_stale_message_table_is_found_and_rewritten(tmp_path: Path) -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    stale = text.replace("| `client_time` |", "| `client_clock` |", 1)
    assert stale != text
    copy = tmp_path / "protocol.md"
    copy.write_text(stale, encoding="utf-8")
    assert docs_main(check=True, path=copy) == 1
    assert copy.read_text(encoding="utf-8") == stale  # a check changes nothing
    assert docs_main(check=False, path=copy) == 0
    assert copy.read_text(encoding="utf-8") == text


# ---------------------------------------------------------------- the error catalogue

#: Calls that send a code, and the position of the code among their arguments.
_CODE_ARGUMENT = {"Rejection": 0, "WebError": 1, "Invalid": 0, "_error": 0, "_rejected": 3,
                  "error_response": 1, "invalid": 2}
#: Module-level tables whose values are codes the server sends.
_CODE_TABLES = {"_HTTP_CODES", "FIELD_CODES", "INPUT_CODES"}


def sent_codes() -> set[str]:
    """Every code the server can send, read off the source of auction/, engine/ and web/:
    the literal codes of the calls that send them, and the tables that map to them."""
    codes: set[str] = set()
    for package in ("auction", "engine", "web"):
        for path in sorted((ROOT / package).glob("**/*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(
                        func, "id", None)
                    index = _CODE_ARGUMENT.get(name or "")
                    if index is not None and len(node.args) > index:
                        arg = node.args[index]
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            codes.add(arg.value)
                        for keyword in node.keywords:
                            if keyword.arg == "code" and isinstance(keyword.value,
                                                                    ast.Constant):
                                codes.add(keyword.value.value)
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id in _CODE_TABLES for t in targets):
                        for const in ast.walk(node.value or ast.Constant(None)):
                            if isinstance(const, ast.Constant) and isinstance(const.value,
                                                                              str):
                                codes.add(const.value)
    codes.discard("")
    return {code for code in codes if code.isidentifier() and code.islower()
            and not code.startswith(("params.", "_"))} - {"amount", "params", "format",
                                                           "mode", "stagger_s"}


async def test_every_code_the_server_can_send_has_chinese_and_english_texts(
        server: Server) -> None:
    codes = sent_codes()
    assert {"not_improving", "bad_message", "invalid_amount", "unknown_lot", "sealed",
            "quarantined", "too_many_connections"} <= codes  # the scan finds them
    texts = catalogue()
    missing = sorted(code for code in codes if code not in texts)
    assert not missing, f"codes without texts in web/errors.py: {missing}"
    for code, text in texts.items():
        assert set(text) == {"zh", "en"} and all(text.values()), code
        assert text["zh"] != code and text["en"] != code, code
    assert await server.ok("GET", "/api/errors.json", token=None) == texts


def test_the_pages_have_no_copy_of_the_error_texts() -> None:
    """No page script keys a code's text by the code (``not_improving: "..."``): the
    pages read the catalogue from the server."""
    static = ROOT / "web" / "static"
    codes = catalogue()
    for path in sorted(static.glob("**/*.js")):
        source = path.read_text(encoding="utf-8")
        copies = [code for code, text in codes.items() for words in text.values()
                  if re.search(rf"(?<![\w-]){code}\s*:\s*[\"'`]{re.escape(words)}", source)]
        assert not copies, (path, copies)
    assert '"/api/errors.json"' in (static / "i18n.js").read_text(encoding="utf-8")
