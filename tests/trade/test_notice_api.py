"""The result notice and objections over HTTP: a bidder objects within the publicity
period (not after it), staff answer, the public reads the answer without the objector,
the objector reads its own; the period per kind of trade; when the notice ends."""

from __future__ import annotations

import time
from typing import Any

import orjson
from records.test_records_api import short_lot
from web_support import SUPERVISOR_TOKEN, ServerFactory

from auction.trade.results import publicity_end
from auction.verify import verify
from web.publicity import result_notice_ends
from web.workdays import china_calendar


class Clock:
    """The server's clock: real time, moved forward at will."""

    def __init__(self) -> None:
        self.ahead = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.ahead


async def test_a_bidder_objects_within_the_period_and_the_public_reads_the_answer_only(
        make_server: ServerFactory) -> None:
    clock = Clock()
    # Room tokens live 7 days by default: the objector's must outlive the period here.
    server = await make_server(clock=clock, center_name="某市公共资源交易中心",
                               publicity_kinds={"land": 10}, bidder_token_ttl_s=90 * 86_400)
    lot_id, tokens = await short_lot(server)
    notice = await server.ok("POST", f"/api/lots/{lot_id}/notice", {"trade_kind": "land"})
    assert notice["working_days"] == 10 and notice["issuer"] == "某市公共资源交易中心"
    assert notice["ends_at"] == publicity_end(notice["starts_at"], 10, china_calendar())
    assert await result_notice_ends(server.engine, server.settings, lot_id) == notice["ends_at"]
    result = await server.ok("GET", f"/api/lots/{lot_id}/result", token=None)
    assert result["publicity"]["until"] == notice["ends_at"]
    assert result["publicity"]["days"] == 10

    mine = await server.ok("POST", f"/api/lots/{lot_id}/objections",
                           {"text": "第二次报价时间有误"}, token=tokens[0])
    assert mine["objections"][0]["text"] == "第二次报价时间有误"
    answered = await server.ok("POST", f"/api/lots/{lot_id}/objections/O-1/answer",
                               {"outcome": "upheld", "effect": "suspended",
                                "reason": "经核查属实，暂停成交"})
    assert answered["award"] == "suspended"
    # ...in the lot's own record too: no confirmation while it is suspended
    events = (await server.ok("GET", f"/api/lots/{lot_id}/events"))["events"]
    assert events[-1]["event"]["type"] == "AwardChanged"
    assert events[-1]["event"]["effect"] == "suspended"
    status, data = await server.call("POST", f"/api/lots/{lot_id}/confirmation", {})
    assert status == 409 and "suspended" in data["error"]["detail"]
    await server.ok("POST", f"/api/lots/{lot_id}/award",
                    {"effect": "reinstated", "reason": "复核后维持成交"})
    assert not server.engine.lot(lot_id).award_suspended  # type: ignore[union-attr]
    public: dict[str, Any] = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=None)
    [entry] = public["objections"]
    assert (entry["outcome"], entry["answer"]) == ("upheld", "经核查属实，暂停成交")
    bidder_no = server.engine.lot(lot_id).bidders["b1"].bidder_no  # type: ignore[union-attr]
    assert bidder_no not in str(public) and "第二次报价时间有误" not in str(public)
    own = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=tokens[0])
    assert own["objections"][0]["text"] == "第二次报价时间有误"
    other = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=tokens[1])
    assert "text" not in other["objections"][0]
    staff = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=SUPERVISOR_TOKEN)
    assert staff["objections"][0]["bidder_no"] == bidder_no

    status, data = await server.call("POST", f"/api/lots/{lot_id}/objections/O-1/answer",
                                     {"outcome": "dismissed", "reason": "再答"})
    assert status == 409 and data["error"]["code"] == "already_answered"
    clock.ahead = notice["ends_at"] + 1 - int(time.time() * 1000)  # the period is over
    status, data = await server.call("POST", f"/api/lots/{lot_id}/objections",
                                     {"text": "迟到的异议"}, token=tokens[1])
    assert status == 409 and data["error"]["code"] == "period_over"


async def test_the_first_objection_publishes_the_notice_with_the_default_period(
        make_server: ServerFactory) -> None:
    server = await make_server(publicity_days=3)
    lot_id, tokens = await short_lot(server)
    ends = await result_notice_ends(server.engine, server.settings, lot_id)
    notice = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=None)
    assert notice["published"] is False and notice["objections"] == []
    filed = await server.ok("POST", f"/api/lots/{lot_id}/objections", {"text": "异议"},
                            token=tokens[1])
    assert filed["published"] and filed["trade_kind"] == "default"
    assert filed["working_days"] == 3 and filed["ends_at"] == ends
    # publishing afterwards changes nothing
    again = await server.ok("POST", f"/api/lots/{lot_id}/notice", {"trade_kind": "land"})
    assert again["trade_kind"] == "default"


async def test_bad_answers_and_notices_of_lots_under_way_are_refused(
        make_server: ServerFactory) -> None:
    server = await make_server()
    lot_id, tokens = await short_lot(server)
    path = f"/api/lots/{lot_id}/objections"
    await server.ok("POST", path, {"text": "异议"}, token=tokens[0])
    status, data = await server.call("POST", path + "/O-9/answer",
                                     {"outcome": "dismissed", "reason": "r"})
    assert status == 404 and data["error"]["code"] == "unknown_objection"
    status, data = await server.call("POST", path + "/O-1/answer",
                                     {"outcome": "upheld", "reason": "r"})
    assert status == 400 and data["error"]["code"] == "invalid_input"
    status, data = await server.call("POST", path, {"text": ""}, token=tokens[0])
    assert status == 400
    open_lot, open_tokens = await server.open_lot()
    status, data = await server.call("GET", f"/api/lots/{open_lot}/notice", token=None)
    assert status == 409 and data["error"]["code"] == "not_ended"
    assert await result_notice_ends(server.engine, server.settings, open_lot) is None
    status, data = await server.call("POST", f"/api/lots/{open_lot}/objections",
                                     {"text": "异议"}, token=open_tokens[0])
    assert status == 409 and data["error"]["code"] == "not_ended"


async def test_the_national_feed_gives_staff_each_ended_lot_and_what_it_cannot_fill(
        make_server: ServerFactory) -> None:
    server = await make_server(platform_code="P-33", region_code="330100")
    lot_id, tokens = await short_lot(server)
    await server.ok("POST", f"/api/lots/{lot_id}/notice", {"trade_kind": "land"})
    feed = await server.ok("GET", f"/api/lots/{lot_id}/national", token=SUPERVISOR_TOKEN)
    [row] = feed["records"]
    assert (row["TRADE_RESULT"], row["WIN_PRICE"], row["WIN_BIDDER_NAME"]) == (
        "成交", "110.00", "Company b2")
    assert row["PLATFORM_CODE"] == "P-33" and "PUBLICITY_END_TIME" in row
    assert "WIN_BIDDER_CODE" in feed["unfilled"]
    open_lot, _ = await server.open_lot()
    status, data = await server.call("GET", f"/api/lots/{open_lot}/national")
    assert status == 409 and data["error"]["code"] == "not_ended"
    every = await server.ok("GET", "/api/national")
    assert [r["BID_SECTION_CODE"] for r in every["records"]] == [lot_id]
    other = await server.ok("GET", "/api/national?session_id=S-NONE")
    assert other["records"] == []


async def test_a_host_declares_a_default_the_runner_up_gets_the_lot_then_it_is_relisted(
        make_server: ServerFactory) -> None:
    server = await make_server()
    lot_id, _ = await short_lot(server)  # b1 100.00, b2 110.00: b2 wins
    path = f"/api/lots/{lot_id}/default"
    done = await server.ok("POST", path, {"reason": "逾期未签署", "then": "runner_up"})
    assert [e["type"] for e in done["events"]] == ["WinnerDefaulted", "DepositForfeited",
                                                   "AwardedToRunnerUp"]
    assert done["state"]["outcome"]["bidder_id"] == "b1"
    status, data = await server.call("POST", path, {"reason": "r", "then": "relist",
                                                    "start_price": "120.00"})
    assert status == 400 and data["error"]["code"] == "invalid_params"  # above the old start
    relisted = await server.ok("POST", path, {"reason": "再次违约", "then": "relist",
                                              "start_price": "90.00", "duration_s": 600})
    new_id = relisted["lot_id"]
    assert new_id == f"{lot_id}-R2" and relisted["state"]["status"] == "draft"
    assert [e["type"] for e in relisted["events"]] == ["RelistedFrom"]
    assert relisted["state"]["params"]["start_price"] == "90.00"
    old = await server.ok("GET", f"/api/lots/{lot_id}")
    assert old["status"] == "failed" and old["outcome"]["reason"] == f"relisted as {new_id}"
    export = await server.ok("GET", f"/api/lots/{lot_id}/export")
    assert verify(orjson.dumps(export)).ok
