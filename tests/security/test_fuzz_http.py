"""Schemathesis over the OpenAPI document: for every operation, requests generated from
the document (valid ones, and invalid ones) against a real server, checking that the
server never fails (no 5xx), answers only documented statuses and content types with
bodies that match the documented schemas, accepts what the document calls valid and
refuses what it calls invalid.

Budget: ``AUCTION_FUZZ_EXAMPLES`` examples per operation, mode and lot (default 8, about
20 s for the whole API); the examples are derandomized (the same every run, so CI is
stable) unless ``AUCTION_FUZZ_RANDOM=1``. Authorisation is not fuzzed here (every
request carries a host token; ``test_authz_matrix.py`` covers who may do what).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from threaded import ThreadedServer
from web_support import DEFAULT_PARAMS, HOST_TOKEN, STAFF

from web.routes import OPENAPI

EXAMPLES = int(os.environ.get("AUCTION_FUZZ_EXAMPLES", "8"))
RANDOM = os.environ.get("AUCTION_FUZZ_RANDOM") == "1"
AUTH = {"Authorization": f"Bearer {HOST_TOKEN}"}
#: Operations whose bodies have rules across fields that JSON Schema does not express
#: here, and the only codes a schema-valid request may be refused with (400): an amount
#: with decimals in a JPY lot is refused as invalid_amount.
BUSINESS_RULES = {
    ("POST", "/api/lots"): {"invalid_params", "invalid_amount"},
    # The trade (web/trade.py): a notice's lots must exist; a code's check character and
    # a password's strength are checked beyond the pattern; a rejection needs its reason.
    ("POST", "/api/notices"): {"unknown_lot"},
    ("POST", "/api/notices/{notice_id}/amend"): {"unknown_lot"},
    ("POST", "/api/accounts"): {"invalid_party_code", "weak_password"},
    ("POST", "/api/applications/{application_id}/review"): {"reason_required"},
    ("POST", "/api/applications/{application_id}/winner-review"): {"reason_required"},
    # A statement's content is a CSV file (docs/bank.md), which the schema only calls text.
    ("POST", "/api/bank/statements"): {"bad_statement"},
    ("POST", "/api/bank/refunds/confirmations/file"): {"bad_statement"},
    # with bank notifications configured, confirming by hand needs a reason
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit"): {"reason_required"},
}


class Api:
    """The server and what exists on it: a session, lots in several states, bidders."""

    def __init__(self, server: ThreadedServer) -> None:
        self.server = server
        self.http = requests.Session()
        self.http.headers.update(AUTH)
        self.session_id = self.post("/api/sessions", {"name": "fuzz"})["session_id"]
        self.lots: dict[str, str] = {}
        for state in ("draft", "open", "ended"):
            lot = self.post("/api/lots", {"session_id": self.session_id, "title": state,
                                          "format": "english", "params": DEFAULT_PARAMS})
            lot_id = lot["lot_id"]
            for bidder in ("b1", "b2"):
                self.post(f"/api/lots/{lot_id}/bidders", {"bidder_id": bidder, "name": bidder})
                self.post(f"/api/lots/{lot_id}/bidders/{bidder}/deposit",
                          {"amount": "50.00", "account": "a", "reason": "fuzz"})
            if state != "draft":
                self.post(f"/api/lots/{lot_id}/schedule", {})
                self.post(f"/api/lots/{lot_id}/start", {})
            if state == "ended":
                self.post(f"/api/lots/{lot_id}/cancel", {"reason": "fuzz"})
            self.lots[state] = lot_id

    def post(self, path: str, body: Any) -> Any:
        response = self.http.post(self.server.base + path, json=body, timeout=10)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with ThreadedServer(tmp_path_factory.mktemp("fuzz-http"), staff=STAFF,
                        secret=b"fuzz-http-secret-0123456789",
                        bank_secret=b"fuzz-http-bank-secret-0123",
                        address_rate=1e6, address_burst=10**6) as server:
        yield Api(server)
        assert not server.errors, server.errors


def document() -> dict[str, Any]:
    """The served document without its security requirements (every request is made as
    a host; otherwise the negative mode would "remove" a header that is always sent)."""
    doc = copy.deepcopy(OPENAPI)
    for ops in doc["paths"].values():
        for op in ops.values():
            op.pop("security", None)
    return doc


SCHEMA = schemathesis.openapi.from_dict(document())
OPERATIONS = [(method.upper(), path) for path, ops in OPENAPI["paths"].items() for method in ops]


def test_the_fuzzed_document_is_the_served_one(api: Api) -> None:
    assert api.http.get(api.server.base + "/api/openapi.json", timeout=10).json() == OPENAPI


@pytest.mark.parametrize(("method", "path"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_holds_to_the_document(api: Api, method: str, path: str) -> None:
    operation = SCHEMA[path][method]
    failures: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for lot_state in ("open", "ended", None):
            if lot_state is not None and "{lot_id}" not in path:
                continue
            fixed: dict[str, str] = {}
            if lot_state is not None:
                fixed["lot_id"] = api.lots[lot_state]
                if "{bidder_id}" in path:
                    fixed["bidder_id"] = "b1"
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)
            failures.extend(run(api, strategy, f"{mode.value} lot={lot_state}"))
    assert api.server.alive()
    health = api.http.get(api.server.base + "/healthz", timeout=10)
    assert health.status_code == 200
    assert not failures, "\n\n".join(failures[:5])


def whole_numbers(value: Any) -> Any:
    """``value`` with integral floats (``7.0``) as integers. JSON Schema counts 7.0 as an
    integer; this API does not (a whole number is written ``7``: protocol.md), a
    deliberate strictness the document states in prose."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def run(api: Api, strategy: Any, label: str) -> list[str]:
    failures: list[str] = []

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    def check(case: Any) -> None:
        if isinstance(case.body, dict):
            if "session_id" in case.body and case.path == "/api/lots":
                case.body["session_id"] = api.session_id  # a session the document cannot name
            if "positive" in label:
                case.body = whole_numbers(case.body)
        response = case.call(base_url=api.server.base, headers=AUTH, timeout=10)
        excluded = []
        if (case.method, case.path) in BUSINESS_RULES:
            # Rules across fields (RULES.md) that the document gives in prose: a request
            # the schema allows may still be refused, but only with their code.
            excluded.append(positive_data_acceptance)
            if response.status_code == 400 and "positive" in label:
                code = response.json()["error"]["code"]
                if code not in BUSINESS_RULES[(case.method, case.path)]:
                    failures.append(f"[{label}] {case.method} {case.path}: 400 {code}")
        try:
            case.validate_response(response, excluded_checks=excluded)
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises a group
            failures.append(f"[{label}] {exc}")

    try:
        check()
    except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
        pass
    return failures
