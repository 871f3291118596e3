"""``auction demo``: a demo session on a live server, with simulated bidders.

Everything goes through the public interfaces, as a real center would use them: the
host creates the session and lots over the HTTP API, registers bidders and confirms
their deposits; the simulated bidders are WebSocket clients (the ``websockets``
library) that subscribe with their bidder tokens and bid with think time up to a
private limit. One extra bidder, "you", is registered on each lot so that a person can
bid from a browser.
"""

import asyncio
import hashlib
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from web import demo_bidders as bidders
from web.client import LotClient


@dataclass
class LotPlan:
    title: str
    params: dict[str, Any]
    #: Private limits of the simulated bidders, in yuan.
    limits: list[str]
    lot_id: str = ""
    links: dict[str, str] = field(default_factory=dict)
    format: str = "english"


def demo_lots(fast: bool) -> list[LotPlan]:
    """A reverse procurement lot, a forward property lot and a sealed-bid procurement."""
    duration = 8 if fast else 240
    soft = {"extend_window_s": 2, "extend_s": 3} if fast else {"extend_window_s": 60,
                                                               "extend_s": 120}
    return [
        LotPlan(
            title="市政府办公设备采购（反向竞价） / Office equipment procurement (reverse)",
            params={"direction": "reverse", "start_price": "1000000.00", "step": "5000.00",
                    "ceiling": "1000000.00", "deposit": "20000.00", "duration_s": duration,
                    "visibility": "price", **soft},
            limits=["905000.00", "880000.00", "930000.00"]),
        LotPlan(
            title="国有产权转让：某市国资公司 30% 股权 / State-owned equity transfer (forward)",
            params={"direction": "forward", "start_price": "2000000.00",
                    "steps": [{"from": "0.00", "step": "10000.00"},
                              {"from": "2100000.00", "step": "20000.00"}],
                    "reserve": "2050000.00", "deposit": "200000.00", "duration_s": duration,
                    "max_jump_steps": 10, **soft},
            limits=["2160000.00", "2240000.00", "2080000.00"]),
        LotPlan(
            title="国有建设用地使用权挂牌出让（限时竞价，最高限价摇号） / Land use right "
                  "(listing + timed bidding, capped, lottery)",
            params=bidders.land_params(fast), limits=bidders.LAND_LIMITS,
            format="listing_timed"),
        LotPlan(
            title="学校食堂设备采购（密封报价） / School canteen equipment (sealed bids)",
            params=bidders.sealed_demo_params(duration), limits=bidders.SEALED_DEMO_LIMITS,
            format="sealed"),
    ]


class Demo:
    def __init__(self, base_url: str, host_token: str, fast: bool,
                 out: Any = sys.stdout, export_dir: Path | None = None,
                 data_dir: Path | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.ws_url = self.base.replace("http", "ws", 1) + "/ws"
        self.headers = {"Authorization": f"Bearer {host_token}"}
        self.host_token = host_token
        self.fast = fast
        self.out = out
        self.export_dir = export_dir
        self.data_dir = data_dir
        self.rng = random.Random()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def api(self, http: aiohttp.ClientSession, method: str, path: str,
                  body: dict[str, Any] | None = None) -> Any:
        async with http.request(method, self.base + path, json=body,
                                headers=self.headers) as resp:
            data = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def run(self) -> list[dict[str, Any]]:
        """Set the session up, play every lot to its end, return the outcomes."""
        plans = demo_lots(self.fast)
        async with aiohttp.ClientSession() as http:
            session = await self.api(http, "POST", "/api/sessions",
                                     {"name": "演示竞价会 / Demo session"})
            bots: list[tuple[LotPlan, str, str]] = []
            for plan in plans:
                lot = await self.api(http, "POST", "/api/lots", {
                    "session_id": session["session_id"], "title": plan.title,
                    "format": plan.format, "params": plan.params})
                plan.lot_id = lot["lot_id"]
                deposit = plan.params["deposit"]
                for i, limit in enumerate(plan.limits):
                    reg = await self.api(http, "POST", f"/api/lots/{plan.lot_id}/bidders",
                                         {"bidder_id": f"demo-co-{i + 1}",
                                          "name": f"演示公司{i + 1} / Demo Co. {i + 1}"})
                    await self.api(http, "POST",
                                   f"/api/lots/{plan.lot_id}/bidders/demo-co-{i + 1}/deposit",
                                   {"amount": deposit, "account": f"6222-0000-{i + 1:04d}"})
                    bots.append((plan, reg["token"], limit))
                you = await self.api(http, "POST", f"/api/lots/{plan.lot_id}/bidders",
                                     {"bidder_id": "demo-you", "name": "您 / You"})
                await self.api(http, "POST", f"/api/lots/{plan.lot_id}/bidders/demo-you/deposit",
                               {"amount": deposit, "account": "6222-0000-9999"})
                plan.links = {
                    "board": f"{self.base}/board/{plan.lot_id}",
                    "room": f"{self.base}/room/{plan.lot_id}#token={you['token']}",
                }
            self.say(f"\nHost console 主持人控制台:  {self.base}/host#token={self.host_token}")
            self.say(f"Lot list 标的列表:          {self.base}/")
            self.say(f"Supervisor page 监督台:     {self.base}/supervisor#token={self.host_token}")
            for plan in plans:
                self.say(f"\n[{plan.lot_id}] {plan.title}")
                self.say(f"  public board 公告大屏:   {plan.links['board']}")
                self.say(f"  your bidder room 竞价室: {plan.links['room']}")
            for plan in plans:
                await self.api(http, "POST", f"/api/lots/{plan.lot_id}/schedule", {})
                await self.api(http, "POST", f"/api/lots/{plan.lot_id}/start", {})
            self.say("\nBidding is open. 竞价开始。")
            stop = asyncio.Event()
            tasks = [asyncio.create_task(self.bot(plan, token, limit, stop))
                     for plan, token, limit in bots]
            try:
                outcomes = await asyncio.gather(*(self.watch(plan) for plan in plans))
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
            for plan in plans:
                self.say(f"  result announcement 结果公示: {self.base}/result/{plan.lot_id}")
            if self.export_dir is not None:
                await self.export(http, plans, self.export_dir)
            for outcome in outcomes:
                if outcome["status"] == "awarded":
                    await self.confirm(http, outcome["lot_id"])
        return outcomes

    async def confirm(self, http: aiohttp.ClientSession, lot_id: str) -> None:
        """Issue the signed transaction confirmation (成交确认书) of an awarded lot and say
        where it is: the server's copy (DATA/confirmations/LOT.pdf) and, with an export
        directory, a copy downloaded there."""
        issued = await self.api(http, "POST", f"/api/lots/{lot_id}/confirmation", {})
        async with http.get(self.base + issued["pdf"], headers=self.headers) as resp:
            pdf = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"confirmation of {lot_id}: {resp.status} {pdf[:200]!r}")
        if hashlib.sha256(pdf).hexdigest() != issued["document_sha256"]:
            raise RuntimeError(f"confirmation of {lot_id}: not the document recorded")
        where = [str(self.data_dir / "confirmations" / f"{lot_id}.pdf")] if self.data_dir else []
        if self.export_dir is not None:
            path = self.export_dir / f"confirmation-{lot_id}.pdf"
            path.write_bytes(pdf)
            where.append(str(path))
        self.say(f"[{lot_id}] signed confirmation 成交确认书 (PDF, PAdES): "
                 f"{' , '.join(where) or self.base + issued['pdf']}")

    async def export(self, http: aiohttp.ClientSession, plans: list[LotPlan],
                     directory: Path) -> None:
        """Write each lot's verifiable export (GET /api/lots/LOT/export) into
        ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        for plan in plans:
            async with http.get(f"{self.base}/api/lots/{plan.lot_id}/export",
                                headers=self.headers) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"export of {plan.lot_id}: {resp.status} {body[:200]!r}")
            path = directory / f"{plan.lot_id}.json"
            path.write_bytes(body)
            self.say(f"[{plan.lot_id}] export written 导出: {path}  (check it: auction verify "
                     f"{path})")

    async def watch(self, plan: LotPlan) -> dict[str, Any]:
        """Follow the lot as the public does and print its result when it ends."""
        watcher = LotClient(self.ws_url, plan.lot_id)
        await watcher.connect()
        try:
            await watcher.wait_for(lambda c: bool(c.state.get("outcome")), timeout=24 * 3600)
        finally:
            await watcher.close()
        outcome = watcher.state["outcome"]
        self.say(self.describe(plan, watcher.state, outcome))
        return {"lot_id": plan.lot_id, **outcome}

    @staticmethod
    def describe(plan: LotPlan, state: dict[str, Any], outcome: dict[str, Any]) -> str:
        cur = state["params"]["currency"]
        if outcome["status"] == "awarded":
            return (f"\n[{plan.lot_id}] 成交 AWARDED to bidder No. {outcome['bidder_no']} at "
                    f"{outcome['amount']} {cur} after {state['bid_count']} bids"
                    + bidders.describe_draw(state))
        return (f"\n[{plan.lot_id}] {outcome['status'].upper()}: {outcome.get('reason')} "
                f"after {state['bid_count']} bids")

    async def bot(self, plan: LotPlan, token: str, limit: str, stop: asyncio.Event) -> None:
        """A simulated bidder of the lot's format (:mod:`web.demo_bidders`), with think
        time, up to ``limit``."""
        if plan.format == "listing_timed":
            think = (0.2, 1.0) if self.fast else (2.0, 15.0)
            await bidders.land_bot(self.ws_url, plan.lot_id, token, limit, stop, think,
                                   self.rng)
        elif plan.format == "sealed":
            await bidders.sealed_bidder(self.ws_url, plan.lot_id, token, limit, stop,
                                        self.rng, self.fast)
        else:
            think = (0.2, 1.2) if self.fast else (2.0, 20.0)
            await bidders.english_bidder(self.ws_url, plan.lot_id, token, limit, stop, think,
                                         self.rng)
