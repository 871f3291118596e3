"""The record of a multi_round lot whose initial bids were sealed by the bidders: its
export verifies offline (every commitment, reveal, void and the rounds decided again),
and a forged reveal, a forged void or a removed reveal is found even with a rebuilt
chain; the public records show a void bidder as such."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from auction.commit_reveal import seal_commitment
from auction.formats import revealed_records
from auction.model import Act, CreateLot, EnrollKey, PlaceBid, Tick
from auction.report import announcement
from auction.verify import build_export, dumps, verify
from auction.views import PUBLIC, redact
from engine.signatures import Signer

from .sim import HOST, T0, SimLot, cny
from .test_verify import failure, rechain

FIRST, REVEAL, TURN = 300_000, 60_000, 120_000
SALTS = {"a": "a1" * 16, "b": "b2" * 32, "c": "c3" * 20}
PRICES = {"a": "900000.00", "b": "950000.00", "c": "960000.00"}


def sealed_rounds_lot(*, signed: bool = False) -> SimLot:
    """Three bidders commit; a and b reveal, c never does (void); one round; b cuts in
    its turn and wins. ``signed``: every bidder action is signed (``signatures:
    required``)."""
    lot = SimLot.__new__(SimLot)
    lot.lot_id, lot.state, lot.records, lot.connections = "L-SEALED-ROUNDS", None, [], []
    params = {"step": "100.00", "ceiling": "1000000.00", "deposit": "5000.00", "rounds": 1,
              "sealing": "bidder", "reveal_s": 60}
    lot.do(CreateLot(lot_id=lot.lot_id, session_id="S-1", format="multi_round",
                     title="办公设备采购 第4包（竞买人自行密封）",
                     params={**params, "signatures": "required"} if signed else params,
                     actor=HOST), T0 - 60_000)
    signers: dict[str, Signer] = {}
    for bidder_id, no in (("a", "4821"), ("b", "1377"), ("c", "2090")):
        lot.register(bidder_id, no)
        if signed:
            signers[bidder_id] = signer = Signer.ecdsa_p256()
            lot.do(EnrollKey(bidder_id=bidder_id, alg=signer.alg, key=signer.key,
                             certificate=signer.certificate), T0 - 20_000)
    lot.open(T0)

    def do(cmd: Act | PlaceBid, at: int) -> None:
        if signed:
            action = "bid" if isinstance(cmd, PlaceBid) else cmd.act
            fields = {} if isinstance(cmd, PlaceBid) else {
                k: v for k, v in (("commitment", cmd.commitment), ("salt", cmd.salt)) if v}
            cmd = replace(cmd, signed=signers[cmd.bidder_id].signed(
                lot.lot_id, lot.s.bidders[cmd.bidder_id].bidder_no, action, cmd.amount,
                lot.s.version, fields))
        lot.do(cmd, at)

    for i, bidder_id in enumerate(("a", "b", "c")):
        number = lot.s.bidders[bidder_id].bidder_no
        commitment = seal_commitment(lot.lot_id, number, cny(PRICES[bidder_id]),
                                     SALTS[bidder_id])
        do(Act(bidder_id=bidder_id, act="commit", commitment=commitment,
               ip=f"10.0.0.{i}", device=f"web:{bidder_id}"), T0 + 1000 * (i + 1))
    lot.do(Tick(), T0 + FIRST)
    for i, bidder_id in enumerate(("b", "a")):
        do(Act(bidder_id=bidder_id, act="reveal", amount=cny(PRICES[bidder_id]),
               salt=SALTS[bidder_id]), T0 + FIRST + 1000 * (i + 1))
    lot.do(Tick(), T0 + FIRST + REVEAL)  # c is void; b (worse) takes the first turn
    do(PlaceBid(bidder_id="b", amount=cny("880000.00")), T0 + FIRST + REVEAL + 5000)
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


def test_signed_commitments_and_reveals_verify_and_a_swapped_commitment_or_salt_fails(
        ) -> None:
    """The commitment of a signed commit and the salt of a signed reveal are in the
    signed message: a forger who recomputes a commitment (to match another price, with
    a salt of its own) and rebuilds the chain is caught by the signature."""
    lot = sealed_rounds_lot(signed=True)
    doc = export_of(lot)
    result = verify(dumps(doc))
    assert result.ok, result.summary
    for kind, field, value in (("BidCommitted", "commitment", "0" * 64),
                               ("BidRevealed", "salt", "d4" * 16)):
        forged = json.loads(json.dumps(doc))
        target = entry(forged, kind)
        assert target["event"]["signed"] is not None
        target["event"][field] = value
        seq, found, detail = failure(rechain(forged))
        assert (seq, found) == (target["seq"], "rules") and "bad_signature" in detail
