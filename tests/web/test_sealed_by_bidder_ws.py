"""A bidder-sealed lot (``sealing: bidder``: a sealed lot, or a multi_round lot's initial
bids) over real sockets, with the Python client core: before its reveal a sealed price
is in no store, log line, metric, view or frame of the server; the reveal at the opening
is checked against the commitment; a bid not revealed is void; the export verifies."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server

from auction.verify import verify
from web.client import LotClient

#: The sealed prices, in decimal and in minor units: neither may be found before reveal.
PRICE_1, MINOR_1 = "7654.32", "765432"
PRICE_2, MINOR_2 = "8123.45", "812345"


#: The lots whose bids (sealed) or initial bids (multi_round) the bidders seal: bidding
#: (the first pause) lasts 2 s, the reveal window 2 s; multi_round then plays one round
#: of 1 s turns.
LOTS = {
    "sealed": {"duration_s": 2},
    "multi_round": {"first_pause_s": 2, "step": "1.00", "rounds": 1, "turn_s": 1},
}


async def bidder_sealed_lot(server: Server, fmt: str = "sealed"
                            ) -> tuple[str, list[LotClient]]:
    if server.session_id is None:
        server.session_id = (await server.ok("POST", "/api/sessions", {"name": "s"}))[
            "session_id"]
    lot = await server.ok("POST", "/api/lots", {
        "session_id": server.session_id, "title": "密封报价 自行解密", "format": fmt,
        "params": {**LOTS[fmt], "deposit": "10.00", "sealing": "bidder", "reveal_s": 2}})
    lot_id = str(lot["lot_id"])
    tokens = [(await server.register(lot_id, f"b{i}"))["token"] for i in (1, 2)]
    await server.open(lot_id)
    clients = [LotClient(server.ws_url, lot_id, token) for token in tokens]
    for client in clients:
        await client.connect()
        await client.wait_for(lambda c: c.bidder_no is not None and c.state, 5)
    return lot_id, clients


def stored_bytes(directory: Path) -> bytes:
    """Every byte the server keeps under its data directory (SQLite, its WAL, snapshots)."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


@pytest.mark.parametrize("fmt", list(LOTS))
async def test_a_sealed_price_is_in_no_store_log_metric_or_view_before_its_reveal(
        server: Server, caplog: pytest.LogCaptureFixture, fmt: str) -> None:
    caplog.set_level(logging.DEBUG)
    lot_id, (one, two) = await bidder_sealed_lot(server, fmt)
    assert (await one.commit(PRICE_1))["type"] == "ack"
    assert (await two.commit(PRICE_2))["type"] == "ack"
    assert one.session.bid_file is not None and one.session.bid_file["amount"] == PRICE_1
    public = LotClient(server.ws_url, lot_id)
    await public.connect()
    await public.wait_for(lambda c: c.state, 5)
    seen = [stored_bytes(server.settings.data_dir).decode("latin-1"), caplog.text,
            (await server.scrape()).text, json.dumps(public.state), json.dumps(two.state),
            json.dumps(public.events)]
    for token in (HOST_TOKEN, SUPERVISOR_TOKEN, None):
        _, view = await server.call("GET", f"/api/lots/{lot_id}", token=token)
        seen.append(json.dumps(view))
    for path in ("events", "bids", "export", "report"):
        _, data = await server.call("GET", f"/api/lots/{lot_id}/{path}", token=HOST_TOKEN)
        seen.append(json.dumps(data))
    for text in seen:
        for secret in (PRICE_1, MINOR_1, PRICE_2, MINOR_2):
            assert secret not in text
    # at the opening: the reveal window; the first bidder reveals, the second does not
    await one.wait_for(lambda c: c.state.get("play", {}).get("phase") == "reveal", 10)
    wrong = dict(one.session.bid_file, amount="7654.33")
    refused = await one.reveal(wrong)
    assert (refused["type"], refused["code"]) == ("rejected", "reveal_mismatch")
    assert (await one.reveal())["type"] == "ack"
    await public.wait_for(lambda c: c.state.get("status") in ("awarded", "failed"), 15)
    assert public.state["play"]["voided"] == [two.bidder_no]
    assert public.state["outcome"]["bidder_no"] == one.bidder_no
    assert public.state["outcome"]["amount"] == PRICE_1
    assert MINOR_2 not in stored_bytes(server.settings.data_dir).decode("latin-1")
    status, export = await server.call("GET", f"/api/lots/{lot_id}/export", token=HOST_TOKEN)
    assert status == 200
    kinds = [e["event"]["type"] for e in export["events"]]
    assert "BidRevealed" in kinds and "BidsVoided" in kinds
    assert verify(json.dumps(export)).ok
    for client in (one, two, public):
        await client.close()
    await asyncio.sleep(0)
