"""Simulated bidders of a sealed lot (一次报价 / 密封报价), for ``auction demo``.

A sealed bidder thinks, submits one sealed price, and — when the lot allows revisions —
sometimes thinks again and revises it once before the opening. It sees nobody else's
price (nobody does before the opening), so its prices come from its own valuation only.
"""

import asyncio
import contextlib
import random
from typing import Any

from auction.money import format_amount, parse_amount
from loadtests.client import LotClient


def sealed_demo_params(duration_s: int) -> dict[str, Any]:
    """A reverse procurement lot with sealed bids, one revision each, opened at the end."""
    return {"direction": "reverse", "ceiling": "800000.00", "deposit": "10000.00",
            "duration_s": duration_s, "revisions": 1, "tie_rule": "lottery"}


#: The simulated bidders' final prices (yuan): each first bids above and may revise down.
SEALED_DEMO_LIMITS = ["712000.00", "698500.00", "731000.00"]


async def sealed_bidder(ws_url: str, lot_id: str, token: str, limit: str,
                        stop: asyncio.Event, rng: random.Random, fast: bool) -> None:
    """Submit a sealed price a little above ``limit`` (a reverse lot: higher is worse),
    then, half of the time, revise it down to ``limit``; all with think time, until the
    lot closes or ``stop`` is set."""
    think = (0.2, 1.5) if fast else (5.0, 60.0)
    limit_minor = parse_amount(limit, 2)
    plan = [limit_minor + rng.randrange(5, 40) * 1000]
    if rng.random() < 0.5:
        plan.append(limit_minor)
    else:
        plan = [limit_minor]
    client = LotClient(ws_url, lot_id, token)
    await client.connect()
    try:
        for price in plan:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*think))
            if stop.is_set() or client.state.get("status") != "open":
                return
            with contextlib.suppress(ConnectionError, TimeoutError):
                await client.bid(format_amount(price, 2))
        await stop.wait()
    finally:
        await client.close()
