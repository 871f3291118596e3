"""The barred list checked again at every step of an award, over HTTP on a real server:
a winner listed after its application was approved (pre-qualification, 资格前审) gets no
result notice, no transaction confirmation and no payment notice (409 ``winner_barred``,
recorded on its application with the host and the step), the host then declares a default
and the runner-up, not listed, goes through as before; in a multi-unit lot each winner
is checked and the others' awards go on; a list that cannot be read
answers 503 and changes nothing; the reviewer queue shows the refusal and what to do
next, in both languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_pages import Pages
from playwright.async_api import expect
from records.test_records_api import until_ended
from test_notice_lots_http import BIDDING, eligible_applicant
from test_trade_http import CODE, OTHER, Bidder, Clock, start
from web_support import HOST_TOKEN, SUPERVISOR_TOKEN, Server, ServerFactory

from auction.trade.applications import BarredAtAward
from auction.trade.identity import uscc_check_char


async def awarded(server: Server, clock: Clock, bidders: list[Bidder],
                  lot_id: str) -> tuple[str, str]:
    """Both accounts approved and paid; the lot opens at its bidding time, OTHER bids
    100.00, CODE 110.00, and the lot is awarded to CODE: (CODE's, OTHER's) application ids,
    which are their bidder ids on the lot."""
    winner = await eligible_applicant(server, bidders, CODE, lot_id)
    runner_up = await eligible_applicant(server, bidders, OTHER, lot_id)
    clock.now = BIDDING
    await server.ok("POST", f"/api/lots/{lot_id}/start", {})
    for bidder_id, price in ((runner_up, "100.00"), (winner, "110.00")):
        token = (await server.ok("POST", f"/api/lots/{lot_id}/bidders/{bidder_id}/token",
                                 {}))["token"]
        room = await server.connect()
        await room.subscribe(lot_id, token, device=f"fp-{bidder_id}")
        assert (await room.bid(lot_id, price, ref=bidder_id))["type"] == "ack"
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.closes_at is not None
    clock.now = lot.closes_at + 1
    server.engine.fire_soon(lot_id)
    await until_ended(server, lot_id)
    lot = server.engine.lot(lot_id)
    assert lot is not None and lot.outcome is not None and lot.outcome.bidder_id == winner
    return winner, runner_up


async def awarded_on_a_list(make_server: ServerFactory, tmp_path: Path,
                            bidders: list[Bidder], listed: str = "# none yet\n",
                            lot: dict[str, Any] | None = None
                            ) -> tuple[Path, Server, str, tuple[str, str]]:
    """A server reading the barred list ``listed`` (a CSV file in ``tmp_path``) whose lot
    (``lot``: its parameters) is awarded as :func:`awarded` says: the list's path, the
    server, the lot and (winner, runner-up)."""
    barred = tmp_path / "barred.csv"
    barred.write_text(listed, encoding="utf-8")
    server, clock, lot_id, _ = await start(make_server, tmp_path, lot,
                                           barred_parties_file=barred)
    return barred, server, lot_id, await awarded(server, clock, bidders, lot_id)


async def test_a_winner_barred_after_its_approval_gets_no_notice_confirmation_or_payment(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    barred, server, lot_id, (winner, runner_up) = await awarded_on_a_list(
        make_server, tmp_path, bidders)
    barred.write_text(f"code,name\n{CODE},失信被执行人\n", encoding="utf-8")

    for path, body, step in (("notice", {"trade_kind": "other"}, "result_notice"),
                             ("confirmation", {}, "confirmation"),
                             ("payment", {}, "payment")):
        status, error = await server.call("POST", f"/api/lots/{lot_id}/{path}", body)
        assert status == 409 and error["error"]["code"] == "winner_barred", (path, error)
        assert "禁止参与名单" in error["error"]["message"]["zh"]
        assert "barred parties list" in error["error"]["message"]["en"]
        seen = await server.ok("GET", f"/api/applications/{winner}")
        assert seen["barred"] and seen["barred_at_award"] == step
    notice = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=SUPERVISOR_TOKEN)
    assert not notice["published"]
    confirmation = await server.ok("GET", f"/api/lots/{lot_id}/confirmation",
                                   token=SUPERVISOR_TOKEN)
    assert confirmation["status"] != "issued"
    records = await server.engine.aggregates.records("application", winner)
    refusals = [r.event for r in records if isinstance(r.event, BarredAtAward)]
    assert [(e.step, e.actor) for e in refusals] == [
        ("result_notice", "alice"), ("confirmation", "alice"), ("payment", "alice")]
    assert all("barred parties list" in e.reason for e in refusals)

    # What staff do next: the winner defaults and the runner-up, not listed, goes through.
    await server.ok("POST", f"/api/lots/{lot_id}/default",
                    {"reason": "竞得人列入失信被执行人名单", "then": "runner_up"})
    issued = await server.ok("POST", f"/api/lots/{lot_id}/confirmation", {})
    assert issued["status"] == "issued" and issued["amount"] == "100.00"
    lot = server.engine.lot(lot_id)
    assert lot is not None and issued["bidder_no"] == lot.bidders[runner_up].bidder_no
    published = await server.ok("POST", f"/api/lots/{lot_id}/notice", {"trade_kind": "other"})
    assert published["published"]
    other = await server.ok("GET", f"/api/applications/{runner_up}")
    assert not other["barred"] and other["barred_at_award"] == ""


async def test_a_winner_not_on_the_list_gets_its_notice_confirmation_and_payment_unchanged(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    listed = "91110000MA0000001" + uscc_check_char("91110000MA0000001")
    _, server, lot_id, (winner, _) = await awarded_on_a_list(  # somebody else is listed
        make_server, tmp_path, bidders, f"{listed}\n")
    published = await server.ok("POST", f"/api/lots/{lot_id}/notice", {"trade_kind": "other"})
    assert published["published"]
    issued = await server.ok("POST", f"/api/lots/{lot_id}/confirmation", {})
    assert issued["status"] == "issued" and issued["amount"] == "110.00"
    payment = await server.ok("POST", f"/api/lots/{lot_id}/payment", {})
    assert payment["amount"] == "60.00"  # 110.00 less the deposit of 50.00
    seen = await server.ok("GET", f"/api/applications/{winner}")
    assert not seen["barred"] and seen["barred_at_award"] == ""
    records = await server.engine.aggregates.records("application", winner)
    assert not [r for r in records if isinstance(r.event, BarredAtAward)]


async def test_in_a_multi_unit_lot_each_winner_is_checked_and_the_others_awards_go_on(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    barred, server, lot_id, (winner, second) = await awarded_on_a_list(  # a unit each
        make_server, tmp_path, bidders, lot={"units": 2})
    barred.write_text(f"{CODE}\n", encoding="utf-8")
    lot = server.engine.lot(lot_id)
    assert lot is not None
    listed_no, other_no = lot.bidders[winner].bidder_no, lot.bidders[second].bidder_no
    status, error = await server.call("POST", f"/api/lots/{lot_id}/notice",
                                      {"trade_kind": "other"})
    assert status == 409 and error["error"]["code"] == "winner_barred"
    issued = await server.ok("POST", f"/api/lots/{lot_id}/confirmation",
                             {"bidder_no": other_no})
    assert issued["bidder_no"] == other_no and issued["amount"] == "100.00"
    paid = await server.ok("POST", f"/api/lots/{lot_id}/payment", {"bidder_no": other_no})
    assert paid["amount"] == "50.00"
    for path, body in (("confirmation", {}), ("confirmation", {"bidder_no": listed_no}),
                       ("payment", {"bidder_no": listed_no})):
        status, error = await server.call("POST", f"/api/lots/{lot_id}/{path}", body)
        assert status == 409 and error["error"]["code"] == "winner_barred", (path, body)
    assert (await server.ok("GET", f"/api/applications/{second}"))["barred_at_award"] == ""


async def test_an_unreadable_barred_list_answers_503_and_changes_nothing(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder]) -> None:
    barred, server, lot_id, (winner, _) = await awarded_on_a_list(make_server, tmp_path,
                                                                  bidders)
    barred.unlink()
    for path, body in (("notice", {"trade_kind": "other"}), ("confirmation", {}),
                       ("payment", {})):
        status, error = await server.call("POST", f"/api/lots/{lot_id}/{path}", body)
        assert status == 503 and error["error"]["code"] == "unavailable", (path, error)
    records = await server.engine.aggregates.records("application", winner)
    assert not [r for r in records if isinstance(r.event, BarredAtAward)]
    notice = await server.ok("GET", f"/api/lots/{lot_id}/notice", token=SUPERVISOR_TOKEN)
    assert not notice["published"]
    confirmation = await server.ok("GET", f"/api/lots/{lot_id}/confirmation",
                                   token=SUPERVISOR_TOKEN)
    assert confirmation["status"] != "issued"


@pytest.mark.browser
async def test_the_reviewer_queue_shows_a_winner_refused_at_the_award_and_what_to_do_next(
        make_server: ServerFactory, tmp_path: Path, bidders: list[Bidder],
        pages: Pages) -> None:
    barred, server, lot_id, (winner, runner_up) = await awarded_on_a_list(
        make_server, tmp_path, bidders)
    barred.write_text(f"{CODE}\n", encoding="utf-8")
    status, _ = await server.call("POST", f"/api/lots/{lot_id}/confirmation", {})
    assert status == 409
    reviewer = await pages.open(f"{server.base}/review#token={HOST_TOKEN}")
    await reviewer.select_option("#status", "approved")  # admitted: reviewed before
    await reviewer.click("#refresh")
    refused = reviewer.locator(
        f'#queue .application[data-application-id="{winner}"] .barred-at-award')
    await expect(refused).to_contain_text("成交确认书", timeout=10_000)
    await expect(refused).to_contain_text("认定违约")
    await reviewer.click("#lang-toggle")
    await expect(refused).to_contain_text("transaction confirmation")
    await expect(refused).to_contain_text("declare a default")
    await expect(reviewer.locator(
        f'#queue .application[data-application-id="{runner_up}"] .barred-at-award')
    ).to_have_count(0)
