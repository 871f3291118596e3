"""``auction demo``: a demo session on a live server, with simulated bidders.

Everything goes through the public interfaces, as a real center would use them: the
host creates the session and lots over the HTTP API and publishes a notice (公告) of
them; each simulated company registers a bidder account, logs in with its password and
second factor, applies for every lot accepting its terms and uploads its business
licence (docs/trade.md); the host approves each application; each company pays its
deposit to its application's own reference and the bank tells the server through its
signed notification endpoint (one company first pays from another's account and is
flagged), which admits the company to the lot; the company takes its room link from its
account page. The simulated bidders are then WebSocket clients (the ``websockets``
library) that subscribe with those bidder tokens and bid with think time up to a private
limit. The forward lot's reserve is entered late by the host and approved by a
supervisor (docs/protocol.md, Witnessed reserve), sealed until its close. One extra
bidder, "you", is registered on each lot by the host (today's on-site
flow) so that a person can bid from a browser. When the lots have ended, the winners pay
the price (notified by the bank likewise), the refund file is exported and the bank's
confirmations imported, and the ledger of every ended lot reaches zero (docs/bank.md).
"""

import asyncio
import csv
import hashlib
import io
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pyotp

from auction.trade.identity import uscc_check_char
from web import demo_bidders as bidders
from web.bank import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from web.client import LotClient
from web.objects import OBJECTS_DIR, FileObjectStore

#: The demo center's minimum periods for its notices (kind ``other``): none, so that the
#: demo's lots are bid on at once (``auction demo`` runs its server with them).
DEMO_PERIODS = ("other=0c/0w",)
#: The simulated companies' password (they are simulated: the demo prints nothing of it).
_PASSWORD = "Demo-Password-2026"
#: A licence: the bytes of a (tiny) PDF.
_LICENCE = b"%PDF-1.4\n% demo business licence\n"


@dataclass
class Company:
    """A simulated company with its bidder account and its browser (cookie jar)."""

    no: int
    http: aiohttp.ClientSession
    csrf: str = ""

    @property
    def code(self) -> str:
        first = f"91350100MADE{self.no:05d}"
        return first + uscc_check_char(first)

    @property
    def name(self) -> str:
        return f"演示公司{self.no} / Demo Co. {self.no}"


@dataclass
class LotPlan:
    title: str
    params: dict[str, Any]
    #: Private limits of the simulated bidders, in yuan.
    limits: list[str]
    lot_id: str = ""
    links: dict[str, str] = field(default_factory=dict)
    format: str = "english"
    #: A reserve the host enters after creating the lot and a supervisor approves
    #: (``reserve_entry``), sealed until the close.
    witnessed_reserve: str | None = None


def demo_lots(fast: bool) -> list[LotPlan]:
    """A reverse procurement lot, a forward property lot, a land lot, car-plate quotas (a
    multi-unit lot) and a sealed-bid procurement."""
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
                    "reserve_entry": {"before_close_s": 2 if fast else 60},
                    "deposit": "200000.00", "duration_s": duration, "max_jump_steps": 10,
                    **soft},
            limits=["2160000.00", "2240000.00", "2080000.00"],
            witnessed_reserve="2050000.00"),
        LotPlan(
            title="国有建设用地使用权挂牌出让（限时竞价，最高限价摇号） / Land use right "
                  "(listing + timed bidding, capped, lottery)",
            params=bidders.land_params(fast), limits=bidders.LAND_LIMITS,
            format="listing_timed"),
        LotPlan(
            title="小客车增量指标竞价（2 个指标，统一价格） / Car-plate quotas (2 units, "
                  "uniform price)",
            params=bidders.plates_params(duration, soft), limits=bidders.PLATES_LIMITS),
        LotPlan(
            title="学校食堂设备采购（密封报价） / School canteen equipment (sealed bids)",
            params=bidders.sealed_demo_params(duration), limits=bidders.SEALED_DEMO_LIMITS,
            format="sealed"),
    ]


class Demo:
    def __init__(self, base_url: str, host_token: str, fast: bool,
                 out: Any = sys.stdout, export_dir: Path | None = None,
                 bank_secret: bytes | None = None,
                 data_dir: Path | None = None,
                 supervisor_token: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.ws_url = self.base.replace("http", "ws", 1) + "/ws"
        self.headers = {"Authorization": f"Bearer {host_token}"}
        self.host_token = host_token
        self.supervisor_token = supervisor_token
        self.fast = fast
        self.out = out
        self.export_dir = export_dir
        self.data_dir = data_dir
        self.rng = random.Random()
        self.bank_secret = bank_secret
        self.transfers = 0
        #: Whether the ledger of every ended lot reached zero (checked after the lots).
        self.ledger_at_zero = True

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

    async def as_company(self, company: Company, method: str, path: str,
                         body: Any = None, data: bytes | None = None,
                         content_type: str = "application/json") -> Any:
        """A request of ``company``'s browser: its session cookie and CSRF token."""
        headers = {"X-CSRF-Token": company.csrf, "Content-Type": content_type}
        async with company.http.request(method, self.base + path, json=body, data=data,
                                        headers=headers) as resp:
            answer = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {answer}")
            return answer

    async def open_accounts(self, companies: list[Company]) -> None:
        """Each company registers its account and logs in with its second factor."""
        for company in companies:
            created = await self.as_company(company, "POST", "/api/accounts", {
                "party": "organisation", "name": company.name, "code": company.code,
                "contact_person": f"联系人{company.no}",
                "phone": f"1380000{company.no:04d}", "email": f"co{company.no}@demo.example",
                "password": _PASSWORD})
            otp = pyotp.TOTP(created["totp_secret"]).at(int(time.time()))
            logged_in = await self.as_company(company, "POST", "/api/account/login", {
                "code": company.code, "password": _PASSWORD, "otp": otp})
            company.csrf = logged_in["csrf"]

    async def apply(self, http: aiohttp.ClientSession, companies: list[Company],
                    plans: list["LotPlan"]) -> dict[tuple[str, int], str]:
        """Every company applies for every lot through the portal's routes and the host
        approves; each pays its deposit to its application's own reference and the bank
        notifies the server (the third company first pays the first lot's from the first
        company's account, which is flagged); each company's room token per lot, from its
        account page."""
        for plan in plans:
            for company in companies[:len(plan.limits)]:
                app = await self.as_company(company, "POST",
                                            f"/api/lots/{plan.lot_id}/applications",
                                            {"accept_terms": True})
                path = f"/api/applications/{app['application_id']}"
                await self.as_company(company, "POST", f"{path}/documents?name=营业执照",
                                      data=_LICENCE, content_type="application/pdf")
                await self.api(http, "POST", f"{path}/review", {"approve": True})
                registration = {"bidder_id": app["application_id"],
                                "deposit_reference": app["deposit_reference"]}
                if plan is plans[0] and company is companies[2]:
                    first = companies[0]
                    await self.pay_deposit(http, plan, registration, app["application_id"],
                                           first.name, f"6222-0000-{first.no:04d}",
                                           plan.params["deposit"])
                await self.pay_deposit(http, plan, registration, app["application_id"],
                                       company.name, f"6222-0000-{company.no:04d}",
                                       plan.params["deposit"])
        tokens = {}
        for company in companies:
            page = await self.as_company(company, "GET", "/api/account")
            for app in page["applications"]:
                tokens[(app["lot_id"], company.no)] = app["room_url"].split("#token=", 1)[1]
        return tokens

    async def run(self) -> list[dict[str, Any]]:
        """Set the session up, play every lot to its end, return the outcomes."""
        # Each company's browser keeps its session cookie (of 127.0.0.1 too: unsafe=True).
        companies = [Company(no, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(
            unsafe=True))) for no in range(1, 4)]
        try:
            return await self._run(companies)
        finally:
            for company in companies:
                await company.http.close()

    async def _run(self, companies: list[Company]) -> list[dict[str, Any]]:
        await self.open_accounts(companies)
        plans = demo_lots(self.fast)
        for plan in plans:
            if plan.witnessed_reserve is not None and self.supervisor_token is None:
                # No supervisor to approve it: the reserve is fixed at creation instead.
                del plan.params["reserve_entry"]
                plan.params["reserve"], plan.witnessed_reserve = plan.witnessed_reserve, None
        async with aiohttp.ClientSession() as http:
            session = await self.api(http, "POST", "/api/sessions",
                                     {"name": "演示竞价会 / Demo session"})
            bots: list[tuple[LotPlan, str, str]] = []
            for plan in plans:
                lot = await self.api(http, "POST", "/api/lots", {
                    "session_id": session["session_id"], "title": plan.title,
                    "format": plan.format,
                    # the demo's bidders sign (docs/design.md, Signed actions)
                    "params": {**plan.params, "signatures": "required"}})
                plan.lot_id = lot["lot_id"]
                if plan.witnessed_reserve is not None:
                    await self.witness_reserve(http, plan)
            now = int(time.time() * 1000)
            # bidding (brought forward below once everyone is in) before any listing ends
            bidding_at = min([now + 3_600_000] + [p.params["listing_ends_at"] - 1000
                                                  for p in plans
                                                  if "listing_ends_at" in p.params])
            notice = await self.api(http, "POST", "/api/notices", {
                "title": "演示竞价会公告 / Notice of the demo session", "kind": "other",
                "apply_from": now - 1000, "apply_until": bidding_at,
                "deposit_until": bidding_at, "bidding_at": bidding_at,
                "terms": "竞买须知（演示）\nTerms of the demo lots.",
                "lot_ids": [plan.lot_id for plan in plans], "documents": ["营业执照"]})
            tokens = await self.apply(http, companies, plans)
            for plan in plans:
                deposit = plan.params["deposit"]
                for i, limit in enumerate(plan.limits):
                    bots.append((plan, tokens[(plan.lot_id, companies[i].no)], limit))
                you = await self.api(http, "POST", f"/api/lots/{plan.lot_id}/bidders",
                                     {"bidder_id": "demo-you", "name": "您 / You"})
                await self.pay_deposit(http, plan, you, "demo-you", "您 / You",
                                       "6222-0000-9999", deposit)
                plan.links = {
                    "board": f"{self.base}/board/{plan.lot_id}",
                    "room": f"{self.base}/room/{plan.lot_id}#token={you['token']}",
                }
            notice_id = notice["notice_id"]
            self.say(f"\nNotice 公告 {notice_id}: {self.base}/notice/{notice_id}  (demo "
                     "center: no minimum periods)")
            self.say(f"Simulated bidders 模拟竞买人: {len(companies)} companies registered "
                     "accounts, logged in with a second factor, applied for every lot, "
                     "uploaded their licences, were approved and paid their deposits to "
                     "their own references (the bank notified the server); each took its "
                     "room link from its account.")
            self.say(f"Bidder portal 竞买人中心:    {self.base}/portal")
            self.say(f"Qualification review 资格审查: {self.base}/review#token={self.host_token}")
            self.say(f"Host console 主持人控制台:  {self.base}/host#token={self.host_token}")
            self.say(f"Lot list 标的列表:          {self.base}/")
            self.say(f"Supervisor page 监督台:     {self.base}/supervisor#token="
                     f"{self.supervisor_token or self.host_token}")
            for plan in plans:
                self.say(f"\n[{plan.lot_id}] {plan.title}")
                self.say(f"  public board 公告大屏:   {plan.links['board']}")
                self.say(f"  your bidder room 竞价室: {plan.links['room']}")
            await self.bring_forward(http, notice)
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
            if self.bank_secret is not None:
                await self.settle(http, plans)
            if self.export_dir is not None:
                await self.export(http, plans, self.export_dir)
            for outcome in outcomes:
                if outcome["status"] != "awarded":
                    continue
                # one confirmation per winner (a multi-unit lot has several)
                for number in [a["bidder_no"] for a in outcome.get("awards") or []] or [None]:
                    await self.confirm(http, outcome["lot_id"], number)
        return outcomes

    async def witness_reserve(self, http: aiohttp.ClientSession, plan: LotPlan) -> None:
        """The host enters the lot's reserve and the supervisor approves it, through the
        same endpoints as the host console and the supervisor page: everyone sees the
        commitment, nobody the amount until the close."""
        assert plan.witnessed_reserve is not None and self.supervisor_token is not None
        entered = await self.api(http, "POST", f"/api/lots/{plan.lot_id}/reserve", {
            "amount": plan.witnessed_reserve, "reason": "评估报告 / valuation report"})
        digest = entered["state"]["reserve_entry"]["commitment"]
        async with http.post(f"{self.base}/api/lots/{plan.lot_id}/reserve/approve",
                             json={"commitment": digest}, headers={
                                 "Authorization": f"Bearer {self.supervisor_token}"}) as resp:
            if resp.status != 200:
                raise RuntimeError(f"reserve approval: {resp.status} {await resp.text()}")
        self.say(f"[{plan.lot_id}] reserve entered by the host, approved by a supervisor "
                 f"保留价已录入并经监督人确认 (sealed until the close; commitment "
                 f"{digest[:16]}…)")

    async def notify(self, http: aiohttp.ClientSession, reference: str, payer: str,
                     account: str, amount: str) -> dict[str, Any]:
        """The bank's signed notification of a transfer to ``reference`` (docs/bank.md)."""
        assert self.bank_secret is not None
        self.transfers += 1
        now = int(time.time() * 1000)
        raw = orjson.dumps({"transaction_id": f"DEMO-{now}-{self.transfers}",
                            "reference": f"保证金 {reference}", "payer_account": account,
                            "payer_name": payer, "amount": amount, "value_time": now})
        stamp = str(now)
        async with http.post(self.base + "/api/bank/notifications", data=raw, headers={
                "Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: sign(self.bank_secret, stamp, raw)}) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"bank notification: {resp.status} {data}")
        return data

    async def bring_forward(self, http: aiohttp.ClientSession, notice: dict[str, Any]) -> None:
        """Every applicant is in: an amendment (更正公告) brings the bidding time forward to
        now, which reschedules the notice's lots (they open by themselves then); wait
        until they are open."""
        now = int(time.time() * 1000)
        terms = {k: notice[k] for k in ("title", "kind", "terms", "lot_ids", "documents",
                                        "prequalification", "consortium")}
        await self.api(http, "POST", f"/api/notices/{notice['notice_id']}/amend", {
            **terms, "apply_from": notice["apply_from"], "apply_until": now + 1000,
            "deposit_until": now + 1000, "bidding_at": now + 1500,
            "reason": "全部竞买人已就位，竞价时间提前 / every applicant is in: bidding "
                      "brought forward"})
        self.say("Amendment 更正公告: bidding brought forward; the lots open at the new "
                 "bidding time by themselves.")
        for lot_id in notice["lot_ids"]:
            while (await self.api(http, "GET", f"/api/lots/{lot_id}"))["status"] == "scheduled":
                await asyncio.sleep(0.2)

    async def pay_deposit(self, http: aiohttp.ClientSession, plan: LotPlan,
                          registration: dict[str, Any], bidder_id: str, payer: str,
                          account: str, deposit: str) -> None:
        """The bidder's deposit through the bank (or, without a bank secret, confirmed by
        the host as before)."""
        reference = registration.get("deposit_reference")
        if self.bank_secret is None or reference is None:
            await self.api(http, "POST",
                           f"/api/lots/{plan.lot_id}/bidders/{bidder_id}/deposit",
                           {"amount": deposit, "account": account})
            return
        answer = await self.notify(http, reference, payer, account, deposit)
        if answer["outcome"] != "matched":
            self.say(f"[{plan.lot_id}] deposit from {payer} for {registration['bidder_id']}"
                     f" flagged 保证金异常: {answer['message']['zh']} / "
                     f"{answer['message']['en']}")

    async def settle(self, http: aiohttp.ClientSession, plans: list[LotPlan]) -> None:
        """After the lots: the winners pay the price, the refunds are exported and the
        bank confirms them; the ledger of every ended lot reaches zero."""
        for plan in plans:
            lot = await self.api(http, "GET", f"/api/lots/{plan.lot_id}")
            outcome = lot.get("outcome") or {}
            if outcome.get("status") != "awarded" or lot["params"].get("direction") == "reverse":
                continue  # a reverse lot's winner is paid: its deposit is refunded
            # every winner pays (a multi-unit lot has several)
            for award in outcome.get("awards") or [None]:
                notice = await self.api(http, "POST", f"/api/lots/{plan.lot_id}/payment",
                                        {"bidder_no": award["bidder_no"]} if award else {})
                await self.notify(http, notice["reference"], notice["payer_name"],
                                  "6222-0000-7777", notice["amount"])
                self.say(f"[{plan.lot_id}] price paid 成交价款已缴: {notice['amount']} to "
                         f"{notice['reference']}; the winner's deposit applied to it")
        async with http.post(self.base + "/api/bank/refunds/export",
                             headers=self.headers) as resp:
            refund_file = (await resp.read()).decode("utf-8-sig")
            if resp.status != 200:
                raise RuntimeError(f"refund export: {resp.status} {refund_file[:200]}")
        rows = list(csv.DictReader(io.StringIO(refund_file)))
        self.say(f"\nRefund file 退款文件: {len(rows)} refunds, exported for the bank")
        if rows:
            await self.api(http, "POST", "/api/bank/refunds/confirmations", {
                "confirmations": [{"transaction_id": row["退款编号"],
                                   "bank_transaction_id": f"BANK-{row['退款编号']}"}
                                  for row in rows]})
        ledger = await self.api(http, "GET", "/api/bank/ledger")
        for batch in ledger["batches"]:
            kept = (FileObjectStore(self.data_dir / OBJECTS_DIR).where(batch["file_sha256"])
                    if self.data_dir else self.base + batch["file"])
            self.say(f"  payment file 退款文件 {batch['batch_id']}: {kept}")
        zero = self.ledger_at_zero = ledger["ended_lots_at_zero"]
        self.say(f"Bank ledger 银行台账: {len(ledger['transfers'])} arrivals, "
                 f"{len(ledger['flagged'])} flagged and refunded; "
                 + ("the ledger of every ended lot is at zero. 所有已结束标的台账已清零。"
                    if zero else "NOT every ended lot is at zero: "
                    + str(ledger["balances"])))
        self.say(f"  bank ledger 银行台账: {self.base}/host#token={self.host_token}")

    async def confirm(self, http: aiohttp.ClientSession, lot_id: str,
                      bidder_no: str | None = None) -> None:
        """Issue the signed transaction confirmation (成交确认书) of an awarded lot (of
        ``bidder_no``'s award in a multi-unit lot) and say where it is: the server's copy
        in its object store (DATA/objects/ab/SHA256, named by the document's hash; its URL
        when the store is not this machine's) and, with an export directory, a copy
        downloaded there."""
        issued = await self.api(http, "POST", f"/api/lots/{lot_id}/confirmation",
                                {"bidder_no": bidder_no} if bidder_no else {})
        name = f"{lot_id}-{bidder_no}" if bidder_no else lot_id
        async with http.get(self.base + issued["pdf"], headers=self.headers) as resp:
            pdf = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"confirmation of {lot_id}: {resp.status} {pdf[:200]!r}")
        if hashlib.sha256(pdf).hexdigest() != issued["document_sha256"]:
            raise RuntimeError(f"confirmation of {lot_id}: not the document recorded")
        where = ([FileObjectStore(self.data_dir / OBJECTS_DIR).where(issued["document_sha256"])]
                 if self.data_dir else [])
        if self.export_dir is not None:
            path = self.export_dir / f"confirmation-{name}.pdf"
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
        entry = state.get("reserve_entry") or {}
        revealed = (f" (reserve revealed 公开保留价: {entry['amount']} {cur})"
                    if entry.get("amount") else "")
        if outcome["status"] == "awarded" and outcome.get("awards"):
            return (f"\n[{plan.lot_id}] 成交 AWARDED " + ", ".join(
                f"{a['units']} unit(s) to bidder No. {a['bidder_no']} at {a['amount']}"
                for a in outcome["awards"]) + f" {cur} each after {state['bid_count']} bids")
        if outcome["status"] == "awarded":
            return (f"\n[{plan.lot_id}] 成交 AWARDED to bidder No. {outcome['bidder_no']} at "
                    f"{outcome['amount']} {cur} after {state['bid_count']} bids"
                    + revealed + bidders.describe_draw(state))
        return (f"\n[{plan.lot_id}] {outcome['status'].upper()}: {outcome.get('reason')} "
                f"after {state['bid_count']} bids" + revealed)

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
        elif plan.params.get("units", 1) > 1:
            think = (0.2, 1.2) if self.fast else (2.0, 20.0)
            await bidders.units_bidder(self.ws_url, plan.lot_id, token, limit, stop, think,
                                       self.rng)
        else:
            think = (0.2, 1.2) if self.fast else (2.0, 20.0)
            await bidders.english_bidder(self.ws_url, plan.lot_id, token, limit, stop, think,
                                         self.rng)
