"""The supervisor's page, the hall's big screen, the result announcement and the printed
report in a headless Chromium on a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from web_support import SUPERVISOR_TOKEN, Server

pytestmark = pytest.mark.browser

WAIT = 10_000


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Any]:
    contexts = []
    errors: list[str] = []

    async def open_(url: str, **context: Any) -> Page:
        ctx = await browser.new_context(**context)
        contexts.append(ctx)
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{url}: {exc}"))
        await page.goto(url)
        return page

    open_.errors = errors  # type: ignore[attr-defined]
    yield open_
    for ctx in contexts:
        await ctx.close()
    assert errors == []


async def test_a_token_link_opened_in_a_tab_already_on_the_supervisor_page_signs_it_in(
        server: Server, open_page: Any) -> None:
    lot_id = await server.make_lot()
    page = await open_page(f"{server.base}/supervisor")
    await expect(page.locator("#message")).to_have_attribute("data-kind", "error")
    await page.evaluate("(token) => { location.hash = `token=${token}`; }", SUPERVISOR_TOKEN)
    await expect(page.locator(f'#lots tr[data-lot-id="{lot_id}"]')).to_have_count(1, timeout=WAIT)
    await expect(page.locator("#message")).to_be_hidden()
    assert "#token" not in page.url
