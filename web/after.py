"""HTTP routes of the trade after the auction (docs/after-the-auction.md): the result
notice (结果公示) and objections (异议), the transaction confirmation (成交确认书). The
rules are the pure deciders of :mod:`auction.trade`, run by ``engine.aggregates``; the PDF
is made and signed by :mod:`web.confirmation`.

Who: a host publishes the result notice (or the first objection does, with the default kind
of trade) and answers objections; anyone reads the notice; the lot's bidders object.
A host issues the confirmation of an awarded lot; staff and the lot's winner read it
and download the PDF; the winner signs it within its window. The winner proves who it is
with :func:`bidder_of` (its room token today; its account once bidder accounts exist:
that one function changes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from auction.default import RELIST, ChangeAward, DeclareDefault, LinkRelisting
from auction.errors import InvalidAmount
from auction.lot import decide
from auction.model import CreateLot, LotCreated
from auction.money import format_amount, parse_amount
from auction.record import Recorded
from auction.report import RESULT_STATUSES, _times
from auction.state import LotState
from auction.trade.confirmations import (
    CONFIRMATIONS,
    Confirmation,
    IssueConfirmation,
    SignConfirmation,
    confirmation_id,
)
from auction.trade.national import UNFILLED, national_result
from auction.trade.results import (
    RESULT_NOTICES,
    AnswerObjection,
    FileObjection,
    PublishNotice,
    ResultNotice,
    full_view,
    public_view,
)
from auction.units import awards_of
from auction.workdays import china_date, china_midnight_ms
from engine.aggregates import Refused
from web import confirmation as conf
from web.api import (
    _checked,
    bearer,
    bidder_claims,
    json_response,
    read_body,
    require_host,
    require_staff,
    run_command,
    staff_of,
)
from web.auth import BidderClaims, looks_like_bidder_token
from web.barred import refuse_barred_winners
from web.config import Settings
from web.errors import WebError
from web.keys import ENGINE, SETTINGS, TRADE
from web.publicity import notice_period
from web.records import _ended, _lot
from web.workdays import center_calendar

#: How many times (every 50 ms) a lot's end decided in memory is awaited in the permanent
#: record before its notice or confirmation is made from it.
DURABLE_WAIT_TRIES = 100


async def bidder_of(request: web.Request, lot_id: str) -> BidderClaims | None:
    """The bidder of lot ``lot_id`` the request comes from (its room token: ``Authorization:
    Bearer``); None without a bidder token. 401 for a token that does not hold, 403 for a
    bidder of another lot. The one identity check of bidders on these routes."""
    token = bearer(request)
    if token is None or not looks_like_bidder_token(token):
        return None
    engine = request.config_dict[ENGINE]
    state = await engine.find(lot_id)
    assert state is not None  # the caller looked the lot up
    claims = bidder_claims(request, token, lot_id, state)
    if claims is None:
        raise WebError(403, "forbidden", "a bidder of another lot")
    return claims


async def durable_lot(request: web.Request, lot_id: str) -> tuple[LotState, list[Recorded]]:
    """The lot's permanent record and its state (:func:`web.records._lot`), waiting a
    little when the lot has ended in memory and the end's commit is still in flight."""
    state, records = await _lot(request, lot_id)
    live = await request.config_dict[ENGINE].find(lot_id)
    for _ in range(DURABLE_WAIT_TRIES):
        if state.status in RESULT_STATUSES or live is None or live.status not in RESULT_STATUSES:
            break
        await asyncio.sleep(0.05)
        state, records = await _lot(request, lot_id)
    return state, records


def refused(exc: Refused) -> WebError:
    code = exc.rejection.code
    status = (400 if code in ("invalid_input", "reason_required")
              else 404 if code == "unknown_objection" else 409)
    return WebError(status, code, exc.rejection.detail)


def public_base(request: web.Request) -> str:
    settings: Settings = request.config_dict[SETTINGS]
    return settings.public_url or f"{request.scheme}://{request.host}"


def template_of(settings: Settings) -> Any:
    own = settings.data_dir / conf.DATA_TEMPLATE
    path = settings.confirmation_template or (own if own.is_file() else conf.DEFAULT_TEMPLATE)
    return conf.load_template(path)


def sign_by(settings: Settings, now: int) -> int:
    """The end of the signing window: midnight (China) after the ``signing_days``-th
    working day from today."""
    last = center_calendar(settings).add(china_date(now), settings.signing_days, "working")
    return china_midnight_ms(last) + 86_400_000 - 1


def confirmation_key(state: LotState, bidder_no: str | None) -> str:
    """The id of the confirmation of ``bidder_no``'s award in the lot of ``state``
    (:func:`auction.trade.confirmations.confirmation_id`): the lot's id, or in a multi-unit
    lot that of ``bidder_no``'s (None: the first winner's)."""
    if state.params.units == 1:
        return state.lot_id
    awards = awards_of(state)
    number = bidder_no if bidder_no is not None else awards[0].bidder_no if awards else ""
    return confirmation_id(state.lot_id, number, True)


def view(state: Confirmation, decimals: int, lot_id: str | None = None) -> dict[str, Any]:
    """The confirmation ``state`` of lot ``lot_id`` (default: its id, that of a lot of one
    unit); a multi-unit lot's names the winner in its PDF's address."""
    lot_id = lot_id or state.lot_id
    out: dict[str, Any] = {"lot_id": lot_id, "status": state.status}
    issued = state.issued
    pdf = f"/api/lots/{lot_id}/confirmation.pdf" + (
        f"?bidder_no={issued.bidder_no}" if issued is not None and lot_id != state.lot_id
        else "")
    if issued is not None:
        out.update(bidder_no=issued.bidder_no, amount=format_amount(issued.amount, decimals),
                   deposit=format_amount(issued.deposit, decimals), currency=issued.currency,
                   issued_at=issued.at, sign_by=issued.sign_by,
                   document_sha256=issued.document_sha256, head_seq=issued.head_seq,
                   head_hash=issued.head_hash, pdf=pdf)
    if state.signed is not None:
        out["signed_at"] = state.signed.at
    return out


async def issue(request: web.Request, lot_id: str, actor: str,
                bidder_no: str | None = None) -> dict[str, Any]:
    """Make, sign, store and record the confirmation of the awarded lot ``lot_id``
    (what the route and the demo call): in a multi-unit lot, of the award of
    ``bidder_no`` (None: the first winner without one yet). The winner is checked
    against the barred list first (409 ``winner_barred``, nothing made)."""
    settings: Settings = request.config_dict[SETTINGS]
    engine = request.config_dict[ENGINE]
    state, records = await durable_lot(request, lot_id)
    if bidder_no is None and state.params.units > 1:
        for award in awards_of(state):
            held = await engine.aggregates.state(
                CONFIRMATIONS, confirmation_key(state, award.bidder_no))
            if held.issued is None:
                bidder_no = award.bidder_no
                break
    terms = conf.terms_of(state, records, bidder_no)
    if state.award_suspended:
        raise WebError(409, "invalid_state", "the award is suspended: no confirmation until "
                                             "it is reinstated")
    if terms is None:
        raise WebError(409, "invalid_state", f"the lot is {state.status}: a confirmation is "
                                             "issued for an awarded lot")
    conf_id = confirmation_key(state, terms.bidder_no)
    current = await engine.aggregates.state(CONFIRMATIONS, conf_id)
    if current.issued is not None and current.issued.bidder_id == terms.bidder_id:
        raise WebError(409, "already_issued", "the confirmation is issued already")
    await refuse_barred_winners(request.config_dict, [terms.bidder_id], "confirmation", actor)
    now = engine.now()
    deadline = sign_by(settings, now)
    verify_url = f"{public_base(request)}/result/{lot_id}"
    values = conf.fields(state, terms, center_name=settings.center_name,
                         center_contact=settings.center_contact,
                         payment_days=settings.payment_days, issued_at=now, sign_by=deadline,
                         verify_url=verify_url)
    key, cert = conf.signing_files(settings.data_dir, settings.signing_key,
                                   settings.signing_cert, settings.center_name)
    pdf = await conf.make_document(state, terms, template=template_of(settings),
                                   font=conf.find_font(settings.pdf_font), key=key, cert=cert,
                                   values=values)
    # The document first goes into the object store (content-addressed, written once),
    # then the record names it by its hash: a crash between leaves an object nobody names.
    store = request.config_dict[TRADE].store
    digest = await store.put(pdf)
    command = IssueConfirmation(
        lot_id=lot_id, bidder_id=terms.bidder_id, bidder_no=terms.bidder_no,
        amount=terms.amount, deposit=terms.deposit, currency=terms.currency,
        head_seq=terms.head_seq, head_hash=terms.head_hash,
        document_sha256=digest, sign_by=deadline, actor=actor)
    try:
        await engine.aggregates.execute(CONFIRMATIONS, conf_id, command)
    except Refused as exc:
        raise refused(exc) from None
    done = await engine.aggregates.state(CONFIRMATIONS, conf_id)
    return {**view(done, state.params.decimals, lot_id), "file": store.where(digest)}


async def issue_confirmation(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await read_body(request)
    result = await issue(request, request.match_info["lot_id"], host.staff_id,
                         body.bidder_no)
    result.pop("file")
    return json_response(result, 201)


async def _reader(request: web.Request) -> tuple[str, Confirmation, int]:
    """The lot, the confirmation read and its decimals, for staff or the lot's winner: in
    a multi-unit lot the winner's own, or for staff that of the winner ``?bidder_no=``
    names (default: the first)."""
    lot_id = request.match_info["lot_id"]
    state, _ = await _lot(request, lot_id)
    claims = await bidder_of(request, lot_id)
    number = claims.bidder_no if claims is not None else request.query.get("bidder_no")
    confirmation = await request.config_dict[ENGINE].aggregates.state(
        CONFIRMATIONS, confirmation_key(state, number))
    if claims is None:
        if staff_of(request) is None:
            raise WebError(401, "unauthorized", "a staff token or the winner's token")
    elif confirmation.issued is None or confirmation.issued.bidder_id != claims.bidder_id:
        raise WebError(403, "forbidden", "only the winner reads the confirmation")
    return lot_id, confirmation, state.params.decimals


async def get_confirmation(request: web.Request) -> web.Response:
    lot_id, confirmation, decimals = await _reader(request)
    return json_response(view(confirmation, decimals, lot_id))


async def confirmation_pdf(request: web.Request) -> web.StreamResponse:
    lot_id, confirmation, _ = await _reader(request)
    issued = confirmation.issued
    data = (await request.config_dict[TRADE].store.get(issued.document_sha256)
            if issued is not None else None)
    if data is None:
        raise WebError(404, "not_issued", "no confirmation has been issued for this lot")
    return web.Response(body=data, headers={
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="confirmation-{lot_id}.pdf"'})


async def sign_confirmation(request: web.Request) -> web.Response:
    """The winner signs (accepts) the issued document, naming it by its SHA-256."""
    lot_id = request.match_info["lot_id"]
    state, _ = await _lot(request, lot_id)
    claims = await bidder_of(request, lot_id)
    if claims is None:
        if staff_of(request) is not None:
            raise WebError(403, "forbidden", "the winner signs with its own token, not staff")
        raise WebError(401, "unauthorized", "the winner signs with its own token")
    engine = request.config_dict[ENGINE]
    key = confirmation_key(state, claims.bidder_no)
    current = await engine.aggregates.state(CONFIRMATIONS, key)
    if current.issued is not None and current.issued.bidder_id != claims.bidder_id:
        raise WebError(403, "forbidden", "only the winner signs the confirmation")
    body = await read_body(request)
    try:
        await engine.aggregates.execute(CONFIRMATIONS, key, SignConfirmation(
            bidder_id=claims.bidder_id, document_sha256=body.document_sha256,
            actor=claims.bidder_no))
    except Refused as exc:
        raise refused(exc) from None
    done = await engine.aggregates.state(CONFIRMATIONS, key)
    return json_response(view(done, state.params.decimals, lot_id))


# ------------------------------------------------------------------------ result notice


async def publish_notice(request: web.Request, lot_id: str, trade_kind: str,
                         actor: str) -> ResultNotice:
    """Publish the result notice of the ended lot ``lot_id`` (nothing changes when it is
    published already). Its winners are checked against the barred list first (409
    ``winner_barred``, nothing published)."""
    settings: Settings = request.config_dict[SETTINGS]
    engine = request.config_dict[ENGINE]
    state, records = await durable_lot(request, lot_id)
    _ended(state)
    _, ended = _times(records)
    assert ended is not None  # an ended lot has closed or been cancelled
    days, ends = notice_period(settings, ended, trade_kind)
    if (await engine.aggregates.state(RESULT_NOTICES, lot_id)).published is None:
        await refuse_barred_winners(request.config_dict,
                                    [a.bidder_id for a in awards_of(state)],
                                    "result_notice", actor)
    command = PublishNotice(lot_id=lot_id, trade_kind=trade_kind, working_days=days,
                            starts_at=ended, ends_at=ends, issuer=settings.center_name,
                            contact=settings.center_contact,
                            bidders=sorted(state.bidders), actor=actor)
    try:
        await engine.aggregates.execute(RESULT_NOTICES, lot_id, command)
    except Refused as exc:
        raise refused(exc) from None
    notice: ResultNotice = await engine.aggregates.state(RESULT_NOTICES, lot_id)
    return notice


async def publish(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await read_body(request)
    notice = await publish_notice(request, request.match_info["lot_id"], body.trade_kind,
                                  host.staff_id)
    return json_response(full_view(notice), 201)


async def get_notice(request: web.Request) -> web.Response:
    """The notice: public; staff see who objected and what; a bidder its own."""
    lot_id = request.match_info["lot_id"]
    state, _ = await _lot(request, lot_id)
    _ended(state)
    notice = await request.config_dict[ENGINE].aggregates.state(RESULT_NOTICES, lot_id)
    token = bearer(request)
    if token is not None and looks_like_bidder_token(token):
        claims = bidder_claims(request, token, lot_id, state)
        return json_response(full_view(notice, claims.bidder_id) if claims
                             else public_view(notice))
    staff = staff_of(request, public=True)
    return json_response(full_view(notice) if staff else public_view(notice))


async def file_objection(request: web.Request) -> web.Response:
    """A bidder of the lot objects, during the publicity period (publishing the notice
    with the default kind of trade when staff have not yet)."""
    lot_id = request.match_info["lot_id"]
    state, _ = await _lot(request, lot_id)
    claims = await bidder_of(request, lot_id)
    if claims is None:
        if staff_of(request) is not None:
            raise WebError(403, "forbidden", "objections are filed by the lot's bidders")
        raise WebError(401, "unauthorized", "a bidder of the lot files an objection")
    body = await read_body(request)
    engine = request.config_dict[ENGINE]
    if (await engine.aggregates.state(RESULT_NOTICES, lot_id)).published is None:
        await publish_notice(request, lot_id, "default", "system")
    try:
        await engine.aggregates.execute(RESULT_NOTICES, lot_id, FileObjection(
            bidder_id=claims.bidder_id, bidder_no=claims.bidder_no, text=body.text,
            actor=claims.bidder_no))
    except Refused as exc:
        raise refused(exc) from None
    notice = await engine.aggregates.state(RESULT_NOTICES, lot_id)
    return json_response(full_view(notice, claims.bidder_id), 201)


async def answer_objection(request: web.Request) -> web.Response:
    host = require_host(request)
    lot_id = request.match_info["lot_id"]
    await _lot(request, lot_id)
    body = await read_body(request)
    engine = request.config_dict[ENGINE]
    try:
        await engine.aggregates.execute(RESULT_NOTICES, lot_id, AnswerObjection(
            objection_id=request.match_info["objection_id"], outcome=body.outcome,
            effect=body.effect or "", reason=body.reason, actor=host.staff_id))
    except Refused as exc:
        raise refused(exc) from None
    live = await engine.find(lot_id)
    if body.outcome == "upheld" and live is not None and live.status == "awarded" and not (
            body.effect == "suspended" and live.award_suspended):
        # The award changes in the lot's own record too (AwardChanged).
        _checked(await engine.execute(lot_id, ChangeAward(
            actor=host.staff_id, reason=body.reason, effect=body.effect or "")))
    notice = await engine.aggregates.state(RESULT_NOTICES, lot_id)
    return json_response(full_view(notice))


async def change_award(request: web.Request) -> web.Response:
    """A host suspends, annuls or reinstates the award (after an objection's review)."""
    host = require_host(request)
    lot_id = request.match_info["lot_id"]
    await _lot(request, lot_id)
    body = await read_body(request)
    return await run_command(request, lot_id, ChangeAward(
        actor=host.staff_id, reason=body.reason, effect=body.effect))


# ------------------------------------------------------------------------ national feed


async def _national(request: web.Request, lot_id: str) -> dict[str, Any] | None:
    settings: Settings = request.config_dict[SETTINGS]
    engine = request.config_dict[ENGINE]
    state, records = await _lot(request, lot_id)
    if state.status not in RESULT_STATUSES:
        return None
    return national_result(
        state, records, platform_code=settings.platform_code,
        region_code=settings.region_code, center_name=settings.center_name,
        notice=await engine.aggregates.state(RESULT_NOTICES, lot_id),
        confirmation=await engine.aggregates.state(CONFIRMATIONS, lot_id),
        generated_at=engine.now())


async def lot_national(request: web.Request) -> web.Response:
    """The ended lot's 交易结果信息 in the national platform's layout (staff)."""
    require_staff(request)
    lot_id = request.match_info["lot_id"]
    row = await _national(request, lot_id)
    if row is None:
        raise WebError(409, "not_ended", "the lot has not ended")
    return json_response({"records": [row], "unfilled": dict(UNFILLED)})


async def all_national(request: web.Request) -> web.Response:
    """Every ended lot's 交易结果信息 (staff; ``?session_id=`` filters)."""
    require_staff(request)
    engine = request.config_dict[ENGINE]
    session_id = request.query.get("session_id")
    rows = []
    for lot_id in engine.lot_ids():
        live = await engine.find(lot_id)
        if live is None or (session_id is not None and live.session_id != session_id):
            continue
        row = await _national(request, lot_id)
        if row is not None:
            rows.append(row)
    return json_response({"records": rows, "unfilled": dict(UNFILLED)})


# ------------------------------------------------------------------------ default


#: Timing parameters of a lot that a relisting does not copy (they are in the past).
_TIMING = ("opens_at", "closes_at", "max_closes_at", "duration_s")


async def declare_default(request: web.Request) -> web.Response:
    """The winner defaulted: forfeit its deposit, then the runner-up or a relisting (a
    new draft lot made first, then the default recorded naming it, then the new lot
    linked to this one)."""
    host = require_host(request)
    lot_id = request.match_info["lot_id"]
    state, records = await _lot(request, lot_id)
    body = await read_body(request)
    engine = request.config_dict[ENGINE]
    if body.then != RELIST:
        return await run_command(request, lot_id, DeclareDefault(
            actor=host.staff_id, reason=body.reason, then=body.then))
    if body.start_price is None:
        raise WebError(400, "invalid_params", "start_price: the relisted lot's start price")
    try:
        start = parse_amount(body.start_price, state.params.decimals)
    except InvalidAmount as exc:
        raise WebError(400, "invalid_amount", f"start_price: {exc.message}") from None
    created = records[0].event
    assert isinstance(created, LotCreated)
    params = {k: v for k, v in created.params.items() if k not in _TIMING}
    params["start_price"] = body.start_price
    params["duration_s"] = body.duration_s or created.params.get("duration_s") or 3600
    attempt = state.attempt + 1
    new_id = f"{lot_id}-R{attempt}"
    title = f"{created.title}（第{attempt}次挂牌）"
    default = DeclareDefault(actor=host.staff_id, reason=body.reason, then=RELIST,
                             new_lot_id=new_id, start_price=start)
    _checked(decide(state, default, engine.now()))  # refused here: nothing is made
    existing = await engine.find(new_id)  # made by an attempt that stopped before the default
    if existing is None or existing.status != "draft" or existing.relist_of is not None:
        _checked(await engine.execute(new_id, CreateLot(
            lot_id=new_id, session_id=state.session_id, format=state.format, title=title,
            params=params, actor=host.staff_id, reason=f"relisting of {lot_id}")))
    _checked(await engine.execute(lot_id, default))
    return await run_command(request, new_id, LinkRelisting(
        actor=host.staff_id, prev_lot_id=lot_id, attempt=attempt, reason=body.reason))
