"""Liveness and readiness, with real failures: a full filesystem under the embedded
store (a tiny tmpfs), Redis killed and restarted, Postgres stopped and started.

``/healthz`` says the process answers; ``/readyz`` says whether the engine can serve
(503 with the reasons when it cannot). After the store fails, the engine refuses
commands with ``unavailable`` and resumes by itself once the store works again, losing
and doubling nothing acknowledged."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from services import PostgresServer, RedisServer
from web_support import Client, Server, ServerFactory

from auction.model import BidAccepted
from engine import runtime
from engine.embedded import EmbeddedEngine
from engine.redis_engine import RedisEngine


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A filesystem of its own of 2 MiB (a tmpfs: the test runs as root, as CI does)."""
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run([*as_root, "mount", "-t", "tmpfs", "-o", "size=2m,mode=1777",
                              "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail("mounting a 2 MiB tmpfs needs root (run ./dev test as root or with sudo, "
                    f"as README says): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run([*as_root, "umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; the file that does it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 512, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    return filler


async def ready(server: Server) -> tuple[int, dict[str, Any]]:
    return await server.call("GET", "/readyz", token=None)


async def wait_ready(server: Server, timeout: float = 20.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            status, data = await ready(server)
            if status == 200:
                return data
            await asyncio.sleep(0.1)


async def wait_reason(server: Server, reason: str, timeout: float = 20.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            status, data = await ready(server)
            if status == 503 and reason in data["reasons"]:
                return data
            await asyncio.sleep(0.1)


def money(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


@pytest.mark.slow
async def test_a_full_disk_makes_the_server_unready_and_it_resumes_by_itself_when_space_is_freed(
        small_disk: Path, make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The healer's first retry comes after the other lot's deadline has been looked at:
    # a retry meanwhile can find room for its small write while the filler is still
    # there (seen once in CI: the engine served again and recorded that close), which
    # is right for the engine but not what this part of the test is about.
    monkeypatch.setattr(runtime, "RETRY_FIRST_S", 6.0)
    server = await make_server(engine=EmbeddedEngine(small_disk))
    lot_id, tokens = await server.open_lot(bidders=2)
    bidders: list[Client] = []
    for token in tokens:
        client = await server.connect()
        await client.subscribe(lot_id, token, after_seq=None)
        bidders.append(client)
    acked: dict[int, str] = {}
    amount = 10_000
    for turn in range(4):
        reply = await bidders[turn % 2].bid(lot_id, money(amount), f"r{amount}")
        assert reply["type"] == "ack", reply
        acked[reply["seq"]] = reply["amount"]
        amount += 1_000
    status, data = await ready(server)
    assert (status, data["status"], data["reasons"]) == (200, "ready", {})
    assert data["quarantined"] == {} and data["lots"] == 1

    soon, _ = await server.open_lot(bidders=1, duration_s=2)
    filler = fill(small_disk)
    refused: list[str] = []
    for turn in range(50):  # the first write that needs space fails
        follower = bidders[turn % 2]
        reply = await follower.bid(lot_id, money(amount), f"r{amount}")
        if reply["type"] == "ack":
            acked[reply["seq"]] = reply["amount"]
            amount += 1_000
            continue
        assert reply["code"] == "unavailable", reply
        assert reply["message"]["zh"] and reply["message"]["en"]
        refused.append(money(amount))
        break
    assert refused, "the store never ran out of space"
    durable = server.seq(lot_id)
    assert max(acked) == durable  # what is shown is what is durable, nothing decided after

    status, live = await server.call("GET", "/healthz", token=None)
    assert (status, live["status"]) == (200, "ok")  # the process answers: alive
    status, data = await ready(server)
    assert status == 503 and data["status"] == "not_ready"
    assert "full" in data["reasons"]["store"], data
    status, error = await server.call("POST", f"/api/lots/{lot_id}/pause", {"reason": "r"})
    assert status == 503 and error["error"]["code"] == "unavailable"
    reply = await bidders[1].bid(lot_id, money(amount + 5_000), "still-full")
    assert reply["type"] == "rejected" and reply["code"] == "unavailable"
    refused.append(money(amount + 5_000))
    # The other lot's close falls due while the store cannot record it.
    state = server.engine.lot(soon)
    assert state is not None and state.status == "open" and state.closes_at is not None
    await asyncio.sleep(max(0.0, (state.closes_at - server.engine.now()) / 1000) + 0.5)
    state = server.engine.lot(soon)
    assert state is not None and state.status == "open"
    assert (await ready(server))[0] == 503  # still full: still not ready

    filler.unlink()
    data = await wait_ready(server)
    assert data["status"] == "ready" and data["reasons"] == {}
    # Whichever turn the disk filled at, the bidder refused then is not the leader (the
    # last acknowledged bid was the other's).
    reply = await follower.bid(lot_id, money(amount + 10_000), "after")
    assert reply["type"] == "ack" and reply["seq"] == durable + 1, reply
    acked[reply["seq"]] = reply["amount"]
    async with asyncio.timeout(10):  # the deadline that passed meanwhile fires now
        while (state := server.engine.read(soon)) is None or state.status == "open":
            await asyncio.sleep(0.05)

    history = await server.engine.history(lot_id)
    await server.engine.close()
    async with EmbeddedEngine(small_disk) as again:  # what the file holds
        stored = await again.history(lot_id)
    assert [r.hash for r in stored] == [r.hash for r in history]
    bids = {r.seq: money(r.event.amount) for r in stored if isinstance(r.event, BidAccepted)}
    assert bids == acked  # every acknowledged bid, once, as acknowledged; nothing else
    assert not set(refused) & set(bids.values())


@pytest.mark.slow
async def test_readiness_follows_redis_and_postgres_going_away_and_coming_back(
        make_server: ServerFactory, redis_server: RedisServer) -> None:
    postgres = PostgresServer()
    postgres.init()
    postgres.start()
    try:
        engine = RedisEngine(redis_server.url, postgres.dsn(), postgres_max_lag_ms=1_000)
        server = await make_server(engine=engine)
        lot_id, tokens = await server.open_lot(bidders=2)
        client = await server.connect()
        await client.subscribe(lot_id, tokens[0], after_seq=None)
        data = await wait_ready(server)
        assert data["reasons"] == {}
        record = engine.record_store
        assert record is not None
        async with asyncio.timeout(10):  # ready allows a lag under the bound: wait for none
            while record.lag_ms():
                await asyncio.sleep(0.02)

        gone = time.monotonic()  # the record cannot fall behind before this
        postgres.stop()
        data = await wait_reason(server, "postgres")
        assert "redis" not in data["reasons"]
        reply = await client.bid(lot_id, "100.00")
        assert reply["type"] == "ack", reply  # bidding goes on without Postgres
        data = await wait_reason(server, "postgres_lag")
        assert time.monotonic() - gone > 0.9  # not before the bound
        assert "bound 1 s" in data["reasons"]["postgres_lag"]
        postgres.start()
        await wait_ready(server, 30)  # reachable again and caught up
        assert len(await engine.record(lot_id)) == server.seq(lot_id)

        redis_server.kill()
        data = await wait_reason(server, "redis")
        assert "postgres" not in data["reasons"]
        status, live = await server.call("GET", "/healthz", token=None)
        assert status == 200 and live["status"] == "ok"
        redis_server.start()
        await wait_ready(server, 30)
        reply = await client.bid(lot_id, "110.00")
        assert reply["type"] in ("ack", "rejected"), reply
        assert reply.get("code") != "unavailable", reply
    finally:
        postgres.remove()
