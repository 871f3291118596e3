"""The transaction confirmations of a multi-unit lot over HTTP: one per winner, each for
the price of its units; each winner reads and signs its own only; staff read each by the
winner's number."""

from __future__ import annotations

import hashlib

from records.test_records_api import raw, until_ended
from web_support import SUPERVISOR_TOKEN, Server

from auction.trade.confirmations import KIND


async def test_each_winner_gets_and_signs_a_confirmation_of_its_own(server: Server) -> None:
    lot_id = await server.make_lot(duration_s=1, units=2)
    regs = [await server.register(lot_id, f"b{i + 1}") for i in range(3)]
    await server.open(lot_id)
    for reg, price in zip(regs, ("100.00", "110.00", "120.00"), strict=True):
        room = await server.connect()
        await room.subscribe(lot_id, reg["token"])
        assert (await room.bid(lot_id, price))["type"] == "ack"
    await until_ended(server, lot_id)  # b3 wins a unit at 120.00, b2 at 110.00
    path = f"/api/lots/{lot_id}/confirmation"
    first = await server.ok("POST", path, {})
    assert (first["bidder_no"], first["amount"]) == (regs[2]["bidder_no"], "120.00")
    second = await server.ok("POST", path, {})
    assert (second["bidder_no"], second["amount"]) == (regs[1]["bidder_no"], "110.00")
    status, data = await server.call("POST", path, {})
    assert status == 409 and data["error"]["code"] == "already_issued"
    assert first["document_sha256"] != second["document_sha256"]

    status, _ = await server.call("GET", path, token=regs[0]["token"])
    assert status == 403  # the bidder who won nothing
    mine = await server.ok("GET", path, token=regs[1]["token"])
    assert mine["document_sha256"] == second["document_sha256"]
    status, _, pdf = await raw(server, mine["pdf"], regs[1]["token"])
    assert status == 200 and hashlib.sha256(pdf).hexdigest() == second["document_sha256"]
    status, data = await server.call("POST", path + "/sign",
                                     {"document_sha256": first["document_sha256"]},
                                     token=regs[1]["token"])
    assert status == 409 and data["error"]["code"] == "document_changed"
    for reg, doc in ((regs[1], second), (regs[2], first)):
        signed = await server.ok("POST", path + "/sign",
                                 {"document_sha256": doc["document_sha256"]},
                                 token=reg["token"])
        assert signed["status"] == "signed" and signed["lot_id"] == lot_id
    staff = await server.ok("GET", f"{path}?bidder_no={regs[1]['bidder_no']}",
                            token=SUPERVISOR_TOKEN)
    assert staff["status"] == "signed" and staff["bidder_no"] == regs[1]["bidder_no"]
    records = await server.engine.aggregates.records(
        KIND, f"{lot_id}-{regs[1]['bidder_no']}")
    assert [type(r.event).__name__ for r in records] == ["ConfirmationIssued",
                                                         "ConfirmationSigned"]
