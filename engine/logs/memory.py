"""The in-memory adapter of the event log: for tests of the pipeline's invariants
without services, and for an engine that keeps nothing.

It behaves as a durable log would, within one process: an append lands whole or not at
all, after the expected-sequence check, and :meth:`MemoryLog.read` gives back exactly
what landed. Tests hold or fail appends through :attr:`MemoryLog.gate`.
"""

import secrets
import time
from collections.abc import Awaitable, Callable, Sequence

import orjson

from engine.api import Session
from engine.eventlog import EventLog, Loaded, Row, Stored
from engine.snapshots import Snapshot

#: Awaited before an append lands, with its lot, expected sequence number and rows: a
#: test may hold it, raise :class:`engine.eventlog.AppendFailed` (nothing lands), or call
#: :meth:`MemoryLog.land` itself and then raise (it landed; the writer does not know).
Gate = Callable[[str, int, Sequence[Row]], Awaitable[None]]


class MemoryLog(EventLog):
    """Every lot's rows in a dict; sessions in creation order. With ``shared``, it stands
    for a log several engines append to (as processes on one Redis would, without the
    feed): a writer then learns of the others' appends only when its own is stale."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.rows: dict[str, list[Row]] = {}
        self._sessions: dict[str, Session] = {}
        self._key = secrets.token_bytes(32)
        #: Each lot's latest snapshot (see :meth:`EventLog.append`).
        self.snapshots: dict[str, Snapshot] = {}
        #: Awaited before each append lands (see :data:`Gate`); None: land at once.
        self.gate: Gate | None = None

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def draw_key(self) -> bytes:
        return self._key

    def _ended(self, lot_id: str) -> bool:
        """Whether the lot's last snapshot is of it ended, after its last row."""
        snapshot = self.snapshots.get(lot_id)
        return (snapshot is not None and snapshot.ended
                and snapshot.seq == self.rows[lot_id][-1].seq)

    async def load(self) -> Loaded:
        """The live lots; the ended ones are counted, read on demand (:meth:`lot`)."""
        loaded = Loaded(sessions=list(self._sessions.values()))
        for lot_id, rows in self.rows.items():
            if self._ended(lot_id):
                status = self.snapshots[lot_id].status
                loaded.ended[status] = loaded.ended.get(status, 0) + 1
                continue
            snapshot = self.snapshots.get(lot_id)
            if snapshot is not None:
                loaded.snapshots[lot_id] = snapshot
            loaded.lots[lot_id] = rows[snapshot.seq:] if snapshot is not None else list(rows)
        return loaded

    async def lot(self, lot_id: str) -> Stored | None:
        rows = self.rows.get(lot_id)
        if not rows:
            return None
        snapshot = self.snapshots.get(lot_id)
        return Stored(snapshot, rows[snapshot.seq:] if snapshot is not None else list(rows))

    async def lot_page(self, after: str | None, limit: int,
                       session_id: str | None = None) -> list[str]:
        ids = list(self.rows)
        start = ids.index(after) + 1 if after in self.rows else 0
        return [lot_id for lot_id in ids[start:]
                if session_id is None
                or orjson.loads(self.rows[lot_id][0].body).get("session_id") == session_id
                ][:limit]

    async def read(self, lot_id: str, after_seq: int) -> list[Row]:
        return self.rows.get(lot_id, [])[max(after_seq, 0):]

    async def last_seq(self, lot_id: str) -> int:
        rows = self.rows.get(lot_id)
        return rows[-1].seq if rows else 0

    async def exists(self, lot_id: str) -> bool:
        return lot_id in self.rows

    async def add_session(self, session: Session) -> bool:
        if session.session_id in self._sessions:
            return False
        self._sessions[session.session_id] = session
        return True

    async def append(self, lot_id: str, expected_seq: int, rows: Sequence[Row], *,
                     deadline: int | None = None, epoch: int | None = None,
                     snapshot: Snapshot | None = None) -> bool:
        if self.gate is not None:
            await self.gate(lot_id, expected_seq, rows)
        started = time.perf_counter()
        if not self.land(lot_id, expected_seq, rows):
            return False
        if snapshot is not None:
            self.snapshots[lot_id] = snapshot
        if self.committed is not None:
            self.committed(time.perf_counter() - started, len(rows))
        return True

    async def keep(self, snapshot: Snapshot, epoch: int | None = None) -> bool:
        rows = self.rows.get(snapshot.lot_id)
        if snapshot.ended or not rows or (rows[-1].seq, rows[-1].hash) != (snapshot.seq,
                                                                           snapshot.hash):
            return False
        self.snapshots[snapshot.lot_id] = snapshot
        return True

    def land(self, lot_id: str, expected_seq: int, rows: Sequence[Row]) -> bool:
        """Append ``rows`` now if the lot's last sequence number is ``expected_seq``."""
        have = self.rows.setdefault(lot_id, [])
        if (have[-1].seq if have else 0) != expected_seq:
            if not have:
                del self.rows[lot_id]
            return False
        have.extend(rows)
        return True
