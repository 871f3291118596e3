"""The embedded backend's file: what a third party finds in it."""

import json
import sqlite3
from pathlib import Path

import pytest

from auction.model import CreateLot, Rejection
from auction.record import verify_chain
from engine.api import EngineError
from engine.embedded import EmbeddedEngine

PARAMS = {"start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 60}


async def test_the_file_holds_every_event_with_a_valid_hash_chain(tmp_path: Path) -> None:
    async with EmbeddedEngine(tmp_path) as engine:
        for lot_id in ("A", "B"):
            created = await engine.execute(lot_id, CreateLot(
                lot_id=lot_id, session_id="S", format="english", title=lot_id, params=PARAMS,
                actor="host1"))
            assert not isinstance(created, Rejection)
            await engine.register_bidder(lot_id, "b1", "Co 1", "host1")
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    for lot_id in ("A", "B"):
        rows = conn.execute(
            "SELECT seq, body, hash FROM events WHERE lot_id = ? ORDER BY seq", (lot_id,))
        verify_chain(lot_id, ((s, json.loads(b), h) for s, b, h in rows))
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_refused_create_leaves_no_lot_behind(tmp_path: Path) -> None:
    async with EmbeddedEngine(tmp_path) as engine:
        refused = await engine.execute("X", CreateLot(
            lot_id="X", session_id="S", format="nope", title="x", params=PARAMS, actor="h"))
        assert isinstance(refused, Rejection) and refused.code == "invalid_params"
        assert engine.lot("X") is None and engine.lot_ids() == []


async def test_a_second_process_on_the_same_files_is_refused(tmp_path: Path) -> None:
    async with EmbeddedEngine(tmp_path):
        with pytest.raises(EngineError, match="in use by another process"):
            await EmbeddedEngine(tmp_path).start()
