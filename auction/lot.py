"""The lot decider: lifecycle, eligibility and bidding, as ``decide`` and ``evolve``.

``decide(state, command, now)`` never changes ``state``; it returns the events the
command causes, or a :class:`Rejection`. ``evolve(state, event)`` applies one event
*in place* and returns the state (a lot folds thousands of bids; copying its state on
every bid would make replay quadratic). Use :func:`replay` to rebuild a state.

Time: an open lot whose ``closes_at`` has come is over for every command, even before the
:class:`Tick` that records its close is decided, so the outcome never depends on how
late a timer fires.
"""

import copy
import dataclasses
import typing
from collections.abc import Callable, Iterable
from typing import Any

from auction import (  # noqa: F401 (importing a format module registers the format)
    clock,
    default,
    deposits,
    english,
    listing_timed,
    messaging,
    multi_round,
    sealed,
    signing,
    witnessed,
)
from auction.errors import InvalidAmount, InvalidParams, RecordError
from auction.formats import FORMATS, of, short_of_bidders
from auction.model import (
    SYSTEM,
    Act,
    Announced,
    BidAccepted,
    BidderRegistered,
    CancelLot,
    CloseExtended,
    Command,
    ConfirmDeposit,
    CreateLot,
    Decision,
    DepositConfirmed,
    DrawCommitted,
    EnrollKey,
    Event,
    ExtendLot,
    KeyEnrolled,
    LotAwarded,
    LotCancelled,
    LotClosed,
    LotCreated,
    LotDrawn,
    LotFailed,
    LotOpened,
    LotPaused,
    LotResumed,
    LotScheduled,
    PauseLot,
    PlaceBid,
    QuestionAnswered,
    QuestionAsked,
    RegisterBidder,
    Rejection,
    ResumeLot,
    RevokeTokens,
    ScheduleLot,
    StartLot,
    Tick,
    TokensRevoked,
)
from auction.money import max_minor
from auction.state import (
    AWARDED,
    CANCELLED,
    CLOSED,
    DRAFT,
    ENDED,
    FAILED,
    OPEN,
    PAUSED,
    SCHEDULED,
    AcceptedBid,
    Award,
    Bidder,
    EnrolledKey,
    LotState,
    Outcome,
)

#: Every command :func:`decide` takes: the lot's own (:data:`auction.model.Command`) and
#: those of the modules built on it (a winner's default, a relisting, a changed award).
#: What a process may forward to a lot's owner (:mod:`engine.ownership`).
COMMANDS: tuple[type, ...] = (*typing.get_args(Command), default.DeclareDefault,
                              default.LinkRelisting, default.ChangeAward)
#: Commands given by staff (or the registration desk): each names its actor.
_STAFF_COMMANDS = (RegisterBidder, ConfirmDeposit, ScheduleLot, StartLot, PauseLot, ResumeLot,
                   ExtendLot, CancelLot, RevokeTokens, *deposits.SETTLE_COMMANDS,
                   default.DeclareDefault, default.LinkRelisting, default.ChangeAward)
#: Staff commands whose reason may be left out (``""``): routine desk work (creating a
#: lot, registering a bidder, confirming a deposit) and following the published plan
#: (scheduling, starting). A reason given is recorded all the same. The others (pause,
#: resume, extend, cancel, revoke, settle) change what bidders were promised: their
#: reason is required.
_OPTIONAL_REASON = (RegisterBidder, ConfirmDeposit, ScheduleLot, StartLot,
                    default.LinkRelisting)
#: Longest free text (ids, titles, names, reasons, accounts, client details) the record takes.
MAX_TEXT = 500


def decide(state: LotState | None, cmd: Command, now: int) -> Decision:
    """The events ``cmd`` causes at server time ``now`` (ms), or why it is refused."""
    if state is None:
        if isinstance(cmd, CreateLot):
            return _create(cmd, now)
        return Rejection("invalid_state", "the lot does not exist")
    if isinstance(cmd, (PlaceBid, Act)):
        return _bid(state, cmd, now)
    if isinstance(cmd, EnrollKey):
        return _enrol(state, cmd, now)
    if isinstance(cmd, Tick):
        return _tick(state, cmd, now)
    if isinstance(cmd, messaging.COMMANDS):
        return messaging.decide(state, cmd, now, _bad_text, _over(state, now))
    if isinstance(cmd, witnessed.COMMANDS):
        if _bad_text(cmd.actor) or _bad_text(cmd.reason, required=False):
            return Rejection("invalid_params", "the actor is required; the reason is text "
                                               f"of at most {MAX_TEXT} characters")
        return witnessed.decide(state, cmd, now, _over(state, now))
    if isinstance(cmd, CreateLot):
        return Rejection("exists", "the lot exists already")
    if not isinstance(cmd, _STAFF_COMMANDS):
        return Rejection("invalid_params", f"unknown command {type(cmd).__name__}")
    if _bad_text(cmd.actor):
        return Rejection("invalid_params", "the actor is required")
    if isinstance(cmd, _OPTIONAL_REASON) and _bad_text(cmd.reason, required=False):
        return Rejection("invalid_params", f"the reason is text of at most {MAX_TEXT} "
                                           "characters")
    if isinstance(cmd, RegisterBidder):
        return _register(state, cmd, now)
    if isinstance(cmd, ConfirmDeposit):
        return _deposit(state, cmd, now)
    if isinstance(cmd, RevokeTokens):
        return _revoke(state, cmd, now)
    if isinstance(cmd, deposits.SETTLE_COMMANDS):
        return _settle(state, cmd, now)
    if isinstance(cmd, (default.DeclareDefault, default.ChangeAward)):
        if _bad_text(cmd.reason, required=False):
            return Rejection("invalid_params", f"the reason must be at most {MAX_TEXT} "
                                               "characters")
        if isinstance(cmd, default.ChangeAward):
            return default.decide_change(state, cmd, now)
        return default.decide_default(state, cmd, now)
    if isinstance(cmd, default.LinkRelisting):
        return default.decide_link(state, cmd, now)
    if isinstance(cmd, ScheduleLot):
        return _schedule(state, cmd, now)
    if isinstance(cmd, StartLot):
        if state.status != SCHEDULED:
            return Rejection("invalid_state", "only a scheduled lot can be started")
        if state.opens_at is not None and now < state.opens_at:
            return Rejection("too_early", "the lot opens by itself at its opens_at")
        return _start(state, cmd, now)
    return _staff(state, cmd, now)


def _schedule(state: LotState, cmd: ScheduleLot, now: int) -> Decision:
    """A draft lot is scheduled (opening by itself at ``opens_at`` when given); a
    scheduled lot not open yet is rescheduled to a new ``opens_at``. The opening time is
    in the future and before the lot's fixed ``closes_at``, if it has one."""
    if state.status != DRAFT and not (state.status == SCHEDULED and cmd.opens_at is not None):
        return Rejection("invalid_state", "only a draft lot can be scheduled, and only a "
                                          "scheduled lot rescheduled to a new opening time")
    if cmd.opens_at is not None:
        if cmd.opens_at <= now:
            return Rejection("invalid_params", "opens_at must be in the future")
        closes_at = state.params.closes_at
        if closes_at is not None and cmd.opens_at >= closes_at:
            return Rejection("invalid_params", "opens_at must be before the lot's closes_at")
    return [LotScheduled(at=now, actor=cmd.actor, reason=cmd.reason, opens_at=cmd.opens_at)]


def _start(state: LotState, cmd: StartLot, now: int) -> Decision:
    """The format opens the lot; the staff's reason goes into its ``LotOpened``. A lot
    with fewer eligible bidders than its ``min_bidders`` fails instead
    (``too_few_bidders``)."""
    if short_of_bidders(state):
        return [LotFailed(at=now, actor=cmd.actor, reason="too_few_bidders")]
    opened = witnessed.on_open(state, of(state).open(state, now, cmd.actor, cmd))
    if isinstance(opened, Rejection) or not cmd.reason:
        return opened
    return [dataclasses.replace(e, reason=cmd.reason) if isinstance(e, LotOpened) else e
            for e in opened]


def _bad_text(value: object, *, required: bool = True) -> bool:
    """Whether ``value`` cannot go into the record as text: not a ``str``, blank when
    ``required``, longer than :data:`MAX_TEXT`, or holding NUL or a lone surrogate
    (neither survives UTF-8 and JSON storage)."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        return True
    if not value.isascii():  # (ASCII has no surrogate: nothing to encode)
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
    return required and not value.strip()


def _due(state: LotState, now: int) -> bool:
    """Whether the lot is open and can accept nothing more (its format says when)."""
    return state.status == OPEN and of(state).over(state, now)


def _over(state: LotState, now: int) -> bool:
    """Whether the lot has ended, or is due to close at ``now``."""
    return state.status in ENDED or _due(state, now)


def _create(cmd: CreateLot, now: int) -> Decision:
    if cmd.format not in FORMATS:
        return Rejection("invalid_params", f"unknown format {cmd.format!r}")
    if _bad_text(cmd.lot_id) or _bad_text(cmd.session_id, required=False) or _bad_text(cmd.actor):
        return Rejection("invalid_params", "lot id and actor are required")
    if _bad_text(cmd.title):
        return Rejection("invalid_params", f"title must be 1 to {MAX_TEXT} characters")
    if _bad_text(cmd.reason, required=False):
        return Rejection("invalid_params", f"the reason is text of at most {MAX_TEXT} "
                                           "characters")
    try:
        fmt = FORMATS[cmd.format]
        fmt.admit(fmt.parse(default.parse_policy(signing.parse_mode(cmd.params)[1])[1]))
    except (InvalidParams, InvalidAmount) as exc:
        return Rejection(exc.code, exc.message)
    return [LotCreated(at=now, actor=cmd.actor, lot_id=cmd.lot_id, session_id=cmd.session_id,
                       format=cmd.format, title=cmd.title, params=copy.deepcopy(dict(cmd.params)),
                       reason=cmd.reason)]


def _register(state: LotState, cmd: RegisterBidder, now: int) -> Decision:
    if (_bad_text(cmd.bidder_id) or _bad_text(cmd.bidder_no) or cmd.bidder_no == SYSTEM
            or _bad_text(cmd.name, required=False)):
        return Rejection("invalid_params", "bidder id and number are required")
    if _over(state, now):
        return Rejection("invalid_state", "registration has ended")
    if cmd.bidder_id in state.bidders:
        return Rejection("already_registered")
    if cmd.bidder_no in state.numbers:
        return Rejection("number_taken")
    return [BidderRegistered(at=now, actor=cmd.actor, bidder_id=cmd.bidder_id,
                             bidder_no=cmd.bidder_no, name=cmd.name, reason=cmd.reason)]


def _deposit(state: LotState, cmd: ConfirmDeposit, now: int) -> Decision:
    if _bad_text(cmd.bidder_id) or _bad_text(cmd.account, required=False):
        return Rejection("invalid_params", "bidder id and account must be text")
    if (isinstance(cmd.amount, bool) or not isinstance(cmd.amount, int)
            or cmd.amount > max_minor(state.params.decimals)):
        return Rejection("invalid_amount", "the deposit must be whole minor units, at most "
                                           "the money maximum")
    if _over(state, now):
        return Rejection("invalid_state", "the lot has ended")
    if cmd.bidder_id not in state.bidders:
        return Rejection("unknown_bidder")
    if cmd.amount <= 0 or cmd.amount < state.params.deposit:
        return Rejection("deposit_too_low")
    return [DepositConfirmed(at=now, actor=cmd.actor, bidder_id=cmd.bidder_id,
                             amount=cmd.amount, account=cmd.account, reason=cmd.reason)]


def _revoke(state: LotState, cmd: RevokeTokens, now: int) -> Decision:
    """Allowed whatever the lot's status: it takes nothing from the bidder but a token."""
    if not isinstance(cmd.reason, str) or not cmd.reason.strip():
        return Rejection("reason_required")
    if _bad_text(cmd.reason) or _bad_text(cmd.bidder_id):
        return Rejection("invalid_params", f"bidder id and reason are text of at most {MAX_TEXT}")
    if cmd.bidder_id not in state.bidders:
        return Rejection("unknown_bidder")
    return [TokensRevoked(at=now, actor=cmd.actor, bidder_id=cmd.bidder_id, reason=cmd.reason)]


def _settle(state: LotState, cmd: deposits.SettleCommand, now: int) -> Decision:
    """Settle a deposit after the lot ended (see :mod:`auction.deposits`)."""
    if not isinstance(cmd.reason, str) or not cmd.reason.strip():
        return Rejection("reason_required")
    if _bad_text(cmd.reason):
        return Rejection("invalid_params", f"the reason must be at most {MAX_TEXT} characters")
    return deposits.decide_settlement(state, cmd, now)


def _staff(state: LotState, cmd: PauseLot | ResumeLot | ExtendLot | CancelLot,
           now: int) -> Decision:
    """Staff actions on the clock; each needs a reason, which goes into the record."""
    if not isinstance(cmd.reason, str) or not cmd.reason.strip():
        return Rejection("reason_required")
    if _bad_text(cmd.reason):
        return Rejection("invalid_params", f"the reason must be at most {MAX_TEXT} characters")
    if isinstance(cmd, (CancelLot, PauseLot)) and _bad_text(cmd.notice, required=False):
        return Rejection("invalid_params", f"the notice must be at most {MAX_TEXT} characters")
    if isinstance(cmd, CancelLot):
        if _over(state, now):
            return Rejection("invalid_state", "the lot has ended")
        return [LotCancelled(at=now, actor=cmd.actor, reason=cmd.reason, notice=cmd.notice)]
    if isinstance(cmd, PauseLot):
        if state.status != OPEN or _due(state, now):
            return Rejection("invalid_state", "only an open lot can be paused")
        return [LotPaused(at=now, actor=cmd.actor, reason=cmd.reason, notice=cmd.notice)]
    if isinstance(cmd, ResumeLot):
        if state.paused_at is None:
            return Rejection("invalid_state", "only a paused lot can be resumed")
        if cmd.restart is not False and (cmd.restart is not True
                                         or not state.params.restart_allowed):
            return Rejection("restart_not_allowed")
        return [LotResumed(at=now, actor=cmd.actor, reason=cmd.reason,
                           paused_ms=max(0, now - state.paused_at), restart=cmd.restart)]
    if state.closes_at is None or _over(state, now):
        return Rejection("invalid_state", "only an open or paused lot can be extended")
    if isinstance(cmd.closes_at, bool) or not isinstance(cmd.closes_at, int):
        return Rejection("bad_deadline", "the new closing time must be whole milliseconds")
    # While paused, deadlines are frozen (they move on resume), so only the current
    # closing time is a bound, not ``now``.
    if cmd.closes_at <= state.closes_at:
        return Rejection("bad_deadline", "the new closing time must be later than the current")
    return [CloseExtended(at=now, actor=cmd.actor, closes_at=cmd.closes_at, reason=cmd.reason)]


def _tick(state: LotState, cmd: Tick, now: int) -> Decision:
    fmt = of(state)
    if state.status == SCHEDULED and state.opens_at is not None and now >= state.opens_at:
        if short_of_bidders(state):
            return [LotFailed(at=now, actor=SYSTEM, reason="too_few_bidders")]
        opened = fmt.open(state, now, SYSTEM, cmd)
        if isinstance(opened, Rejection):
            return [LotCancelled(at=now, actor=SYSTEM, reason=opened.code)]
        return witnessed.on_open(state, opened)
    if state.status == OPEN:
        deadline = fmt.deadline(state)
        if deadline is not None and now >= deadline:
            return fmt.tick(state, now, cmd)
        lapses = witnessed.deadline(state)
        if lapses is not None and now >= lapses:
            return witnessed.lapse(state, now)
    return []


def _bid(state: LotState, cmd: PlaceBid | Act, now: int) -> Decision:
    if state.status in (DRAFT, SCHEDULED):
        return Rejection("not_open")
    if state.status == PAUSED:
        return Rejection("paused")
    if state.status == CANCELLED:
        return Rejection("cancelled")
    if _over(state, now):
        return Rejection("closed")
    bidder = state.bidders.get(cmd.bidder_id) if isinstance(cmd.bidder_id, str) else None
    if bidder is None:
        return Rejection("not_eligible")
    if cmd.token_gen is not None and cmd.token_gen != bidder.token_gen:
        return Rejection("bad_token", "the bidder's token was revoked")
    if not state.eligible(bidder):
        return Rejection("deposit_missing")
    if (_bad_text(cmd.ip, required=False) or _bad_text(cmd.device, required=False)
            or _bad_text(cmd.ref, required=False)):
        return Rejection("invalid_params", f"ip, device and ref are text of at most {MAX_TEXT}")
    if isinstance(cmd, Act) and _bad_text(cmd.act):
        return Rejection("invalid_params", "the action is required")
    if isinstance(cmd, PlaceBid) and not (
            type(cmd.units) is int and 1 <= cmd.units <= state.params.max_units_per_bidder):
        return Rejection("bad_units")  # a multi-unit lot's cap (auction.units); else 1
    if state.signatures == "off" and cmd.signed is not None:  # (a copy only when needed)
        cmd = dataclasses.replace(cmd, signed=None)
    refused = signing.check(state, bidder, cmd)
    if refused is not None:
        return refused
    decision = (of(state).act(state, bidder, cmd, now) if isinstance(cmd, Act)
                else of(state).bid(state, bidder, cmd, now))
    if cmd.signed is None or isinstance(decision, Rejection):
        return decision
    # The signature goes on the bidder's own event (a clock may record its advance first).
    own = next((i for i, e in enumerate(decision)
                if getattr(e, "bidder_id", None) == bidder.bidder_id), 0)
    decision[own] = dataclasses.replace(decision[own], signed=dict(cmd.signed))
    return decision


def _enrol(state: LotState, cmd: EnrollKey, now: int) -> Decision:
    if _over(state, now):
        return Rejection("closed")
    bidder = state.bidders.get(cmd.bidder_id) if isinstance(cmd.bidder_id, str) else None
    if bidder is None:
        return Rejection("not_eligible")
    if cmd.token_gen is not None and cmd.token_gen != bidder.token_gen:
        return Rejection("bad_token", "the bidder's token was revoked")
    refused = signing.enrol_problem(state, bidder, cmd.alg, cmd.key, cmd.certificate)
    if refused is not None:
        return refused
    return [KeyEnrolled(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                        alg=cmd.alg, key=cmd.key, certificate=cmd.certificate)]


def next_deadline(state: LotState) -> int | None:
    """When :class:`Tick` must next be decided for this lot (ms), or None."""
    if state.status == SCHEDULED:
        return state.opens_at
    if state.status == OPEN:
        due = [d for d in (of(state).deadline(state), witnessed.deadline(state))
               if d is not None]
        return min(due, default=None)
    return None


# --------------------------------------------------------------------------- evolve


def evolve(state: LotState | None, event: Event) -> LotState:
    """Apply ``event`` to ``state`` in place (or create the state) and return it.

    Events are facts decided earlier: they are applied without re-judging them. An event
    that cannot be applied at all (a lot not starting with ``LotCreated``, a second
    ``LotCreated``) raises :class:`RecordError`.
    """
    if state is None:
        if not isinstance(event, LotCreated):
            raise RecordError("a lot's first event must be LotCreated")
        fmt = FORMATS.get(event.format)
        if fmt is None:
            raise RecordError(f"unknown format {event.format!r}")
        try:
            mode, rest = signing.parse_mode(event.params)
            policy, rest = default.parse_policy(rest)
            params = fmt.parse(rest)
        except (InvalidParams, InvalidAmount) as exc:
            raise RecordError(f"invalid parameters: {exc.message}") from None
        state = LotState(lot_id=event.lot_id, session_id=event.session_id,
                         format=event.format, title=event.title, params=params, version=1,
                         created_at=event.at, opens_at=params.opens_at, signatures=mode,
                         on_default=policy)
        witnessed.created(state)
        return state
    fmt = of(state)
    apply = _APPLY.get(type(event)) or fmt.events.get(type(event))
    if apply is None:
        raise RecordError(f"{type(event).__name__} cannot follow the first event")
    state.version += 1
    apply(state, event)
    if event.signed is not None:
        signing.note(state, event)
    fmt.after(state, event)
    return state


def _key_enrolled(s: LotState, e: KeyEnrolled) -> None:
    bidder = s.changing(e.bidder_id)
    bidder.key = EnrolledKey(e.alg, e.key, e.certificate, bidder.token_gen)


def _bid_accepted(s: LotState, e: BidAccepted) -> None:
    bidder = s.changing(e.bidder_id)
    bidder.last_bid, bidder.last_seq, bidder.last_units = e.amount, s.version, e.units
    bidder.bids += 1
    accepted = AcceptedBid(s.version, e.at, e.bidder_id, e.bidder_no, e.amount)
    s.bids.append(accepted)
    bidder.own.append(accepted)
    if s.best is None or s.better(e.amount, s.best):
        s.best, s.leader = e.amount, e.bidder_id


def _registered(s: LotState, e: BidderRegistered) -> None:
    s.bidders[e.bidder_id] = Bidder(e.bidder_id, e.bidder_no, e.name)
    s.numbers[e.bidder_no] = e.bidder_id


def _deposited(s: LotState, e: DepositConfirmed) -> None:
    bidder = s.changing(e.bidder_id)
    bidder.deposit, bidder.deposit_account = e.amount, e.account


def _revoked(s: LotState, e: TokensRevoked) -> None:
    s.changing(e.bidder_id).token_gen += 1


def _opened(s: LotState, e: LotOpened) -> None:
    s.status, s.opens_at, s.closes_at, s.max_closes_at = OPEN, e.at, e.closes_at, e.max_closes_at
    witnessed.opened(s, e)


def _extended(s: LotState, e: CloseExtended) -> None:
    s.closes_at = e.closes_at
    # Staff may extend past max_closes_at; the cap then moves with them.
    if s.max_closes_at is not None and e.closes_at > s.max_closes_at:
        s.max_closes_at = e.closes_at


def _paused(s: LotState, e: LotPaused) -> None:
    s.status, s.paused_at = PAUSED, e.at
    s.notice = e.notice or None


def _resumed(s: LotState, e: LotResumed) -> None:
    assert s.closes_at is not None  # only an opened lot can have been paused
    s.status, s.paused_at, s.notice = OPEN, None, None
    s.closes_at += e.paused_ms
    witnessed.resumed(s, e)
    if s.max_closes_at is not None:
        s.max_closes_at += e.paused_ms
    if e.restart:
        # Bidding starts again from the start price: every earlier bid (and proxy
        # maximum) is void. They stay in the record; the state forgets them.
        s.best = s.leader = None
        s.bids = []
        s.play = None
        for bidder_id in list(s.bidders):
            bidder = s.changing(bidder_id)
            bidder.last_bid, bidder.last_seq, bidder.bids, bidder.own = None, 0, 0, []


def _closed(s: LotState, e: LotClosed) -> None:
    s.status = CLOSED


def _scheduled(s: LotState, e: LotScheduled) -> None:
    s.status = SCHEDULED
    if e.opens_at is not None:
        s.opens_at = e.opens_at


def _awarded(s: LotState, e: LotAwarded) -> None:
    award = Award(e.bidder_id, e.bidder_no, e.units, e.amount)
    if s.status == AWARDED and s.outcome is not None and s.params.units > 1:
        s.outcome.awards.append(award)  # a further winner of a multi-unit lot
        return
    s.status = AWARDED
    s.outcome = Outcome(AWARDED, e.bidder_id, e.bidder_no, e.amount, at=e.at,
                        awards=[award] if s.params.units > 1 else [])


def _failed(s: LotState, e: LotFailed) -> None:
    s.status = FAILED
    s.outcome = Outcome(FAILED, reason=e.reason, at=e.at)


def _ignored(s: LotState, e: Event) -> None:
    """Events that change nothing the shared rules keep (a format may, in ``after``)."""


def _cancelled(s: LotState, e: LotCancelled) -> None:
    s.status, s.paused_at = CANCELLED, None
    s.outcome = Outcome(CANCELLED, reason=e.reason, at=e.at)
    s.notice = e.notice or None


_APPLY: dict[type[Event], Callable[[LotState, Any], None]] = {
    BidAccepted: _bid_accepted, BidderRegistered: _registered, DepositConfirmed: _deposited,
    LotScheduled: _scheduled, LotOpened: _opened, CloseExtended: _extended,
    LotPaused: _paused, LotResumed: _resumed, LotClosed: _closed,
    LotAwarded: _awarded, LotFailed: _failed, LotCancelled: _cancelled,
    TokensRevoked: _revoked, DrawCommitted: _ignored, LotDrawn: _ignored,
    KeyEnrolled: _key_enrolled,
    Announced: _ignored, QuestionAsked: messaging.asked, QuestionAnswered: messaging.answered,
    **{event_type: deposits.settled for event_type in deposits.SETTLE_EVENTS},
    default.WinnerDefaulted: default.defaulted,
    default.AwardedToRunnerUp: default.runner_up_awarded,
    default.LotRelisted: default.relisted, default.RelistedFrom: default.linked,
    default.AwardChanged: default.award_changed,
    **witnessed.APPLY,
}


def replay(events: Iterable[Event]) -> LotState | None:
    """The state reached by folding ``events`` from nothing."""
    state: LotState | None = None
    for event in events:
        state = evolve(state, event)
    return state
