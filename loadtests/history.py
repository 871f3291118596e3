"""Start time and memory against the size of the history: ``python -m
loadtests.history --lots 100000`` writes that many ended lots straight into a data
directory (each the record of a real english lot: created, two bidders registered with
their deposits, opened, three bids, closed and awarded, sealed and chained under its own
id, with its final snapshot), then starts an embedded engine on it in a fresh process
and prints one JSON object: seconds until the engine has started and its resident
memory, for an empty directory, for the history with its snapshots, and for the same
history without them (every event replayed, as before snapshots).
"""

import argparse
import asyncio
import dataclasses
import json
import resource
import sqlite3
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
from engine.logs.sqlite import SQLiteLog
from engine.runtime import Runtime
from engine.snapshots import take

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


async def write_history(data_dir: Path, lots: int) -> int:
    """Write ``lots`` ended lots into ``data_dir``; returns the number of events."""
    events, final = await template()
    log = SQLiteLog(data_dir)
    await log.open()
    total = 0
    try:
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


async def _measure(data_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    engine = Runtime(SQLiteLog(data_dir))
    await engine.start()
    seconds = time.perf_counter() - started
    lots = len(engine.lot_ids())
    await engine.close()
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {"start_s": round(seconds, 3), "rss_mib": round(rss / 1024, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                  1), "lots": lots}


def measure(data_dir: Path) -> dict[str, Any]:
    """Start an engine on ``data_dir`` in a fresh process: its figures."""
    out = subprocess.run([sys.executable, "-m", "loadtests.history", "--measure",
                          str(data_dir)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(lots: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auction-history-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        started = time.perf_counter()
        events = asyncio.run(write_history(full, lots))
        written = time.perf_counter() - started
        report: dict[str, Any] = {"lots": lots, "events": events,
                                  "written_s": round(written, 1),
                                  "empty": measure(empty), "with_snapshots": measure(full)}
        conn = sqlite3.connect(full / "events.sqlite3")
        with conn:
            conn.execute("DELETE FROM snapshots")
        conn.close()
        report["without_snapshots"] = measure(full)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(asyncio.run(_measure(args.measure))))
        return
    print(json.dumps(run(args.lots), indent=2))


if __name__ == "__main__":
    main()
