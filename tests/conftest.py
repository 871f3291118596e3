"""Fixtures every part of the suite may use: the Chromium binary, a Playwright browser and
its pages, an `auction serve` process, and a throwaway PostgreSQL cluster.

Helpers to import (free_port, wait_for_port, ...) live in `helpers.py` beside this file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from browser_pages import Pages
from playwright.async_api import Browser, async_playwright
from services import PostgresServer

from helpers import ServerProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable: $AUCTION_CHROMIUM, else /usr/bin/chromium.

    Fails (never skips) when it is missing: browser tests must run. `./dev test`
    installs Debian's chromium.
    """
    path = os.environ.get("AUCTION_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}: run the tests with `./dev test` (it installs "
            "Debian's chromium), or `apt-get install chromium`, or set AUCTION_CHROMIUM "
            "to a Chromium executable.",
            pytrace=False,
        )
    return path


@pytest_asyncio.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    """A headless Chromium driven by Playwright, one per test.

    Function-scoped on purpose: Playwright objects belong to the event loop that created
    them, and each test gets its own loop (asyncio_default_fixture_loop_scope = function).
    Open isolated sessions with `await browser.new_context()`.
    """
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    """Pages each in its own browser context (``await pages.open(url)``), closed after the
    test; ``pages.errors`` holds their uncaught script errors."""
    opened = Pages(browser)
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture
async def auction_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A started ``auction serve`` process on the embedded backend in ``tmp_path``,
    stopped after the test."""
    proc = ServerProcess(str(tmp_path))
    await proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole run; each user makes its own database with
    ``create_database``."""
    server = PostgresServer()
    server.init()
    server.start()
    yield server
    server.remove()
