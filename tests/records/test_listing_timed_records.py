"""Records of ``listing_timed`` lots: the export verifies offline, tampering is caught, the
public can recompute the cap lottery with SHA-256 alone, and the announcement, report
and collusion checks take the format's events."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from auction.collusion import check_lot
from auction.record import GENESIS, chain
from auction.report import announcement, full_report, report_csv
from auction.verify import build_export, dumps, verify
from auction.views import redact, snapshot

from .listing_lots import SEED, lottery_lot, secondary_lot
from .sim import T0


def export(lot: Any) -> dict[str, Any]:
    return json.loads(dumps(build_export(lot.s, lot.records, exported_at=T0 + 10**7)))


def rechained(doc: dict[str, Any]) -> str:
    prev = GENESIS
    for index, entry in enumerate(doc["events"]):
        entry["seq"] = index + 1
        prev = entry["hash"] = chain(prev, doc["lot_id"], index + 1, entry["event"])
    doc["outcome"]["last_seq"], doc["outcome"]["last_hash"] = len(doc["events"]), prev
    return dumps(doc)


def test_the_export_of_a_lottery_lot_verifies() -> None:
    lot = lottery_lot()
    result = verify(dumps(export(lot)))
    assert result.ok, result.summary
    assert "at 12000000.00 CNY" in result.summary
    types = [e["event"]["type"] for e in export(lot)["events"]]
    for name in ("DrawCommitted", "ConfirmOpened", "BidderConfirmed", "TimedOpened",
                 "CapReached", "CapAccepted", "LotDrawn"):
        assert name in types


def test_the_export_of_a_secondary_lot_verifies() -> None:
    result = verify(dumps(export(secondary_lot())))
    assert result.ok, result.summary
    assert "awarded to bidder No. 4821 at 12000000.00 CNY" in result.summary


def test_the_public_recomputes_the_draw_from_hash_seed_and_candidates_with_hashlib() -> None:
    doc = export(lottery_lot())
    events = [e["event"] for e in doc["events"]]
    committed = next(e for e in events if e["type"] == "DrawCommitted")
    drawn = next(e for e in events if e["type"] == "LotDrawn")
    awarded = next(e for e in events if e["type"] == "LotAwarded")
    # The seed revealed at the draw is the one committed to when the lot opened...
    opened_at = next(e for e in events if e["type"] == "LotOpened")["at"]
    assert committed["at"] == opened_at < drawn["at"]
    assert hashlib.sha256(drawn["seed"].encode()).hexdigest() == committed["seed_hash"]
    # ...the candidates are the bidder who reached the cap and those who declared...
    reached = next(e for e in events if e["type"] == "CapReached")["bidder_no"]
    declared = [e["bidder_no"] for e in events if e["type"] == "CapAccepted"]
    candidates = sorted([reached, *declared])
    assert drawn["candidates"] == candidates == ["1377", "4821"]
    # ...and the winner is the candidate at sha256(seed + lot id) mod n.
    digest = hashlib.sha256((drawn["seed"] + doc["lot_id"]).encode()).hexdigest()
    index = int(digest, 16) % len(candidates)
    assert drawn["index"] == index and drawn["winner_no"] == candidates[index]
    assert awarded["bidder_no"] == candidates[index] == doc["outcome"]["bidder_no"]


def test_the_public_board_shows_the_draw_once_drawn() -> None:
    lot = lottery_lot()
    play = snapshot(lot.s, "public")["play"]
    assert play["seed_hash"] == hashlib.sha256(SEED.encode()).hexdigest()
    assert play["draw"]["seed"] == SEED and play["draw"]["candidates"] == ["1377", "4821"]


def test_a_forged_draw_winner_fails_on_the_rules_even_with_a_rebuilt_chain() -> None:
    doc = export(lottery_lot())
    drawn = next(e["event"] for e in doc["events"] if e["event"]["type"] == "LotDrawn")
    drawn["index"] = 1 - drawn["index"]
    drawn["winner_no"] = drawn["candidates"][drawn["index"]]
    result = verify(rechained(doc))
    assert not result.ok and result.discrepancy is not None
    assert result.discrepancy.kind == "rules"
    assert "LotDrawn.index" in result.discrepancy.detail


def test_a_forged_seed_fails_on_the_rules() -> None:
    doc = export(lottery_lot())
    drawn = next(e["event"] for e in doc["events"] if e["event"]["type"] == "LotDrawn")
    drawn["seed"] = "0" * 64
    result = verify(rechained(doc))
    assert not result.ok and result.discrepancy is not None
    assert "draw_unverifiable" in result.discrepancy.detail


def test_a_removed_declaration_fails_on_the_rules() -> None:
    doc = export(lottery_lot())
    doc["events"] = [e for e in doc["events"] if e["event"]["type"] != "CapAccepted"]
    result = verify(rechained(doc))
    assert not result.ok and result.discrepancy is not None
    assert result.discrepancy.kind == "rules"


def test_a_changed_format_event_fails_on_its_hash() -> None:
    doc = export(lottery_lot())
    entry = next(e for e in doc["events"] if e["event"]["type"] == "BidderConfirmed")
    entry["event"]["bidder_no"] = "9999"
    result = verify(dumps(doc))
    assert not result.ok and result.discrepancy is not None
    assert (result.discrepancy.seq, result.discrepancy.kind) == (entry["seq"], "hash")


def test_announcement_report_csv_and_collusion_checks_take_the_format() -> None:
    for lot in (lottery_lot(), secondary_lot()):
        result = announcement(lot.s, lot.records)
        assert result["format"] == "listing_timed" and result["outcome"]["status"] == "awarded"
        assert "a" not in {h["bidder_no"] for h in result["history"]}
        report = full_report(lot.s, lot.records, [], [], T0 + 10**7)
        assert report["final"] is True
        assert any(a["action"] in ("BidderConfirmed", "SecondaryBid")
                   for a in report["staff_actions"])
        assert "listing_timed" in report_csv(report) or report_csv(report)
        check_lot(lot.record())


def test_the_public_sees_no_identity_in_the_format_events() -> None:
    lot = lottery_lot()
    for record in lot.records:
        seen = json.dumps(redact(lot.s, record, "public"), ensure_ascii=False)
        if type(record.event).__name__ in ("BidderConfirmed", "CapAccepted", "CapReached"):
            assert '"bidder_id"' not in seen and "10.0.0" not in seen
