"""Screenshots of the bidder room for the docs: `./dev screenshots` (or
`python tests/screenshots.py [OUTDIR]`). A real `auction serve` process on a throwaway data
directory, a lot with a few bids and a soft-close extension, and the room of one bidder
in a headless Chromium, desktop (1280x900) and phone (390x844), Chinese and English.
Files: OUTDIR/room-{desktop,phone}-{zh,en}.png (OUTDIR defaults to docs/screenshots)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import aiohttp
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CHROMIUM_ARGS  # noqa: E402
from lotplay import make_lot  # noqa: E402

from helpers import ServerProcess  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


async def bid(server: ServerProcess, url: str, amount: str) -> None:
    """A bid over the WebSocket as the room sends it (token from the room URL)."""
    lot_id = url.split("/room/")[1].split("#")[0]
    token = url.split("#token=")[1]
    async with aiohttp.ClientSession() as http, http.ws_connect(server.ws_url) as ws:
        await ws.send_json({"type": "subscribe", "lot_id": lot_id, "token": token})
        await ws.send_json({"type": "bid", "lot_id": lot_id, "amount": amount, "ref": "shot"})
        async for msg in ws:
            frame = msg.json()
            if frame.get("ref") == "shot":
                return


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        server = ServerProcess(data)
        await server.start()
        try:
            lot = await make_lot(server, "english", {
                "direction": "forward", "currency": "CNY", "start_price": "125000000.00",
                "step": "500000.00", "deposit": "25000000.00", "duration_s": 200,
                "extend_window_s": 300, "extend_s": 600},
                title="XQ-2026-12 号地块国有建设用地使用权",
                session="2026年第12期 国有建设用地使用权", name="竞买人 {}", account="6222 0000 {}")
            urls = lot.rooms
            best = 125_000_000
            await bid(server, urls["A"], f"{best}.00")
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=os.environ.get("AUCTION_CHROMIUM", "/usr/bin/chromium"),
                    headless=True, args=CHROMIUM_ARGS)
                for view, size in VIEWPORTS.items():
                    for lang in ("zh", "en"):
                        context = await browser.new_context(
                            viewport=size, device_scale_factor=1, is_mobile=view == "phone",
                            locale="zh-CN" if lang == "zh" else "en-US")
                        page = await context.new_page()
                        await page.goto(urls["A"])
                        await page.evaluate(f"localStorage.setItem('auction.lang', '{lang}')")
                        await page.reload()
                        await page.wait_for_selector("#conn[data-state=online]")
                        await page.wait_for_timeout(500)
                        # An outbid notice and a soft-close extension, as a bidder sees them.
                        best += 500_000
                        await bid(server, urls["B"], f"{best}.00")
                        await page.wait_for_selector('#notices li[data-kind="outbid"]')
                        await page.fill("#amount", "")
                        await page.click("#step-1")
                        await page.wait_for_timeout(300)
                        path = out / f"room-{view}-{lang}.png"
                        await page.screenshot(path=str(path))
                        if view == "desktop":
                            await page.click("#bid-btn")
                            await page.wait_for_selector("#confirm[open]")
                            await page.screenshot(path=str(out / f"room-confirm-{lang}.png"))
                            await page.click("#confirm-bid")
                        else:
                            await page.click("#bid-btn")
                            await page.click("#confirm-bid")
                        await page.wait_for_selector("#message[data-kind=ok]")
                        best += 500_000
                        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
                        await context.close()
                await browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
