"""Servers for the security tests: the real app on a real socket, like the web tests
(whose helpers in ``tests/web/web_support.py`` are reused), with a choice of engine and
server clock, plus throwaway Redis servers the tests may kill."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from services import RedisServer  # noqa: E402
from web_support import STAFF, Server, ServerFactory  # noqa: E402

from engine.api import Engine  # noqa: E402
from engine.embedded import EmbeddedEngine  # noqa: E402
from web.app import create_app  # noqa: E402
from web.config import Settings  # noqa: E402

SECRET = b"security-test-secret-0123456789"


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await make_server(engine=None, clock=None, **settings)``: a started server on
    127.0.0.1 (an EmbeddedEngine on tmp_path unless ``engine`` is given, not started)."""
    made: list[tuple[web.AppRunner, aiohttp.ClientSession, Server]] = []

    async def make(engine: Engine | None = None, clock: Callable[[], int] | None = None,
                   **overrides: Any) -> Server:
        data = tmp_path / f"data{len(made)}"
        settings = Settings(data_dir=data, staff=STAFF, secret=SECRET, **overrides)
        engine = engine or EmbeddedEngine(data, clock)
        await engine.start()
        app = create_app(settings, engine)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        http = aiohttp.ClientSession()
        server = Server(f"http://{host}:{port}", engine, settings, http, app)  # type: ignore[arg-type]
        made.append((runner, http, server))
        return server

    yield make
    for runner, http, server in made:
        for client in server.clients:
            await client.close()
        await http.close()
        await runner.cleanup()
        await server.engine.close()


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    return await make_server()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test alone (the test may kill it)."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    yield redis
    redis.kill()
