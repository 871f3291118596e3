"""Regression tests for what the fuzzers and the matrix found: each case the OpenAPI
document and the server disagreed on, now agreeing, checked directly (and not only by
whichever examples the fuzzer happens to draw)."""

from __future__ import annotations

import re

import pytest
from web_support import Server

from web.routes import OPENAPI


def schema(path: str, method: str = "post") -> dict:  # type: ignore[type-arg]
    return OPENAPI["paths"][path][method]


def body_property(path: str, name: str) -> dict:  # type: ignore[type-arg]
    """The schema of field ``name`` of the body of ``POST path`` (a required field's
    own schema; an optional one's non-null choice)."""
    body = schema(path)["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = OPENAPI["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    prop = body["properties"][name]
    if "anyOf" in prop:
        prop = next(choice for choice in prop["anyOf"] if choice.get("type") != "null")
    return prop  # type: ignore[no-any-return]


TEXTS = ["a", " a ", "土地 №7", "", " ", "\t", "\x85", "\xa0", "\u3000", "\u2028", "\ufeff",
         "a\x01", "a\x7f", "a\nb", "\x85a", "x" * 200, "x" * 201]


@pytest.mark.parametrize("text", TEXTS)
async def test_free_text_is_refused_exactly_when_the_document_says(server: Server,
                                                                   text: str) -> None:
    """Found: control characters and blank text were refused, the document allowed them."""
    prop = body_property("/api/sessions", "name")
    valid = (re.fullmatch(prop["pattern"], text) is not None
             and prop["minLength"] <= len(text) <= prop["maxLength"])
    status, _ = await server.call("POST", "/api/sessions", {"name": text})
    assert (status == 201) == valid, (text, status)


@pytest.mark.parametrize("reason", ["r", "\x85", "\u3000 ", "a\x00", "停电 power cut"])
async def test_reasons_are_refused_exactly_when_the_document_says(server: Server,
                                                                  reason: str) -> None:
    lot_id = await server.make_lot()
    await server.open(lot_id)
    prop = body_property("/api/lots/{lot_id}/pause", "reason")
    valid = re.fullmatch(prop["pattern"], reason) is not None
    status, _ = await server.call("POST", f"/api/lots/{lot_id}/pause", {"reason": reason})
    assert (status == 200) == valid, (reason, status)


@pytest.mark.parametrize("amount", ["0", "0.0", "0.00", "0.01", "0.1", "1", "50.00",
                                    "50.001", "01", "1e3", "-1", "9" * 18, "9" * 19])
async def test_amounts_are_refused_exactly_when_the_document_says(server: Server,
                                                                  amount: str) -> None:
    """Found: zero and more than two decimals were refused, the document allowed them."""
    lot_id = await server.make_lot()
    await server.register(lot_id, "b1", deposit=False)
    prop = body_property("/api/lots/{lot_id}/bidders/{bidder_id}/deposit", "amount")
    valid = re.fullmatch(prop["pattern"], amount) is not None
    status, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/b1/deposit",
                                     {"amount": amount, "account": "a"})
    # Schema-valid amounts may still be too low for the lot (409), never malformed (400).
    assert (status != 400) == valid, (amount, status, data)


@pytest.mark.parametrize(("closes_at", "valid"), [(2**53 - 1, True), (2**53, False),
                                                  (-1, False)])
async def test_times_are_bounded_as_the_document_says(server: Server, closes_at: int,
                                                      valid: bool) -> None:
    """Found: times beyond 2**53 - 1 were refused, the document set no bound."""
    prop = body_property("/api/lots/{lot_id}/extend", "closes_at")
    assert (prop["minimum"] <= closes_at <= prop["maximum"]) == valid
    lot_id = await server.make_lot()
    await server.open(lot_id)
    status, _ = await server.call("POST", f"/api/lots/{lot_id}/extend",
                                  {"reason": "r", "closes_at": closes_at})
    assert (status == 200) == valid
    status, _ = await server.call("GET", f"/api/lots/{lot_id}/events?after={closes_at}")
    assert (status == 200) == valid


async def test_bodies_without_required_fields_may_be_left_out(server: Server) -> None:
    """Found: an empty body was accepted where the document required one."""
    lot_id = await server.make_lot()
    await server.register(lot_id, "b1")
    for path in ("/api/lots/{lot_id}/bidders/{bidder_id}/token", "/api/lots/{lot_id}/schedule"):
        assert schema(path)["requestBody"]["required"] is False
    assert schema("/api/lots/{lot_id}/pause")["requestBody"]["required"] is True
    for body in (b"", b"\n"):
        status, _ = await server.call("POST", f"/api/lots/{lot_id}/bidders/b1/token",
                                      data=body)
        assert status == 200


async def test_the_report_documents_its_csv_and_refuses_a_bad_tz_in_any_format(
        server: Server) -> None:
    """Found: the CSV answer was undocumented, and a bad ``tz`` was accepted unless the
    format was CSV."""
    report = schema("/api/lots/{lot_id}/report", "get")
    assert "text/csv" in report["responses"]["200"]["content"]
    tz = next(p for p in report["parameters"] if p["name"] == "tz")["schema"]["pattern"]
    for text, valid in [("+08:00", True), ("-14:00", True), ("+14:30", False), ("8", False),
                        ("", False), ("+8:00", True)]:
        assert (re.fullmatch(tz, text) is not None) == valid, text
    lot_id = await server.make_lot()
    for query in ("tz=nonsense", "format=json&tz=nonsense", "format=csv&tz=+15:00"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/report?{query}")
        assert status == 400 and data["error"]["code"] == "bad_request", query


async def test_a_bidder_reading_its_lot_over_http_gets_its_own_standing(server: Server) -> None:
    """Found by the matrix: under price visibility the bidder's HTTP view lacked ``you``,
    which the document promises."""
    lot_id, tokens = await server.open_lot()
    for token, bidder in zip(tokens, ("b1", "b2"), strict=True):
        view = await server.ok("GET", f"/api/lots/{lot_id}", token=token)
        state = server.engine.lot(lot_id)
        assert state is not None
        assert view["you"]["bidder_no"] == state.bidders[bidder].bidder_no
        assert "register" not in view and "reserve" not in view
