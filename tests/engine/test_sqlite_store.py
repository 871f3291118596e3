"""The embedded backend's file: what a third party finds in it."""

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from auction.model import CreateLot, Rejection
from auction.record import verify_chain
from engine.api import EngineError
from engine.embedded import EmbeddedEngine
from engine.eventlog import Row
from engine.logs import sqlite as store

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


def rows_in_the_file_alone(tmp_path: Path, copy: Path) -> int:
    """The events the main file holds without its WAL (what checkpoints copied there)."""
    copy.write_bytes((tmp_path / "events.sqlite3").read_bytes())
    conn = sqlite3.connect(copy)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
            return 0  # (its very schema is still in the WAL)
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def body(n: int) -> str:
    return json.dumps({"type": "BidAccepted", "n": n, "padding": "x" * 400})


async def test_commits_are_checkpointed_by_a_thread_of_their_own_shortly_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An append is acknowledged once its commit is fsynced in the WAL, without copying
    the WAL into the file (SQLite's automatic checkpoint did, inside the commit that
    crossed its threshold); the checkpoint thread copies it CHECKPOINT_AFTER_S later."""
    after = store.CHECKPOINT_AFTER_S
    # However slowly the commits go, the thread does not copy while they are counted.
    monkeypatch.setattr(store, "CHECKPOINT_AFTER_S", 3600)
    data = tmp_path / "data"
    log = store.SQLiteLog(data)
    await log.open()
    try:
        rows = [Row("L", seq, 0, "BidAccepted", body(seq), "h" * 64) for seq in range(1, 3002)]
        for start in range(0, 3000, 100):
            assert await log.append("L", start, rows[start:start + 100])
        assert rows_in_the_file_alone(data, tmp_path / "copy1") == 0  # all in the WAL
        assert log._checkpoint is not None and not log._checkpoint.done()  # one waits
        log._checkpoint.cancel()
        monkeypatch.setattr(store, "CHECKPOINT_AFTER_S", after)
        assert await log.append("L", 3000, rows[3000:])
        for _ in range(200):
            await asyncio.sleep(after)
            if rows_in_the_file_alone(data, tmp_path / "copy2") == 3001:
                break
        assert rows_in_the_file_alone(data, tmp_path / "copy2") == 3001
        assert [r.seq for r in await log.read("L", 2990)] == list(range(2991, 3002))
    finally:
        await log.close()


async def test_the_wal_stays_bounded_when_commits_leave_the_checkpoint_thread_no_gap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits back to back may keep the checkpoint thread from ever catching up (the WAL
    starts over only then); past WAL_PAGES the commit checkpoints what is left itself."""
    monkeypatch.setattr(store, "WAL_PAGES", 200)
    monkeypatch.setattr(store, "CHECKPOINT_AFTER_S", 3600)  # the thread never runs
    data = tmp_path / "data"
    log = store.SQLiteLog(data)
    await log.open()
    try:
        for seq in range(1, 3001):
            assert await log.append("L", seq - 1, [
                Row("L", seq, 0, "BidAccepted", body(seq), "h" * 64)])
        wal = (data / "events.sqlite3-wal").stat().st_size
        assert wal < 2 * 200 * 4096, wal  # (unbounded: several pages a commit, 3,000)
        assert rows_in_the_file_alone(data, tmp_path / "copy") >= 3000 - 200
    finally:
        await log.close()
