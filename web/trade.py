"""The trade around a lot at the edge (docs/trade.md): notices and their Q&A, bidder
accounts, applications, uploads, review, deposits confirmed by staff, and admission to
the lot once an application is eligible.

The rules are the deciders of :mod:`auction.trade`, run by the engine's aggregates
(:mod:`engine.aggregates`); this module reads the requests, checks who is asking (staff
by token, :mod:`web.api`; bidders by their account's session, :mod:`web.bidders`), looks
up what the rules must be told (the barred parties list, the lot's deposit), and turns
refusals into the catalogue's errors.

Eligibility → room (:func:`admit`): once an application is eligible, the applicant is
registered on the lot with the lot's own commands (``RegisterBidder``, then
``ConfirmDeposit`` with actor ``bank`` or the staff member who confirmed it by hand) and
its application records ``BidderAdmitted``; the account page then shows the room link.
Nobody types a bidder in. :func:`deposit_arrived` is the call a bank match makes.
"""

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from auction.aggregate import Decider, is_aggregate_id
from auction.errors import InvalidAmount
from auction.model import CancelLot, ConfirmDeposit, Rejection, ScheduleLot
from auction.money import format_amount, parse_amount
from auction.record import Recorded
from auction.state import DRAFT, SCHEDULED, LotState
from auction.trade.accounts import Account, AccountDecider, RegisterAccount, account_id
from auction.trade.applications import (
    APPLICATION_STATUSES,
    AdmitBidder,
    Application,
    ApplicationDecider,
    AttachDocument,
    CountDeposit,
    ReviewApplication,
    ReviewWinner,
    SubmitApplication,
    WithdrawApplication,
    application_id,
    eligible,
)
from auction.trade.deposits_bank import DEPOSIT, MATCHED
from auction.trade.notices import (
    PHASES,
    TRADE_KINDS,
    AmendNotice,
    AnswerQuestion,
    AskQuestion,
    Notice,
    NoticeDecider,
    PublishNotice,
    Terms,
    WithdrawNotice,
    parse_periods,
    phase,
    public_questions,
)
from engine.aggregates import Aggregates, Refused
from engine.api import Engine
from web import bidders
from web.api import (
    INPUT_CODES,
    bidder_pass,
    json_response,
    read_body,
    require_host,
    require_staff,
    staff_of,
)
from web.bank import DepositOutcome, Listener, transfer_view
from web.barred import BarredList, is_barred
from web.config import Settings
from web.errors import WebError
from web.keys import BANK, ENGINE, SETTINGS, TRADE
from web.limits import client_address
from web.objects import OBJECTS_DIR, FileObjectStore, ObjectStore
from web.passkeys import Challenges, passkey_views
from web.schemas import (
    Apply,
    Login,
    NewAccount,
    NewNotice,
    NoticeAmendment,
    NoticeBody,
    Question,
    Review,
    StaffDeposit,
    WithReason,
)
from web.workdays import center_calendar

log = logging.getLogger(__name__)

#: Types of documents an applicant may upload, each with the bytes its files start with.
UPLOAD_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n",
                "image/jpeg": b"\xff\xd8\xff"}
_CHUNK = 64 * 1024


@dataclass
class Trade:
    """What the trade's handlers share in one process."""

    notices: NoticeDecider
    accounts: AccountDecider
    applications: ApplicationDecider
    store: ObjectStore
    barred: BarredList
    logins: bidders.LoginLimiter
    passkeys: Challenges

    @classmethod
    def of(cls, settings: Settings) -> "Trade":
        return cls(NoticeDecider(center_calendar(settings),
                                 parse_periods(settings.trade_periods)),
                   AccountDecider(), ApplicationDecider(),
                   FileObjectStore(settings.data_dir / OBJECTS_DIR),
                   BarredList(settings.barred_parties_file), bidders.LoginLimiter(),
                   Challenges())


# ------------------------------------------------------------------------ plumbing


def _engine(request: web.Request) -> Engine:
    return request.config_dict[ENGINE]


def _trade(request: web.Request) -> Trade:
    return request.config_dict[TRADE]


def _aggregates(request: web.Request) -> Aggregates:
    return _engine(request).aggregates


#: Refusals of the trade's rules that mean bad input (400) or a missing thing (404).
_INPUT = INPUT_CODES | {"invalid_party_code", "terms_not_accepted"}
_MISSING = {"unknown_application", "unknown_account", "unknown_question"}


async def _run(aggregates: Aggregates, decider: Decider[Any, Any], aggregate_id: str,
               command: object) -> list[Recorded]:
    try:
        return await aggregates.execute(decider, aggregate_id, command)
    except Refused as exc:
        code = exc.rejection.code
        status = 400 if code in _INPUT else 404 if code in _MISSING else 409
        raise WebError(status, code, exc.rejection.detail) from None


def _path_id(request: web.Request, key: str) -> str:
    value = request.match_info[key]
    if not is_aggregate_id(value):
        raise WebError(404, "not_found", f"no {key.split('_')[0]} {value!r}")
    return value


def _query_choice(request: web.Request, key: str, choices: tuple[str, ...]) -> str | None:
    value = request.query.get(key)
    if value is not None and value not in choices:
        raise WebError(400, "bad_request", f"{key} must be one of {', '.join(choices)}")
    return value


def _amount_text(amount: int | None, lot: LotState | None) -> str | None:
    if amount is None:
        return None
    return format_amount(amount, lot.params.decimals if lot is not None else 2)


# ------------------------------------------------------------------------ notices


def _terms(body: NoticeBody) -> Terms:
    return Terms(title=body.title, kind=body.kind, apply_from=body.apply_from,
                 apply_until=body.apply_until, deposit_until=body.deposit_until,
                 bidding_at=body.bidding_at, terms=body.terms, lot_ids=tuple(body.lot_ids),
                 documents=tuple(body.documents), prequalification=body.prequalification,
                 consortium=body.consortium)


async def _check_lots(engine: Engine, terms: Terms) -> None:
    """Every lot of a notice exists (read back from the store if it has ended), and one
    not open yet can open at the notice's bidding time (before its fixed closing time)."""
    for lot_id in terms.lot_ids:
        lot = await engine.find(lot_id)
        if lot is None:
            raise WebError(400, "unknown_lot", f"no lot {lot_id!r}")
        closes_at = lot.params.closes_at
        if (lot.status in (DRAFT, SCHEDULED) and closes_at is not None
                and closes_at <= terms.bidding_at):
            raise WebError(409, "invalid_schedule",
                           f"lot {lot_id} closes at {closes_at}, not after the notice's "
                           f"bidding time {terms.bidding_at}")


async def _follow_notice(engine: Engine, terms: Terms, actor: str, reason: str) -> None:
    """The lots of a notice open at its bidding time: each lot not open yet is scheduled
    (or rescheduled) to open by itself at ``terms.bidding_at`` with ``ScheduleLot``, the
    notice or its amendment as the recorded reason. A lot that refuses (it opened in the
    meantime) is logged and left as it is."""
    for lot_id in terms.lot_ids:
        lot = await engine.find(lot_id)
        if (lot is None or lot.status not in (DRAFT, SCHEDULED)
                or (lot.status == SCHEDULED and lot.opens_at == terms.bidding_at)):
            continue
        result = await engine.execute(lot_id, ScheduleLot(actor=actor, reason=reason,
                                                          opens_at=terms.bidding_at))
        if isinstance(result, Rejection):
            log.warning("lot %s not scheduled to its notice's bidding time: %s", lot_id,
                        result.code)


async def _lot_summary(request: web.Request, lot_id: str) -> dict[str, Any] | None:
    """A notice's lot as its page shows it, with the number of eligible (qualified, deposit
    counted) applications against the lot's ``min_bidders``; read back from the store
    when the lot has ended. None for a lot that does not exist."""
    lot = await _engine(request).find(lot_id)
    if lot is None:
        return None
    apps = await _applications(request, lot_id=lot_id)
    return {"lot_id": lot_id, "title": lot.title, "status": lot.status, "format": lot.format,
            "deposit": format_amount(lot.params.deposit, lot.params.decimals),
            "currency": lot.params.currency, "opens_at": lot.opens_at,
            "min_bidders": lot.params.min_bidders,
            "qualified": sum(1 for a in apps if eligible(a)),
            "outcome": lot.outcome.status if lot.outcome is not None else None}


async def notice_view(request: web.Request, notice: Notice) -> dict[str, Any]:
    terms = notice.terms
    assert terms is not None
    engine = _engine(request)
    lots = [summary for lot_id in terms.lot_ids
            if (summary := await _lot_summary(request, lot_id)) is not None]
    return {"notice_id": notice.notice_id, "status": notice.status,
            "phase": phase(notice, engine.now()), "title": terms.title, "kind": terms.kind,
            "apply_from": terms.apply_from, "apply_until": terms.apply_until,
            "deposit_until": terms.deposit_until, "bidding_at": terms.bidding_at,
            "terms": terms.terms, "lot_ids": list(terms.lot_ids),
            "documents": list(terms.documents), "prequalification": terms.prequalification,
            "consortium": terms.consortium, "published_at": notice.published_at,
            "periods_from": notice.periods_from, "amendments": notice.amendments,
            "flags": list(notice.flags), "questions": public_questions(notice), "lots": lots}


async def _notice(request: web.Request) -> Notice:
    notice_id = _path_id(request, "notice_id")
    notice: Notice = await _aggregates(request).state(_trade(request).notices, notice_id)
    if notice.status == "none":
        raise WebError(404, "not_found", f"no notice {notice_id!r}")
    return notice


async def list_notices(request: web.Request) -> web.Response:
    """Published notices, newest first (``?kind=``, ``?phase=`` filter): public."""
    kind = _query_choice(request, "kind", TRADE_KINDS)
    wanted = _query_choice(request, "phase", PHASES)
    aggregates, decider = _aggregates(request), _trade(request).notices
    views = []
    for notice_id in await aggregates.ids(decider.kind):
        notice: Notice = await aggregates.state(decider, notice_id)
        view = await notice_view(request, notice)
        if (kind is None or view["kind"] == kind) and (wanted is None or view["phase"] == wanted):
            views.append(view)
    views.sort(key=lambda v: v["published_at"], reverse=True)
    return json_response({"notices": views})


async def get_notice(request: web.Request) -> web.Response:
    return json_response(await notice_view(request, await _notice(request)))


async def publish_notice(request: web.Request) -> web.Response:
    """Publish a notice (host): its schedule is checked against the center's minimum
    periods for its kind of trade."""
    host = require_host(request)
    body: NewNotice = await read_body(request)
    terms = _terms(body)
    engine, trade = _engine(request), _trade(request)
    await _check_lots(engine, terms)
    notice_id = body.notice_id or f"N-{secrets.token_hex(4).upper()}"
    await _run(engine.aggregates, trade.notices, notice_id,
               PublishNotice(terms, host.staff_id, body.reason or ""))
    await _follow_notice(engine, terms, host.staff_id, f"公告 notice {notice_id}")
    notice = await engine.aggregates.state(trade.notices, notice_id)
    return json_response(await notice_view(request, notice), 201)


async def amend_notice(request: web.Request) -> web.Response:
    """Amend a notice (更正公告, host, with a reason): a material change restarts its
    periods from now."""
    host = require_host(request)
    notice = await _notice(request)
    body: NoticeAmendment = await read_body(request)
    terms = _terms(body)
    engine, trade = _engine(request), _trade(request)
    await _check_lots(engine, terms)
    await _run(engine.aggregates, trade.notices, notice.notice_id,
               AmendNotice(terms, host.staff_id, body.reason))
    await _follow_notice(engine, terms, host.staff_id,
                         f"更正公告 amendment of notice {notice.notice_id}: {body.reason}")
    return json_response(await notice_view(request, await _notice(request)))


async def withdraw_notice(request: web.Request) -> web.Response:
    """Withdraw a notice (host, with a reason): its lots that have not opened, and that no
    other published notice offers, are cancelled (they would otherwise open by themselves
    at the withdrawn bidding time)."""
    host = require_host(request)
    notice = await _notice(request)
    body: WithReason = await read_body(request)
    engine, trade = _engine(request), _trade(request)
    await _run(engine.aggregates, trade.notices, notice.notice_id,
               WithdrawNotice(host.staff_id, body.reason))
    assert notice.terms is not None
    for lot_id in notice.terms.lot_ids:
        lot = await engine.find(lot_id)
        if (lot is None or lot.status not in (DRAFT, SCHEDULED)
                or await notice_of_lot(engine.aggregates, trade.notices, lot_id) is not None):
            continue
        result = await engine.execute(lot_id, CancelLot(
            actor=host.staff_id,
            reason=f"公告撤回 notice {notice.notice_id} withdrawn: {body.reason}"))
        if isinstance(result, Rejection):
            log.warning("lot %s of withdrawn notice %s not cancelled: %s", lot_id,
                        notice.notice_id, result.code)
    return json_response(await notice_view(request, await _notice(request)))


async def ask_question(request: web.Request) -> web.Response:
    """A bidder's question (account); published with its answer, never with the asker."""
    engine = _engine(request)
    account, _ = bidders.session_account(request, engine.now(), action=True)
    notice = await _notice(request)
    body: Question = await read_body(request)
    await _run(engine.aggregates, _trade(request).notices, notice.notice_id,
               AskQuestion(account, body.text))
    return json_response(await notice_view(request, await _notice(request)), 201)


async def answer_question(request: web.Request) -> web.Response:
    host = require_host(request)
    notice = await _notice(request)
    text = request.match_info["no"]
    if not text.isdigit() or len(text) > 6:
        raise WebError(404, "unknown_question", f"no question {text!r}")
    body: Question = await read_body(request)
    engine = _engine(request)
    await _run(engine.aggregates, _trade(request).notices, notice.notice_id,
               AnswerQuestion(int(text), host.staff_id, body.text))
    return json_response(await notice_view(request, await _notice(request)))


async def notice_of_lot(aggregates: Aggregates, decider: NoticeDecider,
                        lot_id: str) -> Notice | None:
    """The newest published notice offering ``lot_id``."""
    found: Notice | None = None
    for notice_id in await aggregates.ids(decider.kind):
        notice: Notice = await aggregates.state(decider, notice_id)
        if (notice.status == "published" and notice.terms is not None
                and lot_id in notice.terms.lot_ids
                and (found is None or notice.published_at > found.published_at)):
            found = notice
    return found


# ------------------------------------------------------------------------ accounts


async def register_account(request: web.Request) -> web.Response:
    """Register a bidder account: its code's check character is checked, its password
    hashed; answers the second factor's secret (once)."""
    body: NewAccount = await read_body(request)
    problem = bidders.password_problem(body.password, body.code)
    if problem:
        raise WebError(400, "weak_password", problem)
    settings, trade, engine = request.config_dict[SETTINGS], _trade(request), _engine(request)
    account = account_id(body.party, body.code)
    salt = secrets.token_hex(16)
    command = RegisterAccount(
        party=body.party, name=body.name, code=body.code,
        contact={"person": body.contact_person, "phone": body.phone, "email": body.email},
        password_hash=await bidders.hash_password(body.password), totp_salt=salt)
    await _run(engine.aggregates, trade.accounts, account, command)
    secret = bidders.totp_secret(settings.secret, account, salt)
    issuer = settings.center_name or "auction"
    return json_response({"account_id": account, "totp_secret": secret,
                          "totp_uri": bidders.totp_uri(secret, account, issuer)}, 201)


async def login(request: web.Request) -> web.Response:
    """Log in with the code, the password and the TOTP code: a session cookie and the
    CSRF token. Any failure answers 401 login_failed; too many, 429 rate_limited."""
    body: Login = await read_body(request)
    settings, trade, engine = request.config_dict[SETTINGS], _trade(request), _engine(request)
    now = engine.now()
    account = bidders.account_of_code(body.code) or f"unknown-{body.code}"
    keys = [f"account:{account}",
            f"address:{client_address(request, settings.trusted_proxies)}"]
    if trade.logins.blocked(keys, now / 1000):
        raise WebError(429, "rate_limited", "too many failed logins: wait and try again")
    state: Account = (await engine.aggregates.state(trade.accounts, account)
                      if is_aggregate_id(account) else Account(account))
    ok = await bidders.verify_password(state.password_hash, body.password)
    ok = ok and state.status == "active" and trade.logins.use_otp(
        account, bidders.totp_secret(settings.secret, account, state.totp_salt), body.otp,
        now / 1000)
    if not ok:
        trade.logins.fail(keys, now / 1000)
        raise WebError(401, "login_failed", "the code, the password or the second factor "
                                            "is wrong")
    cookie = bidders.issue_session(settings.secret, account, now)
    response = json_response({"account_id": account, "name": state.name,
                              "csrf": bidders.csrf_token(settings.secret, cookie)})
    bidders.set_session(response, request, cookie)
    return response


async def logout(request: web.Request) -> web.Response:
    await read_body(request)
    response = json_response({})
    bidders.clear_session(response)
    return response


async def account_page(request: web.Request) -> web.Response:
    """The account's page: who it is, its applications with deposits, review, result and
    the room link once admitted."""
    engine, trade = _engine(request), _trade(request)
    account, cookie = bidders.session_account(request, engine.now(), action=False)
    state: Account = await engine.aggregates.state(trade.accounts, account)
    if state.status != "active":
        raise WebError(401, "unauthorized", "log in to a bidder account")
    views = [await application_view(request, a, with_room=True)
             for a in await _applications(request, account=account)]
    return json_response({"account_id": account, "party": state.party, "name": state.name,
                          "code": state.code, "contact": dict(state.contact or {}),
                          "csrf": bidders.csrf_token(request.config_dict[SETTINGS].secret,
                                                     cookie),
                          "applications": views, "passkeys": passkey_views(state)})


# ------------------------------------------------------------------------ applications


async def _applications(request: web.Request, *, account: str | None = None,
                        lot_id: str | None = None,
                        status: str | None = None) -> list[Application]:
    aggregates, decider = _aggregates(request), _trade(request).applications
    out = []
    for app_id in await aggregates.ids(decider.kind):
        app: Application = await aggregates.state(decider, app_id)
        if ((account is None or app.account_id == account)
                and (lot_id is None or app.lot_id == lot_id)
                and (status is None or app.status == status)):
            out.append(app)
    return out


async def application_view(request: web.Request, app: Application, *,
                           with_room: bool = False) -> dict[str, Any]:
    lot = await _engine(request).find(app.lot_id)
    notice: Notice = await _aggregates(request).state(_trade(request).notices, app.notice_id)
    ledger = await request.config_dict[BANK].ledger()
    reference = ledger.reference_of(DEPOSIT, app.lot_id, app.application_id)
    arrivals = ledger.arrivals(reference.reference) if reference is not None else []
    room = None
    if with_room and app.bidder_id and lot is not None and app.bidder_id in lot.bidders:
        bidder = lot.bidders[app.bidder_id]
        room = bidder_pass(request, app.lot_id, app.bidder_id, bidder.bidder_no,
                           bidder.token_gen)["room_url"]
    return {"application_id": app.application_id, "notice_id": app.notice_id,
            "lot_id": app.lot_id, "account_id": app.account_id, "name": app.name,
            "status": app.status, "prequalification": app.prequalification,
            "consortium": list(app.consortium), "contact": dict(app.contact),
            "documents": [{"name": d.name, "sha256": d.sha256, "size": d.size,
                           "content_type": d.content_type, "at": d.at}
                          for d in app.documents],
            "deposit_required": _amount_text(app.deposit_required, lot),
            "deposit_until": notice.terms.deposit_until if notice.terms is not None else None,
            "deposit": _amount_text(app.deposit, lot), "deposit_source": app.deposit_source,
            "deposit_account": app.deposit_account,
            "deposit_reference": reference.reference if reference is not None else None,
            "deposit_arrivals": [transfer_view(t) for t in arrivals],
            "eligible": eligible(app), "barred": await is_barred(request.config_dict, app),
            "bidder_no": app.bidder_no,
            "post_review": app.post_review, "reason": app.reason,
            "barred_at_award": app.barred_at_award,
            "lot_status": lot.status if lot is not None else "",
            "result": _result(app, lot), "room_url": room}


def _result(app: Application, lot: LotState | None) -> str:
    """The lot's outcome for an admitted applicant: ``won``, ``lost``, ``failed`` or
    ``cancelled`` once there is one, else ``""``."""
    if lot is None or lot.outcome is None or not app.bidder_id:
        return ""
    if lot.outcome.status == "awarded":
        return "won" if lot.outcome.bidder_id == app.bidder_id else "lost"
    return lot.outcome.status


async def _application(request: web.Request, *, owner: bool = False,
                       staff: bool = False) -> Application:
    """The application of the path: for staff (``staff``), for its own account
    (``owner``), or for either (both). Someone else's is not found (404)."""
    app_id = _path_id(request, "application_id")
    app: Application = await _aggregates(request).state(_trade(request).applications, app_id)
    allowed = False
    if staff and staff_of(request) is not None:
        allowed = True
    elif owner:
        account, _ = bidders.session_account(request, _engine(request).now(),
                                             action=request.method != "GET")
        allowed = account == app.account_id
    if app.status == "none" or not allowed:
        raise WebError(404, "unknown_application", f"no application {app_id!r}")
    return app


async def apply(request: web.Request) -> web.Response:
    """Apply for a lot (account) during its notice's window, accepting its terms."""
    engine, trade = _engine(request), _trade(request)
    account, _ = bidders.session_account(request, engine.now(), action=True)
    lot_id = request.match_info["lot_id"]
    lot = await engine.find(lot_id)
    if lot is None:
        raise WebError(404, "unknown_lot", f"no lot {lot_id!r}")
    body: Apply = await read_body(request)
    notice = await notice_of_lot(engine.aggregates, trade.notices, lot_id)
    if notice is None or notice.terms is None:
        raise WebError(409, "not_published", "no published notice offers this lot")
    state: Account = await engine.aggregates.state(trade.accounts, account)
    if state.status != "active":
        raise WebError(401, "unauthorized", "log in to a bidder account")
    barred = trade.barred.any_barred([state.code, *body.consortium])
    terms = notice.terms
    app_id = application_id(lot_id, account)
    await _run(engine.aggregates, trade.applications, app_id, SubmitApplication(
        notice_id=notice.notice_id, lot_id=lot_id, name=state.name,
        contact=dict(state.contact or {}), accept_terms=body.accept_terms,
        apply_from=terms.apply_from, apply_until=terms.apply_until,
        deposit_required=lot.params.deposit, prequalification=terms.prequalification,
        consortium_allowed=terms.consortium, actor=account, consortium=tuple(body.consortium),
        barred=barred))
    app = await engine.aggregates.state(trade.applications, app_id)
    if lot.params.deposit > 0:  # its own deposit reference, paid through the bank
        await request.config_dict[BANK].open_deposit(lot_id, app_id, state.name,
                                                     lot.params.deposit, terms.deposit_until)
    await admit(request.config_dict, app_id)  # a deposit may have no review to wait for
    return json_response(await application_view(request, app), 201)


async def upload_document(request: web.Request) -> web.Response:
    """Attach a document (account): the raw body, its ``Content-Type`` one of
    :data:`UPLOAD_TYPES` (and its first bytes those of the type), at most
    ``Settings.upload_max_bytes``, named by ``?name=``; stored by its SHA-256."""
    app = await _application(request, owner=True)
    name = request.query.get("name", "").strip()
    if not 0 < len(name) <= 200 or not name.isprintable():
        raise WebError(400, "bad_request", "?name= names the document (1 to 200 characters)")
    content_type = request.content_type
    if content_type not in UPLOAD_TYPES:
        raise WebError(415, "unsupported_type",
                       f"a document is one of {', '.join(UPLOAD_TYPES)}")
    limit = request.config_dict[SETTINGS].upload_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise WebError(413, "too_large", f"a document is at most {limit} bytes")
    data = bytearray()
    while chunk := await request.content.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise WebError(413, "too_large", f"a document is at most {limit} bytes")
    if not data.startswith(UPLOAD_TYPES[content_type]):
        raise WebError(415, "unsupported_type", f"the bytes are not {content_type}")
    trade = _trade(request)
    sha256 = await trade.store.put(bytes(data))
    await _run(_aggregates(request), trade.applications, app.application_id,
               AttachDocument(name, sha256, len(data), content_type, app.account_id))
    app = await _aggregates(request).state(trade.applications, app.application_id)
    return json_response(await application_view(request, app), 201)


async def get_document(request: web.Request) -> web.Response:
    """A document's bytes (staff, or the applicant's own account)."""
    app = await _application(request, owner=True, staff=True)
    sha256 = request.match_info["sha256"]
    document = next((d for d in app.documents if d.sha256 == sha256), None)
    data = await _trade(request).store.get(sha256) if document is not None else None
    if document is None or data is None:
        raise WebError(404, "not_found", "no such document in this application")
    return web.Response(body=data, content_type=document.content_type, headers={
        "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store"})


async def list_applications(request: web.Request) -> web.Response:
    """The reviewer queue (staff): applications, ``?status=`` and ``?lot_id=`` filter; with
    every lot applied for (whatever the status filter), its qualified applications against
    its ``min_bidders``."""
    require_staff(request)
    status = _query_choice(request, "status", APPLICATION_STATUSES)
    every = await _applications(request, lot_id=request.query.get("lot_id"))
    apps = [a for a in every if status is None or a.status == status]
    lots = [summary for lot_id in sorted({a.lot_id for a in every})
            if (summary := await _lot_summary(request, lot_id)) is not None]
    return json_response({"applications": [await application_view(request, a)
                                            for a in apps], "lots": lots})


async def get_application(request: web.Request) -> web.Response:
    app = await _application(request, owner=True, staff=True)
    return json_response(await application_view(request, app, with_room=staff_of(
        request, public=True) is None))


async def review_application(request: web.Request) -> web.Response:
    """资格前审 (host): approve, or reject with a reason."""
    host = require_host(request)
    app = await _application(request, staff=True)
    body: Review = await read_body(request)
    await _run(_aggregates(request), _trade(request).applications, app.application_id,
               ReviewApplication(body.approve, host.staff_id, body.reason or ""))
    return await _after(request, app.application_id)


async def review_winner(request: web.Request) -> web.Response:
    """资格后审 (host): the winner reviewed after the auction; the barred list is checked
    again."""
    host = require_host(request)
    app = await _application(request, staff=True)
    body: Review = await read_body(request)
    trade = _trade(request)
    barred = await is_barred(request.config_dict, app)
    await _run(_aggregates(request), trade.applications, app.application_id,
               ReviewWinner(body.approve, host.staff_id, body.reason or "", barred))
    return await _after(request, app.application_id)


async def confirm_application_deposit(request: web.Request) -> web.Response:
    """The deposit confirmed by hand (host, with a reason): the audited override of the
    bank's match."""
    host = require_host(request)
    app = await _application(request, staff=True)
    body: StaffDeposit = await read_body(request)
    lot = await _engine(request).find(app.lot_id)
    try:
        amount = parse_amount(body.amount, lot.params.decimals if lot is not None else 2)
    except InvalidAmount as exc:
        raise WebError(400, "invalid_amount", f"amount: {exc.message}") from None
    await deposit_arrived(request.config_dict, app.application_id, amount, "staff",
                          host.staff_id, body.reason, body.account)
    return await _after(request, app.application_id)


async def withdraw_application(request: web.Request) -> web.Response:
    app = await _application(request, owner=True)
    body: WithReason = await read_body(request)
    await _run(_aggregates(request), _trade(request).applications, app.application_id,
               WithdrawApplication(app.account_id, body.reason))
    return await _after(request, app.application_id)


async def _after(request: web.Request, app_id: str) -> web.Response:
    await admit(request.config_dict, app_id)
    app = await _aggregates(request).state(_trade(request).applications, app_id)
    return json_response(await application_view(request, app))


async def applicants_by_lot(app: Mapping[Any, Any]) -> dict[str, list[dict[str, Any]]]:
    """For the collusion checks (:class:`auction.collusion.LotRecord`): per lot, each
    bidder admitted from an application with the contacts it gave and the hashes of the
    documents it uploaded."""
    engine: Engine = app[ENGINE]
    decider = app[TRADE].applications
    out: dict[str, list[dict[str, Any]]] = {}
    for app_id in await engine.aggregates.ids(decider.kind):
        application: Application = await engine.aggregates.state(decider, app_id)
        if application.bidder_id:
            contact = application.contact
            out.setdefault(application.lot_id, []).append({
                "bidder_id": application.bidder_id,
                "contacts": [str(contact[k]) for k in ("phone", "email") if contact.get(k)],
                "documents": sorted({d.sha256 for d in application.documents})})
    return out


async def bidder_of_account(app: Mapping[Any, Any], lot_id: str, account: str) -> str | None:
    """The bidder id on ``lot_id`` of the account ``account`` (the application id it was
    admitted under), or None: how a route that knows the account (its session,
    :func:`web.bidders.session_account`) finds the lot's bidder, e.g. to file an
    objection."""
    engine: Engine = app[ENGINE]
    app_id = application_id(lot_id, account)
    state: Application = await engine.aggregates.state(app[TRADE].applications, app_id)
    return state.bidder_id or None


# ------------------------------------------------------------------------ eligibility


async def deposit_arrived(app: Mapping[Any, Any], app_id: str, amount: int, source: str,
                          actor: str, reason: str = "", account: str = "") -> None:
    """The deposit of application ``app_id`` arrived: ``source`` ``bank`` (a matched
    payment, ``actor`` ``bank``) or ``staff`` (by hand, ``actor`` the staff member, with a
    reason), from the payer's ``account`` (its number as the bank gives it: the collusion
    checks compare it across bidders). ``app`` is the application (or a request's
    ``config_dict``). Counted once; the applicant is admitted when that makes it
    eligible. Raises :class:`web.errors.WebError` with the rules' code when refused."""
    engine, trade = app[ENGINE], app[TRADE]
    await _run(engine.aggregates, trade.applications, app_id,
               CountDeposit(amount, source, actor, reason, account))
    await admit(app, app_id)


def bank_listener(app: Mapping[Any, Any]) -> Listener:
    """The hook the bank path calls on every deposit matched or flagged: a deposit matched
    to an application's reference counts for that application (:func:`deposit_arrived`),
    which admits the applicant once that makes it eligible."""
    async def on_outcome(outcome: DepositOutcome) -> None:
        trade: Trade = app[TRADE]
        if (outcome.purpose != DEPOSIT or outcome.outcome != MATCHED
                or not is_aggregate_id(outcome.party_id)
                or not await app[ENGINE].aggregates.exists(trade.applications,
                                                           outcome.party_id)):
            return
        try:
            await deposit_arrived(app, outcome.party_id, outcome.amount, "bank", "bank",
                                  reason=f"bank transfer {outcome.transaction_id} to "
                                         f"{outcome.reference}",
                                  account=outcome.payer_account)
        except WebError as exc:  # the bank's arrival stands in its ledger either way
            log.warning("deposit %s for application %s not counted: %s", outcome.reference,
                        outcome.party_id, exc.code)
    return on_outcome


async def admit(app: Mapping[Any, Any], app_id: str) -> bool:
    """Register an eligible application's applicant on its lot (once): ``RegisterBidder``
    and ``ConfirmDeposit`` on the lot, then ``BidderAdmitted``. False when it is not
    eligible, is admitted already, is on the barred list now (checked again: the list
    may have changed since the application), or the lot refuses (registration closed:
    logged)."""
    engine: Engine = app[ENGINE]
    trade: Trade = app[TRADE]
    state: Application = await engine.aggregates.state(trade.applications, app_id)
    if state.bidder_id or not eligible(state):
        return False
    if await is_barred(app, state):  # listed since it applied: a reviewer sees `barred`
        log.warning("application %s not admitted: the applicant is on the barred list",
                    app_id)
        return False
    lot = await engine.find(state.lot_id)
    if lot is not None and app_id not in lot.bidders:
        result = await engine.register_bidder(state.lot_id, app_id, state.name, "system",
                                              f"application {app_id} eligible")
        if isinstance(result, Rejection):
            log.warning("application %s not admitted to lot %s: %s", app_id, state.lot_id,
                        result.code)
            return False
        lot = await engine.find(state.lot_id)
    if lot is None:
        return False
    bidder = lot.bidders[app_id]
    if bidder.deposit is None:
        assert state.deposit is not None
        result = await engine.execute(state.lot_id, ConfirmDeposit(
            bidder_id=app_id, amount=state.deposit,
            account=state.deposit_account or f"{state.deposit_source}:{app_id}",
            actor="bank" if state.deposit_source == "bank" else "system",
            reason=f"application {app_id}: deposit counted ({state.deposit_source})"))
        if isinstance(result, Rejection):
            log.warning("deposit of application %s refused by lot %s: %s", app_id,
                        state.lot_id, result.code)
            return False
    await _run(engine.aggregates, trade.applications, app_id,
               AdmitBidder(app_id, bidder.bidder_no, "system"))
    return True
