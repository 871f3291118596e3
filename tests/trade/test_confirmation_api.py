"""The transaction confirmation over HTTP: a host issues it for an awarded lot, the winner
(its room token) reads, downloads and signs it; nobody else signs, nobody signs another
document, and the record holds what was signed."""

from __future__ import annotations

import hashlib
import io

from pyhanko.pdf_utils.reader import PdfFileReader
from records.test_records_api import raw, short_lot
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server

from auction.trade.confirmations import KIND


async def test_the_winner_downloads_and_signs_the_confirmation_the_host_issued(
        server: Server) -> None:
    lot_id, tokens = await short_lot(server)  # awarded to b2 at 110.00
    path = f"/api/lots/{lot_id}/confirmation"
    status, data = await server.call("GET", path, token=tokens[1])
    assert status == 403  # nothing issued: nobody is the winner of a document yet
    issued = await server.ok("POST", path, {})
    assert issued["status"] == "issued" and issued["amount"] == "110.00"
    assert issued["head_hash"] == (await server.engine.record(lot_id))[-1].hash
    status, headers, pdf = await raw(server, issued["pdf"], tokens[1])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf).hexdigest() == issued["document_sha256"]
    assert len(PdfFileReader(io.BytesIO(pdf)).embedded_signatures) == 1

    status, data = await server.call("POST", path + "/sign",
                                     {"document_sha256": issued["document_sha256"]},
                                     token=tokens[0])
    assert status == 403 and data["error"]["code"] == "forbidden"  # a loser
    status, data = await server.call("POST", path + "/sign",
                                     {"document_sha256": "0" * 64}, token=tokens[1])
    assert status == 409 and data["error"]["code"] == "document_changed"
    signed = await server.ok("POST", path + "/sign",
                             {"document_sha256": issued["document_sha256"]}, token=tokens[1])
    assert signed["status"] == "signed" and signed["signed_at"] >= issued["issued_at"]
    seen = await server.ok("GET", path, token=SUPERVISOR_TOKEN)
    assert seen["status"] == "signed"
    records = await server.engine.aggregates.records(KIND, lot_id)
    assert [type(r.event).__name__ for r in records] == ["ConfirmationIssued",
                                                         "ConfirmationSigned"]
    assert records[1].event.actor == server.engine.lot(lot_id).bidders["b2"].bidder_no  # type: ignore[union-attr]


async def test_a_confirmation_is_issued_once_for_an_awarded_lot_by_a_host_only(
        server: Server) -> None:
    failed, _ = await short_lot(server, bids=False)
    status, data = await server.call("POST", f"/api/lots/{failed}/confirmation", {})
    assert status == 409 and data["error"]["code"] == "invalid_state"
    lot_id, tokens = await short_lot(server)
    path = f"/api/lots/{lot_id}/confirmation"
    status, data = await server.call("POST", path, {}, token=SUPERVISOR_TOKEN)
    assert status == 403
    status, data = await server.call("POST", path, {}, token=tokens[1])
    assert status == 403
    await server.ok("POST", path, {}, token=HOST_TOKEN)
    status, data = await server.call("POST", path, {})
    assert status == 409 and data["error"]["code"] == "already_issued"
    status, data = await server.call("GET", path, token=None)
    assert status == 401
    status, headers, _ = await raw(server, path + ".pdf", tokens[0])
    assert status == 403


async def test_after_a_default_the_runner_up_gets_and_signs_its_own_confirmation(
        server: Server) -> None:
    lot_id, tokens = await short_lot(server)  # b2 wins at 110.00, b1 bid 100.00
    path = f"/api/lots/{lot_id}/confirmation"
    await server.ok("POST", path, {})
    await server.ok("POST", f"/api/lots/{lot_id}/default",
                    {"reason": "逾期未签署", "then": "runner_up"})
    second = await server.ok("POST", path, {})
    assert second["amount"] == "100.00" and second["status"] == "issued"
    signed = await server.ok("POST", path + "/sign",
                             {"document_sha256": second["document_sha256"]}, token=tokens[0])
    assert signed["status"] == "signed"
    status, _ = await server.call("GET", path, token=tokens[1])
    assert status == 403  # the winner that defaulted reads it no more
