"""``auction bench``: every figure of ``../shared/BENCHMARKS.md``, measured on this machine
beside the ceilings it is compared with, printed as one JSON object.

Everything runs in its own process on 127.0.0.1 and stops by itself:

* the server under test is ``auction serve`` (``python -m web.cli serve``), on the
  embedded backend or on its own Redis (``appendfsync always``) and PostgreSQL;
* the load comes from driver processes (:mod:`loadtests.drivers`: asyncio, ``websockets``
  handshakes, lean frame parsing) and the HTTP setup from this process;
* the ceilings (:mod:`loadtests.ceilings`) run while nothing else does.

The server gets the first CPU, everything else (drivers, this process, Redis,
PostgreSQL, the raw fan-out server's clients) the others: on a 2-core machine, one core
each. Latencies are taken by the clients (``time.monotonic_ns()``, one clock for every
process of the machine); percentiles are over every sample.

``--quick`` measures the same figures with smaller numbers (fewer sockets, shorter
windows, fewer kill -9 runs) and finishes within 60 seconds; each figure's ``note`` says
what it was measured with.
"""

import asyncio
import bisect
import compileall
import contextlib
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from auction.money import format_amount, parse_amount
from auction.state import ENDED
from engine.runtime import UNFOLLOW_S
from loadtests import ceilings
from loadtests.services import (
    AuctionServer,
    PostgresServer,
    RedisServer,
    ServiceError,
    free_port,
    pinned,
    preexec,
    rss_kib,
)

EMBEDDED, REDIS = "embedded", "redis"
#: Limits of the server under test: every client of the benchmark comes from 127.0.0.1,
#: and one bidder bids far faster than a person would.
BENCH_LIMITS = {"AUCTION_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
                "AUCTION_ADDRESS_RATE": "10000000", "AUCTION_BID_RATE": "100000"}
LOT_PARAMS: dict[str, Any] = {"start_price": "1000.00", "step": "1.00", "duration_s": 3600,
                              "deposit": "1.00"}


@dataclass(frozen=True)
class Scale:
    """How big each measurement is."""

    sockets: int
    room: int
    room_bidders: int
    room_window: int
    lots: int
    closing_lots: int
    warmup_s: float
    window_s: float
    kill_runs: int
    redis_requests: int
    pg_copy_rows: int
    pg_seconds: float
    race_lots: int
    race_bidders: int
    #: Lots of the CPU-per-bid phase (redis backend), its window (s), and how many
    #: windows of each process count it takes, in turns (the figure: their median).
    scale_lots: int
    scale_window_s: float
    scale_rounds: int

    @classmethod
    def of(cls, quick: bool) -> "Scale":
        if quick:
            return cls(sockets=2000, room=1000, room_bidders=50, room_window=8, lots=150,
                       closing_lots=40, warmup_s=0.5, window_s=2.0, kill_runs=3,
                       redis_requests=30_000, pg_copy_rows=30_000, pg_seconds=0.7,
                       race_lots=10, race_bidders=20, scale_lots=40, scale_window_s=1.5,
                       scale_rounds=3)
        return cls(sockets=10_000, room=1000, room_bidders=50, room_window=8, lots=400,
                   closing_lots=200, warmup_s=2.0, window_s=10.0, kill_runs=100,
                   redis_requests=300_000, pg_copy_rows=200_000, pg_seconds=3.0,
                   race_lots=50, race_bidders=20, scale_lots=200, scale_window_s=4.0,
                   scale_rounds=6)


#: Bids per second offered in the 1,000-member room while every member's latency is
#: measured (the room target of ../shared/BENCHMARKS.md).
ROOM_RATE = 50

#: How long the harness keeps an idle HTTP connection to a server (s): well within the
#: server's keep-alive (``http_header_timeout_s``, 10 s by default), so that the harness
#: never sends on a connection the server is closing (a reset, after a long phase).
HTTP_KEEPALIVE_S = 4.0


def http_session() -> aiohttp.ClientSession:
    """The harness's HTTP client (see :data:`HTTP_KEEPALIVE_S`)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(
        keepalive_timeout=HTTP_KEEPALIVE_S))


def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def percentile(samples: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of every sample (nearest rank), or None without any."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError):
        memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "cpu_model": model, "memory_mib": memory, "python": platform.python_version(),
            "kernel": platform.release()}


# --------------------------------------------------------------------------- processes


class Driver:
    """A load-generator process (:mod:`loadtests.drivers`)."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name = proc, name
        self.ready: dict[str, Any] = {}

    @classmethod
    async def start(cls, name: str, job: dict[str, Any], cpus: list[int] | None) -> "Driver":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loadtests.drivers", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=2**28, preexec_fn=preexec(cpus))
        driver = cls(proc, name)
        await driver.send(job)
        return driver

    async def wait_ready(self, timeout: float = 120) -> dict[str, Any]:
        self.ready = await self.read(timeout)
        if self.ready.get("failed"):
            log(f"{self.name}: {self.ready['failed']}")
        return self.ready

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(orjson.dumps(message) + b"\n")
        await self.proc.stdin.drain()

    async def read(self, timeout: float = 120) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"driver {self.name} exited ({self.proc.returncode})")
        answer: dict[str, Any] = orjson.loads(line)
        return answer

    async def command(self, message: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        await self.send(message)
        return await self.read(timeout)

    async def exit(self) -> None:
        with contextlib.suppress(Exception):
            await self.send({"cmd": "exit"})
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class Api:
    """The server's HTTP API, as a host."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base = http, base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.limit = asyncio.Semaphore(32)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.limit:
            for attempt in range(5):
                async with self.http.request(method, self.base + path, json=body,
                                             headers=self.headers) as resp:
                    data = await resp.json()
                    if resp.status < 300:
                        return data
                    if resp.status != 503 or attempt == 4:
                        raise RuntimeError(f"{method} {path}: {resp.status} {data}")
                await asyncio.sleep(0.2)
        raise AssertionError("unreachable")

    async def session(self) -> str:
        return str((await self.call("POST", "/api/sessions", {"name": "bench"}))["session_id"])

    async def lot(self, session_id: str, params: dict[str, Any]) -> str:
        lot = await self.call("POST", "/api/lots", {"session_id": session_id, "title": "bench",
                                                    "format": "english", "params": params})
        return str(lot["lot_id"])

    async def bidder(self, lot_id: str, n: int, deposit: bool) -> str:
        bidder_id = f"bidder-{n:05d}"
        reg = await self.call("POST", f"/api/lots/{lot_id}/bidders",
                              {"bidder_id": bidder_id, "name": f"Bidder {n}"})
        if deposit:
            await self.call("POST", f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit",
                            {"amount": "1.00", "account": f"acct-{n}"})
        return str(reg["token"])

    async def open(self, lot_id: str) -> None:
        await self.call("POST", f"/api/lots/{lot_id}/schedule", {})
        await self.call("POST", f"/api/lots/{lot_id}/start", {})

    async def events(self, lot_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after = 0
        while True:
            page = await self.call("GET", f"/api/lots/{lot_id}/events?after={after}&limit=10000")
            out.extend(page["events"])
            if not page["events"]:
                return out
            after = page["last_seq"]

    async def state(self, lot_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.call("GET", f"/api/lots/{lot_id}")
        return data

    async def bidding_lot(self, session_id: str, bidders: int,
                          params: dict[str, Any] | None = None,
                          watchers_only: int = 0) -> dict[str, Any]:
        """A started lot with ``bidders`` bidders who paid the deposit (and
        ``watchers_only`` registered bidders who did not): its driver spec."""
        p = dict(LOT_PARAMS if params is None else params)
        lot_id = await self.lot(session_id, p)
        tokens = list(await asyncio.gather(*(self.bidder(lot_id, n, n < bidders)
                                             for n in range(bidders + watchers_only))))
        await self.open(lot_id)
        return {"lot_id": lot_id, "tokens": tokens[:bidders], "others": tokens[bidders:],
                "price": parse_amount(p["start_price"]), "step": parse_amount(p["step"]),
                "closes_at": p.get("closes_at")}


def driver_lot(spec: dict[str, Any], record: bool = False) -> dict[str, Any]:
    return {"lot_id": spec["lot_id"], "tokens": spec["tokens"], "price": spec["price"],
            "step": spec["step"], "closes_at": spec.get("closes_at"), "record": record}


def in_window(buckets: list[list[int]], start_ns: int, end_ns: int) -> tuple[int, float]:
    """Frames counted in the 100 ms buckets lying wholly inside [start, end), and the
    seconds those buckets cover."""
    first = -(-start_ns // 100_000_000)
    last = end_ns // 100_000_000
    count = sum(n for b, n in buckets if first <= b < last)
    return count, max(0, last - first) / 10


# --------------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, quick: bool = False, backend: str = EMBEDDED,
                 workdir: Path | None = None) -> None:
        if backend not in (EMBEDDED, REDIS):
            raise ValueError(f"unknown backend {backend!r}")
        self.quick, self.backend = quick, backend
        self.scale = Scale.of(quick)
        self.workdir = workdir
        cpus = sorted(os.sched_getaffinity(0))
        self.server_cpus = cpus[:1] if len(cpus) > 1 else None
        self.load_cpus = cpus[1:] if len(cpus) > 1 else None
        self.results: dict[str, dict[str, Any]] = {}
        self.ceilings: dict[str, dict[str, Any]] = {}
        self.details: dict[str, Any] = {}
        self.redis: RedisServer | None = None
        self.postgres: PostgresServer | None = None
        self.server: AuctionServer | None = None
        self.session_id = ""
        self._dsn: str | None = None
        self.machine: dict[str, Any] = {}

    # -------------------------------------------------------------- helpers

    def figure(self, key: str, value: float | int | None, note: str = "",
               **extra: Any) -> None:
        self.results[key] = {"value": value, "note": note, **extra}

    def ceiling(self, key: str, name: str, value: float | None, unit: str, how: str,
                **extra: Any) -> None:
        self.ceilings[key] = {"ceiling": name, "value": value, "unit": unit, "how": how,
                              **extra}

    def new_server(self, name: str, redis_url: str | None = None) -> AuctionServer:
        assert self.workdir is not None
        server = AuctionServer(
            self.workdir / name, cpus=self.server_cpus,
            redis_url=redis_url or (self.redis.url if self.backend == REDIS and self.redis
                                    else None),
            postgres_dsn=self._dsn if self.backend == REDIS else None, extra_env=BENCH_LIMITS)
        if server.redis_url:  # clients are told which process owns a lot
            server.extra_env = {**BENCH_LIMITS, "AUCTION_PROCESS_URL": server.base,
                                "AUCTION_METRICS_ALLOW": "127.0.0.1/32"}
        return server

    async def bid_window(self, driver: Driver, mode: str, pid: int | None = None,
                         **options: Any) -> tuple[list[list[Any]], dict[str, Any]]:
        """Let ``driver`` bid (``mode``, with the driver's ``options``) through the warm-up
        and then the scale's window: the acknowledgements inside the window, and the
        driver's whole answer, with how busy the server (``pid``, by default the run's)
        and the load were in the window."""
        s = self.scale
        start = time.monotonic_ns() + int(s.warmup_s * 1e9)
        until = start + int(s.window_s * 1e9)
        if pid is None:
            assert self.server is not None
            pid = self.server.pid
        busy = asyncio.create_task(self.busy_between(pid, start, until))
        bids = await driver.command({"cmd": "bid", "mode": mode, "until_ns": until, **options},
                                    timeout=s.window_s + 120)
        bids["busy"] = await busy
        return [a for a in bids["acks"] if start <= a[4] < until], bids

    async def busy_between(self, pid: int, start: int, until: int) -> dict[str, float]:
        """How busy the server process and the load's CPUs were between two
        ``time.monotonic_ns`` instants: each a share of the time (1.0: always running;
        the load's is the mean over its CPUs). A rate measured while the server was not
        busy all the time is the load's, not the server's."""
        await asyncio.sleep(max(0.0, (start - time.monotonic_ns()) / 1e9))
        server, (busy, total) = cpu_seconds(pid), cpus_busy(self.load_cpus)
        began = time.monotonic_ns()
        await asyncio.sleep(max(0.0, (until - began) / 1e9))
        server = cpu_seconds(pid) - server
        after_busy, after_total = cpus_busy(self.load_cpus)
        seconds = (time.monotonic_ns() - began) / 1e9
        # the load's share of the time its CPUs accounted for (busy and idle alike, in
        # clock ticks): a share of the wall-clock window counts whole ticks, which can
        # come to a little more than the window
        ticks = after_total - total
        return {"server": round(server / seconds, 3),
                "load": round((after_busy - busy) / ticks, 3) if ticks else 0.0}

    async def driver(self, name: str, job: dict[str, Any]) -> Driver:
        return await Driver.start(name, job, self.load_cpus)

    # -------------------------------------------------------------- run

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.machine = machine()
        compile_project()
        own = self.workdir is None
        if own:
            self.workdir = Path(tempfile.mkdtemp(prefix="auction-bench-"))
        try:
            with pinned(self.load_cpus):
                await self._run_all()
        finally:
            if self.server is not None:
                self.server.stop()
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                self.postgres.remove()
            if own and self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return self.report(time.monotonic() - started)

    async def run_scaling(self) -> dict[str, Any]:
        """The scaling phase alone (redis backend), on a Redis and a PostgreSQL of its
        own; the figures it makes."""
        assert self.backend == REDIS
        self.workdir = Path(tempfile.mkdtemp(prefix="auction-bench-"))
        try:
            with pinned(self.load_cpus):
                self.redis = RedisServer(self.workdir / "redis", cpus=self.load_cpus)
                self.redis.start()
                self.postgres = PostgresServer(cpus=self.load_cpus)
                await asyncio.to_thread(self.postgres.start)
                self._dsn = await asyncio.to_thread(self.postgres.create_database, "auction")
                async with http_session() as http:
                    await self.measure_scaling(http)
        finally:
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                self.postgres.remove()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.results

    async def _run_all(self) -> None:
        assert self.workdir is not None
        log(f"backend {self.backend}, {'quick' if self.quick else 'full'} scale, "
            f"server on CPUs {self.server_cpus}, load on {self.load_cpus}")
        await self.measure_ceilings()
        if self.backend == REDIS:
            self.redis = RedisServer(self.workdir / "redis", cpus=self.load_cpus)
            self.redis.start()
        self.server = self.new_server("data")
        seconds = self.server.start()
        self.figure("start", seconds, "empty data directory")
        log(f"server serving after {seconds:.3f}s")
        async with http_session() as http:
            api = Api(http, self.server.base, AuctionServer.HOST_TOKEN)
            self.session_id = await api.session()
            await self.measure_sockets(api)
            await self.measure_room(api)
            lots = await self.measure_throughput(api)
            await self.measure_latency(api, lots)
            await self.measure_signed(api, lots["max"])
            await self.measure_racing(api)
            if self.backend == REDIS:
                await self.measure_scaling(http)
        events = await self.measure_restart()
        restart = self.results["start_recovering"]
        self.figure("start_recovering", restart["value"],
                    f"restart recovering the run's {events} events ({restart['ended']} of "
                    f"its {restart['lots']} lots ended)")
        await self.measure_kill_runs()

    # -------------------------------------------------------------- ceilings

    async def measure_ceilings(self) -> None:
        assert self.workdir is not None
        s = self.scale
        log("ceiling: raw fan-out")
        await self.raw_fanout()
        log("ceiling: raw protocol round trips")
        await self.raw_protocol()
        log("ceiling: raw Redis append, raw Postgres inserts")
        redis = RedisServer(self.workdir / "redis-ceiling", cpus=self.server_cpus)
        redis.start()
        try:
            rate = await ceilings.redis_append(redis.tool("redis-cli"),
                                               redis.tool("redis-benchmark"), redis.port,
                                               s.redis_requests)
        finally:
            redis.stop()
        self.ceiling("redis", "raw Redis append", rate, "ops/s",
                     "redis-benchmark, Lua HINCRBY + XADD, 50 clients, appendfsync always")
        self.postgres = PostgresServer(cpus=self.load_cpus)
        await asyncio.to_thread(self.postgres.start)
        dsn = await asyncio.to_thread(self.postgres.create_database, "ceiling")
        rates = await ceilings.postgres_inserts(dsn, s.pg_copy_rows, s.pg_seconds)
        self.ceiling("pg_copy", "raw Postgres insert, copy_records_to_table", rates["copy"],
                     "rows/s", f"asyncpg, one COPY of {s.pg_copy_rows} rows")
        self.ceiling("pg_many", "raw Postgres insert, executemany batches of 100",
                     rates["executemany_100"], "rows/s", "asyncpg, one connection")
        self.ceiling("pg_single", "raw Postgres insert, single autocommit insert",
                     rates["single"], "rows/s", "asyncpg, one connection, fsync on")
        if self.backend == REDIS:
            self._dsn = await asyncio.to_thread(self.postgres.create_database, "auction")

    async def raw_fanout(self) -> None:
        s = self.scale
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loadtests.ceilings", "fanout", "--port", str(port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            preexec_fn=preexec(self.server_cpus))
        try:
            assert proc.stdout is not None and proc.stdin is not None
            await asyncio.wait_for(proc.stdout.readline(), 30)
            members = [{"lot_id": "L-RAW"} for _ in range(s.room)]
            clients = await self.driver("raw-fanout-clients",
                                        {"ws_url": f"ws://127.0.0.1:{port}/", "members": members,
                                         "connect_concurrency": 100})
            ready = await clients.wait_ready()
            seconds = s.warmup_s + s.window_s
            began = time.monotonic_ns()
            proc.stdin.write(f"go {seconds}\n".encode())
            await proc.stdin.drain()
            sent = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), seconds + 60))
            report = await clients.command({"cmd": "report"})
            await self.raw_fanout_latency(proc, clients)
            await clients.exit()
            count, span = in_window(report["buckets"], began + int(s.warmup_s * 1e9),
                                    began + int(seconds * 1e9))
            rate = count / span if span else None
            self.ceiling("fanout", "raw fan-out", rate, "deliveries/s",
                         f"websockets.broadcast() of a 150-byte message to {ready['connected']}"
                         f" clients in another process, for {s.window_s}s "
                         f"(server sent {sent['sent']})")
        finally:
            if proc.returncode is None:
                proc.stdin.close()  # type: ignore[union-attr]
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    async def raw_fanout_latency(self, proc: asyncio.subprocess.Process,
                                 clients: Driver) -> None:
        """The room latency's ceiling: the raw fan-out server broadcasting
        :data:`ROOM_RATE` messages a second to the same clients, each one's time from
        just before its broadcast until the last client received it."""
        assert proc.stdout is not None and proc.stdin is not None
        s = self.scale
        await clients.command({"cmd": "record", "on": True})
        seconds = s.warmup_s + s.window_s
        proc.stdin.write(f"pace {ROOM_RATE} {seconds}\n".encode())
        await proc.stdin.drain()
        paced = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), seconds + 60))
        await asyncio.sleep(0.3)
        frames = (await clients.command({"cmd": "report"}))["frames"]
        start = paced["sent"][0][1] + int(s.warmup_s * 1e9) if paced["sent"] else 0
        sent = [[0, seq, 0, t, 0] for seq, t in paced["sent"] if t >= start]
        latency, missing = update_latencies(sent, frames, ["L-RAW"])
        self.ceiling("room_latency", "raw fan-out latency p99", percentile(latency, 0.99),
                     "ms", f"websockets.broadcast() of {ROOM_RATE} numbered 150-byte messages "
                     f"a second to {len(frames)} clients in another process, time from just "
                     f"before each broadcast until the last client received it, "
                     f"{len(latency)} messages over {s.window_s}s; {missing} not received "
                     "by every client", p50=percentile(latency, 0.5),
                     max=max(latency, default=None))

    async def raw_protocol(self) -> None:
        s = self.scale
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loadtests.ceilings", "protocol", "--port", str(port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            preexec_fn=preexec(self.server_cpus))
        try:
            assert proc.stdout is not None and proc.stdin is not None
            await asyncio.wait_for(proc.stdout.readline(), 30)
            url = f"ws://127.0.0.1:{port}/ws"
            lots = [{"lot_id": f"L-RAW{i}", "tokens": ["a", "b"], "price": 100000, "step": 100}
                    for i in range(s.lots)]
            bidders = await self.driver("raw-protocol-bidders", {"ws_url": url, "lots": lots})
            watchers = await self.driver("raw-protocol-watchers", {
                "ws_url": url, "members": [{"lot_id": x["lot_id"]} for x in lots]})
            await bidders.wait_ready()
            await watchers.wait_ready()
            acks, bids = await self.bid_window(bidders, "max", proc.pid, window=1)
            await bidders.exit()
            await watchers.exit()
            self.ceiling("protocol", "raw protocol round trips", len(acks) / s.window_s,
                         "bids/s", f"bare aiohttp answering {s.lots} lots of 2 bidders and 1 "
                         "watcher with the engine's frames (update to each member, you to the "
                         "bidder and the outbid, ack), deciding and storing nothing"
                         + busy_note(bids["busy"]), busy=bids["busy"])
            racing = [{"lot_id": f"L-RACE{i}", "price": 100000, "step": 100,
                       "tokens": [f"r{j}" for j in range(s.race_bidders)]}
                      for i in range(s.race_lots)]
            racers = await self.driver("raw-protocol-racers", {"ws_url": url, "lots": racing})
            await racers.wait_ready()
            acks, bids = await self.bid_window(racers, "race", proc.pid)
            await racers.exit()
            self.ceiling("protocol_race", "raw protocol round trips, racing bidders",
                         len(acks) / s.window_s, "bids/s",
                         f"bare aiohttp answering {s.race_lots} lots of {s.race_bidders} racing "
                         "bidders with the engine's frames: the first bid above the lot's best "
                         "acknowledged, the others refused (not_improving)"
                         + busy_note(bids["busy"]), busy=bids["busy"])
        finally:
            proc.stdin.close()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    # -------------------------------------------------------------- open sockets

    async def measure_sockets(self, api: Api) -> None:
        assert self.server is not None
        n = self.scale.sockets
        log(f"open WebSockets: {n}")
        cost = await socket_cost(api, self.session_id, self.server.ws_url, self.server.pid, n,
                                 self.load_cpus)
        note = (f"{cost['opened']} WebSockets opened and subscribed (public, over 10 lots), "
                f"{cost['open']} still open after 1 s; server RSS {cost['before']} KiB -> "
                f"{cost['after']} KiB")
        if self.quick:
            note += "; quick mode opens fewer than the 10,000 of the target"
        self.figure("sockets", cost["open"], note, failed=cost["failed"])
        self.figure("socket_memory", cost["per_socket"], "(RSS after - RSS before) / sockets")

    # -------------------------------------------------------------- fan-out

    async def measure_room(self, api: Api) -> None:
        assert self.server is not None
        s = self.scale
        log(f"fan-out: setting up a {s.room}-bidder room")
        room = await api.bidding_lot(self.session_id, s.room_bidders,
                                     watchers_only=s.room - s.room_bidders)
        members = await self.driver("room-members", {
            "ws_url": self.server.ws_url, "connect_concurrency": 100,
            "members": [{"lot_id": room["lot_id"], "token": t} for t in room["others"]]})
        bidders = await self.driver("room-bidders", {
            "ws_url": self.server.ws_url, "lots": [driver_lot(room)]})
        ready = [await members.wait_ready(), await bidders.wait_ready()]
        connected = sum(r["connected"] for r in ready)
        log(f"fan-out: {connected} room members connected; bidding")
        began = time.monotonic_ns()
        until = began + int((s.warmup_s + s.window_s) * 1e9)
        bids = await bidders.command({"cmd": "bid", "mode": "max", "window": s.room_window,
                                      "until_ns": until}, timeout=s.window_s + 120)
        await asyncio.sleep(0.3)
        reports = [await members.command({"cmd": "report"}),
                   await bidders.command({"cmd": "report"})]
        count, span = sum_windows(reports, began + int(s.warmup_s * 1e9), until)
        await self.measure_room_latency(room, members, bidders)
        await members.exit()
        await bidders.exit()
        rate = count / span if span else None
        accepted = len(bids["acks"])
        self.figure("fanout", rate,
                    f"{connected} bidders in one price-visibility lot ({s.room_bidders} of them "
                    f"bidding, {s.room_window} bids in flight): update frames received per "
                    f"second over {span:.1f}s; {accepted} bids accepted, rejected "
                    f"{bids['rejected']}, errors {bids['errors']}",
                    errors=_errors(reports) + bids["errors"])

    async def measure_room_latency(self, room: dict[str, Any], members: Driver,
                                   bidders: Driver) -> None:
        """Bid → update at every member of the fan-out phase's room, paced at
        :data:`ROOM_RATE` bids/s: for each bid, the time until the last of the room's
        members (1,000, bidders included) received an update holding it."""
        s = self.scale
        for driver in (members, bidders):
            await driver.command({"cmd": "record", "on": True})
        log(f"fan-out: {ROOM_RATE} bids/s in the room, every member's frames recorded")
        began = time.monotonic_ns()
        start = began + int(s.warmup_s * 1e9)
        until = start + int(s.window_s * 1e9)
        bids = await bidders.command({"cmd": "bid", "mode": "paced", "rate": ROOM_RATE,
                                      "until_ns": until}, timeout=s.window_s + 120)
        await asyncio.sleep(0.3)
        frames = merged((await members.command({"cmd": "report"}))["frames"],
                        (await bidders.command({"cmd": "report"}))["frames"])
        acks = [a for a in bids["acks"] if start <= a[3] < until]
        update_ms, missing = update_latencies(acks, frames, [room["lot_id"]])
        self.figure("room_update_p99", percentile(update_ms, 0.99),
                    f"{len(frames)} members of one lot (all of the fan-out phase's room), "
                    f"{ROOM_RATE} bids/s offered ({len(acks) / s.window_s:.0f}/s "
                    f"acknowledged) for {s.window_s}s, {len(acks)} samples, latency to the "
                    f"last member; {missing} bids not seen by every member; "
                    f"{bids['behind']} bids sent >5 ms behind schedule, rejected "
                    f"{bids['rejected']}, errors {bids['errors']}",
                    p50=percentile(update_ms, 0.5), max=max(update_ms, default=None),
                    errors=bids["errors"])

    # -------------------------------------------------------------- throughput

    async def measure_throughput(self, api: Api, signed: bool = False) -> dict[str, Any]:
        """Bids/s and ack latency over many lots; ``signed``: lots that require signatures,
        each bid signed (ECDSA P-256) by the driver and verified by the server."""
        assert self.server is not None
        s = self.scale
        what = "signed throughput" if signed else "throughput"
        log(f"{what}: setting up {s.lots} lots")
        specs, bidders, watchers = await throughput_lots(
            api, self.session_id, self.server.ws_url, s.lots, self.load_cpus, "lot", signed)
        log("throughput: bidding as fast as acknowledgements come back")
        acks, bids = await self.bid_window(bidders, "max", window=1)
        rate = len(acks) / s.window_s
        await asyncio.sleep(0.2)
        await bidders.command({"cmd": "report"})
        await watchers.command({"cmd": "report"})
        note = (f"{s.lots} lots, each 2 bidders alternating and 1 public watcher; "
                f"acknowledged bids per second over {s.window_s}s; rejected "
                f"{bids['rejected']}, errors {bids['errors']}")
        key = "bids_embedded" if self.backend == EMBEDDED else "bids_redis"
        if signed:
            key, note = "bids_signed", note + "; every bid signed and verified"
        self.figure(key, rate, note + busy_note(bids["busy"]), errors=bids["errors"],
                    busy=bids["busy"],
                    ack_p50_ms=_ms(percentile([(a[4] - a[3]) for a in acks], 0.5)),
                    ack_p99_ms=_ms(percentile([(a[4] - a[3]) for a in acks], 0.99)))
        log(f"{what}: {rate:.0f} bids/s")
        return {"specs": specs, "bidders": bidders, "watchers": watchers, "max": rate}

    async def measure_signed(self, api: Api, unsigned: float) -> None:
        """The cost of signatures: the throughput phase again on lots that require them,
        judged against the same phase without (``unsigned`` bids/s)."""
        self.ceiling("signatures_off", "the throughput phase with signatures off", unsigned,
                     "bids/s", "the same lots, bidders and window, unsigned bids")
        measured = await self.measure_throughput(api, signed=True)
        await measured["bidders"].exit()
        await measured["watchers"].exit()

    async def measure_racing(self, api: Api) -> None:
        """Accepted bids/s with every bidder of a lot racing for each next price."""
        assert self.server is not None
        s = self.scale
        log(f"racing: setting up {s.race_lots} lots of {s.race_bidders} bidders")
        racers = await racing_lots(api, self.session_id, self.server.ws_url, s.race_lots,
                                   s.race_bidders, self.load_cpus, "racers")
        acks, bids = await self.bid_window(racers, "race")
        await racers.exit()
        rate = len(acks) / s.window_s
        self.figure(f"bids_race_{self.backend}", rate,
                    f"{s.race_lots} lots, each {s.race_bidders} bidders racing for every next "
                    f"price; acknowledged bids per second over {s.window_s}s; rejected "
                    f"{sum(bids['rejected'].values())} ({', '.join(sorted(bids['rejected']))})"
                    f", errors {bids['errors']}; the ceiling, like the engine, acknowledges "
                    "one bid per price and refuses the others (answered_per_s: every answer, "
                    "warm-up included)" + busy_note(bids["busy"]),
                    errors=bids["errors"], busy=bids["busy"],
                    answered_per_s=(len(bids["acks"]) + sum(bids["rejected"].values()))
                    / (s.warmup_s + s.window_s),
                    ack_p99_ms=_ms(percentile([(a[4] - a[3]) for a in acks], 0.99)))
        log(f"racing: {rate:.0f} bids/s")

    async def measure_scaling(self, http: aiohttp.ClientSession) -> None:
        """CPU-seconds per 1,000 accepted bids summed over all server processes, at 1, 2
        and 4 processes on the run's Redis and Postgres: each lot created on (so owned by)
        one process, its 2 bidders connecting to two different processes and 1 watcher
        to the first (each told by the server which process owns the lot, and moving
        there); each process's CPU time from /proc/<pid>/stat around each window. The
        three set-ups are made first; then windows of bids as fast as acknowledged, the
        counts in turn, ``scale_rounds`` times (the figure: the median of each count's),
        and one window of each count paced at half of one process's maximum."""
        s = self.scale
        servers = [self.new_server(f"scale{i}") for i in range(4)]
        log("scaling: starting 4 more server processes on the same Redis")
        await asyncio.gather(*(asyncio.to_thread(server.start) for server in servers))
        setups: dict[int, tuple[list[AuctionServer], Driver, Driver, int]] = {}
        try:
            for count in (1, 2, 4):
                used = servers[:count]
                apis = [Api(http, server.base, AuctionServer.HOST_TOKEN) for server in used]
                session = await apis[0].session()
                specs = list(await asyncio.gather(*(
                    apis[i % count].bidding_lot(session, 2) for i in range(s.scale_lots))))
                lots = [{**driver_lot(x), "ws_urls": [used[(i + j) % count].ws_url
                                                      for j in range(2)]}
                        for i, x in enumerate(specs)]
                bidders = await self.driver(f"scale{count}-bidders",
                                            {"ws_url": used[0].ws_url, "lots": lots})
                watchers = await self.driver(f"scale{count}-watchers", {
                    "ws_url": used[0].ws_url,
                    "members": [{"lot_id": x["lot_id"]} for x in specs]})
                moved = sum([(await bidders.wait_ready())["moved_to_owner"],
                             (await watchers.wait_ready())["moved_to_owner"]])
                setups[count] = (used, bidders, watchers, moved)
            # The steady state: the processes the clients left stop following their
            # lots (UNFOLLOW_S after the last client left).
            await settled(servers, len(setups) * s.scale_lots)
            peaks: dict[int, list[tuple[int, float, int]]] = {count: [] for count in setups}
            uses: dict[int, list[dict[str, float]]] = {count: [] for count in setups}
            for turn in range(s.scale_rounds):
                for count, (used, bidders, _, _) in setups.items():
                    peaks[count].append(await self.cpu_window(
                        bidders, used, {"mode": "max", "window": 1}, uses[count]))
                log(f"scaling: round {turn + 1} of {s.scale_rounds}: " + ", ".join(
                    f"{count}: {cpu / max(1, bids) * 1000:.3f}"
                    for count, [*_, (bids, cpu, _)] in peaks.items()))
            rate = max(10.0, statistics.median(
                bids for bids, _, _ in peaks[1]) / s.scale_window_s / 2)
            for count, (used, bidders, _, moved) in setups.items():
                acked, cpu, paced_errors = await self.cpu_window(
                    bidders, used, {"mode": "paced", "rate": rate})
                windows = peaks[count]
                per_1000 = statistics.median(cpu / bids * 1000 if bids else float("inf")
                                             for bids, cpu, _ in windows)
                errors = sum(e for _, _, e in windows)
                self.figure(
                    f"cpu_per_1000_p{count}", per_1000 if per_1000 != float("inf") else None,
                    f"{s.scale_lots} lots over {count} process(es) on one core, each owned by "
                    "the process that created it, 2 bidders alternating (connecting to "
                    f"{'two processes' if count > 1 else 'it'}) and 1 watcher; {moved} "
                    "connections moved to the lot's owner when told where it is; as fast as "
                    f"acknowledged, the median of {len(windows)} windows of "
                    f"{s.scale_window_s}s taken in turn with the other counts ("
                    + "; ".join(f"{bids} bids, {cpu:.2f} CPU-s" for bids, cpu, _ in windows)
                    + f"), errors {errors}; paced at {rate:.0f} bids/s (half of one process's "
                    f"maximum): {acked} bids, {cpu:.2f} CPU-s, errors {paced_errors}",
                    bids_per_s=statistics.median(b for b, _, _ in windows) / s.scale_window_s,
                    errors=errors + paced_errors, paced_bids_per_s=acked / s.scale_window_s,
                    paced_cpu_per_1000=round(cpu / acked * 1000, 3) if acked else None,
                    per_bid={k: round(statistics.median(u[k] for u in uses[count]), 3)
                             for k in uses[count][0]} if uses[count] else None)
                log(f"scaling: {count} process(es): {per_1000:.3f} CPU-s per 1,000 bids")
        finally:
            for _, bidders, watchers, _ in setups.values():
                await bidders.exit()
                await watchers.exit()
            for server in servers:
                server.stop()
        reference = self.results["cpu_per_1000_p1"]["value"]
        self.ceiling("cpu_p1", "CPU-s per 1,000 accepted bids at 1 process, same run",
                     reference, "CPU-s", "the same workload on one server process")

    async def cpu_window(self, bidders: Driver, servers: list[AuctionServer],
                         command: dict[str, Any], use: list[dict[str, float]] | None = None
                         ) -> tuple[int, float, int]:
        """Bid as ``command`` says for a warm-up and one scaling window; the bids
        acknowledged in the window, the CPU-seconds the servers used in it, and the
        bids that failed. ``use`` is given, per accepted bid summed over the servers,
        their user and system CPU (µs), system calls reading and writing, and their
        threads' involuntary context switches (:func:`process_use`)."""
        s = self.scale
        start = time.monotonic_ns() + int(s.warmup_s * 1e9)
        until = start + int(s.scale_window_s * 1e9)
        running = asyncio.create_task(bidders.command(
            {"cmd": "bid", **command, "until_ns": until}, timeout=s.scale_window_s + 120))
        await asyncio.sleep(max(0.0, (start - time.monotonic_ns()) / 1e9))
        used = [process_use(server.pid) for server in servers]
        await asyncio.sleep(max(0.0, (until - time.monotonic_ns()) / 1e9))
        used = [{k: v - was[k] for k, v in process_use(server.pid).items()}
                for server, was in zip(servers, used, strict=True)]
        summed = {k: sum(u[k] for u in used) for k in used[0]}
        bids = await running
        acked = sum(1 for a in bids["acks"] if start <= a[4] < until)
        if use is not None and acked:
            use.append({k: v / acked for k, v in summed.items()})
        return acked, (summed["user_us"] + summed["system_us"]) / 1e6, bids["errors"]

    # -------------------------------------------------------------- latency, closes

    async def measure_latency(self, api: Api, lots: dict[str, Any]) -> None:
        """Half of the maximum load, paced: first the latencies alone, then while lots
        close (with bids fired across their close instants)."""
        assert self.server is not None
        s = self.scale
        bidders: Driver = lots["bidders"]
        watchers: Driver = lots["watchers"]
        rate = max(10.0, lots["max"] / 2)
        window = s.warmup_s + s.window_s
        log(f"latency: setting up {s.closing_lots} lots that close in the phase after next")
        margin = 3.0 if self.quick else 6.0
        spread_ms = int(s.window_s * 1000 * 0.8)
        base_ms = int((time.time() + margin + window + s.warmup_s) * 1000)
        closing_specs = list(await asyncio.gather(*(
            api.bidding_lot(self.session_id, 2, {
                **{k: v for k, v in LOT_PARAMS.items() if k != "duration_s"},
                "closes_at": base_ms + (i * spread_ms) // max(1, s.closing_lots)})
            for i in range(s.closing_lots))))
        closers = await self.driver("closing-bidders", {
            "ws_url": self.server.ws_url, "lots": [driver_lot(x) for x in closing_specs]})
        await closers.wait_ready()
        waited = base_ms / 1000 - s.warmup_s - window - time.time()
        if waited > 0:
            await asyncio.sleep(waited)
        else:
            log(f"latency: setting up the closing lots took {-waited:.1f}s too long")
        log(f"latency: {rate:.0f} bids/s (half of the maximum) for {window:.1f}s")
        began = time.monotonic_ns()
        start = began + int(s.warmup_s * 1e9)
        until = began + int(window * 1e9)
        poller = None
        if self.backend == REDIS and self._dsn:
            sample = [x["lot_id"] for x in lots["specs"][:50]]
            poller = asyncio.create_task(poll_postgres(self._dsn, sample, until + 2_000_000_000))
        bids = await bidders.command({"cmd": "bid", "mode": "paced", "rate": rate,
                                      "until_ns": until}, timeout=window + 120)
        await asyncio.sleep(0.3)
        member_frames = merged((await watchers.command({"cmd": "report"}))["frames"],
                               (await bidders.command({"cmd": "report"}))["frames"])
        lot_ids = [x["lot_id"] for x in lots["specs"]]
        acks = [a for a in bids["acks"] if start <= a[3] < until]
        self.latency_figures(rate, bids, acks, member_frames, lot_ids)
        if poller is not None:
            self.postgres_lateness(await poller, acks, lot_ids)
        elif self.backend == EMBEDDED:
            self.figure("ack_to_postgres", None,
                        "not applicable to the embedded backend (no Postgres: the "
                        "acknowledgement waits for the SQLite fsync); see the redis run")
        tail_s = 0.5
        closes_end = (base_ms + spread_ms) / 1000 + tail_s
        log(f"closes: {s.closing_lots} lots close while {rate:.0f} bids/s go on")
        until = time.monotonic_ns() + int((closes_end - time.time()) * 1e9)
        await closers.send({"cmd": "bid", "mode": "close", "lead_ms": 300, "tail_ms": 300,
                            "window": 1})
        await bidders.command({"cmd": "bid", "mode": "paced", "rate": rate, "until_ns": until},
                              timeout=window + 120)
        closed = await closers.read(timeout=60)
        await closers.exit()
        await bidders.exit()
        await watchers.exit()
        await self.check_closes(api, closing_specs, closed)

    def latency_figures(self, rate: float, bids: dict[str, Any], acks: list[list[int]],
                        member_frames: dict[str, list[list[int]]], lot_ids: list[str]) -> None:
        s = self.scale
        ack_ms = [(a[4] - a[3]) / 1e6 for a in acks]
        update_ms, missing = update_latencies(acks, member_frames, lot_ids)
        achieved = len(acks) / s.window_s
        common = (f"paced at {rate:.0f} bids/s offered ({achieved:.0f}/s acknowledged) over "
                  f"{len(lot_ids)} lots for {s.window_s}s, {len(acks)} samples; "
                  f"{bids['behind']} bids sent >5 ms behind schedule")
        self.figure("ack_p99", percentile(ack_ms, 0.99), common,
                    p50=percentile(ack_ms, 0.5), max=max(ack_ms, default=None),
                    errors=bids["errors"])
        self.figure("update_p99", percentile(update_ms, 0.99),
                    common + f"; room = 2 bidders + 1 watcher, latency to the last of them; "
                    f"{missing} bids not seen by every member", p50=percentile(update_ms, 0.5),
                    max=max(update_ms, default=None))

    async def check_closes(self, api: Api, specs: list[dict[str, Any]],
                           closed: dict[str, Any]) -> None:
        lateness: list[float] = []
        after_close = 0
        unclosed = 0
        accepted = 0
        for spec in specs:
            events = await api.events(spec["lot_id"])
            close = next((e["event"] for e in events if e["event"]["type"] == "LotClosed"), None)
            if close is None:
                unclosed += 1
                continue
            lateness.append(close["at"] - close["closes_at"])
            for e in events:
                if e["event"]["type"] == "BidAccepted":
                    accepted += 1
                    if e["event"]["at"] >= close["closes_at"]:
                        after_close += 1
        acked_late = sum(1 for a in closed["acks"]
                         if a[2] >= (specs[a[0]]["closes_at"] or 0))
        note = (f"{len(specs)} lots closing while {self.scale.lots} others take half the "
                f"maximum load, with bids fired across each close; LotClosed.at - closes_at "
                f"from the record")
        if unclosed:
            note += f"; {unclosed} lots had not closed"
        self.figure("close_p99", percentile(lateness, 0.99), note,
                    p50=percentile(lateness, 0.5))
        self.figure("close_max", max(lateness, default=None), note)
        self.figure("after_close", after_close + acked_late,
                    f"{len(specs)} lots, 2 bidders each bidding one after the other from 300 ms "
                    f"before to 300 ms after the close instant: {accepted} bids accepted in them, "
                    f"{closed['rejected'].get('closed', 0)} refused as closed; accepted bids at "
                    f"or after closes_at in the record: {after_close}, acknowledgements with "
                    f"at >= closes_at: {acked_late}")

    def postgres_lateness(self, seen: dict[str, list[tuple[int, int]]],
                          acks: list[list[int]], lot_ids: list[str]) -> None:
        lateness, missing = [], 0
        for lot_index, seq, _, _, acked in acks:
            polls = seen.get(lot_ids[lot_index])
            if polls is None:
                continue
            maxima = [m for m, _ in polls]
            i = bisect.bisect_left(maxima, seq)
            if i == len(polls):
                missing += 1
                continue
            lateness.append(max(0.0, (polls[i][1] - acked) / 1e6))
        self.figure("ack_to_postgres", percentile(lateness, 0.99),
                    f"{len(lateness)} acknowledged bids of 50 sampled lots, Postgres polled every "
                    f"20 ms for max(seq) (adds up to 20 ms); {missing} not in Postgres 2 s after "
                    "the phase", p50=percentile(lateness, 0.5), max=max(lateness, default=None))

    # -------------------------------------------------------------- restarts

    async def measure_restart(self) -> int:
        assert self.server is not None
        async with http_session() as http:
            api = Api(http, self.server.base, AuctionServer.HOST_TOKEN)
            health = await api.call("GET", "/healthz")
            lots = health.get("lots", 0)
            events = ended = 0
            after = ""
            while True:  # every page of the listing
                page = await api.call("GET", f"/api/lots{after}")
                for lot in page["lots"]:
                    events += (await api.state(lot["lot_id"]))["seq"]
                    ended += lot["status"] in ENDED
                if page.get("next") is None:
                    break
                after = f"?after={page['next']}"
        self.server.stop()
        log(f"restart: recovering {lots} lots ({ended} ended), {events} events")
        seconds = self.server.start()
        self.results["start_recovering"] = {"value": seconds, "lots": lots, "ended": ended}
        self.server.stop()
        self.server = None
        return events

    async def measure_kill_runs(self) -> None:
        runs = self.scale.kill_runs
        log(f"kill -9: {runs} runs")
        server = self.new_server("kill")
        server.start()
        lost = acked = 0
        starts: list[float] = []
        try:
            async with http_session() as http:
                api = Api(http, server.base, AuctionServer.HOST_TOKEN)
                session = await api.session()
                specs = list(await asyncio.gather(*(api.bidding_lot(session, 2)
                                                    for _ in range(4))))
                for run in range(runs):
                    for spec in specs:
                        state = await api.state(spec["lot_id"])
                        spec["price"] = parse_amount(state["next_min"] or format_amount(
                            spec["price"]))
                    driver = await self.driver(f"kill-{run}", {
                        "ws_url": server.ws_url, "lots": [driver_lot(x) for x in specs]})
                    await driver.wait_ready()
                    until = time.monotonic_ns() + 3_000_000_000
                    await driver.send({"cmd": "bid", "mode": "max", "window": 1,
                                       "until_ns": until})
                    await asyncio.sleep(random.uniform(0.2, 0.6))
                    server.kill()
                    if self.backend == REDIS and self.redis is not None and run % 2:
                        self.redis.kill()
                        self.redis.start()
                    bids = await driver.read(timeout=30)
                    await driver.exit()
                    starts.append(server.start())
                    acked += len(bids["acks"])
                    lost += await self.count_lost(api, specs, bids["acks"])
        finally:
            server.stop()
        note = (f"{runs} runs: 4 lots, 2 bidders each bidding as fast as acknowledged, server "
                f"killed with SIGKILL after 0.2-0.6 s, {acked} bids acknowledged in all, "
                f"each looked up in the record after the restart")
        if self.backend == REDIS:
            note += "; Redis killed with SIGKILL too on every other run"
        if self.quick:
            note += "; quick mode runs fewer than the 100 of the target"
        self.figure("kill_lost", lost, note, runs=runs,
                    restart_s_max=max(starts, default=None))

    async def count_lost(self, api: Api, specs: list[dict[str, Any]],
                         acks: list[list[int]]) -> int:
        records: dict[str, dict[int, dict[str, Any]]] = {}
        for spec in specs:
            records[spec["lot_id"]] = {e["seq"]: e["event"] for e in await api.events(
                spec["lot_id"])}
        lost = 0
        for lot_index, seq, at, _, _ in acks:
            event = records[specs[lot_index]["lot_id"]].get(seq)
            if event is None or event["type"] != "BidAccepted" or event["at"] != at:
                lost += 1
        return lost

    # -------------------------------------------------------------- report

    def report(self, seconds: float) -> dict[str, Any]:
        c = self.ceilings
        r = self.results
        figures = []

        def add(key: str, name: str, unit: str, target: float, op: str,
                ceiling_key: str | None = None, of: str = "value") -> None:
            got = r.get(key, {"value": None, "note": "not measured"})
            value = got["value"]
            ceiling_value = c.get(ceiling_key, {}).get("value") if ceiling_key else None
            # a ratio only between rates (a latency beside an insert rate is context)
            ratio = (value / ceiling_value if value is not None and ceiling_value
                     and (unit.endswith("/s") or of == "ratio") else None)
            judged = ratio if of == "ratio" else value
            met = None if judged is None else (
                judged >= target if op == ">=" else judged <= target if op == "<=" else
                judged == target)
            entry = {"figure": name, "value": _round(value), "unit": unit,
                     "target": f"{op} {target:g}" + (" of the ceiling" if of == "ratio" else ""),
                     "ceiling": _round(ceiling_value),
                     "ceiling_name": c.get(ceiling_key, {}).get("ceiling") if ceiling_key else None,
                     "ratio": _round(ratio, 3), "met": met}
            entry.update({k: _round(v) for k, v in got.items() if k not in ("value",)})
            figures.append(entry)

        # The targets of BENCHMARKS.md.
        add("fanout", "price-update fan-out, 1,000-bidder room", "deliveries/s", 0.8, ">=",
            "fanout", of="ratio")
        add("bids_embedded", "accepted bids/s, many lots, embedded backend", "bids/s",
            0.6, ">=", "protocol", of="ratio")
        add("bids_redis", "accepted bids/s, Redis + Postgres backend, one process", "bids/s",
            0.6, ">=", "protocol", of="ratio")
        add("bids_race_embedded", "accepted bids/s, racing bidders, embedded backend",
            "bids/s", 0.6, ">=", "protocol_race", of="ratio")
        add("bids_race_redis", "accepted bids/s, racing bidders, Redis + Postgres backend, one "
            "process", "bids/s", 0.6, ">=", "protocol_race", of="ratio")
        add("cpu_per_1000_p1", "CPU-seconds per 1,000 accepted bids, 1 process, Redis backend",
            "CPU-s", 1.1, "<=", "cpu_p1", of="ratio")
        add("cpu_per_1000_p2", "CPU-seconds per 1,000 accepted bids summed over 2 processes "
            "on one Redis, Redis backend", "CPU-s", 1.1, "<=", "cpu_p1", of="ratio")
        add("cpu_per_1000_p4", "CPU-seconds per 1,000 accepted bids summed over 4 processes "
            "on one Redis, Redis backend", "CPU-s", 1.1, "<=", "cpu_p1", of="ratio")
        add("bids_signed", f"accepted bids/s, many lots, {self.backend} backend, every bid "
            "signed (ECDSA P-256) and verified", "bids/s", 0.8, ">=", "signatures_off",
            of="ratio")
        add("ack_p99", "bid -> own acknowledgement p99, at half of max load", "ms", 20, "<=")
        add("room_update_p99", "bid -> price update received by every member of the "
            f"1,000-member room p99, at {ROOM_RATE} bids/s", "ms", 25, "<=", "room_latency")
        # Not a target of this round's table (the first round's, at half of max load).
        add("update_p99", "bid -> price update received by every room member p99, at half of "
            "max load", "ms", 50, "<=")
        add("sockets", "open WebSockets on one process", "sockets", 10_000, ">=")
        add("socket_memory", "memory per open WebSocket", "KiB", 12, "<=")
        add("close_p99", "close lateness p99 (deadline -> LotClosed sequenced)", "ms", 10, "<=")
        add("close_max", "close lateness max (deadline -> LotClosed sequenced)", "ms", 50, "<=")
        add("ack_to_postgres", "bid acknowledged -> row in Postgres p99", "ms", 200, "<=",
            "pg_many")
        add("after_close", "accepted bids after the close instant", "bids", 0, "==")
        add("kill_lost", "acknowledged bids lost across kill -9 runs", "bids", 0, "==")
        add("start", "process start to serving", "s", 1, "<=")
        add("start_recovering", "process start to serving, recovering the run's record", "s",
            1, "<=")
        for entry in figures:
            if entry["value"] is None and not entry.get("note"):
                entry["note"] = "not measured"
        other = EMBEDDED if self.backend == REDIS else REDIS
        for entry in figures:
            if entry["value"] is None and "not applicable" not in (entry.get("note") or "") and (
                    entry["figure"].endswith(f"{other} backend")
                    or ("Redis" in entry["figure"] and self.backend == EMBEDDED)):
                entry["note"] = f"measured with --backend {other}"
        return {
            "bench": "auction", "backend": self.backend, "quick": self.quick,
            "seconds": round(seconds, 1), "machine": self.machine,
            "cores": {"server": self.server_cpus, "load": self.load_cpus,
                      "split": "the server process on the first CPU; load generators, the "
                               "harness, Redis and Postgres on the others"},
            "ceilings": [{k: _round(v) for k, v in x.items()} for x in c.values()],
            "figures": figures,
        }


async def throughput_lots(api: Api, session_id: str, ws_url: str, lots: int,
                          cpus: list[int] | None, name: str, signed: bool = False
                          ) -> tuple[list[dict[str, Any]], Driver, Driver]:
    """The throughput phase's set-up: ``lots`` lots of 2 bidders (each bid signed, with
    ``signed``) and 1 public watcher recording its frames, their two driver processes
    (``name``-bidders, ``name``-watchers) connected and ready."""
    params = {**LOT_PARAMS, "signatures": "required"} if signed else None
    specs = list(await asyncio.gather(*(api.bidding_lot(session_id, 2, params)
                                        for _ in range(lots))))
    bidders = await Driver.start(f"{name}-bidders", {
        "ws_url": ws_url, "lots": [{**driver_lot(x, True), "sign": signed} for x in specs]},
        cpus)
    watchers = await Driver.start(f"{name}-watchers", {
        "ws_url": ws_url, "record": True, "members": [{"lot_id": x["lot_id"]} for x in specs]},
        cpus)
    await bidders.wait_ready()
    await watchers.wait_ready()
    return specs, bidders, watchers


async def racing_lots(api: Api, session_id: str, ws_url: str, lots: int, bidders: int,
                      cpus: list[int] | None, name: str) -> Driver:
    """The racing phase's set-up: ``lots`` lots of ``bidders`` bidders each, and the
    driver process (``name``) of all their bidders, connected and ready."""
    specs = list(await asyncio.gather(*(api.bidding_lot(session_id, bidders)
                                        for _ in range(lots))))
    racers = await Driver.start(name, {"ws_url": ws_url,
                                       "lots": [driver_lot(x) for x in specs]}, cpus)
    await racers.wait_ready()
    return racers


async def settled(servers: list[AuctionServer], lots: int,
                  timeout: float = UNFOLLOW_S + 10) -> None:
    """Wait until the processes follow, together, no more lots than there are (each lot
    followed by its owner alone, where its clients are), from their
    ``auction_feed_lots``."""
    deadline = time.monotonic() + timeout
    while True:
        following = sum([await server.metric("auction_feed_lots") for server in servers])
        if following <= lots:
            return
        if time.monotonic() > deadline:
            log(f"scaling: the processes still follow {following:.0f} lots of others")
            return
        await asyncio.sleep(0.5)


def compile_project() -> None:
    """Write the bytecode of the project's packages, as an installed package has it (pip
    compiles at install; an editable install leaves it to the first import, which writes
    nothing under PYTHONDONTWRITEBYTECODE): the start measured is a deployed server's,
    not one compiling its ~100 modules first. What is compiled already is left."""
    root = Path(__file__).resolve().parent.parent
    for package in ("auction", "engine", "web", "loadtests"):
        compileall.compile_dir(root / package, quiet=1)


def busy_note(busy: dict[str, float]) -> str:
    return (f"; server busy {busy['server']:.0%} of the window, the load's CPUs "
            f"{busy['load']:.0%}")


def cpus_busy(cpus: list[int] | None) -> tuple[int, int]:
    """The clock ticks ``cpus`` (all when None) have spent not idle since boot and in
    all, each summed over them (``/proc/stat``: busy is every field but idle and
    iowait)."""
    wanted = None if cpus is None else {f"cpu{c}" for c in cpus}
    busy = total = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or (wanted and name not in wanted):
            continue
        values = [int(v) for v in fields[:8]]
        busy += sum(values) - values[3] - values[4]
        total += sum(values)
    return busy, total


def process_use(pid: int) -> dict[str, float]:
    """What process ``pid`` has used so far: user and system CPU (µs), system calls
    that read and that write (``/proc/<pid>/io``), and involuntary context switches of
    all its threads (``/proc/<pid>/task/*/status``)."""
    user, system = cpu_ticks(pid)
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    switches = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            text = status.read_text()
            switches += int(text.split("nonvoluntary_ctxt_switches:")[1].split()[0])
    return {"user_us": user * tick_us, "system_us": system * tick_us,
            "reads": int(io["syscr"]), "writes": int(io["syscw"]),
            "preempted": switches}


def cpu_ticks(pid: int) -> tuple[int, int]:
    """The user and system CPU time a process has used, in clock ticks
    (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def cpu_seconds(pid: int) -> float:
    """The user + system CPU time a process has used (s)."""
    return sum(cpu_ticks(pid)) / os.sysconf("SC_CLK_TCK")


async def socket_cost(api: Api, session_id: str, ws_url: str, pid: int, n: int,
                      cpus: list[int] | None = None) -> dict[str, Any]:
    """What ``n`` idle WebSockets cost the server process ``pid``: 10 lots are opened, then
    ``n`` public WebSockets subscribe to them from 2 driver processes; ``per_socket`` is the
    growth of the server's RSS (KiB, measured 1 s after the last subscription) divided by
    the sockets opened, ``open`` how many were still open then."""
    lots = [await api.lot(session_id, LOT_PARAMS) for _ in range(10)]
    for lot_id in lots:
        await api.open(lot_id)
    await asyncio.sleep(0.5)
    before = rss_kib(pid)
    per_driver = (n + 1) // 2
    drivers = []
    for k in range(2):
        count = min(per_driver, n - k * per_driver)
        members = [{"lot_id": lots[i % len(lots)]} for i in range(count)]
        drivers.append(await Driver.start(f"sockets-{k}", {
            "ws_url": ws_url, "members": members, "connect_concurrency": 50}, cpus))
    readies = await asyncio.gather(*(d.wait_ready(300) for d in drivers))
    opened = sum(r["connected"] for r in readies)
    await asyncio.sleep(1.0)
    after = rss_kib(pid)
    reports = await asyncio.gather(*(d.command({"cmd": "report"}) for d in drivers))
    for d in drivers:
        await d.exit()
    return {"opened": opened, "open": sum(r["open"] for r in reports), "before": before,
            "after": after, "per_socket": (after - before) / opened if opened else None,
            "failed": sum(len(r["failed"]) for r in readies)}


def sum_windows(reports: list[dict[str, Any]], start: int, end: int) -> tuple[int, float]:
    count, span = 0, 0.0
    for report in reports:
        n, span = in_window(report["buckets"], start, end)
        count += n
    return count, span


def _errors(reports: list[dict[str, Any]]) -> int:
    return sum(sum(r["errors"].values()) for r in reports)


def merged(*frames: dict[str, list[list[int]]]) -> dict[str, list[list[int]]]:
    """The recorded frames of several drivers' reports, each connection kept apart: the
    drivers number their connections each from 0 (``lot#n``), so the same key of two
    drivers is two connections."""
    return {f"{key}.{i}": seen for i, one in enumerate(frames) for key, seen in one.items()}


def update_latencies(acks: list[list[int]], member_frames: dict[str, list[list[int]]],
                     lot_ids: list[str]) -> tuple[list[float], int]:
    """For each acknowledged bid (``[lot index, seq, at, t_send_ns, t_ack_ns]``), the time
    from its sending until the last member of its lot received an update holding it (ms);
    and how many bids some member never saw."""
    by_lot = _frames_by_lot(member_frames)
    update_ms, missing = [], 0
    for lot_index, seq, _, sent, _ in acks:
        worst = 0
        for frames in by_lot.get(lot_ids[lot_index], []):
            i = bisect.bisect_right(frames[0], seq) - 1
            if i < 0:
                missing += 1
                worst = -1
                break
            worst = max(worst, frames[1][i] - sent)
        if worst >= 0:
            update_ms.append(worst / 1e6)
    return update_ms, missing


def _frames_by_lot(frames: dict[str, list[list[int]]]) -> dict[str, list[tuple[list[int],
                                                                             list[int]]]]:
    out: dict[str, list[tuple[list[int], list[int]]]] = {}
    for key, seen in frames.items():
        lot_id = key.rsplit("#", 1)[0]
        out.setdefault(lot_id, []).append(([f for f, _ in seen], [t for _, t in seen]))
    return out


async def poll_postgres(dsn: str, lot_ids: list[str], until_ns: int,
                        every_s: float = 0.02) -> dict[str, list[tuple[int, int]]]:
    """For each lot, ``(max_seq, t_ns)`` whenever Postgres shows a new maximum."""
    import asyncpg

    seen: dict[str, list[tuple[int, int]]] = {lot_id: [] for lot_id in lot_ids}
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic_ns() < until_ns:
            rows = await conn.fetch(
                "SELECT l, (SELECT max(seq) FROM events WHERE lot_id = l) AS m "
                "FROM unnest($1::text[]) AS l", lot_ids)
            now = time.monotonic_ns()
            for row in rows:
                m = row["m"]
                polls = seen[row["l"]]
                if m is not None and (not polls or polls[-1][0] < m):
                    polls.append((m, now))
            await asyncio.sleep(every_s)
    except Exception as exc:  # noqa: BLE001 - the table may not exist before the first rows
        log(f"postgres poll: {exc}")
    finally:
        await conn.close()
    return seen


def _ms(ns: float | None) -> float | None:
    return None if ns is None else ns / 1e6


def _round(value: Any, digits: int = 2) -> Any:
    if isinstance(value, float):
        return round(value, digits) if abs(value) < 1e6 else round(value)
    return value



def main(quick: bool = False, backend: str = EMBEDDED) -> int:
    """Run the benchmark and print its JSON object on stdout; progress goes to stderr."""
    runner = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    try:
        result = runner(Bench(quick, backend).run())
    except ServiceError as exc:
        print(f"auction bench: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()
    return 0

