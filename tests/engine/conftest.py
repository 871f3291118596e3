"""The engine contract suite runs against every backend through ``engine_factory``.

The Redis + Postgres backend runs on servers this test run starts itself (own ports, own
data directories); each test gets an empty Redis and its own database (in the session's
``postgres_server`` of tests/conftest.py).
"""

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from services import PostgresServer, RedisServer

from engine.api import Engine
from engine.embedded import EmbeddedEngine
from engine.redis_engine import RedisEngine

EngineFactory = Callable[..., Engine]
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "redis"])
def engine_factory(request: pytest.FixtureRequest, tmp_path: Path) -> EngineFactory:
    """``engine_factory(clock=None)`` makes a (not yet started) engine; calling it again
    gives a fresh process's view of the same durable store."""
    if request.param == "embedded":
        def embedded(clock: Callable[[], int] | None = None) -> Engine:
            return EmbeddedEngine(tmp_path / "data", clock)
        return embedded
    redis: RedisServer = request.getfixturevalue("redis_server")
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    redis.flush()
    dsn = postgres.create_database(f"contract_{next(_databases)}")

    def scale_out(clock: Callable[[], int] | None = None) -> Engine:
        return RedisEngine(redis.url, dsn, clock)
    return scale_out
