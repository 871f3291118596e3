"""The trade tests' servers: the web tests' real app on a real socket (their helpers in
``tests/web/web_support.py`` are reused)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from test_trade_http import Bidder  # noqa: E402
from web_support import make_server, server  # noqa: E402, F401 (fixtures)


@pytest.fixture
async def bidders() -> AsyncIterator[list[Bidder]]:
    """The bidders a test signs in (``Bidder``): their sessions closed after it."""
    made: list[Bidder] = []
    yield made
    for bidder in made:
        await bidder.http.close()
