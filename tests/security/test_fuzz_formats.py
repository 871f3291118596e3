"""Schemathesis over every format's lot parameters: for each format, bodies of
``POST /api/lots`` generated from that format's schema in the served OpenAPI document
(valid ones, and invalid ones) against a real server. A valid body may be refused only
by the rules across keys (400 ``invalid_params``); an invalid one is always refused with
400; the server never fails and answers as documented.

Budget: ``AUCTION_FUZZ_FORMAT_EXAMPLES`` examples per format and mode (default 30; about
30 s for all formats), derandomized unless ``AUCTION_FUZZ_RANDOM=1``.
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
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from threaded import ThreadedServer
from web_support import HOST_TOKEN, STAFF

from auction.lot import FORMATS
from web.routes import OPENAPI

EXAMPLES = int(os.environ.get("AUCTION_FUZZ_FORMAT_EXAMPLES", "30"))
RANDOM = os.environ.get("AUCTION_FUZZ_RANDOM") == "1"
AUTH = {"Authorization": f"Bearer {HOST_TOKEN}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadedServer, str]]:
    with ThreadedServer(tmp_path_factory.mktemp("fuzz-formats"), staff=STAFF,
                        secret=b"fuzz-formats-secret-0123456789",
                        address_rate=1e6, address_burst=10**6) as server:
        response = requests.post(server.base + "/api/sessions", json={"name": "fuzz"},
                                 headers=AUTH, timeout=10)
        yield server, response.json()["session_id"]
        assert not server.errors, server.errors


def one_format(name: str) -> Any:
    """The served document with ``POST /api/lots`` taking only format ``name``'s body,
    and no security requirement (every request is made as a host)."""
    doc = copy.deepcopy(OPENAPI)
    doc["paths"] = {"/api/lots": {"post": doc["paths"]["/api/lots"]["post"]}}
    op = doc["paths"]["/api/lots"]["post"]
    op.pop("security")
    op["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": f"#/components/schemas/CreateLot_{name}"}
    return schemathesis.openapi.from_dict(doc)["/api/lots"]["POST"]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_s_parameters_hold_to_the_document(
        api: tuple[ThreadedServer, str], name: str) -> None:
    server, session_id = api
    operation = one_format(name)
    failures: list[str] = []
    outcomes: dict[str, set[int]] = {}
    def fuzz(mode: GenerationMode) -> None:
        positive = mode is GenerationMode.POSITIVE

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  derandomize=not RANDOM, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            if isinstance(case.body, dict) and positive:
                case.body["session_id"] = session_id  # a session the document cannot name
                case.body.pop("lot_id", None)  # ids are unique: let the server make them
            response = case.call(base_url=server.base, headers=AUTH, timeout=10)
            outcomes.setdefault(mode.value, set()).add(response.status_code)
            if positive and response.status_code == 400:
                # Rules across keys the schema cannot say: invalid_params, or
                # invalid_amount for an amount finer than the lot's currency allows.
                code = response.json()["error"]["code"]
                if code not in ("invalid_params", "invalid_amount"):
                    failures.append(f"[{name} valid] refused with {code}: {case.body}")
            if not positive and response.status_code != 400:
                failures.append(f"[{name} invalid] answered {response.status_code}: "
                                f"{case.body}")
            try:
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            except BaseException as exc:  # noqa: BLE001 - schemathesis raises a group
                failures.append(f"[{name} {mode.value}] {exc}")

        check()

    fuzz(GenerationMode.POSITIVE)
    fuzz(GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(failures[:5])
    assert outcomes["negative"] == {400}
    # Valid bodies make a lot or meet a rule across keys (english and sealed lots need
    # exactly one of closes_at and duration_s, which random bodies seldom have).
    assert outcomes["positive"] <= {201, 400}, outcomes
