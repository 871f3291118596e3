"""The engine contract: what every backend promises (engine/api.py), on real stores."""

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from auction.model import (
    ConfirmDeposit,
    CreateLot,
    PauseLot,
    PlaceBid,
    Rejection,
    ResumeLot,
    ScheduleLot,
    StartLot,
)
from auction.record import Recorded, event_to_dict, verify_chain
from auction.state import LotState
from engine.api import Engine, EngineError, UnknownLot

EngineFactory = Callable[..., Engine]


class Clock:
    """A server clock the test moves by hand (ms)."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.t = now

    def __call__(self) -> int:
        return self.t


PARAMS = {"start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 60}


async def open_lot(engine: Engine, lot_id: str = "L1", bidders: int = 2,
                   params: dict[str, object] | None = None) -> list[str]:
    created = await engine.execute(lot_id, CreateLot(
        lot_id=lot_id, session_id="S1", format="english", title="Land 1",
        params=params or PARAMS, actor="host1"))
    assert not isinstance(created, Rejection), created
    ids = []
    for i in range(bidders):
        bidder_id = f"B{i}"
        assert not isinstance(await engine.register_bidder(lot_id, bidder_id, f"Co {i}", "host1"),
                              Rejection)
        assert not isinstance(await engine.execute(lot_id, ConfirmDeposit(
            bidder_id=bidder_id, amount=5000, account=f"acct{i}", actor="host1")), Rejection)
        ids.append(bidder_id)
    assert not isinstance(await engine.execute(lot_id, ScheduleLot(actor="host1")), Rejection)
    assert not isinstance(await engine.execute(lot_id, StartLot(actor="host1")), Rejection)
    return ids


async def test_events_are_numbered_gap_free_and_chained(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await open_lot(engine)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        await engine.execute("L1", PlaceBid(bidder_id="B1", amount=11000))
        records = await engine.history("L1")
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    verify_chain("L1", ((r.seq, event_to_dict(r.event), r.hash) for r in records))


async def test_a_restart_recovers_every_lot_and_its_bids(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    async with engine_factory(clock) as engine:
        await open_lot(engine)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        before = engine.lot("L1")
        assert before is not None
        version, best = before.version, before.best
    async with engine_factory(clock) as engine:
        after = engine.lot("L1")
        assert after is not None
        assert (after.version, after.best, after.status) == (version, best, "open")
        result = await engine.execute("L1", PlaceBid(bidder_id="B1", amount=11000))
        assert isinstance(result, list) and result[0].seq == version + 1


async def test_a_rejection_changes_nothing_and_is_not_recorded(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await open_lot(engine)
        before = len(await engine.history("L1"))
        result = await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10001))
        assert isinstance(result, Rejection) and result.code == "off_step"
        assert len(await engine.history("L1")) == before


async def test_the_close_deadline_fires_by_itself(
        engine_factory: EngineFactory) -> None:
    params = dict(PARAMS, duration_s=1)
    async with engine_factory() as engine:
        await open_lot(engine, params=params)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        closes_at = engine.lot("L1").closes_at  # type: ignore[union-attr]
        names: list[str] = []
        for _ in range(100):  # the durable history, not the state that may run ahead of it
            await asyncio.sleep(0.05)
            names = [type(r.event).__name__ for r in await engine.history("L1")]
            if "LotAwarded" in names:
                break
        assert names[-2:] == ["LotClosed", "LotAwarded"]
        closed = [r for r in await engine.history("L1") if type(r.event).__name__ == "LotClosed"]
        assert closed[0].event.at >= closes_at  # type: ignore[operator]


async def test_the_next_deadline_is_the_earliest_armed_one(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    async with engine_factory(clock) as engine:
        assert engine.next_deadline() is None  # no lot: no timer
        await open_lot(engine, "L1", params=dict(PARAMS, duration_s=120))
        await open_lot(engine, "L2", params=dict(PARAMS, duration_s=60))
        first, second = engine.lot("L1"), engine.lot("L2")
        assert first is not None and second is not None
        assert second.closes_at == clock.t + 60_000 < first.closes_at  # type: ignore[operator]
        assert engine.next_deadline() == second.closes_at
        await engine.execute("L2", PauseLot(actor="host1", reason="power cut"))
        # A paused lot has no deadline: L1's is the next.
        assert engine.next_deadline() == first.closes_at


async def test_an_overdue_deadline_fires_at_restart(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    async with engine_factory(clock) as engine:
        await open_lot(engine)
        await engine.execute("L1", PlaceBid(bidder_id="B1", amount=12000))
    clock.t += 3_600_000
    async with engine_factory(clock) as engine:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if engine.lot("L1").status == "awarded":  # type: ignore[union-attr]
                break
        state = engine.lot("L1")
        assert state is not None and state.outcome is not None
        assert (state.status, state.outcome.bidder_id, state.outcome.amount) == (
            "awarded", "B1", 12000)


async def test_pause_stops_the_clock_and_resume_adds_the_paused_time(
        engine_factory: EngineFactory) -> None:
    clock = Clock()
    async with engine_factory(clock) as engine:
        await open_lot(engine)
        closes_at = engine.lot("L1").closes_at  # type: ignore[union-attr]
        await engine.execute("L1", PauseLot(actor="host1", reason="network fault"))
        clock.t += 120_000
        await engine.execute("L1", ResumeLot(actor="host1", reason="fixed"))
        assert engine.lot("L1").closes_at == closes_at + 120_000  # type: ignore[union-attr]


async def test_listeners_get_every_commit_once_in_order_and_resume_from_a_seq(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await open_lot(engine)
        seen_live: list[int] = []
        seen_resumed: list[int] = []

        def live(state: LotState, records: list[Recorded]) -> None:
            seen_live.extend(r.seq for r in records)

        def resumed(state: LotState, records: list[Recorded]) -> None:
            seen_resumed.extend(r.seq for r in records)

        start = engine.lot("L1").version  # type: ignore[union-attr]
        sub = await engine.subscribe("L1", live)
        bids = [engine.execute("L1", PlaceBid(bidder_id=f"B{i % 2}", amount=10000 + 1000 * i))
                for i in range(20)]
        results = await asyncio.gather(*bids)
        # resume from the middle while bids go on
        resume = await engine.subscribe("L1", resumed, after_seq=start + 5)
        await asyncio.gather(*[engine.execute(
            "L1", PlaceBid(bidder_id=f"B{i % 2}", amount=40000 + 1000 * i)) for i in range(10)])
        sub.close()
        resume.close()
        sub.close()
        last = engine.lot("L1").version  # type: ignore[union-attr]
    accepted = [r for r in results if not isinstance(r, Rejection)]
    assert len(accepted) == 20
    assert seen_live == list(range(start + 1, last + 1))
    assert seen_resumed == list(range(start + 6, last + 1))


async def test_commands_for_an_unknown_lot_are_refused(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        with pytest.raises(UnknownLot):
            await engine.execute("nope", PlaceBid(bidder_id="B0", amount=100))


async def test_sessions_are_kept_across_restarts(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await engine.create_session("S1", "Land sale", "host1")
        with pytest.raises(EngineError):
            await engine.create_session("S1", "again", "host1")
    async with engine_factory() as engine:
        assert [s.name for s in engine.sessions()] == ["Land sale"]


async def test_bidder_numbers_are_random_and_unique(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await open_lot(engine, bidders=30)
        numbers = [b.bidder_no for b in engine.lot("L1").bidders.values()]  # type: ignore[union-attr]
    assert len(set(numbers)) == 30
    assert numbers != sorted(numbers)


async def test_the_permanent_record_holds_every_event(engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        await open_lot(engine)
        await engine.execute("L1", PlaceBid(bidder_id="B0", amount=10000))
        history = await engine.history("L1")
        record: list[Recorded] = []
        for _ in range(200):  # the scale-out record is written in the background
            with contextlib.suppress(EngineError):
                record = await engine.record("L1")
            if len(record) == len(history):
                break
            await asyncio.sleep(0.05)
        assert [(r.seq, r.event, r.hash) for r in record] == [
            (r.seq, r.event, r.hash) for r in history]
