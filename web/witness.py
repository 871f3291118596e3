"""``auction witness URL --out DIR``: a public witness of a server's records.

It follows the public feed of every lot of the server (the lot list of ``GET
/api/lots`` and, per lot, a WebSocket subscription without a token from the first event
on: ``after_seq`` 0, asking for ``heads``), and writes every chain head the server's
``update`` frames announce (the hash of the lot's record at that sequence number) with
the witness's own clock, one JSON line per head, into ``DIR/<lot>.jsonl``::

    {"lot_id": "L-7F3A9C21", "seq": 42, "hash": "9c1f...", "seen_at": 1767229300123,
     "server": "https://auction.example"}

A record the operator rewrites later (and re-hashes consistently) no longer has these
heads: ``auction verify --witness DIR export.json`` (:func:`auction.verify.check_heads`)
then fails. A witness needs no account, and anybody may run one; what it proves is in
docs/records.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from web.client import LotClient

#: How often the lot list is read again for new lots (seconds).
RELIST_S = 2.0


def _ws_url(base: str) -> str:
    return ("wss" + base[5:] if base.startswith("https") else "ws" + base[4:]) + "/ws"


async def _lot_ids(http: aiohttp.ClientSession, base: str) -> list[str]:
    async with http.get(base + "/api/lots") as resp:
        resp.raise_for_status()
        data = await resp.json()
    return [str(lot["lot_id"]) for lot in data["lots"]]


class Witness:
    """Follows every lot of ``base`` (an ``http(s)://`` address) and appends the heads it
    sees to ``out``/<lot>.jsonl."""

    def __init__(self, base: str, out: Path) -> None:
        self.base, self.out = base.rstrip("/"), out
        self.clients: dict[str, LotClient] = {}
        self.written: dict[str, int] = {}
        self.heads = 0

    def _path(self, lot_id: str) -> Path:
        return self.out / f"{quote(lot_id, safe='')}.jsonl"

    async def follow(self, lot_id: str) -> None:
        client = LotClient(_ws_url(self.base), lot_id)
        # from the first event (resume from 0), with the chain head of every update
        client.session.resume = client.session.want_heads = True
        self.clients[lot_id] = client
        await client.connect()

    def flush(self) -> None:
        """Append the heads seen since the last flush."""
        now = int(time.time() * 1000)
        for lot_id, client in self.clients.items():
            done = self.written.get(lot_id, 0)
            fresh = client.session.heads[done:]
            if not fresh:
                continue
            with self._path(lot_id).open("a", encoding="utf-8") as f:
                for seq, digest in fresh:
                    f.write(json.dumps({"lot_id": lot_id, "seq": seq, "hash": digest,
                                        "seen_at": now, "server": self.base},
                                       ensure_ascii=False) + "\n")
            self.written[lot_id] = done + len(fresh)
            self.heads += len(fresh)

    async def run(self, duration: float | None) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        until = None if duration is None else loop.time() + duration
        async with aiohttp.ClientSession() as http:
            try:
                while until is None or loop.time() < until:
                    for lot_id in await _lot_ids(http, self.base):
                        client = self.clients.get(lot_id)
                        if client is None:
                            await self.follow(lot_id)
                        elif not client.connected:
                            with contextlib.suppress(OSError):
                                await client.connect()  # resumes after the last seq
                    self.flush()
                    left = RELIST_S if until is None else min(RELIST_S, until - loop.time())
                    await asyncio.sleep(max(0.0, left))
            finally:
                self.flush()
                for client in self.clients.values():
                    await client.close()


def main(url: str, out: Path, duration: float | None) -> int:
    """Run a witness until ``duration`` seconds have passed (or Ctrl-C); 0, or 2 when the
    server cannot be reached."""
    witness = Witness(url, out)
    try:
        asyncio.run(witness.run(duration))
    except KeyboardInterrupt:
        pass
    except (OSError, aiohttp.ClientError) as exc:
        print(f"auction witness: {url}: {exc}")
        return 2
    print(f"auction witness: {witness.heads} heads of {len(witness.clients)} lots in {out}")
    return 0


def read_heads(directory: Path) -> list[dict[str, Any]]:
    """Every head a witness wrote into ``directory`` (its ``*.jsonl`` files)."""
    heads: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                heads.append(json.loads(line))
    return heads
