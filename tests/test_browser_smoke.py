"""The browser plumbing works: Chromium opens a page served over a real socket and runs its
JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from helpers import free_port

PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>smoke</title>
<p id="status">waiting</p>
<button id="go">Go</button>
<script type="module">
  document.getElementById("go").addEventListener("click", () => {
    document.getElementById("status").textContent = "clicked";
  });
</script>
</html>
"""


@pytest.fixture
async def page_url() -> AsyncIterator[str]:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


@pytest.mark.browser
async def test_a_click_in_chromium_runs_the_pages_script(browser: Browser, page_url: str) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(page_url)
        await expect(page.locator("#status")).to_have_text("waiting")
        await page.click("#go")
        await expect(page.locator("#status")).to_have_text("clicked")
    finally:
        await context.close()
