"""Pages in a headless Chromium for the browser tests (the `pages` fixture of conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect


class Pages:
    """Pages each in a browser context of its own (several tabs in one context make the
    background ones slow), with the uncaught script errors of all of them."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    async def open(self, url: str, **context: Any) -> Page:
        """A new context (``context``: its options, e.g. ``locale``) with one page at
        ``url``."""
        ctx = await self.browser.new_context(**context)
        self.contexts.append(ctx)
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{url}: {exc}"))
        # Confirmations (start, cancel, refund, forfeit) are answered yes.
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(url)
        return page

    async def online(self, *urls: str, timeout: float = 10_000) -> list[Page]:
        """A page at each of ``urls`` (a board, rooms, a console), once each shows its
        connection to the server online."""
        opened = [await self.open(url) for url in urls]
        for page in opened:
            await expect(page.locator("#conn")).to_have_attribute("data-state", "online",
                                                                  timeout=timeout)
        return opened

    async def close(self) -> None:
        for ctx in self.contexts:
            with contextlib.suppress(Exception):
                await ctx.close()
