"""Playing a lot against a running server over its public interfaces (HTTP + WebSocket):
the one way the crash, scale-out, fault, deployment and browser tests set a lot up."""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any

import aiohttp

from helpers import ServerProcess
from loadtests.services import Listening
from web.client import LotClient


@dataclass(frozen=True)
class Bidder:
    """A bidder registered on a lot with its deposit confirmed: its number, its token and
    the absolute address of its room."""

    bidder_id: str
    bidder_no: str
    token: str
    room: str


@dataclass(frozen=True)
class StaffLot:
    lot_id: str
    session_id: str
    bidders: dict[str, Bidder]

    @property
    def numbers(self) -> dict[str, str]:
        return {b.bidder_id: b.bidder_no for b in self.bidders.values()}

    @property
    def rooms(self) -> dict[str, str]:
        return {b.bidder_id: b.room for b in self.bidders.values()}


async def make_lot(server: Listening, fmt: str, params: dict[str, Any],
                   bidders: Iterable[str] = ("A", "B"), *, title: str = "国有建设用地使用权 A-1",
                   session: str = "2026年第1期", name: str = "{}", account: str = "acct-{}",
                   start: bool = True, ssl: SSLContext | None = None,
                   token: str = ServerProcess.HOST_TOKEN) -> StaffLot:
    """Through the HTTP API as a host: a session, a ``fmt`` lot with ``params``, each of
    ``bidders`` registered (its name and account ``name``/``account`` formatted with its
    id) with the lot's deposit confirmed, then scheduled and (``start``) started."""
    async def post(path: str, body: dict[str, Any]) -> Any:
        return await staff_request(server, "POST", path, body, token, ssl=ssl)

    made = await post("/api/sessions", {"name": session})
    lot = await post("/api/lots", {"session_id": made["session_id"], "title": title,
                                   "format": fmt, "params": params})
    lot_id = lot["lot_id"]
    registered = {}
    for bidder_id in bidders:
        reg = await post(f"/api/lots/{lot_id}/bidders",
                         {"bidder_id": bidder_id, "name": name.format(bidder_id)})
        if "deposit" in params:
            await post(f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit",
                       {"amount": params["deposit"], "account": account.format(bidder_id)})
        registered[bidder_id] = Bidder(bidder_id, reg["bidder_no"], reg["token"],
                                       server.base + reg["room_url"])
    if start:
        await post(f"/api/lots/{lot_id}/schedule", {})
        await post(f"/api/lots/{lot_id}/start", {})
    return StaffLot(lot_id, made["session_id"], registered)


async def setup_lot(server: ServerProcess, duration_s: int, bidders: int, *,
                    ssl: SSLContext | None = None) -> tuple[str, list[str]]:
    """A running english lot with ``bidders`` registered and their tokens; ``ssl``
    verifies an HTTPS ``server.base``."""
    lot = await make_lot(server, "english", {
        "start_price": "1000.00", "step": "1.00", "deposit": "10.00", "duration_s": duration_s},
        [f"co{i}" for i in range(bidders)], title="busy lot", session="crash test",
        name="Co {}", account="acct{}", ssl=ssl)
    return lot.lot_id, [b.token for b in lot.bidders.values()]


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


async def staff_request(server: Listening, method: str, path: str, body: Any = None,
                        token: str = ServerProcess.HOST_TOKEN, *,
                        ssl: SSLContext | None = None) -> Any:
    """One HTTP request of a member of staff (a host's token unless ``token`` says
    otherwise); asserts it succeeded (200 or 201) and returns its JSON body. ``ssl``
    verifies an HTTPS ``server.base``."""
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(ssl=ssl) if ssl is not None else None
    async with aiohttp.ClientSession(base_url=server.base, headers=headers,
                                     connector=connector) as http:
        async with http.request(method, path, json=body) as resp:
            assert resp.status in (200, 201), await resp.text()
            return await resp.json()


async def staff_get(server: ServerProcess, path: str) -> Any:
    """GET as a supervisor (who may read every lot)."""
    return await staff_request(server, "GET", path, token=server.SUPERVISOR_TOKEN)


async def staff_post(server: ServerProcess, path: str, body: Any) -> Any:
    """POST as a host."""
    return await staff_request(server, "POST", path, body)
