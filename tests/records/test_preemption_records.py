"""Records of lots with pre-emptive purchase rights (优先购买权): ``auction verify`` decides
every match and every match window again, a forged match or a window moved in time is
caught, and the reports of such lots keep to what each reader may see."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from auction.collusion import check_lot
from auction.report import announcement, full_report, ocds_release, report_csv
from auction.verify import verify

from .sim import T0, SimLot, params
from .test_verify import AUCTION, export_of, failure, rechain, text_of

HOUR = 3_600_000


def holders_lot(exercise: str = "during") -> SimLot:
    """Shareholders co-1 (priority 1) and co-2 (priority 2) and an outside bidder."""
    rules: dict[str, Any] = {"holders": ["co-1", "co-2"], "exercise": exercise}
    if exercise == "at_end":
        rules["window_s"] = 600
    lot = SimLot(f"L-PRE-{exercise.upper()}", params(preemption=rules))
    for bidder_id, no in (("out", "4821"), ("co-1", "1377"), ("co-2", "2090")):
        lot.register(bidder_id, no)
    lot.open(T0)
    return lot


def matched_lot() -> SimLot:
    lot = holders_lot()
    lot.bid("out", "1000000.00", T0 + 5_000)
    lot.bid("co-2", "1000000.00", T0 + 6_000)
    lot.bid("out", "1010000.00", T0 + 7_000)
    lot.bid("co-2", "1010000.00", T0 + 8_000)
    lot.bid("co-1", "1010000.00", T0 + 9_000)
    lot.close()
    return lot


def window_lot() -> SimLot:
    lot = holders_lot("at_end")
    lot.bid("out", "1000000.00", T0 + 5_000)
    lot.bid("co-2", "1010000.00", T0 + 6_000)
    lot.bid("out", "1020000.00", T0 + 7_000)
    lot.close()  # the window opens
    lot.bid("co-2", "1020000.00", T0 + HOUR + 60_000)
    lot.close()  # the window ends
    return lot


def test_the_export_of_a_lot_with_matches_verifies_and_the_higher_priority_won() -> None:
    lot = matched_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_no == "1377"
    result = verify(text_of(lot))
    assert result.ok, result.summary


def test_the_export_of_a_lot_matched_in_its_window_verifies() -> None:
    lot = window_lot()
    assert lot.s.outcome is not None and lot.s.outcome.bidder_no == "2090"
    types = [type(r.event).__name__ for r in lot.records]
    assert types.count("MatchWindowOpened") == 1 and types.count("PriceMatched") == 1
    result = verify(text_of(lot))
    assert result.ok, result.summary


def test_auction_verify_replays_the_window_and_the_match(tmp_path: Path) -> None:
    path = tmp_path / "lot.json"
    path.write_text(text_of(window_lot()), encoding="utf-8")
    done = subprocess.run([str(AUCTION), "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "awarded to bidder No. 2090 at 1020000.00 CNY" in done.stdout


def test_a_match_claimed_for_an_outside_bidder_is_caught_even_with_a_rebuilt_chain() -> None:
    doc = export_of(matched_lot())
    entry = next(e for e in doc["events"] if e["event"]["type"] == "PriceMatched")
    bid = doc["events"][entry["seq"] - 2]
    for event in (entry["event"], bid["event"]):
        event.update(bidder_id="out", bidder_no="4821")
    bid["event"]["actor"] = "4821"
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (bid["seq"], "rules")


def test_a_lower_priority_taking_the_price_from_a_higher_one_is_caught() -> None:
    doc = export_of(matched_lot())
    matches = [e for e in doc["events"] if e["event"]["type"] == "PriceMatched"]
    last = matches[-1]
    # Swap who matched last: co-2 after co-1 would take the price from priority 1.
    for entry in (doc["events"][last["seq"] - 2], last):
        entry["event"].update(bidder_id="co-2", bidder_no="2090")
    doc["events"][last["seq"] - 2]["event"]["actor"] = "2090"
    seq, kind, _ = failure(rechain(doc))
    assert kind == "rules" and seq is not None and seq <= last["seq"]


def test_a_window_cut_short_is_caught() -> None:
    doc = export_of(window_lot())
    entry = next(e for e in doc["events"] if e["event"]["type"] == "MatchWindowOpened")
    entry["event"]["closes_at"] -= 300_000
    seq, kind, _ = failure(rechain(doc))
    assert (seq, kind) == (entry["seq"], "rules")


def test_reports_of_a_lot_with_holders_do_not_crash_and_the_announcement_names_no_holder(
        ) -> None:
    for lot in (matched_lot(), window_lot()):
        public: dict[str, Any] = announcement(lot.s, lot.records)
        assert "co-1" not in json.dumps(public) and "co-2" not in json.dumps(public)
        report = full_report(lot.s, lot.records, [],
                             [f.to_dict() for f in check_lot(lot.record())], T0 + 2 * HOUR)
        report_csv(report)
        ocds_release(lot.s, lot.records, "ocds-test", "test publisher")
