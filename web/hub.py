"""Fan-out: every commit of a lot, encoded once per audience, pushed to every watcher.

The hub holds ONE engine subscription per watched lot (opened with the first watcher,
closed with the last). On each commit it groups the lot's watchers by
:func:`auction.views.audience_key` (``public``, ``staff``, ``bidder:<id>`` under rank or
blind visibility), builds the ``update`` frame of each key once (bytes encoded from
:class:`web.schemas.Update`) and pushes those same bytes into each watcher's
:class:`Outbox`; pushing never blocks, so a slow connection cannot slow the lot or the
others (its outbox decides when it is too slow). A live frame carries a delta, not the
snapshot: the hub keeps the last snapshot of each key it delivered (one per key, not per
watcher) and sends what changed since (:mod:`auction.deltas`); a key nobody watches at a
commit is forgotten, and the next watcher of it starts from a whole snapshot.

A watcher joins with ``after_seq``: it first gets the events after ``after_seq`` up to
the hub's last delivered commit (from :meth:`engine.api.Engine.history`) with a snapshot,
then every later commit live, so nothing is missed and nothing comes twice. The engine
may have decided events that are not durable yet (a commit in flight); a joining watcher
then waits for that commit's delivery so its first snapshot never shows an undurable
event.

Under ``price`` visibility bidders share the public frames; the ones concerned by a
commit (their registration, deposit or bid, or being outbid as the leader; in a multi-unit
lot, a change of the units they hold) also get a
``you`` frame with their own standing (see docs/protocol.md).
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import msgspec

from auction import units
from auction.deltas import diff
from auction.model import QuestionAnswered, TokensRevoked
from auction.record import Recorded
from auction.state import LotState
from auction.views import PUBLIC, audience_key, bidder_view, redact, snapshot
from engine.api import Engine, EngineError, Subscription, UnknownLot
from web.schemas import Update, You

log = logging.getLogger(__name__)

#: Most events in one catch-up ``update`` frame; longer catch-ups take several frames.
CATCH_UP_CHUNK = 500
#: Close code for a watcher whose sequence broke (never expected; the client resumes).
OUT_OF_SYNC = 4001
#: Close code for a bidder's connection once staff have revoked the token it used.
REVOKED = 4003

_PENDING, _JOINING, _LIVE = "pending", "joining", "live"


class Outbox(Protocol):
    """Where the hub delivers a connection's frames. Both methods must return at once."""

    def push(self, frame: bytes, *, catch_up: bool = False) -> None:
        """Queue ``frame`` (UTF-8 JSON text). ``catch_up`` frames are the bounded backlog
        of a join and never count as the client being slow."""

    def drop(self, code: int, reason: str) -> None:
        """Close the connection with WebSocket close ``code``."""


@dataclass(eq=False, slots=True)
class Watcher:
    """One connection watching one lot as ``audience`` (``public``/``bidder``/``staff``)."""

    outbox: Outbox
    lot_id: str
    audience: str
    bidder_id: str | None = None
    #: Pushed right before the first ``update`` (the connection's ``subscribed``).
    greeting: bytes | None = None
    #: The generation of the bidder's token: once the lot's state has moved past it
    #: (a ``TokensRevoked``), the connection is closed with :data:`REVOKED`.
    token_gen: int | None = None
    #: Sequence number of the last event delivered (or covered by the backlog).
    last: int = 0
    phase: str = _PENDING
    backlog: list[Recorded] = field(default_factory=list)
    #: Whether its updates carry the chain head (a witness asked for them).
    heads: bool = False


class _Feed:
    """A watched lot: the engine subscription and the watchers."""

    def __init__(self, lot_id: str) -> None:
        self.lot_id = lot_id
        self.watchers: dict[Watcher, None] = {}
        self.subscription: Subscription | None = None
        self.opening: asyncio.Future[None] | None = None
        self.state: LotState | None = None
        #: Last sequence number delivered by the engine (-1 until the first call).
        self.seq = -1
        #: The leader before the commit being delivered (it is concerned when outbid).
        self.leader: str | None = None
        #: A multi-unit lot's units held by each bidder before the commit being delivered
        #: (a bidder whose holding changes is concerned: pushed below the cut-off...).
        self.held: Mapping[str, int] = {}
        self.closed = False
        #: The snapshot last delivered to each audience key that has live watchers, as of
        #: :attr:`seq`: what the next commit's deltas are made from.
        self.views: dict[str, dict[str, Any]] = {}


#: Frames are encoded from their declared structs (web.schemas): as fast as orjson on a
#: dict for a typical live update (about 0.46 us either way).
_encode = msgspec.json.Encoder().encode


def update_frame(lot_id: str, events: list[dict[str, Any]], view: dict[str, Any],
                 server_time: int, head: str | None = None) -> bytes:
    """An encoded ``update`` message with the whole snapshot (a catch-up); ``head`` is the
    chain hash of the last of ``events`` (what public witnesses keep)."""
    return _encode(Update(lot_id=lot_id, events=events, state=view, server_time=server_time,
                          head=head))


def delta_frame(lot_id: str, events: list[dict[str, Any]], before: dict[str, Any],
                view: dict[str, Any], server_time: int, head: str | None = None) -> bytes:
    """An encoded live ``update`` message: ``events`` and what changed from the snapshot
    ``before`` (as of the event before the first of ``events``) to ``view``."""
    changes, gone = diff(before, view)
    return _encode(Update(lot_id=lot_id, events=events, delta=changes, gone=gone or None,
                          server_time=server_time, head=head))


class Hub:
    """Delivers each lot's commits to its watchers; one per application."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._feeds: dict[str, _Feed] = {}

    def subscriptions(self) -> int:
        """How many engine subscriptions the hub holds (one per watched lot)."""
        return sum(1 for feed in self._feeds.values() if feed.subscription is not None)

    async def watch(self, outbox: Outbox, lot_id: str, audience: str,
                    bidder_id: str | None = None, after_seq: int | None = None,
                    greeting: bytes | None = None, token_gen: int | None = None,
                    heads: bool = False) -> Watcher:
        """Start delivering ``lot_id`` to ``outbox``: ``greeting`` (if any), one or more
        ``update`` frames with the events after ``after_seq`` (none when None) and the
        snapshot, then every commit. ``after_seq`` must not be beyond the lot's last
        event.

        Raises :class:`engine.api.UnknownLot` or :class:`engine.api.EngineError`; then
        nothing is delivered. Call :meth:`unwatch` to stop."""
        feed = self._feeds.get(lot_id)
        if feed is None:
            feed = self._feeds[lot_id] = _Feed(lot_id)
            feed.opening = asyncio.ensure_future(self._open(feed))
        watcher = Watcher(outbox, lot_id, audience, bidder_id, greeting, token_gen=token_gen,
                          heads=heads)
        feed.watchers[watcher] = None
        try:
            assert feed.opening is not None
            await asyncio.shield(feed.opening)
            await self._catch_up(feed, watcher, after_seq)
        except BaseException:
            self.unwatch(watcher)
            raise
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        """Stop delivering to ``watcher``; idempotent."""
        feed = self._feeds.get(watcher.lot_id)
        if feed is None or watcher not in feed.watchers:
            return
        del feed.watchers[watcher]
        if not feed.watchers:
            self._close_feed(feed)

    async def close(self) -> None:
        """Release every engine subscription (before the engine closes)."""
        feeds = list(self._feeds.values())
        for feed in feeds:
            self._close_feed(feed)
        opening = [f.opening for f in feeds if f.opening is not None and not f.opening.done()]
        for future in opening:
            future.cancel()
        await asyncio.gather(*opening, return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _close_feed(self, feed: _Feed) -> None:
        feed.closed = True
        if self._feeds.get(feed.lot_id) is feed:
            del self._feeds[feed.lot_id]
        if feed.subscription is not None:
            feed.subscription.close()
            feed.subscription = None

    async def _open(self, feed: _Feed) -> None:
        try:
            state = self._engine.lot(feed.lot_id)
            if state is None:
                raise UnknownLot(feed.lot_id)
            subscription = await self._engine.subscribe(
                feed.lot_id, partial(self._on_commit, feed), after_seq=state.version)
        except BaseException:
            if self._feeds.get(feed.lot_id) is feed:
                del self._feeds[feed.lot_id]
            feed.closed = True
            raise
        if feed.closed:  # every watcher left while the subscription was being opened
            subscription.close()
            return
        feed.subscription = subscription
        if feed.seq < 0:
            self._close_feed(feed)
            raise EngineError("the engine did not deliver the lot's state on subscribe")

    async def _catch_up(self, feed: _Feed, watcher: Watcher, after_seq: int | None) -> None:
        last = feed.seq if after_seq is None else after_seq
        backlog: list[Recorded] = []
        while last < feed.seq:
            records = await self._engine.history(feed.lot_id, last)
            fresh = [r for r in records if last < r.seq <= feed.seq]
            if not fresh:
                raise EngineError("the lot's history is behind its deliveries")
            backlog.extend(fresh)
            last = fresh[-1].seq
        if watcher not in feed.watchers:
            return
        watcher.backlog, watcher.last = backlog, last
        current = self._engine.lot(feed.lot_id)
        if current is not None and current.version == feed.seq and last == feed.seq:
            self._go_live(watcher, current)
        else:  # a commit is in flight: join when it is delivered (see _on_commit)
            watcher.phase = _JOINING

    def _revoked(self, watcher: Watcher, state: LotState) -> bool:
        """Whether the watcher's token was revoked; if so it is dropped."""
        bidder = state.bidders.get(watcher.bidder_id or "")
        if watcher.token_gen is None or (bidder is not None
                                         and bidder.token_gen == watcher.token_gen):
            return False
        self.unwatch(watcher)
        watcher.outbox.drop(REVOKED, "the bidder token was revoked")
        return True

    def _go_live(self, watcher: Watcher, state: LotState) -> None:
        """Send ``watcher`` its backlog and the snapshot; from now on it gets commits."""
        if self._revoked(watcher, state):  # revoked while it was joining
            return
        audience, bidder_id = watcher.audience, watcher.bidder_id
        events = [redact(state, r, audience, bidder_id) for r in watcher.backlog]
        view = snapshot(state, audience, bidder_id)
        feed = self._feeds.get(watcher.lot_id)
        if feed is not None and feed.seq == state.version:  # the base of the next deltas
            feed.views.setdefault(audience_key(state, audience, bidder_id), view)
        now = self._engine.now()
        starts = range(0, len(events), CATCH_UP_CHUNK)
        chunks: list[tuple[list[dict[str, Any]], str | None]] = [
            (events[i:i + CATCH_UP_CHUNK],
             watcher.backlog[min(i + CATCH_UP_CHUNK, len(events)) - 1].hash)
            for i in starts]
        if watcher.greeting is not None:
            watcher.outbox.push(watcher.greeting, catch_up=True)
            watcher.greeting = None
        for chunk, head in chunks or [([], None)]:
            watcher.outbox.push(update_frame(watcher.lot_id, chunk, view, now,
                                             head if watcher.heads else None),
                                catch_up=True)
        if bidder_id is not None and audience_key(state, audience, bidder_id) == PUBLIC:
            watcher.outbox.push(you_frame(state, bidder_id), catch_up=True)
        if watcher.backlog:
            watcher.last = max(watcher.last, watcher.backlog[-1].seq)
        watcher.backlog = []
        watcher.phase = _LIVE

    def _on_commit(self, feed: _Feed, state: LotState, records: list[Recorded]) -> None:
        """The engine's listener: runs synchronously after each durable commit."""
        feed.state = state
        if feed.seq < 0 or not records:  # the call made on subscribing: where it starts
            feed.seq, feed.leader = state.version, state.leader
            feed.held = units.board(state).held
            return
        feed.seq = records[-1].seq
        try:
            self._deliver(feed, state, records)
        except Exception:  # never let one bad frame stop the lot's commits
            log.exception("fan-out of %s failed", feed.lot_id)

    def _deliver(self, feed: _Feed, state: LotState, records: list[Recorded]) -> None:
        frames: dict[str, bytes] = {}
        before, feed.views = feed.views, {}
        now = self._engine.now()
        concerned = {getattr(r.event, "bidder_id", None) for r in records}
        # An answer concerns the bidder who asked (its you.questions changes).
        concerned |= {state.questions[r.event.question].bidder_id for r in records
                      if isinstance(r.event, QuestionAnswered)}
        concerned.add(feed.leader)
        if state.params.units > 1:
            # A bid moves the allotment of a multi-unit lot (auction.units): the bidders
            # whose units held changed are concerned, the one pushed below the cut-off too.
            # (The cut-off itself, and so the next price, is in the shared snapshot.)
            held = units.board(state).held
            concerned |= {b for b in feed.held.keys() | held.keys()
                          if feed.held.get(b, 0) != held.get(b, 0)}
            feed.held = held
        feed.leader = state.leader
        if state.params.preemption is not None:
            # Whether a holder of pre-emptive rights may match moves with every bid.
            concerned.update(state.params.preemption.holders)
        revoked = {r.event.bidder_id for r in records if isinstance(r.event, TokensRevoked)}
        for watcher in list(feed.watchers):
            if watcher.phase == _PENDING:
                continue  # its catch-up reads these records from the history
            if watcher.bidder_id in revoked and self._revoked(watcher, state):
                continue
            if watcher.phase == _JOINING:
                watcher.backlog.extend(r for r in records if r.seq > watcher.last)
                self._go_live(watcher, state)
                continue
            if records[0].seq != watcher.last + 1:
                log.error("watcher of %s out of sync at %d", feed.lot_id, watcher.last)
                self.unwatch(watcher)
                watcher.outbox.drop(OUT_OF_SYNC, "out of sync: resubscribe with after_seq")
                continue
            key = audience_key(state, watcher.audience, watcher.bidder_id)
            # Witnesses (heads) get the same frame with the chain head: a key of their own.
            frame_key = f"{key}+head" if watcher.heads else key
            frame = frames.get(frame_key)
            if frame is None:  # views depend on the key only: any watcher of it will do
                audience, bidder_id = watcher.audience, watcher.bidder_id
                events = [redact(state, r, audience, bidder_id) for r in records]
                view = feed.views.get(key) or snapshot(state, audience, bidder_id)
                feed.views[key] = view
                old = before.get(key)
                head = records[-1].hash if watcher.heads else None
                frame = frames[frame_key] = (
                    update_frame(feed.lot_id, events, view, now, head) if old is None
                    else delta_frame(feed.lot_id, events, old, view, now, head))
            watcher.outbox.push(frame)
            watcher.last = records[-1].seq
            own = watcher.bidder_id
            if key == PUBLIC and own is not None and own in concerned:
                watcher.outbox.push(you_frame(state, own, bids_after=records[0].seq - 1))


def you_frame(state: LotState, bidder_id: str, bids_after: int = 0) -> bytes:
    """A ``you`` message: the bidder's own standing in the lot, its ``own_bids`` limited
    to those after ``bids_after`` (:func:`auction.views.bidder_view`)."""
    you = bidder_view(state, bidder_id, bids_after=bids_after)
    return _encode(You(lot_id=state.lot_id, seq=state.version, you=you))

