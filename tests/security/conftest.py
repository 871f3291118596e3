"""Servers for the security tests: the real app on a real socket, like the web tests
(whose helpers in ``tests/web/web_support.py`` are reused), with a choice of engine and
server clock, plus throwaway Redis servers the tests may kill."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from services import RedisServer  # noqa: E402
from web_support import make_server, server  # noqa: E402, F401 (fixtures)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test alone (the test may kill it)."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    yield redis
    redis.kill()
