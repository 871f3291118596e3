"""A reserve entered late over a real server (issue 19): a host enters it, a supervisor
approves it, and until the lot ends no WebSocket frame, HTTP view, staff record or log
line holds the amount or its salt, for any audience, staff included; at the close
everyone receives the reveal, and the export verifies."""

import asyncio
import logging
from typing import Any

import orjson
import pytest
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Client, Server

from auction.verify import verify
from auction.witnessed import commitment

#: The entered reserve: its decimal and minor-unit spellings appear nowhere before the end.
RESERVE, RESERVE_MINOR = "7654.32", "765432"


async def drain(client: Client, seconds: float = 0.3) -> str:
    try:
        while True:
            await client.recv(seconds)
    except TimeoutError:
        return "".join(client.seen)


async def witnessed_lot(server: Server) -> tuple[str, dict[str, Client], str]:
    """A lot of 3 s whose reserve a host enters and a supervisor approves while the
    public, a host, a supervisor and a bidder watch; the bidder bids. ``(lot, watchers,
    commitment)``."""
    lot_id = await server.make_lot(duration_s=3, reserve_entry={"before_close_s": 1})
    token = (await server.register(lot_id, "b1"))["token"]
    await server.register(lot_id, "b2")
    who = {name: await server.connect() for name in ("public", "host", "supervisor", "b1")}
    await who["public"].subscribe(lot_id)
    await who["host"].subscribe(lot_id, HOST_TOKEN)
    await who["supervisor"].subscribe(lot_id, SUPERVISOR_TOKEN)
    await who["b1"].subscribe(lot_id, token)
    entered = await server.ok("POST", f"/api/lots/{lot_id}/reserve",
                              {"amount": RESERVE, "reason": "评估报告"})
    digest = entered["events"][0]["commitment"]
    assert entered["state"]["reserve_entry"]["status"] == "entered"
    approved = await server.ok("POST", f"/api/lots/{lot_id}/reserve/approve",
                               {"commitment": digest}, token=SUPERVISOR_TOKEN)
    assert approved["state"]["reserve_entry"]["status"] == "approved"
    await server.open(lot_id)
    assert (await who["b1"].bid(lot_id, "100.00"))["type"] == "ack"
    return lot_id, who, digest


async def test_before_the_close_no_frame_view_record_or_log_holds_the_reserve(
        server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    lot_id, who, digest = await witnessed_lot(server)
    state = server.engine.lot(lot_id)
    assert state is not None and state.witnessed.salt is not None
    salt = state.witnessed.salt
    assert digest == commitment(765432, salt)
    secrets = (RESERVE, RESERVE_MINOR, salt, "评估报告")  # the reason is sealed with it
    frames = {name: await drain(client) for name, client in who.items()}
    for name, text in frames.items():
        assert digest in text, name  # the commitment is public at once
        assert not any(s in text for s in secrets), name
    shown: list[Any] = []
    for token in (HOST_TOKEN, SUPERVISOR_TOKEN, None):
        for path in (f"/api/lots/{lot_id}", f"/api/lots?session_id={server.session_id}"):
            status, view = await server.call("GET", path, token=token)
            assert status == 200
            shown.append(view)
    status, result = await server.call("GET", f"/api/lots/{lot_id}/result", token=None)
    shown.append(result)
    text = orjson.dumps(shown).decode()
    assert digest in text and not any(s in text for s in secrets)
    for path in ("report", "export", "collusion", "bids", "events"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/{path}",
                                         token=SUPERVISOR_TOKEN)
        assert (status, data["error"]["code"]) == (409, "sealed"), path
    logged = caplog.text
    assert not any(s in logged for s in secrets)


async def test_at_the_close_everyone_receives_the_reveal_and_the_export_verifies(
        server: Server) -> None:
    lot_id, who, digest = await witnessed_lot(server)
    for name, client in who.items():
        update = await client.until(lambda s: s["status"] in ("awarded", "failed"))
        assert update["state"]["outcome"]["reason"] == "reserve_not_met", name
        entry = update["state"]["reserve_entry"]
        assert (entry["status"], entry["amount"], entry["commitment"]) == (
            "revealed", RESERVE, digest), name
        reveals = [e for f in client.seen for e in orjson.loads(f).get("events", [])
                   if e["type"] == "ReserveRevealed"]
        assert [r["amount"] for r in reveals] == [RESERVE], name
    await asyncio.sleep(0.2)
    status, export = await server.call("GET", f"/api/lots/{lot_id}/export",
                                       token=SUPERVISOR_TOKEN)
    assert status == 200
    assert verify(orjson.dumps(export)).ok


async def test_only_a_supervisor_other_than_the_host_approves(server: Server) -> None:
    lot_id = await server.make_lot(reserve_entry={"before_close_s": 60})
    entered = await server.ok("POST", f"/api/lots/{lot_id}/reserve", {"amount": RESERVE})
    digest = entered["events"][0]["commitment"]
    assert "amount" not in entered["events"][0] and "salt" not in entered["events"][0]
    status, data = await server.call("POST", f"/api/lots/{lot_id}/reserve/approve",
                                     {"commitment": digest}, token=HOST_TOKEN)
    assert (status, data["error"]["code"]) == (403, "forbidden")
    status, data = await server.call("POST", f"/api/lots/{lot_id}/reserve/approve",
                                     {"commitment": "0" * 64}, token=SUPERVISOR_TOKEN)
    assert (status, data["error"]["code"]) == (409, "commitment_mismatch")
    await server.ok("POST", f"/api/lots/{lot_id}/reserve/approve", {"commitment": digest},
                    token=SUPERVISOR_TOKEN)
    status, data = await server.call("POST", f"/api/lots/{lot_id}/reserve",
                                     {"amount": "1.00"})
    assert (status, data["error"]["code"]) == (409, "reserve_fixed")
