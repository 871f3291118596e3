"""Throwaway services for the benchmark: the server under test, a Redis with
``appendfsync always`` and a PostgreSQL cluster, each on its own free port and directory
on 127.0.0.1, stopped by the harness when it is done.

These are also the test suite's (``tests/services.py`` wraps them so that a missing tool
fails the test with what to do, and ``tests/helpers.py`` names the tests' tokens): one
way to start each service. They do not depend on pytest and can pin a process to chosen
CPUs.
"""

import contextlib
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import aiohttp


class ServiceError(RuntimeError):
    """A service could not be started; the message says what is missing."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise ServiceError(f"the process on port {port} exited with "
                                   f"{proc.returncode}") from None
            if time.monotonic() > deadline:
                raise ServiceError(f"nothing listens on port {port} after {timeout}s") from None
            time.sleep(0.02)


def preexec(cpus: Sequence[int] | None) -> Callable[[], None]:
    """What a child runs before ``exec``: its own process group, the highest open-file
    limit, and the given CPUs."""

    def setup() -> None:
        os.setpgrp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, cpus)

    return setup


@contextlib.contextmanager
def pinned(cpus: Sequence[int] | None) -> Iterator[None]:
    """This process on ``cpus`` (None or empty: unchanged) for the block, and back on the
    CPUs it had after it: a run inside a longer-lived process (a test worker) must not
    leave it on fewer CPUs."""
    before = os.sched_getaffinity(0) if cpus and hasattr(os, "sched_setaffinity") else None
    if before is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, before)


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (from /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ServiceError(f"no VmRSS for process {pid}")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> int:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit status (0 when there was
    no process)."""
    if proc is None:
        return 0
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


class Listening:
    """A server on ``self.port`` of 127.0.0.1: its HTTP and WebSocket addresses."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


class AuctionServer(Listening):
    """``auction serve`` (``python -m web.cli serve``) in a child process, with known staff
    tokens and bidder-token secret, its output appended to ``log_path`` (by default beside
    the data directory). The one way the bench, the load tests and the test suite start
    the server (the tests' ``ServerProcess`` only names other tokens)."""

    HOST_TOKEN = "bench-host-token-0123456789"
    SUPERVISOR_TOKEN: str | None = None
    SECRET = "bench-secret-for-bidder-tokens-0123456789"

    def __init__(self, data_dir: str | Path, *, redis_url: str | None = None,
                 postgres_dsn: str | None = None, cpus: Sequence[int] | None = None,
                 port: int | None = None, extra_env: dict[str, str] | None = None,
                 log_path: Path | None = None, cwd: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        #: The directory the server runs in: its code is the checkout there, if any
        #: (``python -m`` imports from the working directory first).
        self.cwd = cwd
        self.extra_env = extra_env or {}
        self.redis_url, self.postgres_dsn = redis_url, postgres_dsn
        self.cpus = cpus
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path or self.data_dir.parent / f"server-{self.data_dir.name}.log"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--data", str(self.data_dir)]
        if self.redis_url:
            cmd += ["--redis", self.redis_url]
        if self.postgres_dsn:
            cmd += ["--postgres", self.postgres_dsn]
        return cmd

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUCTION_")}
        env.update(AUCTION_HOST_TOKENS=f"host1:{self.HOST_TOKEN}", AUCTION_SECRET=self.SECRET,
                   PYTHONUNBUFFERED="1")
        if self.SUPERVISOR_TOKEN:
            env["AUCTION_SUPERVISOR_TOKENS"] = f"super1:{self.SUPERVISOR_TOKEN}"
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60) -> float:
        """Start the server and wait until ``GET /healthz`` answers 200; return the seconds
        from the process start to that answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it
        started = time.monotonic()
        self.proc = subprocess.Popen(self.command(), env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec(self.cpus),
                                     cwd=self.cwd)
        log.close()
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServiceError(f"the server exited with {self.proc.returncode}; see "
                                   f"{self.log_path}")
            if _healthy(self.port):
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise ServiceError(f"the server did not serve within {timeout}s")
            time.sleep(0.005)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM (SIGKILL after 30 s); the exit status."""
        return stop_process(self.proc, 30)

    async def metric(self, name: str) -> float:
        """The value of the unlabelled figure ``name`` of the server's ``/metrics``, read
        with the supervisor token when the server has one (else the server must allow
        this address: ``metrics_allow``)."""
        headers = ({"Authorization": f"Bearer {self.SUPERVISOR_TOKEN}"}
                   if self.SUPERVISOR_TOKEN else {})
        async with aiohttp.ClientSession(headers=headers) as http, \
                http.get(f"{self.base}/metrics") as resp:
            if resp.status != 200:
                raise ServiceError(f"/metrics answered {resp.status}")
            text = await resp.text()
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise ServiceError(f"/metrics has no {name}")

    def output(self) -> str:
        """What the server has written to its log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _healthy(port: int) -> bool:
    """One raw ``GET /healthz`` (no client library: this polls every few ms)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = sock.recv(64)
            return head.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` with ``appendonly yes`` and ``appendfsync always`` (what the
    scale-out backend requires), on its own port and directory."""

    def __init__(self, data_dir: Path, cpus: Sequence[int] | None = None,
                 port: int | None = None) -> None:
        binary = os.environ.get("AUCTION_REDIS_SERVER") or shutil.which("redis-server")
        if not binary or not os.access(binary, os.X_OK):
            raise ServiceError(f"redis-server not found ({binary!r}): install Debian's "
                               "redis-server (./dev test does) or set AUCTION_REDIS_SERVER")
        self.binary = binary
        self.dir = data_dir
        self.cpus = cpus
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def tool(self, name: str) -> str:
        path = Path(self.binary).with_name(name)
        found = str(path) if path.exists() else shutil.which(name)
        if not found:
            raise ServiceError(f"{name} not found beside {self.binary}")
        return found

    def start(self, *extra: str) -> None:
        """Start it (``extra``: more ``redis-server`` arguments) and wait until it serves:
        it listens and has loaded what its append-only file holds (until then it answers
        every command with ``LOADING``)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", str(self.dir / "redis.log"), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=preexec(self.cpus))
        wait_for_port(self.port, 20, self.proc)
        self.wait_loaded(20)

    def wait_loaded(self, timeout: float) -> None:
        """Wait until it answers ``PING`` with ``PONG`` (a ``LOADING`` error while it
        reads its append-only file)."""
        deadline = time.monotonic() + timeout
        answer = b""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(b"PING\r\n")
                answer = conn.recv(256)
                if answer.startswith(b"+PONG"):
                    return
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise ServiceError(f"redis-server on port {self.port} not serving after {timeout}s: "
                           f"{answer[:80]!r}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        stop_process(self.proc)

    def cli(self, *args: str) -> str:
        return subprocess.run([self.tool("redis-cli"), "-p", str(self.port), *args],
                              check=True, capture_output=True, text=True, timeout=60).stdout

    def flush(self) -> None:
        """Remove every key (``FLUSHALL``)."""
        self.cli("FLUSHALL")


def pg_bin() -> Path:
    """The directory of PostgreSQL's server binaries: $AUCTION_PG_BIN, else the newest
    Debian install (also what the test suite's servers use)."""
    configured = os.environ.get("AUCTION_PG_BIN")
    candidates = [Path(configured)] if configured else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise ServiceError("PostgreSQL server binaries (initdb, pg_ctl) not found: install "
                       "Debian's postgresql (./dev test does) or set AUCTION_PG_BIN")


class PostgresServer:
    """A PostgreSQL cluster in its own directory (by default a new one under /tmp, which
    user ``postgres`` can reach). As root it runs as user ``postgres``, which PostgreSQL
    requires. ``fsync`` off is for tests that do not measure durability."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None,
                 cpus: Sequence[int] | None = None, fsync: bool = True) -> None:
        self.bin = pg_bin()
        self.dir = data_dir or Path(tempfile.mkdtemp(prefix="auction-pg-"))
        self.port = port or free_port()
        self.cpus = cpus
        self.fsync = fsync
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, timeout=120,
                              preexec_fn=preexec(self.cpus))

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """Make the cluster (``initdb``)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self._run(str(self.bin / "initdb"), "-D", str(self.dir / "db"), "-A", "trust",
                  "-U", self.user, "--no-sync", "-E", "UTF8")

    def running(self) -> bool:
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "db"), "status",
                         check=False).returncode == 0

    def start(self) -> None:
        """Start the cluster (made first when there is none); nothing when it runs."""
        if not (self.dir / "db").exists():
            self.init()
        elif self.running():
            return
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "db"), "-w", "-t", "60",
                  "-l", str(self.dir / "pg.log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                  f"-c max_connections=200{'' if self.fsync else ' -c fsync=off'}", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "db"), "-m", mode, "-w",
                  "stop", check=False)

    def create_database(self, name: str) -> str:
        psql = self.bin / "psql"
        self._run(str(psql) if psql.exists() else "psql", "-h", "127.0.0.1", "-p",
                  str(self.port), "-U", self.user, "-d", "postgres", "-c",
                  f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
