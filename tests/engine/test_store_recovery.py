"""The embedded engine after a failed write: commands refused, readiness saying why, the
lot back to its durable state, and by itself serving again once the store works, with
whatever the failed write stored after all published once (a real SQLite file; the
write that fails is the store's own, made to report a failure after or instead of it)."""

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from test_contract import Clock, open_lot

from auction.model import CreateLot, PlaceBid, Rejection
from auction.record import Recorded
from auction.state import LotState
from engine.api import EngineError
from engine.embedded import EmbeddedEngine
from engine.eventlog import Row


class FailOnce:
    """The store's next write reports a disk I/O error, after writing (``lands``) or
    without writing; later writes are the real ones."""

    def __init__(self, real: Callable[..., None], lands: bool) -> None:
        self.real, self.lands, self.failed = real, lands, False

    def __call__(self, rows: list[Row], *snapshots: object) -> None:
        if self.failed:
            return self.real(rows, *snapshots)
        self.failed = True
        if self.lands:
            self.real(rows, *snapshots)
        raise sqlite3.OperationalError("disk I/O error")


async def until_ready(engine: EmbeddedEngine) -> None:
    async with asyncio.timeout(15):
        while await engine.readiness():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("lands", [False, True], ids=["lost", "landed"])
async def test_a_failed_write_stops_the_engine_until_the_store_works_and_then_it_serves_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lands: bool) -> None:
    clock = Clock()
    async with EmbeddedEngine(tmp_path, clock) as engine:
        await open_lot(engine)
        durable = engine.lot("L1")
        assert durable is not None
        before = durable.version
        published: list[int] = []

        def listener(state: LotState, records: list[Recorded]) -> None:
            published.extend(r.seq for r in records)
        await engine.subscribe("L1", listener, after_seq=before)
        assert await engine.readiness() == {}

        monkeypatch.setattr(engine.log, "_write", FailOnce(engine.log._write, lands))
        with pytest.raises(EngineError, match="not stored"):
            await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        state = engine.lot("L1")
        assert state is not None and state.version == before  # what is durable, no more
        assert state.best is None and published == []
        assert "disk I/O error" in (await engine.readiness())["store"]
        with pytest.raises(EngineError, match="resumes by itself"):
            await engine.execute("L1", PlaceBid(bidder_id="B1", amount=10000))

        await until_ready(engine)
        state = engine.lot("L1")
        assert state is not None
        # A write reported failed that landed is in the record: shown, once.
        expected = [before + 1] if lands else []
        assert state.version == before + len(expected) and published == expected
        result = await engine.execute("L1", PlaceBid(bidder_id="B1", amount=11000))
        assert not isinstance(result, Rejection) and result[0].seq == before + 1 + len(expected)
        history = await engine.history("L1")
    async with EmbeddedEngine(tmp_path, clock) as again:
        assert [r.hash for r in await again.history("L1")] == [r.hash for r in history]


@pytest.mark.parametrize("lands", [False, True], ids=["lost", "landed"])
async def test_a_lot_whose_creation_failed_exists_after_recovery_exactly_when_it_was_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lands: bool) -> None:
    async with EmbeddedEngine(tmp_path, Clock()) as engine:
        monkeypatch.setattr(engine.log, "_write", FailOnce(engine.log._write, lands))
        create = CreateLot(lot_id="L9", session_id="S1", format="english", title="t",
                           params={"start_price": "100.00", "step": "10.00",
                                   "duration_s": 60}, actor="host1")
        with pytest.raises(EngineError, match="not stored"):
            await engine.execute("L9", create)
        assert engine.lot("L9") is None and engine.lot_ids() == []
        await until_ready(engine)
        assert engine.lot_ids() == (["L9"] if lands else [])
        again = await engine.execute("L9", create)
        assert isinstance(again, Rejection) if lands else not isinstance(again, Rejection)
        assert engine.lot_ids() == ["L9"]
