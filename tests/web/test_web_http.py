"""The HTTP API over a real socket: every route, its auth, and bad input of every kind."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server, ServerFactory

from auction.record import verify_chain
from web.api import ACTIONS
from web.routes import OPENAPI, ROUTES, add_routes


def assert_error(status: int, data: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, (status, data)
    error = data["error"]
    assert error["code"] == code, data
    assert set(error) == {"code", "message", "detail"}
    assert set(error["message"]) == {"zh", "en"} and error["message"]["zh"]


# ---------------------------------------------------------------- public routes


async def test_healthz_reports_ok_lots_and_server_time(server: Server) -> None:
    status, data = await server.call("GET", "/healthz", token=None)
    assert status == 200 and data["status"] == "ok" and data["lots"] == 0
    assert abs(data["server_time"] - server.engine.now()) < 5_000
    await server.make_lot()
    assert (await server.ok("GET", "/healthz", token=None))["lots"] == 1


async def test_time_gives_the_server_clock(server: Server) -> None:
    data = await server.ok("GET", "/api/time", token=None)
    assert abs(data["server_time"] - server.engine.now()) < 5_000


async def test_time_gives_the_center_s_time_zone(make_server: ServerFactory) -> None:
    server = await make_server(time_zone="Asia/Urumqi")
    data = await server.ok("GET", "/api/time", token=None)
    assert data["time_zone"] == "Asia/Urumqi"


async def test_openapi_describes_exactly_the_routes_of_the_app(server: Server) -> None:
    doc = await server.ok("GET", "/api/openapi.json", token=None)
    assert doc["openapi"] == "3.1.0" and doc == OPENAPI
    app = routed()
    described = {(path, method.upper()) for path, ops in doc["paths"].items()
                 for method in ops}
    assert described == app
    for ops in doc["paths"].values():
        for op in ops.values():
            assert any(code.startswith("2") for code in op["responses"])
            for response in op["responses"].values():
                assert "application/json" in response["content"]


def routed() -> set[tuple[str, str]]:
    app = web.Application()
    add_routes(app)
    other = {(r.path, r.method) for r in ROUTES if r.serves is not None}  # not JSON
    return {(r.resource.canonical, r.method) for r in app.router.routes()
            if r.resource is not None and r.method != "HEAD"} - other


async def test_sessions_are_created_by_hosts_and_listed_for_anyone(server: Server) -> None:
    status, made = await server.call("POST", "/api/sessions", {"name": "土地竞价会"})
    assert status == 201 and made["session_id"].startswith("S-")
    assert made["created_by"] == "alice" and made["name"] == "土地竞价会"
    named = await server.ok("POST", "/api/sessions", {"name": "n", "session_id": "S-2025-01"})
    assert named["session_id"] == "S-2025-01"
    status, dup = await server.call("POST", "/api/sessions", {"name": "n",
                                                              "session_id": "S-2025-01"})
    assert_error(status, dup, 409, "exists")
    listed = await server.ok("GET", "/api/sessions", token=None)
    assert [s["session_id"] for s in listed["sessions"]] == [made["session_id"], "S-2025-01"]


async def test_lots_are_created_with_generated_or_given_ids(server: Server) -> None:
    lot_id = await server.make_lot()
    assert lot_id.startswith("L-")
    assert server.session_id is not None
    status, lot = await server.call("POST", "/api/lots", {
        "session_id": server.session_id, "title": "t", "format": "english",
        "params": {"start_price": "5.00", "step": "1.00", "duration_s": 60},
        "lot_id": "LAND-7"})
    assert status == 201 and lot["lot_id"] == "LAND-7" and lot["status"] == "draft"
    assert "register" in lot  # the staff view
    status, dup = await server.call("POST", "/api/lots", {
        "session_id": server.session_id, "title": "t", "format": "english",
        "params": {"start_price": "5.00", "step": "1.00", "duration_s": 60},
        "lot_id": "LAND-7"})
    assert_error(status, dup, 409, "exists")


async def test_lot_list_is_public_and_hides_the_reserve(server: Server) -> None:
    await server.make_lot(reserve="500.00")
    public = await server.ok("GET", "/api/lots", token=None)
    assert len(public["lots"]) == 1
    lot = public["lots"][0]
    assert "reserve" not in lot and "register" not in lot
    assert lot["params"]["has_reserve"] is True and "500.00" not in str(public)
    staff = await server.ok("GET", "/api/lots", token=SUPERVISOR_TOKEN)
    assert staff["lots"][0]["reserve"] == "500.00"
    assert (await server.ok("GET", "/api/lots?session_id=nope", token=None))["lots"] == []


async def test_one_lot_as_public_staff_and_its_bidder(server: Server) -> None:
    lot_id = await server.make_lot(reserve="500.00")
    reg = await server.register(lot_id, "acme", name="ACME Ltd")
    public = await server.ok("GET", f"/api/lots/{lot_id}", token=None)
    assert "ACME" not in str(public) and "acme" not in str(public) and "reserve" not in public
    staff = await server.ok("GET", f"/api/lots/{lot_id}", token=HOST_TOKEN)
    assert staff["register"][0]["name"] == "ACME Ltd" and staff["reserve"] == "500.00"
    mine = await server.ok("GET", f"/api/lots/{lot_id}", token=reg["token"])
    assert "register" not in mine and "reserve" not in mine


async def test_registration_gives_a_random_number_and_a_lot_scoped_token(
        server: Server) -> None:
    lot_id = await server.make_lot()
    status, reg = await server.call("POST", f"/api/lots/{lot_id}/bidders",
                                    {"bidder_id": "acme", "name": "ACME"})
    assert status == 201 and reg["bidder_id"] == "acme" and reg["bidder_no"].isdigit()
    assert reg["room_url"] == f"/room/{lot_id}#token={reg['token']}"
    assert reg["expires_at"] > server.engine.now() + 6 * 24 * 3600 * 1000
    status, again = await server.call("POST", f"/api/lots/{lot_id}/bidders",
                                      {"bidder_id": "acme", "name": "ACME"})
    assert_error(status, again, 409, "already_registered")
    fresh = await server.ok("POST", f"/api/lots/{lot_id}/bidders/acme/token", {})
    assert fresh["bidder_no"] == reg["bidder_no"]
    status, missing = await server.call("POST", f"/api/lots/{lot_id}/bidders/zz/token", {})
    assert_error(status, missing, 404, "unknown_bidder")
    other = await server.make_lot()
    status, data = await server.call("GET", f"/api/lots/{other}", token=reg["token"])
    assert status == 200 and "you" not in data  # worth nothing there: the public view
    assert data == (await server.call("GET", f"/api/lots/{other}", token=None))[1]


async def test_deposit_amounts_are_exact_decimal_strings(server: Server) -> None:
    lot_id = await server.make_lot()
    await server.register(lot_id, "acme", deposit=False)
    path = f"/api/lots/{lot_id}/bidders/acme/deposit"
    seq = server.seq(lot_id)
    for amount in (50, 50.0, "50.001", "-50.00", "5e1", "", "NaN", None, [], "0"):
        status, data = await server.call("POST", path, {"amount": amount, "account": "a"})
        assert_error(status, data, 400, "invalid_amount")
    status, data = await server.call("POST", path, {"amount": "10.00", "account": "a"})
    assert_error(status, data, 409, "deposit_too_low")
    status, data = await server.call(
        "POST", f"/api/lots/{lot_id}/bidders/nobody/deposit", {"amount": "50.00",
                                                               "account": "a"})
    assert_error(status, data, 409, "unknown_bidder")
    assert server.seq(lot_id) == seq
    done = await server.ok("POST", path, {"amount": "50.00", "account": "6222-01"})
    assert done["seq"] == seq + 1 and done["events"][0]["type"] == "DepositConfirmed"
    assert done["state"]["register"][0]["eligible"] is True


async def test_a_lot_goes_through_every_staff_action(server: Server) -> None:
    lot_id = await server.make_lot()
    base = f"/api/lots/{lot_id}"
    assert (await server.ok("POST", f"{base}/schedule", {}))["state"]["status"] == "scheduled"
    assert (await server.ok("POST", f"{base}/start"))["state"]["status"] == "open"
    paused = await server.ok("POST", f"{base}/pause", {"reason": "网络故障 network fault"})
    assert paused["state"]["status"] == "paused"
    assert paused["events"][0]["reason"] == "网络故障 network fault"
    assert paused["events"][0]["actor"] == "alice"
    resumed = await server.ok("POST", f"{base}/resume", {"reason": "fixed"})
    assert resumed["state"]["status"] == "open"
    closes_at = resumed["state"]["closes_at"] + 60_000
    extended = await server.ok("POST", f"{base}/extend", {"reason": "request",
                                                          "closes_at": closes_at})
    assert extended["state"]["closes_at"] == closes_at
    status, data = await server.call("POST", f"{base}/extend", {"reason": "again",
                                                                "closes_at": closes_at})
    assert_error(status, data, 409, "bad_deadline")
    cancelled = await server.ok("POST", f"{base}/cancel", {"reason": "withdrawn"})
    assert cancelled["state"]["status"] == "cancelled"
    status, data = await server.call("POST", f"{base}/pause", {"reason": "x"})
    assert_error(status, data, 409, "invalid_state")


@pytest.mark.parametrize("action", ["pause", "resume", "extend", "cancel"])
async def test_actions_that_need_a_reason_refuse_none_or_blank(server: Server,
                                                               action: str) -> None:
    lot_id = await server.make_lot()
    await server.open(lot_id)
    seq = server.seq(lot_id)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"reason": "x" * 501}):
        if action == "extend":
            body = {**body, "closes_at": server.engine.now() + 10**7}
        status, data = await server.call("POST", f"/api/lots/{lot_id}/{action}", body)
        assert_error(status, data, 400, "bad_request")
    assert server.seq(lot_id) == seq


async def test_staff_read_every_bid_and_the_hash_chained_record(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect(user_agent_header="TestBrowser/1.0")
    await client.subscribe(lot_id, tokens[0], device="dev-42")
    assert (await client.bid(lot_id, "100.00", "first"))["type"] == "ack"
    bids = await server.ok("GET", f"/api/lots/{lot_id}/bids", token=SUPERVISOR_TOKEN)
    (bid,) = bids["bids"]
    assert bid["bidder_id"] == "b1" and bid["amount"] == "100.00" and bid["ref"] == "first"
    assert bid["ip"] == "127.0.0.1" and bid["device"] == "dev-42"
    events = await server.ok("GET", f"/api/lots/{lot_id}/events", token=SUPERVISOR_TOKEN)
    rows = [(e["seq"], e["event"], e["hash"]) for e in events["events"]]
    verify_chain(lot_id, rows)
    assert events["last_seq"] == server.seq(lot_id)
    tail = await server.ok("GET", f"/api/lots/{lot_id}/events?after=3&limit=2", token=HOST_TOKEN)
    assert [e["seq"] for e in tail["events"]] == [4, 5] and tail["last_seq"] == 5
    for query in ("after=-1", "after=x", "limit=0", "limit=100000"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/events?{query}")
        assert_error(status, data, 400, "bad_request")


async def test_a_device_defaults_to_a_hash_of_the_user_agent(server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect(user_agent_header="TestBrowser/1.0")
    await client.subscribe(lot_id, tokens[0])
    await client.bid(lot_id, "100.00")
    bids = await server.ok("GET", f"/api/lots/{lot_id}/bids")
    assert bids["bids"][0]["device"].startswith("ua:")


# ---------------------------------------------------------------- auth


STAFF_ROUTES = [("GET", "/api/lots/{lot}/bids"), ("GET", "/api/lots/{lot}/events")]
HOST_ROUTES = [
    ("POST", "/api/sessions", {"name": "x"}),
    ("POST", "/api/lots", {"session_id": "S", "title": "t", "format": "english",
                           "params": {}}),
    ("POST", "/api/lots/{lot}/bidders", {"bidder_id": "x", "name": "x"}),
    ("POST", "/api/lots/{lot}/bidders/b1/deposit", {"amount": "50.00", "account": "a"}),
    ("POST", "/api/lots/{lot}/bidders/b1/token", {}),
    *[("POST", f"/api/lots/{{lot}}/{kind}", {"reason": "r"}) for kind in ACTIONS],
]


async def test_every_staff_route_needs_a_valid_staff_token(server: Server) -> None:
    lot_id, tokens = await server.open_lot(bidders=1)
    seq = server.seq(lot_id)
    routes = [(m, p, None) for m, p in STAFF_ROUTES] + HOST_ROUTES
    for method, path, body in routes:
        path = path.format(lot=lot_id)
        status, data = await server.call(method, path, body, token=None)
        assert_error(status, data, 401, "unauthorized")
        status, data = await server.call(method, path, body, token="not-a-token")
        assert_error(status, data, 401, "unauthorized")
        status, data = await server.call(method, path, body, token=tokens[0])
        assert_error(status, data, 403, "forbidden")
        status, data = await server.call(method, path, body,
                                         headers={"Authorization": "Basic abc"}, token=None)
        assert_error(status, data, 401, "unauthorized")
    for method, path, body in HOST_ROUTES:
        status, data = await server.call(method, path.format(lot=lot_id), body,
                                         token=SUPERVISOR_TOKEN)
        assert_error(status, data, 403, "forbidden")
    assert server.seq(lot_id) == seq
    assert len(server.engine.sessions()) == 1


async def test_a_forged_or_expired_bidder_token_reads_nothing_private(
        make_server: ServerFactory) -> None:
    server = await make_server(bidder_token_ttl_s=1)
    lot_id = await server.make_lot()
    reg = await server.register(lot_id, "acme")
    forged = reg["token"][:-4] + ("AAAA" if not reg["token"].endswith("AAAA") else "BBBB")
    status, data = await server.call("GET", f"/api/lots/{lot_id}", token=forged)
    assert_error(status, data, 401, "bad_token")
    await asyncio.sleep(1.05)
    status, data = await server.call("GET", f"/api/lots/{lot_id}", token=reg["token"])
    assert_error(status, data, 401, "bad_token")


# ---------------------------------------------------------------- bad input


async def test_unknown_lots_get_404(server: Server) -> None:
    for method, path, body in [("GET", "/api/lots/nope", None),
                               ("GET", "/api/lots/nope/bids", None),
                               ("GET", "/api/lots/nope/events", None),
                               *[(m, p.format(lot="nope"), b) for m, p, b in HOST_ROUTES[2:]]]:
        status, data = await server.call(method, path, body)
        assert_error(status, data, 404, "unknown_lot")


async def test_malformed_bodies_get_400_and_change_nothing(server: Server) -> None:
    lot_id = await server.make_lot()
    assert server.session_id is not None
    seq = server.seq(lot_id)
    good = {"session_id": server.session_id, "title": "t", "format": "english",
            "params": {"start_price": "5.00", "step": "1.00", "duration_s": 60}}
    cases: list[tuple[bytes | dict[str, Any], str]] = [
        (b"{not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        (b"[1, 2]", "bad_request"),
        (b'"text"', "bad_request"),
        ({**good, "extra": 1}, "bad_request"),
        ({**good, "title": 5}, "bad_request"),
        ({**good, "params": "x"}, "bad_request"),
        ({**good, "lot_id": "has space"}, "bad_request"),
        ({**good, "lot_id": "../etc"}, "bad_request"),
        ({k: v for k, v in good.items() if k != "title"}, "bad_request"),
        ({**good, "format": "dutch"}, "invalid_params"),
        ({**good, "params": {**good["params"], "start_price": 5.0}}, "invalid_amount"),
        ({**good, "params": {**good["params"], "step": "1.001"}}, "invalid_amount"),
        ({**good, "params": {**good["params"], "colour": "red"}}, "invalid_params"),
        ({**good, "session_id": "S-none"}, "unknown_session"),
    ]
    for body, code in cases:
        if isinstance(body, bytes):
            status, data = await server.call("POST", "/api/lots", data=body)
        else:
            status, data = await server.call("POST", "/api/lots", body)
        assert_error(status, data, 400, code)
    status, data = await server.call("POST", f"/api/lots/{lot_id}/schedule", {"reason": 1})
    assert_error(status, data, 400, "bad_request")
    status, data = await server.call("POST", f"/api/lots/{lot_id}/schedule", {"when": 1})
    assert_error(status, data, 400, "bad_request")
    status, data = await server.call("POST", f"/api/lots/{lot_id}/extend",
                                     {"reason": "r", "closes_at": 1.5})
    assert_error(status, data, 400, "bad_request")
    status, data = await server.call("POST", f"/api/lots/{lot_id}/extend",
                                     {"reason": "r", "closes_at": True})
    assert_error(status, data, 400, "bad_request")
    assert server.engine.lot_ids() == [lot_id] and server.seq(lot_id) == seq


async def test_a_body_over_64_kib_gets_413(server: Server) -> None:
    status, data = await server.call("POST", "/api/sessions",
                                     data=b'{"name": "' + b"x" * 70_000 + b'"}')
    assert_error(status, data, 413, "too_large")
    assert server.engine.sessions() == []


async def test_unknown_routes_and_methods_answer_json(server: Server) -> None:
    status, data = await server.call("GET", "/api/nothing")
    assert_error(status, data, 404, "not_found")
    status, data = await server.call("DELETE", "/api/lots")
    assert_error(status, data, 405, "method_not_allowed")
    status, data = await server.call("GET", "/ws", token=None)  # not an upgrade
    assert status == 400 and data["error"]["code"] == "bad_request"


# ---------------------------------------------------------------- pages


async def test_pages_and_static_files_are_served(make_server: ServerFactory,
                                                 tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    for name in ("index", "room", "host", "board"):
        (static / f"{name}.html").write_text(f"<title>{name}</title>", encoding="utf-8")
    (static / "app.js").write_text("export const x = 1;", encoding="utf-8")
    server = await make_server(static_dir=static)
    for path, name in [("/", "index"), ("/room/L-1", "room"), ("/host", "host"),
                       ("/board/L-1", "board")]:
        async with server.http.get(server.base + path) as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            assert await resp.text() == f"<title>{name}</title>"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
    async with server.http.get(server.base + "/static/app.js") as resp:
        assert resp.status == 200 and "javascript" in resp.content_type
    async with server.http.get(server.base + "/static/../config.py") as resp:
        assert resp.status == 404 or resp.status == 403


async def test_a_missing_page_is_a_json_404(make_server: ServerFactory, tmp_path: Path) -> None:
    server = await make_server(static_dir=tmp_path)
    status, data = await server.call("GET", "/host", token=None)
    assert_error(status, data, 404, "not_found")


async def test_a_stopped_engine_gets_503_over_http_and_unavailable_over_ws(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot()
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    await server.engine.close()
    status, data = await server.call("POST", f"/api/lots/{lot_id}/pause", {"reason": "r"})
    assert_error(status, data, 503, "unavailable")
    rejected = await client.bid(lot_id, "100.00")
    assert rejected["type"] == "rejected" and rejected["code"] == "unavailable"
    status, data = await server.call("GET", f"/api/lots/{lot_id}", token=None)
    assert status == 200 and data["status"] == "open"  # reads still work


async def test_a_forged_bidder_token_on_a_staff_route_is_401(server: Server) -> None:
    lot_id = await server.make_lot()
    status, data = await server.call("GET", f"/api/lots/{lot_id}/bids", token="b1.e30.AAAA")
    assert_error(status, data, 401, "unauthorized")
