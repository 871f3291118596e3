"""``auction bank``: a host's bank files against a running server (docs/bank.md).

* ``auction bank import FILE``: a bank statement (CSV, UTF-8 or GBK) into the bank ledger,
  sent in pieces of whole rows under the API's body limit;
* ``auction bank refunds [-o FILE] [--encoding gbk]``: the bank payment file of every
  refund due, recorded as one batch;
* ``auction bank confirm FILE``: the bank's confirmations of refunds it paid (CSV with
  the columns 退款编号 and 银行流水号, and 状态 where failures are listed).

The server is ``--url`` (``AUCTION_URL``, default http://127.0.0.1:8080), the host's
token ``--token`` (``AUCTION_TOKEN``).
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from web.bank import parse_confirmations

#: Bytes of statement rows sent at a time (base64 grows them by a third; the API takes
#: 64 KiB bodies).
PIECE = 40 * 1024
#: Confirmations sent at a time.
CONFIRMATIONS = 500


def add_parser(sub: Any) -> None:
    bank = sub.add_parser("bank", help="import bank statements, export the refund file, "
                                       "import the bank's refund confirmations")
    bank_sub = bank.add_subparsers(dest="bank_command", required=True)
    statement = bank_sub.add_parser("import", help="import a bank statement (CSV)")
    statement.add_argument("file", type=Path)
    refunds = bank_sub.add_parser("refunds", help="write the bank payment file of the "
                                                  "refunds due")
    refunds.add_argument("-o", "--output", type=Path, default=None,
                         help="the file to write (default: the batch's name)")
    refunds.add_argument("--encoding", choices=("utf-8", "gbk"), default="utf-8")
    confirm = bank_sub.add_parser("confirm", help="import the bank's refund confirmations")
    confirm.add_argument("file", type=Path)
    for p in (statement, refunds, confirm):
        p.add_argument("--url", default=os.environ.get("AUCTION_URL", "http://127.0.0.1:8080"))
        p.add_argument("--token", default=os.environ.get("AUCTION_TOKEN"),
                       help="a host's staff token (or AUCTION_TOKEN)")


def pieces(data: bytes, size: int) -> list[bytes]:
    """``data`` (a CSV file) cut into files of whole rows, each with the header row. A
    line break byte never occurs inside a GBK character, so the cut is safe in either
    encoding. (A quoted cell holding a line break is not cut through: statements have
    none.)"""
    header, _, body = data.partition(b"\n")
    rows = body.splitlines(keepends=True)
    out: list[bytes] = []
    current: list[bytes] = []
    for row in rows:
        if current and sum(map(len, current)) + len(row) > size:
            out.append(header + b"\n" + b"".join(current))
            current = []
        current.append(row)
    if current or not out:
        out.append(header + b"\n" + b"".join(current))
    return out


async def _post(http: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with http.post(url, data=orjson.dumps(body),
                         headers={"Content-Type": "application/json"}) as resp:
        data = orjson.loads(await resp.read())
        if resp.status >= 400:
            raise SystemExit(f"auction bank: {resp.status} {data['error']['code']}: "
                             f"{data['error']['detail']}")
        return data


async def run(args: argparse.Namespace) -> int:
    if not args.token:
        print("auction bank: a host token is needed (--token or AUCTION_TOKEN)",
              file=sys.stderr)
        return 2
    base = args.url.rstrip("/")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {args.token}"}) as http:
        if args.bank_command == "import":
            counts = {"rows": 0, "new": 0, "skipped": 0}
            flagged = []
            for piece in pieces(args.file.read_bytes(), PIECE):
                answer = await _post(http, base + "/api/bank/statements", {
                    "content_base64": base64.b64encode(piece).decode(),
                    "filename": args.file.name})
                for key in counts:
                    counts[key] += answer[key]
                flagged += [t for t in answer["transfers"] if t["outcome"] != "matched"]
            print(f"{counts['rows']} arrivals read, {counts['new']} new, "
                  f"{counts['skipped']} rows of money going out left out")
            for t in flagged:
                print(f"  flagged {t['transaction_id']}: {t['outcome']} "
                      f"({t['message']['zh']} / {t['message']['en']})")
            return 0
        if args.bank_command == "refunds":
            async with http.post(f"{base}/api/bank/refunds/export?encoding={args.encoding}"
                                 ) as resp:
                data = await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"auction bank: {resp.status}: {data[:200]!r}")
                batch, count = resp.headers["X-Refund-Batch"], resp.headers["X-Refund-Count"]
            if count == "0":
                print("no refund is due")
                return 0
            output = args.output or Path(f"{batch}.csv")
            output.write_bytes(data)
            print(f"{count} refunds in batch {batch}: {output}")
            return 0
        items = [{"transaction_id": t, "bank_transaction_id": b}
                 for t, b in parse_confirmations(args.file.read_bytes())]
        if not items:
            print("no confirmed refund in the file")
            return 0
        confirmed = 0
        for start in range(0, len(items), CONFIRMATIONS):
            answer = await _post(http, base + "/api/bank/refunds/confirmations",
                                 {"confirmations": items[start:start + CONFIRMATIONS]})
            confirmed += len(answer["confirmed"])
        print(f"{confirmed} refunds confirmed")
        return 0
