"""A client of one lot over the WebSocket protocol (docs/protocol.md).

It keeps what a browser room keeps: the last sequence number seen (checking that the
order is gap-free and nothing comes twice), the latest state (the snapshot of a catch-up
``update`` with the deltas of the live ones applied, :func:`fold`), the acknowledged
bids, and it resumes after a dropped connection from the last sequence number.
"""

import asyncio
import contextlib
import itertools
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from auction.deltas import DeltaError, apply


class ProtocolViolation(AssertionError):
    """The server broke a promise of the protocol (a gap, a duplicate)."""


def fold(state: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """The lot's snapshot after ``update``: its ``state`` (a catch-up), or ``state`` (the
    snapshot as of the event before the update's first) with its ``delta`` and ``gone``
    applied. ``state`` is not changed.

    Raises :class:`ProtocolViolation` if a delta does not fit ``state``."""
    if "state" in update:
        whole: dict[str, Any] = update["state"]
        return whole
    events = update["events"]
    if state is None or not events or state.get("seq") != events[0]["seq"] - 1:
        raise ProtocolViolation(f"a delta from seq {events[0]['seq'] - 1 if events else '?'} "
                                f"for a state at {None if state is None else state.get('seq')}")
    try:
        return apply(state, update["delta"], update.get("gone", ()))
    except DeltaError as exc:
        raise ProtocolViolation(str(exc)) from None


class LotClient:
    """Watch (and, with a bidder token, bid on) one lot."""

    _refs = itertools.count(1)

    def __init__(self, ws_url: str, lot_id: str, token: str | None = None,
                 **connect_options: Any) -> None:
        """``connect_options`` go to ``websockets.connect`` (``ssl``, ``origin``,
        ``additional_headers``, ``local_addr``...)."""
        self.ws_url, self.lot_id, self.token = ws_url, lot_id, token
        self.connect_options = connect_options
        self.last_seq = 0
        self.state: dict[str, Any] = {}
        self.bidder_no: str | None = None
        self.acked: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        """(Re)connect and subscribe, resuming after the last sequence number seen."""
        self._ws = await websockets.connect(self.ws_url, max_size=2**22,
                                            **self.connect_options)
        sub: dict[str, Any] = {"type": "subscribe", "lot_id": self.lot_id,
                               "after_seq": self.last_seq}
        if self.token:
            sub["token"] = self.token
        await self._ws.send(orjson.dumps(sub).decode())
        self._reader = asyncio.create_task(self._read(self._ws))

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._handle(orjson.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
            self._waiting.clear()
            self.changed.set()

    def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "subscribed":
            self.bidder_no = msg.get("bidder_no")
        elif kind == "update" and msg.get("lot_id") == self.lot_id:
            for event in msg["events"]:
                if event["seq"] != self.last_seq + 1:
                    raise ProtocolViolation(
                        f"{self.lot_id}: got seq {event['seq']} after {self.last_seq}")
                self.last_seq = event["seq"]
                self.events.append(event)
            self.state = fold(self.state, msg)
        elif kind in ("ack", "rejected", "error") and msg.get("ref") in self._waiting:
            if kind == "ack":
                self.acked.append(msg)
            future = self._waiting.pop(msg["ref"])
            if not future.done():
                future.set_result(msg)
        self.changed.set()

    async def bid(self, amount: str, timeout: float = 10.0) -> dict[str, Any]:
        """Send a bid; return the server's ``ack`` or ``rejected`` message."""
        if self._ws is None:
            raise ConnectionError("not connected")
        ref = f"b{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            await self._ws.send(orjson.dumps({"type": "bid", "lot_id": self.lot_id,
                                              "amount": amount, "ref": ref}).decode())
            return await asyncio.wait_for(future, timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionError("connection lost") from exc
        finally:
            self._waiting.pop(ref, None)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved here whatever happened

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until ``predicate(self)`` holds."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()

    def leading(self) -> bool:
        return self.bidder_no is not None and self.state.get("leader_no") == self.bidder_no
