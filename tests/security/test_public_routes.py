"""What anyone may read, everyone may read: a route that answers a caller without a
token answers every caller the same status whatever credential it carries (a bidder
token of the lot or of another lot, a host's or a supervisor's token). A credential may
add to what a caller sees (its own standing, the staff view), never take the route away.

The routes are read from the application's router, so a route added later is checked
without anyone listing it here."""

from __future__ import annotations

import aiohttp
from test_authz_matrix import app_routes
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server


def _path(route: str, lot_id: str, bidder_id: str) -> str:
    if route == "/static":
        return "/static/i18n.js"
    return route.replace("{lot_id}", lot_id).replace("{bidder_id}", bidder_id)


async def _status(server: Server, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.http.request(method, server.base + path, headers=headers,
                                   timeout=aiohttp.ClientTimeout(total=10)) as resp:
        await resp.read()
        return resp.status


async def test_every_public_route_answers_every_credential_as_it_answers_no_token(
        server: Server) -> None:
    open_lot, (token, _) = await server.open_lot()
    ended_lot, (ended_token, _) = await server.open_lot()
    await server.ok("POST", f"/api/lots/{ended_lot}/cancel", {"reason": "r"})
    _, (stranger, _) = await server.open_lot()
    before = {lot_id: server.seq(lot_id) for lot_id in server.engine.lot_ids()}
    public, checked = [], 0
    for method, route in sorted(app_routes()):
        for lot_id, own in ((open_lot, token), (ended_lot, ended_token), ("L-NOPE", token)):
            path = _path(route, lot_id, "b1")
            anyone = await _status(server, method, path, None)
            if anyone == 401:  # not a public route
                break
            public.append(f"{method} {route}")
            for who, credential in (("the lot's bidder", own), ("another lot's bidder", stranger),
                                    ("a host", HOST_TOKEN), ("a supervisor", SUPERVISOR_TOKEN)):
                got = await _status(server, method, path, credential)
                assert got == anyone, (f"{method} {path}: {anyone} without a token, {got} "
                                       f"with the token of {who}")
                checked += 1
            if "{lot_id}" not in route:
                break
    assert {"GET /api/lots", "GET /api/lots/{lot_id}", "GET /api/lots/{lot_id}/result",
            "GET /healthz", "GET /api/openapi.json"} <= set(public)
    assert checked >= 4 * len(set(public))
    assert before == {lot_id: server.seq(lot_id) for lot_id in server.engine.lot_ids()}


async def test_a_bidder_token_on_the_list_of_lots_gets_the_public_views(server: Server) -> None:
    lot_id, (token, _) = await server.open_lot()
    status, data = await server.call("GET", "/api/lots", token=token)
    assert status == 200
    (view,) = [v for v in data["lots"] if v["lot_id"] == lot_id]
    assert "register" not in view and "reserve" not in view
    anyone = await server.call("GET", "/api/lots", token=None)
    assert data == anyone[1]


async def test_an_unknown_token_on_a_public_route_is_still_told_it_is_unknown(
        server: Server) -> None:
    status, data = await server.call("GET", "/api/lots", token="no-such-token")
    assert status == 401 and data["error"]["code"] == "unauthorized"
