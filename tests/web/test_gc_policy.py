"""The garbage-collection policy of a serving process (``web.cli.collect_garbage``): young
collections every ``YOUNG_GC_THRESHOLD`` new objects, what survives frozen every
``FREEZE_EVERY_S`` after a young collection that comes twice as seldom while it finds
nothing, a full collection every ``FULL_GC_EVERY_S`` that frees the cycles of what died
while frozen, at a time clear of the process's deadlines."""

import asyncio
import contextlib
import gc
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from auction.model import CreateLot, Rejection, ScheduleLot, StartLot
from engine.embedded import EmbeddedEngine
from web import cli

FULL = "full garbage collection"


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def test_survivors_are_frozen_and_a_full_collection_frees_what_died_frozen(
        restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "FREEZE_EVERY_S", 0.02)
    monkeypatch.setattr(cli, "FULL_GC_EVERY_S", 0.2)  # ten freezes, then a full one
    gc.unfreeze()
    kept = Node()
    async with collecting(lambda: None):
        await asyncio.sleep(0)  # the thresholds set
        dead = weakref.ref(Node())  # young cyclic garbage: the first freeze's collection
        await asyncio.sleep(0.05)
        assert gc.get_threshold()[0] == cli.YOUNG_GC_THRESHOLD
        assert dead() is None
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of sight
        frozen = weakref.ref(kept)
        del kept  # a cycle that dies while frozen
        assert frozen() is not None
        async with asyncio.timeout(5):  # the full collection
            while frozen() is not None:
                await asyncio.sleep(0.02)


def full_collections(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.getMessage().startswith(FULL))


async def until_full_collections(caplog: pytest.LogCaptureFixture, count: int) -> None:
    async with asyncio.timeout(5):
        while full_collections(caplog) < count:
            await asyncio.sleep(0.01)


def quick(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
          max_wait_s: float) -> None:
    """Freezes every 10 ms, a full collection due every 50 ms once clear of the next
    deadline by 2 x the last one's length + 0.5 s, or after ``max_wait_s`` more."""
    caplog.set_level(logging.INFO, logger="web.cli")
    monkeypatch.setattr(cli, "FREEZE_EVERY_S", 0.01)
    monkeypatch.setattr(cli, "FULL_GC_EVERY_S", 0.05)
    monkeypatch.setattr(cli, "FULL_GC_CLEAR_S", 0.5)
    monkeypatch.setattr(cli, "FULL_GC_MAX_WAIT_S", max_wait_s)


@contextlib.asynccontextmanager
async def collecting(free_for: Callable[[], float | None]) -> AsyncIterator[None]:
    """``collect_garbage(free_for)`` running in the background meanwhile."""
    collector = asyncio.create_task(cli.collect_garbage(free_for))
    try:
        yield
    finally:
        collector.cancel()
        with pytest.raises(asyncio.CancelledError):
            await collector


async def test_a_due_full_collection_waits_for_a_time_clear_of_the_next_deadline(
        restored: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    quick(monkeypatch, caplog, max_wait_s=60.0)
    free: dict[str, float | None] = {"s": 0.3}  # a lot closes in 0.3 s: not clear
    async with collecting(lambda: free["s"]):
        await asyncio.sleep(0.3)  # due since 0.05 s, held back all along
        assert full_collections(caplog) == 0
        assert gc.get_freeze_count() > 0  # the freezes went on meanwhile
        free["s"] = None  # no deadline any more
        await until_full_collections(caplog, 1)
        free["s"] = 2.0  # clear of 2 x the last one's length + 0.5 s: the next one runs
        await until_full_collections(caplog, 2)


async def test_a_full_collection_held_back_too_long_runs_anyway(
        restored: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    quick(monkeypatch, caplog, max_wait_s=0.3)
    async with collecting(lambda: 0.0):  # never clear
        await asyncio.sleep(0.2)
        assert full_collections(caplog) == 0
        await until_full_collections(caplog, 1)


async def test_the_time_clear_is_counted_to_the_engines_next_deadline(
        tmp_path: Path) -> None:
    now = 1_800_000_000_000
    async with EmbeddedEngine(tmp_path / "data", lambda: now) as engine:
        free_for = cli._free_for(engine)
        assert free_for() is None
        assert not isinstance(await engine.execute("L1", CreateLot(
            lot_id="L1", session_id="S1", format="english", title="Land 1",
            params={"start_price": "100.00", "step": "10.00", "deposit": "50.00",
                    "duration_s": 90}, actor="host1")), Rejection)
        for command in (ScheduleLot(actor="host1"), StartLot(actor="host1")):
            assert not isinstance(await engine.execute("L1", command), Rejection)
        assert free_for() == 90.0


def test_young_collections_come_twice_as_seldom_while_they_find_nothing() -> None:
    young = cli.YoungCollections()
    assert young.due(0.0, 0) and cli.FREEZE_EVERY_S == 0.1 and cli.FREEZE_SPACING == 25
    at, intervals = 100.0, []
    for _ in range(9):  # nothing found: 0.2, 0.4, ... up to YOUNG_GC_MAX_EVERY_S
        young.collected(at, 0.001, 0)
        assert not young.due(at + young.every - 0.001, 0) and young.due(at + young.every, 0)
        intervals.append(round(young.next - at, 3))
        at = young.next
    assert intervals == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 6.4, 6.4, 6.4]
    assert cli.YOUNG_GC_MAX_EVERY_S == 6.4
    young.collected(at, 0.001, 3)  # garbage: before every freeze again
    assert young.next == pytest.approx(at + cli.FREEZE_EVERY_S)
    # A collection of 12 ms (a thousand commands in flight): the next one 0.3 s later, so
    # that these collections take at most 1/25 of the time.
    young.collected(at, 0.012, 3)
    assert young.next == pytest.approx(at + 0.3)


def test_a_young_collection_comes_sooner_once_enough_new_objects_were_frozen() -> None:
    assert cli.YOUNG_GC_MAX_OBJECTS == 5_000
    young = cli.YoungCollections()
    young.collected(100.0, 0.001, 0)
    for _ in range(5):
        young.collected(young.next, 0.001, 0)  # quiet: every 6.4 s
    at = young.next - 6.4
    assert young.next == pytest.approx(at + 6.4)
    # Each freeze (0.1 s apart) took in 1,000 new objects: the fifth freeze would take the
    # frozen ones to 5,000, so its collection comes then, not 6.4 s after the last.
    assert [young.due(at + 0.1 * i, 1_000) for i in range(1, 6)] == [False] * 4 + [True]
    young.collected(at + 0.5, 0.001, 0)
    assert young.frozen == 0 and not young.due(at + 0.6, 4_999)
    # Never sooner than FREEZE_SPACING times the last collection's length after it.
    young.collected(at + 1.0, 0.02, 0)  # 20 ms: none before 0.5 s later
    assert not young.due(at + 1.4, 50_000) and young.due(at + 1.5, 50_000)


async def test_the_freezes_go_on_while_young_collections_back_off_and_return_with_garbage(
        restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "FREEZE_EVERY_S", 0.01)
    monkeypatch.setattr(cli, "YOUNG_GC_MAX_EVERY_S", 0.16)
    runs: list[int] = []  # what each young collection before a freeze freed

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 1:
            runs.append(info["collected"])

    gc.unfreeze()
    gc.callbacks.append(seen)
    try:
        async with collecting(lambda: None):
            frozen = gc.get_freeze_count()
            await asyncio.sleep(0.8)  # about 80 freezes; nothing to collect
            quiet = len(runs)
            assert gc.get_freeze_count() > frozen
            # 0.01, 0.02, 0.04, 0.08, then every 0.16 s: about 8, where every freeze
            # would be 80 (garbage of the test's own machinery may bring a few back).
            assert 3 <= quiet <= 30, runs
            kept = []
            for _ in range(40):  # cyclic garbage made all along: collected at each freeze
                kept.append(weakref.ref(Node()))
                await asyncio.sleep(0.01)
            busy = len(runs) - quiet
            assert busy >= 15, runs
            assert sum(runs[quiet:]) >= 30, runs
            # Whatever a freeze took in before the collections came back is freed by the
            # next full collection; the rest is freed already.
            assert sum(ref() is not None for ref in kept) <= 20
    finally:
        gc.callbacks.remove(seen)
