# ruff: noqa: E501  (the matrix is one table, a row per route, a column per role)
"""The authorisation matrix: every role against every HTTP route of the application and
every WebSocket message type, each cell tested on a real server.

The routes are read from the application's router when the test runs, so a route added
later that is missing from :data:`HTTP_MATRIX` fails ``test_every_route_is_in_the_matrix``:
add a row (and, for a route that acts, a way to prepare the lot in :data:`PREPARE`).

Roles (columns, in this order):

* ``public``  - no token at all;
* ``bidder``  - the bidder token of a bidder registered in the lot the route is about;
* ``other``   - a valid bidder token of a bidder of *another* lot;
* ``host``    - a host's staff token (may act);
* ``supervisor`` - a supervisor's staff token (may read everything, act on nothing).

Outcomes: ``public`` / ``bidder`` / ``staff`` (200 with the lot as that audience sees
it), ``ok`` (200, nothing role-specific in the answer), ``made`` (201: the host's action
took effect), ``done`` (200: the host's action took effect), ``page`` (200 text/html),
``login`` (401 ``login_failed``: a login that does not hold),
``401`` (``unauthorized``: no or unknown credentials), ``403`` (``forbidden``: the
credentials are known and do not allow it), ``signed`` (401 ``bad_signature``: only the
bank's signature opens the route, no token does), ``409`` (the credentials allow it, the
state does not: here, confirming a refund never exported), ``101`` (the WebSocket upgrade: roles are
given per subscription, see :data:`WS_MATRIX`), ``metrics`` (200, Prometheus's text
format). Every refused cell also checks that nothing changed.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from web_support import (
    DEFAULT_PARAMS,
    HOST_TOKEN,
    SUPERVISOR_TOKEN,
    Client,
    Server,
    ServerFactory,
)

from auction.model import PlaceBid
from auction.trade import deposits_bank as bank
from auction.trade.accounts import RegisterAccount, account_id
from auction.trade.applications import AttachDocument, SubmitApplication, application_id
from auction.trade.identity import uscc_check_char
from auction.trade.notices import AskQuestion, PublishNotice, terms_of
from auction.trade.outbox import DELIVERIES, RecordAttempt
from web.app import create_app
from web.config import Settings
from web.keys import TRADE
from web.schemas import MESSAGE_TYPES
from web.trade import deposit_arrived
from web.webhooks import emit

ROLES = ("public", "bidder", "other", "host", "supervisor")
DAY = 86_400_000
CODE = "91350100M000100Y43"
_CODES = itertools.count(1)


#: An answer of no authenticator to no challenge.
PASSKEY_ANSWER = {"id": "eA", "rawId": "eA", "type": "public-key",
                  "response": {"clientDataJSON": "e30", "authenticatorData": "",
                               "signature": "", "userHandle": ""}}


def fresh_code() -> str:
    """A new valid unified social credit code."""
    first = f"9135010000{next(_CODES):07d}"
    return first + uscc_check_char(first)

# fmt: off
HTTP_MATRIX: dict[tuple[str, str], tuple[str, str, str, str, str]] = {
    #  method, route                                    public    bidder    other     host      supervisor
    ("GET",  "/healthz"):                               ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/readyz"):                                ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/openapi.json"):                      ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/asyncapi.json"):                     ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/errors.json"):                       ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/time"):                              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/.well-known/auction-receipt-key"):       ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/sessions"):                          ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/sessions"):                          ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots"):                              ("public", "public", "public", "staff",  "staff"),
    ("POST", "/api/lots"):                              ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots/{lot_id}"):                     ("public", "bidder", "public", "staff",  "staff"),
    ("GET",  "/api/lots/{lot_id}/bids"):                ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/events"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/bidders"):             ("401",    "403",    "403",    "made",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/token"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/revoke"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/schedule"):            ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/start"):               ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/pause"):               ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/resume"):              ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/extend"):              ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/cancel"):              ("401",    "403",    "403",    "done",   "403"),
    # messages in the room: hosts announce and answer; the lot's bidders ask
    ("POST", "/api/lots/{lot_id}/announce"):            ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/questions"):           ("401",    "done",   "403",    "403",    "403"),
    # a reserve entered late: a host enters it, a supervisor (another person) approves it
    ("POST", "/api/lots/{lot_id}/reserve"):             ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/reserve/approve"):     ("401",    "403",    "403",    "403",    "done"),
    ("POST", "/api/lots/{lot_id}/questions/{seq}/answer"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    # the record (web/records.py): results are public once a lot has ended; reports,
    # exports, deposits and collusion checks are for staff; deposits are settled by hosts
    ("GET",  "/api/lots/{lot_id}/result"):              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/ocds"):                ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/ocds"):                              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/report"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/export"):              ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/deposits"):            ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/refund"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/forfeit"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/apply"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("GET",  "/api/lots/{lot_id}/collusion"):           ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/collusion"):                         ("401",    "403",    "403",    "ok",     "ok"),
    # the trade (web/trade.py): notices are public, published and answered by hosts;
    # account routes need the account's session cookie (no token is one), so every role
    # here is refused them; the reviewer queue and its actions are for staff
    ("GET",  "/api/notices"):                           ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/notices"):                           ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/notices/{notice_id}"):               ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/notices/{notice_id}/amend"):         ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/notices/{notice_id}/withdraw"):      ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/notices/{notice_id}/questions"):     ("401",    "401",    "401",    "401",    "401"),
    ("POST", "/api/notices/{notice_id}/questions/{no}/answer"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/accounts"):                          ("made",   "made",   "made",   "made",   "made"),
    ("POST", "/api/account/login"):                     ("login",  "login",  "login",  "login",  "login"),
    ("POST", "/api/account/logout"):                    ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("GET",  "/api/account"):                           ("401",    "401",    "401",    "401",    "401"),
    # passkeys: added by a signed-in account only; anyone may ask to log in with one
    ("POST", "/api/account/passkeys/options"):          ("401",    "401",    "401",    "401",    "401"),
    ("POST", "/api/account/passkeys"):                  ("401",    "401",    "401",    "401",    "401"),
    ("POST", "/api/account/passkey-login/options"):     ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/account/passkey-login"):             ("passkey", "passkey", "passkey", "passkey", "passkey"),
    ("POST", "/api/lots/{lot_id}/applications"):        ("401",    "401",    "401",    "401",    "401"),
    ("GET",  "/api/applications"):                      ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/applications/{application_id}"):     ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/applications/{application_id}/documents"):
                                                        ("401",    "401",    "401",    "401",    "401"),
    ("GET",  "/api/applications/{application_id}/documents/{sha256}"):
                                                        ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/applications/{application_id}/review"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/applications/{application_id}/winner-review"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/applications/{application_id}/deposit"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/applications/{application_id}/withdraw"):
                                                        ("401",    "401",    "401",    "401",    "401"),
    # the bank path (web/bank.py): notifications open with the bank's signature only,
    # whatever token comes with them; the ledger is for staff, acting on it for hosts; a
    # bidder reads its own deposit instructions
    ("POST", "/api/bank/notifications"):                ("signed", "signed", "signed", "signed", "signed"),
    ("POST", "/api/bank/statements"):                   ("401",    "403",    "403",    "done",   "403"),
    ("GET",  "/api/bank/ledger"):                       ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/bank/refunds/export"):               ("401",    "403",    "403",    "ok",     "403"),
    ("POST", "/api/bank/refunds/confirmations"):        ("401",    "403",    "403",    "409",    "403"),
    ("POST", "/api/bank/refunds/confirmations/file"):   ("401",    "403",    "403",    "409",    "403"),
    ("GET",  "/api/bank/refunds/batches/{batch_id}"):   ("401",    "403",    "403",    "404",    "404"),
    ("GET",  "/api/lots/{lot_id}/deposit"):             ("401",    "ok",     "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/payment"):             ("401",    "403",    "403",    "made",   "403"),
    # after the auction (web/after.py): a host issues the confirmation; staff and the
    # winner (b2; b1 lost) read it; only the winner signs, with its own token
    # the result notice is public once the lot ended; the lot's bidders object; hosts
    # publish it and answer objections
    ("POST", "/api/lots/{lot_id}/notice"):              ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots/{lot_id}/notice"):              ("ok",     "ok",     "ok",     "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/objections"):          ("401",    "made",   "403",    "403",    "403"),
    ("POST", "/api/lots/{lot_id}/objections/{objection_id}/answer"):
                                                        ("401",    "403",    "403",    "done",   "403"),
    # a winner's default is declared by hosts
    ("POST", "/api/lots/{lot_id}/default"):             ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/award"):               ("401",    "403",    "403",    "done",   "403"),
    # the national feed names the winner: staff only
    ("GET",  "/api/lots/{lot_id}/national"):            ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/national"):                          ("401",    "403",    "403",    "ok",     "ok"),
    # webhooks: the delivery log is for staff, a resend for hosts
    ("GET",  "/api/webhooks"):                          ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/webhooks/{delivery_id}/resend"):     ("401",    "403",    "403",    "done",   "403"),
    ("POST", "/api/lots/{lot_id}/confirmation"):        ("401",    "403",    "403",    "made",   "403"),
    ("GET",  "/api/lots/{lot_id}/confirmation"):        ("401",    "403",    "403",    "ok",     "ok"),
    ("GET",  "/api/lots/{lot_id}/confirmation.pdf"):    ("401",    "403",    "403",    "ok",     "ok"),
    ("POST", "/api/lots/{lot_id}/confirmation/sign"):   ("401",    "403",    "403",    "403",    "403"),
    ("GET",  "/ws"):                                    ("101",    "101",    "101",    "101",    "101"),
    # operators: staff tokens, or the networks of metrics_allow (none here)
    ("GET",  "/metrics"):                               ("401",    "403",    "403",    "metrics", "metrics"),
    ("GET",  "/"):                                      ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/room/{lot_id}"):                         ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/host"):                                  ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/board/{lot_id}"):                        ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/result/{lot_id}"):                       ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/report/{lot_id}"):                       ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/supervisor"):                            ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/notices"):                               ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/notice/{notice_id}"):                    ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/portal"):                                ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/review"):                                ("page",   "page",   "page",   "page",   "page"),
    ("GET",  "/static"):                                ("ok",     "ok",     "ok",     "ok",     "ok"),
}

#: A public key to enrol (ECDSA P-256, base64 SubjectPublicKeyInfo).
ENROL_KEY = base64.b64encode(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

#: Every WebSocket message type, sent about lot A after subscribing to it with the role's
#: token (``other`` subscribes with its token of lot B, which is refused).
WS_MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    #  message        public                bidder               other                  host                  supervisor
    "subscribe":   ("subscribed public",  "subscribed bidder", "error bad_token",     "subscribed host",    "subscribed supervisor"),
    "bid":         ("rejected forbidden", "ack",               "rejected forbidden",  "rejected forbidden", "rejected forbidden"),
    "act":         ("rejected forbidden", "rejected not_supported", "rejected forbidden", "rejected forbidden", "rejected forbidden"),
    "enrol":       ("rejected forbidden", "rejected not_supported", "rejected forbidden", "rejected forbidden", "rejected forbidden"),
    "unsubscribe": ("unsubscribed",       "unsubscribed",      "error not_subscribed", "unsubscribed",      "unsubscribed"),
    "ping":        ("pong",               "pong",              "pong",                "pong",               "pong"),
}
# fmt: on

#: The state lot A must be in for the host's action on a route to succeed (default: open).
PREPARE: dict[tuple[str, str], str] = {
    ("POST", "/api/lots/{lot_id}/schedule"): "draft",
    ("POST", "/api/lots/{lot_id}/start"): "scheduled",
    ("POST", "/api/lots/{lot_id}/resume"): "paused",
    ("POST", "/api/lots/{lot_id}/questions/{seq}/answer"): "asked",
    ("POST", "/api/lots/{lot_id}/reserve"): "witnessed",
    ("POST", "/api/lots/{lot_id}/reserve/approve"): "entered",
    ("GET", "/api/lots/{lot_id}/result"): "cancelled",
    ("GET", "/api/lots/{lot_id}/ocds"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/refund"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/forfeit"): "cancelled",
    ("POST", "/api/lots/{lot_id}/bidders/{bidder_id}/deposit/apply"): "awarded",
    # the applicant is admitted to lot A (registration is before the lot opens)
    ("POST", "/api/applications/{application_id}/winner-review"): "draft",
    ("POST", "/api/lots/{lot_id}/payment"): "awarded",
    ("POST", "/api/lots/{lot_id}/confirmation"): "awarded",
    ("POST", "/api/lots/{lot_id}/notice"): "awarded",
    ("GET", "/api/lots/{lot_id}/national"): "awarded",
    ("POST", "/api/lots/{lot_id}/default"): "awarded",
    ("POST", "/api/lots/{lot_id}/award"): "awarded",
    ("POST", "/api/webhooks/{delivery_id}/resend"): "posted",
    ("GET", "/api/lots/{lot_id}/notice"): "awarded",
    ("POST", "/api/lots/{lot_id}/objections"): "awarded",
    ("POST", "/api/lots/{lot_id}/objections/{objection_id}/answer"): "objected",
    ("GET", "/api/lots/{lot_id}/confirmation"): "issued",
    ("GET", "/api/lots/{lot_id}/confirmation.pdf"): "issued",
    ("POST", "/api/lots/{lot_id}/confirmation/sign"): "issued",
}
#: The aggregates (engine.aggregates) of the trade after the auction a route may change.
TRADE_KINDS = ("confirmation", "result_notice", "webhook")
#: The bidder a route is about (default b1; b2 leads lot A once it is open).
BIDDER_OF: dict[str, str] = {"/revoke": "b2", "/deposit/apply": "b2"}


def app_routes() -> set[tuple[str, str]]:
    """Every (method, route) the application serves, HEAD aside."""
    app = create_app(Settings(), engine=_NoEngine())
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None and r.method != "HEAD"}


class _NoEngine:
    """Enough of an engine to build the application's router (never started)."""


def test_every_route_is_in_the_matrix() -> None:
    routes = app_routes()
    missing = sorted(routes - set(HTTP_MATRIX))
    assert not missing, (f"routes without a row in HTTP_MATRIX of {__file__}: {missing}; "
                         "add one with the expected outcome for every role")


def test_every_websocket_message_type_is_in_the_matrix() -> None:
    assert set(WS_MATRIX) == set(MESSAGE_TYPES)


def documented(table: str) -> dict[str, tuple[str, ...]]:
    """The rows of a table of docs/security.md between ``<!-- matrix:NAME -->`` marks."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    body = text.split(f"<!-- matrix:{table} -->")[1].split(f"<!-- /matrix:{table} -->")[0]
    rows = [line.strip().strip("|").split("|") for line in body.strip().splitlines()[2:]]
    return {cells[0].strip().strip("`"): tuple(c.strip() for c in cells[1:]) for cells in rows}


def test_docs_list_the_same_matrix() -> None:
    assert documented("http") == {f"{m} {r}": cells for (m, r), cells in HTTP_MATRIX.items()}
    assert documented("ws") == WS_MATRIX


# ------------------------------------------------------------------------ the world


@pytest.fixture
async def server(make_server: ServerFactory) -> Server:
    """A server whose bank notifications are configured: their row shows that only the
    bank's signature opens them, whatever token comes along."""
    return await make_server(bank_secret=b"bank-secret-of-the-matrix-01")


@dataclass
class World:
    """Lot A (the lot the routes are about, with bidders b1 and b2) and lot B (another
    lot, with its bidder x1), a notice of lot A with a question, an application for lot
    A with a document, and a token for every role."""

    server: Server
    lot: str
    other_lot: str
    tokens: dict[str, str | None]
    notice: str = ""
    application: str = ""
    document: str = ""

    async def fingerprint(self) -> tuple[Any, ...]:
        engine = self.server.engine
        aggregates = engine.aggregates
        trade = []
        for kind in ("notice", "account", "application", *TRADE_KINDS):
            for aggregate_id in await aggregates.ids(kind):
                trade.append((kind, aggregate_id,
                              len(await aggregates.records(kind, aggregate_id))))
        return (tuple(s.session_id for s in engine.sessions()),
                tuple((lot_id, engine.lot(lot_id).version)  # type: ignore[union-attr]
                      for lot_id in engine.lot_ids()), tuple(trade),
                len(await engine.aggregates.records(bank.KIND, bank.LEDGER_ID)))


def notice_body(lot: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"title": "公告", "kind": "other", "apply_from": now - DAY,
            "apply_until": now + 20 * DAY, "deposit_until": now + 20 * DAY,
            "bidding_at": now + 25 * DAY, "terms": "竞买须知", "lot_ids": [lot]}


async def make_trade(world: World, *, admitted: bool) -> None:
    """A notice of lot A (lot A left as it is) with a question, and an account's
    application for lot A with a document (``admitted``: without pre-qualification, deposit counted, admitted)."""
    server = world.server
    trade = server.app[TRADE]
    aggregates = server.engine.aggregates
    # Published as a record of the notice's stream, not through its route: the route
    # would schedule lot A at the bidding time, and the world's lot keeps its state.
    notice = {**notice_body(world.lot), "prequalification": not admitted}
    world.notice = "N-AUTHZ"
    await aggregates.execute(trade.notices, world.notice, PublishNotice(terms_of(
        {**notice, "documents": [], "consortium": False}), "alice"))
    account = account_id("organisation", CODE)
    await aggregates.execute(trade.accounts, account, RegisterAccount(
        party="organisation", name="申请人", code=CODE, contact={"phone": "13800000000"},
        password_hash="", totp_salt="s"))
    await aggregates.execute(trade.notices, world.notice, AskQuestion(account, "问题"))
    world.application = application_id(world.lot, account)
    await aggregates.execute(trade.applications, world.application, SubmitApplication(
        notice_id=world.notice, lot_id=world.lot, name="申请人", contact={},
        accept_terms=True, apply_from=notice["apply_from"],
        apply_until=notice["apply_until"], deposit_required=5000,
        prequalification=not admitted, consortium_allowed=False, actor=account))
    world.document = await trade.store.put(b"%PDF-1.4 authz")
    await aggregates.execute(trade.applications, world.application, AttachDocument(
        "营业执照", world.document, 14, "application/pdf", account))
    if admitted:
        await deposit_arrived(server.app, world.application, 5000, "staff", "alice", "r",
                              "a")


async def make_world(server: Server, state: str, *, admitted: bool = False) -> World:
    issued, objected, posted = state == "issued", state == "objected", state == "posted"
    # a lot whose reserve is entered late, scheduled: nothing entered yet, or a host's
    # entry awaiting a supervisor's approval
    witnessed, entered = state in ("witnessed", "entered"), state == "entered"
    state = ("awarded" if issued or objected else "open" if posted
             else "scheduled" if witnessed else state)
    lot = await server.make_lot(**({"duration_s": 1} if state == "awarded" else {}),
                                **({"reserve_entry": {"before_close_s": 60}}
                                   if witnessed else {}))
    b1 = await server.register(lot, "b1")
    await server.register(lot, "b2")
    other_lot = await server.make_lot()
    x1 = await server.register(other_lot, "x1")
    if state != "draft":
        await server.ok("POST", f"/api/lots/{lot}/schedule", {})
    if entered:
        await server.ok("POST", f"/api/lots/{lot}/reserve", {"amount": "150.00"})
    if state not in ("draft", "scheduled"):
        await server.ok("POST", f"/api/lots/{lot}/start", {})
        placed = await server.engine.execute(lot, PlaceBid(bidder_id="b2", amount=10_000))
        assert isinstance(placed, list)
    if state == "paused":
        await server.ok("POST", f"/api/lots/{lot}/pause", {"reason": "r"})
    if state == "asked":  # open, with b1's question to answer
        await server.ok("POST", f"/api/lots/{lot}/questions", {"kind": "question", "text": "q"},
                        token=b1["token"])
        state = "open"
    if state == "cancelled":
        await server.ok("POST", f"/api/lots/{lot}/cancel", {"reason": "r"})
    async with asyncio.timeout(5):
        while server.engine.read(lot).status != state:  # type: ignore[union-attr]
            await asyncio.sleep(0.02)  # (awarded: the close comes a second after opening)
    if issued:
        await server.ok("POST", f"/api/lots/{lot}/confirmation", {})
    if posted:  # a milestone emitted and posted once: delivery outbox.main.1
        record = await emit(server.engine, "test.milestone", {"n": 1})
        await server.engine.aggregates.execute(DELIVERIES, "outbox.main.1", RecordAttempt(
            key=f"outbox:main:{record.seq}", ok=True, status=200, error=""))
    if objected:  # objection O-1, by b1
        await server.ok("POST", f"/api/lots/{lot}/objections", {"text": "异议"},
                        token=b1["token"])
    tokens = {"public": None, "bidder": b1["token"], "other": x1["token"],
              "host": HOST_TOKEN, "supervisor": SUPERVISOR_TOKEN}
    world = World(server, lot, other_lot, tokens)
    await make_trade(world, admitted=admitted)
    return world


def request_for(world: World, method: str, route: str) -> tuple[str, Any]:
    """The concrete path and body of ``route`` for the host's action to succeed."""
    state = world.server.engine.lot(world.lot)
    assert state is not None
    bidder = next((b for end, b in BIDDER_OF.items() if route.endswith(end)), "b1")
    path = (route.replace("{lot_id}", world.lot).replace("{bidder_id}", bidder)
            .replace("{notice_id}", world.notice).replace("{no}", "1")
            .replace("{application_id}", world.application)
            .replace("{sha256}", world.document)
            .replace("{objection_id}", "O-1").replace("{delivery_id}", "outbox.main.1")
            .replace("{batch_id}", "RF-20250101-NONE"))
    path = path.replace("{seq}", str(max(state.questions, default=0)))
    if route == "/static":
        path = "/static/i18n.js"
    bodies: dict[str, Any] = {
        "/api/sessions": {"name": "n"},
        "/api/lots": {"session_id": world.server.session_id, "title": "t",
                      "format": "english", "params": DEFAULT_PARAMS},
        "/api/lots/{lot_id}/bidders": {"bidder_id": "b3", "name": "n"},
        "/api/lots/{lot_id}/bidders/{bidder_id}/deposit": {"amount": "50.00", "account": "a",
                                                            "reason": "r"},
        "/api/lots/{lot_id}/bidders/{bidder_id}/token": {},
        "/api/lots/{lot_id}/schedule": {},
        "/api/lots/{lot_id}/announce": {"text": "t"},
        "/api/lots/{lot_id}/questions": {"kind": "question", "text": "q"},
        "/api/lots/{lot_id}/questions/{seq}/answer": {"text": "a"},
        "/api/lots/{lot_id}/start": {},
        "/api/lots/{lot_id}/reserve": {"amount": "150.00", "reason": "评估价"},
        "/api/lots/{lot_id}/reserve/approve": {
            "commitment": state.witnessed.commitment if state.witnessed else ""},
        "/api/bank/statements": {"content_base64": base64.b64encode(
            "交易时间,付款账号,付款户名,金额,附言,流水号\n2025-09-23 10:00:00,6222,某公司,"
            "1.00,转账,S-1\n".encode()).decode()},
        "/api/bank/refunds/confirmations": {"confirmations": [
            {"transaction_id": "T-none", "bank_transaction_id": "B-1"}]},
        "/api/bank/refunds/confirmations/file": {"content_base64": base64.b64encode(
            "退款编号,银行流水号,状态\nT-none,B-1,成功\n".encode()).decode()},
        "/api/lots/{lot_id}/confirmation": {},
        "/api/webhooks/{delivery_id}/resend": {"reason": "未收到"},
        "/api/lots/{lot_id}/award": {"reason": "异议成立", "effect": "suspended"},
        "/api/lots/{lot_id}/default": {"reason": "逾期未付款", "then": "relist",
                                       "start_price": "90.00"},
        "/api/lots/{lot_id}/notice": {"trade_kind": "land"},
        "/api/lots/{lot_id}/objections": {"text": "成交价记录有误"},
        "/api/lots/{lot_id}/objections/{objection_id}/answer": {"outcome": "dismissed",
                                                                "reason": "异议不成立"},
        "/api/lots/{lot_id}/confirmation/sign": {"document_sha256": "0" * 64},
        "/api/lots/{lot_id}/extend": {"reason": "r",
                                      "closes_at": (state.closes_at or 0) + 60_000},
        "/api/notices": notice_body(world.lot),
        "/api/notices/{notice_id}/amend": {**notice_body(world.lot), "title": "更正",
                                           "reason": "r"},
        "/api/notices/{notice_id}/questions": {"text": "t"},
        "/api/notices/{notice_id}/questions/{no}/answer": {"text": "t"},
        "/api/accounts": {"party": "organisation", "name": "n", "code": fresh_code(),
                          "contact_person": "c", "phone": "13800000000",
                          "email": "a@example.cn", "password": "Correct-Horse-9"},
        "/api/account/login": {"code": CODE, "password": "wrong", "otp": "000000"},
        "/api/account/logout": {},
        "/api/account/passkeys/options": {},
        "/api/account/passkey-login/options": {},
        "/api/account/passkeys": PASSKEY_ANSWER,
        "/api/account/passkey-login": PASSKEY_ANSWER,
        "/api/lots/{lot_id}/applications": {"accept_terms": True},
        "/api/applications/{application_id}/review": {"approve": True},
        "/api/applications/{application_id}/winner-review": {"approve": True},
        "/api/applications/{application_id}/deposit": {"amount": "50.00", "account": "a",
                                                         "reason": "r"},
    }
    if method == "GET":
        return path, None
    return path, bodies.get(route, {"reason": "r"})


# ------------------------------------------------------------------------ HTTP cells


def _cells() -> list[tuple[str, str]]:
    """The rows of the routes the app serves (a row whose route is gone is not run; a
    mistyped row leaves its route missing, which fails above)."""
    return sorted(set(HTTP_MATRIX) & app_routes())


@pytest.mark.parametrize(("method", "route"), _cells(), ids=[f"{m} {r}" for m, r in _cells()])
async def test_http_route_for_every_role(server: Server, method: str, route: str) -> None:
    expected = dict(zip(ROLES, HTTP_MATRIX[(method, route)], strict=True))
    world = await make_world(server, PREPARE.get((method, route), "open"),
                             admitted=route.endswith("/winner-review"))
    # The host acts last: every other role is refused first, on an unchanged lot.
    for role in sorted(ROLES, key=lambda r: r == "host"):
        await check_http_cell(world, method, route, role, expected[role])


async def check_http_cell(world: World, method: str, route: str, role: str,
                          outcome: str) -> None:
    server, token = world.server, world.tokens[role]
    path, body = request_for(world, method, route)
    where = f"{method} {route} as {role}"
    if outcome == "101":
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
            assert b'"welcome"' in (await ws.recv()).encode(), where
        return
    before = await world.fingerprint()
    hdrs = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.http.request(method, server.base + path, json=body,
                                   headers=hdrs) as resp:
        status, content_type = resp.status, resp.content_type
        data = await resp.json() if content_type == "application/json" else await resp.read()
    if outcome in ("login", "passkey"):  # a login that does not hold: nothing changes
        failed = "login_failed" if outcome == "login" else "passkey_failed"
        assert status == 401 and data["error"]["code"] == failed, (where, data)
        assert await world.fingerprint() == before, where
        return
    if outcome in ("401", "403"):
        assert status == int(outcome), (where, status, data)
        assert data["error"]["code"] == ("unauthorized" if outcome == "401" else "forbidden")
    if outcome in ("401", "403", "signed", "404", "409"):
        code = {"401": "unauthorized", "403": "forbidden", "signed": "bad_signature"}
        assert status == (401 if outcome == "signed" else int(outcome)), (where, status, data)
        assert data["error"]["code"] == code.get(outcome, data["error"]["code"]), where
        assert await world.fingerprint() == before, f"{where}: refused, yet something changed"
        return
    if outcome == "page":
        assert status == 200 and content_type == "text/html", (where, status)
        return
    if outcome == "metrics":
        assert status == 200 and content_type == "text/plain", (where, status)
        assert b"\nauction_lots{" in data, where
        return
    assert status == (201 if outcome == "made" else 200), (where, status, data)
    if outcome in ("made", "done"):
        assert await world.fingerprint() != before or route.endswith("/token"), where
    if outcome in ("public", "bidder", "staff"):
        views = data["lots"] if "lots" in data else [data]
        assert views, where
        for view in views:
            assert ("register" in view) == (outcome == "staff"), where
            assert ("reserve" in view) == (outcome == "staff"), where
            assert ("you" in view) == (outcome == "bidder"), where
        if outcome == "bidder":
            assert data["you"]["bidder_no"] == server.engine.lot(  # type: ignore[union-attr]
                world.lot).bidders["b1"].bidder_no
    if outcome in ("ok", "made", "done") and route.startswith("/api/lots/{lot_id}/b"):
        assert "b1" in str(data) or "b2" in str(data) or "b3" in str(data), where


# ------------------------------------------------------------------------ WebSocket cells


@pytest.mark.parametrize("message", sorted(WS_MATRIX))
async def test_websocket_message_for_every_role(server: Server, message: str) -> None:
    world = await make_world(server, "open")
    for role, outcome in zip(ROLES, WS_MATRIX[message], strict=True):
        client = await server.connect()
        await check_ws_cell(world, client, message, role, outcome)
        await client.close()


async def check_ws_cell(world: World, client: Client, message: str, role: str,
                        outcome: str) -> None:
    server, token = world.server, world.tokens[role]
    where = f"{message} as {role}"
    lot = world.lot
    subscribe: dict[str, Any] = {"type": "subscribe", "lot_id": lot, "after_seq": 0,
                                 "ref": "s"}
    if token is not None:
        subscribe["token"] = token
    await client.send(subscribe)
    first = await client.recv()
    if message == "subscribe":
        await check_subscribe(world, client, first, role, outcome, where)
        return
    if first["type"] == "subscribed":
        await client.next("update")
        if role == "bidder":
            await client.next("you")
    else:  # other: its token is for lot B. It may watch lot B as its bidder, not bid on A.
        assert first["type"] == "error" and first["code"] == "bad_token", where
        await client.subscribe(world.other_lot, token)
    before = await world.fingerprint()
    messages: dict[str, dict[str, Any]] = {
        "bid": {"type": "bid", "lot_id": lot, "amount": "110.00", "ref": "x"},
        "act": {"type": "act", "lot_id": lot, "act": "confirm", "ref": "x"},
        "enrol": {"type": "enrol", "lot_id": lot, "alg": "ecdsa-p256", "key": ENROL_KEY,
                  "ref": "x"},
        "unsubscribe": {"type": "unsubscribe", "lot_id": lot},
        "ping": {"type": "ping", "client_time": 1},
    }
    await client.send(messages[message])
    reply = await client.recv()
    while reply["type"] in ("update", "you"):
        reply = await client.recv()
    kind, _, code = outcome.partition(" ")
    assert reply["type"] == kind, (where, reply)
    if code:
        assert reply["code"] == code, (where, reply)
    if outcome == "ack":
        assert await world.fingerprint() != before
        if message == "bid":
            assert server.engine.lot(lot).leader == "b1"  # type: ignore[union-attr]
        assert server.engine.lot(lot).leader == "b1"  # type: ignore[union-attr]
    else:
        assert await world.fingerprint() == before, f"{where}: changed the lot"


async def check_subscribe(world: World, client: Client, first: dict[str, Any], role: str,
                          outcome: str, where: str) -> None:
    kind, _, detail = outcome.partition(" ")
    assert first["type"] == kind, (where, first)
    if kind == "error":
        assert first["code"] == detail and "another lot" in first["detail"], where
        await client.quiet(0.1)  # and no update of lot A follows
        return
    assert first["role"] == detail, where
    update = await client.next("update")
    state = update["state"]
    assert ("register" in state) == (detail in ("host", "supervisor")), where
    assert "reserve" not in state or detail in ("host", "supervisor"), where
    if detail == "bidder":
        you = await client.next("you")
        assert you["you"]["bidder_no"] == first["bidder_no"], where
    else:
        assert first["bidder_no"] is None, where
    names = [e.get("name") for e in update["events"] if e["type"] == "BidderRegistered"]
    if detail in ("public", "bidder"):
        assert names == [None, None], f"{where}: identities leaked"
    else:
        assert names == ["Company b1", "Company b2"], where
