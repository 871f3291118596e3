"""Webhooks over real sockets: every milestone reaches a real receiver that is down at
first, answers 500 or answers too slowly, signed, at least once, with the same
idempotency key and body on every attempt; the delivery log and a manual resend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lotplay import setup_lot, staff_get
from receiver import Receiver
from records.test_records_api import short_lot
from web_support import SUPERVISOR_TOKEN, ServerFactory

import auction.trade.outbox as outbox
import web.webhooks as webhooks
from helpers import ServerProcess
from web.webhooks import emit

SECRET = b"webhook-secret-0123456789abcdef"


@pytest.fixture
async def receiver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Receiver]:
    """A receiver (not started), with short retries and timeouts on the server's side."""
    monkeypatch.setattr(outbox, "FIRST_BACKOFF_MS", 100)
    monkeypatch.setattr(webhooks, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(webhooks, "SCAN_S", 0.05)
    made = Receiver()
    yield made
    await made.stop()


async def test_every_milestone_reaches_a_receiver_that_was_down_then_failing_then_slow(
        make_server: ServerFactory, receiver: Receiver) -> None:
    server = await make_server(webhook_url=receiver.url, webhook_secret=SECRET)
    lot_id, tokens = await short_lot(server)  # opened, closed, awarded while it is down
    await server.ok("POST", f"/api/lots/{lot_id}/objections", {"text": "异议"},
                    token=tokens[0])
    receiver.script = [500, 500, 0.8]  # two failures, then an answer after the timeout
    await receiver.start()
    wanted = {f"{lot_id}:{seq}" for seq, r in enumerate(await server.engine.record(lot_id), 1)
              if type(r.event).__name__ in ("LotOpened", "LotClosed", "LotAwarded")}
    wanted |= {f"result_notice:{lot_id}:1", f"result_notice:{lot_id}:2"}
    await receiver.wait_for(lambda: wanted <= set(receiver.keys())
                            and len(receiver.posts) >= len(wanted) + 3)
    assert all(p.signed_by(SECRET) for p in receiver.posts)
    assert not any(p.signed_by(b"another-secret-0123456789") for p in receiver.posts)
    by_key: dict[str, set[bytes]] = {}
    for post in receiver.posts:
        by_key.setdefault(post.key, set()).add(post.body)
        assert post.json["id"] == post.key
    assert all(len(bodies) == 1 for bodies in by_key.values())  # retries: the same bytes
    retried = [key for key in by_key if receiver.keys().count(key) > 1]
    assert retried  # the 500s and the slow answer were posted again
    assert {p.json["milestone"] for p in receiver.posts} >= {
        "lot.opened", "lot.closed", "lot.awarded", "notice.published", "objection.filed"}

    async with asyncio.timeout(10):  # the log says so once the last attempt is recorded
        while True:
            log = await server.ok("GET", "/api/webhooks", token=SUPERVISOR_TOKEN)
            if wanted <= {d["key"] for d in log["deliveries"] if d["delivered_at"]}:
                break
            await asyncio.sleep(0.05)
    assert max(d["attempts"] for d in log["deliveries"]) >= 2
    assert any(d["last_status"] == 200 for d in log["deliveries"])


async def test_an_emitted_milestone_is_delivered_and_a_host_resends_one(
        make_server: ServerFactory, receiver: Receiver) -> None:
    await receiver.start()
    server = await make_server(webhook_url=receiver.url, webhook_secret=SECRET)
    record = await emit(server.engine, "deposit.matched",
                        {"lot_id": "L-1", "amount": "5000.00"}, actor="bank")
    key = f"outbox:main:{record.seq}"
    await receiver.wait_for(lambda: key in receiver.keys())
    assert receiver.posts[-1].json["data"] == {"lot_id": "L-1", "amount": "5000.00"}
    status, data = await server.call("POST", "/api/webhooks/outbox.main.1/resend",
                                     {"reason": "省平台未收到"}, token=SUPERVISOR_TOKEN)
    assert status == 403
    await server.ok("POST", "/api/webhooks/outbox.main.1/resend", {"reason": "省平台未收到"})
    await receiver.wait_for(lambda: receiver.keys().count(key) == 2)
    first, second = (p for p in receiver.posts if p.key == key)
    assert first.body == second.body
    status, data = await server.call("POST", "/api/webhooks/nothing.1/resend",
                                     {"reason": "r"})
    assert status == 404 and data["error"]["code"] == "unknown_delivery"


@pytest.mark.slow
async def test_a_kill_9_between_the_event_and_its_delivery_loses_and_changes_nothing(
        tmp_path: Path) -> None:
    receiver = Receiver(script=[8.0])  # holds the first post while the server is killed
    server = ServerProcess(str(tmp_path), extra_env={
        "AUCTION_WEBHOOK_URL": receiver.url, "AUCTION_WEBHOOK_SECRET": SECRET.decode()})
    await server.start()
    try:
        lot_id, _ = await setup_lot(server, duration_s=1, bidders=1)  # no bid: it fails
        wanted: set[str] = set()
        async with asyncio.timeout(15):  # until the lot's end is in its durable record
            while len(wanted) < 3:
                events = (await staff_get(server, f"/api/lots/{lot_id}/events"))["events"]
                wanted = {f"{lot_id}:{e['seq']}" for e in events
                          if e["event"]["type"] in ("LotOpened", "LotClosed", "LotFailed")}
                await asyncio.sleep(0.1)
        server.kill()  # the milestones are recorded; the receiver was down all along
        await receiver.start()
        await server.start()
        await receiver.wait_for(lambda: len(receiver.posts) >= 1)
        server.kill()  # posted, its answer not yet in, the attempt not recorded
        held = receiver.posts[0].key
        await server.start()
        await receiver.wait_for(lambda: wanted <= set(receiver.keys())
                                and receiver.keys().count(held) >= 2, timeout=30)
    finally:
        server.stop()
        await receiver.stop()
    assert set(receiver.keys()) == wanted  # none lost, nothing else
    for key in wanted:
        bodies = {p.body for p in receiver.posts if p.key == key}
        assert len(bodies) == 1, key  # a duplicate is the same milestone, byte for byte
    assert all(p.signed_by(SECRET) for p in receiver.posts)
    assert {p.json["milestone"] for p in receiver.posts} == {"lot.opened", "lot.closed",
                                                              "lot.failed"}
