"""Fixtures every part of the suite may use: the Chromium binary and a Playwright browser.

Helpers to import (free_port, wait_for_port, ...) live in `helpers.py` beside this file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

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
