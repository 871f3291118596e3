"""Throwaway Redis and PostgreSQL servers for the tests: own ports, own data directories,
started from the installed binaries (``./dev test`` installs them) and killed after.

Nothing here falls back to a server that happens to be running: a missing binary fails
the test with a clear message.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import free_port, wait_for_port


def _need(path: str | None, what: str) -> str:
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{what} not found ({path!r}): run the tests with `./dev test`, which "
                    "installs Debian's redis-server and postgresql", pytrace=False)
    return path


class RedisServer:
    """``redis-server`` with ``appendonly yes`` and ``appendfsync always``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.binary = _need(os.environ.get("AUCTION_REDIS_SERVER")
                            or shutil.which("redis-server"), "redis-server")
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", str(self.dir / "redis.log"), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, 20)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def flush(self) -> None:
        subprocess.run([str(Path(self.binary).with_name("redis-cli")), "-p", str(self.port),
                        "FLUSHALL"], check=True, capture_output=True)


def _pg_bin() -> Path:
    configured = os.environ.get("AUCTION_PG_BIN")
    candidates = [Path(configured)] if configured else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: run the tests with "
                "`./dev test`, which installs Debian's postgresql", pytrace=False)


class PostgresServer:
    """A PostgreSQL cluster in its own directory. As root it runs as user ``postgres``
    (PostgreSQL refuses to run as root)."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self.bin = _pg_bin()
        # Under /tmp itself, not pytest's private (0700, root's) tmp: user postgres must
        # reach it.
        self.dir = data_dir or Path(tempfile.mkdtemp(prefix="auction-pg-"))
        self.port = port or free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
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
        if self.running():
            return
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "db"), "-w", "-t", "60",
                  "-l", str(self.dir / "pg.log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "db"), "-m", mode, "-w",
                  "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        self._run(str(self.bin / "psql") if (self.bin / "psql").exists() else "psql",
                  "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres",
                  "-c", f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def _port_pair() -> int:
    import random
    import socket

    while True:
        port = random.randint(20000, 29999)
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port


class RedisCluster:
    """A Redis Cluster of ``size`` masters on free ports (no replicas)."""

    def __init__(self, data_dir: Path, size: int = 3) -> None:
        # A node also listens on port + 10000 (the cluster bus): pick ports with both free.
        self.nodes = [RedisServer(data_dir / f"node{i}", _port_pair()) for i in range(size)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> None:
        for node in self.nodes:
            node.start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
        cli = str(Path(self.nodes[0].binary).with_name("redis-cli"))
        subprocess.run([cli, "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        for node in self.nodes:  # every slot served before anyone connects
            wait_until(lambda n=node: b"cluster_state:ok" in subprocess.run(
                [cli, "-p", str(n.port), "cluster", "info"], capture_output=True).stdout, 20)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
