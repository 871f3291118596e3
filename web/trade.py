"""HTTP routes of the trade after the auction (docs/after-the-auction.md): the transaction
confirmation (成交确认书). The rules are the pure deciders of :mod:`auction.trade`, run by
``engine.aggregates``; the PDF is made and signed by :mod:`web.confirmation`.

Who: a host issues the confirmation of an awarded lot; staff and the lot's winner read it
and download the PDF; the winner signs it within its window. The winner proves who it is
with :func:`bidder_of` (its room token today; its account once bidder accounts exist:
that one function changes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from auction.money import format_amount
from auction.trade.confirmations import (
    CONFIRMATIONS,
    Confirmation,
    IssueConfirmation,
    SignConfirmation,
)
from auction.workdays import WorkCalendar, china_date, china_midnight_ms
from engine.aggregates import Refused
from web import confirmation as conf
from web.api import _bearer, _bidder_claims, json_response, read_body, require_host, staff_of
from web.auth import BidderClaims, looks_like_bidder_token
from web.config import Settings
from web.errors import WebError
from web.keys import ENGINE, SETTINGS
from web.records import _lot

CONFIRMATIONS_DIR = "confirmations"
#: How many times (every 50 ms) an award decided in memory is awaited in the permanent
#: record before issuing its confirmation.
DURABLE_WAIT_TRIES = 100


async def bidder_of(request: web.Request, lot_id: str) -> BidderClaims | None:
    """The bidder of lot ``lot_id`` the request comes from (its room token: ``Authorization:
    Bearer``); None without a bidder token. 401 for a token that does not hold, 403 for a
    bidder of another lot. The one identity check of bidders on these routes."""
    token = _bearer(request)
    if token is None or not looks_like_bidder_token(token):
        return None
    engine = request.config_dict[ENGINE]
    state = engine.lot(lot_id)
    assert state is not None  # the caller looked the lot up
    claims = _bidder_claims(request, token, lot_id, state)
    if claims is None:
        raise WebError(403, "forbidden", "a bidder of another lot")
    return claims


def refused(exc: Refused) -> WebError:
    code = exc.rejection.code
    return WebError(400 if code == "invalid_input" else 409, code, exc.rejection.detail)


def pdf_path(settings: Settings, lot_id: str) -> Path:
    return settings.data_dir / CONFIRMATIONS_DIR / f"{lot_id}.pdf"


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
    last = WorkCalendar().add(china_date(now), settings.signing_days, "working")
    return china_midnight_ms(last) + 86_400_000 - 1


def view(state: Confirmation, decimals: int) -> dict[str, Any]:
    out: dict[str, Any] = {"lot_id": state.lot_id, "status": state.status}
    issued = state.issued
    if issued is not None:
        out.update(bidder_no=issued.bidder_no, amount=format_amount(issued.amount, decimals),
                   deposit=format_amount(issued.deposit, decimals), currency=issued.currency,
                   issued_at=issued.at, sign_by=issued.sign_by,
                   document_sha256=issued.document_sha256, head_seq=issued.head_seq,
                   head_hash=issued.head_hash,
                   pdf=f"/api/lots/{state.lot_id}/confirmation.pdf")
    if state.signed is not None:
        out["signed_at"] = state.signed.at
    return out


async def issue(request: web.Request, lot_id: str, actor: str) -> dict[str, Any]:
    """Make, sign, store and record the confirmation of the awarded lot ``lot_id``
    (what the route and the demo call)."""
    settings: Settings = request.config_dict[SETTINGS]
    engine = request.config_dict[ENGINE]
    state, records = await _lot(request, lot_id)
    terms = conf.terms_of(state, records)
    live = engine.lot(lot_id)
    for _ in range(DURABLE_WAIT_TRIES):  # the award decided, its commit still in flight
        if terms is not None or live is None or live.status != "awarded":
            break
        await asyncio.sleep(0.05)
        state, records = await _lot(request, lot_id)
        terms = conf.terms_of(state, records)
    if terms is None:
        raise WebError(409, "invalid_state", f"the lot is {state.status}: a confirmation is "
                                             "issued for an awarded lot")
    current = await engine.aggregates.state(CONFIRMATIONS, lot_id)
    if current.issued is not None:
        raise WebError(409, "already_issued", "the confirmation is issued already")
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
    path = pdf_path(settings, lot_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(pdf)
    command = IssueConfirmation(
        lot_id=lot_id, bidder_id=terms.bidder_id, bidder_no=terms.bidder_no,
        amount=terms.amount, deposit=terms.deposit, currency=terms.currency,
        head_seq=terms.head_seq, head_hash=terms.head_hash,
        document_sha256=conf.sha256(pdf), sign_by=deadline, actor=actor)
    try:
        await engine.aggregates.execute(CONFIRMATIONS, lot_id, command)
    except Refused as exc:
        partial.unlink(missing_ok=True)
        raise refused(exc) from None
    partial.replace(path)  # the file the record names, once the record holds it
    done = await engine.aggregates.state(CONFIRMATIONS, lot_id)
    return {**view(done, state.params.decimals), "file": str(path)}


async def issue_confirmation(request: web.Request) -> web.Response:
    host = require_host(request)
    await read_body(request)
    result = await issue(request, request.match_info["lot_id"], host.staff_id)
    result.pop("file")
    return json_response(result, 201)


async def _reader(request: web.Request) -> tuple[str, Confirmation, int]:
    """The lot, its confirmation and its decimals, for staff or the lot's winner."""
    lot_id = request.match_info["lot_id"]
    state, _ = await _lot(request, lot_id)
    confirmation = await request.config_dict[ENGINE].aggregates.state(CONFIRMATIONS, lot_id)
    claims = await bidder_of(request, lot_id)
    if claims is None:
        if staff_of(request) is None:
            raise WebError(401, "unauthorized", "a staff token or the winner's token")
    elif confirmation.issued is None or confirmation.issued.bidder_id != claims.bidder_id:
        raise WebError(403, "forbidden", "only the winner reads the confirmation")
    return lot_id, confirmation, state.params.decimals


async def get_confirmation(request: web.Request) -> web.Response:
    _, confirmation, decimals = await _reader(request)
    return json_response(view(confirmation, decimals))


async def confirmation_pdf(request: web.Request) -> web.StreamResponse:
    lot_id, confirmation, _ = await _reader(request)
    path = pdf_path(request.config_dict[SETTINGS], lot_id)
    if confirmation.issued is None or not path.is_file():
        raise WebError(404, "not_issued", "no confirmation has been issued for this lot")
    return web.FileResponse(path, headers={
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
    current = await engine.aggregates.state(CONFIRMATIONS, lot_id)
    if current.issued is not None and current.issued.bidder_id != claims.bidder_id:
        raise WebError(403, "forbidden", "only the winner signs the confirmation")
    body = await read_body(request)
    try:
        await engine.aggregates.execute(CONFIRMATIONS, lot_id, SignConfirmation(
            bidder_id=claims.bidder_id, document_sha256=body.document_sha256,
            actor=claims.bidder_no))
    except Refused as exc:
        raise refused(exc) from None
    done = await engine.aggregates.state(CONFIRMATIONS, lot_id)
    return json_response(view(done, state.params.decimals))
