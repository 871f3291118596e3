"""Simulated bidders of a ``listing_timed`` land lot (国有建设用地使用权) for ``auction demo``:
they bid in the listing up to their limit (never past the cap), confirm for timed
bidding, bid there, and once the cap is reached declare they accept it, so that the
lot is decided by the verifiable lottery."""

import asyncio
import contextlib
import random
import time
from typing import Any

from auction.money import format_amount, parse_amount
from loadtests.client import LotClient


def land_params(fast: bool) -> dict[str, Any]:
    """A land-use-right lot capped with a lottery; the listing ends a little after the demo
    opens it (the demo sets everything up first)."""
    listing_s, confirm_s, countdown_s, cap_confirm_s = (
        (10, 2, 3, 3) if fast else (180, 60, 60, 60))
    return {"start_price": "10000000.00", "step": "100000.00", "deposit": "2000000.00",
            "listing_ends_at": int(time.time() * 1000) + listing_s * 1000,
            "confirm_s": confirm_s, "countdown_s": countdown_s,
            "cap": "10800000.00" if fast else "12000000.00", "cap_rule": "lottery",
            "cap_confirm_s": cap_confirm_s}


#: Private limits of the land lot's simulated bidders: all at or above the cap.
LAND_LIMITS = ["13000000.00", "12500000.00", "12000000.00"]


async def land_bot(ws_url: str, lot_id: str, token: str, limit: str, stop: asyncio.Event,
                   think: tuple[float, float], rng: random.Random) -> None:
    """One simulated bidder of the land lot (see the module doc)."""
    limit_minor = parse_amount(limit, 2)
    client = LotClient(ws_url, lot_id, token)
    await client.connect()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*think))
            state = client.state
            play = state.get("play") or {}
            you = play.get("you") or {}
            if stop.is_set() or state.get("status") != "open":
                continue
            with contextlib.suppress(ConnectionError, TimeoutError):
                if you.get("may_confirm"):
                    await client.act("confirm")
                elif play.get("phase") == "cap" and you.get("in_cap") and not you.get(
                        "declared"):
                    await client.act("accept_cap")
                elif you.get("may_bid") and state.get("next_min") and not client.leading():
                    price = parse_amount(state["next_min"], 2)
                    if price <= limit_minor:
                        await client.bid(format_amount(price, 2))
    finally:
        await client.close()


def describe_draw(state: dict[str, Any]) -> str:
    """The lottery of a lot's public state in words (empty when there was none)."""
    draw = (state.get("play") or {}).get("draw")
    if not draw:
        return ""
    return (f"\n  摇号 lottery: seed hash {state['play']['seed_hash']}, seed {draw['seed']}, "
            f"candidates {', '.join(draw['candidates'])}, index {draw['index']} → "
            f"No. {draw['winner_no']}")
