"""A real webhook receiver for the tests: an aiohttp server on a port of its own that
records every post and answers as told (500, slow, down)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from helpers import free_port


@dataclass
class Post:
    key: str
    timestamp: str
    signature: str
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def signed_by(self, secret: bytes) -> bool:
        mac = hmac.new(secret, self.timestamp.encode() + b"." + self.body, hashlib.sha256)
        return hmac.compare_digest(self.signature, "sha256=" + mac.hexdigest())


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    #: Answers to give, in order (an int: that status; a float: seconds to wait first, then
    #: 200); 200 once they are used up.
    script: list[int | float] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append(Post(request.headers.get("Idempotency-Key", ""),
                               request.headers.get("X-Webhook-Timestamp", ""),
                               request.headers.get("X-Webhook-Signature", ""),
                               await request.read()))
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            answer = 200
        return web.Response(status=answer, text="ok" if answer < 300 else "no")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def keys(self, milestone: str | None = None) -> list[str]:
        return [p.key for p in self.posts
                if milestone is None or p.json["milestone"] == milestone]

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.05)
