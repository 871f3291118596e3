"""The load-test tools behave: ``auction bench --quick`` prints its JSON object with every
figure, and the locust scenario runs headless against a real server without failures.

These are behaviour tests of the harness: they never assert how fast anything is.
"""

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ServerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: Every figure of ../shared/BENCHMARKS.md, as the harness names it.
FIGURES = [
    "price-update fan-out, 1,000-bidder room",
    "accepted bids/s, many lots, embedded backend",
    "accepted bids/s, many lots, embedded backend, every bid signed (ECDSA P-256) and verified",
    "accepted bids/s, Redis + Postgres backend, one process",
    "bid -> own acknowledgement p99, at half of max load",
    "bid -> price update received by every room member p99, at half of max load",
    "bid -> price update received by every member of the 1,000-member room p99, at 50 bids/s",
    "open WebSockets on one process",
    "memory per open WebSocket",
    "close lateness p99 (deadline -> LotClosed sequenced)",
    "close lateness max (deadline -> LotClosed sequenced)",
    "bid acknowledged -> row in Postgres p99",
    "accepted bids after the close instant",
    "acknowledged bids lost across kill -9 runs",
    "process start to serving",
    "accepted bids/s, racing bidders, embedded backend",
    "accepted bids/s, racing bidders, Redis + Postgres backend, one process",
    "CPU-seconds per 1,000 accepted bids, 1 process, Redis backend",
    "CPU-seconds per 1,000 accepted bids summed over 2 processes on one Redis, Redis backend",
    "CPU-seconds per 1,000 accepted bids summed over 4 processes on one Redis, Redis backend",
]
CEILINGS = ["raw fan-out", "raw fan-out latency p99", "raw protocol round trips",
            "raw protocol round trips, racing bidders", "raw Redis append",
            "raw Postgres insert, copy_records_to_table",
            "raw Postgres insert, executemany batches of 100",
            "raw Postgres insert, single autocommit insert"]


def test_bench_quick_prints_one_json_object_with_every_figure_and_ceiling() -> None:
    proc = subprocess.run([sys.executable, "-m", "web.cli", "bench", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # one JSON object, nothing else on stdout
    assert result["backend"] == "embedded" and result["quick"] is True
    assert {"nproc", "cpu_model", "memory_mib"} <= set(result["machine"])
    by_name = {f["figure"]: f for f in result["figures"]}
    assert set(FIGURES) <= set(by_name)
    for figure in result["figures"]:
        assert {"figure", "value", "unit", "target", "ceiling", "ratio"} <= set(figure)
        assert figure["value"] is not None or figure.get("note"), figure
    ceilings = {c["ceiling"]: c for c in result["ceilings"]}
    assert set(CEILINGS) <= set(ceilings)
    assert all(c["value"] for c in ceilings.values())
    fanout = by_name["price-update fan-out, 1,000-bidder room"]
    assert fanout["ceiling"] == ceilings["raw fan-out"]["value"]
    assert fanout["ratio"] == pytest.approx(fanout["value"] / fanout["ceiling"], rel=0.01)
    signed = by_name[FIGURES[2]]
    assert signed["ceiling_name"] == "the throughput phase with signatures off"
    assert signed["value"] and signed["ratio"] and "errors 0" in signed["note"], signed
    for name in ("accepted bids after the close instant",
                 "acknowledged bids lost across kill -9 runs"):
        assert by_name[name]["value"] == 0, by_name[name]
    racing = by_name["accepted bids/s, racing bidders, embedded backend"]
    assert racing["value"] and racing["ceiling"] == ceilings[
        "raw protocol round trips, racing bidders"]["value"], racing
    assert "measured with --backend redis" in by_name[FIGURES[-1]]["note"]
    room = by_name["bid -> price update received by every member of the 1,000-member room "
                   "p99, at 50 bids/s"]
    # every member's frames were recorded (two drivers' connections kept apart), every bid
    # seen by all of them, beside the raw broadcast's latency of the same run
    assert room["value"] and "1000 members" in room["note"], room
    assert "0 bids not seen by every member" in room["note"], room
    assert room["ceiling"] == ceilings["raw fan-out latency p99"]["value"]
    assert "0 not received by every client" in ceilings["raw fan-out latency p99"]["how"]
    # how busy the server and the load were, beside each rate of bids
    for name in ("accepted bids/s, many lots, embedded backend", FIGURES[2],
                 "accepted bids/s, racing bidders, embedded backend"):
        busy = by_name[name]["busy"]
        assert 0 < busy["server"] <= 1.1 and 0 < busy["load"] <= 1.0, (name, busy)
        assert "server busy" in by_name[name]["note"]
    assert 0 < ceilings["raw protocol round trips"]["busy"]["server"] <= 1.1


def test_locust_scenario_runs_headless_against_a_server_without_failures(
        tmp_path: Path) -> None:
    server = ServerProcess(str(tmp_path))
    asyncio.run(server.start())
    try:
        stats = tmp_path / "locust"
        proc = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
             "--headless", "--host", server.base, "--host-token", server.HOST_TOKEN,
             "--lots", "2", "--bidders-per-lot", "3", "--think-min", "0.2",
             "--think-max", "0.6", "-u", "9", "-r", "9", "-t", "10s", "--csv", str(stats),
             "--only-summary"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(f"{stats}_stats.csv", newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    assert all(int(row["Failure Count"]) == 0 for row in rows.values()), rows
    assert int(rows["bid→ack"]["Request Count"]) > 0
    assert int(rows["bid→update"]["Request Count"]) > 0
    assert int(rows["subscribe"]["Request Count"]) == 8  # 6 bidders and 2 watchers
    assert int(rows["/api/lots/[lot]/bidders"]["Request Count"]) == 6


def test_the_history_measure_starts_on_the_live_lots_and_reads_an_ended_one_on_demand(
        ) -> None:
    proc = subprocess.run([sys.executable, "-m", "loadtests.history", "--lots", "300",
                           "--long", "2", "--long-bids", "600"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["ended_lots"] == 300 and result["events"] == 300 * 12 + 2 * (7 + 600)
    assert result["empty"]["lots"] == 0
    history = result["history"]
    assert history["lots"] == 302 and history["lots_in_memory"] == 2  # the long ones
    assert history["read_one_ended"] is True
    assert history["start_s"] > 0 and history["rss_mib"] > 0


def test_the_history_measure_on_redis_starts_on_the_live_lots_only() -> None:
    proc = subprocess.run([sys.executable, "-m", "loadtests.history", "--backend", "redis",
                           "--lots", "200", "--long", "1", "--long-bids", "600"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["backend"] == "redis" and result["events"] == 200 * 12 + 607
    history = result["history"]
    assert history["lots"] == 201 and history["lots_in_memory"] == 1
    assert history["read_one_ended"] is True


def test_the_lease_measure_renews_every_lease_both_ways() -> None:
    proc = subprocess.run([sys.executable, "-m", "loadtests.leases", "--lots", "3", "1200",
                           "--renewals", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert [(r["lots"], r["way"]) for r in result] == [
        (3, "one script"), (3, "script per lot"), (1200, "one script"),
        (1200, "script per lot")]
    assert all(r["cpu_ms"] > 0 and r["wall_ms"] > 0 for r in result)


def test_versus_loads_two_checkouts_at_once_and_compares_their_cpu_per_bid(
        tmp_path: Path) -> None:
    # The same checkout twice, the second's bids all signed: what signing costs.
    proc = subprocess.run([sys.executable, "-m", "loadtests.versus", str(ROOT), "--lots", "6",
                           "--windows", "2", "--window-s", "1", "--signed", "after"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    for version in ("before", "after"):
        figures = result[version]
        assert figures["checkout"] == str(ROOT)
        assert len(figures["bids"]) == 2 and all(n > 0 for n in figures["bids"])
        assert all(0 < us < 1e6 for us in figures["cpu_us_per_bid"])
    assert result["after_over_before"] == round(
        result["after"]["median_cpu_us_per_bid"] / result["before"]["median_cpu_us_per_bid"],
        3)
    assert "window 2 of 2" in proc.stderr and result["racing"] == 0
    assert result["signed"] == ["after"]  # its lots require signatures: acked bids were
    # The racing workload: lots of bidders racing for every next price.
    racing = subprocess.run([sys.executable, "-m", "loadtests.versus", str(ROOT), "--lots", "3",
                             "--racing", "5", "--windows", "1", "--window-s", "1"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert racing.returncode == 0, racing.stderr[-3000:]
    raced = json.loads(racing.stdout)
    assert raced["racing"] == 5 and raced["lots"] == 3
    assert all(raced[v]["bids"][0] > 0 for v in ("before", "after"))
    # A directory that is no checkout is refused before anything starts.
    refused = subprocess.run([sys.executable, "-m", "loadtests.versus", str(tmp_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "is not a checkout of this project" in refused.stderr
    refused = subprocess.run([sys.executable, "-m", "loadtests.versus", str(ROOT), "--racing",
                              "5", "--signed", "both"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "not with --racing" in refused.stderr


def test_the_scaling_phase_moves_each_lots_clients_to_its_owner_and_measures_every_count(
) -> None:
    from loadtests.bench import REDIS, Bench

    cpus = os.sched_getaffinity(0)
    bench = Bench(quick=True, backend=REDIS)
    results = asyncio.run(bench.run_scaling())
    # The load ran on its own CPUs, and this process is back on all it had after.
    assert len(cpus) < 2 or bench.load_cpus and set(bench.load_cpus) < cpus
    assert os.sched_getaffinity(0) == cpus
    # The quick scale's 40 lots: lot i is owned by process i mod n, its bidders connect to
    # processes i and i + 1 (one of them moves) and its watcher to the first (it moves
    # unless the first owns the lot).
    lots = 40
    moved = {1: 0, 2: lots + lots // 2, 4: lots + lots * 3 // 4}
    for count in (1, 2, 4):
        figure = results[f"cpu_per_1000_p{count}"]
        assert figure["value"] and figure["value"] > 0, figure
        assert figure["errors"] == 0 and figure["paced_cpu_per_1000"], figure
        assert f"; {moved[count]} connections moved to the lot's owner" in figure["note"], (
            count, figure["note"])
        # what each accepted bid cost the servers, summed over them
        use = figure["per_bid"]
        assert set(use) == {"user_us", "system_us", "reads", "writes", "preempted"}, use
        assert use["user_us"] > 0 and use["reads"] > 0 and use["writes"] > 0, use
        assert use["preempted"] >= 0, use


def test_the_latency_to_the_last_member_counts_every_connection_of_every_driver() -> None:
    from loadtests.bench import merged, update_latencies

    # Two drivers number their connections each from 0: lot L1's "L1#0" is a watcher in
    # one and a bidder in the other, and the watcher is the last to see bid 2.
    watchers = {"L1#0": [[1, 1_000_000], [2, 12_000_000]]}
    bidders = {"L1#0": [[1, 3_000_000], [2, 4_000_000]],
               "L1#1": [[1, 2_000_000], [2, 9_000_000]]}
    acks = [[0, 1, 0, 0, 0], [0, 2, 0, 2_000_000, 0]]
    frames = merged(watchers, bidders)
    assert len(frames) == 3
    assert update_latencies(acks, frames, ["L1"]) == ([3.0, 10.0], 0)
    # a member whose first frame came after a bid never saw it: counted, not timed
    late = merged(watchers, {"L1#5": [[2, 2_500_000]]})
    assert update_latencies(acks, late, ["L1"]) == ([10.0], 1)
