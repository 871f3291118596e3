"""The pages' client (web/static/conn.js) in a headless Chromium folds the deltas of live
``update``s into the same snapshot the server gives, for each audience, in a lot whose
bidders each have a view of their own, and in one where the room shares the public
view."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from playwright.async_api import Browser
from web_support import HOST_TOKEN, Server

pytestmark = pytest.mark.browser

#: Opens a LotConnection per audience in the page and keeps each one's latest snapshot.
WATCH = """async ([lotId, tokens]) => {
  const { LotConnection } = await import("/static/conn.js");
  window.states = {};
  window.updates = {};
  for (const [name, token] of Object.entries(tokens)) {
    window.updates[name] = 0;
    new LotConnection({
      lotId, token, afterSeq: 0,
      onUpdate: (events, state) => {
        window.updates[name] += 1;
        if (state) window.states[name] = state;
      },
    }).start();
  }
}"""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


async def folded_states(page: Any, names: list[str], seq: int) -> dict[str, Any]:
    """Each connection's snapshot once all have reached ``seq``."""
    async with asyncio.timeout(10):
        while True:
            states: dict[str, Any] = await page.evaluate("() => window.states")
            if all(states.get(n, {}).get("seq") == seq for n in names):
                return states
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("visibility", ["rank", "price"])
async def test_the_pages_fold_live_deltas_into_the_snapshot_of_every_audience(
        server: Server, browser: Browser, visibility: str) -> None:
    lot_id = await server.make_lot(visibility=visibility, extend_window_s=60, extend_s=30)
    tokens = [(await server.register(lot_id, f"co-{i}"))["token"] for i in range(3)]
    await server.ok("POST", f"/api/lots/{lot_id}/schedule", {})
    audiences = {"public": None, "staff": HOST_TOKEN,
                 **{f"bidder{i}": token for i, token in enumerate(tokens)}}
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(server.base + "/")
    await page.evaluate(WATCH, [lot_id, audiences])
    await folded_states(page, list(audiences), server.seq(lot_id))

    await server.ok("POST", f"/api/lots/{lot_id}/start")
    bidders = []
    for token in tokens:
        client = await server.connect()
        await client.subscribe(lot_id, token)
        bidders.append(client)
    for round_no in range(3):
        for i, client in enumerate(bidders):
            amount = f"{110 + 10 * (3 * round_no + i)}.00"
            assert (await client.bid(lot_id, amount, ref=amount))["type"] == "ack"
    await server.ok("POST", f"/api/lots/{lot_id}/pause", {"reason": "network check"})
    await server.ok("POST", f"/api/lots/{lot_id}/resume", {"reason": "checked"})

    states = await folded_states(page, list(audiences), server.seq(lot_id))
    for name, token in audiences.items():
        status, view = await server.call("GET", f"/api/lots/{lot_id}", token=token)
        assert status == 200
        if visibility == "price" and name.startswith("bidder"):
            view.pop("you")  # the HTTP view adds the standing a price room gets apart
        assert canonical(states[name]) == canonical(view), name
    counts = await page.evaluate("() => window.updates")
    assert all(count > 9 for count in counts.values()), counts  # live, one per commit
    assert errors == []
    await context.close()
