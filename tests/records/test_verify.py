"""A lot's export verifies offline; any change to it is found, at the right place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auction.model import (
    EVENT_TYPES,
    SYSTEM,
    Announce,
    AnswerQuestion,
    ApplyDeposit,
    AskHost,
    CancelLot,
    CloseExtended,
    EnrollKey,
    ExtendLot,
    ForfeitDeposit,
    LotAwarded,
    PauseLot,
    PlaceBid,
    RefundDeposit,
    ResumeLot,
    RevokeTokens,
    ScheduleLot,
    Tick,
)
from auction.record import GENESIS, chain, event_to_dict
from auction.verify import build_export, dumps, iso_time, outcome_of, verify
from engine.signatures import Signer

from .listing_lots import lottery_lot
from .sim import HOST, T0, SimLot, cny, params

AUCTION = Path(sys.executable).with_name("auction")


def played() -> SimLot:
    """A lot that went through nearly everything: revoked token, pause, resume, staff and
    soft-close extensions, an award and the three deposit settlements."""
    lot = SimLot("L-VERIFY", params(closes_at=T0 + 600_000, extend_window_s=60, extend_s=120),
                 title="国有建设用地使用权 A-1 “东区”")
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.register("d", "3555", deposit=False)
    lot.do(RevokeTokens(bidder_id="a", actor=HOST, reason="令牌泄露"), T0 - 10_000)
    lot.open(T0)
    lot.bid("a", "1000000.00", T0 + 10_000, ip="10.0.0.1", device="web:aa")
    lot.bid("b", "1010000.00", T0 + 20_000, ip="10.0.0.2", device="web:bb")
    lot.do(PauseLot(actor=HOST, reason="网络故障"), T0 + 100_000)
    lot.do(ResumeLot(actor=HOST, reason="已恢复"), T0 + 160_000)
    lot.do(ExtendLot(actor=HOST, reason="竞买人申请", closes_at=T0 + 760_000), T0 + 200_000)
    lot.bid("c", "1030000.00", T0 + 740_000, ip="10.0.0.3", device="web:cc")  # soft close
    lot.bid("a", "1040000.00", T0 + 745_000, ip="10.0.0.1", device="web:aa")
    lot.close()
    lot.do(RefundDeposit(bidder_id="b", actor=HOST, reason="退还至原账户"), T0 + 900_000)
    lot.do(ForfeitDeposit(bidder_id="c", actor=HOST, reason="违规"), T0 + 900_001)
    lot.do(ApplyDeposit(bidder_id="a", actor=HOST, reason="转为价款"), T0 + 900_002)
    return lot


def opened_by_clock() -> SimLot:
    """Opened by its own clock (a system LotOpened), failed without bids."""
    lot = SimLot("L-CLOCK", params(opens_at=T0, closes_at=T0 + 60_000))
    lot.register("a")
    lot.do(ScheduleLot(actor=HOST), T0 - 1000)
    lot.do(Tick(), T0)
    lot.close()
    return lot


def cancelled_by_clock() -> SimLot:
    """Its opening fired too late to open it: cancelled by the system."""
    lot = SimLot("L-LATE", params(opens_at=T0, closes_at=T0 + 1000))
    lot.do(ScheduleLot(actor=HOST), T0 - 1000)
    lot.do(Tick(), T0 + 5000)
    return lot


def cancelled_by_staff() -> SimLot:
    """Cancelled by staff, after an announcement, a bidder's objection and its answer."""
    lot = SimLot("L-CANCEL")
    lot.register("a")
    lot.open()
    lot.do(Announce(actor=HOST, text="请注意：法院可能裁定中止"), T0 + 1)
    lot.do(AskHost(bidder_id="a", kind="objection", text="对中止有异议"), T0 + 2)
    lot.do(AnswerQuestion(actor=HOST, question=lot.s.version, text="以裁定为准",
                          public=True), T0 + 3)
    lot.do(CancelLot(actor=HOST, reason="法院裁定"), T0 + 10)
    return lot


def signed_lot() -> SimLot:
    """A lot whose bidders enrolled keys and signed their bids."""
    lot = SimLot("L-SIGNED", params(closes_at=T0 + 60_000, signatures="required"))
    signers = {"a": Signer.ecdsa_p256(), "b": Signer.ecdsa_p256()}
    for bidder_id, signer in signers.items():
        lot.register(bidder_id)
        lot.do(EnrollKey(bidder_id=bidder_id, alg=signer.alg, key=signer.key), T0 - 500)
    lot.open(T0)
    for offset, (bidder_id, amount) in enumerate((("a", "1000000.00"), ("b", "1010000.00"))):
        signed = signers[bidder_id].signed(lot.s.lot_id, lot.s.bidders[bidder_id].bidder_no,
                                           "bid", cny(amount), lot.s.version)
        lot.do(PlaceBid(bidder_id=bidder_id, amount=cny(amount), signed=signed),
               T0 + 1000 * (offset + 1))
    lot.close()
    return lot


def export_of(lot: SimLot) -> dict[str, Any]:
    return build_export(lot.s, lot.records, exported_at=T0 + 1_000_000)


def text_of(lot: SimLot) -> str:
    return dumps(export_of(lot))


def rechain(doc: dict[str, Any]) -> dict[str, Any]:
    """A forger's repair: renumber every entry and recompute every hash and the outcome's
    last hash, so that only the rules can tell."""
    prev = GENESIS
    for index, entry in enumerate(doc["events"]):
        entry["seq"] = index + 1
        prev = entry["hash"] = chain(prev, doc["lot_id"], index + 1, entry["event"])
    doc["outcome"]["last_seq"], doc["outcome"]["last_hash"] = len(doc["events"]), prev
    return doc


def failure(data: str | bytes | dict[str, Any]) -> tuple[int | None, str, str]:
    result = verify(dumps(data) if isinstance(data, dict) else data)
    assert not result.ok and result.discrepancy is not None, result.summary
    assert result.summary.startswith("FAILED: ")
    return result.discrepancy.seq, result.discrepancy.kind, result.discrepancy.detail


# --------------------------------------------------------------------------- it holds


def test_the_export_of_a_played_lot_verifies_with_a_summary() -> None:
    lot = played()
    result = verify(text_of(lot))
    assert result.ok, result.summary
    assert result.discrepancy is None and result.lot_id == "L-VERIFY"
    assert result.events == len(lot.records)
    last = lot.records[-1]
    assert result.summary.startswith(f"VERIFIED: lot L-VERIFY (国有建设用地使用权 A-1 “东区”): "
                                     f"all {last.seq} events hold.")
    assert last.hash in result.summary
    assert "awarded to bidder No. 4821 at 1040000.00 CNY" in result.summary
    assert "4 bidders registered, 4 bids accepted" in result.summary


def test_the_played_lots_hold_every_event_type() -> None:
    lots = (played(), opened_by_clock(), cancelled_by_clock(), cancelled_by_staff(),
            lottery_lot(), signed_lot())
    shared_types = {name for name, cls in EVENT_TYPES.items() if cls.__module__ == "auction.model"}
    seen = {type(e).__name__ for lot in lots for e in lot.events}
    assert shared_types <= seen
    for lot in lots:
        assert verify(text_of(lot)).ok


@pytest.mark.parametrize("make, words", [
    (opened_by_clock, "failed (no_bids) at 2026-01-01T00:01:00.000Z"),
    (cancelled_by_clock, "cancelled (bad_deadline) at 2026-01-01T00:00:05.000Z"),
    (cancelled_by_staff, "cancelled (法院裁定) at 2026-01-01T00:00:00.010Z"),
])
def test_lots_opened_failed_or_cancelled_by_the_clock_verify(make: Any, words: str) -> None:
    result = verify(text_of(make()).encode())
    assert result.ok, result.summary
    assert words in result.summary


def test_a_lot_that_has_not_ended_verifies_as_it_stands() -> None:
    lot = SimLot("L-OPEN").open()
    lot.register("a")
    lot.bid("a", "1000000.00", T0 + 5)
    result = verify(text_of(lot))
    assert result.ok and "not ended: the lot is open" in result.summary
    assert export_of(lot)["outcome"]["bidder_no"] is None


def test_the_export_keeps_one_event_per_line_and_the_hashes_of_the_record() -> None:
    lot = played()
    text = text_of(lot)
    lines = text.split("\n")
    start = lines.index('"events":[')
    for record, line in zip(lot.records, lines[start + 1:], strict=False):
        entry = json.loads(line.rstrip(","))
        assert entry == {"seq": record.seq, "event": event_to_dict(record.event),
                         "hash": record.hash}
    doc = json.loads(text)
    assert doc["format_version"] == 1 and doc["exported_at"] == T0 + 1_000_000
    assert doc["chain"]["genesis"] == GENESIS
    assert doc["outcome"] == outcome_of(lot.s, lot.records[-1].seq, lot.records[-1].hash)


def test_iso_time_is_utc_with_milliseconds() -> None:
    assert iso_time(T0 + 1) == "2026-01-01T00:00:00.001Z"


# --------------------------------------------------------------------------- any byte


def _entry_spans(text: str) -> dict[int, tuple[int, int]]:
    """seq -> (start, end) byte offsets of its entry (without the separating comma)."""
    data = text.encode()
    spans, offset = {}, 0
    for line in data.split(b"\n"):
        if line.startswith(b'{"seq":'):
            body = line.rstrip(b",")
            spans[json.loads(body)["seq"]] = (offset, offset + len(body))
        offset += len(line) + 1
    return spans


@pytest.mark.parametrize("seq", [1, 2, 6, 12, 15, 17, 19, 21, 23])
def test_changing_any_single_byte_of_an_event_fails_at_that_event(seq: int) -> None:
    lot = played()
    text = text_of(lot)
    data = text.encode()
    start, end = _entry_spans(text)[seq]
    assert type(lot.records[seq - 1].event).__name__  # the entry exists
    for position in range(start, end):
        for flip in (0x01, 0x20):
            changed = bytearray(data)
            changed[position] ^= flip
            if changed[position] == data[position]:
                continue
            found = failure(bytes(changed))
            assert found[0] == seq, (position, chr(data[position]), found)


def test_the_fields_of_events_are_each_covered_by_the_hash() -> None:
    lot = played()
    doc = export_of(lot)
    for index, entry in enumerate(doc["events"]):
        for key, value in entry["event"].items():
            changed = json.loads(json.dumps(doc))
            body = changed["events"][index]["event"]
            body[key] = (value + 1 if isinstance(value, int) and not isinstance(value, bool)
                         else {"x": 1} if isinstance(value, dict) else f"{value}x")
            seq, kind, detail = failure(changed)
            assert (seq, kind) == (index + 1, "hash"), (key, detail)
            assert detail.startswith(f"event {index + 1} does not match its hash")


# --------------------------------------------------------------------------- structure


def test_removing_an_event_fails_where_it_was() -> None:
    doc = export_of(played())
    for seq in (1, 5, 14):
        changed = json.loads(json.dumps(doc))
        del changed["events"][seq - 1]
        assert failure(changed)[:2] == (seq, "seq")
    changed = json.loads(json.dumps(doc))
    del changed["events"][4]
    found = failure(changed)
    assert "event 5 is missing: entry 5 has seq 6 (an event was removed" in found[2]


def test_removing_the_last_event_fails_on_the_outcome() -> None:
    doc = export_of(played())
    doc["events"].pop()
    seq, kind, detail = failure(doc)
    assert (seq, kind) == (None, "outcome")
    assert detail.startswith("outcome.last_hash: the replayed record gives")


def test_reordering_two_events_fails_at_the_first() -> None:
    doc = export_of(played())
    events = doc["events"]
    events[9], events[10] = events[10], events[9]
    seq, kind, detail = failure(doc)
    assert (seq, kind) == (10, "seq") and "reordered" in detail
    rechain(doc)  # renumbered and rehashed: the rules see a bid before the other
    seq, kind, detail = failure(doc)
    assert (seq, kind) == (10, "rules")


def test_renumbering_without_rehashing_fails_on_the_hash() -> None:
    doc = export_of(played())
    doc["events"][9], doc["events"][10] = doc["events"][10], doc["events"][9]
    doc["events"][9]["seq"], doc["events"][10]["seq"] = 10, 11
    assert failure(doc)[:2] == (10, "hash")


@pytest.mark.parametrize("key, value", [
    ("status", "failed"), ("bidder_id", "b"), ("bidder_no", "1377"), ("amount", "1050000.00"),
    ("amount", "1040000.0"), ("currency", "USD"), ("reason", "x"), ("at", T0),
    ("bidders", 3), ("bids", 5), ("last_seq", 1), ("last_hash", GENESIS),
])
def test_changing_the_outcome_fails_naming_the_field(key: str, value: Any) -> None:
    doc = export_of(played())
    doc["outcome"][key] = value
    seq, kind, detail = failure(doc)
    assert (seq, kind) == (None, "outcome")
    assert detail.startswith(f"outcome.{key}: the replayed record gives ")


def test_an_outcome_with_a_member_missing_or_added_fails() -> None:
    doc = export_of(played())
    del doc["outcome"]["bids"]
    assert failure(doc)[2] == "the outcome has no 'bids'"
    doc = export_of(played())
    doc["outcome"]["winner"] = "a"
    assert failure(doc)[2] == "the outcome has an unknown member 'winner'"
    doc = export_of(played())
    doc["outcome"]["bids"] = 4.0  # equal as a number, but not the record's whole number
    assert failure(doc)[1] == "outcome"


# --------------------------------------------------------------------------- the rules


def test_an_award_to_another_bidder_with_a_rebuilt_chain_fails_on_the_rules() -> None:
    lot = played()
    doc = export_of(lot)
    award = next(e for e in doc["events"] if e["event"]["type"] == "LotAwarded")
    award["event"]["bidder_id"], award["event"]["bidder_no"] = "b", "1377"
    doc["outcome"]["bidder_id"], doc["outcome"]["bidder_no"] = "b", "1377"
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (award["seq"], "rules")
    assert detail == "LotAwarded.bidder_id: the rules give 'a', the file has 'b'"


def test_a_bid_the_rules_refuse_fails_even_with_a_rebuilt_chain() -> None:
    doc = export_of(played())
    bid = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted"
               and e["event"]["bidder_id"] == "b")
    bid["event"]["amount"] = cny("1005000.00")  # half a step
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (bid["seq"], "rules")
    assert detail.startswith("the rules refuse this BidAccepted: not_improving")


def test_a_different_event_where_the_rules_record_another_fails() -> None:
    doc = export_of(played())
    bid = next(e for e in doc["events"] if e["event"]["type"] == "BidAccepted"
               and e["event"]["bidder_id"] == "c")
    extension = doc["events"][bid["seq"]]
    assert extension["event"]["type"] == "CloseExtended"
    extension["event"] = {**event_to_dict(LotAwarded(at=bid["event"]["at"], actor=SYSTEM,
                                                     bidder_id="c", bidder_no="2090",
                                                     amount=1))}
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind, detail) == (bid["seq"] + 1, "rules",
                                   "the rules record CloseExtended here, the file has "
                                   "LotAwarded")


def test_an_event_no_decision_starts_with_fails() -> None:
    doc = export_of(played())
    extension = next(e for e in doc["events"] if e["event"]["type"] == "CloseExtended"
                     and e["event"]["actor"] == SYSTEM)
    bid = doc["events"][extension["seq"] - 2]
    doc["events"].remove(bid)
    seq, kind, detail = failure(rechain(doc))
    assert kind == "rules" and detail == "no decision of the rules starts with CloseExtended here"
    assert seq == bid["seq"]


def test_a_record_that_ends_inside_a_decision_fails() -> None:
    lot = SimLot("L-CUT").open()
    lot.register("a")
    lot.bid("a", "1000000.00", T0 + 1)
    lot.close()
    doc = export_of(lot)
    doc["events"].pop()  # the LotAwarded of the close
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (len(doc["events"]) + 1, "rules")
    assert detail == "the record ends inside a decision: the rules also record LotAwarded"


def test_a_record_not_starting_with_its_lot_fails_at_the_first_event() -> None:
    doc = export_of(played())
    doc["events"][0]["event"]["lot_id"] = "L-OTHER"
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (1, "rules") and "the lot is 'L-OTHER'" in detail
    doc = export_of(played())
    del doc["events"][0]
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (1, "rules")
    assert detail == "the rules refuse this BidderRegistered: invalid_state (the lot does not " \
                     "exist)"


def test_a_staff_extension_is_decided_again() -> None:
    doc = export_of(played())
    extension = next(e for e in doc["events"] if e["event"]["type"] == "CloseExtended"
                     and e["event"]["actor"] == HOST)
    extension["event"]["closes_at"] = T0  # earlier than the closing time then
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (extension["seq"], "rules") and "bad_deadline" in detail
    assert ExtendLot and CloseExtended  # the command and event compared


# --------------------------------------------------------------------------- format


def test_documents_that_are_not_exports_fail_on_the_format() -> None:
    good = export_of(played())
    cases: list[tuple[Any, str]] = [
        ([], "the document is not a JSON object"),
        ({k: v for k, v in good.items() if k != "outcome"}, "the document has no 'outcome'"),
        ({**good, "extra": 1}, "the document has an unknown member 'extra'"),
        ({**good, "format_version": 2}, "format_version 2 is not 1"),
        ({**good, "format_version": True}, "format_version True is not 1"),
        ({**good, "lot_id": ""}, "lot_id is not a non-empty string"),
        ({**good, "events": []}, "events is not a non-empty list"),
        ({**good, "events": {}}, "events is not a non-empty list"),
        ({**good, "outcome": []}, "outcome is not an object"),
    ]
    for doc, detail in cases:
        result = verify(json.dumps(doc))
        assert result.discrepancy is not None
        assert (result.discrepancy.seq, result.discrepancy.kind) == (None, "format")
        assert result.discrepancy.detail == detail
        assert str(result.discrepancy) == f"document: format: {detail}"


def test_malformed_entries_fail_at_their_seq() -> None:
    good = export_of(played())

    def with_entry(index: int, entry: Any) -> dict[str, Any]:
        doc = json.loads(json.dumps(good))
        doc["events"][index] = entry
        return doc

    entry = good["events"][3]
    assert failure(json.dumps(with_entry(3, [1])))[:2] == (4, "format")
    assert failure(json.dumps(with_entry(3, {**entry, "x": 1})))[:2] == (4, "format")
    assert failure(with_entry(3, {**entry, "seq": True}))[:2] == (4, "seq")
    assert failure(with_entry(3, {**entry, "hash": "ABC"}))[:2] == (4, "hash")
    assert failure(with_entry(3, {**entry, "hash": entry["hash"].upper()}))[:2] == (4, "hash")
    assert failure(with_entry(3, {**entry, "event": "x"}))[:2] == (4, "event")
    body = {**entry["event"], "name": "\ud800"}
    seq, kind, detail = failure(json.dumps(with_entry(3, {**entry, "event": body})))
    assert (seq, kind) == (4, "event") and detail.startswith("event 4 cannot be encoded")
    unknown = {"type": "LotExploded", "at": T0, "actor": HOST}
    forged = rechain(with_entry(3, {**entry, "event": unknown}))
    assert failure(forged) == (4, "event", "unknown event type 'LotExploded'")


def test_text_that_is_not_json_is_located_by_line() -> None:
    text = text_of(played())
    assert failure(text[:-10])[:2] == (None, "format")
    header_broken = text.replace('"format_version":1', '"format_version":1,,', 1)
    assert failure(header_broken)[:2] == (None, "format")
    assert failure('{"a": 1, "a": 2}') == (None, "format", "not valid JSON: the key 'a' "
                                                           "appears twice in one object")
    assert failure('{"a": NaN}')[2] == "not valid JSON: NaN is not a JSON number"
    assert failure("[1,\n2")[:2] == (None, "format")  # no events section at all
    data = text.encode()
    start, _ = _entry_spans(text)[7]
    broken = data[:start + 3] + b"\xff" + data[start + 4:]
    seq, kind, detail = failure(broken)
    assert (seq, kind) == (7, "format") and detail.startswith("not UTF-8 at byte")
    assert failure(b"\xff" + data[1:])[:2] == (None, "format")


def test_a_cut_file_is_located_inside_the_events() -> None:
    text = text_of(played())
    lines = text.split("\n")
    start = lines.index('"events":[')
    cut = "\n".join(lines[:start + 4])  # ends inside the events, the last line cut
    cut = cut[:-5]
    seq, kind, _ = failure(cut)
    assert (seq, kind) == (3, "format")


# --------------------------------------------------------------------------- the command


def test_auction_verify_exits_0_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "lot.json"
    path.write_text(text_of(played()), encoding="utf-8")
    done = subprocess.run([str(AUCTION), "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("VERIFIED: lot L-VERIFY")


def test_auction_verify_exits_1_with_the_first_discrepancy(tmp_path: Path) -> None:
    lot = played()
    text = text_of(lot)
    start, _ = _entry_spans(text)[12]
    data = bytearray(text.encode())
    position = data.index(b'"amount":', start) + len(b'"amount":')
    data[position] = ord("9") if data[position] != ord("9") else ord("8")
    path = tmp_path / "tampered.json"
    path.write_bytes(bytes(data))
    done = subprocess.run([str(AUCTION), "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED: seq 12: hash: event 12 does not match its hash")


def test_auction_verify_exits_1_on_a_forged_award_and_2_on_a_missing_file(
        tmp_path: Path) -> None:
    doc = export_of(played())
    award = next(e for e in doc["events"] if e["event"]["type"] == "LotAwarded")
    award["event"]["amount"] += 1
    doc["outcome"]["amount"] = "1040000.01"
    path = tmp_path / "forged.json"
    path.write_text(dumps(rechain(doc)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "web.cli", "verify", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"seq {award['seq']}: rules: LotAwarded.amount" in done.stdout
    done = subprocess.run([str(AUCTION), "verify", str(tmp_path / "missing.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_an_outcome_event_without_its_close_fails() -> None:
    doc = export_of(played())
    closed = next(e for e in doc["events"] if e["event"]["type"] == "LotClosed")
    doc["events"].remove(closed)
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind, detail) == (closed["seq"], "rules",
                                   "no decision of the rules starts with LotAwarded here")


def test_an_export_without_a_time_of_export_verifies() -> None:
    lot = played()
    doc = build_export(lot.s, lot.records)
    assert "exported_at" not in doc and verify(dumps(doc)).ok
