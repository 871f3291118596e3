"""The deployment of docs/deployment.md, for real: Debian's nginx with the site of
`deploy/nginx/auction.conf` (TLS with a certificate made here) in front of two
`auction serve` processes on one Redis and one Postgres. A lot is played through it over
HTTPS and WSS from clients on several loopback addresses, and the addresses recorded are
the clients', never one a client claims."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from lotplay import hammer, setup_lot, staff_get
from services import NginxServer, PostgresServer, RedisServer, make_test_certificate

from helpers import ServerProcess, free_port
from web.client import LotClient

pytestmark = pytest.mark.slow

#: What the site allows for headers and bodies (client_header_timeout, client_body_timeout).
NGINX_TIMEOUT_S = 10.0
SLACK_S = 3.0


@dataclass
class Deployment:
    nginx: NginxServer
    backends: list[ServerProcess]
    port: int
    tls: ssl.SSLContext

    # What setup_lot and staff_get need of a server: its base URL and staff tokens.
    HOST_TOKEN = ServerProcess.HOST_TOKEN
    SUPERVISOR_TOKEN = ServerProcess.SUPERVISOR_TOKEN

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/ws"

    def client(self, lot_id: str, token: str | None, address: str,
               **options: Any) -> LotClient:
        """A client of the lot through nginx from ``address`` (a loopback address), as a
        page served by the proxy would be (its Origin)."""
        return LotClient(self.ws_url, lot_id, token, ssl=self.tls, local_addr=(address, 0),
                         origin=self.base, **options)

    def upstreams(self) -> dict[str, set[str]]:
        """From nginx's access log: the backends each client address's WebSockets went to
        (a WebSocket's line is written when it closes)."""
        seen: dict[str, set[str]] = {}
        for line in self.nginx.access_log.read_text().splitlines():
            match = re.match(r'(\S+) (\S+) "GET /ws ', line)
            if match:
                seen.setdefault(match.group(1), set()).add(match.group(2))
        return seen

    def sockets_answered_by_aiohttp(self) -> int:
        """From nginx's log of the answering processes' ``Server`` headers: the WebSockets
        a process served with aiohttp rather than its front (which names no server), i.e.
        upgrades that reached it on a reused connection."""
        return sum(line.startswith('"GET /ws ') and "aiohttp" in line
                   for line in self.nginx.servers_log.read_text().splitlines())


@pytest_asyncio.fixture
async def deployment(tmp_path: Path,
                     postgres_server: PostgresServer) -> AsyncIterator[Deployment]:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    dsn = postgres_server.create_database(f"deploy_{tmp_path.name[-20:].replace('-', '_')}")
    backends = []
    for i in range(2):
        data = tmp_path / f"backend{i}"
        data.mkdir()
        backends.append(ServerProcess(str(data), extra_env={
            "AUCTION_REDIS_URL": redis.url, "AUCTION_POSTGRES_DSN": dsn,
            "AUCTION_TRUSTED_PROXIES": "127.0.0.1"}))
    cert, key = make_test_certificate(tmp_path)
    port = free_port()
    nginx = NginxServer(tmp_path / "nginx", {
        "AUCTION_SERVER_NAME": "auction.test", "AUCTION_LISTEN": f"127.0.0.1:{port}",
        "AUCTION_TLS_CERT": str(cert), "AUCTION_TLS_KEY": str(key),
        "AUCTION_BACKENDS": " ".join(f"server 127.0.0.1:{b.port};" for b in backends)})
    try:
        for backend in backends:
            await backend.start()
        nginx.start(port)
        yield Deployment(nginx, backends, port, ssl.create_default_context(cafile=cert))
    finally:
        nginx.stop()
        hung = []
        for backend in backends:
            try:
                backend.stop()
            except subprocess.TimeoutExpired:  # kill it rather than leave it behind
                backend.kill()
                hung.append(Path(backend.data_dir, f"server-{backend.port}.log").read_text())
        redis.kill()
        assert not hung, f"a backend did not stop on SIGTERM within 20 s: {hung[0][-3000:]}"


async def test_a_lot_played_through_nginx_over_https_and_wss_records_each_client_s_own_address(
        deployment: Deployment) -> None:
    d = deployment
    lot_id, tokens = await setup_lot(d, duration_s=8, bidders=6, ssl=d.tls)  # type: ignore[arg-type]
    honest = [d.client(lot_id, tokens[i], f"127.0.0.{11 + i}") for i in range(4)]
    # Claims another address to the proxy: nginx replaces the header with its peer's.
    spoofer = d.client(lot_id, tokens[4], "127.0.0.15",
                       additional_headers={"X-Forwarded-For": "203.0.113.7"})
    # Goes round the proxy to a backend, claiming an address: the backend trusts the
    # header from its proxy only.
    direct = LotClient(d.backends[0].ws_url, lot_id, tokens[5], local_addr=("127.0.0.16", 0),
                       additional_headers={"X-Forwarded-For": "203.0.113.8"})
    watcher = d.client(lot_id, None, "127.0.0.20")
    bidders = [*honest, spoofer, direct]
    clients = [*bidders, watcher]
    addresses = {tokens[i]: f"127.0.0.{11 + i}" for i in range(6)}
    try:
        for client in clients:
            await client.connect()
        for client in clients:
            await client.wait_for(lambda c: c.state.get("status") == "open", timeout=15)
        # Each bidder bids once in turn, so that each, whichever process it reached, has a
        # bid on record (racing, those on the process that does not own the lot may lose
        # every race); then they all race.
        seq = watcher.last_seq
        for client in bidders:
            await client.wait_for(lambda c, seq=seq: c.last_seq == seq, timeout=10)
            reply = await client.bid(client.state["next_min"], timeout=5)
            assert reply["type"] == "ack", reply
            seq = reply["seq"]
        closes_at = watcher.state["closes_at"]
        until = time.monotonic() + max(0.0, (closes_at - time.time() * 1000) / 1000 - 0.7)
        await asyncio.gather(*(hammer(c, until) for c in bidders))
        for client in clients:
            await client.wait_for(lambda c: bool(c.state.get("outcome")), timeout=30)
    finally:
        for client in clients:
            await client.close()

    # Everyone, on either backend, saw every event in one order: each other's prices.
    events = await staff_get(d.backends[1], f"/api/lots/{lot_id}/events")
    seqs = [e["seq"] for e in events["events"]]
    for client in clients:
        assert [e["seq"] for e in client.events] == seqs
        assert client.state["outcome"] == watcher.state["outcome"]
    assert sum(len(c.acked) for c in bidders) > 2 * len(bidders), [len(c.acked) for c in bidders]

    # nginx spread the clients over both backends (one worker takes them in turn).
    upstreams = d.upstreams()
    backend_addresses = {f"127.0.0.1:{b.port}" for b in d.backends}
    assert set().union(*(upstreams[f"127.0.0.{11 + i}"] for i in range(4))) == backend_addresses
    # Each upgrade came on a connection of its own, so the processes' fronts served them.
    assert d.sockets_answered_by_aiohttp() == 0

    # The record holds each bid with its bidder's own address, whichever backend took it.
    report = await staff_get(d.backends[0], f"/api/lots/{lot_id}/report")
    number = {c.token: c.bidder_no for c in bidders}
    by_number = {number[token]: address for token, address in addresses.items()}
    assert {b["bidder_no"] for b in report["bids"]} == set(by_number)
    for bid in report["bids"]:
        assert bid["ip"] == by_number[bid["bidder_no"]], bid
    # So do the joins, in each backend's connections log.
    joins = [entry for backend in d.backends
             for entry in (await staff_get(backend, f"/api/lots/{lot_id}/report"))["connections"]
             if entry["kind"] == "join" and entry["role"] == "bidder"]
    assert {j["bidder_no"] for j in joins} == set(by_number)
    for join in joins:
        assert join["ip"] == by_number[join["bidder_no"]], join

    # HTTPS answers the API; the processes' metrics are not served through the proxy.
    connector = aiohttp.TCPConnector(ssl=d.tls, local_addr=("127.0.0.21", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{d.base}/api/lots/{lot_id}") as resp:
            assert resp.status == 200
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
            assert (await resp.json())["lot_id"] == lot_id
        async with http.get(f"{d.base}/metrics", headers={
                "Authorization": f"Bearer {d.SUPERVISOR_TOKEN}"}) as resp:
            assert resp.status == 404


async def until_closed(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    received = b""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := await reader.read(65536):
            received += chunk
    return time.monotonic(), received


async def test_nginx_closes_silent_sockets_and_half_sent_requests_within_its_timeouts(
        deployment: Deployment) -> None:
    d = deployment
    started = time.monotonic()
    silent = [await asyncio.open_connection("127.0.0.1", d.port) for _ in range(50)]
    half_headers = []
    for _ in range(50):
        reader, writer = await asyncio.open_connection("127.0.0.1", d.port, ssl=d.tls)
        writer.write(b"GET /api/time HTTP/1.1\r\nHost: auction.test\r\nX-Slow: ")
        half_headers.append((reader, writer))
    half_bodies = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", d.port, ssl=d.tls)
        writer.write(b"POST /api/sessions HTTP/1.1\r\nHost: auction.test\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
        half_bodies.append((reader, writer))
    everything = silent + half_headers + half_bodies
    try:
        closed = await asyncio.wait_for(asyncio.gather(*(until_closed(r) for r, _ in everything)),
                                        NGINX_TIMEOUT_S + SLACK_S)
    finally:
        for _, writer in everything:
            writer.close()
    for at, _ in closed:
        assert NGINX_TIMEOUT_S - 0.5 <= at - started <= NGINX_TIMEOUT_S + SLACK_S
    for _, received in closed:
        assert received == b""  # nginx drops them without an answer (408 in its log)
    # The stalled bodies never reached a backend: nginx reads a body whole first.
    stalled = [line for line in d.nginx.access_log.read_text().splitlines()
               if '"POST /api/sessions ' in line]
    assert len(stalled) == len(half_bodies)
    assert all(line.split()[1] == "-" and line.endswith(" 408") for line in stalled), stalled
    assert (await staff_get(d.backends[0], "/api/sessions"))["sessions"] == []
