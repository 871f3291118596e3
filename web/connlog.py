"""The connections log: who joined and left each lot's WebSocket feed, from where.

RULES.md asks that joins and leaves record the network address and client fingerprint
for the supervisors' collusion checks. They are not events of the lot: a join changes
nothing the rules decide, a lot may see thousands of them, and putting them into the
hash chain would make every watcher's reconnect a durable commit fanned out to the whole
room. So the web layer keeps this log beside the record:

* an entry is written for every subscription of a **bidder** or **staff** member (join)
  and for its end (leave: unsubscribe, another subscribe replacing it, or the
  connection closing). Public watchers are anonymous and not logged;
* entries live in memory per lot and are appended as JSON lines to
  ``DATA/connections.jsonl`` (one line per entry, flushed and fsynced in batches by a
  background task: a crash may lose the last instants of the log, never the record);
* on start the file is read back (a torn last line is skipped).

With the scale-out backend each process logs the connections it serves in its own data
directory; the report shows those of the process answering it (docs/records.md).
"""

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILENAME = "connections.jsonl"
JOIN, LEAVE = "join", "leave"


class ConnectionLog:
    """The log of one server process; ``clock`` gives server Unix milliseconds."""

    def __init__(self, path: Path | None, clock: Callable[[], int]) -> None:
        self.path = path
        self._clock = clock
        self._by_lot: dict[str, list[dict[str, Any]]] = {}
        #: The identity of each open (connection, lot) subscription, for its leave entry.
        self._open: dict[tuple[str, str], dict[str, Any]] = {}
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    @staticmethod
    def connection_id() -> str:
        """A random id naming one WebSocket connection in the log."""
        return secrets.token_hex(6)

    async def start(self) -> None:
        """Read the file back and start the writer."""
        if self.path is not None and self.path.exists():
            for entry in await asyncio.to_thread(_read, self.path):
                self._by_lot.setdefault(str(entry.get("lot_id")), []).append(entry)
        self._writer = asyncio.create_task(self._write())

    async def close(self) -> None:
        """Write what is pending and stop."""
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    def joined(self, lot_id: str, conn: str, *, role: str, ip: str, device: str,
               bidder_id: str | None = None, bidder_no: str | None = None,
               staff_id: str | None = None) -> None:
        """Connection ``conn`` subscribed to ``lot_id`` as ``role`` (not ``public``)."""
        entry: dict[str, Any] = {"role": role, "ip": ip, "device": device}
        if bidder_id is not None:
            entry["bidder_id"], entry["bidder_no"] = bidder_id, bidder_no
        if staff_id is not None:
            entry["staff_id"] = staff_id
        self._open[conn, lot_id] = entry
        self._add(JOIN, lot_id, conn, entry)

    def left(self, lot_id: str, conn: str) -> None:
        """Connection ``conn`` stopped watching ``lot_id`` (nothing if it never joined as
        a bidder or staff member)."""
        entry = self._open.pop((conn, lot_id), None)
        if entry is not None:
            self._add(LEAVE, lot_id, conn, entry)

    def _add(self, kind: str, lot_id: str, conn: str, who: dict[str, Any]) -> None:
        entry = {"at": self._clock(), "lot_id": lot_id, "kind": kind, "conn": conn, **who}
        self._by_lot.setdefault(lot_id, []).append(entry)
        if self.path is not None and not self._closing:
            self._pending.append(entry)
            self._wake.set()

    def entries(self, lot_id: str) -> list[dict[str, Any]]:
        """The lot's entries, oldest first (copies)."""
        return [dict(e) for e in self._by_lot.get(lot_id, [])]

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch and self.path is not None:
                try:
                    await asyncio.to_thread(_append, self.path, batch)
                except Exception as exc:  # the log must never stop the auction
                    log.error("connections log not written: %s", exc)
            if self._closing and not self._pending:
                return


def _read(path: Path) -> list[dict[str, Any]]:
    entries = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
    return entries


def _append(path: Path, batch: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n"
                   for e in batch)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
