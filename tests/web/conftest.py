"""A real server for the web tests: the aiohttp app on a real socket (port chosen by the
OS), a real EmbeddedEngine on tmp_path, an aiohttp client for HTTP and the `websockets`
library for WebSockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from web_support import STAFF, Server, ServerFactory

from engine.api import Engine
from engine.embedded import EmbeddedEngine
from web.app import create_app
from web.config import Settings


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """``await make_server(**settings)``: a started server; stopped after the test."""
    runners: list[tuple[web.AppRunner, aiohttp.ClientSession, Server]] = []

    async def make(engine: Engine | None = None, **overrides: Any) -> Server:
        """A server on ``engine`` (not yet started; by default an EmbeddedEngine)."""
        data = tmp_path / f"data{len(runners)}"
        settings = Settings(data_dir=data, staff=STAFF, secret=b"web-test-secret-0123456789",
                            **overrides)
        engine = engine or EmbeddedEngine(data)
        await engine.start()
        app = create_app(settings, engine)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        http = aiohttp.ClientSession()
        server = Server(f"http://{host}:{port}", engine, settings, http, app)  # type: ignore[arg-type]
        runners.append((runner, http, server))
        return server

    yield make
    for runner, http, server in runners:
        for client in server.clients:
            await client.close()
        await http.close()
        await runner.cleanup()
        await server.engine.close()


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    """A server with default settings."""
    return await make_server()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[EmbeddedEngine]:
    """A started EmbeddedEngine on tmp_path, without a server; closed after the test."""
    engine = EmbeddedEngine(tmp_path)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()
