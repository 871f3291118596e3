"""Throwaway Redis and PostgreSQL servers for the tests: own ports, own data directories,
started from the installed binaries (``./dev test`` installs them) and killed after.

Nothing here falls back to a server that happens to be running: a missing binary fails
the test with a clear message.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import wait_for_port
from loadtests import services
from loadtests.services import ServiceError


def _need(path: str | None, what: str) -> str:
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{what} not found ({path!r}): run the tests with `./dev test`, which "
                    "installs Debian's redis-server and postgresql", pytrace=False)
    return path


class RedisServer(services.RedisServer):
    """``redis-server`` (:class:`loadtests.services.RedisServer`); a missing binary fails
    the test with what to do."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        try:
            super().__init__(data_dir, port=port)
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)


class PostgresServer(services.PostgresServer):
    """A PostgreSQL cluster (:class:`loadtests.services.PostgresServer`) without fsync;
    missing binaries fail the test with what to do."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        try:
            super().__init__(data_dir, port, fsync=False)
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)


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

    @property
    def servers_log(self) -> Path:
        """Each request with the ``Server`` header of the process that answered it."""
        return self.dir / "servers.log"

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
    log_format servers '"$request" $status "$upstream_http_server"';
    access_log {d}/servers.log servers;
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
