"""``kill -9`` of a real server process in the middle of a busy lot, then a restart.

Real processes, real files, real sockets: bidders hammer a lot over WebSockets, the
server is killed with SIGKILL, started again on the same data directory, the bidders
reconnect (resuming from the last sequence number they saw) and the lot runs to its end.
"""

import asyncio
import contextlib
import time
from typing import Any

import pytest
from lotplay import hammer, setup_lot, staff_get

from auction.money import parse_amount
from helpers import ServerProcess
from web.client import LotClient

pytestmark = pytest.mark.slow


async def test_sigkill_mid_lot_loses_no_acknowledged_bid_and_the_lot_ends_on_time(
        tmp_path: Any) -> None:
    server = ServerProcess(str(tmp_path))
    await server.start()
    clients: list[LotClient] = []
    try:
        lot_id, tokens = await setup_lot(server, duration_s=10, bidders=4)
        clients = [LotClient(server.ws_url, lot_id, token) for token in tokens]
        for client in clients:
            await client.connect()
        for client in clients:
            await client.wait_for(lambda c: c.state.get("status") == "open", timeout=10)
        closes_at = clients[0].state["closes_at"]

        busy = [asyncio.create_task(hammer(c, time.monotonic() + 30)) for c in clients]
        await asyncio.sleep(2.0)
        server.kill()
        await asyncio.gather(*busy)
        acked_before_kill = sum(len(c.acked) for c in clients)
        assert acked_before_kill > 20, "the lot was not busy when the server was killed"

        await server.start()
        for client in clients:
            await client.close()
            await client.connect()  # resumes after client.last_seq: gaps or repeats raise
        until = time.monotonic() + max(0.0, (closes_at - time.time() * 1000) / 1000 - 1.0)
        await asyncio.gather(*(hammer(c, until) for c in clients))
        for client in clients:
            await client.wait_for(lambda c: bool(c.state.get("outcome")), timeout=30)

        events = await staff_get(server, f"/api/lots/{lot_id}/events")
        records = {e["seq"]: e for e in events["events"]}
        assert sorted(records) == list(range(1, len(records) + 1))
        acked = [ack for c in clients for ack in c.acked]
        assert len(acked) > acked_before_kill
        for ack in acked:  # every bid any client saw acknowledged is in the record
            event = records[ack["seq"]]["event"]
            assert event["type"] == "BidAccepted"
            assert event["amount"] == parse_amount(ack["amount"], 2)  # minor units

        best = max(acked, key=lambda a: int(a["amount"].replace(".", "")))
        winner = next(c for c in clients if best in c.acked)
        outcome = clients[0].state["outcome"]
        assert outcome["status"] == "awarded"
        assert (outcome["bidder_no"], outcome["amount"]) == (winner.bidder_no, best["amount"])
        closed = next(r["event"] for r in records.values() if r["event"]["type"] == "LotClosed")
        assert closed["closes_at"] == closes_at
        assert 0 <= closed["at"] - closes_at < 1000  # fired by the timer, on time
        for client in clients:  # every client saw the same events, in the same order
            assert [e["seq"] for e in client.events] == sorted(records)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        server.stop()
