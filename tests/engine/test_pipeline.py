"""The per-lot writer's invariants (engine/pipeline.py), on every adapter of the event log:
in memory, the SQLite file, a real Redis.

* per lot one gap-free, chained order, which a restart reads back exactly;
* nothing is acknowledged, and no listener told, before it is durable in the log;
* what is decided ahead of an append in flight equals what deciding the same commands
  one by one gives;
* a failed or stale append is never acknowledged, and the lot goes on correctly.

Appends are held at the port (the adapter's own ``append`` behind a wrapper) to make
commands arrive while a batch is in flight, and failed there, landed or not.
"""

import asyncio
import functools
import itertools
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_contract import Clock, open_lot

from auction.errors import RecordError
from auction.lot import decide, evolve, replay
from auction.model import PlaceBid, Rejection
from auction.record import Recorded, event_to_dict, seal, verify_chain
from auction.state import LotState
from engine import redis_keys as keys
from engine.api import EngineError
from engine.eventlog import AppendFailed, EventLog, Row
from engine.logs.memory import MemoryLog
from engine.logs.redis import RedisLog
from engine.logs.sqlite import SQLiteLog
from engine.runtime import Runtime

_lots = itertools.count(1)
ADAPTERS = ["memory", "sqlite", "redis"]


class Store:
    """One adapter's durable store: engines on it (each a fresh process's view) and what
    it holds, read behind the engine's back."""

    def __init__(self, kind: str, where: Path, redis_url: str = "") -> None:
        self.kind, self.where, self.redis_url = kind, where, redis_url
        self.memory = MemoryLog()

    def log(self) -> EventLog:
        if self.kind == "memory":
            return self.memory
        if self.kind == "sqlite":
            return SQLiteLog(self.where)
        return RedisLog(self.redis_url)

    def durable(self, lot_id: str) -> int:
        """The lot's last sequence number as the store holds it now."""
        if self.kind == "memory":
            rows = self.memory.rows.get(lot_id, [])
            return rows[-1].seq if rows else 0
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.where / "events.sqlite3")
            try:
                return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events WHERE "
                                        "lot_id = ?", (lot_id,)).fetchone()[0])
            finally:
                conn.close()
        client = redis.Redis.from_url(self.redis_url)
        try:
            return int(client.hget(keys.meta(lot_id), "seq") or 0)
        finally:
            client.close()

    @asynccontextmanager
    async def engine(self, clock: Clock) -> AsyncIterator[Runtime]:
        engine = Runtime(self.log(), clock)
        async with engine:
            yield engine


@asynccontextmanager
async def store_of(kind: str, redis_url: str) -> AsyncIterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Store(kind, Path(tmp), redis_url)


def wrap_appends(engine: Runtime, append: Callable[..., Awaitable[bool]]) -> None:
    """Make every append of the engine's writers go through ``append`` (which calls the
    adapter's own): the port's plain ``append_soon``, a task of ``append``, in place of
    an adapter's own (the SQLite log's hands over its write's future without calling
    ``append``)."""
    engine.log.append = append  # type: ignore[method-assign]
    engine.log.append_soon = functools.partial(  # type: ignore[method-assign]
        EventLog.append_soon, engine.log)


def unwrap_appends(engine: Runtime) -> None:
    del engine.log.append, engine.log.append_soon


def held(engine: Runtime, pauses: Sequence[int], faults: Sequence[str] = ()) -> None:
    """Wrap the engine's appends: the n-th waits ``pauses[n]`` turns of the event loop
    (commands arrive meanwhile), then lands (``ok``), fails without landing (``lost``)
    or lands and fails all the same (``landed``) as ``faults[n]`` says."""
    real = engine.log.append
    calls = itertools.count()

    async def append(lot_id: str, expected_seq: int, rows: Sequence[Row], **kw: Any) -> bool:
        n = next(calls)
        for _ in range(pauses[n % len(pauses)] if pauses else 0):
            await asyncio.sleep(0)
        fault = faults[n] if n < len(faults) else "ok"
        if fault == "lost":
            raise AppendFailed("not stored: injected")
        durable = await real(lot_id, expected_seq, rows, **kw)
        if fault == "landed":
            raise AppendFailed("not stored: injected after landing")
        return durable
    wrap_appends(engine, append)


def watch_durability(store: Store, engine: Runtime, lot_id: str) -> list[str]:
    """Check, at every listener call, that what it is told is durable; the problems."""
    problems: list[str] = []

    def listener(state: LotState, records: list[Recorded]) -> None:
        if records and store.durable(lot_id) < records[-1].seq:
            problems.append(f"seq {records[-1].seq} published before it was durable")
    asyncio.get_running_loop().create_task(engine.subscribe(lot_id, listener))
    return problems


async def bids(store: Store, engine: Runtime, lot_id: str,
               commands: Sequence[tuple[int, int]], gaps: Sequence[int]
               ) -> list[list[Recorded] | Rejection | EngineError]:
    """Send ``commands`` ((bidder, price steps)) in order, ``gaps[i]`` loop turns after
    the i-th; each acknowledgement is checked durable when it arrives."""
    problems: list[str] = []

    def acknowledged(task: "asyncio.Task[Any]") -> None:
        result = None if task.exception() else task.result()
        if isinstance(result, list) and result and store.durable(lot_id) < result[-1].seq:
            problems.append(f"seq {result[-1].seq} acknowledged before it was durable")
    tasks = []
    for i, (bidder, steps) in enumerate(commands):
        task = asyncio.ensure_future(engine.execute(lot_id, PlaceBid(
            bidder_id=f"B{bidder}", amount=10000 + 1000 * steps, ref=f"r{i}")))
        task.add_done_callback(acknowledged)
        tasks.append(task)
        for _ in range(gaps[i % len(gaps)] if gaps else 0):
            await asyncio.sleep(0)
    results: list[list[Recorded] | Rejection | EngineError] = []
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, EngineError):
            raise outcome
        results.append(outcome)
    assert problems == []
    return results


def serially(lot_id: str, before: list[Recorded], commands: Sequence[tuple[int, int]],
             now: int) -> list[list[Recorded] | Rejection]:
    """The same bids decided one by one on the state of ``before``: the reference."""
    state = replay(r.event for r in before)
    last = before[-1]
    out: list[list[Recorded] | Rejection] = []
    for i, (bidder, steps) in enumerate(commands):
        decision = decide(state, PlaceBid(bidder_id=f"B{bidder}", amount=10000 + 1000 * steps,
                                          ref=f"r{i}"), now)
        if isinstance(decision, Rejection):
            out.append(decision)
            continue
        try:
            sealed = seal(lot_id, last.seq + 1, last.hash, decision)
        except RecordError as exc:  # pragma: no cover - bids here are all recordable
            out.append(Rejection("invalid_input", exc.message))
            continue
        for record in sealed:
            state = evolve(state, record.event)
        last = sealed[-1]
        out.append(sealed)
    return out


def assert_one_order(lot_id: str, history: list[Recorded]) -> None:
    assert [r.seq for r in history] == list(range(1, len(history) + 1))
    verify_chain(lot_id, ((r.seq, event_to_dict(r.event), r.hash) for r in history))


SETTINGS = {"memory": 60, "sqlite": 8, "redis": 8}
commands_st = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 12)), min_size=1,
                       max_size=30)
turns_st = st.lists(st.integers(0, 3), max_size=6)


def run_with(kind: str, request: pytest.FixtureRequest,
             check: Callable[[Store], Any]) -> None:
    url = request.getfixturevalue("redis_server").url if kind == "redis" else ""

    async def go() -> None:
        async with store_of(kind, url) as store:
            await check(store)
    asyncio.run(go())


@pytest.mark.parametrize("kind", ADAPTERS)
def test_bids_decided_ahead_of_appends_in_flight_equal_serial_decisions_and_are_acknowledged_only_once_durable(  # noqa: E501
        kind: str, request: pytest.FixtureRequest) -> None:
    @settings(max_examples=SETTINGS[kind], deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow,
                                     HealthCheck.function_scoped_fixture])
    @given(commands=commands_st, gaps=turns_st, pauses=turns_st)
    def example(commands: list[tuple[int, int]], gaps: list[int], pauses: list[int]) -> None:
        async def check(store: Store) -> None:
            lot_id, clock = f"P{next(_lots)}", Clock()
            async with store.engine(clock) as engine:
                await open_lot(engine, lot_id, bidders=3)
                before = await engine.history(lot_id)
                problems = watch_durability(store, engine, lot_id)
                held(engine, pauses)
                results = await bids(store, engine, lot_id, commands, gaps)
                unwrap_appends(engine)
                history = await engine.history(lot_id)
                assert problems == []
            assert results == serially(lot_id, before, commands, clock.t)
            assert_one_order(lot_id, history)
            acknowledged = [r for result in results if isinstance(result, list)
                            for r in result]
            assert history[len(before):] == acknowledged
            async with store.engine(clock) as again:  # acknowledged == read after restart
                assert await again.history(lot_id) == history
        run_with(kind, request, check)
    example()


@pytest.mark.parametrize("kind", ADAPTERS)
def test_a_failed_append_is_never_acknowledged_and_the_lot_goes_on_from_what_is_durable(
        kind: str, request: pytest.FixtureRequest) -> None:
    @settings(max_examples=SETTINGS[kind], deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow,
                                     HealthCheck.function_scoped_fixture])
    @given(commands=commands_st, gaps=turns_st, pauses=turns_st,
           faults=st.lists(st.sampled_from(["ok", "lost", "landed"]), max_size=8))
    def example(commands: list[tuple[int, int]], gaps: list[int], pauses: list[int],
                faults: list[str]) -> None:
        async def check(store: Store) -> None:
            lot_id, clock = f"F{next(_lots)}", Clock()
            async with store.engine(clock) as engine:
                await open_lot(engine, lot_id, bidders=3)
                before = len(await engine.history(lot_id))
                problems = watch_durability(store, engine, lot_id)
                held(engine, pauses, faults)
                results = await bids(store, engine, lot_id, commands, gaps)
                unwrap_appends(engine)  # the appends are the adapter's own again
                async with asyncio.timeout(15):  # a log that stopped resumes by itself
                    while await engine.readiness():
                        await asyncio.sleep(0.02)
                # The lot goes on: the next bid is decided on what is durable (a bid
                # decided on a state that lacks an append which landed unconfirmed is
                # stale: decided again after reading it, so at most once refused).
                for attempt in range(2):
                    state = engine.lot(lot_id)
                    assert state is not None
                    top = state.best if state.best is not None else 9000
                    bidder = next(f"B{i}" for i in range(3) if state.leader != f"B{i}")
                    going_on = await engine.execute(lot_id, PlaceBid(bidder_id=bidder,
                                                                     amount=top + 1000))
                    if isinstance(going_on, list):
                        break
                    assert attempt == 0 and "landed" in faults, going_on
                history = await engine.history(lot_id)
                assert problems == []
                assert engine.lot(lot_id) == replay(r.event for r in history)
            assert_one_order(lot_id, history)
            acknowledged = [r for result in results if isinstance(result, list)
                            for r in result]
            assert ({(r.seq, r.hash) for r in acknowledged}
                    <= {(r.seq, r.hash) for r in history[before:]})
            async with store.engine(clock) as again:
                assert await again.history(lot_id) == history
        run_with(kind, request, check)
    example()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_reader_beside_the_writer_leaves_its_landed_unconfirmed_append_to_it(
        kind: str, request: pytest.FixtureRequest) -> None:
    """A subscription starting to follow the lot (its catch-up reads the shared log)
    while the writer's append has landed and is not yet confirmed to it: the rows are
    published once, by the writer, and the listener gets each once, in order."""
    url = request.getfixturevalue("redis_server").url if kind == "redis" else ""
    lot_id = f"W{next(_lots)}"
    async with Runtime(MemoryLog(shared=True) if kind == "memory" else RedisLog(url),
                       Clock()) as engine:
        await open_lot(engine, lot_id, bidders=2)
        landed, release = asyncio.Event(), asyncio.Event()
        real = engine.log.append

        async def append(lot_id: str, expected_seq: int, rows: Sequence[Row],
                         **kw: Any) -> bool:
            durable = await real(lot_id, expected_seq, rows, **kw)
            landed.set()
            await release.wait()
            return durable
        wrap_appends(engine, append)
        bid = asyncio.ensure_future(engine.execute(lot_id, PlaceBid(bidder_id="B0",
                                                                    amount=20000)))
        await landed.wait()
        told: list[int] = []
        joining = asyncio.ensure_future(engine.subscribe(
            lot_id, lambda state, records: told.extend(r.seq for r in records), after_seq=0))
        while engine.metrics.feed_lots == 0 or not engine._feeds[lot_id].done():
            await asyncio.sleep(0.01)  # the subscription has read the log
        release.set()
        assert isinstance(await bid, list)
        await joining
        unwrap_appends(engine)
        assert isinstance(await engine.execute(lot_id, PlaceBid(bidder_id="B1",
                                                                amount=21000)), list)
        history = await engine.history(lot_id)
        assert [r.seq for r in history] == list(range(1, len(history) + 1))
        assert told == [r.seq for r in history]
        assert engine.lot(lot_id) == replay(r.event for r in history)


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_two_writers_racing_for_one_lot_keep_one_order_and_acknowledge_only_what_landed(
        kind: str, request: pytest.FixtureRequest) -> None:
    """Two engines (two processes) on one shared log bid on the same lot at once: each
    stale append reads what the other appended and decides again."""
    url = request.getfixturevalue("redis_server").url if kind == "redis" else ""
    shared = MemoryLog(shared=True)
    clock = Clock()

    def log() -> EventLog:
        return shared if kind == "memory" else RedisLog(url)
    lot_id = f"R{next(_lots)}"
    async with Runtime(log(), clock) as one:
        await open_lot(one, lot_id, bidders=4)
        async with Runtime(log(), clock) as two:
            assert await two.history(lot_id) == await one.history(lot_id)
            sent = [(engine, f"B{i % 4}", 10000 + 1000 * i)
                    for i, engine in zip(range(40), itertools.cycle([one, two]))]
            results = await asyncio.gather(*(engine.execute(lot_id, PlaceBid(
                bidder_id=bidder, amount=amount)) for engine, bidder, amount in sent))
            await one.execute(lot_id, PlaceBid(bidder_id="B0", amount=1))  # catch up
            await two.execute(lot_id, PlaceBid(bidder_id="B0", amount=1))
            history = await one.history(lot_id)
            assert await two.history(lot_id) == history
            assert one.lot(lot_id) == two.lot(lot_id) == replay(r.event for r in history)
    assert_one_order(lot_id, history)
    acknowledged = [r for result in results if isinstance(result, list) for r in result]
    seqs = [r.seq for r in acknowledged]
    assert len(seqs) == len(set(seqs))
    assert {(r.seq, r.hash) for r in acknowledged} <= {(r.seq, r.hash) for r in history}
    accepted = [r.event.amount for r in history if type(r.event).__name__ == "BidAccepted"]
    assert accepted == sorted(accepted) and len(accepted) == len(
        [r for r in acknowledged if type(r.event).__name__ == "BidAccepted"])


async def test_an_engine_on_the_memory_log_keeps_nothing_but_serves_like_the_others() -> None:
    """The in-memory adapter is a full event log: a restart on the same log reads back."""
    log = MemoryLog()
    async with Runtime(log, Clock()) as engine:
        await open_lot(engine, "M1")
        ok = await engine.execute("M1", PlaceBid(bidder_id="B0", amount=10000))
        assert isinstance(ok, list)
        history = await engine.history("M1")
    async with Runtime(log, Clock()) as again:
        assert await again.history("M1") == history
    assert [r.seq for r in await log.read("M1", 0)] == [r.seq for r in history]
    loaded = await log.load()  # the snapshot kept when the engine left: nothing to fold
    assert loaded.snapshots["M1"].seq == history[-1].seq and loaded.lots["M1"] == []


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_every_command_is_decided_when_it_arrives_while_the_lot_s_append_is_in_flight(
        kind: str, request: pytest.FixtureRequest) -> None:
    """Not only deadlines: a bid that arrives while the previous bid is being appended is
    decided at once, on the state after it (its time is its arrival), and acknowledged
    only after that append and its own are durable."""
    url = request.getfixturevalue("redis_server").url if kind == "redis" else ""
    async with store_of(kind, url) as store:
        clock, lot_id = Clock(), f"A{next(_lots)}"
        async with store.engine(clock) as engine:
            await open_lot(engine, lot_id)
            real, release = engine.log.append, asyncio.Event()
            entered = asyncio.Event()

            async def append(lot: str, expected: int, rows: Sequence[Row], **kw: Any) -> bool:
                entered.set()
                await release.wait()
                return await real(lot, expected, rows, **kw)
            wrap_appends(engine, append)
            first = asyncio.ensure_future(engine.execute(lot_id, PlaceBid(
                bidder_id="B0", amount=10000)))
            await asyncio.wait_for(entered.wait(), 5)
            arrived = clock.t = clock.t + 5
            second = asyncio.ensure_future(engine.execute(lot_id, PlaceBid(
                bidder_id="B1", amount=11000)))
            outbid = asyncio.ensure_future(engine.execute(lot_id, PlaceBid(
                bidder_id="B0", amount=10500)))
            for _ in range(20):
                await asyncio.sleep(0)
            assert not (first.done() or second.done() or outbid.done())
            durable = store.durable(lot_id)
            clock.t += 500  # the append takes long
            release.set()
            one, two, three = await asyncio.gather(first, second, outbid)
            unwrap_appends(engine)
        assert isinstance(one, list) and isinstance(two, list)
        assert two[0].event.at == arrived and two[0].seq == one[-1].seq + 1
        assert durable < one[-1].seq  # it was not durable while the second was decided
        # Decided on the state after the first bid and the second: below the best.
        assert isinstance(three, Rejection), three


def test_a_state_decided_ahead_does_not_share_the_nonces_of_the_durable_one() -> None:
    """Signed bids decided ahead on a clone use their nonces there only: if that batch is
    decided again, the durable state has not seen them (else they would be refused as
    replays)."""
    from rules.support import Lot, cny, english

    from auction.model import EnrollKey
    from engine.pipeline import clone
    from engine.signatures import Signer

    lot, signer = Lot(english(signatures="optional")), Signer.ecdsa_p256()
    lot.open("a", "b")
    lot.accept(EnrollKey(bidder_id="a", alg=signer.alg, key=signer.key))

    def signed_bid(amount: str) -> PlaceBid:
        signed = signer.signed(lot.s.lot_id, "Na", "bid", cny(amount), lot.s.version)
        return PlaceBid(bidder_id="a", amount=cny(amount), signed=signed)

    lot.accept(signed_bid("100.00"))
    lot.take("b", "110.00")  # b has no key: it bids unsigned
    durable, ahead = lot.s, signed_bid("120.00")
    twin = clone(durable)
    assert twin is not None
    decision = decide(twin, ahead, lot.now)
    assert not isinstance(decision, Rejection), decision
    for event in decision:
        evolve(twin, event)
    assert ahead.signed is not None
    assert ahead.signed["nonce"] in twin.bidders["a"].nonces
    assert ahead.signed["nonce"] not in durable.bidders["a"].nonces
    assert len(durable.bidders["a"].nonces) == 1


class Injected(Exception):
    """A fault of the rules or of the host, injected by a test."""


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_fault_of_the_rules_or_the_host_fails_its_commands_and_the_lot_goes_on(
        kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug must cost the commands it touches an answer of failure, never the lot its
    writer or the other senders their answers: the rules raising while deciding one bid,
    or while folding another's events (after changing the state in place), and the host
    raising while publishing a durable batch. Bids arrive while appends are held, so the
    faults land in batches decided ahead as well as at the head."""
    import engine.pipeline as pipeline
    from auction.model import BidAccepted

    url = request.getfixturevalue("redis_server").url if kind == "redis" else ""
    real_decide, real_evolve = pipeline.decide, pipeline.evolve

    def decide_faulty(state: Any, command: Any, now: int) -> Any:
        if isinstance(command, PlaceBid) and command.amount == 13000:
            raise Injected("deciding")
        return real_decide(state, command, now)

    def evolve_faulty(state: Any, event: Any) -> Any:
        after = real_evolve(state, event)  # the state is changed, then the rules fail
        if isinstance(event, BidAccepted) and event.amount == 15000:
            raise Injected("folding")
        return after
    monkeypatch.setattr(pipeline, "decide", decide_faulty)
    monkeypatch.setattr(pipeline, "evolve", evolve_faulty)
    async with store_of(kind, url) as store:
        clock, lot_id = Clock(), f"X{next(_lots)}"
        async with store.engine(clock) as engine:
            await open_lot(engine, lot_id)
            before = await engine.history(lot_id)
            held(engine, [3])
            amounts = [11000, 12000, 13000, 14000, 15000, 16000, 17000]
            bidders = ["B0", "B1", "B0", "B0", "B1", "B1", "B0"]  # alternating, but faults
            tasks = []
            for i, (amount, bidder) in enumerate(zip(amounts, bidders, strict=True)):
                tasks.append(asyncio.ensure_future(engine.execute(lot_id, PlaceBid(
                    bidder_id=bidder, amount=amount, ref=f"r{i}"))))
                await asyncio.sleep(0)
            async with asyncio.timeout(10):  # every sender is answered
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            faulty = {a: o for a, o in zip(amounts, outcomes, strict=True)
                      if isinstance(o, Injected)}
            assert {a: str(o) for a, o in faulty.items()} == {13000: "deciding",
                                                              15000: "folding"}
            accepted = [a for a, o in zip(amounts, outcomes, strict=True) if a not in faulty]
            assert [o for o in outcomes if not isinstance(o, (list, Injected))] == []
            history = await engine.history(lot_id)
            assert [r.event.amount for r in history[len(before):]] == accepted
            assert engine.lot(lot_id) == replay(r.event for r in history)

            # The host fails to publish a durable batch once: its senders get the fault,
            # the lot is read again from the log (the bid is there) and goes on.
            real_published, calls = engine.published, itertools.count()

            def published(*args: Any) -> None:
                if next(calls) == 0:
                    raise Injected("publishing")
                real_published(*args)
            engine.published = published  # type: ignore[method-assign]
            with pytest.raises(Injected, match="publishing"):
                await engine.execute(lot_id, PlaceBid(bidder_id="B1", amount=18000))
            going_on = await engine.execute(lot_id, PlaceBid(bidder_id="B0", amount=19000))
            assert isinstance(going_on, list), going_on
            history = await engine.history(lot_id)
            assert [r.event.amount for r in history[-2:]] == [18000, 19000]
            assert engine.lot(lot_id) == replay(r.event for r in history)
            assert_one_order(lot_id, history)
            del engine.published
            unwrap_appends(engine)
        async with store.engine(clock) as again:
            assert await again.history(lot_id) == history
