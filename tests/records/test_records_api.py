"""The record over HTTP: result announcement, report (JSON, CSV), export, OCDS, deposits
and collusion checks, who may read them, and the connections log behind the report."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server, ServerFactory

from auction.verify import verify
from web.config import Settings
from web.connlog import FILENAME, ConnectionLog
from web.keys import CONNECTION_LOG

SECRETS = ("Company b", "acct-b", "127.0.0.1", "fp-", "\"b1\"", "\"b2\"")


async def short_lot(server: Server, *, bids: bool = True) -> tuple[str, list[str]]:
    """A lot of one second: b1 and b2 bid over WebSockets, then it ends (awarded to b2 at
    110.00, or failed without bids)."""
    lot_id = await server.make_lot(duration_s=1)
    tokens = [(await server.register(lot_id, f"b{i + 1}"))["token"] for i in range(2)]
    await server.open(lot_id)
    if bids:
        rooms = []
        for i, token in enumerate(tokens):
            room = await server.connect()
            await room.subscribe(lot_id, token, device=f"fp-{i + 1}")
            rooms.append(room)
        assert (await rooms[0].bid(lot_id, "100.00"))["type"] == "ack"
        assert (await rooms[1].bid(lot_id, "110.00", ref="r2"))["type"] == "ack"
    await until_ended(server, lot_id)
    return lot_id, tokens


async def until_ended(server: Server, lot_id: str) -> None:
    """Wait until the lot's outcome is durable (the state in memory may run ahead)."""
    async with asyncio.timeout(10):
        while type((await server.engine.history(lot_id))[-1].event).__name__ not in (
                "LotAwarded", "LotFailed", "LotCancelled"):
            await asyncio.sleep(0.05)


async def raw(server: Server, path: str, token: str | None = None) -> tuple[int, dict[str, str],
                                                                               bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.http.get(server.base + path, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


# --------------------------------------------------------------------------- result


async def test_the_result_is_public_once_the_lot_has_ended(server: Server) -> None:
    lot_id, _ = await short_lot(server)
    status, headers, body = await raw(server, f"/api/lots/{lot_id}/result")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    result = json.loads(body)
    assert result["status"] == "awarded" and result["outcome"]["amount"] == "110.00"
    b2 = server.engine.lot(lot_id).bidders["b2"].bidder_no  # type: ignore[union-attr]
    assert result["outcome"]["bidder_no"] == b2
    assert (result["bidders"], result["bidding"], result["bid_count"]) == (2, 2, 2)
    assert [h["amount"] for h in result["history"]] == ["100.00", "110.00"]
    assert not any(secret in body.decode() for secret in SECRETS)


async def test_there_is_no_result_before_the_end(server: Server) -> None:
    lot_id = await server.make_lot()
    status, data = await server.call("GET", f"/api/lots/{lot_id}/result", token=None)
    assert status == 409 and data["error"]["code"] == "not_ended"
    assert data["error"]["message"]["zh"].startswith("标的尚未结束")
    assert "draft" in data["error"]["detail"]
    status, data = await server.call("GET", "/api/lots/L-NOPE/result", token=None)
    assert status == 404 and data["error"]["code"] == "unknown_lot"
    status, data = await server.call("GET", f"/api/lots/{lot_id}/ocds", token=None)
    assert status == 409 and data["error"]["code"] == "not_ended"


async def test_a_failed_lot_has_a_result_too(server: Server) -> None:
    lot_id, _ = await short_lot(server, bids=False)
    result = await server.ok("GET", f"/api/lots/{lot_id}/result", token=None)
    assert result["outcome"]["status"] == "failed" and result["outcome"]["reason"] == "no_bids"


# --------------------------------------------------------------------------- report


async def test_the_report_is_for_staff_only(server: Server) -> None:
    lot_id, tokens = await short_lot(server)
    for path in ("report", "report?format=csv", "export", "deposits", "collusion"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/{path}", token=None)
        assert (status, data["error"]["code"]) == (401, "unauthorized"), path
        status, data = await server.call("GET", f"/api/lots/{lot_id}/{path}", token=tokens[0])
        assert (status, data["error"]["code"]) == (403, "forbidden"), path
    status, data = await server.call("GET", "/api/collusion", token=None)
    assert status == 401
    await server.ok("GET", f"/api/lots/{lot_id}/report", token=SUPERVISOR_TOKEN)
    status, data = await server.call("GET", "/api/lots/L-NOPE/report")
    assert status == 404 and data["error"]["code"] == "unknown_lot"


async def test_the_report_holds_bids_with_identities_staff_actions_and_connections(
        server: Server) -> None:
    lot_id = await server.make_lot(duration_s=2)
    tokens = [(await server.register(lot_id, f"b{i + 1}"))["token"] for i in range(2)]
    await server.open(lot_id)
    rooms = []
    for i, token in enumerate(tokens):
        room = await server.connect()
        await room.subscribe(lot_id, token, device=f"fp-{i + 1}")
        rooms.append(room)
    watcher = await server.connect()
    await watcher.subscribe(lot_id, SUPERVISOR_TOKEN)
    public = await server.connect()
    await public.subscribe(lot_id)
    await rooms[0].bid(lot_id, "100.00")
    await server.ok("POST", f"/api/lots/{lot_id}/pause", {"reason": "网络故障"})
    await server.ok("POST", f"/api/lots/{lot_id}/resume", {"reason": "已恢复"})
    await rooms[1].bid(lot_id, "110.00", ref="r2")
    await rooms[0].close()
    await until_ended(server, lot_id)
    async with asyncio.timeout(5):
        while len(server.app[CONNECTION_LOG].entries(lot_id)) < 4:
            await asyncio.sleep(0.02)

    report = await server.ok("GET", f"/api/lots/{lot_id}/report", token=SUPERVISOR_TOKEN)
    assert report["final"] is True and report["lot"]["status"] == "awarded"
    bids = report["bids"]
    assert [(b["bidder_id"], b["name"], b["amount"], b["ip"], b["device"]) for b in bids] == [
        ("b1", "Company b1", "100.00", "127.0.0.1", "fp-1"),
        ("b2", "Company b2", "110.00", "127.0.0.1", "fp-2")]
    actions = [(a["action"], a["actor"], a["reason"]) for a in report["staff_actions"]]
    assert ("LotPaused", "alice", "网络故障") in actions
    assert ("LotResumed", "alice", "已恢复") in actions
    connections = report["connections"]
    joins = [(c["kind"], c["role"], c.get("bidder_id") or c.get("staff_id"), c["device"])
             for c in connections]
    assert ("join", "bidder", "b1", "fp-1") in joins and ("leave", "bidder", "b1", "fp-1") in joins
    assert ("join", "bidder", "b2", "fp-2") in joins
    assert any(j[:3] == ("join", "supervisor", "sam") for j in joins)
    assert all(c["role"] != "public" for c in connections)
    assert all(c["ip"] == "127.0.0.1" for c in connections)
    b1 = next(c for c in connections if c.get("bidder_id") == "b1")
    assert b1["name"] == "Company b1" and b1["bidder_no"] == bids[0]["bidder_no"]
    checks = {f["check"] for f in report["collusion"]}
    assert "shared_address" in checks  # both rooms ran on this machine
    assert report["deposits"]["to_refund"][0]["bidder_id"] == "b1"
    assert report["record"]["last_seq"] == server.seq(lot_id)


async def test_the_report_as_csv_opens_in_a_spreadsheet(server: Server) -> None:
    lot_id, _ = await short_lot(server)
    status, headers, body = await raw(server, f"/api/lots/{lot_id}/report?format=csv&tz=-05:00",
                                      HOST_TOKEN)
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="report-{lot_id}.csv"' in headers["Content-Disposition"]
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0]["section"] == "event" and rows[0]["type"] == "LotCreated"
    assert rows[0]["time"].endswith(" -05:00")
    bid = next(r for r in rows if r["type"] == "BidAccepted")
    assert bid["ip"] == "127.0.0.1" and bid["device"] == "fp-1"
    for query in ("format=xml", "format=csv&tz=8", "format=csv&tz=%2B15:00",
                  "format=csv&tz=%2B08:75", "format=csv&tz=", "format=csv&tz=+08:00",
                  "format=csv&tz=%2B-08:00", "format=csv&tz=%D9%A0%D9%A8:00"):
        status, data = await server.call("GET", f"/api/lots/{lot_id}/report?{query}")
        assert (status, data["error"]["code"]) == (400, "bad_request"), query
    for tz in ("%2B08:00", "08:00", "8:00"):
        status, _, body = await raw(server, f"/api/lots/{lot_id}/report?format=csv&tz={tz}",
                                    HOST_TOKEN)
        assert status == 200 and b" +08:00" in body, tz
    status, _, body = await raw(server, f"/api/lots/{lot_id}/report?format=csv&tz=-14:00",
                                HOST_TOKEN)
    assert status == 200 and b" -14:00" in body


# --------------------------------------------------------------------------- export


async def test_the_export_verifies_offline_before_and_after_deposits_are_settled(
        server: Server) -> None:
    lot_id, _ = await short_lot(server)
    status, headers, body = await raw(server, f"/api/lots/{lot_id}/export", SUPERVISOR_TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    result = verify(body)
    assert result.ok, result.summary
    doc = json.loads(body)
    assert doc["lot_id"] == lot_id and doc["outcome"]["amount"] == "110.00"
    await server.ok("POST", f"/api/lots/{lot_id}/bidders/b1/deposit/refund", {"reason": "退还"})
    _, _, body = await raw(server, f"/api/lots/{lot_id}/export", HOST_TOKEN)
    assert verify(body).ok
    assert json.loads(body)["events"][-1]["event"]["type"] == "DepositRefunded"


async def test_the_report_reads_only_the_durable_record(server: Server,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lot_id, _ = await short_lot(server)
    durable = (await server.engine.history(lot_id))[:-2]  # without the closing commit

    async def record(lot: str) -> list[Any]:
        return durable

    monkeypatch.setattr(server.engine, "record", record)  # a commit still in flight
    report = await server.ok("GET", f"/api/lots/{lot_id}/report")
    assert report["record"]["last_seq"] == len(durable) == report["lot"]["seq"]
    assert report["lot"]["status"] == "open"
    assert verify((await raw(server, f"/api/lots/{lot_id}/export", HOST_TOKEN))[2]).ok


# --------------------------------------------------------------------------- OCDS


async def test_ocds_releases_are_public_with_exact_amounts(server: Server) -> None:
    first, _ = await short_lot(server)
    running = await server.make_lot()
    status, headers, body = await raw(server, f"/api/lots/{first}/ocds")
    assert status == 200
    text = body.decode()
    assert '"amount":110.00' in text and '"amount":"' not in text
    package = json.loads(text)
    assert package["version"] == "1.1" and len(package["releases"]) == 1
    release = package["releases"][0]
    assert release["ocid"] == f"ocds-auction-{first}"
    assert release["awards"][0]["value"] == {"amount": 110.0, "currency": "CNY"}
    assert not any(secret in json.dumps(release, ensure_ascii=False) for secret in SECRETS)
    everything = await server.ok("GET", "/api/ocds", token=None)
    assert [r["tender"]["id"] for r in everything["releases"]] == [first]
    assert running not in json.dumps(everything)
    other = await server.ok("GET", "/api/ocds?session_id=S-NONE", token=None)
    assert other["releases"] == []


async def test_the_ocid_prefix_and_publisher_are_settings_of_the_server(
        make_server: ServerFactory, tmp_path: Path) -> None:
    settings = Settings.load(env={"AUCTION_OCID_PREFIX": "ocds-7x9k2p",
                                  "AUCTION_OCDS_PUBLISHER": "某市公共资源交易中心"},
                             data_dir=tmp_path / "settings")
    server = await make_server(ocid_prefix=settings.ocid_prefix,
                               ocds_publisher=settings.ocds_publisher)
    lot_id, _ = await short_lot(server, bids=False)
    package = await server.ok("GET", f"/api/lots/{lot_id}/ocds", token=None)
    assert package["publisher"] == {"name": "某市公共资源交易中心"}
    assert package["releases"][0]["ocid"] == f"ocds-7x9k2p-{lot_id}"


# --------------------------------------------------------------------------- deposits


async def test_hosts_settle_deposits_after_the_end_and_the_public_sees_nothing_of_it(
        server: Server) -> None:
    lot_id = await server.make_lot(duration_s=1)
    for bidder in ("b1", "b2"):
        await server.register(lot_id, bidder)
    path = f"/api/lots/{lot_id}/bidders/b1/deposit/refund"
    status, data = await server.call("POST", path, {"reason": "早退"})
    assert (status, data["error"]["code"]) == (409, "invalid_state")
    await server.open(lot_id)
    public = await server.connect()
    await public.subscribe(lot_id)
    await until_ended(server, lot_id)
    ledger = await server.ok("GET", f"/api/lots/{lot_id}/deposits", token=SUPERVISOR_TOKEN)
    assert {d["bidder_id"]: d["status"] for d in ledger["deposits"]} == {
        "b1": "refundable", "b2": "refundable"}
    assert ledger["to_refund_total"] == "100.00"
    status, data = await server.call("POST", path, {"reason": "x"}, token=SUPERVISOR_TOKEN)
    assert (status, data["error"]["code"]) == (403, "forbidden")
    status, data = await server.call("POST", path, {})
    assert (status, data["error"]["code"]) == (400, "bad_request")
    status, data = await server.call("POST", path, {"reason": "x", "amount": "1.00"})
    assert (status, data["error"]["code"]) == (400, "bad_request")
    status, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/zz/deposit/refund",
                                     {"reason": "x"})
    assert (status, data["error"]["code"]) == (409, "unknown_bidder")
    status, data = await server.call("POST", "/api/lots/L-NOPE/bidders/b1/deposit/refund",
                                     {"reason": "x"})
    assert (status, data["error"]["code"]) == (404, "unknown_lot")
    done = await server.ok("POST", path, {"reason": "退还至原账户"})
    assert done["events"][0]["type"] == "DepositRefunded"
    assert done["events"][0]["reason"] == "退还至原账户" and done["events"][0]["actor"] == "alice"
    forfeit = await server.ok("POST", f"/api/lots/{lot_id}/bidders/b2/deposit/forfeit",
                              {"reason": "违规"})
    assert forfeit["events"][0]["type"] == "DepositForfeited"
    status, data = await server.call("POST", f"/api/lots/{lot_id}/bidders/b2/deposit/apply",
                                     {"reason": "x"})
    assert (status, data["error"]["code"]) == (409, "invalid_state")
    ledger = await server.ok("GET", f"/api/lots/{lot_id}/deposits")
    assert {d["bidder_id"]: d["status"] for d in ledger["deposits"]} == {
        "b1": "refunded", "b2": "forfeited"}
    update = await public.next("update")
    while update["events"][-1]["type"] != "DepositForfeited":
        update = await public.next("update")
    assert update["events"][-1] == {"seq": server.seq(lot_id), "type": "DepositForfeited",
                                    "at": update["events"][-1]["at"]}


# --------------------------------------------------------------------------- collusion


async def test_collusion_checks_per_lot_and_across_lots(server: Server) -> None:
    first, _ = await short_lot(server)
    second, _ = await short_lot(server, bids=False)
    one = await server.ok("GET", f"/api/lots/{first}/collusion", token=SUPERVISOR_TOKEN)
    assert one["lot_id"] == first
    shared = next(f for f in one["flags"] if f["check"] == "shared_address")
    assert shared["evidence"]["address"] == "127.0.0.1" and shared["lots"] == [first]
    assert {b["bidder_id"] for b in shared["bidders"]} == {"b1", "b2"}
    every = await server.ok("GET", "/api/collusion", token=SUPERVISOR_TOKEN)
    assert every["checked"] == 2 and set(every["lots"]) == {first, second}
    assert every["lots"][first] == one["flags"] and every["lots"][second] == []
    assert isinstance(every["across"], list)
    assert every["thresholds"]["lockstep_min"] == 5
    assert every["thresholds"]["lockstep_share"] == "1/2"
    some = await server.ok("GET", f"/api/collusion?session_id={server.session_id}")
    assert some["checked"] == 2
    none = await server.ok("GET", "/api/collusion?session_id=S-NONE")
    assert none["checked"] == 0


# --------------------------------------------------------------------------- the log


async def test_the_connections_log_survives_a_restart(make_server: Any,
                                                      tmp_path: Path) -> None:
    data = tmp_path / "shared"
    server = await make_server(data=data)
    lot_id = await server.make_lot()
    token = (await server.register(lot_id, "b1"))["token"]
    room = await server.connect()
    await room.subscribe(lot_id, token, device="fp-9")
    await room.subscribe(lot_id, token, device="fp-10")  # replaces the subscription
    await room.send({"type": "unsubscribe", "lot_id": lot_id})
    await room.next("unsubscribed")
    entries = server.app[CONNECTION_LOG].entries(lot_id)
    assert [(e["kind"], e["device"]) for e in entries] == [
        ("join", "fp-9"), ("leave", "fp-9"), ("join", "fp-10"), ("leave", "fp-10")]
    await room.close()
    path = data / FILENAME
    async with asyncio.timeout(5):
        while not path.exists() or path.read_text().count("\n") < 4:
            await asyncio.sleep(0.02)
    again = ConnectionLog(path, lambda: 0)
    await again.start()
    assert again.entries(lot_id) == entries
    await again.close()


async def test_the_log_skips_a_torn_line_and_never_stops_the_server(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_text('{"at":1,"lot_id":"L","kind":"join","conn":"c","role":"bidder"}\n'
                    '[1]\n{"at":2,"lot_id":"L","ki', encoding="utf-8")
    log = ConnectionLog(path, lambda: 5)
    await log.start()
    assert [e["at"] for e in log.entries("L")] == [1]
    log.joined("L", "c2", role="host", ip="1.1.1.1", device="d", staff_id="alice")
    log.left("L", "c2")
    log.left("L", "never-joined")
    await log.close()
    assert [e["kind"] for e in log.entries("L")] == ["join", "join", "leave"]
    blocked = ConnectionLog(tmp_path / "file" / "sub" / FILENAME, lambda: 5)
    (tmp_path / "file").write_text("not a directory")
    await blocked.start()
    blocked.joined("L", "c", role="host", ip="", device="")
    await blocked.close()  # the write failed: logged, not raised
    assert len(blocked.entries("L")) == 1
    memory = ConnectionLog(None, lambda: 5)
    await memory.start()
    memory.joined("L", "c", role="host", ip="", device="")
    await memory.close()
    assert memory.entries("L")[0]["at"] == 5
