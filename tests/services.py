"""Throwaway Redis and PostgreSQL servers for the tests: own ports, own data directories,
started from the installed binaries (``./dev test`` installs them) and killed after.

Nothing here falls back to a server that happens to be running: a missing binary fails
the test with a clear message.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import free_port, wait_for_port
from loadtests.services import ServiceError, pg_bin


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
    try:
        return pg_bin()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)


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


#: The nginx site of the deployment (docs/deployment.md), a template.
NGINX_SITE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "auction.conf"


def render_site(template: str, values: dict[str, str]) -> str:
    """The nginx site with its ``${AUCTION_...}`` placeholders filled in, as
    ``envsubst`` with the list of those names does (nginx's own ``$variables`` stay);
    a placeholder without a value is an error."""
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"no value for the placeholder {match.group(0)}")
        return values[match.group(1)]

    return re.sub(r"\$\{(AUCTION_[A-Z0-9_]+)\}", value, template)


def make_test_certificate(directory: Path, names: tuple[str, ...] = ("auction.test",),
                          addresses: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for ``names`` and ``addresses``, valid for
    a day: ``(cert, key)``. Clients trust it as their only CA."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    alt = ",".join([f"DNS:{n}" for n in names] + [f"IP:{a}" for a in addresses])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", f"/CN={names[0]}", "-addext",
                    f"subjectAltName={alt}"], check=True, capture_output=True, timeout=60)
    return cert, key


class NginxServer:
    """Debian's nginx with the deployment's site (``deploy/nginx/auction.conf``) in a
    main configuration of its own: its own prefix, pid, logs and temporary directories,
    in the foreground, one worker (so upstreams are taken in turn). The access log names
    the upstream each request went to."""

    def __init__(self, directory: Path, site: dict[str, str]) -> None:
        self.binary = _need(os.environ.get("AUCTION_NGINX") or shutil.which("nginx")
                            or "/usr/sbin/nginx", "nginx")
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.site = site
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        return self.dir / "access.log"

    def configure(self) -> Path:
        d = self.dir
        (d / "auction.conf").write_text(render_site(NGINX_SITE.read_text(), self.site))
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (d / temp).mkdir(exist_ok=True)
        # As root the workers would run as nobody, who cannot reach pytest's directories.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        main = d / "nginx.conf"
        main.write_text(f"""\
daemon off;
master_process on;
worker_processes 1;
{user}pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 4096; }}
http {{
    log_format upstreams '$remote_addr $upstream_addr "$request" $status';
    access_log {d}/access.log upstreams;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/auction.conf;
}}
""")
        return main

    def start(self, port: int) -> None:
        main = self.configure()
        command = [self.binary, "-p", str(self.dir), "-c", str(main), "-e",
                   str(self.dir / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", port, 20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the open requests
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
