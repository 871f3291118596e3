"""What every backend shares: per-lot queues with one writer task, listeners, timers.

A backend subclasses :class:`Runtime` and implements :meth:`Runtime._commit_batch`
(decide the queued commands, make their events durable, then call
:meth:`Runtime._published`) plus start/close and sessions.
"""

import abc
import asyncio
import contextvars
import copy
import dataclasses
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable

import orjson

from auction.draw import commitment
from auction.errors import RecordError
from auction.lot import decide, evolve, next_deadline
from auction.model import (
    Act,
    Command,
    CreateLot,
    PlaceBid,
    RegisterBidder,
    Rejection,
    StartLot,
    Tick,
)
from auction.record import GENESIS, Recorded, chain, event_from_dict, seal
from auction.state import LotState
from engine.api import (
    Engine,
    EngineError,
    Listener,
    Quarantined,
    Session,
    Subscription,
    UnknownLot,
)
from engine.metrics import EngineMetrics
from engine.sessions import SessionCoordinator

log = logging.getLogger(__name__)

#: Most commands of one lot decided into one commit.
MAX_BATCH = 512
#: How often the clock watchdog compares the wall clock with the monotonic clock (s).
CLOCK_CHECK_S = 1.0
#: A disagreement larger than this (ms) counts as a jump of the wall clock.
CLOCK_JUMP_MS = 500


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def draw_bidder_no(taken: int) -> str:
    """A random bidder number, never derived from registration order: 4 digits while the
    lot is small, 6 when it is large (so a free number is quick to find)."""
    if taken < 3000:
        return str(1000 + secrets.randbelow(9000))
    return str(100000 + secrets.randbelow(900000))


Result = list[Recorded] | Rejection


def read_back(lot_id: str, rows: Iterable[tuple[int, str, str]], after_seq: int = 0,
              prev_hash: str = GENESIS) -> list[Recorded]:
    """The records of a store's ``(seq, body, hash)`` rows, numbered on from ``after_seq``
    whose hash was ``prev_hash``: what every backend reads at start, when following and
    from the permanent record. Raises :class:`RecordError` for the first row out of
    sequence, whose hash does not hold or whose body is not an event."""
    records: list[Recorded] = []
    for seq, body, digest in rows:
        after_seq += 1
        if seq != after_seq:
            raise RecordError(f"event {after_seq} is missing (found {seq!r})")
        if chain(prev_hash, lot_id, seq, body) != digest:
            raise RecordError(f"event {seq} does not match its hash")
        try:
            event = event_from_dict(orjson.loads(body))
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"event {seq} is not JSON: {exc}") from None
        except RecordError as exc:
            raise RecordError(f"event {seq}: {exc.message}") from None
        records.append(Recorded(lot_id, seq, event, digest, body))
        prev_hash = digest
    return records


def clone(state: LotState | None) -> LotState | None:
    """A copy of ``state`` that evolving does not share with the original."""
    if state is None:
        return None
    twin = copy.copy(state)
    twin.bidders = {k: copy.copy(b) for k, b in state.bidders.items()}
    for bidder in twin.bidders.values():
        bidder.own = list(bidder.own)
    twin.numbers = dict(state.numbers)
    twin.bids = list(state.bids)
    twin.outcome = copy.copy(state.outcome)
    # A format's own state may be changed in place by its events (auction.formats).
    twin.play = copy.deepcopy(state.play)
    return twin


class Waiter:
    __slots__ = ("command", "future")

    def __init__(self, command: Command, future: "asyncio.Future[Result]") -> None:
        self.command = command
        self.future = future


class Ahead:
    """A batch decided while the lot's previous batch was being made durable
    (:meth:`Runtime._due_in_flight`): its commands, results, state after and records, and
    the store's write of them if the backend started it already."""

    __slots__ = ("batch", "results", "state", "fresh", "stored")

    def __init__(self, batch: list[Waiter], results: list[Result], state: LotState | None,
                 fresh: list[Recorded], stored: "asyncio.Future[None] | None" = None) -> None:
        self.batch, self.results, self.state = batch, results, state
        self.fresh, self.stored = fresh, stored


def answer(batch: list[Waiter], results: list[Result]) -> None:
    """Resolve each waiter of ``batch`` with its result."""
    for waiter, result in zip(batch, results, strict=True):
        if not waiter.future.done():
            waiter.future.set_result(result)


def fail_waiters(batch: list[Waiter], exc: Exception) -> None:
    """Fail each waiter of ``batch``: nothing of it was stored."""
    for waiter in batch:
        if not waiter.future.done():
            waiter.future.set_exception(EngineError(f"not stored: {exc}"))


class Lot:
    """A lot's runtime: its state, durable records, queue, listeners and timer."""

    def __init__(self, lot_id: str) -> None:
        self.lot_id = lot_id
        self.state: LotState | None = None
        self.records: list[Recorded] = []
        self.last_hash = GENESIS
        self.queue: deque[Waiter] = deque()
        self.listeners: list[Listener] = []
        self.joining: list[tuple[Listener, int | None, asyncio.Future[None]]] = []
        self.writer: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.deadline: int | None = None
        #: The state after the batch whose events are being made durable, and its last
        #: hash, while that lasts (set by the backends' commits).
        self.inflight: tuple[LotState, str] | None = None
        #: A batch decided ahead of the one in flight (:meth:`Runtime._due_in_flight`), to
        #: be published and answered after it.
        self.ahead: Ahead | None = None

    @property
    def version(self) -> int:
        return self.records[-1].seq if self.records else 0


class _Subscription(Subscription):
    def __init__(self, lot: Lot, listener: Listener) -> None:
        self._lot, self._listener = lot, listener

    def close(self) -> None:
        if self._listener in self._lot.listeners:
            self._lot.listeners.remove(self._listener)


class Runtime(Engine):
    """The shared machinery of the backends."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._clock = clock or wall_clock_ms
        #: The latest time :meth:`now` has given: the engine's clock never goes back.
        self._high_water = 0
        self._watchdog: asyncio.Task[None] | None = None
        self._lots: dict[str, Lot] = {}
        self._closing = False
        self._failed: str | None = None
        #: Lots whose record could not be read back (:meth:`_quarantine`), with why.
        self._quarantined: dict[str, str] = {}
        self._ticks: set[asyncio.Task[object]] = set()
        #: The key each lot's draw seed is derived from (:meth:`seed_of`). A backend
        #: replaces it at start with one that survives restarts and is shared by every
        #: process of a deployment; this one is for an engine that is never restarted.
        self.draw_key = secrets.token_bytes(32)
        #: Runs the closing modes of sessions (serial, staggered); a backend calls its
        #: ``start`` once its lots and sessions are loaded.
        self._coordinator = SessionCoordinator(self, self._session)
        self.metrics = EngineMetrics()

    # ----------------------------------------------------------------- reads

    def now(self) -> int:
        """The wall clock, but never earlier than a time already given: after the wall
        clock steps back, the engine's time stands still until the wall clock catches up,
        so nothing decided "closed" can later be decided "open" and event times in the
        record never go backwards."""
        now = self._clock()
        if now < self._high_water:
            return self._high_water
        self._high_water = now
        return now

    def _session(self, session_id: str) -> Session | None:
        """The session ``session_id`` as this process knows it (backends index them)."""
        return next((s for s in self.sessions() if s.session_id == session_id), None)

    def lot(self, lot_id: str) -> LotState | None:
        lot = self._lots.get(lot_id)
        return lot.state if lot is not None else None

    def quarantined(self) -> dict[str, str]:
        return dict(self._quarantined)

    def _quarantine(self, lot_id: str, reason: str) -> None:
        """Set the lot apart: its record could not be read back. Every other lot goes on;
        this one keeps nothing in memory, refuses its commands and reads, and has no
        deadline armed."""
        if lot_id not in self._quarantined:
            log.error("lot %s quarantined: its record cannot be read back: %s", lot_id,
                      reason)
        self._quarantined[lot_id] = reason
        lot = self._lots.setdefault(lot_id, Lot(lot_id))
        lot.state, lot.records, lot.listeners = None, [], []
        if lot.timer is not None:
            lot.timer.cancel()
            lot.timer = None
        lot.deadline = None

    def lot_ids(self) -> list[str]:
        return [lot_id for lot_id, lot in self._lots.items() if lot.state is not None]

    async def history(self, lot_id: str, after_seq: int = 0) -> list[Recorded]:
        return self._get(lot_id).records[max(after_seq, 0):]

    def _get(self, lot_id: str) -> Lot:
        if lot_id in self._quarantined:
            raise Quarantined(lot_id, self._quarantined[lot_id])
        lot = self._lots.get(lot_id)
        if lot is None or (lot.state is None and not lot.queue and lot.writer is None):
            raise UnknownLot(lot_id)
        return lot

    # ----------------------------------------------------------------- writes

    async def register_bidder(self, lot_id: str, bidder_id: str, name: str,
                              actor: str, reason: str = "") -> Result:
        for _ in range(50):
            state = self.lot(lot_id)
            taken = len(state.numbers) if state is not None else 0
            result = await self.execute(lot_id, RegisterBidder(
                bidder_id=bidder_id, bidder_no=draw_bidder_no(taken), name=name, actor=actor,
                reason=reason))
            if not (isinstance(result, Rejection) and result.code == "number_taken"):
                return result
        raise EngineError("no free bidder number found")

    def seed_of(self, lot_id: str) -> str:
        """The lot's secret draw seed: HMAC-SHA256 of the lot id under :attr:`draw_key`,
        the same in every process and after every restart, unknown to anyone without the
        key until a draw reveals it (RULES.md: commit when the lot opens, reveal at the
        draw)."""
        return hmac.new(self.draw_key, lot_id.encode(), hashlib.sha256).hexdigest()

    async def execute(self, lot_id: str, command: Command) -> Result:
        if isinstance(command, (PlaceBid, Act)):
            started = time.perf_counter()
            result = await self._execute(lot_id, command)
            self.metrics.ack_seconds.observe(time.perf_counter() - started)
            return result
        return await self._execute(lot_id, command)

    async def _execute(self, lot_id: str, command: Command) -> Result:
        self._check_open()
        for target in (lot_id, command.lot_id if isinstance(command, CreateLot) else lot_id):
            if target in self._quarantined:
                return Rejection("quarantined", self._quarantined[target])
        if isinstance(command, (Tick, StartLot)):
            seed = self.seed_of(lot_id)
            command = dataclasses.replace(command, seed=seed, seed_hash=commitment(seed))
        if isinstance(command, CreateLot):
            lot = self._lots.setdefault(command.lot_id, Lot(command.lot_id))
        else:
            lot = self._get(lot_id)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        lot.queue.append(Waiter(command, future))
        if lot.writer is None:
            # The writer serves every sender of the lot: it runs in a context of its own,
            # not in that of the request that happened to start it (its log lines).
            lot.writer = asyncio.create_task(self._write(lot), context=contextvars.Context())
        elif isinstance(command, Tick) and lot.inflight is not None:
            self._due_in_flight(lot)
        return await future

    def _decide(self, lot: Lot, state: LotState | None, last_hash: str, batch: list[Waiter],
                *, in_place: bool = False
                ) -> tuple[LotState | None, list[Recorded], list[Result]]:
        """Decide ``batch`` in order on ``state`` (folded in place; ``lot.state`` follows
        it when ``in_place``), sealing after ``last_hash``: the state after, the sealed
        records, and each command's result."""
        results: list[Result] = []
        fresh: list[Recorded] = []
        for waiter in batch:
            if self._failed is not None:
                results.append(Rejection("unavailable", self._failed))
                continue
            decision = decide(state, waiter.command, self.now())
            if isinstance(decision, Rejection):
                results.append(decision)
                continue
            first = state.version + 1 if state is not None else 1
            try:
                sealed = seal(lot.lot_id, first, fresh[-1].hash if fresh else last_hash,
                              decision)
            except RecordError as exc:  # it could not be read back: record nothing
                results.append(Rejection("invalid_input", exc.message))
                continue
            for record in sealed:
                state = evolve(state, record.event)
            if in_place:
                lot.state = state
            fresh.extend(sealed)
            results.append(sealed)
        return state, fresh, results

    def _due_in_flight(self, lot: Lot) -> None:
        """A deadline's :class:`Tick` was queued while the lot's batch in flight is being
        made durable (``lot.inflight``). A backend may decide what is queued right away,
        ahead of that batch's durability (engine.embedded, engine.redis_engine); by
        default it waits."""

    def _check_open(self) -> None:
        if self._closing:
            raise EngineError("the engine is shutting down")
        if self._failed is not None:
            raise EngineError(f"the engine stopped after a store failure: {self._failed} "
                              "(it resumes by itself once the store works again)")

    def _runtime_reasons(self) -> dict[str, str]:
        """The reasons for :meth:`readiness` that every backend shares."""
        reasons: dict[str, str] = {}
        if self._closing:
            reasons["engine"] = "the engine is shutting down"
        if self._failed is not None:
            reasons["store"] = (f"the store cannot be written ({self._failed}); commands "
                                "are refused until a retry succeeds")
        return reasons

    async def _write(self, lot: Lot) -> None:
        """The lot's single writer in this process: runs while commands are queued."""
        try:
            while lot.queue:
                batch: list[Waiter] = []
                while lot.queue and len(batch) < MAX_BATCH:
                    batch.append(lot.queue.popleft())
                try:
                    await self._commit_batch(lot, batch)
                except Exception as exc:
                    log.exception("commit of %s failed", lot.lot_id)
                    for waiter in batch:
                        if not waiter.future.done():
                            waiter.future.set_exception(
                                exc if isinstance(exc, EngineError) else EngineError(str(exc)))
                self._admit_subscribers(lot)
                self._arm(lot)
        finally:
            lot.writer = None
            if lot.state is None and not lot.queue:  # a refused CreateLot leaves nothing
                self._lots.pop(lot.lot_id, None)

    @abc.abstractmethod
    async def _commit_batch(self, lot: Lot, batch: list[Waiter]) -> None:
        """Decide ``batch`` in order, make the events durable, call :meth:`_published`,
        and resolve every waiter's future."""

    def _published(self, lot: Lot, state: LotState, records: list[Recorded]) -> None:
        """Durable ``records`` (continuing the lot's sequence) and the state after them:
        keep them and tell the listeners."""
        lot.state = state
        lot.records.extend(records)
        lot.last_hash = records[-1].hash
        for listener in list(lot.listeners):
            self._notify(listener, state, records)
        self._coordinator.committed(state)

    @staticmethod
    def _notify(listener: Listener, state: LotState, records: list[Recorded]) -> None:
        try:
            listener(state, records)
        except Exception:  # one broken listener must not stop the lot or the others
            log.exception("listener failed")

    # ----------------------------------------------------------------- fan-out

    async def subscribe(self, lot_id: str, listener: Listener,
                        after_seq: int | None = None) -> Subscription:
        lot = self._get(lot_id)
        if lot.writer is None:
            self._join(lot, listener, after_seq)
        else:  # a commit is in flight: join right after it, when state == durable record
            joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            lot.joining.append((listener, after_seq, joined))
            await joined
        return _Subscription(lot, listener)

    def _join(self, lot: Lot, listener: Listener, after_seq: int | None) -> None:
        if after_seq is not None and lot.state is not None:
            self._notify(listener, lot.state, lot.records[max(after_seq, 0):])
        lot.listeners.append(listener)

    def _admit_subscribers(self, lot: Lot) -> None:
        joining, lot.joining = lot.joining, []
        for listener, after_seq, joined in joining:
            self._join(lot, listener, after_seq)
            if not joined.done():
                joined.set_result(None)

    # ----------------------------------------------------------------- timers

    def _arm(self, lot: Lot) -> None:
        deadline = next_deadline(lot.state) if lot.state is not None else None
        if deadline == lot.deadline and lot.timer is not None:
            return
        if lot.timer is not None:
            lot.timer.cancel()
            lot.timer = None
        lot.deadline = deadline
        if deadline is None or self._closing:
            return
        # The raw wall clock, not now(): after a backward step now() stands still and
        # would make the timer wake again and again until the wall clock catches up.
        delay = max(0.0, (deadline - self._clock()) / 1000)
        loop = asyncio.get_running_loop()
        lot.timer = loop.call_later(delay, self._fire, lot)
        if self._watchdog is None:
            self._watchdog = loop.create_task(self._watch_clock())

    def _fire(self, lot: Lot) -> None:
        lot.timer = None
        if self._closing or self._failed is not None:
            return
        if lot.deadline is not None and self.now() < lot.deadline:
            lot.deadline = None  # woke early (clock granularity): re-arm for the rest
            self._arm(lot)
            return
        lot.deadline = None
        self.fire_soon(lot.lot_id)

    def fire_soon(self, lot_id: str) -> None:
        """Decide a :class:`Tick` for the lot in the background (deadlines due now)."""
        task = asyncio.create_task(self._tick(lot_id), context=contextvars.Context())
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)

    async def _watch_clock(self) -> None:
        """Timers wait on the monotonic clock, deadlines are wall-clock times: when the
        wall clock jumps (an operator, a VM resumed, NTP stepping), re-arm every timer
        from the new wall time so that deadlines now due fire at once."""
        loop = asyncio.get_running_loop()
        wall, mono = self._clock(), loop.time()
        while True:
            await asyncio.sleep(CLOCK_CHECK_S)
            expected = wall + (loop.time() - mono) * 1000
            wall, mono = self._clock(), loop.time()
            if abs(wall - expected) > CLOCK_JUMP_MS:
                log.warning("the wall clock jumped by %+d ms: re-arming every deadline",
                            wall - expected)
                for lot in list(self._lots.values()):
                    lot.deadline = None
                    self._arm(lot)

    async def _tick(self, lot_id: str) -> None:
        try:
            await self.execute(lot_id, Tick())
        except EngineError as exc:
            log.warning("deadline of %s not fired: %s", lot_id, exc)

    async def _stop_runtime(self) -> None:
        """Stop timers and wait for every writer and tick to finish."""
        self._closing = True
        await self._coordinator.stop()
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        for lot in self._lots.values():
            if lot.timer is not None:
                lot.timer.cancel()
        writers = [lot.writer for lot in self._lots.values() if lot.writer is not None]
        await asyncio.gather(*writers, *self._ticks, return_exceptions=True)
