"""Records of a lot whose reserve was entered late and witnessed (issue 19): the export
verifies with ``auction verify`` (the entry's commitment, the approval by another person,
the reveal at the close and the outcome it decided are all decided again), and a forged
reveal, a forged entry or an outcome that ignored the reserve fail it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from auction.model import ApproveReserve, EnterReserve
from auction.report import announcement
from auction.verify import dumps, verify
from auction.witnessed import commitment

from .sim import HOST, T0, SimLot, cny, params
from .test_verify import AUCTION, export_of, failure, rechain, text_of

SUPERVISOR = "supervisor1"
SALT = "c0ffee" * 6


def witnessed_lot(best: str = "1030000.00") -> SimLot:
    """A lot whose reserve 1,025,000.00 a host entered (replacing a first entry) and a
    supervisor approved before it opened; two bidders, the best ``best``."""
    lot = SimLot("L-WITNESS", params(reserve_entry={"before_close_s": 1800}))
    lot.register("a", "4821")
    lot.register("b", "1377")
    lot.do(EnterReserve(actor=HOST, amount=cny("1200000.00"), salt="1" * 32,
                        reason="评估报告"), T0 - 20_000)
    lot.do(EnterReserve(actor="host2", amount=cny("1025000.00"), salt=SALT,
                        reason="评估报告更正"), T0 - 15_000)
    lot.do(ApproveReserve(actor=SUPERVISOR, commitment=commitment(cny("1025000.00"), SALT)),
           T0 - 10_000)
    lot.open(T0)
    lot.bid("a", "1000000.00", T0 + 5_000)
    lot.bid("b", best, T0 + 10_000)
    lot.close()
    return lot


def _verify_cli(tmp_path: Path, doc: dict[str, Any] | str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "lot.json"
    path.write_text(doc if isinstance(doc, str) else dumps(doc), encoding="utf-8")
    return subprocess.run([str(AUCTION), "verify", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_auction_verify_replays_the_entry_the_approval_and_the_reveal(tmp_path: Path) -> None:
    lot = witnessed_lot()
    assert lot.s.status == "awarded"
    kinds = [e["event"]["type"] for e in export_of(lot)["events"]]
    assert kinds[-3:] == ["LotClosed", "ReserveRevealed", "LotAwarded"]
    done = _verify_cli(tmp_path, text_of(lot))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VERIFIED: lot L-WITNESS")
    failed = witnessed_lot("1020000.00")
    assert failed.s.outcome is not None and failed.s.outcome.reason == "reserve_not_met"
    assert verify(text_of(failed)).ok


def test_a_forged_reveal_fails_auction_verify(tmp_path: Path) -> None:
    doc = export_of(witnessed_lot())
    reveal = next(e for e in doc["events"] if e["event"]["type"] == "ReserveRevealed")
    reveal["event"]["amount"] = cny("1000000.00")  # a lower reserve than was approved
    done = _verify_cli(tmp_path, rechain(doc))
    assert done.returncode == 1
    assert f"seq {reveal['seq']}: rules: ReserveRevealed.amount" in done.stdout


def test_a_reveal_with_another_salt_fails() -> None:
    doc = export_of(witnessed_lot())
    reveal = next(e for e in doc["events"] if e["event"]["type"] == "ReserveRevealed")
    reveal["event"]["salt"] = "2" * 32
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (reveal["seq"], "rules") and "ReserveRevealed.salt" in detail


def test_an_entry_whose_amount_and_salt_do_not_give_its_commitment_fails() -> None:
    doc = export_of(witnessed_lot())
    entry = [e for e in doc["events"] if e["event"]["type"] == "ReserveEntered"][1]
    entry["event"]["amount"] = cny("1000000.00")
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (entry["seq"], "rules") and "ReserveEntered.commitment" in detail


def test_an_approval_by_the_person_who_entered_the_reserve_fails() -> None:
    doc = export_of(witnessed_lot())
    approval = next(e for e in doc["events"] if e["event"]["type"] == "ReserveApproved")
    approval["event"]["actor"] = "host2"
    seq, kind, detail = failure(rechain(doc))
    assert (seq, kind) == (approval["seq"], "rules") and "same_person" in detail


def test_an_award_below_the_revealed_reserve_fails() -> None:
    doc = export_of(witnessed_lot("1020000.00"))
    outcome = doc["events"][-1]
    assert outcome["event"]["type"] == "LotFailed"
    outcome["event"] = {"type": "LotAwarded", "at": outcome["event"]["at"], "actor": "system",
                        "bidder_id": "b", "bidder_no": "1377", "amount": cny("1020000.00")}
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (outcome["seq"], "rules")


def test_the_public_result_shows_the_commitment_and_the_revealed_reserve() -> None:
    lot = witnessed_lot()
    result = announcement(lot.s, lot.records)
    assert result["reserve_entry"]["status"] == "revealed"
    assert result["reserve_entry"]["amount"] == "1025000.00"
    assert result["reserve_entry"]["commitment"] == commitment(cny("1025000.00"), SALT)
    assert "entered_by" not in result["reserve_entry"]
