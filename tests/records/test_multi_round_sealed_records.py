"""The record of a multi_round lot whose initial bids were sealed by the bidders: its
export verifies offline (every commitment, reveal, void and the rounds decided again),
and a forged reveal, a forged void or a removed reveal is found even with a rebuilt
chain; the public records show a void bidder as such."""

from __future__ import annotations

from typing import Any

from auction.commit_reveal import seal_commitment
from auction.formats import revealed_records
from auction.model import Act, CreateLot, Tick
from auction.report import announcement
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, redact

from .sim import HOST, T0, SimLot, cny
from .test_verify import failure, rechain

FIRST, REVEAL, TURN = 300_000, 60_000, 120_000
SALTS = {"a": "a1" * 16, "b": "b2" * 32, "c": "c3" * 20}
PRICES = {"a": "900000.00", "b": "950000.00", "c": "960000.00"}


def sealed_rounds_lot() -> SimLot:
    """Three bidders commit; a and b reveal, c never does (void); one round; b cuts in
    its turn and wins."""
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = "L-SEALED-ROUNDS", None, [], []
    lot.do(CreateLot(lot_id=lot.lot_id, session_id="S-1", format="multi_round",
                     title="办公设备采购 第4包（竞买人自行密封）",
                     params={"step": "100.00", "ceiling": "1000000.00", "deposit": "5000.00",
                             "rounds": 1, "sealing": "bidder", "reveal_s": 60},
                     actor=HOST), T0 - 60_000)
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
    lot.open(T0)
    for i, bidder_id in enumerate(("a", "b", "c")):
        number = lot.s.bidders[bidder_id].bidder_no
        commitment = seal_commitment(lot.lot_id, number, cny(PRICES[bidder_id]),
                                     SALTS[bidder_id])
        lot.do(Act(bidder_id=bidder_id, act="commit", commitment=commitment,
                   ip=f"10.0.0.{i}", device=f"web:{bidder_id}"), T0 + 1000 * (i + 1))
    lot.do(Tick(), T0 + FIRST)
    for i, bidder_id in enumerate(("b", "a")):
        lot.do(Act(bidder_id=bidder_id, act="reveal", amount=cny(PRICES[bidder_id]),
                   salt=SALTS[bidder_id]), T0 + FIRST + 1000 * (i + 1))
    lot.do(Tick(), T0 + FIRST + REVEAL)  # c is void; b (worse) takes the first turn
    lot.bid("b", "880000.00", T0 + FIRST + REVEAL + 5000)
    lot.close()
    return lot


def export_of(lot: SimLot) -> dict[str, Any]:
    return build_export(lot.s, lot.records, exported_at=T0 + 10_000_000)


def entry(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in doc["events"] if e["event"]["type"] == kind)
    return found


def test_the_export_of_a_bidder_sealed_multi_round_lot_verifies() -> None:
    lot = sealed_rounds_lot()
    kinds = [type(r.event).__name__ for r in lot.records]
    assert {"BidCommitted", "RevealOpened", "BidRevealed", "BidsVoided"} <= set(kinds)
    result = verify(dumps(export_of(lot)))
    assert result.ok, result.summary
    assert "awarded to bidder No. 1377 at 880000.00 CNY" in result.summary


def test_a_revealed_price_changed_with_a_rebuilt_chain_fails_verification() -> None:
    doc = export_of(sealed_rounds_lot())
    revealed = entry(doc, "BidRevealed")
    revealed["event"]["amount"] -= 100
    accepted = doc["events"][revealed["seq"]]  # its BidAccepted, changed alike
    accepted["event"]["amount"] -= 100
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (revealed["seq"], "rules")
    assert "reveal_mismatch" in detail


def test_a_void_bidder_put_back_into_the_rounds_fails_verification() -> None:
    doc = export_of(sealed_rounds_lot())
    voided = entry(doc, "BidsVoided")
    voided["event"]["bidder_nos"] = []
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (voided["seq"], "rules")
    assert detail.startswith("BidsVoided.bidder_nos: the rules give ['2090']")


def test_a_removed_reveal_is_found_even_with_a_rebuilt_chain() -> None:
    doc = export_of(sealed_rounds_lot())
    revealed = entry(doc, "BidRevealed")
    doc["events"] = [e for e in doc["events"]
                     if e["seq"] not in (revealed["seq"], revealed["seq"] + 1)]
    _, kind, _ = failure(rechain(doc))
    assert kind == "rules"


def test_a_changed_commitment_is_found_even_with_a_rebuilt_chain() -> None:
    doc = export_of(sealed_rounds_lot())
    opened = entry(doc, "RevealOpened")
    opened["event"]["commitments"][0] = "0" * 64
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (opened["seq"], "rules")


def test_the_public_record_names_the_void_bidder_by_number_only() -> None:
    lot = sealed_rounds_lot()
    public = revealed_records(lot.s, lot.records)
    assert len(public) == len(lot.records)  # every price is revealed by the award
    shown = [redact(lot.s, r, PUBLIC) for r in public]
    voided = next(e for e in shown if e["type"] == "BidsVoided")
    assert voided["bidder_nos"] == ["2090"]
    assert "公司 c" not in repr(shown) and "10.0.0.2" not in repr(shown)
    text = repr(announcement(lot.s, public))
    assert "1377" in text and "880000.00" in text and "公司" not in text
