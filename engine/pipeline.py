"""The per-lot writer: decide → seal → append → publish, with sequence barriers.

One writer task per lot, written once for every backend; it knows the event-log port
(:class:`engine.eventlog.EventLog`) and the engine that hosts it (:class:`Host`), never
an adapter.

* **Decide.** Queued commands are decided in order against the lot's tip: the state
  after the last batch decided. A rejection is a result, not an event.
* **Seal.** Each decision's events are numbered gap-free and chained; an event the
  record could not read back is refused (``invalid_input``) and nothing of it is kept.
* **Append.** A batch's rows go to the log with the sequence number they continue
  (``expected_seq``): one append of a lot at a time, the next after the previous one's
  outcome, so the log's check holds the lot's total order.
* **Decide ahead.** While a batch is being appended, every command that arrives is
  decided at once, on a copy of the state after that batch (the batch *ahead*, extended
  as commands arrive, up to :data:`MAX_BATCH`): a close is sequenced when it falls due,
  and the next append is ready when the log answers.
* **Publish.** Only when a batch's append is durable are its records kept, its listeners
  called and its commands answered, in order; then the batch ahead is appended.
* **Barriers.** A stale append (another writer appended first) reads what it missed and
  decides its batch again; a failed append (outcome unknown) fails its commands. What
  was decided ahead on top of either is decided again, never answered; on a log that
  stops after a failure (:attr:`EventLog.fail_stop`) it fails with it.
"""

import asyncio
import contextvars
import copy
import logging
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from auction.errors import RecordError
from auction.lot import decide, evolve, next_deadline
from auction.model import Command, Rejection
from auction.record import GENESIS, Recorded, seal
from auction.state import ENDED, LotState
from engine import signatures  # noqa: F401 (registers the signature algorithms with the rules)
from engine.api import EngineError, Listener
from engine.eventlog import (
    AppendFailed,
    AppendRefused,
    EventLog,
    LogUnavailable,
    Row,
    row_of,
)
from engine.loops import running
from engine.snapshots import UNKNOWN_DEADLINE, SnapshotError, decode_state, due, take

log = logging.getLogger(__name__)

#: Most commands of one lot decided into one batch.
MAX_BATCH = 512
#: Stale appends of one lot in a row (other processes appending first) before the
#: commands of the batch are failed as too contended.
MAX_ATTEMPTS = 50

Result = list[Recorded] | Rejection


class NotAppended(EngineError):
    """The command's batch was refused by the log with nothing written
    (:class:`AppendRefused`): the command may be sent again, elsewhere."""


def clone(state: LotState | None) -> LotState | None:
    """A copy of ``state`` that evolving does not share with the original."""
    if state is None:
        return None
    twin = copy.copy(state)
    # The bidders themselves are shared until the rules change one (LotState.changing
    # copies it first): a lot of 1,000 bidders costs a map, not 1,000 copies.
    twin.bidders = dict(state.bidders)
    twin.shared = set(state.bidders)
    twin.numbers = dict(state.numbers)
    twin.bids = list(state.bids)
    twin.outcome = copy.copy(state.outcome)
    # A format's own state, and a late reserve's witnessing, may be changed in place by
    # their events (auction.formats, auction.witnessed).
    twin.play = copy.deepcopy(state.play)
    twin.witnessed = copy.deepcopy(state.witnessed)
    return twin


class Waiter:
    __slots__ = ("command", "future")

    def __init__(self, command: Command, future: "asyncio.Future[Result]") -> None:
        self.command = command
        self.future = future


class Wake:
    """What a lot's writer waits on: set when a command is queued or an append has its
    outcome. ``asyncio.Event``'s set, clear and wait for the one waiter it has (the
    writer), given the loop instead of asking for the running one at each wait
    (:mod:`engine.loops`), and without a queue of waiters per lot."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until :meth:`set` (at once if it is set)."""
        if self._set:
            return
        self._waiter = waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None


class Batch:
    """Commands decided together on the state after ``base`` (hash ``base_hash``): their
    results, the state after them, their sealed records, and their append once made."""

    __slots__ = ("waiters", "results", "state", "owned", "fresh", "rows", "base",
                 "base_hash", "append", "epoch", "broken")

    def __init__(self, state: LotState | None, base: int, base_hash: str,
                 owned: bool = True) -> None:
        self.waiters: list[Waiter] = []
        #: One per waiter: its records, its rejection, or the exception its deciding
        #: raised (a fault of the rules, raised to the sender; see Pipeline._decide).
        self.results: list[Result | Exception] = []
        self.state = state
        #: Whether ``state`` may be evolved in place; else (the state of the batch in
        #: flight, shared) it is copied before its first event: a batch of refusals
        #: copies nothing.
        self.owned = owned
        self.fresh: list[Recorded] = []
        #: The rows of :attr:`fresh`, made when the batch is sent (:meth:`Pipeline._send`).
        self.rows: list[Row] = []
        self.base, self.base_hash = base, base_hash
        self.append: asyncio.Future[bool] | None = None
        #: The fencing epoch the append was made under.
        self.epoch: int | None = None
        #: Set when the rules failed to fold an event onto ``state``: the batch holds
        #: nothing, and its state is not to be used (:meth:`Pipeline._decide`).
        self.broken = False

    @property
    def last(self) -> tuple[int, str]:
        """The sequence number and hash after this batch."""
        if self.fresh:
            return self.fresh[-1].seq, self.fresh[-1].hash
        return self.base, self.base_hash


class Lot:
    """A lot's runtime: its durable records and the state after them, its queue and
    batches in the writer, listeners and timer. Slots: an engine holds one per live
    lot, and one per ended lot recently used."""

    __slots__ = ("lot_id", "_state", "_lazy", "_lazy_deadline", "broken", "dirty", "records",
                 "base", "base_state", "base_hash", "last_hash", "queue", "listeners", "joining",
                 "writer", "wake", "inflight", "ahead", "stale", "unread", "synced",
                 "timer", "deadline", "summary", "_durable")

    def __init__(self, lot_id: str) -> None:
        self.lot_id = lot_id
        self._state: LotState | None = None
        #: A snapshot's text whose state is not decoded yet (:meth:`defer`), and that
        #: state's next deadline (:attr:`engine.snapshots.Snapshot.deadline`).
        self._lazy: str | None = None
        self._lazy_deadline = UNKNOWN_DEADLINE
        #: Set when that text turned out not to decode: the lot is to be read again
        #: from the log (and replayed from its events).
        self.broken = False
        #: The status and session id of the lot's durable state, as last published.
        self.summary: tuple[str, str] | None = None
        #: Whether :attr:`state` holds a batch decided in place and not yet durable.
        self.dirty = False
        #: The durable state kept for readers while a batch is decided in place
        #: (:meth:`readable`), brought up to date with the records that land after it.
        self._durable: LotState | None = None
        #: The durable records kept in memory: those after event :attr:`base` (the lot
        #: started from a snapshot of its state after it, or let older records go; they
        #: are read back from the log when asked for).
        self.records: list[Recorded] = []
        self.base = 0
        #: The encoded state after event :attr:`base` (see :mod:`engine.snapshots`).
        self.base_state: str | None = None
        #: The chain hash of event :attr:`base`.
        self.base_hash = GENESIS
        self.last_hash = GENESIS
        self.queue: deque[Waiter] = deque()
        self.listeners: list[Listener] = []
        self.joining: list[tuple[Listener, int | None, asyncio.Future[None],
                                 list[Recorded]]] = []
        self.writer: asyncio.Task[None] | None = None
        #: Set when a command is queued or an append has its outcome.
        self.wake = Wake()
        #: The batch whose append is under way, and the one decided ahead of it.
        self.inflight: Batch | None = None
        self.ahead: Batch | None = None
        self.stale = 0
        #: Set when rows of the lot may be in the log that were not read here, found
        #: while the writer ran: the writer reads them before it decides a new batch or
        #: goes idle (while it runs, only it publishes the lot's rows).
        self.unread = False
        #: The fencing epoch under which the log last confirmed that it holds exactly
        #: the lot's durable records (an append of this writer landed, or a check of its
        #: last sequence number); None when unknown since (an append's outcome unknown, a
        #: fault, another writer's append found). See :meth:`Pipeline._refusals`.
        self.synced: int | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.deadline: int | None = None

    @property
    def state(self) -> LotState | None:
        """The state after the lot's tip; the durable one unless :attr:`dirty`. A state
        deferred at start is decoded here, at its first use (None, and :attr:`broken`
        set, if it does not decode)."""
        if self._lazy is not None:
            text, self._lazy = self._lazy, None
            try:
                self._state = decode_state(text)
            except SnapshotError as exc:
                log.warning("lot %s: snapshot not used (%s): reading it again", self.lot_id,
                            exc)
                self.broken = True
        return self._state

    @state.setter
    def state(self, value: LotState | None) -> None:
        self._lazy, self._state = None, value

    def defer(self, text: str, deadline: int = UNKNOWN_DEADLINE) -> None:
        """Hold the state of snapshot ``text`` (the lot's base) undecoded until it is
        first used: a start need not decode the lots nobody asks for. ``deadline`` is
        the snapshot's (:attr:`engine.snapshots.Snapshot.deadline`)."""
        self._state, self._lazy, self._lazy_deadline = None, text, deadline

    def next_deadline(self) -> int | None:
        """The next deadline of the lot's state: the snapshot's while the state is
        deferred and its deadline known (nothing is decoded), else the state's own."""
        if self._lazy is not None and self._lazy_deadline != UNKNOWN_DEADLINE:
            return self._lazy_deadline or None  # (NO_DEADLINE: none)
        return next_deadline(self.state) if self.state is not None else None

    @property
    def deferred(self) -> bool:
        """Whether the lot's state is still a snapshot's text (:meth:`defer`)."""
        return self._lazy is not None

    @property
    def known(self) -> bool:
        """Whether the lot has a state (decoded or deferred), without decoding it."""
        return self._lazy is not None or self._state is not None

    def unused(self) -> bool:
        """Whether nothing holds the lot in memory: no records after :attr:`base` (an
        ended lot that let them go), nothing decided, queued, in flight or watching;
        it may then be dropped and read back from the log when next asked for."""
        return (self.base_state is not None and not self.records and not self.dirty
                and not self.listeners and not self.joining and self.writer is None
                and not self.queue)

    @property
    def version(self) -> int:
        return self.records[-1].seq if self.records else self.base

    def readable(self) -> LotState | None:
        """The lot's durable state, for readers: :attr:`state` unless a batch decided in
        it is not yet durable (:attr:`dirty`); then a copy of its own, folded from the
        lot's base once (:meth:`durable`) and afterwards only with the records that
        landed since it was last read, however often it is read."""
        if not self.dirty:
            if self._durable is not None and self._durable.status in ENDED:
                self._durable = None  # an ended lot is seldom written again
            return self.state
        kept = self._durable
        if kept is None or kept.version < self.base:  # none, or older than what memory holds
            kept = self.durable()
        else:
            for record in self.records[kept.version - self.base:]:
                kept = evolve(kept, record.event)
        self._durable = kept
        return kept

    def durable(self) -> LotState | None:
        """The lot's durable state, folded again: the state after :attr:`base` and the
        records after it."""
        state = decode_state(self.base_state) if self.base_state is not None else None
        for record in self.records:
            state = evolve(state, record.event)
        return state


def answer(waiters: list[Waiter], results: list[Result | Exception]) -> None:
    """Resolve each waiter with its result (raised, if it is an exception)."""
    for waiter, result in zip(waiters, results, strict=True):
        if waiter.future.done():
            continue
        if isinstance(result, Exception):
            waiter.future.set_exception(result)
        else:
            waiter.future.set_result(result)


def fail(waiters: Iterable[Waiter], exc: Exception) -> None:
    """Fail each waiter: nothing of its command was made durable."""
    for waiter in waiters:
        if not waiter.future.done():
            waiter.future.set_exception(exc)


class Host(Protocol):
    """What the writer needs of the engine that runs it (:class:`engine.runtime.Runtime`)."""

    def now(self) -> int:
        """The server clock (ms) that decides."""

    def unavailable(self) -> str | None:
        """Why commands are refused now (``unavailable``), or None."""

    def epoch(self, lot: Lot) -> int | None:
        """The fencing epoch this process appends to the lot under (None: unchecked)."""

    def exclusive(self, lot: Lot) -> bool:
        """Whether no other process can have appended to the lot since this one's epoch
        began: its lease is certainly still held (never on a log without ownership)."""

    def published(self, lot: Lot, state: LotState, records: list[Recorded]) -> None:
        """Durable ``records`` continuing the lot and the state after them: keep them and
        tell the listeners."""

    def appended(self, lot: Lot, rows: list[Row]) -> None:
        """This writer's append of ``rows`` is durable (after :meth:`published`)."""

    def append_failed(self, lot: Lot, exc: AppendFailed) -> None:
        """An append of the lot did not go through, or its outcome is unknown."""

    async def catch_up(self, lot: Lot) -> None:
        """Read and publish whatever the log holds after the lot's durable records."""

    def settled(self, lot: Lot) -> None:
        """The lot's state is its durable one: admit subscribers, arm its deadline."""

    def idle(self, lot: Lot) -> None:
        """The lot's writer stopped: nothing is queued or in flight."""


class Pipeline:
    """The writers of the lots of one engine, over one log."""

    def __init__(self, log: EventLog, host: Host) -> None:
        self.log = log
        self._host = host
        #: The event loop (:func:`engine.loops.running`).
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, lot: Lot, command: Command) -> "asyncio.Future[Result]":
        """Queue ``command`` for the lot's writer (started if it is not running)."""
        loop = self._loop = running(self._loop)
        future: asyncio.Future[Result] = loop.create_future()
        lot.queue.append(Waiter(command, future))
        lot.wake.set()
        if lot.writer is None:
            self.start(lot)
        return future

    # ----------------------------------------------------------------- deciding

    def _decide(self, lot: Lot, batch: Batch, waiters: list[Waiter]) -> None:
        """Decide ``waiters`` in order onto ``batch`` (its state folded in place).

        The rules are trusted to decide every command, but a fault of theirs fails one
        command, not the lot: a command whose deciding or sealing raises is answered with
        that exception (nothing of it recorded). If folding its events raises, the
        batch's state is half-changed: the batch is given up, the faulty command fails,
        and the others go back to the head of the queue, decided again on a state folded
        anew (see :meth:`_decide_head`, :meth:`_decide_ahead`)."""
        state = batch.state
        unavailable = self._host.unavailable()
        for i, waiter in enumerate(waiters):
            batch.waiters.append(waiter)
            if unavailable is not None:
                batch.results.append(Rejection("unavailable", unavailable))
                continue
            seq, prev = batch.last
            try:
                decision = decide(state, waiter.command, self._host.now())
                if isinstance(decision, Rejection):
                    batch.results.append(decision)
                    continue
                sealed = seal(lot.lot_id, seq + 1, prev, decision)
            except RecordError as exc:  # it could not be read back: record nothing
                batch.results.append(Rejection("invalid_input", exc.message))
                continue
            except Exception as exc:
                log.error("lot %s: the rules failed to decide %s", lot.lot_id,
                          type(waiter.command).__name__, exc_info=exc)
                batch.results.append(exc)
                continue
            if not batch.owned:
                state, batch.owned = clone(state), True
            try:
                for record in sealed:
                    state = evolve(state, record.event)
            except Exception as exc:
                log.error("lot %s: the rules failed to fold the events of %s", lot.lot_id,
                          type(waiter.command).__name__, exc_info=exc)
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
                lot.queue.extendleft(reversed(batch.waiters[:-1] + waiters[i + 1:]))
                batch.waiters, batch.results, batch.fresh = [], [], []
                batch.broken = True
                return
            batch.state = state
            batch.fresh.extend(sealed)
            batch.results.append(sealed)

    def _take(self, lot: Lot, room: int) -> list[Waiter]:
        waiters: list[Waiter] = []
        while lot.queue and len(waiters) < room:
            waiters.append(lot.queue.popleft())
        return waiters

    def _decide_head(self, lot: Lot) -> Batch:
        """A batch of the queue decided on the durable state, in place."""
        batch = Batch(lot.state, lot.version, lot.last_hash)
        self._decide(lot, batch, self._take(lot, MAX_BATCH))
        if batch.fresh or batch.broken:  # decided in place (a broken batch: half-folded)
            lot.state, lot.dirty = batch.state, True
        if batch.broken:
            self._rewind(lot)
        return batch

    def _decide_ahead(self, lot: Lot) -> None:
        """Decide what is queued on the state after the batch in flight."""
        assert lot.inflight is not None
        ahead = lot.ahead
        if ahead is None:
            base, base_hash = lot.inflight.last
            ahead = lot.ahead = Batch(lot.inflight.state, base, base_hash, owned=False)
        self._decide(lot, ahead, self._take(lot, MAX_BATCH - len(ahead.waiters)))
        if ahead.broken:  # its copy of the state is half-folded: decide the queue again
            lot.ahead = None

    # ----------------------------------------------------------------- the writer

    def start(self, lot: Lot) -> None:
        """Start the lot's writer. It serves every sender of the lot: it runs in a context
        of its own, not in that of the request that happened to start it (its log
        lines)."""
        lot.writer = running(self._loop).create_task(self._write(lot),
                                                     context=contextvars.Context())

    async def _write(self, lot: Lot) -> None:
        """The lot's single writer in this process: runs while anything is queued or in
        flight."""
        try:
            while True:
                landing: Batch | None = None
                try:
                    lot.wake.clear()
                    if lot.inflight is None:
                        if lot.unread and lot.ahead is None:
                            await self._read_unread(lot)
                            continue
                        batch, lot.ahead = lot.ahead, None
                        if batch is None:
                            if not lot.queue:
                                return
                            batch = self._decide_head(lot)
                        if batch.fresh:
                            self._send(lot, batch)
                        else:
                            await self._refusals(lot, batch)
                        continue
                    if (lot.queue and (lot.ahead is None or len(lot.ahead.waiters) < MAX_BATCH)
                            and self._host.unavailable() is None):
                        self._decide_ahead(lot)
                        continue
                    append = lot.inflight.append
                    assert append is not None
                    if not append.done():
                        await lot.wake.wait(running(self._loop))
                        continue
                    landing = lot.inflight
                    await self._land(lot, landing, append)
                except Exception as exc:  # a fault of the host or the rules: a bug
                    await self._fault(lot, exc, landing)
        finally:
            lot.writer = None
            fail(lot.queue, EngineError("the lot's writer stopped"))  # cancelled only
            lot.queue.clear()
            self._host.idle(lot)

    async def _fault(self, lot: Lot, exc: Exception, landing: Batch | None) -> None:
        """The writer's step raised (the host's callbacks or the rules, outside what
        :meth:`_decide` guards): the commands of the batches it holds (``landing``, the
        one whose outcome was being published, if any) fail with ``exc`` where not
        answered yet (the one in flight once its append has an outcome: it may have
        landed), the lot goes back to its durable state and is read again from the log,
        and the writer serves the queue on. A bug must cost its commands an answer of
        failure, never the lot its writer or the senders their answers."""
        log.error("lot %s: the writer failed", lot.lot_id, exc_info=exc)
        batch, lot.inflight = lot.inflight or landing, None
        held = self._behind(lot)
        if batch is not None:
            if batch.append is not None and not batch.append.done():
                await asyncio.wait([batch.append])
            held = batch.waiters + held
        fail(held, exc)
        lot.dirty, lot.unread, lot.synced = True, True, None
        self._rewind(lot)

    async def _read_unread(self, lot: Lot) -> None:
        """Read what others appended, found while this writer ran (:attr:`Lot.unread`)."""
        lot.unread = False
        try:
            await self._host.catch_up(lot)
        except Exception as exc:  # read again by the next command's stale append
            log.warning("lot %s: the log could not be read: %s", lot.lot_id, exc)

    def _send(self, lot: Lot, batch: Batch) -> None:
        """Start the batch's append (the lot's version is its base)."""
        assert batch.state is not None
        lot.inflight = batch
        seq, digest = batch.last
        snapshot = None
        if due(batch.state, batch.base, seq):
            try:
                snapshot = take(batch.state, seq, digest)
            except SnapshotError as exc:  # the events stay the record: start replays them
                log.error("no snapshot of %s: %s", lot.lot_id, exc)
        batch.epoch = self._host.epoch(lot)
        batch.rows = [row_of(r) for r in batch.fresh]
        batch.append = self.log.append_soon(
            lot.lot_id, batch.base, batch.rows,
            deadline=next_deadline(batch.state), epoch=batch.epoch, snapshot=snapshot)
        batch.append.add_done_callback(lambda _: lot.wake.set())

    async def _refusals(self, lot: Lot, batch: Batch) -> None:
        """Answer a batch that recorded nothing; on a shared log, only once it is known
        to be decided on the latest state: the log confirms it (else decide it again),
        or nothing can have been appended since the log last confirmed it (:meth:`_known`).
        """
        if self.log.shared and not self._known(lot, batch):
            epoch = self._host.epoch(lot)
            try:
                current = await self.log.last_seq(lot.lot_id) == batch.base
            except Exception as exc:
                fail(batch.waiters, EngineError(str(exc)))
                return
            if not current:
                await self._again(lot, batch.waiters)
                return
            lot.synced = epoch
        answer(batch.waiters, batch.results)
        self._host.settled(lot)

    def _known(self, lot: Lot, batch: Batch) -> bool:
        """Whether the batch was decided on what the log holds, without asking it: the log
        confirmed the lot's durable records under the epoch this process still appends
        under (:attr:`Lot.synced`), the batch was decided on them, and the lease is
        certainly still held (:meth:`Host.exclusive`): another process can only append
        after taking the lease over, under a later epoch."""
        return (lot.synced is not None and lot.synced == self._host.epoch(lot)
                and batch.base == lot.version and not lot.unread and not lot.dirty
                and self._host.exclusive(lot))

    async def _land(self, lot: Lot, batch: Batch, append: "asyncio.Future[bool]") -> None:
        """The outcome of the append in flight: publish and answer, or decide again."""
        lot.inflight = None
        try:
            durable = append.result()
        except Exception as exc:
            failed = exc if isinstance(exc, AppendFailed) else AppendFailed(str(exc))
            if not isinstance(exc, AppendFailed):
                log.error("append of %s failed", lot.lot_id, exc_info=exc)
            self._failed(lot, batch, failed)
            return
        if not durable:
            lot.stale += 1
            if lot.stale >= MAX_ATTEMPTS:
                lot.stale = 0
                self._rewind(lot)
                fail(batch.waiters, EngineError(f"lot {lot.lot_id} is too contended; "
                                                "try again"))
                await self._again(lot, self._behind(lot))
                return
            await self._again(lot, batch.waiters + self._behind(lot))
            return
        lot.stale = 0
        assert batch.state is not None
        lot.dirty, lot.synced = False, batch.epoch
        self._host.published(lot, batch.state, batch.fresh)
        self._host.appended(lot, batch.rows)
        answer(batch.waiters, batch.results)
        self._host.settled(lot)

    def _behind(self, lot: Lot) -> list[Waiter]:
        """The waiters of the batch decided ahead, taken back."""
        ahead, lot.ahead = lot.ahead, None
        return ahead.waiters if ahead is not None else []

    def _failed(self, lot: Lot, batch: Batch, exc: AppendFailed) -> None:
        """Nothing of the batch is acknowledged; the lot goes back to its durable state;
        what was decided ahead is decided again, or fails when the log stopped."""
        self._rewind(lot)
        lot.synced = None  # the append may have landed after all
        self._host.append_failed(lot, exc)
        error = (NotAppended(str(exc)) if isinstance(exc, AppendRefused)
                 else EngineError(str(exc)))
        fail(batch.waiters, error)
        behind = self._behind(lot)
        if self.log.fail_stop:
            fail(behind, error)
        else:
            lot.queue.extendleft(reversed(behind))
        self._host.settled(lot)

    async def _again(self, lot: Lot, waiters: list[Waiter]) -> None:
        """Decide ``waiters`` again, first in the queue, after reading what the log holds
        beyond the lot's durable records."""
        self._rewind(lot)
        lot.synced = None
        lot.queue.extendleft(reversed(waiters))
        try:
            await self._host.catch_up(lot)
        except Exception as exc:
            error = EngineError(str(exc) if isinstance(exc, (LogUnavailable, EngineError))
                                else f"the log cannot be read: {exc}")
            fail(waiters, error)
            for _ in waiters:
                lot.queue.popleft()

    def _rewind(self, lot: Lot) -> None:
        """Back to the durable state (what was decided in place was not stored)."""
        if lot.dirty:
            lot.state = lot.durable()
            lot.dirty = False
