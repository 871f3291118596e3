# ruff: noqa: E501  (the matrix is one table, a row per route, a column per role)
"""The authorisation matrix: every role against every HTTP route of the application and
every WebSocket message type, each cell tested on a real server.

The routes are read from the application's router when the test runs, so a route added
later that is missing from :data:`HTTP_MATRIX` fails ``test_every_route_is_in_the_matrix``:
add a row (and, for a route that acts, a way to prepare the lot in :data:`PREPARE`).

Roles (columns, in this order):

* ``public``  - no token at all;
* ``bidder``  - the bidder token of a bidder registered in the lot the route is about;
* ``other``   - a valid bidder token of a bidder of *another* lot;
* ``host``    - a host's staff token (may act);
* ``supervisor`` - a supervisor's staff token (may read everything, act on nothing).

Outcomes: ``public`` / ``bidder`` / ``staff`` (200 with the lot as that audience sees
it), ``ok`` (200, nothing role-specific in the answer), ``made`` (201: the host's action
took effect), ``done`` (200: the host's action took effect), ``page`` (200 text/html),
``401`` (``unauthorized``: no or unknown credentials), ``403`` (``forbidden``: the
credentials are known and do not allow it), ``101`` (the WebSocket upgrade: roles are
given per subscription, see :data:`WS_MATRIX`), ``metrics`` (200, Prometheus's text
format). Every refused cell also checks that nothing changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from web_support import DEFAULT_PARAMS, HOST_TOKEN, SUPERVISOR_TOKEN, Client, Server

from auction.model import PlaceBid
from web.app import create_app
from web.config import Settings
from web.schemas import MESSAGE_TYPES

ROLES = ("public", "bidder", "other", "host", "supervisor")

# fmt: off
HTTP_MATRIX: dict[tuple[str, str], tuple[str, str, str, str, str]] = {
    #  method, route                                    public    bidder    other     host      supervisor
    ("GET",  "/healthz"):                               ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/readyz"):                                ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/openapi.json"):                      ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/asyncapi.json"):                     ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/errors.json"):                       ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/time"):                              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/sessions"):                          ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/sessions"):                          ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots"):                              ("public", "public", "public", "staff",  "staff"),
    ("POST", "/api/lots"):                              ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots/{lot_id}"):                     ("public", "bidder", "public", "staff",  "staff"),
    ("GET",  "/api/lots/{lot_id}/bids"):                ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/events"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/bidders"):             ("401",    "403",    "403",    "made",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/token"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/revoke"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/schedule"):            ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/start"):               ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/pause"):               ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/resume"):              ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/extend"):              ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/cancel"):              ("401",    "403",    "403",    "done",   "403"),
    # messages in the room: hosts announce and answer; the lot's bidders ask
    ("POST", "/api/lots/{lot_id}/announce"):            ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/questions"):           ("401",    "done",   "403",    "403",    "403"),
    ("POST", "/api/lots/{lot_id}/questions/{seq}/answer"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    # the record (web/records.py): results are public once a lot has ended; reports,
    # exports, deposits and collusion checks are for staff; deposits are settled by hosts
    ("GET",  "/api/lots/{lot_id}/result"):              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/ocds"):                ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/ocds"):                              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/report"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/export"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/deposits"):            ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/refund"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/forfeit"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/apply"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("GET",  "/api/lots/{lot_id}/collusion"):           ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/collusion"):                         ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/ws"):                                    ("101",    "101",    "101",    "101",    "101"),
    # operators: staff tokens, or the networks of metrics_allow (none here)
    ("GET",  "/metrics"):                               ("401",    "403",    "403",    "metrics", "metrics"),
    ("GET",  "/"):                                      ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/room/{lot_id}"):                         ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/host"):                                  ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/board/{lot_id}"):                        ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/result/{lot_id}"):                       ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/report/{lot_id}"):                       ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/supervisor"):                            ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/static"):                                ("ok",     "ok",     "ok",     "ok",     "ok"),
}

#: Every WebSocket message type, sent about lot A after subscribing to it with the role's
#: token (``other`` subscribes with its token of lot B, which is refused).
WS_MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    #  message        public                bidder               other                  host                  supervisor
    "subscribe":   ("subscribed public",  "subscribed bidder", "error bad_token",     "subscribed host",    "subscribed supervisor"),
    "bid":         ("rejected forbidden", "ack",               "rejected forbidden",  "rejected forbidden", "rejected forbidden"),
    "act":         ("rejected forbidden", "rejected not_supported", "rejected forbidden", "rejected forbidden", "rejected forbidden"),
    "unsubscribe": ("unsubscribed",       "unsubscribed",      "error not_subscribed", "unsubscribed",      "unsubscribed"),
    "ping":        ("pong",               "pong",              "pong",                "pong",               "pong"),
}
# fmt: on

#: The state lot A must be in for the host's action on a route to succeed (default: open).
PREPARE: dict[tuple[str, str], str] = {
    ("POST", "/api/lots/{lot_id}/schedule"): "draft",
    ("POST", "/api/lots/{lot_id}/start"): "scheduled",
    ("POST", "/api/lots/{lot_id}/resume"): "paused",
    ("POST", "/api/lots/{lot_id}/questions/{seq}/answer"): "asked",
    ("GET", "/api/lots/{lot_id}/result"): "cancelled",
    ("GET", "/api/lots/{lot_id}/ocds"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/refund"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/forfeit"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/apply"): "awarded",
}
#: The bidder a route is about (default b1; b2 leads lot A once it is open).
BIDDER_OF: dict[str, str] = {"/revoke": "b2", "/deposit/apply": "b2"}


def app_routes() -> set[tuple[str, str]]:
    """Every (method, route) the application serves, HEAD aside."""
    app = create_app(Settings(), engine=_NoEngine())
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None and r.method != "HEAD"}


class _NoEngine:
    """Enough of an engine to build the application's router (never started)."""


def test_every_route_is_in_the_matrix() -> None:
    routes = app_routes()
    missing = sorted(routes - set(HTTP_MATRIX))
    assert not missing, (f"routes without a row in HTTP_MATRIX of {__file__}: {missing}; "
                         "add one with the expected outcome for every role")


def test_every_websocket_message_type_is_in_the_matrix() -> None:
    assert set(WS_MATRIX) == set(MESSAGE_TYPES)


def documented(table: str) -> dict[str, tuple[str, ...]]:
    """The rows of a table of docs/security.md between ``<!-- matrix:NAME -->`` marks."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    body = text.split(f"<!-- matrix:{table} -->")[1].split(f"<!-- /matrix:{table} -->")[0]
    rows = [line.strip().strip("|").split("|") for line in body.strip().splitlines()[2:]]
    return {cells[0].strip().strip("`"): tuple(c.strip() for c in cells[1:]) for cells in rows}


def test_docs_list_the_same_matrix() -> None:
    assert documented("http") == {f"{m} {r}": cells for (m, r), cells in HTTP_MATRIX.items()}
    assert documented("ws") == WS_MATRIX


# ------------------------------------------------------------------------ the world


@dataclass
class World:
    """Lot A (the lot the routes are about, with bidders b1 and b2) and lot B (another
    lot, with its bidder x1), and a token for every role."""

    server: Server
    lot: str
    other_lot: str
    tokens: dict[str, str | None]

    def fingerprint(self) -> tuple[Any, ...]:
        engine = self.server.engine
        return (tuple(s.session_id for s in engine.sessions()),
                tuple((lot_id, engine.lot(lot_id).version)  # type: ignore[union-attr]
                      for lot_id in engine.lot_ids()))


async def make_world(server: Server, state: str) -> World:
    lot = await server.make_lot(**({"duration_s": 1} if state == "awarded" else {}))
    b1 = await server.register(lot, "b1")
    await server.register(lot, "b2")
    other_lot = await server.make_lot()
    x1 = await server.register(other_lot, "x1")
    if state != "draft":
        await server.ok("POST", f"/api/lots/{lot}/schedule", {})
    if state not in ("draft", "scheduled"):
        await server.ok("POST", f"/api/lots/{lot}/start", {})
        placed = await server.engine.execute(lot, PlaceBid(bidder_id="b2", amount=10_000))
        assert isinstance(placed, list)
    if state == "paused":
        await server.ok("POST", f"/api/lots/{lot}/pause", {"reason": "r"})
    if state == "asked":  # open, with b1's question to answer
        await server.ok("POST", f"/api/lots/{lot}/questions", {"kind": "question", "text": "q"},
                        token=b1["token"])
        state = "open"
    if state == "cancelled":
        await server.ok("POST", f"/api/lots/{lot}/cancel", {"reason": "r"})
    async with asyncio.timeout(5):
        while server.engine.lot(lot).status != state:  # type: ignore[union-attr]
            await asyncio.sleep(0.02)  # (awarded: the close comes a second after opening)
    tokens = {"public": None, "bidder": b1["token"], "other": x1["token"],
              "host": HOST_TOKEN, "supervisor": SUPERVISOR_TOKEN}
    return World(server, lot, other_lot, tokens)


def request_for(world: World, method: str, route: str) -> tuple[str, Any]:
    """The concrete path and body of ``route`` for the host's action to succeed."""
    state = world.server.engine.lot(world.lot)
    assert state is not None
    bidder = next((b for end, b in BIDDER_OF.items() if route.endswith(end)), "b1")
    path = route.replace("{lot_id}", world.lot).replace("{bidder_id}", bidder)
    path = path.replace("{seq}", str(max(state.questions, default=0)))
    if route == "/static":
        path = "/static/i18n.js"
    bodies: dict[str, Any] = {
        "/api/sessions": {"name": "n"},
        "/api/lots": {"session_id": world.server.session_id, "title": "t",
                      "format": "english", "params": DEFAULT_PARAMS},
        "/api/lots/{lot_id}/bidders": {"bidder_id": "b3", "name": "n"},
        "/api/lots/{lot_id}/bidders/{bidder_id}/deposit": {"amount": "50.00", "account": "a"},
        "/api/lots/{lot_id}/bidders/{bidder_id}/token": {},
        "/api/lots/{lot_id}/schedule": {},
        "/api/lots/{lot_id}/announce": {"text": "t"},
        "/api/lots/{lot_id}/questions": {"kind": "question", "text": "q"},
        "/api/lots/{lot_id}/questions/{seq}/answer": {"text": "a"},
        "/api/lots/{lot_id}/start": {},
        "/api/lots/{lot_id}/extend": {"reason": "r",
                                      "closes_at": (state.closes_at or 0) + 60_000},
    }
    if method == "GET":
        return path, None
    return path, bodies.get(route, {"reason": "r"})


# ------------------------------------------------------------------------ HTTP cells


def _cells() -> list[tuple[str, str]]:
    """The rows of the routes the app serves (a row whose route is gone is not run; a
    mistyped row leaves its route missing, which fails above)."""
    return sorted(set(HTTP_MATRIX) & app_routes())


@pytest.mark.parametrize(("method", "route"), _cells(), ids=[f"{m} {r}" for m, r in _cells()])
async def test_http_route_for_every_role(server: Server, method: str, route: str) -> None:
    expected = dict(zip(ROLES, HTTP_MATRIX[(method, route)], strict=True))
    world = await make_world(server, PREPARE.get((method, route), "open"))
    # The host acts last: every other role is refused first, on an unchanged lot.
    for role in sorted(ROLES, key=lambda r: r == "host"):
        await check_http_cell(world, method, route, role, expected[role])


async def check_http_cell(world: World, method: str, route: str, role: str,
                          outcome: str) -> None:
    server, token = world.server, world.tokens[role]
    path, body = request_for(world, method, route)
    where = f"{method} {route} as {role}"
    if outcome == "101":
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
            assert b'"welcome"' in (await ws.recv()).encode(), where
        return
    before = world.fingerprint()
    hdrs = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.http.request(method, server.base + path, json=body,
                                   headers=hdrs) as resp:
        status, content_type = resp.status, resp.content_type
        data = await resp.json() if content_type == "application/json" else await resp.read()
    if outcome in ("401", "403"):
        assert status == int(outcome), (where, status, data)
        assert data["error"]["code"] == ("unauthorized" if outcome == "401" else "forbidden")
        assert world.fingerprint() == before, f"{where}: refused, yet something changed"
        return
    if outcome == "page":
        assert status == 200 and content_type == "text/html", (where, status)
        return
    if outcome == "metrics":
        assert status == 200 and content_type == "text/plain", (where, status)
        assert b"\nauction_lots{" in data, where
        return
    assert status == (201 if outcome == "made" else 200), (where, status, data)
    if outcome in ("made", "done"):
        assert world.fingerprint() != before or route.endswith("/token"), where
    if outcome in ("public", "bidder", "staff"):
        views = data["lots"] if "lots" in data else [data]
        assert views, where
        for view in views:
            assert ("register" in view) == (outcome == "staff"), where
            assert ("reserve" in view) == (outcome == "staff"), where
            assert ("you" in view) == (outcome == "bidder"), where
        if outcome == "bidder":
            assert data["you"]["bidder_no"] == server.engine.lot(  # type: ignore[union-attr]
                world.lot).bidders["b1"].bidder_no
    if outcome in ("ok", "made", "done") and route.startswith("/api/lots/{lot_id}/b"):
        assert "b1" in str(data) or "b2" in str(data) or "b3" in str(data), where


# ------------------------------------------------------------------------ WebSocket cells


@pytest.mark.parametrize("message", sorted(WS_MATRIX))
async def test_websocket_message_for_every_role(server: Server, message: str) -> None:
    world = await make_world(server, "open")
    for role, outcome in zip(ROLES, WS_MATRIX[message], strict=True):
        client = await server.connect()
        await check_ws_cell(world, client, message, role, outcome)
        await client.close()


async def check_ws_cell(world: World, client: Client, message: str, role: str,
                        outcome: str) -> None:
    server, token = world.server, world.tokens[role]
    where = f"{message} as {role}"
    lot = world.lot
    subscribe: dict[str, Any] = {"type": "subscribe", "lot_id": lot, "after_seq": 0,
                                 "ref": "s"}
    if token is not None:
        subscribe["token"] = token
    await client.send(subscribe)
    first = await client.recv()
    if message == "subscribe":
        await check_subscribe(world, client, first, role, outcome, where)
        return
    if first["type"] == "subscribed":
        await client.next("update")
        if role == "bidder":
            await client.next("you")
    else:  # other: its token is for lot B. It may watch lot B as its bidder, not bid on A.
        assert first["type"] == "error" and first["code"] == "bad_token", where
        await client.subscribe(world.other_lot, token)
    before = world.fingerprint()
    messages: dict[str, dict[str, Any]] = {
        "bid": {"type": "bid", "lot_id": lot, "amount": "110.00", "ref": "x"},
        "act": {"type": "act", "lot_id": lot, "act": "confirm", "ref": "x"},
        "unsubscribe": {"type": "unsubscribe", "lot_id": lot},
        "ping": {"type": "ping", "client_time": 1},
    }
    await client.send(messages[message])
    reply = await client.recv()
    while reply["type"] in ("update", "you"):
        reply = await client.recv()
    kind, _, code = outcome.partition(" ")
    assert reply["type"] == kind, (where, reply)
    if code:
        assert reply["code"] == code, (where, reply)
    if outcome == "ack":
        assert world.fingerprint() != before
        assert server.engine.lot(lot).leader == "b1"  # type: ignore[union-attr]
    else:
        assert world.fingerprint() == before, f"{where}: changed the lot"


async def check_subscribe(world: World, client: Client, first: dict[str, Any], role: str,
                          outcome: str, where: str) -> None:
    kind, _, detail = outcome.partition(" ")
    assert first["type"] == kind, (where, first)
    if kind == "error":
        assert first["code"] == detail and "another lot" in first["detail"], where
        await client.quiet(0.1)  # and no update of lot A follows
        return
    assert first["role"] == detail, where
    update = await client.next("update")
    state = update["state"]
    assert ("register" in state) == (detail in ("host", "supervisor")), where
    assert "reserve" not in state or detail in ("host", "supervisor"), where
    if detail == "bidder":
        you = await client.next("you")
        assert you["you"]["bidder_no"] == first["bidder_no"], where
    else:
        assert first["bidder_no"] is None, where
    names = [e.get("name") for e in update["events"] if e["type"] == "BidderRegistered"]
    if detail in ("public", "bidder"):
        assert names == [None, None], f"{where}: identities leaked"
    else:
        assert names == ["Company b1", "Company b2"], where
