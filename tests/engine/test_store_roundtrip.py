"""Every event type of every format, with field values at and around their bounds,
round-trips exactly through every store, on real servers: the SQLite file, the Redis
stream (the append script, read as the backend follows a lot) and the Postgres record
(``body`` JSONB beside ``body_text``); each store's rows are read back as recovery reads
them (:func:`engine.eventlog.read_back`). An event the record cannot hold is refused by
``seal`` before it reaches any store (tests/rules/test_roundtrip.py)."""

import asyncio
import itertools
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules.roundtrip_support import all_event_types, event_holdable, events_of
from services import PostgresServer, RedisServer

from auction.lot import next_deadline, replay
from auction.model import Event, LotCreated
from auction.record import GENESIS, Recorded, encode_event, event_to_dict, seal
from engine.eventlog import read_back, row_of
from engine.logs.redis import RedisLog
from engine.logs.sqlite import SQLiteLog
from engine.pg_record import PgRecord, PgRow

_lots = itertools.count(1)
#: One event of every type per example.
every_type = st.tuples(*(events_of(cls) for _, cls in sorted(all_event_types().items())))
STORE_SETTINGS = settings(max_examples=12, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])


def sealed(events: tuple[Event, ...]) -> tuple[str, list[Recorded]]:
    """A fresh lot id and the record of the events it can hold, chained from seq 1."""
    lot_id = f"L-{next(_lots)}-国"
    holdable = [e for e in events if event_holdable(e)]
    return lot_id, seal(lot_id, 1, GENESIS, holdable)


def assert_exact(lot_id: str, records: list[Recorded], rows: list[tuple[int, str, str]]
                 ) -> None:
    assert rows == [(r.seq, r.body, r.hash) for r in records]  # the text as sealed
    back = read_back(lot_id, rows)
    assert [r.event for r in back] == [r.event for r in records]
    # Exactly: the decoded events encode to the very text that was sealed.
    assert [encode_event(event_to_dict(r.event)) for r in back] == [r.body for r in records]


def test_the_stores_round_trip_covers_every_event_type() -> None:
    assert len(every_type.wrapped_strategy.element_strategies) == len(all_event_types())  # type: ignore[attr-defined]


@STORE_SETTINGS
@given(events=every_type)
def test_every_event_reads_back_exactly_from_the_sqlite_file(events: tuple[Event, ...]) -> None:
    lot_id, records = sealed(events)

    async def check() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteLog(Path(tmp))
            await store.open()
            if records:
                assert await store.append(lot_id, 0, [row_of(r) for r in records])
            await store.close()
            again = SQLiteLog(Path(tmp))  # a restart
            await again.open()
            rows = (await again.load()).lots.get(lot_id, [])
            await again.close()
        assert_exact(lot_id, records, [(r.seq, r.body, r.hash) for r in rows])
        assert [r.at for r in rows] == [r.event.at for r in records]

    asyncio.run(check())


@STORE_SETTINGS
@given(events=every_type)
def test_every_event_reads_back_exactly_from_the_redis_stream(
        redis_server: RedisServer, events: tuple[Event, ...]) -> None:
    lot_id, records = sealed(events)
    state = replay([LotCreated(at=1, actor="host1", lot_id=lot_id, session_id="S",
                               format="english", title="t",
                               params={"start_price": "1.00", "step": "1.00",
                                       "duration_s": 60})])
    assert state is not None

    async def check() -> None:
        if not records:
            return
        log = RedisLog(redis_server.url)
        try:
            assert await log.append(lot_id, 0, [row_of(r) for r in records],
                                    deadline=next_deadline(state))
            rows = await log.read(lot_id, 0)
        finally:
            await log.close()
        assert_exact(lot_id, records, [(r.seq, r.body, r.hash) for r in rows])
        assert [(r.at, r.type) for r in rows] == [(row_of(r).at, row_of(r).type)
                                                  for r in records]

    asyncio.run(check())


@STORE_SETTINGS
@given(events=every_type)
def test_every_event_reads_back_exactly_from_the_postgres_record(
        postgres_server: PostgresServer, events: tuple[Event, ...]) -> None:
    lot_id, records = sealed(events)

    async def check() -> None:
        record = PgRecord(postgres_dsn(postgres_server))
        await record._connect()
        try:
            await record.apply([PgRow(lot_id, r.seq, r.event.at, type(r.event).__name__,
                                      r.body, r.hash) for r in records])
            rows = await record.events(lot_id)
            assert record._pool is not None
            bodies = await record._pool.fetch(
                "SELECT body::text AS json FROM events WHERE lot_id = $1 ORDER BY seq", lot_id)
        finally:
            await record.close()
        assert_exact(lot_id, records, [(r["seq"], r["body_text"], r["hash"]) for r in rows])
        assert [r["at"] for r in rows] == [r.event.at for r in records]
        # The JSONB copy (for queries) holds the same values. JSONB keeps a number as the
        # decimal its text says (6.350937849591278e16 becomes 63509378495912780, not the
        # binary float's 63509378495912784), so numbers are compared as decimals.
        assert [decimals(b["json"]) for b in bodies] == [decimals(r.body) for r in records]

    asyncio.run(check())


def decimals(text: str | bytes) -> object:
    """The JSON ``text`` with every number read as the exact decimal it writes."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


_dsns: dict[int, str] = {}


def postgres_dsn(server: PostgresServer) -> str:
    """One database for this module's examples."""
    if id(server) not in _dsns:
        _dsns[id(server)] = server.create_database("store_roundtrip")
    return _dsns[id(server)]
