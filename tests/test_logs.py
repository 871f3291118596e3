"""The server's logs as an operator reads them: ``auction serve`` in a child process with
JSON logs, driven over HTTP and a WebSocket, its standard error parsed line by line."""

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from lotplay import setup_lot

from helpers import ServerProcess, wait_for_port_async
from web.logs import REF, ContextFilter, TextFormatter

pytestmark = pytest.mark.slow

QUERY_SECRET = "query-secret-0123456789"


async def drive(server: ServerProcess) -> dict[str, Any]:
    """Requests and a WebSocket bid; what the test needs to find them in the log."""
    lot_id, tokens = await setup_lot(server, duration_s=600, bidders=2)
    auth = {"Authorization": f"Bearer {server.SUPERVISOR_TOKEN}"}
    async with aiohttp.ClientSession(base_url=server.base) as http:
        async with http.get("/api/lots", headers={**auth, "X-Request-Id": "given-id-1"}) as r:
            assert r.status == 200 and r.headers["X-Request-Id"] == "given-id-1"
        async with http.get(f"/api/lots?token={QUERY_SECRET}") as r:
            made_id = r.headers["X-Request-Id"]
            assert made_id and made_id != "given-id-1"
        async with http.get("/api/lots", headers={"X-Request-Id": "not an id; x=1"}) as r:
            assert r.headers["X-Request-Id"] != "not an id; x=1"  # replaced, not taken
        async with http.get("/no/such/page") as r:
            assert r.status == 404 and r.headers["X-Request-Id"]
    async with websockets.connect(server.ws_url) as ws:
        upgrade_id = ws.response.headers["X-Request-Id"]
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(json.dumps({"type": "subscribe", "lot_id": lot_id, "token": tokens[0],
                                  "ref": "sub-1"}))
        await ws.send(json.dumps({"type": "bid", "lot_id": lot_id, "amount": "1000.00",
                                  "ref": "bid-1"}))
        while (reply := json.loads(await ws.recv()))["type"] not in ("ack", "rejected"):
            pass
        assert reply["type"] == "ack", reply
    return {"lot_id": lot_id, "tokens": tokens, "made_id": made_id, "upgrade_id": upgrade_id}


def test_json_logs_carry_the_request_connection_lot_and_ref_and_never_a_token(
        tmp_path: Path) -> None:
    server = ServerProcess(str(tmp_path), extra_env={"AUCTION_LOG_LEVEL": "debug"})
    err, out = tmp_path / "stderr", tmp_path / "stdout"
    with err.open("wb") as err_file, out.open("wb") as out_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(server.port), "--data",
             str(tmp_path), "--log-format", "json"], env=server.env(), stdout=out_file,
            stderr=err_file)
        try:
            asyncio.run(wait_for_port_async("127.0.0.1", server.port))
            seen = asyncio.run(drive(server))
        finally:
            server.proc = proc
            assert server.stop() == 0
    text = err.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)

    access = [line for line in lines if line["logger"] == "auction.access"]
    for line in access:
        assert {"method", "path", "status", "duration_ms", "remote", "request_id"} <= set(line)
        assert "?" not in line["path"] and line["remote"] == "127.0.0.1"
    by_id = {line["request_id"]: line for line in access}
    assert by_id["given-id-1"]["path"] == "/api/lots" and by_id["given-id-1"]["status"] == 200
    assert by_id[seen["made_id"]]["path"] == "/api/lots"
    assert any(line["path"] == "/no/such/page" and line["status"] == 404 for line in access)
    lot_id = seen["lot_id"]
    registered = [line for line in access if line["path"] == f"/api/lots/{lot_id}/bidders"]
    assert len(registered) == 2 and all(line["lot_id"] == lot_id for line in registered)
    upgrade = by_id[seen["upgrade_id"]]  # written when the WebSocket closed
    assert (upgrade["path"], upgrade["status"]) == ("/ws", 101) and upgrade["conn_id"]

    def message_line(start: str) -> dict[str, Any]:
        found = [line for line in lines if line["msg"].startswith(start)]
        assert len(found) == 1, (start, found)
        return found[0]

    subscribed, bid = message_line("subscribed as bidder"), message_line("bid accepted")
    assert subscribed["ref"] == "sub-1" and bid["ref"] == "bid-1"
    for line in (subscribed, bid):
        assert line["lot_id"] == lot_id
        assert line["conn_id"] == upgrade["conn_id"]
        assert line["request_id"] == seen["upgrade_id"]

    everything = text + out.read_text()
    for secret in (server.HOST_TOKEN, server.SUPERVISOR_TOKEN, QUERY_SECRET, *seen["tokens"],
                   "test-secret-for-bidder-tokens"):
        assert secret not in everything


def test_text_logs_quote_what_a_client_chooses_so_it_cannot_forge_a_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "bid accepted", None, None)
    token = REF.set("r1\n2024-01-01 00:00:00 INFO forged line")
    try:
        ContextFilter().filter(record)
    finally:
        REF.reset(token)
    line = TextFormatter().format(record)
    assert "\n" not in line and 'ref="r1\\n2024-01-01' in line
