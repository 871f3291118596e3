"""The hub on a real EmbeddedEngine, without sockets: one engine subscription per lot,
each audience's frame encoded once per commit, and joins that race a commit."""

import asyncio
from typing import Any

import orjson
import pytest
from web_support import open_lot

import web.hub
from auction.model import (
    PlaceBid,
    Rejection,
)
from engine.embedded import EmbeddedEngine
from web.hub import Hub


class Box:
    """An Outbox that keeps what it gets."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.dropped: tuple[int, str] | None = None

    def push(self, frame: bytes, *, catch_up: bool = False) -> None:
        self.frames.append(orjson.loads(frame))

    def drop(self, code: int, reason: str) -> None:
        self.dropped = (code, reason)

    def seqs(self) -> list[int]:
        return [e["seq"] for f in self.frames if f["type"] == "update" for e in f["events"]]


async def bid(engine: EmbeddedEngine, bidder: str, amount: int, lot_id: str = "L") -> None:
    assert not isinstance(await engine.execute(lot_id, PlaceBid(bidder_id=bidder,
                                                                amount=amount)), Rejection)


def version(engine: EmbeddedEngine) -> int:
    state = engine.lot("L")
    assert state is not None
    return state.version


async def test_one_engine_subscription_per_lot_whatever_the_watchers(
        engine: EmbeddedEngine) -> None:
    await open_lot(engine, "A")
    await open_lot(engine, "B")
    hub = Hub(engine)
    watchers = [await hub.watch(Box(), lot, "public") for lot in ("A", "A", "A", "B")]
    assert hub.subscriptions() == 2
    for watcher in watchers[:3]:
        hub.unwatch(watcher)
    assert hub.subscriptions() == 1
    hub.unwatch(watchers[3])
    hub.unwatch(watchers[3])
    assert hub.subscriptions() == 0
    await hub.close()


async def test_each_audience_frame_is_encoded_once_per_commit(
        engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    await open_lot(engine, visibility="rank")
    hub = Hub(engine)
    boxes = [Box() for _ in range(9)]
    for box in boxes[:5]:
        await hub.watch(box, "L", "public")
    await hub.watch(boxes[5], "L", "staff")
    await hub.watch(boxes[6], "L", "staff")
    await hub.watch(boxes[7], "L", "bidder", "x")
    await hub.watch(boxes[8], "L", "bidder", "y")
    encoded: list[list[int]] = []
    real = web.hub.delta_frame

    def counting(lot_id: str, events: list[dict[str, Any]], before: dict[str, Any],
                 view: dict[str, Any], server_time: int, head: str | None = None) -> bytes:
        encoded.append([e["seq"] for e in events])
        return real(lot_id, events, before, view, server_time, head)

    monkeypatch.setattr(web.hub, "delta_frame", counting)
    await bid(engine, "x", 100)
    assert len(encoded) == 4  # public, staff, bidder:x, bidder:y
    assert all(box.frames[-1]["type"] == "update" for box in boxes)
    assert boxes[0].frames[-1] == boxes[4].frames[-1]
    assert boxes[5].frames[-1] == boxes[6].frames[-1]
    await hub.close()


async def test_a_watcher_joining_during_a_commit_gets_it_once(
        engine: EmbeddedEngine) -> None:
    await open_lot(engine)
    hub = Hub(engine)
    first = Box()
    await hub.watch(first, "L", "public", after_seq=0)
    before = version(engine)
    commit = asyncio.ensure_future(bid(engine, "x", 100))
    async with asyncio.timeout(5):
        while version(engine) == before:  # decided, not yet durable nor delivered
            await asyncio.sleep(0)
    late = Box()
    joining = asyncio.ensure_future(hub.watch(late, "L", "public", after_seq=0))
    await commit
    await joining
    await bid(engine, "y", 200)
    expected = list(range(1, version(engine) + 1))
    assert first.seqs() == expected and late.seqs() == expected
    assert late.frames[0]["state"]["seq"] == before + 1  # never an undurable snapshot
    await hub.close()


async def test_catch_up_comes_in_chunks_and_a_price_bidder_gets_its_standing(
        engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    await open_lot(engine)
    monkeypatch.setattr(web.hub, "CATCH_UP_CHUNK", 3)
    hub = Hub(engine)
    box = Box()
    await hub.watch(box, "L", "bidder", "x", after_seq=0, greeting=b'{"type": "hello"}')
    kinds = [f["type"] for f in box.frames]
    assert kinds[0] == "hello" and kinds[-1] == "you" and kinds.count("update") == 3
    assert box.seqs() == list(range(1, 10))
    await bid(engine, "y", 100)
    assert box.frames[-1]["type"] == "update"  # y's bid does not concern x
    await bid(engine, "x", 200)
    assert box.frames[-1]["type"] == "you" and box.frames[-1]["you"]["leading"] is True
    # After a commit, own_bids holds what that commit added: the bid, then nothing.
    assert [b["seq"] for b in box.frames[-1]["you"]["own_bids"]] == [box.seqs()[-1]]
    await bid(engine, "z", 300)
    assert box.frames[-1]["type"] == "you" and box.frames[-1]["you"]["leading"] is False
    assert box.frames[-1]["you"]["own_bids"] == [] and box.frames[-1]["you"]["bids"] == 1
    # A new subscriber's catch-up standing lists them all.
    again = Box()
    await hub.watch(again, "L", "bidder", "x", after_seq=0)
    assert again.frames[-1]["type"] == "you"
    assert [b["amount"] for b in again.frames[-1]["you"]["own_bids"]] == ["2.00"]
    await hub.close()


async def test_an_unknown_lot_cannot_be_watched(engine: EmbeddedEngine) -> None:
    hub = Hub(engine)
    with pytest.raises(web.hub.UnknownLot):
        await hub.watch(Box(), "nope", "public")
    assert hub.subscriptions() == 0
