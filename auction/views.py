"""What each audience may see of a lot: snapshots and redacted events (RULES.md visibility).

Audiences: ``public`` (anyone, no token), ``bidder`` (a registered bidder of the lot, who
also sees its own bids) and ``staff`` (hosts and supervisors: everything). Under
``price`` visibility a bidder sees exactly what the public sees, so one encoding serves
the whole room (its own details come from :func:`bidder_view`); under ``rank`` and
``blind`` each bidder has its own view. What :func:`snapshot` and :func:`redact` return
depends only on the state, the record and :func:`audience_key`, never on who else shares
the key. Amounts leave here as decimal strings.
"""

import functools
import hashlib
from typing import Any

from auction import messaging, witnessed
from auction.deposits import SETTLE_EVENTS
from auction.formats import of
from auction.model import (
    BidAccepted,
    BidderRegistered,
    DepositConfirmed,
    KeyEnrolled,
    LotAwarded,
    LotCreated,
    QuestionAnswered,
    QuestionAsked,
    TokensRevoked,
)
from auction.money import format_amount
from auction.params import public_params
from auction.record import Recorded, event_to_dict
from auction.state import DRAFT, ENDED, SCHEDULED, AcceptedBid, Bidder, LotState

PUBLIC, BIDDER, STAFF = "public", "bidder", "staff"
#: The type a non-staff audience gets for an event it may not even count (a registration
#: or a bid while the lot's ``show_counts`` hides the counts): only its sequence number.
WITHHELD = "Withheld"
#: Events of one bidder that others see only as having happened.
_COUNTED = (BidderRegistered, DepositConfirmed, TokensRevoked, *SETTLE_EVENTS)


def _own_views(state: LotState) -> bool:
    """Whether each bidder of the lot gets a view of its own: under ``rank`` and ``blind``
    visibility, and in every format but ``english`` (their bidders have their own
    standing in every phase: a confirmation, a turn, a sealed bid, a clock to answer)."""
    return state.params.visibility != "price" or state.format != "english"


def audience_key(state: LotState, audience: str, bidder_id: str | None = None) -> str:
    """Subscribers with the same key receive identical messages."""
    if audience == STAFF:
        return STAFF
    if audience == BIDDER and _own_views(state):
        return f"bidder:{bidder_id}"
    return PUBLIC


def _audience(state: LotState, audience: str) -> str:
    """``audience`` as :func:`audience_key` groups it: a bidder sharing the public view
    (see :func:`_own_views`), and anyone not staff or bidder, sees what the public sees."""
    if audience == STAFF or (audience == BIDDER and _own_views(state)):
        return audience
    return PUBLIC


def counts_hidden(state: LotState) -> bool:
    """Whether the public and the bidders may not know yet how many bidders registered
    and how many bids are in (the lot's ``show_counts``)."""
    mode = state.params.show_counts
    if mode == "after_open":
        return state.status in (DRAFT, SCHEDULED)
    return mode == "after_close" and state.status not in ENDED


def _money(state: LotState, value: int | None) -> str | None:
    return None if value is None else format_amount(value, state.params.decimals)


def snapshot(state: LotState, audience: str, bidder_id: str | None = None) -> dict[str, Any]:
    """The lot as ``audience`` may see it now (``bidder``: as ``bidder_id`` may)."""
    p = state.params
    audience = _audience(state, audience)
    shows_price = audience == STAFF or p.visibility == "price" or state.status in ENDED
    leader = state.bidders.get(state.leader) if state.leader else None
    view: dict[str, Any] = {
        "lot_id": state.lot_id, "session_id": state.session_id, "title": state.title,
        "format": state.format, "status": state.status, "seq": state.version,
        "opens_at": state.opens_at, "closes_at": state.closes_at,
        "max_closes_at": state.max_closes_at, "paused_at": state.paused_at,
        "params": public_params(p), "bidders": len(state.bidders), "bid_count": len(state.bids),
        "best": _money(state, state.best) if shows_price else None,
        "leader_no": leader.bidder_no if shows_price and leader else None,
        "next_min": None,
        "outcome": _outcome(state, audience),
    }
    if state.notice is not None:
        view["notice"] = state.notice
    fmt = of(state)
    start = fmt.start_price(state)
    if start != p.start_price:  # a format without one (or with another) says so
        view["params"] = {**view["params"], "start_price": _money(state, start)}
    if state.signatures != "off":  # the lot parameter, outside the format's own
        view["params"] = {**view["params"], "signatures": state.signatures}
    if state.on_default is not None:  # the lot parameter, outside the format's own
        view["params"] = {**view["params"], "on_default": state.on_default}
    if state.status == "open" and p.visibility == "price" and p.improve == "leader":
        view["next_min"] = _money(state, fmt.min_next_bid(state, None))
    entry = witnessed.view(state, audience == STAFF)
    if entry is not None:
        view["reserve_entry"] = entry
    if audience != STAFF and counts_hidden(state):
        view["bidders"] = view["bid_count"] = None
    if audience == STAFF:
        view["reserve"] = _money(state, p.reserve)
        view["register"] = [
            {"bidder_id": b.bidder_id, "bidder_no": b.bidder_no, "name": b.name,
             "deposit": _money(state, b.deposit), "eligible": state.eligible(b),
             "last_bid": _money(state, b.last_bid), "bids": b.bids}
            for b in state.bidders.values()]
        view["ranking"] = [b.bidder_no for b in state.ranking()]
        if state.questions:
            view["questions"] = [messaging.question_view(q, staff=True)
                                 for q in state.questions.values()]
    elif audience == BIDDER:
        view["you"] = bidder_view(state, bidder_id)
    fmt.view(state, view, audience, bidder_id)
    return view


@functools.lru_cache(maxsize=4096)
def key_id(key: str) -> str:
    """How views name a bidder's enrolled key: 16 hex digits of its SHA-256 (made once
    per key, not at every view a commit sends)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def bidder_view(state: LotState, bidder_id: str | None, *,
                bids_after: int = 0) -> dict[str, Any] | None:
    """What ``bidder_id`` may know of its own standing (None if it is not registered):
    number, eligibility, own bids, and rank and next acceptable price as far as the
    lot's visibility allows. Part of the bidder's snapshot under ``rank`` and ``blind``;
    under ``price`` the room shares the public snapshot and this is sent on its own.

    ``own_bids`` lists the bidder's bids with a sequence number above ``bids_after``
    (every bid by default): a standing sent after a commit carries only what that commit
    added, since the client already holds the rest."""
    bidder = state.bidders.get(bidder_id) if bidder_id is not None else None
    if bidder is None:
        return None
    p = state.params
    rank = None
    if p.visibility != "blind" and bidder.last_bid is not None:
        rank = _rank(state, bidder)
    hides_best = p.visibility != "price" and p.improve == "leader"
    fmt = of(state)
    view: dict[str, Any] = {
        "bidder_no": bidder.bidder_no, "eligible": state.eligible(bidder),
        "last_bid": _money(state, bidder.last_bid), "bids": bidder.bids, "rank": rank,
        "leading": state.leader == bidder.bidder_id if p.visibility != "blind" else None,
        "next_min": None if hides_best or state.status != "open"
        else _money(state, fmt.min_next_bid(state, bidder)),
        "own_bids": [b.view or _own_bid(state, b)
                     for b in _bids_after(bidder.own, bids_after)],
    }
    if state.signatures != "off":  # which key its actions are checked against, if any
        view["key"] = None if bidder.key is None else {
            "alg": bidder.key.alg, "id": key_id(bidder.key.key)}
    own = [messaging.question_view(q) for q in state.questions.values()
           if q.bidder_id == bidder.bidder_id]
    if own:
        view["questions"] = own
    fmt.bidder_view(state, view, bidder)
    return view


def _bids_after(own: list[AcceptedBid], seq: int) -> list[AcceptedBid]:
    """The tail of ``own`` (oldest first) after ``seq``, found from the end."""
    start = len(own)
    while start and own[start - 1].seq > seq:
        start -= 1
    return own[start:]


def _own_bid(state: LotState, bid: AcceptedBid) -> dict[str, Any]:
    """``bid`` as an entry of ``own_bids``, kept on the bid: the view of an accepted bid
    never changes. (Callers share these dicts: they encode them, never change them.)"""
    bid.view = {"seq": bid.seq, "at": bid.at, "amount": _money(state, bid.amount)}
    return bid.view


def _rank(state: LotState, bidder: Bidder) -> int:
    """``bidder``'s place in :meth:`LotState.ranking` (it has a bid), counted without
    sorting: 1 + the bidders ranked before it (ranking keys are unique: one seq each)."""
    sign = -1 if state.params.direction == "forward" else 1
    key = (sign * (bidder.last_bid or 0), bidder.last_seq)
    return 1 + sum(1 for b in state.bidders.values()
                   if b.last_bid is not None and (sign * b.last_bid, b.last_seq) < key)


def _outcome(state: LotState, audience: str) -> dict[str, Any] | None:
    o = state.outcome
    if o is None:
        return None
    out: dict[str, Any] = {"status": o.status, "bidder_no": o.bidder_no,
                           "amount": _money(state, o.amount), "reason": o.reason, "at": o.at}
    if audience == STAFF:
        out["bidder_id"] = o.bidder_id
    if o.awards:  # a multi-unit lot's winners (auction.units), best first
        out["awards"] = [{"bidder_no": a.bidder_no, "units": a.units,
                          "amount": _money(state, a.amount),
                          **({"bidder_id": a.bidder_id} if audience == STAFF else {})}
                         for a in o.awards]
    return out


def redact(state: LotState, record: Recorded, audience: str,
           bidder_id: str | None = None) -> dict[str, Any]:
    """Event ``record`` as ``audience`` may see it. Every audience gets every sequence
    number (gap-free); what it may not see is left out of the body."""
    event = record.event
    audience = _audience(state, audience)
    if isinstance(event, witnessed.EVENTS):  # a reserve entered late: sealed until the end
        return witnessed.redact(state, record.seq, event, audience == STAFF)
    own_rules = of(state).redact(state, record, audience, bidder_id)
    if own_rules is not None:
        return own_rules
    if audience == STAFF:
        body = event_to_dict(event)
        if "amount" in body:
            body["amount"] = _money(state, body["amount"])
        return {"seq": record.seq, **body}
    if isinstance(event, (QuestionAsked, QuestionAnswered)):
        return messaging.redact(state, record.seq, event, audience, bidder_id)
    if (isinstance(event, (BidAccepted, *_COUNTED)) and counts_hidden(state)
            and not (audience == BIDDER and event.bidder_id == bidder_id)):
        # Counting these would tell how many bidders or bids there are.
        return {"seq": record.seq, "type": WITHHELD}
    out: dict[str, Any] = {"seq": record.seq, "type": type(event).__name__, "at": event.at}
    if isinstance(event, BidAccepted):
        own = audience == BIDDER and event.bidder_id == bidder_id
        if own or state.params.visibility == "price":
            out.update(bidder_no=event.bidder_no, amount=_money(state, event.amount))
            if event.units != 1:
                out["units"] = event.units
    elif isinstance(event, (*_COUNTED, KeyEnrolled)):
        if audience == BIDDER and event.bidder_id == bidder_id:
            out["own"] = True
    elif isinstance(event, LotAwarded):
        out.update(bidder_no=event.bidder_no, amount=_money(state, event.amount))
        if event.units != 1:
            out["units"] = event.units
    elif isinstance(event, LotCreated):
        out.update(title=event.title, format=event.format)
    else:
        # a signature is for staff and the record (it would tie actions to one bidder)
        out.update((k, v) for k, v in event_to_dict(event).items()
                   if k not in ("type", "signed"))
    return out
