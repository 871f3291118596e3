"""A client of one lot over the WebSocket protocol (docs/protocol.md), on asyncio: the
driver of a :class:`web.client.LotSession`, which keeps what a browser room keeps (the
last sequence number, the folded state, the acknowledged bids) and makes the messages.
It resumes after a dropped connection from the last sequence number seen.
"""

import asyncio
import contextlib
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from web.client import LotSession, ProtocolViolation, SessionView, fold

__all__ = ["LotClient", "ProtocolViolation", "fold"]


class LotClient(SessionView):
    """Watch (and, with a bidder token, bid and act on) one lot."""

    def __init__(self, ws_url: str, lot_id: str, token: str | None = None) -> None:
        self.ws_url, self.lot_id, self.token = ws_url, lot_id, token
        self.session = LotSession(lot_id, token)
        self.changed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        """(Re)connect and subscribe, resuming after the last sequence number seen."""
        self._ws = await websockets.connect(self.ws_url, max_size=2**22)
        await self._ws.send(orjson.dumps(self.session.subscribe()).decode())
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
                reply = self.session.receive(orjson.loads(raw))
                future = self._waiting.pop(reply["ref"], None) if reply else None
                if reply is not None and future is not None and not future.done():
                    future.set_result(reply)
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
            self._waiting.clear()
            self.changed.set()

    async def request(self, msg: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send ``msg`` (made by :attr:`session`); return the reply to its ``ref``."""
        if self._ws is None:
            raise ConnectionError("not connected")
        ref = msg["ref"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            await self._ws.send(orjson.dumps(msg).decode())
            return await asyncio.wait_for(future, timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionError("connection lost") from exc
        finally:
            self._waiting.pop(ref, None)
            self.session.forget(ref)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved here whatever happened

    async def bid(self, amount: str, timeout: float = 10.0) -> dict[str, Any]:
        """Send a bid; return the server's ``ack`` or ``rejected`` message."""
        return await self.request(self.session.bid(amount), timeout)

    async def act(self, name: str, amount: str | None = None,
                  timeout: float = 10.0) -> dict[str, Any]:
        """Send action ``name``; return the server's ``ack`` or ``rejected`` message."""
        return await self.request(self.session.act(name, amount), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until ``predicate(self)`` holds."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()
