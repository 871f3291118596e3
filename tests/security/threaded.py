"""A real server on its own event loop in a background thread, for tests that drive it
from synchronous code (Hypothesis, schemathesis, the ``websockets`` sync client)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from engine.embedded import EmbeddedEngine
from web.app import create_app
from web.config import Settings
from web.ws import front_site

T = TypeVar("T")


class ThreadedServer:
    """``with ThreadedServer(data_dir, staff=..., ...) as server``: the app on 127.0.0.1
    (an EmbeddedEngine on ``data_dir``); :meth:`run` runs a coroutine on its loop."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.settings = Settings(data_dir=data_dir, **settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="threaded-server")
        self.engine = EmbeddedEngine(data_dir)
        self.runner: web.AppRunner | None = None
        self.base = ""
        self.errors: list[BaseException] = []

    def __enter__(self) -> ThreadedServer:
        self.loop.set_exception_handler(self._on_loop_error)
        self.thread.start()
        self.run(self._start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.errors.append(exc if isinstance(exc, BaseException)
                           else RuntimeError(context.get("message")))
        loop.default_exception_handler(context)

    @property
    def ws_url(self) -> str:
        return self.base.replace("http", "ws", 1) + "/ws"

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float = 30) -> T:
        """``await fn(*args)`` on the server's loop, from any other thread."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(fn(*args), self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def alive(self) -> bool:
        return self.thread.is_alive() and self.loop.is_running()

    async def _start(self) -> None:
        await self.engine.start()
        self.app = create_app(self.settings, self.engine)
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        await front_site(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        await self.engine.close()
