"""A notice's lots over HTTP on a real server: the notice schedules each lot to open at its
bidding time and an amendment moving that time reschedules it (a recorded LotScheduled
with the amendment as reason), so that no lot starts before its notice says; the notice
page and the review queue count the qualified applications of each lot against its
``min_bidders``, and a lot short of them at its opening fails with the rules' outcome;
an ended lot no longer in memory is still shown on its notice page and in the account,
read back from the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_trade_http import CODE, OTHER, Bidder, account, at, start
from web_support import Server, ServerFactory

from auction.state import CANCELLED, FAILED, OPEN, SCHEDULED
from engine import runtime

BIDDING = at(dt.date(2026, 9, 28), 10)
LATER = at(dt.date(2026, 9, 30), 10)


async def scheduled_reasons(server: Server, lot_id: str) -> list[tuple[int | None, str]]:
    return [(r.event.opens_at, r.event.reason) for r in await server.engine.history(lot_id)
            if type(r.event).__name__ == "LotScheduled"]


async def eligible_applicant(server: Server, bidders: list[Bidder], code: str,
                             lot_id: str) -> str:
    """An account that applied for ``lot_id``, was approved and paid (by hand)."""
    bidder = await account(server, bidders, code)
    status, app = await bidder.call("POST", f"/api/lots/{lot_id}/applications",
                                    {"accept_terms": True})
    assert status == 201
    app_id: str = app["application_id"]
    await server.ok("POST", f"/api/applications/{app_id}/review", {"approve": True})
    await server.ok("POST", f"/api/applications/{app_id}/deposit", {
        "amount": "50.00", "account": f"6222-{code[-4:]}", "reason": "柜台缴纳，凭证已核"})
    return app_id


def status_of(server: Server, lot_id: str) -> str:
    lot = server.engine.lot(lot_id)
    assert lot is not None
    return lot.status


def notice_lot(view: dict[str, Any], lot_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(lot for lot in view["lots"] if lot["lot_id"] == lot_id)
    return found


async def test_a_notice_schedules_its_lot_at_its_bidding_time_and_it_cannot_start_before(
        make_server: ServerFactory, tmp_path: Path) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    lot = server.engine.lot(lot_id)
    assert lot is not None and (lot.status, lot.opens_at) == (SCHEDULED, BIDDING)
    assert await scheduled_reasons(server, lot_id) == [(BIDDING, f"公告 notice {notice_id}")]
    clock.now = BIDDING - 1
    status, error = await server.call("POST", f"/api/lots/{lot_id}/start", {})
    assert status == 409 and error["error"]["code"] == "too_early"
    view = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    assert notice_lot(view, lot_id)["opens_at"] == BIDDING


async def test_an_amendment_moving_the_bidding_time_reschedules_the_lot(
        make_server: ServerFactory, tmp_path: Path) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    notice = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    terms = {k: notice[k] for k in ("title", "kind", "apply_from", "terms", "lot_ids",
                                    "documents", "prequalification", "consortium")}
    clock.now = at(dt.date(2026, 9, 21))
    await server.ok("POST", f"/api/notices/{notice_id}/amend", {
        **terms, "apply_until": at(dt.date(2026, 9, 28), 9),
        "deposit_until": at(dt.date(2026, 9, 28), 9), "bidding_at": LATER,
        "reason": "现场踏勘延期，竞价顺延两日"})
    lot = server.engine.lot(lot_id)
    assert lot is not None and (lot.status, lot.opens_at) == (SCHEDULED, LATER)
    reasons = await scheduled_reasons(server, lot_id)
    assert reasons[-1] == (LATER, f"更正公告 amendment of notice {notice_id}: "
                                  "现场踏勘延期，竞价顺延两日")
    clock.now = BIDDING
    status, error = await server.call("POST", f"/api/lots/{lot_id}/start", {})
    assert status == 409 and error["error"]["code"] == "too_early"
    clock.now = LATER
    await server.ok("POST", f"/api/lots/{lot_id}/start", {})
    assert status_of(server, lot_id) == OPEN


async def test_withdrawing_a_notice_cancels_its_lots_that_have_not_opened(
        make_server: ServerFactory, tmp_path: Path) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    kept = await server.make_lot()
    body = {"title": "t", "kind": "other", "apply_from": clock.now,
            "apply_until": at(dt.date(2026, 9, 24)), "deposit_until": at(dt.date(2026, 9, 24)),
            "bidding_at": BIDDING, "terms": "x"}
    first = await server.ok("POST", "/api/notices", {**body, "lot_ids": [kept]})
    await server.ok("POST", "/api/notices", {**body, "lot_ids": [kept]})  # offers it too
    await server.ok("POST", f"/api/notices/{first['notice_id']}/withdraw", {"reason": "重发"})
    assert status_of(server, kept) == SCHEDULED  # the other notice still offers it
    await server.ok("POST", f"/api/notices/{notice_id}/withdraw", {"reason": "委托方撤回"})
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.status == CANCELLED and lot.outcome is not None
    assert lot.outcome.reason == f"公告撤回 notice {notice_id} withdrawn: 委托方撤回"


async def test_a_lot_that_closes_before_its_notices_bidding_time_is_refused(
        make_server: ServerFactory, tmp_path: Path) -> None:
    server, clock, _, _ = await start(make_server, tmp_path)
    fixed = await server.make_lot(duration_s=None, closes_at=BIDDING)
    status, error = await server.call("POST", "/api/notices", {
        "title": "t", "kind": "other", "apply_from": clock.now,
        "apply_until": at(dt.date(2026, 9, 24)), "deposit_until": at(dt.date(2026, 9, 24)),
        "bidding_at": BIDDING, "terms": "x", "lot_ids": [fixed]})
    assert status == 409 and error["error"]["code"] == "invalid_schedule"
    lot = server.engine.lot(fixed)
    assert lot is not None and lot.opens_at is None


async def test_a_lot_short_of_its_minimum_of_qualified_bidders_fails_at_its_opening(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path,
                                                   lot={"min_bidders": 2})
    await eligible_applicant(server, bidders, CODE, lot_id)
    second = await account(server, bidders, OTHER)
    status, app = await second.call("POST", f"/api/lots/{lot_id}/applications",
                                    {"accept_terms": True})
    assert status == 201
    view = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    assert {k: notice_lot(view, lot_id)[k] for k in ("qualified", "min_bidders")} == \
        {"qualified": 1, "min_bidders": 2}
    queue = await server.ok("GET", "/api/applications?status=submitted")
    assert [a["application_id"] for a in queue["applications"]] == [app["application_id"]]
    assert [(lot["lot_id"], lot["qualified"]) for lot in queue["lots"]] == [(lot_id, 1)]
    clock.now = BIDDING
    await server.ok("POST", f"/api/lots/{lot_id}/start", {})
    assert (await bidders[0].login(CODE))[0] == 200  # a day later: a new session
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.status == FAILED
    assert lot.outcome is not None and lot.outcome.reason == "too_few_bidders"
    page = (await bidders[0].call("GET", "/api/account"))[1]
    assert page["applications"][0]["result"] == "failed"


async def test_a_lot_with_its_minimum_of_qualified_bidders_from_applications_opens(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    server, clock, lot_id, notice_id = await start(make_server, tmp_path,
                                                   lot={"min_bidders": 2})
    for code in (CODE, OTHER):
        await eligible_applicant(server, bidders, code, lot_id)
    view = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    assert notice_lot(view, lot_id)["qualified"] == 2
    clock.now = BIDDING
    await server.ok("POST", f"/api/lots/{lot_id}/start", {})
    assert status_of(server, lot_id) == OPEN


async def test_an_ended_lot_no_longer_in_memory_is_shown_on_its_notice_and_in_the_account(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 1)
    server, clock, lot_id, notice_id = await start(make_server, tmp_path)
    app_id = await eligible_applicant(server, bidders, CODE, lot_id)
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "标的权属争议"})
    other = await server.make_lot()  # another lot ending pushes the first out of memory
    await server.ok("POST", f"/api/lots/{other}/cancel", {"reason": "撤回"})
    assert server.engine.lot(lot_id) is None  # evicted: read back from the store
    view = await server.ok("GET", f"/api/notices/{notice_id}", token=None)
    lot = notice_lot(view, lot_id)
    assert (lot["status"], lot["outcome"], lot["title"]) == ("cancelled", "cancelled", "标的 lot")
    listed = await server.ok("GET", "/api/notices", token=None)
    assert notice_lot(listed["notices"][0], lot_id)["status"] == "cancelled"
    page = (await bidders[0].call("GET", "/api/account"))[1]
    mine = page["applications"][0]
    assert (mine["lot_status"], mine["result"], mine["deposit_required"]) == \
        ("cancelled", "cancelled", "50.00")
    staff = await server.ok("GET", f"/api/applications/{app_id}")
    assert staff["lot_status"] == "cancelled"
