"""The ``multi_round`` format: rounds with turns (ProZorro style), reverse (RULES.md).

Phases of an open lot (``LotState.play.phase``):

- ``prebid``: from the opening for ``first_pause_s`` (the first pause). Every eligible
  bidder may enter ONE sealed initial bid (at most the ``ceiling`` when there is one); its
  price is seen by nobody but the bidder, staff included. At its end a lot without a
  pre-bid fails (``no_bids``); otherwise round 1 starts and every pre-bid is revealed,
  under bidder numbers only (``RoundStarted``).
- ``reveal`` (``sealing: bidder`` only, :mod:`auction.commit_reveal`): in ``prebid`` a
  bidder commits to its initial bid (``Act`` ``commit``: the hash of the price and a salt
  it keeps; the server never holds the price), one commitment per bidder. At the end of
  ``prebid`` a lot without commitments fails (``no_bids``); otherwise ``RevealOpened``
  publishes the commitments and a reveal window of ``reveal_s`` seconds opens, in which
  each bidder reveals (``Act`` ``reveal``: ``BidRevealed`` and the ``BidAccepted`` of its
  initial bid; a price above the ceiling is refused like a bid). Reveals stay sealed from
  everyone but their bidder until the window ends. At its end ``BidsVoided`` names the
  bidders who committed and did not reveal: their initial bids are void and they take no
  turns; round 1 starts among the revealed bids (or the lot fails, ``no_bids``, when none
  was revealed). Equal initial prices rank by their commitments' sequence numbers.
- ``turn``: each round gives every bidder with a pre-bid one turn of ``turn_s`` seconds,
  in order from the worst to the best current adjusted price (the order is fixed when
  the round starts). A turn lasts its full ``turn_s`` whatever the bidder does: in its
  turn a bidder may bid any number of times, each bid at least one ``step`` below the
  price it had when the turn started; the last bid of the turn counts and is revealed
  when the turn ends (``TurnEnded``), not before (not even to staff).
- ``pause``: ``pause_s`` seconds between two rounds.
- ``done``: after the last turn of the last round the lowest adjusted price wins; of
  equal adjusted prices the one reached first (earlier sequenced bid) wins.

Adjusted price: ``price / (1 + coefficient)``; coefficients (non-price criteria) are given
per bidder id, as decimal strings >= 0, and compared exactly (fractions, never floats).

Times: every phase ends at a fixed instant (events carry it). Pausing the lot, or a
staff extension (``ExtendLot``: the current phase lasts longer by the difference), moves
every later phase end; a command is judged as of ``now``: a bid arriving after a phase
end that was not ticked yet first records the phase changes due (as the Tick would),
then is judged in the phase in force.
"""

import copy
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from auction import commit_reveal
from auction.commit_reveal import (
    DEFAULT_REVEAL_S,
    SEALINGS,
    BidCommitted,
    BidderSealing,
    BidRevealed,
    RevealOpened,
)
from auction.errors import InvalidParams
from auction.formats import Format, register
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    CloseExtended,
    Command,
    Decision,
    Event,
    LotAwarded,
    LotClosed,
    LotFailed,
    LotOpened,
    LotResumed,
    PlaceBid,
    Rejection,
    Tick,
    register_event,
)
from auction.money import AMOUNT_RANGE, CURRENCY_DECIMALS, format_amount, within
from auction.params import MAX_MS, MAX_SECONDS, EnglishParams, Tier, _Reader
from auction.record import Recorded
from auction.state import ENDED, OPEN, PAUSED, Bidder, LotState

PREBID, REVEAL, TURN, PAUSE, DONE = "prebid", "reveal", "turn", "pause", "done"
MAX_ROUNDS = 100
MAX_TURN_S = 24 * 3600
_COEFFICIENT = re.compile(r"(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?")

MESSAGES.update({
    "prebid_closed": ("首轮报价已截止", "Initial bids are no longer accepted."),
})


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class MultiRoundOptions:
    rounds: int
    turn_s: int
    first_pause_s: int
    pause_s: int
    step: int
    #: ``(bidder_id, coefficient text)`` sorted by bidder id.
    coefficients: tuple[tuple[str, str], ...] = ()
    #: Who seals the initial bids: the server, or each bidder (commit-reveal).
    sealing: str = "server"
    #: The reveal window of bidder-sealed initial bids (seconds), 0 for server sealing.
    reveal_s: int = 0

    def coefficient_text(self, bidder_id: str) -> str:
        return dict(self.coefficients).get(bidder_id, "0")

    def coefficient(self, bidder_id: str) -> Fraction:
        return Fraction(self.coefficient_text(bidder_id))

    def public(self, decimals: int) -> dict[str, Any]:
        """What anyone may know: the timing and step (coefficients are shown by bidder
        number in the lot's table, never by bidder id)."""
        return {"rounds": self.rounds, "turn_s": self.turn_s,
                "first_pause_s": self.first_pause_s, "pause_s": self.pause_s,
                "step": format_amount(self.step, decimals),
                "has_coefficients": bool(self.coefficients), "sealing": self.sealing,
                "reveal_s": self.reveal_s}


def _seconds(r: _Reader, key: str, default: int, high: int) -> int:
    value = r.integer(key, 1, high)
    return default if value is None else value


def _coefficients(raw: object) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidParams("coefficients must be an object {bidder_id: \"0.05\"}",
                            "coefficients")
    out = []
    for bidder_id, text in raw.items():
        if not isinstance(text, str) or not _COEFFICIENT.fullmatch(text):
            raise InvalidParams(f"coefficients: {bidder_id!r} must be a decimal string >= 0 "
                                "with at most 6 decimals", "coefficients")
        out.append((str(bidder_id), text))
    return tuple(sorted(out))


def parse_multi_round(raw: object) -> EnglishParams:
    """Validate the parameters of a ``multi_round`` lot and type them."""
    r = _Reader(raw)
    direction = r.text("direction", "reverse", ("reverse",))
    currency = r.text("currency", "CNY", tuple(CURRENCY_DECIMALS))
    decimals = CURRENCY_DECIMALS[currency]
    deposit = r.amount("deposit", decimals, zero=True)
    step = r.amount("step", decimals)
    if step is None:
        raise InvalidParams("step is required", "step")
    ceiling = r.amount("ceiling", decimals)
    opens_at = r.integer("opens_at", 0, MAX_MS)
    rounds = r.integer("rounds", 1, MAX_ROUNDS)
    turn_s = _seconds(r, "turn_s", 120, MAX_TURN_S)
    first_pause_s = _seconds(r, "first_pause_s", 300, MAX_SECONDS)
    pause_s = _seconds(r, "pause_s", 120, MAX_TURN_S)
    coefficients = _coefficients(r.take("coefficients"))
    sealing = r.text("sealing", "server", SEALINGS)
    reveal_s = r.integer("reveal_s", 1, MAX_SECONDS)
    r.done()
    if reveal_s is not None and sealing != "bidder":
        raise InvalidParams("reveal_s applies to sealing bidder", "reveal_s")
    options = MultiRoundOptions(rounds=3 if rounds is None else rounds, turn_s=turn_s,
                                first_pause_s=first_pause_s, pause_s=pause_s, step=step,
                                coefficients=coefficients, sealing=sealing,
                                reveal_s=(reveal_s or DEFAULT_REVEAL_S)
                                if sealing == "bidder" else 0)
    return EnglishParams(
        direction=direction, currency=currency, decimals=decimals, deposit=deposit or 0,
        start_price=ceiling or step, tiers=(Tier(0, step),), step_multiple=False,
        reserve=None, ceiling=ceiling, max_jump_steps=None, opens_at=opens_at,
        closes_at=None, duration_s=first_pause_s, extend_window_s=0, extend_s=0,
        max_closes_at=None, improve="own", visibility="blind", options=options)


def _options(state: LotState) -> MultiRoundOptions:
    options: MultiRoundOptions = state.params.options
    return options


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class RoundStarted(Event):
    """Round ``round`` starts: ``order`` is the turn order (bidder numbers, worst current
    adjusted price first) and ``prices`` their prices (revealed: round 1 reveals the
    pre-bids)."""

    round: int
    order: list[str]
    prices: list[int]


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class TurnStarted(Event):
    """It is ``bidder_no``'s turn until ``ends_at``."""

    round: int
    bidder_no: str
    ends_at: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class TurnEnded(Event):
    """``bidder_no``'s turn ended; ``amount`` is what it bid (None: no bid) and ``price``
    its price now, both revealed."""

    round: int
    bidder_no: str
    amount: int | None
    price: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class RoundEnded(Event):
    """Round ``round`` ended; the next starts at ``next_at`` (None after the last)."""

    round: int
    next_at: int | None


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class Play(BidderSealing):
    """The format's state (with the commitments, reveals and voids of bidder-sealed
    initial bids: :class:`~auction.commit_reveal.BidderSealing`)."""

    phase: str = PREBID
    round: int = 0
    #: Index in ``order`` of the bidder whose turn it is (-1 outside a turn).
    turn: int = -1
    #: Bidder ids of the current round, worst first.
    order: list[str] = field(default_factory=list)
    #: When the current phase ends.
    ends_at: int = 0
    #: Bidder ids with a pre-bid, in the order of their pre-bids.
    entrants: list[str] = field(default_factory=list)
    #: Prices revealed so far, by bidder id.
    revealed: dict[str, int] = field(default_factory=dict)
    #: Whether the bidder in turn has bid in this turn.
    bid_in_turn: bool = False
    #: Holds of the clock (pause, staff extension) that began at an instant when the
    #: current phase was already due but not yet ticked: ``(began_at, ms)``; each moves
    #: the first phase end after ``began_at`` (and so every later one) by ``ms``.
    holds: list[tuple[int, int]] = field(default_factory=list)
    #: Sequence numbers of the bids not revealed yet: the initial bids (and, under bidder
    #: sealing, their reveals) until round 1 starts, then the bids of the turn in
    #: progress until it ends. A lot cancelled meanwhile keeps them unrevealed for good.
    pending: list[int] = field(default_factory=list)


def _play(state: LotState) -> Play:
    play: Play = state.play
    return play


def _next_end(play: Play, start: int, ms: int) -> int:
    """The end of a phase that starts at ``start`` and lasts ``ms``, held by the pending
    holds that began before it ends (they are used up)."""
    end = start + ms
    kept = []
    for began, held in play.holds:
        if began < end:
            end += held
        else:
            kept.append((began, held))
    play.holds = kept
    return end


def _hold(play: Play, began: int, ms: int) -> None:
    """The lot's clock stood still from ``began`` for ``ms``: every phase end after
    ``began`` moves by ``ms``."""
    if play.ends_at > began:
        play.ends_at += ms
    else:
        play.holds.append((began, ms))


def final_end(state: LotState) -> int:
    """When the last turn of the last round ends, with the bidders entered so far (the end
    of the pre-bids while nobody has entered, of the reveal window while nobody has
    revealed)."""
    o, play = _options(state), _play(state)
    n, turn, pause = len(play.entrants), o.turn_s * 1000, o.pause_s * 1000
    rest = 0
    if play.phase in (PREBID, REVEAL):
        if play.phase == PREBID and play.commits:
            # bidder sealing: the reveal window next, then the turns of those who reveal
            # (each reveal moves the end on: a lot where nobody reveals ends with it)
            rest = o.reveal_s * 1000
        if n:
            rest += o.rounds * n * turn + (o.rounds - 1) * pause
    elif play.phase == TURN:
        left = o.rounds - play.round
        rest = (n - 1 - play.turn) * turn + left * (pause + n * turn)
    else:
        left = o.rounds - play.round
        rest = left * n * turn + (left - 1) * pause
    return play.ends_at + rest + sum(ms for _, ms in play.holds)


def adjusted(state: LotState, bidder_id: str, price: int) -> Fraction:
    """``price / (1 + coefficient)``, exact."""
    return Fraction(price) / (1 + _options(state).coefficient(bidder_id))


def _key(state: LotState, bidder_id: str, price: int) -> tuple[Fraction, int]:
    """Ranking key: lower adjusted price first, then the earlier sequenced price (a
    bidder-sealed initial bid: the earlier commitment, as reveals come in any order)."""
    bidder = state.bidders[bidder_id]
    held = _play(state).commits.get(bidder_id)
    seq = held.seq if held is not None and bidder.bids == 1 else bidder.last_seq
    return adjusted(state, bidder_id, price), seq


def ranking(state: LotState, prices: dict[str, int]) -> list[str]:
    """Bidder ids of ``prices`` best first."""
    return sorted(prices, key=lambda b: _key(state, b, prices[b]))


def _current(state: LotState, play: Play) -> dict[str, int]:
    """Every entrant's current price (its last bid, revealed or not)."""
    out = {}
    for b in play.entrants:
        price = state.bidders[b].last_bid
        assert price is not None  # an entrant has its pre-bid
        out[b] = price
    return out


def _round_started(state: LotState, e: RoundStarted) -> None:
    play = _play(state)
    play.round, play.turn, play.bid_in_turn = e.round, -1, False
    play.order = [state.numbers[no] for no in e.order]
    play.revealed.update(zip(play.order, e.prices, strict=True))
    play.pending = []


def _reveal_opened(state: LotState, e: RevealOpened) -> None:
    play = _play(state)
    play.phase, play.ends_at = REVEAL, e.closes_at
    play.holds = [(b, ms) for b, ms in play.holds if b >= e.closes_at]


def _turn_started(state: LotState, e: TurnStarted) -> None:
    play = _play(state)
    play.phase, play.turn, play.bid_in_turn = TURN, play.turn + 1, False
    play.ends_at = e.ends_at
    play.holds = [(b, ms) for b, ms in play.holds if b >= e.ends_at]


def _turn_ended(state: LotState, e: TurnEnded) -> None:
    play = _play(state)
    play.revealed[state.numbers[e.bidder_no]] = e.price
    play.bid_in_turn, play.pending = False, []


def _round_ended(state: LotState, e: RoundEnded) -> None:
    play = _play(state)
    play.turn = -1
    if e.next_at is None:
        play.phase = DONE
    else:
        play.phase, play.ends_at = PAUSE, e.next_at
        play.holds = [(b, ms) for b, ms in play.holds if b >= e.next_at]


_HANDLERS: dict[type[Event], Any] = {
    RoundStarted: _round_started, TurnStarted: _turn_started, TurnEnded: _turn_ended,
    RoundEnded: _round_ended, RevealOpened: _reveal_opened, **commit_reveal.HANDLERS,
}


# --------------------------------------------------------------------------- decisions


def _start_round(state: LotState, play: Play, number: int, start: int,
                 now: int) -> list[Event]:
    prices = _current(state, play)
    order = list(reversed(ranking(state, prices)))
    first = state.bidders[order[0]]
    ends_at = _next_end(copy.deepcopy(play), start, _options(state).turn_s * 1000)
    return [RoundStarted(at=now, actor=SYSTEM, round=number,
                         order=[state.bidders[b].bidder_no for b in order],
                         prices=[prices[b] for b in order]),
            TurnStarted(at=now, actor=SYSTEM, round=number, bidder_no=first.bidder_no,
                        ends_at=ends_at)]


def _close(state: LotState, play: Play, now: int) -> list[Event]:
    assert state.closes_at is not None  # an open lot has a closing time
    closed = LotClosed(at=now, actor=SYSTEM, closes_at=state.closes_at)
    if not play.entrants:
        return [closed, LotFailed(at=now, actor=SYSTEM, reason="no_bids")]
    prices = _current(state, play)
    winner = state.bidders[ranking(state, prices)[0]]
    return [closed, LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                               bidder_no=winner.bidder_no, amount=prices[winner.bidder_id])]


def _boundary(state: LotState, play: Play, now: int) -> list[Event]:
    """The events of the end of the current phase (due at ``now``)."""
    o = _options(state)
    if play.phase == PREBID and play.commits:  # bidder sealing: reveal, then round 1
        return [commit_reveal.reveal_opened(
            state, play, now, _next_end(copy.deepcopy(play), play.ends_at, o.reveal_s * 1000))]
    if play.phase in (PREBID, REVEAL):
        void = commit_reveal.voided(state, play, now)
        if not play.entrants:
            return [*void, *_close(state, play, now)]
        return [*void, *_start_round(state, play, 1, play.ends_at, now)]
    if play.phase == PAUSE:
        return _start_round(state, play, play.round + 1, play.ends_at, now)
    bidder = state.bidders[play.order[play.turn]]
    assert bidder.last_bid is not None  # an entrant has its pre-bid
    events: list[Event] = [TurnEnded(
        at=now, actor=SYSTEM, round=play.round, bidder_no=bidder.bidder_no,
        amount=bidder.last_bid if play.bid_in_turn else None, price=bidder.last_bid)]
    scratch = copy.deepcopy(play)
    if play.turn + 1 < len(play.order):
        nxt = state.bidders[play.order[play.turn + 1]]
        return [*events, TurnStarted(
            at=now, actor=SYSTEM, round=play.round, bidder_no=nxt.bidder_no,
            ends_at=_next_end(scratch, play.ends_at, o.turn_s * 1000))]
    if play.round < o.rounds:
        return [*events, RoundEnded(at=now, actor=SYSTEM, round=play.round,
                                    next_at=_next_end(scratch, play.ends_at,
                                                      o.pause_s * 1000))]
    return [*events, RoundEnded(at=now, actor=SYSTEM, round=play.round, next_at=None),
            *_close(state, play, now)]


def advance(state: LotState, now: int) -> tuple[list[Event], Play]:
    """The events of every phase end due at ``now`` (none when nothing is due), and the
    format state they lead to (a copy: ``state`` is not changed)."""
    play = copy.deepcopy(_play(state))
    scratch = replace(state, play=play)
    events: list[Event] = []
    while play.phase != DONE and play.ends_at <= now:
        step = _boundary(scratch, play, now)
        events.extend(step)
        if isinstance(step[-1], (LotAwarded, LotFailed)):
            break
        for event in step:
            _HANDLERS[type(event)](scratch, event)
    return events, play


def _above_ceiling(state: LotState, amount: int) -> Rejection | None:
    """Why the ceiling refuses an initial bid of ``amount``, if it does."""
    ceiling = state.params.ceiling
    if ceiling is not None and amount > ceiling:
        return Rejection("above_ceiling")
    return None


def judge(state: LotState, play: Play, bidder: Bidder, amount: int) -> Rejection | None:
    """Why ``bidder`` may not bid ``amount`` in the phase ``play`` is in, or None."""
    if not within(amount, state.params.decimals):
        return Rejection("invalid_amount", AMOUNT_RANGE)
    if play.phase == PREBID:
        if _options(state).sealing == "bidder":
            return Rejection("commit_required")
        if bidder.bidder_id in play.entrants:
            return Rejection("revision_limit", "one initial bid per bidder")
        return _above_ceiling(state, amount)
    if play.phase == REVEAL:
        return Rejection("reveal_only")
    if play.phase != TURN or play.order[play.turn] != bidder.bidder_id:
        if bidder.bidder_id not in play.entrants:
            return Rejection("prebid_closed", "only bidders with an initial bid take turns")
        return Rejection("not_your_turn")
    if amount > play.revealed[bidder.bidder_id] - _options(state).step:
        return Rejection("not_improving", "lower your price by at least one step")
    return None


# --------------------------------------------------------------------------- views


def _money(state: LotState, value: int | None) -> str | None:
    return None if value is None else format_amount(value, state.params.decimals)


def _rounded(value: Fraction) -> int:
    """``value`` rounded half up to a whole number of minor units."""
    return int((value * 2 + 1) // 2)


def _row(state: LotState, bidder_id: str, price: int | None) -> dict[str, Any]:
    bidder = state.bidders[bidder_id]
    text = _options(state).coefficient_text(bidder_id)
    return {"bidder_no": bidder.bidder_no, "price": _money(state, price),
            "coefficient": text,
            "adjusted": None if price is None
            else _money(state, _rounded(adjusted(state, bidder_id, price)))}


def table(state: LotState) -> list[dict[str, Any]]:
    """Revealed prices, best first, with coefficient and adjusted price."""
    play = _play(state)
    rows = []
    for rank, bidder_id in enumerate(ranking(state, play.revealed), 1):
        rows.append({"rank": rank, **_row(state, bidder_id, play.revealed[bidder_id])})
    return rows


def play_view(state: LotState, audience: str, bidder_id: str | None) -> dict[str, Any]:
    o = _options(state)
    play: Play | None = state.play
    out: dict[str, Any] = {
        "round": 0, "rounds": o.rounds, "phase": None, "turn_no": None,
        "turn_ends_at": None, "ends_at": None, "order": [], "entrants": 0, "table": [],
        "step": _money(state, o.step), "turn_s": o.turn_s, "pause_s": o.pause_s,
        "has_coefficients": bool(o.coefficients), "you": None, "sealing": o.sealing,
        "reveal_s": o.reveal_s, "committed": 0, "revealed_count": 0, "commitments": None,
        "voided": [],
    }
    bidder = state.bidders.get(bidder_id) if bidder_id is not None else None
    if play is None:
        if audience == "bidder" and bidder is not None:
            out["you"] = {**_row(state, bidder.bidder_id, None), "entered": False,
                          "in_turn": False, "max_bid": None}
            if o.sealing == "bidder":
                out["you"].update(commitment=None, initial_revealed=False, can_commit=False,
                                  can_reveal=False)
        return out
    ended = state.status in ENDED
    in_turn = None
    if play.phase == TURN and not ended:
        in_turn = play.order[play.turn]
        out["turn_no"] = state.bidders[in_turn].bidder_no
        out["turn_ends_at"] = play.ends_at
    out.update(round=play.round, phase=DONE if ended else play.phase,
               ends_at=None if ended else play.ends_at,
               order=[state.bidders[b].bidder_no for b in play.order],
               entrants=len(play.entrants), table=table(state),
               committed=len(play.commits), revealed_count=len(play.revealed_ids),
               voided=list(play.voided),
               commitments=commit_reveal.published(state, play)
               if play.phase == REVEAL and not ended else None)
    for row in out["table"]:
        row["you"] = bidder is not None and row["bidder_no"] == bidder.bidder_no
    if audience == "bidder" and bidder is not None:
        entered = bidder.bidder_id in play.entrants
        mine = in_turn == bidder.bidder_id
        revealed = play.revealed.get(bidder.bidder_id)
        out["you"] = {
            **_row(state, bidder.bidder_id, bidder.last_bid if entered else None),
            "entered": entered, "in_turn": mine,
            "revealed": _money(state, revealed),
            "max_bid": _money(state, revealed - o.step)
            if mine and revealed and revealed > o.step else None,
        }
        if o.sealing == "bidder":
            # (``revealed`` is its price as everybody knows it: the reveal of its sealed
            # initial bid is ``initial_revealed``)
            you, standing = out["you"], commit_reveal.bidder_standing(play, bidder)
            you.update(commitment=standing["commitment"],
                       initial_revealed=standing["revealed"])
            live = state.status == OPEN
            you["can_commit"] = live and play.phase == PREBID and you["commitment"] is None
            you["can_reveal"] = (live and play.phase == REVEAL and you["commitment"] is not None
                                 and not standing["revealed"])
    return out


# --------------------------------------------------------------------------- the format


class MultiRound(Format):
    name = "multi_round"
    events = _HANDLERS

    def withholds(self, state: LotState) -> bool:
        """Initial bids and the bid of a turn in progress are unrevealed until the rounds
        reveal them: the raw record waits for the end of the lot, and for good when the
        lot was cancelled before revealing them."""
        return state.status not in ENDED or bool(self.unrevealed(state))

    def start_price(self, state: LotState) -> int | None:
        """The ceiling, when the lot has one (the most an initial bid may be)."""
        return state.params.ceiling

    def ranking(self, state: LotState) -> list[tuple[Bidder, int]]:
        """The final ranking: adjusted prices (coefficients), lowest first, equal ones by
        the earlier price; each bidder at its own (unadjusted) price."""
        prices = {b.bidder_id: b.last_bid for b in state.bidders.values()
                  if b.last_bid is not None}
        return [(state.bidders[b], prices[b]) for b in ranking(state, prices)]

    def unrevealed(self, state: LotState) -> frozenset[int]:
        play: Play | None = state.play
        return frozenset(() if play is None else play.pending)

    def parse(self, raw: object) -> EnglishParams:
        return parse_multi_round(raw)

    def deadline(self, state: LotState) -> int | None:
        return _play(state).ends_at

    def tick(self, state: LotState, now: int, cmd: Tick) -> Decision:
        return advance(state, now)[0]

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        """``commit`` (in ``prebid``) and ``reveal`` (in the reveal window) of a lot whose
        initial bids are sealed by the bidders."""
        if _options(state).sealing != "bidder" or cmd.act not in ("commit", "reveal"):
            return Rejection("not_supported", f"a multi_round lot has no action {cmd.act!r}")
        # (the lot is not over: the phase ends due at ``now`` do not end it)
        events, play = advance(state, now)
        if cmd.act == "commit":
            if play.phase != PREBID:
                return Rejection("prebid_closed")
            decided = commit_reveal.commit(play, bidder, cmd, 0, now)
        elif play.phase != REVEAL:
            return Rejection("not_reveal_time")
        else:
            decided = commit_reveal.reveal(state, play, bidder, cmd, now,
                                           lambda amount: _above_ceiling(state, amount))
        if isinstance(decided, Rejection):
            return decided
        return [*events, *decided]

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        events, play = advance(state, now)
        refused = judge(state, play, bidder, cmd.amount)
        if refused is not None:
            return refused
        return [*events, BidAccepted(
            at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
            bidder_no=bidder.bidder_no, amount=cmd.amount, ip=cmd.ip, device=cmd.device,
            ref=cmd.ref)]

    def after(self, state: LotState, event: Event) -> None:
        if isinstance(event, LotOpened):
            state.play = Play(ends_at=event.closes_at)
        play: Play | None = state.play
        if play is None or state.status in ENDED:
            return
        if isinstance(event, BidRevealed):
            play.pending = [*play.pending, state.version]
        elif isinstance(event, BidAccepted):
            play.pending = [*play.pending, state.version]
            if play.phase in (PREBID, REVEAL):
                play.entrants.append(event.bidder_id)
            else:
                play.bid_in_turn = True
            leader = ranking(state, _current(state, play))[0]
            state.leader, state.best = leader, state.bidders[leader].last_bid
        elif isinstance(event, LotResumed):
            _hold(play, event.at - event.paused_ms, event.paused_ms)
        elif isinstance(event, CloseExtended):
            began = state.paused_at if state.status == PAUSED else event.at
            assert began is not None  # a paused lot has its pause instant
            _hold(play, began, event.closes_at - final_end(state))
        state.closes_at = final_end(state)

    def min_next_bid(self, state: LotState, bidder: Bidder | None) -> int | None:
        play: Play | None = state.play
        if bidder is None or play is None:
            return None
        # (a bidder-sealed initial bid is a commitment: no price is advertised for it)
        if (play.phase == PREBID and bidder.bidder_id not in play.entrants
                and _options(state).sealing == "server"):
            return state.params.ceiling
        if play.phase == TURN and play.order[play.turn] == bidder.bidder_id:
            least = play.revealed[bidder.bidder_id] - _options(state).step
            return least if least > 0 else None
        return None

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        view["play"] = play_view(state, audience, bidder_id)
        # Nobody (staff included) sees more than what was revealed: by the award every
        # price is; a lot cancelled during a turn keeps that turn's bid unrevealed.
        play: Play | None = state.play
        revealed = {} if play is None else play.revealed
        best = ranking(state, revealed)[0] if revealed else None
        view["best"] = _money(state, revealed[best]) if best else None
        view["leader_no"] = state.bidders[best].bidder_no if best else None
        if audience == "staff":
            for row in view["register"]:
                row["last_bid"] = _money(state, revealed.get(row["bidder_id"]))
            view["ranking"] = [state.bidders[b].bidder_no for b in ranking(state, revealed)]

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        event = record.event
        base: dict[str, Any] = {"seq": record.seq, "type": type(event).__name__,
                                "at": event.at}
        if isinstance(event, (BidCommitted, BidRevealed)):
            play = _play(state)
            opened = record.seq not in play.pending and (
                play.phase not in (PREBID, REVEAL) or state.status in ENDED)
            return commit_reveal.redact(state, record, event, audience, bidder_id, opened)
        if isinstance(event, BidAccepted):
            if state.status in ENDED and record.seq not in self.unrevealed(state):
                return None
            if audience == "bidder" and event.bidder_id == bidder_id:
                return {**base, "bidder_no": event.bidder_no,
                        "amount": _money(state, event.amount), "own": True}
            if audience == "staff":
                return {**base, "actor": event.actor, "bidder_id": event.bidder_id,
                        "bidder_no": event.bidder_no, "ip": event.ip, "device": event.device,
                        "ref": event.ref}
            return base
        if isinstance(event, RoundStarted):
            return {**base, "round": event.round, "order": event.order,
                    "prices": [_money(state, p) for p in event.prices]}
        if isinstance(event, TurnEnded):
            return {**base, "round": event.round, "bidder_no": event.bidder_no,
                    "amount": _money(state, event.amount), "price": _money(state, event.price)}
        return None

    def command_of(self, event: Event) -> Command | None:
        if isinstance(event, (RoundStarted, TurnEnded)):
            return Tick()
        return commit_reveal.command_of(event)


MULTI_ROUND = register(MultiRound())
