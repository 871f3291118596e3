"""The lottery nobody can predict, recomputed from a lot's export alone: a tie among
bidder-sealed bids is drawn with the operator's seed (committed when the lot opened)
mixed with the tied candidates' commitments (made by the bidders after that, from salts
only they knew). The check below uses nothing but the export, ``json`` and ``hashlib``;
``auction verify`` decides the same draw again, and a forged contribution fails it."""

import hashlib
import json
from typing import Any

from auction import draw
from auction.commit_reveal import seal_commitment
from auction.model import Act, Tick
from auction.verify import build_export, dumps, verify

from .sim import T0, cny
from .test_sealed_records import OPENING, SEED, SealedSim, rechain

REVEAL_END = OPENING + 300_000
SALTS = {"a": "a1" * 32, "b": "b2" * 32, "c": "c3" * 32}
PRICES = {"a": "450000.00", "b": "450000.00", "c": "470000.00"}


def tied_lot() -> SealedSim:
    """A reverse bidder-sealed lot where a and b tie at the best price."""
    lot = SealedSim(sealing="bidder", reveal_s=300)
    for bidder in ("a", "b", "c"):
        lot.register(bidder)
    lot.open()
    for i, bidder in enumerate(("a", "b", "c")):
        number = lot.s.bidders[bidder].bidder_no
        lot.do(Act(bidder_id=bidder, act="commit", commitment=seal_commitment(
            lot.lot_id, number, cny(PRICES[bidder]), SALTS[bidder])), T0 + 1_000 * (i + 1))
    lot.opening()
    for bidder in ("a", "b", "c"):
        lot.do(Act(bidder_id=bidder, act="reveal", amount=cny(PRICES[bidder]),
                   salt=SALTS[bidder]), OPENING + 5_000)
    lot.do(Tick(seed=SEED, seed_hash=draw.commitment(SEED)), REVEAL_END)
    return lot


def recompute(doc: dict[str, Any]) -> str:
    """The winner of the export's draw, from the export alone (docs/records.md)."""
    events = [e["event"] for e in doc["events"]]
    seed_hash = next(e["seed_hash"] for e in events if e["type"] == "DrawCommitted")
    drawn = next(e for e in events if e["type"] == "LotDrawn")
    seed = drawn["seed"]
    assert hashlib.sha256(seed.encode()).hexdigest() == seed_hash
    # every contribution is the commitment a candidate made, and its reveal opens it
    committed = {e["bidder_no"]: e["commitment"] for e in events if e["type"] == "BidCommitted"}
    for number, contribution in zip(drawn["candidates"], drawn["contributions"], strict=True):
        assert committed[number] == contribution
        reveal = next(e for e in events if e["type"] == "BidRevealed"
                      and e["bidder_no"] == number)
        text = json.dumps([doc["lot_id"], number, str(reveal["amount"]), reveal["salt"]],
                          separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode()).hexdigest() == contribution
    # the DrawCommitted came before any commitment
    order = [e["type"] for e in events]
    assert order.index("DrawCommitted") < order.index("BidCommitted")
    mix = "".join(f"|{c}" for c in drawn["contributions"])
    digest = hashlib.sha256((seed + doc["lot_id"] + mix).encode()).hexdigest()
    candidates = sorted(drawn["candidates"])
    return candidates[int(digest, 16) % len(candidates)]


def test_the_draw_is_recomputed_from_the_export_alone() -> None:
    lot = tied_lot()
    doc = json.loads(dumps(build_export(lot.s, lot.records, REVEAL_END + 1)))
    winner = recompute(doc)
    assert doc["outcome"]["bidder_no"] == winner
    assert winner in {lot.s.bidders["a"].bidder_no, lot.s.bidders["b"].bidder_no}
    assert verify(dumps(doc)).ok


def test_a_draw_with_a_forged_contribution_fails_verification() -> None:
    lot = tied_lot()
    doc = build_export(lot.s, lot.records, REVEAL_END + 1)
    drawn = next(e for e in doc["events"] if e["event"]["type"] == "LotDrawn")
    drawn["event"]["contributions"][0] = "0" * 64
    result = verify(dumps(rechain(doc)))
    assert not result.ok and result.discrepancy is not None
    assert (result.discrepancy.seq, result.discrepancy.kind) == (drawn["seq"], "rules")
