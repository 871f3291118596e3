"""Every route of the application in one table, :data:`ROUTES`: method, path, handler, and
for a JSON route the struct of its request body and the type of its answer (from
:mod:`web.schemas`). The router is built from it (:func:`add_routes`), the handlers read
their bodies through it (:func:`web.api.read_body`) and the OpenAPI document is made from
it (:data:`OPENAPI`).

The routes under ``/api/`` form one sub-application, mounted at ``/api``; its handlers
read the shared objects through ``request.config_dict`` (:mod:`web.keys`). The handler
modules do not know each other's routes: :mod:`web.records` uses :mod:`web.api`'s
helpers, :mod:`web.api` imports neither this module nor :mod:`web.records`.
"""

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web

from web import after, api, bank, passkeys, records, trade, webhooks
from web.asyncapi import ASYNCAPI
from web.errors import WebError
from web.keys import BODIES, SETTINGS
from web.metrics import metrics_handler
from web.openapi import PARAMS_NAMES, document
from web.schemas import (
    AccountCreated,
    AccountPage,
    ActionResult,
    Announcement,
    Answer,
    AnswerObjectionBody,
    Applications,
    ApplicationView,
    Apply,
    ApproveReserveBody,
    Asked,
    AskHostBody,
    BankNotification,
    BidderPass,
    Bids,
    ChangeAwardBody,
    Collusion,
    ConfirmationView,
    ConfirmDeposit,
    CreateLot,
    CreateSession,
    DefaultBody,
    Document,
    Empty,
    Events,
    Export,
    Extend,
    Health,
    IssueConfirmationBody,
    LoggedIn,
    Login,
    LotCollusion,
    Lots,
    LotView,
    Message,
    NewAccount,
    NewNotice,
    NoticeAmendment,
    Notices,
    NoticeView,
    NotificationResult,
    ObjectionBody,
    OptionalReasonBody,
    PasskeyAnswer,
    Passkeys,
    PaymentBody,
    PublishNoticeBody,
    Question,
    Readiness,
    ReceiptKey,
    RefundConfirmations,
    RefundsConfirmed,
    RegisterBidder,
    ReserveBody,
    ResultNoticeView,
    Resume,
    Review,
    ServerTime,
    Session,
    Sessions,
    SignConfirmationBody,
    StaffDeposit,
    StatementImport,
    StatementResult,
    Suspend,
    WithReason,
)
from web.ws import websocket_handler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Route(NamedTuple):
    """One route. A JSON route has its ``answer`` (the successful answer's type) and
    ``body`` (the request body's struct; None: the route reads none); any other route
    says in ``serves`` what it answers instead."""

    method: str
    path: str
    handler: Handler
    body: Any = None
    answer: Any = None
    serves: str | None = None


#: The prefix of the API's sub-application.
API = "/api"
#: Where the pages' files are served from (``Settings.static_dir``, when installed).
STATIC = "/static/"
#: Routes of the pages and the file under ``Settings.static_dir`` each serves.
PAGES = {"/": "index.html", "/room/{lot_id}": "room.html", "/host": "host.html",
         "/board/{lot_id}": "board.html", "/result/{lot_id}": "result.html",
         "/report/{lot_id}": "report.html", "/supervisor": "supervisor.html",
         "/notices": "notices.html", "/notice/{notice_id}": "notice.html",
         "/portal": "portal.html", "/review": "review.html"}
_PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _page(filename: str) -> Handler:
    async def page(request: web.Request) -> web.FileResponse:
        path = request.app[SETTINGS].static_dir / filename
        if not path.is_file():
            raise WebError(404, "not_found", f"page {filename} is not installed")
        return web.FileResponse(path, headers=_PAGE_HEADERS)

    page.__name__ = f"page_{filename.split('.')[0]}"
    return page


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document of :data:`JSON_ROUTES`."""
    return api.json_response(OPENAPI)


async def asyncapi(request: web.Request) -> web.Response:
    """The AsyncAPI document of the WebSocket protocol."""
    return api.json_response(ASYNCAPI)


_LOT = "/api/lots/{lot_id}"
_BIDDER = _LOT + "/bidders/{bidder_id}"
_NOTICE = "/api/notices/{notice_id}"
_APPLICATION = "/api/applications/{application_id}"

#: Every route of the application (``GET`` routes answer ``HEAD`` too), static files
#: aside (:data:`STATIC`).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", api.healthz, None, Health),
    Route("GET", "/readyz", api.readyz, None, Readiness),
    Route("GET", "/api/openapi.json", openapi, None, Document),
    Route("GET", "/api/asyncapi.json", asyncapi, None, Document),
    Route("GET", "/api/errors.json", api.error_catalogue, None, dict[str, Message]),
    Route("GET", "/api/time", api.server_time, None, ServerTime),
    Route("GET", "/.well-known/auction-receipt-key", api.receipt_key, None, ReceiptKey),
    Route("GET", "/api/sessions", api.list_sessions, None, Sessions),
    Route("POST", "/api/sessions", api.create_session, CreateSession, Session),
    Route("GET", "/api/lots", api.list_lots, None, Lots),
    Route("POST", "/api/lots", api.create_lot, CreateLot, LotView),
    Route("GET", _LOT, api.get_lot, None, LotView),
    Route("GET", _LOT + "/bids", api.list_bids, None, Bids),
    Route("GET", _LOT + "/events", api.list_events, None, Events),
    Route("POST", _LOT + "/bidders", api.register_bidder, RegisterBidder, BidderPass),
    Route("POST", _BIDDER + "/deposit", api.confirm_deposit, ConfirmDeposit, ActionResult),
    Route("POST", _BIDDER + "/token", api.reissue_token, Empty, BidderPass),
    Route("POST", _BIDDER + "/revoke", api.revoke_tokens, WithReason, ActionResult),
    Route("POST", _LOT + "/announce", api.announce, Announcement, ActionResult),
    Route("POST", _LOT + "/reserve", api.enter_reserve, ReserveBody, ActionResult),
    Route("POST", _LOT + "/reserve/approve", api.approve_reserve, ApproveReserveBody,
          ActionResult),
    Route("POST", _LOT + "/questions", api.ask_host, AskHostBody, Asked),
    Route("POST", _LOT + "/questions/{seq}/answer", api.answer_question, Answer, ActionResult),
    *(Route("POST", f"{_LOT}/{kind}", api.lot_action(kind),
            OptionalReasonBody if kind in ("schedule", "start")
            else Extend if kind == "extend" else Resume if kind == "resume" else Suspend,
            ActionResult)
      for kind in api.ACTIONS),
    # the record (web/records.py)
    Route("GET", _LOT + "/result", records.lot_result, None, Document),
    Route("GET", _LOT + "/ocds", records.lot_ocds, None, Document),
    Route("GET", "/api/ocds", records.all_ocds, None, Document),
    Route("GET", _LOT + "/report", records.lot_report, None, Document),
    Route("GET", _LOT + "/export", records.lot_export, None, Export),
    Route("GET", _LOT + "/deposits", records.lot_deposits, None, Document),
    *(Route("POST", f"{_BIDDER}/deposit/{action}", records.settle(action), WithReason,
            ActionResult) for action in records.SETTLE),
    Route("GET", _LOT + "/collusion", records.lot_collusion, None, LotCollusion),
    Route("GET", "/api/collusion", records.all_collusion, None, Collusion),
    # the trade around a lot (web/trade.py, docs/trade.md)
    Route("GET", "/api/notices", trade.list_notices, None, Notices),
    Route("POST", "/api/notices", trade.publish_notice, NewNotice, NoticeView),
    Route("GET", _NOTICE, trade.get_notice, None, NoticeView),
    Route("POST", _NOTICE + "/amend", trade.amend_notice, NoticeAmendment, NoticeView),
    Route("POST", _NOTICE + "/withdraw", trade.withdraw_notice, WithReason, NoticeView),
    Route("POST", _NOTICE + "/questions", trade.ask_question, Question, NoticeView),
    Route("POST", _NOTICE + "/questions/{no}/answer", trade.answer_question, Question,
          NoticeView),
    Route("POST", "/api/accounts", trade.register_account, NewAccount, AccountCreated),
    Route("POST", "/api/account/login", trade.login, Login, LoggedIn),
    Route("POST", "/api/account/logout", trade.logout, Empty, Document),
    Route("GET", "/api/account", trade.account_page, None, AccountPage),
    Route("POST", "/api/account/passkeys/options", passkeys.registration_options, Empty,
          Document),
    Route("POST", "/api/account/passkeys", passkeys.add_passkey, PasskeyAnswer, Passkeys),
    Route("POST", "/api/account/passkey-login/options", passkeys.login_options, Empty,
          Document),
    Route("POST", "/api/account/passkey-login", passkeys.login, PasskeyAnswer, LoggedIn),
    Route("POST", _LOT + "/applications", trade.apply, Apply, ApplicationView),
    Route("GET", "/api/applications", trade.list_applications, None, Applications),
    Route("GET", _APPLICATION, trade.get_application, None, ApplicationView),
    Route("POST", _APPLICATION + "/documents", trade.upload_document, None, ApplicationView),
    Route("GET", _APPLICATION + "/documents/{sha256}", trade.get_document,
          serves="the document's bytes (staff, or the applicant's account)"),
    Route("POST", _APPLICATION + "/review", trade.review_application, Review,
          ApplicationView),
    Route("POST", _APPLICATION + "/winner-review", trade.review_winner, Review,
          ApplicationView),
    Route("POST", _APPLICATION + "/deposit", trade.confirm_application_deposit, StaffDeposit,
          ApplicationView),
    Route("POST", _APPLICATION + "/withdraw", trade.withdraw_application, WithReason,
          ApplicationView),
    # deposits and payments through the bank (web/bank.py, docs/bank.md)
    Route("POST", "/api/bank/notifications", bank.bank_notification, BankNotification,
          NotificationResult),
    Route("POST", "/api/bank/statements", bank.import_statement, StatementImport,
          StatementResult),
    Route("GET", "/api/bank/ledger", bank.bank_ledger, None, Document),
    Route("POST", "/api/bank/refunds/confirmations", bank.confirm_refunds, RefundConfirmations,
          RefundsConfirmed),
    Route("POST", "/api/bank/refunds/confirmations/file", bank.confirm_refunds_file,
          StatementImport, RefundsConfirmed),
    Route("GET", _LOT + "/deposit", bank.lot_deposit, None, Document),
    Route("POST", _LOT + "/payment", bank.payment_notice, PaymentBody, Document),
    # after the auction (web/after.py)
    Route("POST", _LOT + "/notice", after.publish, PublishNoticeBody, ResultNoticeView),
    Route("GET", _LOT + "/notice", after.get_notice, None, ResultNoticeView),
    Route("POST", _LOT + "/objections", after.file_objection, ObjectionBody, ResultNoticeView),
    Route("POST", _LOT + "/objections/{objection_id}/answer", after.answer_objection,
          AnswerObjectionBody, ResultNoticeView),
    Route("POST", _LOT + "/default", after.declare_default, DefaultBody, ActionResult),
    Route("POST", _LOT + "/award", after.change_award, ChangeAwardBody, ActionResult),
    Route("GET", _LOT + "/national", after.lot_national, None, Document),
    Route("GET", "/api/national", after.all_national, None, Document),
    Route("GET", "/api/webhooks", webhooks.list_deliveries, None, Document),
    Route("POST", "/api/webhooks/{delivery_id}/resend", webhooks.resend_delivery, WithReason,
          Document),
    Route("POST", _LOT + "/confirmation", after.issue_confirmation, IssueConfirmationBody,
          ConfirmationView),
    Route("GET", _LOT + "/confirmation", after.get_confirmation, None, ConfirmationView),
    Route("POST", _LOT + "/confirmation/sign", after.sign_confirmation, SignConfirmationBody,
          ConfirmationView),
    # not JSON
    Route("GET", "/ws", websocket_handler,
          serves="the WebSocket protocol (AsyncAPI document at /api/asyncapi.json)"),
    Route("GET", "/metrics", metrics_handler, serves="Prometheus text format"),
    Route("POST", "/api/bank/refunds/export", bank.export_refunds,
          serves="the bank payment file of the refunds due (CSV; docs/bank.md)"),
    Route("GET", "/api/bank/refunds/batches/{batch_id}", bank.refund_batch_file,
          serves="the payment file of an exported refund batch, from the object store "
                 "(CSV; docs/bank.md)"),
    Route("GET", _LOT + "/confirmation.pdf", after.confirmation_pdf,
          serves="the signed transaction confirmation (PDF; staff or the lot's winner)"),
    *(Route("GET", path, _page(filename), serves=f"the HTML page {filename}")
      for path, filename in PAGES.items()),
)
assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES), "a route twice"
assert all((r.answer is None) != (r.serves is None) for r in ROUTES), "JSON or not?"

#: The JSON routes by ``(method, path)``: what the OpenAPI document describes.
JSON_ROUTES: dict[tuple[str, str], Route] = {
    (r.method, r.path): r for r in ROUTES if r.serves is None}
OPENAPI: dict[str, Any] = document(JSON_ROUTES)
assert set(PARAMS_NAMES.values()) <= set(OPENAPI["components"]["schemas"])


def add_routes(app: web.Application) -> None:
    """Build ``app``'s router from :data:`ROUTES`: the ``/api/`` routes in a
    sub-application mounted at :data:`API`, the others on ``app`` itself, and the static
    files when ``app``'s settings have them."""
    sub = web.Application()
    for route in ROUTES:
        router, path = ((sub.router, route.path[len(API):])
                        if route.path.startswith(API + "/") else (app.router, route.path))
        if route.method == "GET":
            router.add_get(path, route.handler)
        else:
            router.add_route(route.method, path, route.handler)
    app[BODIES] = {key: route.body for key, route in JSON_ROUTES.items()}
    app.add_subapp(API, sub)
    settings = app.get(SETTINGS)
    if settings is not None and settings.static_dir.is_dir():
        app.router.add_static(STATIC, settings.static_dir, follow_symlinks=False)
