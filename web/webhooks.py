"""Webhooks: every milestone posted to the center's receiver (setting ``webhook_url``),
HMAC-signed, at least once, retried with backoff, from the durable record
(:mod:`auction.trade.outbox` says why and what a milestone is).

The dispatcher runs in each server process with a ``webhook_url``: it reads the lots'
records and the trade's streams past the position it has reached, keeps the milestones
whose delivery (aggregate ``webhook``) has no successful attempt, and posts each when it
is due. Its position lives in memory only: after a restart it starts from the beginning
and skips what the deliveries say was delivered, so nothing recorded is ever missed.
With several processes each posts: a receiver sees duplicates, always with the same
idempotency key and the same body.

Each post: ``POST webhook_url`` with the JSON body of :func:`auction.trade.outbox.milestone_of`
(``id``, ``milestone``, ``at``, ``stream``, ``lot_id``, ``seq``, ``hash``, ``data``) and the
headers ``Idempotency-Key`` (the milestone's ``id``), ``X-Webhook-Timestamp`` (ms) and
``X-Webhook-Signature`` (``sha256=`` HMAC-SHA256 of ``timestamp.body`` with
``webhook_secret``). A 2xx answer within :data:`TIMEOUT_S` is a delivery; anything else
is retried after 1 s, 2 s, 4 s ... at most 5 minutes.

Other modules emit milestones of their own with :func:`emit` (into the ``outbox`` stream),
or make a recorded event type a milestone with
:func:`auction.trade.outbox.register_milestone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from auction.record import Recorded
from auction.state import LotState
from auction.trade.outbox import (
    DELIVERIES,
    OUTBOX,
    OUTBOXES,
    Delivery,
    Emit,
    Milestone,
    RecordAttempt,
    Resend,
    delivery_id,
    milestone_of,
    next_attempt_at,
    signature,
)
from engine.aggregates import Refused
from engine.stopping import stop
from web.api import json_response, read_body, require_host, require_staff
from web.errors import WebError
from web.keys import DISPATCHER, ENGINE, SETTINGS

log = logging.getLogger(__name__)

#: Seconds a receiver has to answer one post.
TIMEOUT_S = 5.0
#: Seconds between two looks at the records.
SCAN_S = 0.5
#: The aggregate kinds whose events may be milestones (with the outbox's).
TRADE_KINDS = ("result_notice", "confirmation", OUTBOX)


async def emit(engine: Any, milestone: str, payload: Mapping[str, Any], *,
               actor: str = "system", stream: str = "main") -> Recorded:
    """Record the milestone ``milestone`` with ``payload`` (JSON values) in the outbox
    stream ``stream``: durable when this returns, posted by the dispatcher afterwards."""
    [record] = await engine.aggregates.execute(OUTBOXES, stream, Emit(
        milestone=milestone, payload=dict(payload), actor=actor))
    return record


class Dispatcher:
    def __init__(self, engine: Any, url: str, secret: bytes) -> None:
        self.engine = engine
        self.url = url
        self.secret = secret
        self.seen: dict[str, int] = {}  # stream -> last seq looked at
        #: Whether a pass has looked at every lot, ended ones in the store included.
        self.scanned_all = False
        self.pending: dict[str, tuple[Milestone, Delivery]] = {}
        self.wake = asyncio.Event()
        self.http: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        try:
            while True:
                try:
                    await self.scan()
                    await self.deliver_due()
                except (asyncio.CancelledError, GeneratorExit):
                    raise
                except Exception:
                    log.exception("webhooks: a pass failed; trying again")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SCAN_S):
                        await self.wake.wait()
                self.wake.clear()
        finally:
            await self.http.close()

    async def _lot_states(self) -> AsyncIterator[LotState]:
        """Every lot on the first pass (ended lots are read from the store: their last
        milestones may be undelivered from before a restart); then the lots in memory,
        where every new event happens."""
        engine = self.engine
        if self.scanned_all:
            for lot_id in engine.lot_ids():
                state = engine.lot(lot_id)  # (its version only: the records are read back)
                if state is not None:
                    yield state
            return
        after: str | None = None
        while True:
            page, after = await engine.lots(after=after)
            for state in page:
                yield state
            if after is None:
                break
        self.scanned_all = True

    async def _streams(self) -> AsyncIterator[tuple[str, list[Recorded]]]:
        engine = self.engine
        async for state in self._lot_states():
            if state.version <= self.seen.get(state.lot_id, 0):
                continue
            yield state.lot_id, await engine.record(state.lot_id)
        for kind in TRADE_KINDS:
            for aggregate_id in await engine.aggregates.ids(kind):
                yield f"{kind}:{aggregate_id}", await engine.aggregates.records(kind,
                                                                                aggregate_id)

    async def scan(self) -> None:
        async for stream, records in self._streams():
            after = self.seen.get(stream, 0)
            for record in records:
                if record.seq <= after:
                    continue
                milestone = milestone_of(stream, record)
                if milestone is not None:
                    await self._consider(milestone)
            if records:
                self.seen[stream] = records[-1].seq

    async def _consider(self, milestone: Milestone) -> None:
        delivery = await self.engine.aggregates.state(DELIVERIES, delivery_id(milestone.key))
        if delivery.due:
            self.pending[milestone.key] = (milestone, delivery)

    async def deliver_due(self) -> None:
        now = self.engine.now()
        for key, (milestone, delivery) in sorted(self.pending.items(),
                                                 key=lambda item: item[1][0].at):
            if next_attempt_at(delivery) > now:
                continue
            ok, status, error = await self.post(milestone)
            [_] = await self.engine.aggregates.execute(
                DELIVERIES, delivery_id(key),
                RecordAttempt(key=key, ok=ok, status=status, error=error))
            done = await self.engine.aggregates.state(DELIVERIES, delivery_id(key))
            if done.due:
                self.pending[key] = (milestone, done)
            else:
                del self.pending[key]

    async def post(self, milestone: Milestone) -> tuple[bool, int, str]:
        assert self.http is not None
        body = orjson.dumps(milestone.body, option=orjson.OPT_SORT_KEYS)
        stamp = self.engine.now()
        headers = {"Content-Type": "application/json", "Idempotency-Key": milestone.key,
                   "X-Webhook-Timestamp": str(stamp),
                   "X-Webhook-Signature": signature(self.secret, stamp, body)}
        try:
            async with self.http.post(self.url, data=body, headers=headers) as resp:
                await resp.read()
                return 200 <= resp.status < 300, resp.status, "" if resp.ok else resp.reason or ""
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, 0, type(exc).__name__ + (f": {exc}" if str(exc) else "")

    async def resend(self, key: str) -> None:
        """Post ``key`` again (its delivery was reset by a resend request)."""
        stream, _, seq = key.rpartition(":")
        kind, _, aggregate_id = stream.rpartition(":")
        records = (await self.engine.aggregates.records(kind, aggregate_id) if kind
                   else await self.engine.record(stream))
        record = next((r for r in records if r.seq == int(seq)), None)
        milestone = None if record is None else milestone_of(stream, record)
        if milestone is not None:
            await self._consider(milestone)
            self.wake.set()


async def run_dispatcher(app: web.Application) -> AsyncIterator[None]:
    """The app's dispatcher, when ``webhook_url`` is set (a cleanup context)."""
    settings = app[SETTINGS]
    if not settings.webhook_url:
        yield
        return
    dispatcher = app[DISPATCHER] = Dispatcher(app[ENGINE], settings.webhook_url,
                                              settings.webhook_secret)
    task = asyncio.create_task(dispatcher.run(), name="webhooks")
    try:
        yield
    finally:
        await stop(task)  # its retry loop may take a cancellation for a timeout


# ------------------------------------------------------------------------ routes


def _view(delivery: Delivery) -> dict[str, Any]:
    return {"key": delivery.key, "delivered_at": delivery.delivered_at,
            "attempts": delivery.total_attempts, "last_at": delivery.last_at,
            "last_status": delivery.last_status, "last_error": delivery.last_error}


async def list_deliveries(request: web.Request) -> web.Response:
    """The delivery log: every milestone posted at least once, newest first."""
    require_staff(request)
    engine = request.config_dict[ENGINE]
    out = []
    for aggregate_id in await engine.aggregates.ids(DELIVERIES.kind):
        out.append(_view(await engine.aggregates.state(DELIVERIES, aggregate_id)))
    out.sort(key=lambda d: d["last_at"] or 0, reverse=True)
    return json_response({"url": request.config_dict[SETTINGS].webhook_url,
                          "deliveries": out})


async def resend_delivery(request: web.Request) -> web.Response:
    """A host sends a milestone again (with a reason)."""
    host = require_host(request)
    body = await read_body(request)
    aggregate_id = request.match_info["delivery_id"]
    engine = request.config_dict[ENGINE]
    try:
        await engine.aggregates.execute(DELIVERIES, aggregate_id, Resend(
            key="", reason=body.reason, actor=host.staff_id))
    except Refused as exc:
        code = exc.rejection.code
        raise WebError(404 if code == "unknown_delivery" else 400, code,
                       exc.rejection.detail) from None
    except ValueError:
        raise WebError(404, "unknown_delivery", "no such delivery") from None
    delivery = await engine.aggregates.state(DELIVERIES, aggregate_id)
    dispatcher = request.config_dict.get(DISPATCHER)
    if dispatcher is not None:
        await dispatcher.resend(delivery.key)
    return json_response(_view(delivery))
