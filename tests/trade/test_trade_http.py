"""The trade around a lot over HTTP on a real server: a notice published and answered,
accounts registered with valid codes, login with the second factor (refused when wrong,
limited after failures), applications with terms, uploads by hash, review, the deposit
confirmed by hand, and the room link in the account only once eligible; rejected and
barred applicants never reach the lot."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pyotp
from web_support import HOST_TOKEN, Server, ServerFactory

from auction.trade.identity import uscc_check_char
from auction.workdays import china_midnight_ms
from web.trade import bidder_of_account, deposit_arrived

HOUR = 3_600_000
CODE = "91350100M000100Y43"
PERSON = "11010519491231002X"
OTHER = "91110000MA0123456" + uscc_check_char("91110000MA0123456")
PASSWORD = "Correct-Horse-9"
PDF = b"%PDF-1.7\n" + b"x" * 2000


def at(day: dt.date, hour: int = 9) -> int:
    return china_midnight_ms(day) + hour * HOUR


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Bidder:
    """A browser of one bidder: its own cookie jar and CSRF token."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.totp = ""

    async def call(self, method: str, path: str, body: Any = None, *,
                   data: bytes | None = None, content_type: str = "application/json",
                   csrf: bool = True) -> tuple[int, Any]:
        headers = {"Content-Type": content_type}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        if body is not None:
            data = orjson.dumps(body)
        async with self.http.request(method, self.server.base + path, data=data,
                                     headers=headers) as resp:
            return resp.status, orjson.loads(await resp.read())

    async def register(self, code: str, party: str = "organisation",
                       password: str = PASSWORD) -> tuple[int, Any]:
        status, data = await self.call("POST", "/api/accounts", {
            "party": party, "name": f"竞买人 {code[-4:]}", "code": code,
            "contact_person": "张三", "phone": "13800000000", "email": "a@example.cn",
            "password": password})
        if status == 201:
            self.totp = data["totp_secret"]
        return status, data

    def otp(self) -> str:
        return pyotp.TOTP(self.totp).at(self.server.engine.now() // 1000)

    async def login(self, code: str, otp: str | None = None) -> tuple[int, Any]:
        status, data = await self.call("POST", "/api/account/login", {
            "code": code, "password": PASSWORD, "otp": otp or self.otp()})
        if status == 200:
            self.csrf = data["csrf"]
        return status, data


async def start(make_server: ServerFactory, tmp_path: Path, lot: dict[str, Any] | None = None,
                **settings: Any) -> tuple[Server, Clock, str, str]:
    """A server at Fri 18 Sep 2026 09:00 in China with a lot (``lot``: its parameters
    beside the defaults) offered by a published notice (kind ``other``: applications until
    Thu 24 Sep, bidding Mon 28 Sep 10:00, when the notice schedules the lot to open)."""
    clock = Clock(at(dt.date(2026, 9, 18)))
    server = await make_server(clock=clock, **settings)
    lot_id = await server.make_lot(**(lot or {}))
    notice = await server.ok("POST", "/api/notices", {
        "title": "某公司设备转让", "kind": "other", "apply_from": clock.now,
        "apply_until": at(dt.date(2026, 9, 24), 17), "deposit_until": at(dt.date(2026, 9, 24), 17),
        "bidding_at": at(dt.date(2026, 9, 28), 10), "terms": "竞买须知\n一、……",
        "lot_ids": [lot_id], "documents": ["营业执照"]})
    return server, clock, lot_id, notice["notice_id"]


async def account(server: Server, bidders: list[Bidder], code: str,
                  party: str = "organisation") -> Bidder:
    bidder = Bidder(server)
    bidders.append(bidder)
    assert (await bidder.register(code, party))[0] == 201
    assert (await bidder.login(code))[0] == 200
    return bidder


async def test_a_notice_is_published_listed_and_refused_when_its_periods_are_too_short(
        make_server: ServerFactory, tmp_path: Path) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    listed = await server.ok("GET", "/api/notices?kind=other&phase=applying", token=None)
    assert [n["notice_id"] for n in listed["notices"]] == [notice_id]
    assert (await server.ok("GET", "/api/notices?kind=land", token=None))["notices"] == []
    short = {"title": "t", "kind": "land", "apply_from": clock.now,
             "apply_until": at(dt.date(2026, 9, 24)), "deposit_until": at(dt.date(2026, 9, 24)),
             "bidding_at": at(dt.date(2026, 9, 28)), "terms": "x", "lot_ids": [lot_id]}
    status, error = await server.call("POST", "/api/notices", short)
    assert status == 409 and error["error"]["code"] == "period_too_short"
    assert "notice period: 10 calendar days" in error["error"]["detail"]
    status, error = await server.call("POST", "/api/notices", {**short, "lot_ids": ["L-NONE"]})
    assert status == 400 and error["error"]["code"] == "unknown_lot"
    # A material amendment restarts the periods: 5 calendar days from 25 Sep do not fit.
    clock.now = at(dt.date(2026, 9, 25))
    status, error = await server.call("POST", f"/api/notices/{notice_id}/amend", {
        **short, "kind": "other", "apply_until": at(dt.date(2026, 9, 27)),
        "deposit_until": at(dt.date(2026, 9, 27)), "reason": "更正"})
    assert status == 409 and error["error"]["code"] == "period_too_short"


async def test_registration_checks_the_codes_check_character_and_the_passwords_strength(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, *_ = await start(make_server, tmp_path)
    bidder = Bidder(server)
    bidders.append(bidder)
    status, error = await bidder.register(CODE[:17] + "4")
    assert status == 400 and error["error"]["code"] == "invalid_party_code"
    status, error = await bidder.register(PERSON[:17] + "1", "person")
    assert status == 400 and error["error"]["code"] == "invalid_party_code"
    status, error = await bidder.register(CODE, password="alllowercase")
    assert status == 400 and error["error"]["code"] == "weak_password"
    status, created = await bidder.register(CODE)
    assert status == 201 and created["totp_uri"].startswith("otpauth://totp/")
    assert (await bidder.register(CODE))[0] == 409
    records = await server.engine.aggregates.records("account", f"org-{CODE}")
    recorded = orjson.dumps([r.event for r in records], default=repr).decode()
    assert PASSWORD not in recorded and created["totp_secret"] not in recorded


async def test_a_login_with_a_wrong_second_factor_is_refused_and_failures_are_limited(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, *_ = await start(make_server, tmp_path)
    bidder = Bidder(server)
    bidders.append(bidder)
    await bidder.register(CODE)
    wrong = f"{(int(bidder.otp()) + 1) % 1_000_000:06d}"
    status, error = await bidder.login(CODE, wrong)
    assert status == 401 and error["error"]["code"] == "login_failed"
    assert (await bidder.call("GET", "/api/account"))[0] == 401
    status, page = await bidder.login(CODE)
    assert status == 200
    assert (await bidder.login(CODE))[0] == 401  # the same code twice: a replay
    for _ in range(4):
        await bidder.login(CODE, wrong)
    status, error = await bidder.login(CODE)
    assert status == 429 and error["error"]["code"] == "rate_limited"


async def test_a_bidder_applies_uploads_is_approved_pays_and_finds_its_room_in_its_account(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    bidder = await account(server, bidders, CODE)
    path = f"/api/lots/{lot_id}/applications"
    status, error = await bidder.call("POST", path, {"accept_terms": True}, csrf=False)
    assert status == 403 and error["error"]["code"] == "csrf"
    status, error = await bidder.call("POST", path, {"accept_terms": False})
    assert status == 400 and error["error"]["code"] == "terms_not_accepted"
    status, app = await bidder.call("POST", path, {"accept_terms": True})
    assert status == 201 and app["status"] == "submitted" and app["deposit_required"] == "50.00"
    assert app["deposit_until"] == at(dt.date(2026, 9, 24), 17)
    app_id = app["application_id"]

    upload = f"/api/applications/{app_id}/documents?name=营业执照"
    status, error = await bidder.call("POST", upload, data=b"hello", content_type="text/plain")
    assert status == 415 and error["error"]["code"] == "unsupported_type"
    status, error = await bidder.call("POST", upload, data=b"not a pdf",
                                      content_type="application/pdf")
    assert status == 415
    status, app = await bidder.call("POST", upload, data=PDF, content_type="application/pdf")
    assert status == 201
    assert app["documents"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    async with server.http.get(
            f"{server.base}/api/applications/{app_id}/documents/{hashlib.sha256(PDF).hexdigest()}",
            headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200 and await resp.read() == PDF

    status, _ = await bidder.call("POST", f"/api/notices/{notice_id}/questions",
                                  {"text": "可否现场看样？"})
    assert status == 201
    await server.ok("POST", f"/api/notices/{notice_id}/questions/1/answer",
                    {"text": "可于 9 月 22 日现场看样。"})
    public = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    assert public["questions"][0]["answer"] == "可于 9 月 22 日现场看样。"
    assert CODE not in orjson.dumps(public).decode()

    queue = await server.ok("GET", "/api/applications?status=submitted")
    assert [a["application_id"] for a in queue["applications"]] == [app_id]
    reviewed = await server.ok("POST", f"/api/applications/{app_id}/review", {"approve": True})
    assert reviewed["status"] == "approved" and not reviewed["eligible"]
    page = (await bidder.call("GET", "/api/account"))[1]
    assert page["applications"][0]["room_url"] is None
    lot = server.engine.lot(lot_id)
    assert lot is not None and app_id not in lot.bidders

    paid = await server.ok("POST", f"/api/applications/{app_id}/deposit",
                           {"amount": "50.00", "account": "6222 0200 0000 0001",
                            "reason": "柜台缴纳，凭证已核"})
    assert paid["eligible"] and paid["bidder_no"]
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.bidders[app_id].deposit == 5000
    status, page = await bidder.call("GET", "/api/account")
    room = page["applications"][0]["room_url"]
    assert room.startswith(f"/room/{lot_id}#token=")
    token = room.split("#token=")[1]
    view = await server.ok("GET", f"/api/lots/{lot_id}", token=token)
    assert view["you"]["bidder_no"] == paid["bidder_no"]
    kinds = [type(r.event).__name__
             for r in await server.engine.aggregates.records("application", app_id)]
    assert kinds == ["ApplicationSubmitted", "DocumentAttached", "ApplicationApproved",
                     "ApplicantDepositCounted", "BidderAdmitted"]
    assert page["applications"][0]["result"] == ""
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "标的权属争议"})
    status, page = await bidder.call("GET", "/api/account")
    assert page["applications"][0]["result"] == "cancelled"


async def test_a_rejected_application_never_reaches_the_lot(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, _ = await start(make_server, tmp_path)
    bidder = await account(server, bidders, PERSON, "person")
    app = (await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                             {"accept_terms": True}))[1]
    app_id = app["application_id"]
    status, error = await server.call("POST", f"/api/applications/{app_id}/review",
                                      {"approve": False})
    assert status == 400 and error["error"]["code"] == "reason_required"
    rejected = await server.ok("POST", f"/api/applications/{app_id}/review",
                               {"approve": False, "reason": "身份证明文件不清晰"})
    assert rejected["status"] == "rejected" and rejected["reason"] == "身份证明文件不清晰"
    status, error = await server.call("POST", f"/api/applications/{app_id}/deposit",
                                      {"amount": "50.00", "account": "6222 0200 0000 0002",
                                       "reason": "到账"})
    assert status == 409 and error["error"]["code"] == "invalid_state"
    lot = server.engine.lot(lot_id)
    assert lot is not None and app_id not in lot.bidders
    page = (await bidder.call("GET", "/api/account"))[1]
    assert page["applications"][0]["status"] == "rejected"
    assert page["applications"][0]["room_url"] is None


async def test_a_barred_party_is_refused_and_others_do_not_see_an_application(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    barred = tmp_path / "barred.csv"
    barred.write_text(f"code,name\n{OTHER},失信被执行人\n", encoding="utf-8")
    server, clock, lot_id, _ = await start(make_server, tmp_path, barred_parties_file=barred)
    refused = await account(server, bidders, OTHER)
    status, error = await refused.call("POST", f"/api/lots/{lot_id}/applications",
                                       {"accept_terms": True})
    assert status == 409 and error["error"]["code"] == "barred"
    other = await account(server, bidders, CODE)
    app = (await other.call("POST", f"/api/lots/{lot_id}/applications",
                            {"accept_terms": True}))[1]
    status, _ = await refused.call("GET", f"/api/applications/{app['application_id']}")
    assert status == 404
    barred.write_text(f"{CODE}\n", encoding="utf-8")  # the list changes: read again
    status, error = await refused.call("POST", f"/api/lots/{lot_id}/applications",
                                       {"accept_terms": True})
    assert status == 201
    # Listed after it applied: approved and paid, it is still not admitted, and staff see why.
    path = f"/api/applications/{app['application_id']}"
    await server.ok("POST", f"{path}/review", {"approve": True})
    paid = await server.ok("POST", f"{path}/deposit", {"amount": "50.00", "account": "6222",
                                                       "reason": "到账"})
    assert paid["eligible"] and paid["barred"] and not paid["bidder_no"]
    lot = server.engine.lot(lot_id)
    assert lot is not None and app["application_id"] not in lot.bidders
    clock.now = at(dt.date(2026, 9, 19))  # a day later the session has expired
    status, error = await refused.call("POST", f"/api/lots/{lot_id}/applications",
                                       {"accept_terms": True})
    assert status == 401
    assert (await refused.login(OTHER))[0] == 200
    status, error = await refused.call("POST", f"/api/lots/{lot_id}/applications",
                                       {"accept_terms": True})
    assert status == 409 and error["error"]["code"] == "exists"


async def test_the_lots_bidder_of_an_account_is_the_application_it_was_admitted_under(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, _ = await start(make_server, tmp_path)
    bidder = await account(server, bidders, CODE)
    app = (await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                             {"accept_terms": True}))[1]
    assert await bidder_of_account(server.app, lot_id, f"org-{CODE}") is None
    await server.ok("POST", f"/api/applications/{app['application_id']}/review",
                    {"approve": True})
    await deposit_arrived(server.app, app["application_id"], 5000, "bank", "bank",
                          account="6222 0200 0000 0003")
    assert await bidder_of_account(server.app, lot_id, f"org-{CODE}") == app["application_id"]
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.bidders[app["application_id"]].deposit_account == \
        "6222 0200 0000 0003"


async def test_uploads_over_the_limit_are_refused_and_the_applicant_reads_back_its_own(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, _ = await start(make_server, tmp_path, upload_max_bytes=1000)
    bidder = await account(server, bidders, CODE)
    app = (await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                             {"accept_terms": True}))[1]
    upload = f"/api/applications/{app['application_id']}/documents?name=licence"
    status, error = await bidder.call("POST", upload, data=PDF, content_type="application/pdf")
    assert status == 413 and error["error"]["code"] == "too_large"
    small = PDF[:900]
    status, _ = await bidder.call("POST", upload, data=small, content_type="application/pdf")
    assert status == 201
    digest = hashlib.sha256(small).hexdigest()
    path = f"/api/applications/{app['application_id']}/documents/{digest}"
    async with bidder.http.get(server.base + path) as resp:
        assert resp.status == 200 and await resp.read() == small
        assert resp.headers["Content-Disposition"] == "attachment"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    status, mine = await bidder.call("GET", f"/api/applications/{app['application_id']}")
    assert status == 200 and mine["documents"][0]["size"] == 900
    status, error = await server.call("GET", "/api/applications?status=lost")
    assert status == 400
    withdrawn = (await bidder.call("POST", f"/api/applications/{app['application_id']}/withdraw",
                                   {"reason": "放弃竞买"}))[1]
    assert withdrawn["status"] == "withdrawn"
    status, error = await bidder.call("POST", upload, data=small, content_type="application/pdf")
    assert status == 409 and error["error"]["code"] == "invalid_state"


async def test_a_notice_is_amended_and_withdrawn_over_http_and_then_takes_no_application(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    notice = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    body = {k: notice[k] for k in ("kind", "apply_from", "apply_until", "deposit_until",
                                   "bidding_at", "terms", "lot_ids", "documents")}
    clock.now = at(dt.date(2026, 9, 21))
    titled = await server.ok("POST", f"/api/notices/{notice_id}/amend",
                             {**body, "title": "更正后的标题", "reason": "标题笔误"})
    assert titled["amendments"] == 1 and titled["periods_from"] == notice["published_at"]
    moved = await server.ok("POST", f"/api/notices/{notice_id}/amend", {
        **body, "title": "更正后的标题", "bidding_at": at(dt.date(2026, 9, 30), 10),
        "reason": "竞价时间顺延"})
    assert moved["amendments"] == 2 and moved["periods_from"] == clock.now
    withdrawn = await server.ok("POST", f"/api/notices/{notice_id}/withdraw",
                                {"reason": "标的权属存在争议"})
    assert withdrawn["phase"] == "withdrawn"
    bidder = await account(server, bidders, CODE)
    status, error = await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                                      {"accept_terms": True})
    assert status == 409 and error["error"]["code"] == "not_published"


async def test_without_pre_qualification_the_winner_is_reviewed_after_and_the_barred_list_again(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    barred = tmp_path / "barred.csv"
    barred.write_text("# none yet\n", encoding="utf-8")
    clock = Clock(at(dt.date(2026, 9, 18)))
    server = await make_server(clock=clock, barred_parties_file=barred)
    lot_id = await server.make_lot()
    await server.ok("POST", "/api/notices", {
        "title": "资格后审", "kind": "other", "apply_from": clock.now,
        "apply_until": at(dt.date(2026, 9, 24), 17), "deposit_until": at(dt.date(2026, 9, 24), 17),
        "bidding_at": at(dt.date(2026, 9, 28), 10), "terms": "须知", "lot_ids": [lot_id],
        "prequalification": False})
    bidder = await account(server, bidders, CODE)
    app = (await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                             {"accept_terms": True}))[1]
    path = f"/api/applications/{app['application_id']}"
    status, error = await server.call("POST", f"{path}/review", {"approve": True})
    assert status == 409 and error["error"]["code"] == "invalid_state"
    paid = await server.ok("POST", f"{path}/deposit", {"amount": "50.00", "account": "6222",
                                                       "reason": "到账"})
    assert paid["eligible"] and paid["bidder_no"]  # admitted without a review
    barred.write_text(f"{CODE}\n", encoding="utf-8")
    status, error = await server.call("POST", f"{path}/winner-review", {"approve": True})
    assert status == 409 and error["error"]["code"] == "barred"
    reviewed = await server.ok("POST", f"{path}/winner-review",
                               {"approve": False, "reason": "竞得人属失信被执行人"})
    assert reviewed["post_review"] == "disqualified"
