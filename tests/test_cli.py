"""The ``auction`` command as a user runs it, in a child process."""

import asyncio
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ServerProcess, free_port
from web.demo import demo_lots

pytestmark = pytest.mark.slow


def test_demo_fast_plays_every_lot_to_its_end_and_exits_0(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "web.cli", "demo", "--fast", "--port", str(port),
         "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert f"http://127.0.0.1:{port}/host#token=" in out
    rooms = re.findall(rf"http://127\.0\.0\.1:{port}/room/(\S+)#token=\S+", out)
    boards = re.findall(rf"http://127\.0\.0\.1:{port}/board/(\S+)", out)
    assert len(rooms) == len(demo_lots(True)) and sorted(rooms) == sorted(boards)
    results = re.findall(r"^\[(\S+)\] (?:成交 AWARDED|FAILED|CANCELLED)", out, re.MULTILINE)
    assert sorted(results) == sorted(rooms), out
    assert "Every lot has ended" in out
    # The land lot (listing_timed) reaches its cap and is decided by the lottery.
    assert re.search(r"摇号 lottery: seed hash [0-9a-f]{64}, seed \S+, candidates .+ → No\. \d+",
                     out), out
    sealed = re.search(r"^\[(\S+)\] .*\(sealed bids\)$", out, re.MULTILINE)
    assert sealed is not None and sealed.group(1) in results  # the sealed lot was opened
    assert (tmp_path / "events.sqlite3").exists()
    # deposits through the bank's signed notifications, one flagged; refunds to zero
    assert "Deposits are paid through the bank" in out
    assert re.search(r"flagged 保证金异常: 付款户名与申请人不一致", out), out
    assert re.search(r"^Refund file 退款文件: \d+ refunds", out, re.MULTILINE), out
    assert "the ledger of every ended lot is at zero" in out, out

    # Every awarded lot has its signed confirmation (成交确认书), and the demo says where.
    awarded = re.findall(r"^\[(\S+)\] 成交 AWARDED", out, re.MULTILINE)
    assert awarded
    for lot_id in awarded:
        # one per winner (each winner of the multi-unit lot has its own), each in the
        # object store, named by the document's hash
        store = re.escape(str(tmp_path / "objects"))
        found = re.findall(rf"^\[{lot_id}\] signed confirmation 成交确认书 \(PDF, PAdES\): "
                           rf"({store}/[0-9a-f]{{2}}/([0-9a-f]{{64}}))$", out, re.MULTILINE)
        assert found, out
        for path, digest in found:
            body = Path(path).read_bytes()
            assert hashlib.sha256(body).hexdigest() == digest
            assert body.startswith(b"%PDF-") and b"/ETSI.CAdES.detached" in body
    # The car-plate quotas (a multi-unit lot) go to two winners at one uniform price.
    plates = re.search(r"^\[\S+\] 成交 AWARDED 1 unit\(s\) to bidder No\. \d+ at ([\d.]+), "
                       r"1 unit\(s\) to bidder No\. \d+ at ([\d.]+) CNY each", out, re.MULTILINE)
    assert plates is not None and plates.group(1) == plates.group(2), out


def test_the_demos_exports_hold_only_signed_bids_and_verify(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    proc = subprocess.run(
        [sys.executable, "-m", "web.cli", "demo", "--fast", "--port", str(free_port()),
         "--data", str(tmp_path / "data"), "--export", str(exports)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(exports.glob("*.json"))
    assert len(files) == len(demo_lots(True)), files
    bids = 0
    for path in files:
        doc = json.loads(path.read_text())
        keys = {e["event"]["bidder_id"] for e in doc["events"]
                if e["event"]["type"] == "KeyEnrolled"}
        for entry in doc["events"]:
            event = entry["event"]
            if event["type"] == "BidAccepted" and event["actor"] != "system":
                assert "signed" in event and event["bidder_id"] in keys, (path.name, event)
                bids += 1
        done = subprocess.run([sys.executable, "-m", "web.cli", "verify", str(path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert bids > 0


def test_serve_refuses_a_data_directory_another_server_holds(tmp_path: Path) -> None:
    first = ServerProcess(str(tmp_path))
    asyncio.run(first.start())
    try:
        second = subprocess.run(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(free_port()),
             "--data", str(tmp_path)], capture_output=True, text=True, timeout=60,
            env=first.env())
        assert second.returncode != 0
        assert "in use by another process" in second.stdout + second.stderr
    finally:
        first.stop()
