"""Start time and memory against the size of the history: ``python -m
loadtests.history --lots 100000 --long 3 --long-bids 20000`` writes that many ended lots
straight into a data directory (each the record of a real english lot: created, two
bidders registered with their deposits, opened, three bids, closed and awarded, sealed
and chained under its own id, with its final snapshot), and ``--long`` open lots with
``--long-bids`` bids each (decided by the rules, with the snapshot the engine keeps of
each live lot when it leaves cleanly: of its last event), then starts an embedded
engine on it in a fresh process and prints one JSON object: seconds until the engine
has started and its resident memory, for an empty directory and for the history; then
the seconds to read one ended lot on demand and to list the first page of lots and the
next one. ``--keep DIR`` leaves the history in DIR (to measure it with another version:
``--measure DIR``). ``--backend redis`` writes the same history into a Redis of its own
(through the append script, with the snapshots the writer would hand it) and starts a
scale-out engine on it (without Postgres) in a fresh process.
"""

import argparse
import asyncio
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from auction.model import (
    ConfirmDeposit,
    CreateLot,
    Event,
    PlaceBid,
    RegisterBidder,
    ScheduleLot,
    StartLot,
    Tick,
)
from auction.record import GENESIS, seal
from auction.state import LotState
from engine.eventlog import row_of
from engine.logs.memory import MemoryLog
from engine.logs.redis import RedisLog
from engine.logs.sqlite import SQLiteLog
from engine.redis_engine import RedisEngine
from engine.runtime import Runtime
from engine.snapshots import EVERY, take
from loadtests.services import RedisServer

T0 = 1_800_000_000_000
PARAMS = {"start_price": "100.00", "step": "10.00", "deposit": "50.00", "duration_s": 60}


async def template() -> tuple[list[Event], LotState]:
    """The events and final state of one ended lot, decided by the rules."""
    now = [T0]
    engine = Runtime(MemoryLog(), lambda: now[0])
    async with engine:
        commands: list[Any] = [CreateLot(lot_id="T", session_id="S", format="english",
                                         title="Land", params=PARAMS, actor="host")]
        for i in range(2):
            commands += [RegisterBidder(bidder_id=f"B{i}", bidder_no=f"{1000 + i}",
                                        name=f"Co {i}", actor="host"),
                         ConfirmDeposit(bidder_id=f"B{i}", amount=5000, account="a",
                                        actor="host")]
        commands += [ScheduleLot(actor="host"), StartLot(actor="host")]
        commands += [PlaceBid(bidder_id=f"B{i % 2}", amount=10000 + 1000 * i)
                     for i in range(3)]
        for command in commands:
            result = await engine.execute("T", command)
            assert isinstance(result, list), result
        state = engine.lot("T")
        assert state is not None and state.closes_at is not None
        now[0] = state.closes_at
        assert isinstance(await engine.execute("T", Tick()), list)
        events = [r.event for r in await engine.history("T")]
        final = engine.lot("T")
        assert final is not None
    return events, final


def _as(lot_id: str, event: Event) -> Event:
    fields = {f.name for f in dataclasses.fields(event)}
    return dataclasses.replace(event, lot_id=lot_id) if "lot_id" in fields else event


async def long_lot(lot_id: str, bids: int) -> tuple[list[Any], Any]:
    """The rows of an open lot with ``bids`` bids, and its latest snapshot (the one the
    engine keeps when it leaves: of the lot's last event)."""
    log = MemoryLog()
    began = time.monotonic_ns()
    # A clock that moves with the real one (a still one looks like a jump to the engine).
    engine = Runtime(log, lambda: T0 + (time.monotonic_ns() - began) // 1_000_000)
    async with engine:
        commands: list[Any] = [CreateLot(lot_id=lot_id, session_id="S", format="english",
                                         title="Long", params={**PARAMS,
                                                               "duration_s": 86_400},
                                         actor="host")]
        for i in range(2):
            commands += [RegisterBidder(bidder_id=f"B{i}", bidder_no=f"{1000 + i}",
                                        name=f"Co {i}", actor="host"),
                         ConfirmDeposit(bidder_id=f"B{i}", amount=5000, account="a",
                                        actor="host")]
        commands += [ScheduleLot(actor="host"), StartLot(actor="host")]
        for command in commands:
            assert isinstance(await engine.execute(lot_id, command), list)
        for i in range(bids):
            result = await engine.execute(lot_id, PlaceBid(bidder_id=f"B{i % 2}",
                                                           amount=10000 + 1000 * i))
            assert isinstance(result, list), result
    rows = log.rows[lot_id]
    snapshot = log.snapshots[lot_id]
    assert len(rows) - snapshot.seq < EVERY
    return rows, snapshot


async def write_history(data_dir: Path, lots: int, long: int = 0, long_bids: int = 0) -> int:
    """Write ``lots`` ended lots and ``long`` open ones of ``long_bids`` bids into
    ``data_dir``; returns the number of events."""
    events, final = await template()
    log = SQLiteLog(data_dir)
    await log.open()
    total = 0
    try:
        for n in range(long):
            rows, snapshot = await long_lot(f"LONG{n}", long_bids)
            for start in range(0, len(rows), 10_000):
                await log._run(log._write, rows[start:start + 10_000], [])
            await log._run(log._write, [], [snapshot])
            total += len(rows)
        for start in range(0, lots, 1000):
            rows, snapshots = [], []
            for i in range(start, min(start + 1000, lots)):
                lot_id = f"H{i:07d}"
                sealed = seal(lot_id, 1, GENESIS, [_as(lot_id, e) for e in events])
                rows += [row_of(r) for r in sealed]
                snapshots.append(take(dataclasses.replace(final, lot_id=lot_id),
                                      sealed[-1].seq, sealed[-1].hash))
            await log._run(log._write, rows, snapshots)
            total += len(rows)
    finally:
        await log.close()
    return total


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return round(rss / 1024, 1)


async def write_redis_history(url: str, lots: int, long: int = 0,
                              long_bids: int = 0) -> int:
    """The same history as :func:`write_history`, through the Redis append script."""
    events, final = await template()
    log = RedisLog(url)
    await log.open()
    await log.load()  # what a new deployment's first start does (its index of live lots)
    total = 0
    try:
        for n in range(long):
            rows, snapshot = await long_lot(f"LONG{n}", long_bids)
            done = 0
            while done < len(rows):
                chunk = rows[done:done + 500]
                last = done + len(chunk) == len(rows)
                assert await log.append(f"LONG{n}", done, chunk,
                                        snapshot=snapshot if last else None)
                done += len(chunk)
            total += len(rows)

        async def one(i: int) -> int:
            lot_id = f"H{i:07d}"
            sealed = seal(lot_id, 1, GENESIS, [_as(lot_id, e) for e in events])
            snapshot = take(dataclasses.replace(final, lot_id=lot_id), sealed[-1].seq,
                            sealed[-1].hash)
            assert await log.append(lot_id, 0, [row_of(r) for r in sealed],
                                    snapshot=snapshot)
            return len(sealed)
        for start in range(0, lots, 200):
            total += sum(await asyncio.gather(*(one(i) for i in range(
                start, min(start + 200, lots)))))
    finally:
        await log.close()
    return total


async def _measure(data_dir: Path | None, redis_url: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    engine = (RedisEngine(redis_url, None) if redis_url is not None
              else Runtime(SQLiteLog(data_dir)))  # type: ignore[arg-type]
    await engine.start()
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {"start_s": round(seconds, 3), "rss_mib": _rss_mib(),
                              "peak_rss_mib": round(resource.getrusage(
                                  resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                              "lots_in_memory": len(engine.lot_ids())}
    if hasattr(engine, "counts"):  # (a version of the engine before it has none)
        report["lots"] = sum(engine.counts().values())
        started = time.perf_counter()
        found = await engine.find("H0000000")
        report["read_one_ended_ms"] = round((time.perf_counter() - started) * 1000, 2)
        report["read_one_ended"] = found is not None
        started = time.perf_counter()
        page, after = await engine.lots(limit=100)
        report["list_100_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if after is not None:
            started = time.perf_counter()
            await engine.lots(after=after, limit=100)
            report["list_next_100_ms"] = round((time.perf_counter() - started) * 1000, 1)
    await engine.close()
    return report


def measure(data_dir: Path | None, redis_url: str | None = None) -> dict[str, Any]:
    """Start an engine on ``data_dir`` (or ``redis_url``) in a fresh process: its
    figures."""
    where = ["--measure-redis", redis_url] if redis_url else ["--measure", str(data_dir)]
    out = subprocess.run([sys.executable, "-m", "loadtests.history", *where], check=True,
                         capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run_redis(lots: int, long: int, long_bids: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auction-history-") as tmp:
        empty, full = RedisServer(Path(tmp) / "empty"), RedisServer(Path(tmp) / "full")
        empty.start()
        full.start()
        try:
            started = time.perf_counter()
            events = asyncio.run(write_redis_history(full.url, lots, long, long_bids))
            written = time.perf_counter() - started
            return {"backend": "redis", "ended_lots": lots, "long_lots": long,
                    "long_bids": long_bids, "events": events,
                    "written_s": round(written, 1), "empty": measure(None, empty.url),
                    "history": measure(None, full.url)}
        finally:
            empty.stop()
            full.stop()


def run(lots: int, long: int, long_bids: int, keep: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auction-history-") as tmp:
        empty, full = Path(tmp) / "empty", keep or Path(tmp) / "full"
        started = time.perf_counter()
        events = asyncio.run(write_history(full, lots, long, long_bids))
        written = time.perf_counter() - started
        size = (full / "events.sqlite3").stat().st_size
        return {"ended_lots": lots, "long_lots": long, "long_bids": long_bids,
                "events": events, "written_s": round(written, 1),
                "file_mb": round(size / 1e6), "empty": measure(empty),
                "history": measure(full)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lots", type=int, default=100_000, help="ended lots")
    parser.add_argument("--long", type=int, default=3, help="open lots with long histories")
    parser.add_argument("--long-bids", type=int, default=20_000, help="bids of each long lot")
    parser.add_argument("--keep", type=Path, help="write the history here and keep it")
    parser.add_argument("--measure", type=Path,
                        help="only start an engine on this data directory: its figures")
    parser.add_argument("--backend", choices=("embedded", "redis"), default="embedded")
    parser.add_argument("--measure-redis", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None or args.measure_redis is not None:
        print(json.dumps(asyncio.run(_measure(args.measure, args.measure_redis))))
        return
    if args.backend == "redis":
        print(json.dumps(run_redis(args.lots, args.long, args.long_bids), indent=2))
        return
    print(json.dumps(run(args.lots, args.long, args.long_bids, args.keep), indent=2))


if __name__ == "__main__":
    main()
