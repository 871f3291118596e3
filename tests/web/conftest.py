"""A real server for the web tests: the aiohttp app on a real socket (port chosen by the
OS), a real EmbeddedEngine on tmp_path, an aiohttp client for HTTP and the `websockets`
library for WebSockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from web_support import make_server, server  # noqa: F401 (fixtures)

from engine.embedded import EmbeddedEngine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[EmbeddedEngine]:
    """A started EmbeddedEngine on tmp_path, without a server; closed after the test."""
    engine = EmbeddedEngine(tmp_path)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()
