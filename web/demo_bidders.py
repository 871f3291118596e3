"""The simulated bidders of ``auction demo``: WebSocket clients (:mod:`web.client`) that
subscribe with their bidder tokens and bid with think time up to a private limit.

* An English lot: :func:`english_bidder` bids the minimum next price while not leading.
* A ``listing_timed`` land lot (国有建设用地使用权): :func:`land_bot` bids in the listing
  up to its limit (never past the cap), confirms for timed bidding, bids there, and once
  the cap is reached declares it accepts it, so that the lot is decided by the verifiable
  lottery.
* A multi-unit English lot (car-plate quotas): :func:`units_bidder` bids its own next
  price while it holds no unit.
* A sealed lot (一次报价 / 密封报价): :func:`sealed_bidder` thinks, submits one sealed
  price, and, when the lot allows revisions, sometimes revises it once before the
  opening. It sees nobody else's price, so its prices come from its own valuation only.

They are part of the product (the demo is a production command); the load tests
(``loadtests/``) are not imported by any command but ``auction bench`` (docs/design.md).
"""

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from auction.money import format_amount, parse_amount
from engine.signatures import Signer
from web.client import LotClient


async def signed_client(ws_url: str, lot_id: str, token: str) -> LotClient:
    """A connected client of the bidder of ``token`` that signs every bid and action with
    a new ECDSA P-256 key, enrolled first (the demo's lots require signatures)."""
    client = LotClient(ws_url, lot_id, token, signer=Signer.ecdsa_p256())
    await client.connect()
    await client.wait_for(lambda c: c.bidder_no is not None and bool(c.state))
    enrolled = await client.enrol()
    if enrolled["type"] != "ack":
        raise RuntimeError(f"the demo bidder could not enrol its key: {enrolled}")
    return client


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


#: One move of a simulated bidder: what it does (if anything) on the lot's state now.
Move = Callable[[LotClient, dict[str, Any]], Awaitable[None]]


async def play(ws_url: str, lot_id: str, token: str, move: Move, stop: asyncio.Event,
               think: tuple[float, float], rng: random.Random) -> None:
    """A simulated bidder's life: connect with its token, then, after each think time,
    make ``move`` on the open lot's state (a lost link or a slow answer is shrugged off),
    until ``stop`` is set."""
    client = await signed_client(ws_url, lot_id, token)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*think))
            if stop.is_set() or client.state.get("status") != "open":
                continue
            with contextlib.suppress(ConnectionError, TimeoutError):
                await move(client, client.state)
    finally:
        await client.close()


async def land_bot(ws_url: str, lot_id: str, token: str, limit: str, stop: asyncio.Event,
                   think: tuple[float, float], rng: random.Random) -> None:
    """One simulated bidder of the land lot (see the module doc)."""
    limit_minor = parse_amount(limit, 2)

    async def move(client: LotClient, state: dict[str, Any]) -> None:
        play_state = state.get("play") or {}
        you = play_state.get("you") or {}
        if you.get("may_confirm"):
            await client.act("confirm")
        elif play_state.get("phase") == "cap" and you.get("in_cap") and not you.get("declared"):
            # a random contribution to the draw (auction/draw.py)
            await client.act("accept_cap", salt=secrets.token_hex(32))
        elif you.get("may_bid") and state.get("next_min") and not client.leading():
            price = parse_amount(state["next_min"], 2)
            if price <= limit_minor:
                await client.bid(format_amount(price, 2))

    await play(ws_url, lot_id, token, move, stop, think, rng)


def describe_draw(state: dict[str, Any]) -> str:
    """The lottery of a lot's public state in words (empty when there was none)."""
    draw = (state.get("play") or {}).get("draw")
    if not draw:
        return ""
    return (f"\n  摇号 lottery: seed hash {state['play']['seed_hash']}, seed {draw['seed']}, "
            f"candidates {', '.join(draw['candidates'])}, index {draw['index']} → "
            f"No. {draw['winner_no']}")


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
    client = await signed_client(ws_url, lot_id, token)
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


async def english_bidder(ws_url: str, lot_id: str, token: str, limit: str,
                         stop: asyncio.Event, think: tuple[float, float],
                         rng: random.Random) -> None:
    """A bidder of an English lot: the minimum next price, with think time, while it is
    not leading and the price is within ``limit``."""
    limit_minor = parse_amount(limit, 2)

    async def move(client: LotClient, state: dict[str, Any]) -> None:
        nxt = state.get("next_min")
        if not nxt or client.leading():
            return
        price = parse_amount(nxt, 2)
        reverse = state["params"]["direction"] == "reverse"
        if not ((price < limit_minor) if reverse else (price > limit_minor)):
            await client.bid(format_amount(price, 2))

    await play(ws_url, lot_id, token, move, stop, think, rng)


def plates_params(duration_s: int, soft: dict[str, int]) -> dict[str, Any]:
    """Car-plate quotas (小客车指标): two identical units sold at one uniform price, the
    lowest winning bid."""
    return {"start_price": "90000.00", "step": "100.00", "deposit": "2000.00",
            "duration_s": duration_s, "units": 2, "pricing": "uniform", **soft}


#: Private limits of the plate lot's simulated bidders: two of three win a unit.
PLATES_LIMITS = ["91500.00", "90800.00", "92200.00"]


async def units_bidder(ws_url: str, lot_id: str, token: str, limit: str,
                       stop: asyncio.Event, think: tuple[float, float],
                       rng: random.Random) -> None:
    """A bidder of a multi-unit lot: the next acceptable price (the cut-off and a step, or
    the start price while units are left: the public one is a bidder's own while it holds
    no unit), with think time, while it holds no unit (its last ``you``) and that price
    is within ``limit``."""
    limit_minor = parse_amount(limit, 2)

    async def move(client: LotClient, state: dict[str, Any]) -> None:
        nxt = state.get("next_min")
        if not nxt or (client.you or {}).get("units_held"):
            return
        price = parse_amount(nxt, 2)
        if price <= limit_minor:
            await client.bid(format_amount(price, 2))

    await play(ws_url, lot_id, token, move, stop, think, rng)
