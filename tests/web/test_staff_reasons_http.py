"""Over HTTP, every staff action takes a reason and the record keeps it with the host's id:
creating a lot, registering a bidder, confirming a deposit, scheduling and starting
(reason optional) as well as the actions that require one. A reason that is not free
text of at most 500 characters is refused and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import DEFAULT_PARAMS, Server


async def _events(server: Server, lot_id: str) -> list[dict[str, Any]]:
    data = await server.ok("GET", f"/api/lots/{lot_id}/events")
    return [e["event"] for e in data["events"]]


async def test_every_staff_action_over_http_records_the_host_and_its_reason(
        server: Server) -> None:
    session = await server.ok("POST", "/api/sessions", {"name": "s"})
    lot = await server.ok("POST", "/api/lots", {
        "session_id": session["session_id"], "title": "标的", "format": "english",
        "params": DEFAULT_PARAMS, "reason": "依据挂牌公告"})
    lot_id = lot["lot_id"]
    await server.ok("POST", f"/api/lots/{lot_id}/bidders",
                    {"bidder_id": "b1", "name": "甲", "reason": "报名材料齐全"})
    await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/deposit",
                    {"amount": "50.00", "account": "acct", "reason": "银行回单 0042"})
    scheduled = await server.ok("POST", f"/api/lots/{lot_id}/schedule",
                                {"reason": "按公告排期"})
    assert scheduled["events"][0]["reason"] == "按公告排期"
    await server.ok("POST", f"/api/lots/{lot_id}/start", {"reason": "准时开始"})
    await server.ok("POST", f"/api/lots/{lot_id}/pause", {"reason": "网络故障"})
    events = await _events(server, lot_id)
    assert [(e["type"], e["actor"], e.get("reason")) for e in events] == [
        ("LotCreated", "alice", "依据挂牌公告"),
        ("BidderRegistered", "alice", "报名材料齐全"),
        ("DepositConfirmed", "alice", "银行回单 0042"),
        ("LotScheduled", "alice", "按公告排期"),
        ("LotOpened", "alice", "准时开始"),
        ("LotPaused", "alice", "网络故障"),
    ]
    report = await server.ok("GET", f"/api/lots/{lot_id}/report")
    assert [a["reason"] for a in report["staff_actions"]] == [
        "依据挂牌公告", "报名材料齐全", "银行回单 0042", "按公告排期", "准时开始", "网络故障"]


async def test_optional_reasons_may_be_left_out(server: Server) -> None:
    lot_id = await server.make_lot()
    await server.register(lot_id, "b1")
    await server.open(lot_id)
    events = await _events(server, lot_id)
    assert all("reason" not in e for e in events), events


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\x07", 7, ["r"]])
async def test_a_reason_that_is_not_free_text_is_refused_and_changes_nothing(
        server: Server, reason: Any) -> None:
    lot_id = await server.make_lot()
    await server.register(lot_id, "b1", deposit=False)
    attempts = [
        ("POST", f"/api/lots/{lot_id}/bidders", {"bidder_id": "b2", "name": "乙"}),
        ("POST", f"/api/lots/{lot_id}/bidders/b1/deposit", {"amount": "50.00", "account": "a"}),
        ("POST", f"/api/lots/{lot_id}/schedule", {}),
        ("POST", "/api/lots", {"session_id": server.session_id, "title": "t",
                               "format": "english", "params": DEFAULT_PARAMS}),
    ]
    lots = server.engine.lot_ids()
    for method, path, body in attempts:
        before = server.seq(lot_id)
        status, data = await server.call(method, path, {**body, "reason": reason})
        assert status == 400 and data["error"]["code"] == "bad_request", (path, status, data)
        assert server.seq(lot_id) == before
    assert server.engine.lot_ids() == lots


async def test_an_emergency_suspension_and_termination_carry_their_public_notices(
        server: Server) -> None:
    lot_id, tokens = await server.open_lot(restart_allowed=True)
    watcher = await server.connect()
    await watcher.subscribe(lot_id)
    paused = await server.ok("POST", f"/api/lots/{lot_id}/pause",
                             {"reason": "机房断电", "notice": "因系统故障暂停竞价"})
    assert paused["events"][0]["notice"] == "因系统故障暂停竞价"
    update = await watcher.next("update")
    assert update["state"]["notice"] == "因系统故障暂停竞价"
    assert update["events"][0]["notice"] == "因系统故障暂停竞价"
    resumed = await server.ok("POST", f"/api/lots/{lot_id}/resume",
                              {"reason": "恢复供电", "restart": True})
    assert resumed["events"][0]["restart"] is True
    assert "notice" not in (await watcher.next("update"))["state"]
    await server.ok("POST", f"/api/lots/{lot_id}/cancel",
                    {"reason": "法院裁定", "notice": "本标的终止拍卖"})
    assert (await watcher.next("update"))["state"]["notice"] == "本标的终止拍卖"


async def test_a_restart_the_lot_does_not_allow_is_refused_over_http(server: Server) -> None:
    lot_id, _ = await server.open_lot()
    await server.ok("POST", f"/api/lots/{lot_id}/pause", {"reason": "故障"})
    status, body = await server.call("POST", f"/api/lots/{lot_id}/resume",
                                     {"reason": "恢复", "restart": True})
    assert status == 409 and body["error"]["code"] == "restart_not_allowed"
