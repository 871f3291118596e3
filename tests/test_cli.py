"""The ``auction`` command as a user runs it, in a child process."""

import asyncio
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
    # Every awarded lot has its signed confirmation (成交确认书), and the demo says where.
    awarded = re.findall(r"^\[(\S+)\] 成交 AWARDED", out, re.MULTILINE)
    assert awarded
    for lot_id in awarded:
        pdf = tmp_path / "confirmations" / f"{lot_id}.pdf"
        assert f"[{lot_id}] signed confirmation 成交确认书 (PDF, PAdES): {pdf}" in out
        assert pdf.read_bytes().startswith(b"%PDF-") and b"/ETSI.CAdES.detached" in pdf.read_bytes()


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
