"""Playing a lot against a running server over its public interfaces (HTTP + WebSocket):
shared by the crash, scale-out and fault tests."""

import asyncio
import time
from ssl import SSLContext
from typing import Any

import aiohttp

from helpers import ServerProcess
from web.client import LotClient


async def setup_lot(server: ServerProcess, duration_s: int, bidders: int, *,
                    ssl: SSLContext | None = None) -> tuple[str, list[str]]:
    """A running english lot with ``bidders`` registered and their tokens; ``ssl``
    verifies an HTTPS ``server.base``."""
    headers = {"Authorization": f"Bearer {server.HOST_TOKEN}"}
    connector = aiohttp.TCPConnector(ssl=ssl) if ssl is not None else None
    async with aiohttp.ClientSession(base_url=server.base, headers=headers,
                                     connector=connector) as http:
        async def post(path: str, body: dict[str, Any]) -> Any:
            async with http.post(path, json=body) as resp:
                data = await resp.json()
                assert resp.status < 300, data
                return data

        session = await post("/api/sessions", {"name": "crash test"})
        lot = await post("/api/lots", {
            "session_id": session["session_id"], "title": "busy lot", "format": "english",
            "params": {"start_price": "1000.00", "step": "1.00", "deposit": "10.00",
                       "duration_s": duration_s}})
        lot_id = lot["lot_id"]
        tokens = []
        for i in range(bidders):
            reg = await post(f"/api/lots/{lot_id}/bidders", {"bidder_id": f"co{i}",
                                                             "name": f"Co {i}"})
            await post(f"/api/lots/{lot_id}/bidders/co{i}/deposit",
                       {"amount": "10.00", "account": f"acct{i}"})
            tokens.append(reg["token"])
        await post(f"/api/lots/{lot_id}/schedule", {})
        await post(f"/api/lots/{lot_id}/start", {})
    return lot_id, tokens


async def hammer(client: LotClient, until: float) -> None:
    """Bid the least acceptable price, again and again, until ``until`` or a lost link."""
    while time.monotonic() < until and client.connected:
        nxt = client.state.get("next_min")
        if client.state.get("status") != "open" or not nxt or client.leading():
            await asyncio.sleep(0.002)
            continue
        try:
            await client.bid(nxt, timeout=5)
        except (ConnectionError, TimeoutError):
            return


async def staff_request(server: ServerProcess, method: str, path: str, body: Any = None,
                        token: str = ServerProcess.HOST_TOKEN) -> Any:
    """One HTTP request of a member of staff (a host's token unless ``token`` says
    otherwise); asserts it succeeded (200 or 201) and returns its JSON body."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=server.base, headers=headers) as http:
        async with http.request(method, path, json=body) as resp:
            assert resp.status in (200, 201), await resp.text()
            return await resp.json()


async def staff_get(server: ServerProcess, path: str) -> Any:
    """GET as a supervisor (who may read every lot)."""
    return await staff_request(server, "GET", path, token=server.SUPERVISOR_TOKEN)


async def staff_post(server: ServerProcess, path: str, body: Any) -> Any:
    """POST as a host."""
    return await staff_request(server, "POST", path, body)
