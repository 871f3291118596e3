"""Public witnesses (``auction witness``): a witness follows a server's public feed
without a token and keeps the chain heads it saw; ``auction verify --witness`` then
catches a record rewritten (and consistently re-hashed) after the witness saw it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from lotplay import staff_post
from web_support import HOST_TOKEN, Server

from auction.lot import replay
from auction.record import chain, event_from_dict
from auction.verify import build_export, check_heads, dumps, outcome_of, verify
from helpers import ServerProcess
from web.cli import main as cli
from web.witness import Witness, read_heads

from .test_sealed_records import played


async def witnessed_lot(server: Server, out: Path) -> tuple[str, dict[str, Any]]:
    """An english lot bid on while a witness watches; the lot's export (a dict)."""
    lot_id, tokens = await server.open_lot(bidders=2, duration_s=60)
    witness = Witness(server.base, out)
    watching = asyncio.create_task(witness.run(duration=1.5))
    await asyncio.sleep(0.4)
    bidders = [await server.connect() for _ in tokens]
    for client, token in zip(bidders, tokens, strict=True):
        await client.subscribe(lot_id, token)
    for i, amount in enumerate(("110.00", "120.00", "130.00")):
        reply = await bidders[i % 2].bid(lot_id, amount, ref=f"r{i}")
        assert reply["type"] == "ack", reply
    await watching
    status, doc = await server.call("GET", f"/api/lots/{lot_id}/export", token=HOST_TOKEN)
    assert status == 200, doc
    return lot_id, doc


def rewritten(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the device of its first bid changed (hiding that two bidders shared
    one) and the chain re-hashed from there: a forgery the rules cannot see."""
    forged = json.loads(json.dumps(doc))
    entries = forged["events"]
    first = next(i for i, e in enumerate(entries) if e["event"]["type"] == "BidAccepted")
    entries[first]["event"]["device"] = "another-device"
    prev = entries[first - 1]["hash"]
    for entry in entries[first:]:
        entry["hash"] = prev = chain(prev, forged["lot_id"], entry["seq"], entry["event"])
    forged["outcome"]["last_hash"] = prev
    return forged


async def test_a_witness_keeps_the_heads_of_the_public_feed_and_an_honest_export_agrees(
        server: Server, tmp_path: Path) -> None:
    out = tmp_path / "witness"
    lot_id, doc = await witnessed_lot(server, out)
    heads = read_heads(out)
    assert heads and all(h["lot_id"] == lot_id and h["server"] == server.base for h in heads)
    bids = [e["seq"] for e in doc["events"] if e["event"]["type"] == "BidAccepted"]
    assert max(h["seq"] for h in heads) >= bids[-1]
    by_seq = {e["seq"]: e["hash"] for e in doc["events"]}
    assert all(by_seq[h["seq"]] == h["hash"] for h in heads)
    result = check_heads(json.dumps(doc), heads)
    assert result.ok and "agrees with all" in result.summary, result.summary


async def test_a_witness_catches_a_rewritten_record_that_verifies_without_it(
        server: Server, tmp_path: Path) -> None:
    out = tmp_path / "witness"
    _, doc = await witnessed_lot(server, out)
    forged = rewritten(doc)
    assert verify(json.dumps(forged)).ok  # the chain and the rules hold
    caught = check_heads(json.dumps(forged), read_heads(out))
    assert not caught.ok and caught.discrepancy is not None
    assert caught.discrepancy.kind == "witness" and "rewritten" in caught.discrepancy.detail
    # the same through the command line
    honest, fake = tmp_path / "export.json", tmp_path / "forged.json"
    honest.write_text(json.dumps(doc))
    fake.write_text(json.dumps(forged))
    assert cli(["verify", str(fake)]) == 0
    assert cli(["verify", "--witness", str(out), str(fake)]) == 1
    assert cli(["verify", "--witness", str(out), str(honest)]) == 0
    assert cli(["verify", "--witness", str(tmp_path / "nowhere"), str(honest)]) == 2


async def test_a_witness_catches_an_export_cut_short_before_a_head_it_saw(
        server: Server, tmp_path: Path) -> None:
    out = tmp_path / "witness"
    _, doc = await witnessed_lot(server, out)
    heads = read_heads(out)
    cut = json.loads(json.dumps(doc))
    last = max(h["seq"] for h in heads)
    # an export of the lot as it stood before the last head (as an honest export made
    # then would be): the chain and the rules hold, the witness saw more
    cut["events"] = cut["events"][:last - 1]
    state = replay(event_from_dict(e["event"]) for e in cut["events"])
    assert state is not None
    cut["outcome"] = outcome_of(state, last - 1, cut["events"][-1]["hash"])
    assert verify(json.dumps(cut)).ok
    caught = check_heads(json.dumps(cut), heads)
    assert not caught.ok and caught.discrepancy is not None
    assert f"the export ends at event {last - 1}" in caught.discrepancy.detail


def test_heads_of_other_lots_are_ignored_and_a_malformed_head_is_reported() -> None:
    lot = played()
    text = dumps(build_export(lot.s, lot.records, 1))
    alone = check_heads(text, [{"lot_id": "another", "seq": 1, "hash": "0" * 64}])
    assert alone.ok and "No witness head concerns this lot" in alone.summary
    bad = check_heads(text, [{"lot_id": lot.lot_id, "seq": "one", "hash": "0" * 64,
                              "seen_at": "noon"}])
    assert not bad.ok and bad.discrepancy is not None
    assert bad.discrepancy.kind == "witness" and "malformed" in bad.discrepancy.detail
    broken = check_heads(text.replace('"seq":1,', '"seq":7,', 1), [])
    assert not broken.ok and broken.discrepancy is not None
    assert broken.discrepancy.kind == "seq"


async def test_the_witness_command_follows_a_running_server(
        auction_server: ServerProcess, tmp_path: Path) -> None:
    session = await staff_post(auction_server, "/api/sessions", {"name": "witnessed"})
    lot = await staff_post(auction_server, "/api/lots", {
        "session_id": session["session_id"], "title": "witnessed", "format": "english",
        "params": {"start_price": "100.00", "step": "10.00", "duration_s": 60}})
    out = tmp_path / "heads"
    code = await asyncio.to_thread(
        cli, ["witness", auction_server.base, "--out", str(out), "--duration", "1"])
    assert code == 0
    heads = read_heads(out)
    assert [h["seq"] for h in heads] == [1] and heads[0]["lot_id"] == lot["lot_id"]
    unreachable = await asyncio.to_thread(
        cli, ["witness", "http://127.0.0.1:9", "--out", str(out), "--duration", "1"])
    assert unreachable == 2
