"""``auction bank``: a statement imported in pieces, the refund file written, the bank's
confirmations imported, against a real server."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from web_support import HOST_TOKEN, Server, ServerFactory

from web import bank_cli
from web.cli import _parser


def args(server: Server, *argv: str) -> argparse.Namespace:
    return _parser().parse_args(["bank", *argv, "--url", server.base, "--token", HOST_TOKEN])


def test_a_statement_is_cut_into_pieces_of_whole_rows_each_with_the_header() -> None:
    data = "交易时间,金额\n".encode("gbk") + b"".join(
        f"2025-09-2{i % 9} 10:00:00,{i}.00\r\n".encode("gbk") for i in range(100))
    pieces = bank_cli.pieces(data, 300)
    assert len(pieces) > 3
    assert all(p.startswith("交易时间,金额\n".encode("gbk")) for p in pieces)
    rows = [r for p in pieces for r in p.splitlines()[1:]]
    assert rows == data.splitlines()[1:]
    assert bank_cli.pieces(b"header\n", 300) == [b"header\n"]


async def test_the_bank_commands_import_export_and_confirm(
        make_server: ServerFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bank_cli, "PIECE", 2048)  # several pieces
    monkeypatch.setattr(bank_cli, "CONFIRMATIONS", 70)
    server = await make_server()
    lot_id = await server.make_lot()
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "撤销 / withdrawn"})
    rows = "".join(f"2025-09-23 10:{i % 60:02d}:00,6222-{i},某公司{i},1.00,转账,S-{i}\n"
                   for i in range(150))
    statement = tmp_path / "statement.csv"
    statement.write_bytes(("交易时间,付款账号,付款户名,金额,附言,流水号\n" + rows).encode("gbk"))
    assert await bank_cli.run(args(server, "import", str(statement))) == 0
    assert "150 arrivals read, 150 new" in capsys.readouterr().out
    out = tmp_path / "refunds.csv"
    assert await bank_cli.run(args(server, "refunds", "-o", str(out), "--encoding",
                                   "gbk")) == 0
    assert "150 refunds in batch RF-" in capsys.readouterr().out
    lines = out.read_bytes().decode("gb18030").splitlines()
    assert len(lines) == 151
    confirmations = tmp_path / "confirmed.csv"
    confirmations.write_text("退款编号,银行流水号,状态\n" + "".join(
        f"S-{i},BK-{i},成功\n" for i in range(150)), encoding="utf-8")
    assert await bank_cli.run(args(server, "confirm", str(confirmations))) == 0
    assert "150 refunds confirmed" in capsys.readouterr().out
    ledger = await server.ok("GET", "/api/bank/ledger")
    assert ledger["balances"] == {"": "0.00"}
    assert await bank_cli.run(args(server, "refunds")) == 0
    assert "no refund is due" in capsys.readouterr().out


async def test_without_a_token_the_bank_commands_say_so(
        server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = args(server, "refunds")
    namespace.token = None
    assert await bank_cli.run(namespace) == 2
    assert "a host token is needed" in capsys.readouterr().err
