"""Whatever the engine acknowledged, it can read back; one unreadable lot never stops the
others (ARCHITECTURE.md, invariant 7). On both backends, real stores."""

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from test_contract import open_lot

from auction.model import BidAccepted, CreateLot, PlaceBid, Rejection
from auction.record import chain, encode_event
from engine import pipeline
from engine import redis_keys as keys
from engine.api import Engine, Quarantined
from engine.embedded import EmbeddedEngine
from engine.redis_engine import RedisEngine

EngineFactory = Callable[..., Engine]


async def test_a_bid_of_two_to_the_64_minor_units_is_never_acknowledged_and_a_restart_reads_everything(  # noqa: E501
        engine_factory: EngineFactory) -> None:
    """The reported instance: 184467440737095520.00 on a lot starting at 100.00, step 10.00,
    is on the step grid. It is refused (whichever rule refuses it first), nothing is
    recorded, the lot goes on, and a restart reads every lot back."""
    async with engine_factory() as engine:
        await open_lot(engine)
        version = engine.lot("L1").version  # type: ignore[union-attr]
        huge = await engine.execute("L1", PlaceBid(bidder_id="B0", amount=18446744073709552000))
        assert isinstance(huge, Rejection), huge
        assert engine.lot("L1").version == version  # type: ignore[union-attr]
        ok = await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        assert not isinstance(ok, Rejection), ok
    async with engine_factory() as engine:
        assert engine.quarantined() == {}
        assert engine.lot("L1").version == version + 1  # type: ignore[union-attr]


def _unreadable_when_decided(original: Callable[..., Any]) -> Callable[..., Any]:
    """The rules as they are, except that a bid's ``ref`` becomes ``ref`` + a lone
    surrogate once decided: a stand-in for any rule that lets through what the record
    cannot hold (the engine must not trust the rules on this)."""
    def decide(state: Any, command: Any, now: int) -> Any:
        decision = original(state, command, now)
        if isinstance(command, PlaceBid) and command.ref.startswith("poison"):
            return [dataclasses.replace(e, ref=e.ref + "\ud800")
                    if isinstance(e, BidAccepted) else e for e in decision]
        return decision
    return decide


async def test_an_event_that_could_not_be_read_back_is_refused_as_invalid_input_and_nothing_is_recorded(  # noqa: E501
        engine_factory: EngineFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "decide", _unreadable_when_decided(pipeline.decide))
    async with engine_factory() as engine:
        await open_lot(engine)
        version = engine.lot("L1").version  # type: ignore[union-attr]
        seen: list[int] = []
        await engine.subscribe("L1", lambda state, records: seen.extend(r.seq for r in records))
        # One batch: a good bid, the unreadable one, another good bid.
        results = await asyncio.gather(*(engine.execute("L1", PlaceBid(
            bidder_id=bidder, amount=10000 + 1000 * i, ref=ref))
            for i, (bidder, ref) in enumerate([("B0", "a"), ("B1", "poison"), ("B1", "b")])))
        assert not isinstance(results[0], Rejection) and not isinstance(results[2], Rejection)
        refused = results[1]
        assert isinstance(refused, Rejection) and refused.code == "invalid_input", refused
        assert "ref: a lone surrogate" in refused.detail
        assert engine.lot("L1").version == version + 2  # type: ignore[union-attr]
        assert seen == [version + 1, version + 2]
        # The lot's writer keeps running: the next bid is decided and recorded.
        ok = await engine.execute("L1", PlaceBid(bidder_id="B0", amount=20000, ref="r-😀"))
        assert not isinstance(ok, Rejection), ok
    async with engine_factory() as engine:
        assert engine.quarantined() == {}
        records = await engine.history("L1")
        assert [r.seq for r in records] == list(range(1, version + 4))
        assert [r.event.ref for r in records[-3:]] == ["a", "b", "r-😀"]  # type: ignore[attr-defined]


def _forged_bid(lot_id: str, seq: int, prev_hash: str, at: int) -> tuple[str, str]:
    """A BidAccepted of 2^64 minor units continuing the chain: the record a bidder could
    make before money had its maximum. Its chain holds; it cannot be decoded."""
    body = encode_event({"type": "BidAccepted", "at": at, "actor": "1234", "bidder_id": "B0",
                         "bidder_no": "1234", "amount": 2**64, "ip": "", "device": "",
                         "ref": "r"})
    return body, chain(prev_hash, lot_id, seq, body)


async def poison(engine: Engine, factory: EngineFactory, lot_id: str) -> None:
    """Append a forged, undecodable record to ``lot_id`` directly in the engine's store
    (``engine`` is closed; ``factory`` tells where its store is)."""
    records = await engine.history(lot_id)
    last = records[-1]
    seq = last.seq + 1
    body, digest = _forged_bid(lot_id, seq, last.hash, last.event.at)
    if isinstance(engine, EmbeddedEngine):
        with sqlite3.connect(engine.data_dir / "events.sqlite3") as db:
            db.execute("INSERT INTO events (lot_id, seq, at, type, body, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (lot_id, seq, last.event.at, "BidAccepted", body, digest))
    else:
        assert isinstance(engine, RedisEngine)
        client = aioredis.Redis.from_url(engine.redis_url)
        try:
            await client.xadd(keys.events(lot_id), {"b": body, "h": digest}, id=f"{seq}-0")
            await client.hset(keys.meta(lot_id), mapping={"seq": seq, "hash": digest})
        finally:
            await client.aclose()


async def test_a_lot_whose_record_cannot_be_read_is_quarantined_alone_at_start(
        engine_factory: EngineFactory, caplog: pytest.LogCaptureFixture) -> None:
    async with engine_factory() as engine:
        await open_lot(engine, "GOOD")
        await open_lot(engine, "BAD")
        good_version = engine.lot("GOOD").version  # type: ignore[union-attr]
    await poison(engine, engine_factory, "BAD")
    async with engine_factory() as engine:
        assert set(engine.quarantined()) == {"BAD"}
        assert "amount has the wrong type" in engine.quarantined()["BAD"]
        assert any(r.levelname == "ERROR" and "BAD" in r.getMessage()
                   and "quarantined" in r.getMessage() for r in caplog.records)
        # Every other lot is served.
        assert engine.lot("GOOD").version == good_version  # type: ignore[union-attr]
        assert engine.lot_ids() == ["GOOD"]
        bid = await engine.execute("GOOD", PlaceBid(bidder_id="B0", amount=10000))
        assert not isinstance(bid, Rejection), bid
        # The quarantined lot refuses its commands and reads with a clear code.
        refused = await engine.execute("BAD", PlaceBid(bidder_id="B0", amount=10000))
        assert isinstance(refused, Rejection) and refused.code == "quarantined"
        again = await engine.execute("BAD", CreateLot(
            lot_id="BAD", session_id="S1", format="english", title="again", params={},
            actor="host1"))
        assert isinstance(again, Rejection) and again.code == "quarantined"
        assert engine.lot("BAD") is None
        for read in (engine.history("BAD"), engine.subscribe("BAD", lambda s, r: None)):
            with pytest.raises(Quarantined) as caught:
                await read
            assert caught.value.lot_id == "BAD"
