"""The garbage-collection policy of a serving process (``web.cli.collect_garbage``): young
collections every ``YOUNG_GC_THRESHOLD`` new objects, what survives frozen every
``FREEZE_EVERY_S``, a full collection every ``FULL_GC_EVERY_S`` that frees the cycles
of what died while frozen."""

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from web import cli


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
    collector = asyncio.create_task(cli.collect_garbage())
    try:
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
    finally:
        collector.cancel()
        with pytest.raises(asyncio.CancelledError):
            await collector
