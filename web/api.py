"""The HTTP JSON API (described for clients by :mod:`web.openapi`).

Staff authenticate with ``Authorization: Bearer <token>``: hosts may act, supervisors
only read. Every error is JSON ``{"error": {"code", "message": {"zh", "en"}, "detail"}}``:
400 bad input (malformed JSON, wrong types, unknown fields, invalid amounts or
parameters), 401 missing or unknown token, 403 a token that may not do this (a
supervisor acting, a bidder token on a staff route), 404 unknown lot, 405, 409 a
rejection by the rules (its code), 408 a body not received within
``Settings.http_body_timeout_s`` (the connection is then closed), 413 a body over
:data:`MAX_BODY`, 503 the engine cannot serve now. Requests that fail change nothing.
"""

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from auction.errors import InvalidAmount, InvalidParams
from auction.formats import withheld
from auction.model import (
    Announce,
    AnswerQuestion,
    ApproveReserve,
    AskHost,
    BidAccepted,
    BidderRegistered,
    CancelLot,
    Command,
    CreateLot,
    EnterReserve,
    ExtendLot,
    PauseLot,
    Rejection,
    ResumeLot,
    RevokeTokens,
    ScheduleLot,
    StartLot,
)
from auction.model import ConfirmDeposit as ConfirmDepositCommand
from auction.money import format_amount, parse_amount
from auction.record import Recorded, event_to_dict
from auction.sessions import parse_rules
from auction.state import LotState
from auction.views import BIDDER, PUBLIC, STAFF, bidder_view, redact, snapshot
from engine.api import Engine, EngineError, Quarantined, Session, UnknownLot
from web.auth import (
    BidderClaims,
    Staff,
    TokenError,
    check_generation,
    issue_bidder_token,
    looks_like_bidder_token,
    read_bidder_token,
    verify_bidder_token,
)
from web.config import SUPERVISOR
from web.errors import CATALOGUE_JSON, WebError, error_body, lot_missing
from web.keys import BANK, BODIES, ENGINE, RECEIPTS, SETTINGS
from web.keys import STAFF as STAFF_DIRECTORY
from web.schemas import (
    LOTS_PAGE,
    MAX_INT,
    Announcement,
    Answer,
    ApproveReserveBody,
    AskHostBody,
    ConfirmDeposit,
    CreateSession,
    Extend,
    Invalid,
    RegisterBidder,
    ReserveBody,
    Resume,
    Suspend,
    WithReason,
    decode_body,
    lot_params,
    tag_of,
)

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
#: Rejection codes of the rules that mean the input was bad (400) rather than a
#: conflict with the lot's state (409).
INPUT_CODES = frozenset({"invalid_params", "invalid_amount", "reason_required",
                         "invalid_input"})
MAX_EVENTS_PAGE = 10_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ------------------------------------------------------------------------ plumbing


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status,
                        content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def error_response(status: int, code: str, detail: str = "") -> web.Response:
    return json_response({"error": error_body(code, detail)}, status)


_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large"}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error response."""
    try:
        return await handler(request)
    except WebError as exc:
        response = error_response(exc.status, exc.code, exc.detail)
        if exc.status == 408:  # the rest of a body that came too slowly is not waited for
            response.force_close()
        return response
    except Invalid as exc:
        return error_response(400, exc.code, exc.detail)
    except UnknownLot as exc:
        return error_response(404, "unknown_lot", f"no lot {str(exc)!r}")
    except Quarantined as exc:
        return error_response(503, "quarantined", exc.reason)
    except EngineError as exc:
        return error_response(503, "unavailable", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else
                               "internal_error")
        detail = f"the body is larger than {MAX_BODY} bytes" if exc.status == 413 else exc.reason
        return error_response(exc.status, code, detail)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error")


async def read_raw(request: web.Request) -> bytes:
    """The request's body as it came: 413 over :data:`MAX_BODY`, 408 when not received
    within ``Settings.http_body_timeout_s``."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise WebError(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    limit = request.config_dict[SETTINGS].http_body_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        raise WebError(408, "request_timeout",
                       f"the body was not received within {limit:g} s") from None


async def read_body(request: web.Request) -> Any:
    """The request's body (an empty body reads as ``{}``) as the struct its route reads
    (:data:`web.routes.ROUTES`); 400 with the schema's error code otherwise."""
    route = request.match_info.route.resource
    assert route is not None
    schema = request.config_dict[BODIES][(request.method, route.canonical)]
    return decode_body(await read_raw(request), schema)


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WebError(401, "unauthorized", "use the header Authorization: Bearer <token>")
    return token.strip()


def staff_of(request: web.Request, *, public: bool = False) -> Staff | None:
    """The staff member of the request's token; None without a token. A valid bidder
    token gets 403 on a staff route and, on a ``public`` route (one anyone may read),
    counts as no token: a credential never takes away what everyone may read. Any other
    unknown token gets 401."""
    token = bearer(request)
    if token is None:
        return None
    staff = request.config_dict[STAFF_DIRECTORY].lookup(token)
    if staff is not None:
        return staff
    if looks_like_bidder_token(token):
        try:
            read_bidder_token(request.config_dict[SETTINGS].secret, token)
        except TokenError:
            pass
        else:
            if public:
                return None
            raise WebError(403, "forbidden", "a bidder token gives no access to staff routes")
    raise WebError(401, "unauthorized", "unknown token")


def require_staff(request: web.Request) -> Staff:
    """The staff member of the request (host or supervisor); 401 without a token."""
    staff = staff_of(request)
    if staff is None:
        raise WebError(401, "unauthorized", "a staff token is required")
    return staff


def require_host(request: web.Request) -> Staff:
    """The host of the request; 403 for a supervisor."""
    staff = require_staff(request)
    if not staff.may_act:
        raise WebError(403, "forbidden", "supervisors may watch but not act")
    return staff


def _engine(request: web.Request) -> Engine:
    return request.config_dict[ENGINE]


async def lot_of(request: web.Request) -> tuple[str, LotState]:
    """The lot of the route, read from the store if it is an ended lot not in memory (a
    store that cannot be read: 503 ``unavailable``)."""
    lot_id = request.match_info["lot_id"]
    engine = _engine(request)
    state = await engine.find(lot_id)
    if state is None:
        raise lot_missing(engine.quarantined(), lot_id)
    return lot_id, state


def _amount(value: Any, state: LotState, field: str) -> int:
    try:
        return parse_amount(value, state.params.decimals)
    except InvalidAmount as exc:
        raise WebError(400, "invalid_amount", f"{field}: {exc.message}") from None


def _checked(result: list[Recorded] | Rejection) -> list[Recorded]:
    if isinstance(result, Rejection):
        status = (400 if result.code in INPUT_CODES
                  else 503 if result.code == "quarantined" else 409)
        raise WebError(status, result.code, result.detail)
    return result


def _session_dict(session: Session) -> dict[str, Any]:
    return {"session_id": session.session_id, "name": session.name,
            "created_at": session.created_at, "created_by": session.created_by,
            "mode": session.mode, "stagger_s": session.stagger_s}


def _reason(body: Any) -> str:
    """The ``reason`` of a staff action: recorded with it, ``""`` when left out (where it
    may be)."""
    return body.reason or ""


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


# ------------------------------------------------------------------------ public


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process's event loop answers (whether or not the engine can serve:
    that is :func:`readyz`)."""
    engine = _engine(request)
    return json_response({"status": "ok", "lots": sum(engine.counts().values()),
                          "server_time": engine.now()})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the engine can serve commands, 503 with the reasons (by check:
    ``engine``, ``store``, ``redis``, ``redis_fanout``, ``postgres``, ``postgres_lag``)
    when it cannot. Lots whose record cannot be read are listed under ``quarantined``
    (lot id -> why); they do not make the process unready for the other lots."""
    engine = _engine(request)
    reasons = await engine.readiness()
    return json_response({"status": "not_ready" if reasons else "ready", "reasons": reasons,
                          "quarantined": engine.quarantined(),
                          "lots": sum(engine.counts().values()),
                          "server_time": engine.now()}, 503 if reasons else 200)


async def server_time(request: web.Request) -> web.Response:
    return json_response({"server_time": _engine(request).now(),
                          "time_zone": request.config_dict[SETTINGS].time_zone})


async def receipt_key(request: web.Request) -> web.Response:
    """The public key that signs receipts (docs/records.md, Receipts)."""
    return json_response(request.config_dict[RECEIPTS].published())


async def error_catalogue(request: web.Request) -> web.Response:
    """Every code with its Chinese and English texts: what the pages show."""
    return web.Response(body=CATALOGUE_JSON, content_type="application/json",
                        headers={"Cache-Control": "no-cache"})


async def list_sessions(request: web.Request) -> web.Response:
    return json_response({"sessions": [_session_dict(s) for s in _engine(request).sessions()]})


async def list_lots(request: web.Request) -> web.Response:
    """One page of every lot in order of creation (``?session_id=`` filters, ``?after=``
    the ``next`` of the page before, ``?limit=``): public views, staff views with a staff
    token (a bidder token gets the public views). Read from the store's listing, so
    ended lots not in memory are listed too."""
    staff = staff_of(request, public=True)
    engine = _engine(request)
    audience = STAFF if staff is not None else PUBLIC
    limit = _query_int(request, "limit", LOTS_PAGE, high=LOTS_PAGE, low=1)
    states, after = await engine.lots(session_id=request.query.get("session_id"),
                                      after=request.query.get("after"), limit=limit)
    return json_response({"lots": [snapshot(state, audience) for state in states],
                          "next": after})


async def get_lot(request: web.Request) -> web.Response:
    """A lot as its caller may see it: staff token -> staff view; bidder token of this
    lot -> that bidder's view; none, or a bidder token of another lot -> public view."""
    lot_id, state = await lot_of(request)
    token = bearer(request)
    if token is not None and looks_like_bidder_token(token):
        claims = bidder_claims(request, token, lot_id, state)
        if claims is None:
            return json_response(snapshot(state, PUBLIC))
        view = snapshot(state, BIDDER, claims.bidder_id)
        view.setdefault("you", bidder_view(state, claims.bidder_id))  # price visibility
        return json_response(view)
    staff = staff_of(request, public=True)
    return json_response(snapshot(state, STAFF if staff is not None else PUBLIC))


def bidder_claims(request: web.Request, token: str, lot_id: str,
                   state: LotState) -> BidderClaims | None:
    """The claims of a bidder token of this lot; None for a valid token of another lot
    (whose bearer is, here, one of the public); 401 for a token that does not hold."""
    secret = request.config_dict[SETTINGS].secret
    try:
        claims = verify_bidder_token(secret, token, _engine(request).now())
    except TokenError as exc:
        raise WebError(401, "bad_token", str(exc)) from None
    if claims.lot_id != lot_id:
        return None
    bidder = state.bidders.get(claims.bidder_id)
    if bidder is None or bidder.bidder_no != claims.bidder_no:
        raise WebError(401, "bad_token", "the bidder is not registered in this lot")
    try:
        check_generation(claims, bidder.token_gen)
    except TokenError as exc:
        raise WebError(401, "bad_token", str(exc)) from None
    return claims


# ------------------------------------------------------------------------ staff reads


def _not_sealed(state: LotState) -> None:
    """The bids and the raw record of a sealed lot (or a multi_round lot under way) hold
    prices nobody may see yet: refused until they are revealed
    (:func:`auction.formats.withheld`)."""
    if withheld(state):
        raise WebError(409, "sealed", "the lot's bids are not revealed yet (a sealed lot "
                                      "before its opening, a multi_round lot under way) or "
                                      "its record holds a reserve sealed until it ends")


async def list_bids(request: web.Request) -> web.Response:
    """Every accepted bid with the bidder's identity and the address and device it came
    from (for collusion checks)."""
    require_staff(request)
    lot_id, state = await lot_of(request)
    _not_sealed(state)
    bids = []
    for record in await _engine(request).history(lot_id):
        event = record.event
        if isinstance(event, BidAccepted):
            bids.append({"seq": record.seq, "at": event.at, "bidder_id": event.bidder_id,
                         "bidder_no": event.bidder_no,
                         "amount": format_amount(event.amount, state.params.decimals),
                         "ip": event.ip, "device": event.device, "ref": event.ref})
    return json_response({"lot_id": lot_id, "bids": bids})


async def list_events(request: web.Request) -> web.Response:
    """The lot's record after ``?after=N`` (at most ``?limit=``): seq, the canonical
    event dict (amounts in integer minor units, as hashed) and the chain hash."""
    require_staff(request)
    lot_id, state = await lot_of(request)
    _not_sealed(state)
    after = _query_int(request, "after", 0)
    limit = _query_int(request, "limit", 1000, high=MAX_EVENTS_PAGE, low=1)
    records = (await _engine(request).history(lot_id, after))[:limit]
    return json_response({
        "lot_id": lot_id,
        "events": [{"seq": r.seq, "event": event_to_dict(r.event), "hash": r.hash}
                   for r in records],
        "last_seq": records[-1].seq if records else after,
    })


def _query_int(request: web.Request, key: str, default: int, *, low: int = 0,
               high: int = MAX_INT) -> int:
    text = request.query.get(key)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise WebError(400, "bad_request", f"{key} must be a whole number from {low} to {high}")
    return int(text)


# ------------------------------------------------------------------------ staff actions


async def create_session(request: web.Request) -> web.Response:
    host = require_host(request)
    body: CreateSession = await read_body(request)
    name, session_id = body.name, body.session_id
    try:
        rules = parse_rules(body.mode, body.stagger_s)
    except InvalidParams as exc:
        raise WebError(400, "invalid_params", exc.message) from None
    engine = _engine(request)
    known = {s.session_id for s in engine.sessions()}
    if session_id is None:
        session_id = _new_id("S")
        while session_id in known:
            session_id = _new_id("S")
    elif session_id in known:
        raise WebError(409, "exists", f"session {session_id!r} exists")
    session = await engine.create_session(session_id, name, host.staff_id, rules.mode,
                                          rules.stagger_s)
    return json_response(_session_dict(session), 201)


async def create_lot(request: web.Request) -> web.Response:
    """Create a lot (draft); answers 201 with its staff view."""
    host = require_host(request)
    body = await read_body(request)
    session_id, title, lot_id, reason = body.session_id, body.title, body.lot_id, _reason(body)
    fmt, params = tag_of(type(body)), lot_params(body.params)
    engine = _engine(request)
    if await engine.session(session_id) is None:
        raise WebError(400, "unknown_session", f"no session {session_id!r}")
    generated = lot_id is None
    result: list[Recorded] | Rejection = Rejection("exists")
    new_id = ""
    for _ in range(10):
        new_id = _new_id("L") if lot_id is None else lot_id
        result = await engine.execute(new_id, CreateLot(
            lot_id=new_id, session_id=session_id, format=fmt, title=title, params=params,
            actor=host.staff_id, reason=reason))
        if not (generated and isinstance(result, Rejection) and result.code == "exists"):
            break
    _checked(result)
    state = engine.read(new_id)
    assert state is not None
    return json_response(snapshot(state, STAFF), 201)


async def register_bidder(request: web.Request) -> web.Response:
    """Register a bidder: a random bidder number and a signed token for this lot."""
    host = require_host(request)
    lot_id, _ = await lot_of(request)
    body: RegisterBidder = await read_body(request)
    bidder_id, name, reason = body.bidder_id, body.name, _reason(body)
    records = _checked(await _engine(request).register_bidder(lot_id, bidder_id, name,
                                                              host.staff_id, reason))
    event = records[0].event
    assert isinstance(event, BidderRegistered)
    answer = bidder_pass(request, lot_id, bidder_id, event.bidder_no)
    state = _engine(request).read(lot_id)
    if state is not None and state.params.deposit > 0 and state.params.currency == "CNY":
        # the bidder's own deposit reference (web/bank.py; the bank's amounts are yuan): the
        # deposit is due by the lot's opening when it has a time set, else while the lot
        # takes deposits
        answer["deposit_reference"] = await request.config_dict[BANK].open_deposit(
            lot_id, bidder_id, name, state.params.deposit,
            state.opens_at if state.opens_at is not None else state.params.opens_at)
    return json_response(answer, 201)


async def reissue_token(request: web.Request) -> web.Response:
    """A new token for a registered bidder (the old ones stay valid until they expire,
    unless revoked)."""
    require_host(request)
    lot_id, state = await lot_of(request)
    bidder_id = request.match_info["bidder_id"]
    await read_body(request)
    bidder = state.bidders.get(bidder_id)
    if bidder is None:
        raise WebError(404, "unknown_bidder", f"no bidder {bidder_id!r} in this lot")
    return json_response(bidder_pass(request, lot_id, bidder_id, bidder.bidder_no,
                                      bidder.token_gen))


async def revoke_tokens(request: web.Request) -> web.Response:
    """Revoke every token issued so far to a bidder (recorded with the host and a reason):
    they are refused from now on and the bidder's open WebSockets are closed. The bidder
    stays registered; ``POST .../token`` issues it a new token."""
    host = require_host(request)
    lot_id, _ = await lot_of(request)
    body: WithReason = await read_body(request)
    command = RevokeTokens(bidder_id=request.match_info["bidder_id"], actor=host.staff_id,
                           reason=body.reason)
    return await run_command(request, lot_id, command)


def bidder_pass(request: web.Request, lot_id: str, bidder_id: str,
                 bidder_no: str, gen: int = 0) -> dict[str, Any]:
    settings = request.config_dict[SETTINGS]
    exp = _engine(request).now() + settings.bidder_token_ttl_s * 1000
    token = issue_bidder_token(settings.secret,
                               BidderClaims(lot_id, bidder_id, bidder_no, exp, gen))
    return {"lot_id": lot_id, "bidder_id": bidder_id, "bidder_no": bidder_no, "token": token,
            "expires_at": exp, "room_url": f"/room/{lot_id}#token={token}"}


async def confirm_deposit(request: web.Request) -> web.Response:
    host = require_host(request)
    lot_id, state = await lot_of(request)
    body: ConfirmDeposit = await read_body(request)
    amount = _amount(body.amount, state, "amount")
    bidder_id = request.match_info["bidder_id"]
    if not body.reason and await request.config_dict[BANK].has_deposit_reference(lot_id,
                                                                                bidder_id):
        raise WebError(400, "reason_required", "the deposit is paid through the bank: "
                                               "confirming it by hand overrides the bank "
                                               "and needs a reason")
    command = ConfirmDepositCommand(bidder_id=bidder_id, amount=amount,
                                    account=body.account, actor=host.staff_id,
                                    reason=_reason(body))
    return await run_command(request, lot_id, command)


def lot_action(kind: str) -> Handler:
    """The handler of ``POST /api/lots/{lot_id}/<kind>``."""

    async def handle(request: web.Request) -> web.Response:
        host = require_host(request)
        lot_id, _ = await lot_of(request)
        body = await read_body(request)
        reason, actor = _reason(body), host.staff_id
        command: Command
        if kind == "schedule":
            command = ScheduleLot(actor=actor, reason=reason)
        elif kind == "start":
            command = StartLot(actor=actor, reason=reason)
        else:
            if kind == "pause":
                assert isinstance(body, Suspend)
                command = PauseLot(actor=actor, reason=reason, notice=body.notice or "")
            elif kind == "resume":
                assert isinstance(body, Resume)
                command = ResumeLot(actor=actor, reason=reason, restart=body.restart)
            elif kind == "cancel":
                assert isinstance(body, Suspend)
                command = CancelLot(actor=actor, reason=reason, notice=body.notice or "")
            else:
                assert isinstance(body, Extend)
                command = ExtendLot(actor=actor, reason=reason, closes_at=body.closes_at)
        return await run_command(request, lot_id, command)

    handle.__name__ = f"{kind}_lot"
    return handle


ACTIONS = ("schedule", "start", "pause", "resume", "extend", "cancel")


async def announce(request: web.Request) -> web.Response:
    """``POST /api/lots/{lot_id}/announce``: a host's announcement to the lot's bidders."""
    host = require_host(request)
    lot_id, _ = await lot_of(request)
    body: Announcement = await read_body(request)
    return await run_command(request, lot_id, Announce(actor=host.staff_id, text=body.text,
                                                       reason=_reason(body)))


async def enter_reserve(request: web.Request) -> web.Response:
    """``POST /api/lots/{lot_id}/reserve``: a host enters the lot's reserve (a reverse
    lot's internal ceiling). The server draws the salt; the record shows everyone the
    commitment only, and nobody, staff included, the amount before the lot ends
    (:mod:`auction.witnessed`)."""
    host = require_host(request)
    lot_id, state = await lot_of(request)
    body: ReserveBody = await read_body(request)
    command = EnterReserve(actor=host.staff_id, amount=_amount(body.amount, state, "amount"),
                           salt=secrets.token_hex(16), reason=_reason(body))
    return await run_command(request, lot_id, command)


async def approve_reserve(request: web.Request) -> web.Response:
    """``POST /api/lots/{lot_id}/reserve/approve``: a supervisor approves the pending
    entry, naming its commitment; the person who entered it cannot (``same_person``).
    The one action a supervisor takes: hosts get 403."""
    staff = require_staff(request)
    if staff.role != SUPERVISOR:
        raise WebError(403, "forbidden", "a supervisor approves the reserve a host entered")
    lot_id, _ = await lot_of(request)
    body: ApproveReserveBody = await read_body(request)
    return await run_command(request, lot_id, ApproveReserve(
        actor=staff.staff_id, commitment=body.commitment, reason=_reason(body)))


async def ask_host(request: web.Request) -> web.Response:
    """``POST /api/lots/{lot_id}/questions``: a bidder's question or objection, with its
    bidder token; the answer names only the lot and the question's sequence number."""
    lot_id, state = await lot_of(request)
    token = bearer(request)
    if token is None:
        raise WebError(401, "unauthorized", "a bidder token of this lot is required")
    if not looks_like_bidder_token(token):
        staff_of(request, public=True)  # 401 for an unknown token
        raise WebError(403, "forbidden", "staff answer questions; they do not ask them")
    claims = bidder_claims(request, token, lot_id, state)
    if claims is None:
        raise WebError(403, "forbidden", "the bidder token is for another lot")
    body: AskHostBody = await read_body(request)
    command = AskHost(bidder_id=claims.bidder_id, kind=body.kind, text=body.text,
                      ip=request.remote or "", token_gen=claims.gen)
    records = _checked(await _engine(request).execute(lot_id, command))
    return json_response({"lot_id": lot_id, "seq": records[-1].seq})


async def answer_question(request: web.Request) -> web.Response:
    """``POST /api/lots/{lot_id}/questions/{seq}/answer``: the host's answer."""
    host = require_host(request)
    lot_id, _ = await lot_of(request)
    body: Answer = await read_body(request)
    try:
        question = int(request.match_info["seq"])
    except ValueError:
        raise WebError(404, "unknown_question", "no such question in this lot") from None
    return await run_command(request, lot_id, AnswerQuestion(
        actor=host.staff_id, question=question, text=body.text, public=body.public,
        reason=_reason(body)))


async def run_command(request: web.Request, lot_id: str, command: Command) -> web.Response:
    """Execute a staff command; answer with its events and the lot's staff view."""
    engine = _engine(request)
    records = _checked(await engine.execute(lot_id, command))
    state = engine.read(lot_id)
    assert state is not None
    return json_response({
        "lot_id": lot_id, "seq": records[-1].seq if records else state.version,
        "events": [redact(state, rec, STAFF) for rec in records],
        "state": snapshot(state, STAFF),
    })

