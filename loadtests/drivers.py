"""Load-generator processes of the benchmark harness: ``python -m loadtests.drivers``.

A driver reads one job (a JSON line) on stdin, opens its WebSockets (lean clients, see
:mod:`loadtests.lean`), answers ``{"event": "ready", ...}`` on stdout, then obeys
commands, one JSON line each, answering each with one JSON line:

``{"cmd": "bid", "mode": "max" | "paced" | "close" | "race", ...}``
    Bid on the job's lots (each lot has its own bidders; a lot's bids alternate between
    them at the next price, so every bid is meant to be accepted). ``max``: as fast as
    acknowledgements come back, ``window`` bids in flight per lot, until ``until_ns``.
    ``race``: every bidder of a lot bids the next price at once, and again as soon as a
    bid of the lot is acknowledged (to it or to another bidder of the driver: the update
    it would see), so all of them race for each price and one wins it; until ``until_ns``.
    ``paced``: ``rate`` bids per second over all lots, evenly spread, until
    ``until_ns``. ``close``: from ``lead_ms`` before each lot's ``closes_at`` until it
    refuses bids as ``closed`` and ``tail_ms`` have passed. Answers with every
    acknowledgement ``[lot, seq, at, t_send_ns, t_ack_ns]``, rejection codes and errors.
``{"cmd": "report"}``
    The update frames received since the last report: per 100 ms bucket of
    ``time.monotonic_ns()``, and per recorded lot ``[first_seq, t_ns]`` of each frame.
``{"cmd": "record", "on": true | false}``
    From now on every connection records its frames (or none does), whatever the job
    said: a phase can be measured without the recording's cost, the next with it.
    Answers ``{"event": "recording", "on": ...}``.
``{"cmd": "exit"}``

Times are ``time.monotonic_ns()``, which on Linux is one clock for every process of the
machine, so the orchestrator can compare a bidder's send time with a watcher's receive
time in another process.
"""

import asyncio
import contextlib
import itertools
import os
import random
import resource
import sys
import time
from collections import Counter
from typing import Any

import orjson

from auction.money import format_amount
from engine.signatures import Signer
from loadtests.lean import (
    ACK,
    ERROR,
    REJECTED,
    SUBSCRIBED,
    UPDATE,
    LeanSocket,
    open_lean,
    update_head,
)
from web.client import LotSession

BUCKET_NS = 100_000_000
BID_TIMEOUT_S = 10.0


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Member:
    """One connection subscribed to one lot: counts (and may record) its update frames
    and resolves the replies to its own requests."""

    def __init__(self, driver: "Driver", key: str, lot_id: str, token: str | None,
                 record: bool, sign: bool = False) -> None:
        self.driver, self.key, self.lot_id = driver, key, lot_id
        self.token, self.record = token, record
        #: Makes the messages and matches the replies; the updates are only counted
        #: here (not folded), so that the driver keeps up with the server. With ``sign``
        #: it enrols a new ECDSA P-256 key and signs every bid (its ``seen`` stays 0:
        #: the updates are not folded, and the rules take any seq not ahead of the lot).
        self.session = LotSession(lot_id, token, resume=False, keep_events=False,
                                  signer=Signer.ecdsa_p256() if sign else None)
        self.sock: LeanSocket | None = None
        #: The server it connects to, when not the job's (bidders of one lot spread over
        #: several server processes).
        self.ws_url: str | None = None
        self.subscribed: asyncio.Future[dict[str, Any]] | None = None
        self.pending: dict[str, asyncio.Future[tuple[dict[str, Any], int]]] = {}

    async def open(self, ws_url: str) -> None:
        """Connect and subscribe; where the server names the lot's owner (another
        process of a scale-out backend), connect to the owner instead, as a client that
        can reach it does."""
        ws_url = self.ws_url or ws_url
        reply = await self._subscribe(ws_url)
        owner = reply.get("owner")
        if owner and owner != ws_url:
            self.driver.moved += 1
            assert self.sock is not None
            self.sock.on_close = None
            self.sock.close()
            reply = await self._subscribe(owner)
            self.ws_url = owner
        if self.session.signer is not None:
            enrolled, _, _ = await self.request(self.session.enrol())
            if enrolled.get("type") != "ack":
                raise ConnectionError(f"enrolment refused: {enrolled}")

    async def _subscribe(self, ws_url: str) -> dict[str, Any]:
        self.subscribed = asyncio.get_running_loop().create_future()
        self.sock = await open_lean(ws_url, self.on_frame, on_close=self.on_close)
        self.sock.send_json(self.session.subscribe())
        reply = await asyncio.wait_for(self.subscribed, 30)
        if reply.get("type") != "subscribed":
            raise ConnectionError(f"subscribe refused: {reply}")
        return reply

    def on_frame(self, payload: bytes) -> None:
        now = time.monotonic_ns()
        if payload.startswith(UPDATE):
            d = self.driver
            bucket = now // BUCKET_NS
            d.buckets[bucket] = d.buckets.get(bucket, 0) + 1
            if self.record:
                _, first = update_head(payload)
                if first:
                    d.frames.setdefault(self.key, []).append((first, now))
        elif payload.startswith((ACK, REJECTED, ERROR)):
            msg = orjson.loads(payload)
            reply = self.session.receive(msg)
            future = self.pending.pop(reply["ref"], None) if reply else None
            if future is not None and not future.done():
                future.set_result((msg, now))
            elif msg["type"] == "error":
                self.driver.errors[f"error {msg.get('code')}"] += 1
                if self.subscribed is not None and not self.subscribed.done():
                    self.subscribed.set_result(msg)
        elif payload.startswith(SUBSCRIBED):
            msg = orjson.loads(payload)
            self.session.receive(msg)
            if self.subscribed is not None and not self.subscribed.done():
                self.subscribed.set_result(msg)

    def on_close(self) -> None:
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        if self.subscribed is not None and not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("connection lost"))

    async def bid(self, amount: str, ref: str) -> tuple[dict[str, Any], int, int]:
        """Send a bid; ``(reply, t_send_ns, t_reply_ns)``."""
        return await self.request(self.session.bid(amount, ref))

    async def request(self, msg: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        """Send ``msg`` (made by the session, with its ``ref``); ``(reply, t_send_ns,
        t_reply_ns)``."""
        if self.sock is None or self.sock.closed.done():
            raise ConnectionError("not connected")
        ref = msg["ref"]
        future: asyncio.Future[tuple[dict[str, Any], int]] = (
            asyncio.get_running_loop().create_future())
        self.pending[ref] = future
        sent = time.monotonic_ns()
        self.sock.send_json(msg)
        try:
            reply, at = await asyncio.wait_for(future, BID_TIMEOUT_S)
        finally:
            self.pending.pop(ref, None)
            self.session.forget(ref)
        return reply, sent, at


class LotPlan:
    """A lot the driver bids on: its bidders and where the price stands."""

    def __init__(self, index: int, spec: dict[str, Any], bidders: list[Member]) -> None:
        self.index = index
        self.lot_id: str = spec["lot_id"]
        self.price: int = spec["price"]
        self.step: int = spec["step"]
        self.decimals: int = spec.get("decimals", 2)
        self.closes_at: int | None = spec.get("closes_at")
        self.bidders = bidders
        self.turn = 0
        self.leader: Member | None = None
        self.ended = False
        #: Resolved (and replaced) at each acknowledged bid of the lot: racing bidders
        #: wait on it for the next price.
        self.moved: asyncio.Future[None] | None = None


class Driver:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.ws_url: str = job["ws_url"]
        self.buckets: dict[int, int] = {}
        self.frames: dict[str, list[tuple[int, int]]] = {}
        self.errors: Counter[str] = Counter()
        self.members: list[Member] = []
        self.lots: list[LotPlan] = []
        #: Connections that moved to the lot's owner when the server named it.
        self.moved = 0
        self._refs = itertools.count(1)

    # ------------------------------------------------------------------ setup

    async def connect(self) -> dict[str, Any]:
        record_all = bool(self.job.get("record", False))
        keys = itertools.count()
        for spec in self.job.get("members", []):
            self.members.append(Member(self, f"{spec['lot_id']}#{next(keys)}", spec["lot_id"],
                                       spec.get("token"), spec.get("record", record_all)))
        for index, spec in enumerate(self.job.get("lots", [])):
            bidders = [Member(self, f"{spec['lot_id']}#{next(keys)}", spec["lot_id"], token,
                              spec.get("record", record_all), spec.get("sign", False))
                       for token in spec["tokens"]]
            for member, url in zip(bidders, spec.get("ws_urls") or (), strict=False):
                member.ws_url = url
            self.members.extend(bidders)
            self.lots.append(LotPlan(index, spec, bidders))
        limit = asyncio.Semaphore(int(self.job.get("connect_concurrency", 64)))
        failed: Counter[str] = Counter()

        async def open_one(member: Member) -> None:
            async with limit:
                try:
                    await member.open(self.ws_url)
                except Exception as exc:  # noqa: BLE001 - reported to the orchestrator
                    failed[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

        started = time.monotonic()
        await asyncio.gather(*(open_one(m) for m in self.members))
        return {"event": "ready", "connected": len(self.members) - sum(failed.values()),
                "moved_to_owner": self.moved,
                "failed": dict(failed), "seconds": round(time.monotonic() - started, 3)}

    # ------------------------------------------------------------------ bidding

    def _next_bidder(self, lot: LotPlan) -> Member:
        for _ in range(len(lot.bidders)):
            member = lot.bidders[lot.turn % len(lot.bidders)]
            lot.turn += 1
            if member is not lot.leader or len(lot.bidders) == 1:
                return member
        return lot.bidders[0]

    async def _one_bid(self, lot: LotPlan, out: dict[str, Any]) -> None:
        member = self._next_bidder(lot)
        price = lot.price
        lot.price += lot.step
        ref = f"r{next(self._refs)}"
        try:
            reply, sent, at = await member.bid(format_amount(price, lot.decimals), ref)
        except (TimeoutError, ConnectionError) as exc:
            self.errors[f"bid {type(exc).__name__}"] += 1
            out["errors"] += 1
            if isinstance(exc, ConnectionError):
                lot.ended = True
            return
        if reply["type"] == "ack":
            lot.leader = member
            out["acks"].append((lot.index, reply["seq"], reply["at"], sent, at))
            return
        code = reply.get("code", "?")
        out["rejected"][code] = out["rejected"].get(code, 0) + 1
        if code == "closed" or code == "cancelled":
            lot.ended = True
        elif code == "rate_limited":
            await asyncio.sleep(0.05)
        if reply["type"] == "error":
            out["errors"] += 1
            self.errors[f"bid error {code}"] += 1

    async def bid_max(self, lot: LotPlan, until_ns: int, window: int,
                      out: dict[str, Any]) -> None:
        async def lane() -> None:
            while not lot.ended and time.monotonic_ns() < until_ns:
                await self._one_bid(lot, out)

        await asyncio.gather(*(lane() for _ in range(window)))

    async def bid_paced(self, lot: LotPlan, until_ns: int, interval_s: float,
                        out: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + random.uniform(0, interval_s)
        end = loop.time() + (until_ns - time.monotonic_ns()) / 1e9
        while not lot.ended and due < end:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                out["behind"] += 1
            await self._one_bid(lot, out)
            due += interval_s

    async def bid_close(self, lot: LotPlan, lead_ms: int, tail_ms: int, window: int,
                        out: dict[str, Any]) -> None:
        assert lot.closes_at is not None
        start_in = (lot.closes_at - lead_ms) / 1000 - time.time()
        if start_in > 0:
            await asyncio.sleep(start_in)
        stop_at = (lot.closes_at + tail_ms) / 1000

        async def lane() -> None:
            while time.time() < stop_at:
                await self._one_bid(lot, out)
                if lot.ended:  # refused as closed: keep trying, slowly, until the tail
                    await asyncio.sleep(0.01)

        await asyncio.gather(*(lane() for _ in range(window)))

    async def bid_race(self, lot: LotPlan, until_ns: int, out: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        lot.moved = loop.create_future()

        async def racer(member: Member) -> None:
            while not lot.ended and time.monotonic_ns() < until_ns:
                moved = lot.moved
                assert moved is not None
                if member is not lot.leader:
                    price = lot.price
                    ref = f"r{next(self._refs)}"
                    try:
                        reply, sent, at = await member.bid(format_amount(price, lot.decimals),
                                                           ref)
                    except (TimeoutError, ConnectionError) as exc:
                        self.errors[f"bid {type(exc).__name__}"] += 1
                        out["errors"] += 1
                        return
                    if reply["type"] == "ack":
                        lot.leader = member
                        out["acks"].append((lot.index, reply["seq"], reply["at"], sent, at))
                        if price + lot.step > lot.price:
                            lot.price = price + lot.step
                            moved.set_result(None)
                            lot.moved = loop.create_future()
                        continue
                    code = reply.get("code", "?")
                    out["rejected"][code] = out["rejected"].get(code, 0) + 1
                    if code in ("closed", "cancelled"):
                        lot.ended = True
                        return
                if lot.moved is moved:  # outbid by a bid not seen yet: wait for the next
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(moved), 0.2)

        await asyncio.gather(*(racer(m) for m in lot.bidders))

    async def run_bids(self, cmd: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"event": "bids", "acks": [], "rejected": {}, "errors": 0,
                               "behind": 0}
        lots = self.lots
        if cmd.get("lots") is not None:
            lots = [self.lots[i] for i in cmd["lots"]]
        mode = cmd["mode"]
        if mode == "max":
            await asyncio.gather(*(self.bid_max(lot, cmd["until_ns"], cmd.get("window", 1), out)
                                   for lot in lots))
        elif mode == "paced":
            interval = len(lots) / float(cmd["rate"])
            await asyncio.gather(*(self.bid_paced(lot, cmd["until_ns"], interval, out)
                                   for lot in lots))
        elif mode == "close":
            await asyncio.gather(*(self.bid_close(lot, cmd.get("lead_ms", 300),
                                                  cmd.get("tail_ms", 200),
                                                  cmd.get("window", 2), out)
                                   for lot in lots if lot.closes_at is not None))
        elif mode == "race":
            await asyncio.gather(*(self.bid_race(lot, cmd["until_ns"], out) for lot in lots))
        else:
            raise ValueError(f"unknown mode {mode!r}")
        return out

    def report(self) -> dict[str, Any]:
        out = {"event": "report", "buckets": sorted(self.buckets.items()),
               "frames": self.frames, "errors": dict(self.errors),
               "open": sum(1 for m in self.members
                           if m.sock is not None and not m.sock.closed.done())}
        self.buckets, self.frames = {}, {}
        return out


def _write(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 sys.stdin)
    job = orjson.loads(await reader.readline())
    if job.get("cpus"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, job["cpus"])
    raise_fd_limit()
    driver = Driver(job)
    _write(await driver.connect())
    running: set[asyncio.Task[None]] = set()

    async def bids(cmd: dict[str, Any]) -> None:
        _write(await driver.run_bids(cmd))

    while line := await reader.readline():
        cmd = orjson.loads(line)
        if cmd["cmd"] == "bid":
            task = asyncio.create_task(bids(cmd))
            running.add(task)
            task.add_done_callback(running.discard)
        elif cmd["cmd"] == "report":
            _write(driver.report())
        elif cmd["cmd"] == "record":
            for member in driver.members:
                member.record = bool(cmd["on"])
            _write({"event": "recording", "on": bool(cmd["on"])})
        elif cmd["cmd"] == "exit":
            break
    for member in driver.members:
        if member.sock is not None:
            member.sock.close()
    await asyncio.sleep(0.05)


def run() -> None:
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main())


if __name__ == "__main__":
    run()
