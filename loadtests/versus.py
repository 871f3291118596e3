"""Two versions of the server side by side: the CPU each spends per accepted bid, measured
at the same time on the same core.

``python -m loadtests.versus BEFORE [AFTER] [--backend redis] [--windows 5]`` runs
``auction serve`` from two checkouts (AFTER: this one by default; ``git worktree add
/tmp/before <commit>`` makes one of an older commit), both pinned to the machine's first
CPU, and loads both at once with the same workload as the throughput phase of
``auction bench`` (lots of 2 alternating bidders and 1 public watcher, as fast as
acknowledged; with ``--racing 20``, lots of 20 bidders racing for every next price, the
racing phase's), the load (drivers, Redis, PostgreSQL) on the other CPUs. For each window it
reads each server's CPU time (``/proc/<pid>/stat``) and counts its acknowledged bids,
and prints, as one JSON object, each version's CPU microseconds per accepted bid in every
window, their medians (also of its main thread alone, the event loop), and the ratio
AFTER / BEFORE. ``--env before:NAME=VALUE`` gives one version's server more environment
(the same checkout twice with two settings compares the settings); ``--server-cpus 2``
lets the servers use a second CPU, which the load then shares.

Why side by side: on a shared or virtual machine the speed of a core drifts by tens of
percent over minutes, so two versions measured one after the other differ by more than
most changes do. Two servers sharing one core at the same moment share its drift; the
ratio of their CPU per bid is what the change did. (Each gets about half of the core, so
the absolute figures are not ``auction bench``'s: compare the ratio.) The checkouts
must run with this environment's packages; on the redis backend each has its own
database on one PostgreSQL and its own lots on one Redis.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from loadtests.bench import (
    BENCH_LIMITS,
    EMBEDDED,
    REDIS,
    Api,
    Driver,
    cpu_seconds,
    http_session,
    racing_lots,
    throughput_lots,
)
from loadtests.services import (
    AuctionServer,
    PostgresServer,
    RedisServer,
    ServiceError,
    pinned,
)

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("before", "after")


def log(text: str) -> None:
    print(f"versus: {text}", file=sys.stderr, flush=True)


async def measure(checkouts: dict[str, Path], backend: str = EMBEDDED, lots: int = 150,
                  windows: int = 5, window_s: float = 4.0, warmup_s: float = 0.5,
                  racing: int = 0, signed: tuple[str, ...] = (),
                  env: dict[str, dict[str, str]] | None = None,
                  server_cpus: int = 1) -> dict[str, Any]:
    """The figures of :mod:`loadtests.versus` for ``checkouts`` (``before``, ``after``);
    with ``racing``, lots of that many bidders racing for every next price (the racing
    phase's workload) instead; the versions in ``signed`` get lots whose bids are all
    signed (ECDSA P-256) and verified, as the signed phase of ``auction bench``; ``env``:
    more environment of each version's server; the servers run on the first
    ``server_cpus`` CPUs, the load on the others (on all of them when none is left)."""
    cpus = sorted(os.sched_getaffinity(0))
    servers_on: list[int] | None = cpus[:server_cpus]
    load_cpus: list[int] | None = cpus[server_cpus:] or None
    if len(cpus) < 2:
        servers_on = load_cpus = None
    with pinned(load_cpus):
        work = Path(tempfile.mkdtemp(prefix="auction-versus-"))
        redis: RedisServer | None = None
        postgres: PostgresServer | None = None
        servers: dict[str, AuctionServer] = {}
        drivers: list[Driver] = []
        try:
            if backend == REDIS:
                redis = RedisServer(work / "redis", cpus=load_cpus)
                redis.start()
                postgres = PostgresServer(cpus=load_cpus)
                await asyncio.to_thread(postgres.start)
            for version in VERSIONS:
                dsn = (await asyncio.to_thread(postgres.create_database, f"auction_{version}")
                       if postgres is not None else None)
                server = AuctionServer(work / version, redis_url=redis.url if redis else None,
                                       postgres_dsn=dsn, cpus=servers_on,
                                       extra_env={**BENCH_LIMITS, **(env or {}).get(version, {})},
                                       cwd=checkouts[version])
                if redis is not None:  # clients are told which process owns a lot
                    server.extra_env["AUCTION_PROCESS_URL"] = server.base
                log(f"{version}: serving {checkouts[version]} after {server.start():.2f}s")
                servers[version] = server
            bidders: dict[str, Driver] = {}
            async with http_session() as http:
                for version, server in servers.items():
                    api = Api(http, server.base, AuctionServer.HOST_TOKEN)
                    session_id = await api.session()
                    if racing:
                        bidding = await racing_lots(api, session_id, server.ws_url, lots, racing,
                                                    load_cpus, f"{version}-racers")
                        drivers.append(bidding)
                    else:
                        _, bidding, watching = await throughput_lots(
                            api, session_id, server.ws_url, lots, load_cpus, version,
                            version in signed)
                        drivers += [bidding, watching]
                    bidders[version] = bidding
                samples: dict[str, list[tuple[int, float, float]]] = {v: [] for v in VERSIONS}
                for window in range(windows):
                    start = time.monotonic_ns() + int(warmup_s * 1e9)
                    until = start + int(window_s * 1e9)
                    order = ({"mode": "race"} if racing else {"mode": "max", "window": 1})
                    bidding_now = {v: asyncio.create_task(bidders[v].command(
                        {"cmd": "bid", **order, "until_ns": until},
                        timeout=window_s + 120)) for v in VERSIONS}
                    await asyncio.sleep(max(0.0, (start - time.monotonic_ns()) / 1e9))
                    before = {v: _cpu(servers[v].pid) for v in VERSIONS}
                    await asyncio.sleep(max(0.0, (until - time.monotonic_ns()) / 1e9))
                    after = {v: _cpu(servers[v].pid) for v in VERSIONS}
                    for version in VERSIONS:
                        bids = await bidding_now[version]
                        if bids["errors"]:
                            raise ServiceError(f"{version}: {bids['errors']} bids failed")
                        acked = sum(1 for a in bids["acks"] if start <= a[4] < until)
                        samples[version].append((acked, after[version][0] - before[version][0],
                                                 after[version][1] - before[version][1]))
                    log(f"window {window + 1} of {windows}: " + ", ".join(
                        f"{v} {n} bids, {_per_bid(n, cpu):.0f} us/bid ({_per_bid(n, loop):.0f} "
                        f"on its event loop)" for v, [*_, (n, cpu, loop)] in samples.items()))
        finally:
            for driver in drivers:
                with contextlib.suppress(Exception):
                    await driver.exit()
            for server in servers.values():
                server.stop()
            if redis is not None:
                redis.stop()
            if postgres is not None:
                postgres.remove()
            shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {"backend": backend, "lots": lots, "window_s": window_s,
                              "racing": racing, "signed": list(signed),
                              "server_cpus": servers_on, "env": env or {}}
    for version in VERSIONS:
        result[version] = {
            "checkout": str(checkouts[version]),
            "bids": [n for n, _, _ in samples[version]],
            "cpu_us_per_bid": [round(_per_bid(n, cpu), 1) for n, cpu, _ in samples[version]],
            "median_cpu_us_per_bid": round(statistics.median(
                _per_bid(n, cpu) for n, cpu, _ in samples[version]), 1),
            "median_loop_cpu_us_per_bid": round(statistics.median(
                _per_bid(n, loop) for n, _, loop in samples[version]), 1)}
    result["after_over_before"] = round(result["after"]["median_cpu_us_per_bid"]
                                        / result["before"]["median_cpu_us_per_bid"], 3)
    return result


def _cpu(pid: int) -> tuple[float, float]:
    """The CPU seconds of process ``pid`` and of its main thread (its event loop)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return cpu_seconds(pid), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _per_bid(bids: int, cpu: float) -> float:
    return cpu / bids * 1e6 if bids else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.versus",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the checkout of the version before")
    parser.add_argument("after", type=Path, nargs="?", default=ROOT,
                        help="the checkout of the version after (default: this one)")
    parser.add_argument("--backend", choices=(EMBEDDED, REDIS), default=EMBEDDED)
    parser.add_argument("--lots", type=int, default=150, help="lots per server (150)")
    parser.add_argument("--windows", type=int, default=5, help="windows measured (5)")
    parser.add_argument("--window-s", type=float, default=4.0, help="seconds each (4)")
    parser.add_argument("--racing", type=int, default=0, metavar="BIDDERS",
                        help="lots of BIDDERS bidders racing for every next price (the "
                        "racing phase's workload) instead of 2 alternating and a watcher")
    parser.add_argument("--signed", choices=(*VERSIONS, "both"), default=None,
                        help="that version's bids (or both's) are all signed and verified "
                        "(with the same checkout twice and --signed after: what signing "
                        "costs)")
    parser.add_argument("--env", action="append", default=[], metavar="VERSION:NAME=VALUE",
                        help="more environment of that version's server (again for more), "
                        "as before:AUCTION_VERIFY_THREADS=0")
    parser.add_argument("--server-cpus", type=int, default=1, metavar="N",
                        help="the servers run on the first N CPUs (1), the load on the rest "
                        "(on all when none is left)")
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    for version, path in checkouts.items():
        if not (path / "web" / "cli.py").is_file():
            parser.error(f"{version}: {path} is not a checkout of this project "
                         "(no web/cli.py)")
    if args.lots < 1 or args.windows < 1 or args.window_s <= 0 or args.racing < 0:
        parser.error("--lots and --windows must be at least 1, --window-s above 0, "
                     "--racing not below 0")
    if args.signed and args.racing:
        parser.error("--signed measures the throughput workload: not with --racing")
    signed = VERSIONS if args.signed == "both" else (args.signed,) if args.signed else ()
    env: dict[str, dict[str, str]] = {}
    for item in args.env:
        version, _, pair = item.partition(":")
        name, equals, value = pair.partition("=")
        if version not in VERSIONS or not name or not equals:
            parser.error(f"--env {item!r}: not VERSION:NAME=VALUE (VERSION before or after)")
        env.setdefault(version, {})[name] = value
    if args.server_cpus < 1:
        parser.error("--server-cpus must be at least 1")
    runner = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    try:
        result = runner(measure(checkouts, args.backend, args.lots, args.windows,
                                args.window_s, racing=args.racing, signed=signed, env=env,
                                server_cpus=args.server_cpus))
    except ServiceError as exc:
        print(f"versus: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
