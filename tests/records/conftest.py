"""A real server for the record tests (the web tests' helpers, reused): the app on a real
socket with an embedded engine on tmp_path."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from web_support import STAFF, Server, ServerFactory  # noqa: E402

from engine.embedded import EmbeddedEngine  # noqa: E402
from web.app import create_app  # noqa: E402
from web.config import Settings  # noqa: E402


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """``await make_server(data=None, **settings)``: a started server (on ``data``, by
    default a new directory); stopped after the test or by ``stop_server``."""
    running: list[tuple[web.AppRunner, aiohttp.ClientSession, Server]] = []

    async def make(data: Path | None = None, **overrides: Any) -> Server:
        data = data or tmp_path / f"data{len(running)}"
        settings = Settings(data_dir=data, staff=STAFF, secret=b"records-test-secret-0123456",
                            **overrides)
        engine = EmbeddedEngine(data)
        await engine.start()
        app = create_app(settings, engine)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        http = aiohttp.ClientSession()
        server = Server(f"http://{host}:{port}", engine, settings, http, app)
        running.append((runner, http, server))
        return server

    yield make
    for runner, http, server in running:
        await stop(runner, http, server)


async def stop(runner: web.AppRunner, http: aiohttp.ClientSession, server: Server) -> None:
    for client in server.clients:
        await client.close()
    server.clients.clear()
    if not http.closed:
        await http.close()
    await runner.cleanup()
    await server.engine.close()


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    return await make_server()
