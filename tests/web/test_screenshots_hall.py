"""Screenshots of the host console, the hall's board and the result announcement, in
Chinese and in English, of a real server with a lot played through real WebSockets.

`AUCTION_SCREENSHOTS=1 pytest tests/web/test_screenshots_hall.py` writes them to
docs/screenshots/ (host-zh.png, host-en.png, board-zh.png, ...); without the variable
they go to a temporary directory, so the suite still checks that they can be made."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from web_support import HOST_TOKEN, Server, ServerFactory

pytestmark = pytest.mark.browser

WAIT = 15_000
DOCS = Path(__file__).parents[2] / "docs" / "screenshots"
PAGES = ("host", "board", "result")


async def played(server: Server, title: str, duration_s: int,
                 bids: list[tuple[int, str]]) -> str:
    """A lot with three eligible bidders and ``bids`` (bidder index, amount) placed."""
    lot = await server.ok("POST", "/api/lots", {
        "session_id": server.session_id, "title": title, "format": "english",
        "params": {"start_price": "12000000.00", "step": "100000.00", "deposit": "2000000.00",
                   "duration_s": duration_s}})
    lot_id = str(lot["lot_id"])
    tokens = [(await server.register(lot_id, f"b{i}", name=name))["token"]
              for i, name in enumerate(("甲置业有限公司", "乙建设集团", "丙投资有限公司"))]
    await server.open(lot_id)
    clients = []
    for token in tokens:
        client = await server.connect()
        await client.subscribe(lot_id, token)
        clients.append(client)
    for n, (who, amount) in enumerate(bids):
        assert (await clients[who].bid(lot_id, amount, ref=f"r{n}"))["type"] == "ack"
    return lot_id


async def shoot(page: Page, path: Path) -> None:
    await page.wait_for_timeout(400)  # fonts and the chart settle
    await page.screenshot(path=str(path), full_page=True)


async def test_screenshots_of_the_host_console_board_and_result_in_both_languages(
        make_server: ServerFactory, browser: Browser, tmp_path: Path) -> None:
    out = DOCS if os.environ.get("AUCTION_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    server = await make_server(center_name="某市公共资源交易中心",
                               center_contact="0571-8888 6666（工作日 9:00–17:00）")
    session = await server.ok("POST", "/api/sessions",
                              {"name": "2025年第3期 国有建设用地使用权网上竞价"})
    server.session_id = session["session_id"]
    steps = [(0, "12000000.00"), (1, "12100000.00"), (2, "12300000.00"), (0, "12400000.00"),
             (1, "12600000.00")]
    ended = await played(server, "XX-2025-07号地块 国有建设用地使用权", 3, steps[:4])
    live = await played(server, "XX-2025-08号地块 国有建设用地使用权", 3600, steps)
    async with asyncio.timeout(15):
        while (await server.call("GET", f"/api/lots/{ended}/result", token=None))[0] != 200:
            await asyncio.sleep(0.2)

    urls: dict[str, str] = {
        "host": f"{server.base}/host#token={HOST_TOKEN}",
        "board": f"{server.base}/board/{live}",
        "result": f"{server.base}/result/{ended}",
    }
    sizes: dict[str, Any] = {"host": {"width": 1366, "height": 900},
                             "board": {"width": 1920, "height": 1080},
                             "result": {"width": 1280, "height": 900}}
    for name in PAGES:
        for lang in ("zh", "en"):
            context = await browser.new_context(viewport=sizes[name], device_scale_factor=1)
            await context.add_init_script(
                f"localStorage.setItem('auction.lang', '{lang}');")
            page = await context.new_page()
            await page.goto(urls[name])
            if name == "host":
                await page.locator(f'#lots .lot-item[data-lot-id="{live}"]').click(timeout=WAIT)
                await expect(page.locator("#bids tbody tr")).to_have_count(5, timeout=WAIT)
            elif name == "board":
                await expect(page.locator("#chart")).to_have_attribute("data-points", "5",
                                                                       timeout=WAIT)
            else:
                await expect(page.locator("#notice")).to_be_visible(timeout=WAIT)
            await expect(page.locator("html")).to_have_attribute(
                "lang", "zh-CN" if lang == "zh" else "en")
            path = out / f"{name}-{lang}.png"
            await shoot(page, path)
            await context.close()
            assert path.stat().st_size > 10_000
