"""Helpers of the web tests: a WebSocket client speaking JSON and a running server driven
as a host would (`from web_support import Server`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import websockets
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection

from auction.model import (
    ConfirmDeposit,
    CreateLot,
    RegisterBidder,
    Rejection,
    ScheduleLot,
    StartLot,
)
from auction.money import format_amount
from engine.api import Engine
from engine.embedded import EmbeddedEngine
from web.app import create_app
from web.client import LotSession, fold
from web.config import Settings
from web.ws import front_site

HOST_TOKEN = "host-token-for-web-tests"
SUPERVISOR_TOKEN = "supervisor-token-for-web-tests"
STAFF = {HOST_TOKEN: ("alice", "host"), SUPERVISOR_TOKEN: ("sam", "supervisor")}
DEFAULT_PARAMS: dict[str, Any] = {"start_price": "100.00", "step": "10.00",
                                  "duration_s": 600, "deposit": "50.00"}


async def open_lot(engine: EmbeddedEngine, lot_id: str = "L", visibility: str = "price",
                   **params: Any) -> None:
    """An open English lot straight on the engine, bidders x, y, z (numbers their
    ``ord``) eligible; ``params`` added to its parameters."""
    commands = [
        CreateLot(lot_id=lot_id, session_id="S", format="english", title="t", actor="h",
                  params={"start_price": "1.00", "step": "1.00", "duration_s": 600,
                          "visibility": visibility, **params}),
        *[c for b in ("x", "y", "z") for c in (
            RegisterBidder(bidder_id=b, bidder_no=f"{ord(b)}", name=b, actor="h"),
            ConfirmDeposit(bidder_id=b, amount=100, account="a", actor="h"))],
        ScheduleLot(actor="h"), StartLot(actor="h"),
    ]
    for command in commands:
        assert not isinstance(await engine.execute(lot_id, command), Rejection)


class Client:
    """A WebSocket client speaking JSON, with timeouts on every read.

    Its ``subscribe`` and ``bid`` messages are made by the one client core,
    :class:`web.client.LotSession`. It folds each lot's ``update``s as a client must
    (:func:`web.client.fold`): an ``update`` it returns always has a ``state``, the
    frame's own (a catch-up) or, for a live frame, the snapshot the client holds once the
    frame's ``delta`` is applied (the frame as sent is in :attr:`seen`)."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        #: Every text frame received so far, raw.
        self.seen: list[str] = []
        #: Each lot's snapshot as folded from its updates.
        self.states: dict[str, dict[str, Any]] = {}

    async def send(self, message: Any) -> None:
        """Send a dict as JSON text; a str or bytes as it is."""
        if isinstance(message, dict | list):
            message = orjson.dumps(message).decode()
        await self.conn.send(message)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        self.seen.append(raw if isinstance(raw, str) else raw.decode())
        data: dict[str, Any] = orjson.loads(raw)
        if data.get("type") == "update":
            state = self.states[data["lot_id"]] = fold(self.states.get(data["lot_id"]), data)
            data.setdefault("state", state)
        return data

    async def next(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of type ``kind``, skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv(timeout)
                if msg["type"] == kind:
                    return msg

    async def quiet(self, seconds: float = 0.2) -> None:
        """Assert that nothing arrives for ``seconds``."""
        with contextlib.suppress(TimeoutError):
            msg = await asyncio.wait_for(self.conn.recv(), seconds)
            raise AssertionError(f"unexpected message {msg!r}")

    async def subscribe(self, lot_id: str, token: str | None = None,
                        after_seq: int | None = 0, **extra: Any) -> dict[str, Any]:
        """Subscribe; return the first ``update`` (after checking ``subscribed`` and
        reading a bidder's ``you``)."""
        session = LotSession(lot_id, token, device=extra.pop("device", None),
                             resume=after_seq is not None)
        session.last_seq = after_seq or 0
        await self.send({**session.subscribe(), **extra})
        subscribed = await self.recv()
        assert subscribed["type"] == "subscribed", subscribed
        update = await self.recv()
        assert update["type"] == "update", update
        if subscribed["role"] == "bidder" and "you" not in update["state"]:
            you = await self.recv()  # price visibility: the bidder's standing comes apart
            assert you["type"] == "you", you
        return update

    async def bid(self, lot_id: str, amount: Any, ref: str = "r1") -> dict[str, Any]:
        """Send a bid; return its ``ack`` or ``rejected`` (skipping updates)."""
        await self.send(LotSession(lot_id).bid(amount, ref))
        return await self.answer()

    async def act(self, lot_id: str, name: str, amount: Any = None, ref: str = "a1",
                  **extra: Any) -> dict[str, Any]:
        """Send an ``act`` (with ``amount`` when given); return its ``ack``, ``rejected``
        or ``error``."""
        message: dict[str, Any] = {"type": "act", "lot_id": lot_id, "act": name, "ref": ref,
                                   **extra}
        if amount is not None:
            message["amount"] = amount
        await self.send(message)
        return await self.answer()

    async def answer(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next ``ack``, ``rejected`` or ``error`` (skipping everything else)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv()
                if msg["type"] in ("ack", "rejected", "error"):
                    return msg

    async def until(self, check: Any, timeout: float = 8.0) -> dict[str, Any]:
        """The first ``update`` whose (folded) state passes ``check``."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.next("update", timeout)
                if check(msg["state"]):
                    return msg

    async def close(self) -> None:
        await self.conn.close()


class Server:
    """The running app and helpers to drive it as a host would."""

    def __init__(self, base: str, engine: EmbeddedEngine, settings: Settings,
                 http: aiohttp.ClientSession, app: web.Application) -> None:
        self.base = base
        self.app = app
        self.ws_url = base.replace("http", "ws", 1) + "/ws"
        self.engine = engine
        self.settings = settings
        self.http = http
        self.session_id: str | None = None
        self.clients: list[Client] = []

    async def call(self, method: str, path: str, body: Any = None, *,
                   token: str | None = HOST_TOKEN, data: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """``(status, json)`` of a request; ``body`` is sent as JSON, ``data`` raw."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = orjson.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.base + path, data=data, headers=hdrs) as resp:
            raw = await resp.read()
            assert resp.content_type == "application/json", (resp.status, raw[:200])
            return resp.status, orjson.loads(raw)

    async def ok(self, method: str, path: str, body: Any = None, *,
                 token: str | None = HOST_TOKEN) -> Any:
        status, data = await self.call(method, path, body, token=token)
        assert status in (200, 201), (status, data)
        return data

    async def make_lot(self, **params: Any) -> str:
        """A draft lot with DEFAULT_PARAMS updated by ``params``; its id."""
        if self.session_id is None:
            self.session_id = (await self.ok("POST", "/api/sessions", {"name": "s"}))[
                "session_id"]
        lot = await self.ok("POST", "/api/lots", {
            "session_id": self.session_id, "title": "标的 lot", "format": "english",
            "params": {**DEFAULT_PARAMS, **params}})
        return str(lot["lot_id"])

    async def register(self, lot_id: str, bidder_id: str, *, deposit: bool = True,
                       name: str | None = None) -> dict[str, Any]:
        """Register (and by default confirm the deposit of) a bidder; its pass."""
        reg: dict[str, Any] = await self.ok("POST", f"/api/lots/{lot_id}/bidders", {
            "bidder_id": bidder_id, "name": name or f"Company {bidder_id}"})
        if deposit:
            state = self.engine.lot(lot_id)
            assert state is not None
            amount = format_amount(state.params.deposit, state.params.decimals)
            body = {"amount": amount, "account": f"acct-{bidder_id}"}
            if self.settings.bank_secret is not None:  # by hand overrides the bank: why
                body["reason"] = "deposit checked by hand"
            await self.ok("POST", f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit", body)
        return reg

    async def open(self, lot_id: str) -> None:
        await self.ok("POST", f"/api/lots/{lot_id}/schedule", {})
        await self.ok("POST", f"/api/lots/{lot_id}/start", {})

    async def open_lot(self, bidders: int = 2, **params: Any) -> tuple[str, list[str]]:
        """An open lot with ``bidders`` eligible bidders b1.. ; ``(lot_id, tokens)``."""
        lot_id = await self.make_lot(**params)
        tokens = [(await self.register(lot_id, f"b{i + 1}"))["token"] for i in range(bidders)]
        await self.open(lot_id)
        return lot_id, tokens

    async def connect(self, *, welcome: bool = True, **kwargs: Any) -> Client:
        """A new WebSocket client (closed at the end of the test); ``welcome`` is read."""
        client = Client(await websockets.connect(self.ws_url, **kwargs))
        self.clients.append(client)
        if welcome:
            msg = await client.recv()
            assert msg["type"] == "welcome", msg
        return client

    def seq(self, lot_id: str) -> int:
        state = self.engine.lot(lot_id)
        assert state is not None
        return state.version

    async def scrape(self, token: str | None = SUPERVISOR_TOKEN) -> Samples:
        """``GET /metrics`` parsed: (sample name, labels) -> value."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.base + "/metrics", headers=headers) as resp:
            text = await resp.text()
            assert resp.status == 200, (resp.status, text[:200])
            assert resp.content_type == "text/plain", resp.content_type
        return Samples(text)


class Samples(dict[tuple[str, frozenset[tuple[str, str]]], float]):
    """The samples of a Prometheus text exposition, by name and labels."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled counter never incremented."""
        return self.get((name, frozenset(labels.items())), 0.0)

    def names(self) -> set[str]:
        return {name for name, _ in self}


ServerFactory = Callable[..., Awaitable[Server]]


SECRET = b"web-test-secret-0123456789"


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """``await make_server(engine=None, *, clock=None, data=None, **settings)``: the app
    started on a real socket (127.0.0.1, a port the OS picks) with ``engine`` (not yet
    started; by default an EmbeddedEngine with ``clock`` on ``data``, by default a new
    directory under ``tmp_path``). Every server made is stopped after the test.

    The fixtures of this module are those of the web, security and record tests (their
    conftest.py imports them)."""
    made: list[tuple[web.AppRunner, aiohttp.ClientSession, Server]] = []

    async def make(engine: Engine | None = None, *, clock: Callable[[], int] | None = None,
                   data: Path | None = None, **overrides: Any) -> Server:
        data = data or tmp_path / f"data{len(made)}"
        settings = Settings(data_dir=data, staff=STAFF, secret=SECRET, **overrides)
        engine = engine or EmbeddedEngine(data, clock)
        await engine.start()
        app = create_app(settings, engine)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await front_site(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        http = aiohttp.ClientSession()
        server = Server(f"http://{host}:{port}", engine, settings, http, app)  # type: ignore[arg-type]
        made.append((runner, http, server))
        return server

    try:
        yield make
    finally:
        for runner, http, server in made:
            for client in server.clients:
                await client.close()
            await http.close()
            await runner.cleanup()
            await server.engine.close()


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    """A server with default settings."""
    return await make_server()
