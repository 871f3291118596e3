"""The clock formats of RULES.md: ``dutch`` and ``japanese``.

Both move a price one ``step`` every ``tick_s`` seconds from ``start_price``; the server
clock decides which level is in force.

``dutch`` (descending clock forward, ascending reverse): the price falls (rises) until it
reaches ``floor`` (``ceiling``). The first eligible bidder to accept (``Act("accept")``,
or a price bid equal to the price in force) wins at the price in force at the instant the
acceptance is sequenced. The price in force is a pure function of the clock's origin
(the opening, moved on by every pause), ``tick_s`` and the time: level
``(now - origin) // tick`` (at most the last), ``ClockStepped`` records each step. When the
last level's tick runs out with no taker the lot fails (``no_taker``).

``japanese`` (clock with drop-out): the price rises (falls) one step every tick; a bidder
stays in by confirming every level within its tick (``Act("stay")``, or a price bid equal
to the level's price: recorded as a ``BidAccepted`` at that price) or leaves
(``Act("drop")``; a bidder who does not confirm is out for good as well). Who is in at the
start: every eligible bidder may confirm the first level; from the second level on, only
those who confirmed the previous one. At the end of each tick (``LevelAdvanced``):

- two or more confirmed: the clock moves to the next level;
- one confirmed: it wins at this level;
- nobody confirmed: on the first level the lot fails (``no_bidders``); later, everyone who
  was in at this level dropped in the same tick and the winner is chosen among them at the
  previous level by ``tie_rule``: ``earliest`` (default: the one who confirmed the
  previous level first) or ``lottery`` (the verifiable draw of :mod:`auction.draw`).

A clock that cannot move on (the next level would be zero or less, or above the money
maximum of :mod:`auction.money`) ends at its level: the bidders who confirmed it are tied
and ``tie_rule`` chooses among them.
"""

from dataclasses import dataclass, field
from typing import Any

from auction.draw import commitment, draw
from auction.errors import InvalidParams
from auction.formats import Format, register
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    Command,
    Decision,
    DrawCommitted,
    Event,
    LotAwarded,
    LotClosed,
    LotDrawn,
    LotFailed,
    LotOpened,
    LotResumed,
    PlaceBid,
    Rejection,
    StartLot,
    Tick,
    register_event,
)
from auction.money import AMOUNT_RANGE, CURRENCY_DECIMALS, format_amount, within
from auction.params import DIRECTIONS, MAX_MS, MAX_SECONDS, EnglishParams, Tier, _Reader
from auction.record import Recorded
from auction.state import OPEN, Bidder, LotState

MESSAGES.update({
    "not_price_in_force": ("报价与当前时钟价格不符",
                           "The amount is not the clock's price in force."),
    "out_of_clock": ("您已退出本次时钟竞价", "You are out of this clock auction."),
    "already_confirmed": ("您已确认本轮价格", "You have already confirmed this level."),
    "draw_unavailable": ("摇号种子不可用或与公布的承诺不符",
                         "The draw seed is missing or does not match its commitment."),
})

TIE_RULES = ("earliest", "lottery")


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class ClockStepped(Event):
    """A dutch clock moved to ``level`` (0 is the start price): ``amount`` is now in force."""

    level: int
    amount: int


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class LevelAdvanced(Event):
    """A japanese clock moved to ``level`` at ``amount``: ``remaining`` bidders are in
    (they confirmed the previous level), ``dropped`` (bidder numbers) left at the previous
    level's tick; the new level must be confirmed before ``closes_at``."""

    level: int
    amount: int
    closes_at: int
    remaining: int
    dropped: list[str]


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidderDropped(Event):
    """A bidder of a japanese clock left it at ``level`` (``Act("drop")``)."""

    bidder_id: str
    bidder_no: str
    level: int
    ip: str = ""
    device: str = ""
    ref: str = ""


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class DutchOptions:
    tick_s: int
    #: The floor (forward) or ceiling (reverse): the clock's last price.
    limit: int
    direction: str

    @property
    def tick_ms(self) -> int:
        return self.tick_s * 1000

    def public(self, decimals: int) -> dict[str, Any]:
        key = "floor" if self.direction == "forward" else "ceiling"
        return {"tick_s": self.tick_s, key: format_amount(self.limit, decimals)}


@dataclass(frozen=True, slots=True)
class JapaneseOptions:
    tick_s: int
    tie_rule: str

    @property
    def tick_ms(self) -> int:
        return self.tick_s * 1000

    def public(self, decimals: int) -> dict[str, Any]:
        return {"tick_s": self.tick_s, "tie_rule": self.tie_rule}


def _common(r: _Reader) -> tuple[str, str, int, int, int, int, int, int | None]:
    """direction, currency, decimals, deposit, start_price, step, tick_s, opens_at."""
    direction = r.text("direction", "forward", DIRECTIONS)
    currency = r.text("currency", "CNY", tuple(CURRENCY_DECIMALS))
    decimals = CURRENCY_DECIMALS[currency]
    deposit = r.amount("deposit", decimals, zero=True) or 0
    start_price = r.amount("start_price", decimals)
    if start_price is None:
        raise InvalidParams("start_price is required", "start_price")
    step = r.amount("step", decimals)
    if step is None:
        raise InvalidParams("step is required", "step")
    tick_s = r.integer("tick_s", 1, 24 * 3600)
    if tick_s is None:
        raise InvalidParams("tick_s is required", "tick_s")
    opens_at = r.integer("opens_at", 0, MAX_MS)
    return direction, currency, decimals, deposit, start_price, step, tick_s, opens_at


def _params(direction: str, currency: str, decimals: int, deposit: int, start_price: int,
            step: int, opens_at: int | None, ceiling: int | None, options: Any
            ) -> EnglishParams:
    return EnglishParams(
        direction=direction, currency=currency, decimals=decimals, deposit=deposit,
        start_price=start_price, tiers=(Tier(0, step),), step_multiple=True, reserve=None,
        ceiling=ceiling, max_jump_steps=None, opens_at=opens_at, closes_at=None,
        duration_s=None, extend_window_s=0, extend_s=0, max_closes_at=None,
        improve="leader", visibility="price", options=options)


#: Most price levels a dutch clock may have (its whole run must fit in MAX_SECONDS too).
MAX_LEVELS = 100_000


def parse_dutch(raw: object) -> EnglishParams:
    r = _Reader(raw)
    direction, currency, decimals, deposit, start, step, tick_s, opens_at = _common(r)
    key = "floor" if direction == "forward" else "ceiling"
    other = "ceiling" if key == "floor" else "floor"
    limit = r.amount(key, decimals)
    if r.take(other) is not None:
        raise InvalidParams(f"a {direction} dutch clock has a {key}, not a {other}", other)
    r.done()
    if limit is None:
        raise InvalidParams(f"{key} is required", key)
    if (limit >= start) if direction == "forward" else (limit <= start):
        raise InvalidParams(f"the {key} must be {'below' if key == 'floor' else 'above'} "
                            "start_price", key)
    levels = -(-abs(start - limit) // step) + 1
    if levels > MAX_LEVELS or levels * tick_s > MAX_SECONDS:
        raise InvalidParams("the clock has too many levels", "step")
    options = DutchOptions(tick_s=tick_s, limit=limit, direction=direction)
    return _params(direction, currency, decimals, deposit, start, step, opens_at,
                   limit if direction == "reverse" else None, options)


def parse_japanese(raw: object) -> EnglishParams:
    r = _Reader(raw)
    direction, currency, decimals, deposit, start, step, tick_s, opens_at = _common(r)
    tie_rule = r.text("tie_rule", "earliest", TIE_RULES)
    r.done()
    options = JapaneseOptions(tick_s=tick_s, tie_rule=tie_rule)
    return _params(direction, currency, decimals, deposit, start, step, opens_at, None, options)


# --------------------------------------------------------------------------- shared


def _money(state: LotState, value: int | None) -> str | None:
    return None if value is None else format_amount(value, state.params.decimals)


def _acceptance(bidder: Bidder, cmd: PlaceBid | Act, amount: int, now: int) -> BidAccepted:
    return BidAccepted(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                       bidder_no=bidder.bidder_no, amount=amount, ip=cmd.ip,
                       device=cmd.device, ref=cmd.ref)


def _bad_amount(state: LotState, amount: object) -> bool:
    return not within(amount, state.params.decimals)


def _tick_ms(p: EnglishParams) -> int:
    options: DutchOptions | JapaneseOptions = p.options
    return options.tick_ms


def _open(now: int, actor: str, closes_in_ms: int) -> list[Event]:
    """``LotOpened``: the clock starts when the lot actually opens (by staff, or by the
    first Tick at ``opens_at`` however late), closing ``closes_in_ms`` later."""
    return [LotOpened(at=now, actor=actor, closes_at=now + closes_in_ms, max_closes_at=None)]


# --------------------------------------------------------------------------- dutch


@dataclass(slots=True)
class DutchPlay:
    #: The clock's origin: the opening instant, moved on by every pause's length.
    origin: int
    #: The level last recorded by ``ClockStepped`` (0: the start price).
    level: int = 0


def _stepped(state: LotState, event: ClockStepped) -> None:
    state.play.level = event.level


class Dutch(Format):
    name = "dutch"
    events = {ClockStepped: _stepped}

    def parse(self, raw: object) -> EnglishParams:
        return parse_dutch(raw)

    @staticmethod
    def levels(p: EnglishParams) -> int:
        o: DutchOptions = p.options
        return -(-abs(p.start_price - o.limit) // p.tiers[0].step) + 1

    @staticmethod
    def price(p: EnglishParams, level: int) -> int:
        o: DutchOptions = p.options
        moved = level * p.tiers[0].step
        if p.direction == "forward":
            return max(o.limit, p.start_price - moved)
        return min(o.limit, p.start_price + moved)

    def level_at(self, state: LotState, now: int) -> int:
        """The level in force at ``now`` (an open, unpaused lot)."""
        play: DutchPlay = state.play
        elapsed = max(0, now - play.origin)
        return min(self.levels(state.params) - 1, elapsed // _tick_ms(state.params))

    def open(self, state: LotState, now: int, actor: str, cmd: StartLot | Tick) -> Decision:
        p = state.params
        return _open(now, actor, self.levels(p) * _tick_ms(p))

    def deadline(self, state: LotState) -> int | None:
        play: DutchPlay = state.play
        assert state.closes_at is not None  # an open lot has a closing time
        if play.level >= self.levels(state.params) - 1:
            return state.closes_at
        return min(state.closes_at, play.origin + (play.level + 1) * _tick_ms(state.params))

    def tick(self, state: LotState, now: int, cmd: Tick) -> list[Event]:
        assert state.closes_at is not None  # an open lot has a closing time
        if now >= state.closes_at:
            return [LotClosed(at=now, actor=SYSTEM, closes_at=state.closes_at),
                    LotFailed(at=now, actor=SYSTEM, reason="no_taker")]
        level = self.level_at(state, now)
        return [ClockStepped(at=now, actor=SYSTEM, level=level,
                             amount=self.price(state.params, level))]

    def _take(self, state: LotState, bidder: Bidder, cmd: PlaceBid | Act, now: int
              ) -> list[Event]:
        amount = self.price(state.params, self.level_at(state, now))
        return [_acceptance(bidder, cmd, amount, now),
                LotClosed(at=now, actor=SYSTEM, closes_at=now),
                LotAwarded(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                           bidder_no=bidder.bidder_no, amount=amount)]

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        if _bad_amount(state, cmd.amount):
            return Rejection("invalid_amount", AMOUNT_RANGE)
        if cmd.amount != self.price(state.params, self.level_at(state, now)):
            return Rejection("not_price_in_force")
        return self._take(state, bidder, cmd, now)

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        if cmd.act != "accept":
            return super().act(state, bidder, cmd, now)
        return self._take(state, bidder, cmd, now)

    def after(self, state: LotState, event: Event) -> None:
        if isinstance(event, LotOpened):
            state.play = DutchPlay(origin=event.at)
        elif isinstance(event, LotResumed):
            state.play.origin += event.paused_ms

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        p = state.params
        play: DutchPlay | None = state.play
        level = 0 if play is None else play.level
        view["play"] = {
            "clock": "dutch", "level": level, "levels": self.levels(p),
            "price": _money(state, self.price(p, level)),
            "step": _money(state, p.tiers[0].step), "tick_s": p.options.tick_s,
            "limit": _money(state, p.options.limit),
            "origin": None if play is None else play.origin,
            "next_at": self.deadline(state) if state.status == OPEN else None,
        }

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        e = record.event
        if isinstance(e, ClockStepped):
            return {"seq": record.seq, "type": "ClockStepped", "at": e.at, "actor": e.actor,
                    "level": e.level, "amount": _money(state, e.amount)}
        return None

    def command_of(self, event: Event) -> Command | None:
        return Tick() if isinstance(event, ClockStepped) else None


DUTCH = register(Dutch())


# --------------------------------------------------------------------------- japanese


@dataclass(slots=True)
class JapanesePlay:
    level: int
    #: The price of the level in force.
    price: int
    #: Bidder ids in at this level (they confirmed the previous one); None on the first
    #: level, where every eligible bidder may confirm.
    members: set[str] | None = None
    #: Bidder ids that confirmed this level, in the order they did.
    confirmed: list[str] = field(default_factory=list)
    #: Bidder ids out for good.
    out: set[str] = field(default_factory=set)
    #: Who confirmed the previous level first (the ``earliest`` tie rule).
    previous_first: str | None = None
    seed_hash: str = ""


@dataclass(frozen=True, slots=True)
class _Ending:
    """What the end of the current level's tick does: advance, or end the lot."""

    advance: bool
    winner: str | None = None
    tied: tuple[str, ...] = ()
    amount: int = 0
    reason: str = ""


def _dropped(state: LotState, event: BidderDropped) -> None:
    state.play.out.add(event.bidder_id)


def _advanced(state: LotState, event: LevelAdvanced) -> None:
    play: JapanesePlay = state.play
    play.out.update(state.numbers[n] for n in event.dropped)
    play.previous_first = play.confirmed[0]
    play.members = set(play.confirmed)
    play.confirmed = []
    play.level, play.price = event.level, event.amount
    state.closes_at = event.closes_at


class Japanese(Format):
    name = "japanese"
    events = {BidderDropped: _dropped, LevelAdvanced: _advanced}

    def parse(self, raw: object) -> EnglishParams:
        return parse_japanese(raw)

    @staticmethod
    def next_price(p: EnglishParams, price: int) -> int:
        step = p.tiers[0].step
        return price + step if p.direction == "forward" else price - step

    @staticmethod
    def entrants(state: LotState, play: JapanesePlay) -> list[str]:
        """Bidder ids that were in when the level in force began (registration order):
        those who confirmed the previous level, or on the first level every eligible
        bidder."""
        if play.members is not None:
            return [b for b in state.bidders if b in play.members]
        return [b.bidder_id for b in state.bidders.values() if state.eligible(b)]

    def members(self, state: LotState, play: JapanesePlay) -> list[str]:
        """Bidder ids still in at the level in force (registration order)."""
        return [b for b in self.entrants(state, play) if b not in play.out]

    def ending(self, state: LotState, play: JapanesePlay) -> _Ending:
        p = state.params
        confirmed = play.confirmed
        if len(confirmed) == 1:
            return _Ending(False, winner=confirmed[0], amount=play.price)
        if len(confirmed) >= 2:
            if within(self.next_price(p, play.price), p.decimals):
                return _Ending(True)
            return _Ending(False, tied=tuple(confirmed), winner=confirmed[0],
                           amount=play.price)
        if play.level == 0:
            return _Ending(False, reason="no_bidders")
        tied = tuple(self.entrants(state, play))
        previous = (play.price - p.tiers[0].step if p.direction == "forward"
                    else play.price + p.tiers[0].step)
        return _Ending(False, tied=tied, winner=play.previous_first, amount=previous)

    def _advance(self, state: LotState, play: JapanesePlay, now: int) -> LevelAdvanced:
        assert state.closes_at is not None  # an open lot has a closing time
        dropped = [state.bidders[b].bidder_no for b in self.entrants(state, play)
                   if b not in play.confirmed]
        return LevelAdvanced(at=now, actor=SYSTEM, level=play.level + 1,
                             amount=self.next_price(state.params, play.price),
                             closes_at=state.closes_at + _tick_ms(state.params),
                             remaining=len(play.confirmed), dropped=sorted(dropped))

    def open(self, state: LotState, now: int, actor: str, cmd: StartLot | Tick) -> Decision:
        events = _open(now, actor, _tick_ms(state.params))
        if state.params.options.tie_rule == "lottery":
            if not cmd.seed_hash:
                return Rejection("draw_unavailable")
            events.append(DrawCommitted(at=now, actor=actor, seed_hash=cmd.seed_hash))
        return events

    def over(self, state: LotState, now: int) -> bool:
        if state.status != OPEN or state.closes_at is None or now < state.closes_at:
            return False
        if now >= state.closes_at + _tick_ms(state.params):
            return True
        return not self.ending(state, state.play).advance

    def tick(self, state: LotState, now: int, cmd: Tick) -> Decision:
        """The end of the level's tick. A timer so late that the next level's tick has run
        out too records both: the advance, then the end of the lot (nobody can have
        confirmed the next level)."""
        play: JapanesePlay = state.play
        assert state.closes_at is not None  # an open lot has a closing time
        closes_at = state.closes_at
        first: list[Event] = []
        end = self.ending(state, play)
        if end.advance:
            advanced = self._advance(state, play, now)
            if advanced.closes_at > now:
                return [advanced]
            first.append(advanced)
            closes_at = advanced.closes_at
            play = JapanesePlay(level=advanced.level, price=advanced.amount,
                                members=set(play.confirmed), out=play.out,
                                previous_first=play.confirmed[0], seed_hash=play.seed_hash)
            end = self.ending(state, play)
        closed = LotClosed(at=now, actor=SYSTEM, closes_at=closes_at)
        if end.winner is None and not end.tied:
            return [closed, LotFailed(at=now, actor=SYSTEM, reason=end.reason)]
        events: list[Event] = [*first, closed]
        winner = end.winner
        if len(end.tied) > 1 and state.params.options.tie_rule == "lottery":
            if not cmd.seed or commitment(cmd.seed) != play.seed_hash:
                return Rejection("draw_unavailable")
            numbers = [state.bidders[b].bidder_no for b in end.tied]
            candidates, index, winner_no = draw(cmd.seed, state.lot_id, numbers)
            events.append(LotDrawn(at=now, actor=SYSTEM, purpose="tie", seed=cmd.seed,
                                   candidates=candidates, index=index, winner_no=winner_no))
            winner = state.numbers[winner_no]
        assert winner is not None  # a tie has a first confirmer
        bidder = state.bidders[winner]
        events.append(LotAwarded(at=now, actor=SYSTEM, bidder_id=bidder.bidder_id,
                                 bidder_no=bidder.bidder_no, amount=end.amount))
        return events

    def _judge(self, state: LotState, bidder: Bidder, cmd: PlaceBid | Act, now: int
               ) -> Decision:
        """Events of a stay or drop at ``now``: when the level's tick is due but not yet
        recorded, the clock's advance comes first (the tick would record it anyway)."""
        play: JapanesePlay = state.play
        first: list[Event] = []
        assert state.closes_at is not None  # an open lot has a closing time
        if now >= state.closes_at:  # not over: the tick advances the clock
            advanced = self._advance(state, play, now)
            first.append(advanced)
            play = JapanesePlay(level=advanced.level, price=advanced.amount,
                                members=set(play.confirmed))
        bid = bidder.bidder_id
        if bid not in self.members(state, play):
            return Rejection("out_of_clock")
        if bid in play.confirmed:
            return Rejection("already_confirmed")
        if isinstance(cmd, Act) and cmd.act == "drop":
            return [*first, BidderDropped(at=now, actor=bidder.bidder_no, bidder_id=bid,
                                          bidder_no=bidder.bidder_no, level=play.level,
                                          ip=cmd.ip, device=cmd.device, ref=cmd.ref)]
        if isinstance(cmd, PlaceBid) and cmd.amount != play.price:
            return Rejection("not_price_in_force")
        return [*first, _acceptance(bidder, cmd, play.price, now)]

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int) -> Decision:
        if _bad_amount(state, cmd.amount):
            return Rejection("invalid_amount", AMOUNT_RANGE)
        return self._judge(state, bidder, cmd, now)

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int) -> Decision:
        if cmd.act not in ("stay", "drop"):
            return super().act(state, bidder, cmd, now)
        return self._judge(state, bidder, cmd, now)

    def after(self, state: LotState, event: Event) -> None:
        play: JapanesePlay | None = state.play
        if isinstance(event, LotOpened):
            state.play = JapanesePlay(level=0, price=state.params.start_price)
        elif play is None:
            return
        elif isinstance(event, DrawCommitted):
            play.seed_hash = event.seed_hash
        elif isinstance(event, BidAccepted):
            play.confirmed.append(event.bidder_id)

    def status_of(self, state: LotState, bidder_id: str | None) -> str | None:
        """``confirmed`` (this level), ``in`` (still to confirm it) or ``out``."""
        play: JapanesePlay | None = state.play
        if play is None or bidder_id not in state.bidders:
            return None
        if bidder_id in play.confirmed:
            return "confirmed"
        if state.status == OPEN and bidder_id in self.members(state, play):
            return "in"
        return "out"

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        p = state.params
        play: JapanesePlay | None = state.play
        members = [] if play is None else self.members(state, play)
        out: dict[str, Any] = {
            "clock": "japanese", "level": 0 if play is None else play.level,
            "price": _money(state, p.start_price if play is None else play.price),
            "step": _money(state, p.tiers[0].step), "tick_s": p.options.tick_s,
            "tie_rule": p.options.tie_rule,
            "next_at": state.closes_at if state.status == OPEN else None,
            "in_count": len(members) if state.status == OPEN else None,
            "confirmed_count": None if play is None else len(play.confirmed),
        }
        if audience == "staff":
            out["in"] = [state.bidders[b].bidder_no for b in members]
            out["confirmed"] = [] if play is None else [
                state.bidders[b].bidder_no for b in play.confirmed]
        else:
            view["leader_no"] = None
            if audience == "bidder":
                out["status"] = self.status_of(state, bidder_id)
        view["play"] = out

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        e = record.event
        staff = audience == "staff"
        head = {"seq": record.seq, "type": type(e).__name__, "at": e.at}
        if isinstance(e, LevelAdvanced):
            body = {**head, "level": e.level, "amount": _money(state, e.amount),
                    "closes_at": e.closes_at, "remaining": e.remaining,
                    "dropped_count": len(e.dropped)}
            if staff:
                body.update(actor=e.actor, dropped=e.dropped)
            return body
        if isinstance(e, BidderDropped):
            if staff:
                return {**head, "actor": e.actor, "bidder_id": e.bidder_id,
                        "bidder_no": e.bidder_no, "level": e.level, "ip": e.ip,
                        "device": e.device, "ref": e.ref}
            own = audience == "bidder" and e.bidder_id == bidder_id
            return {**head, "level": e.level, **({"own": True, "bidder_no": e.bidder_no}
                                                  if own else {})}
        if isinstance(e, BidAccepted) and not staff:
            own = audience == "bidder" and e.bidder_id == bidder_id
            return {**head, "amount": _money(state, e.amount),
                    **({"own": True, "bidder_no": e.bidder_no} if own else {})}
        return None

    def command_of(self, event: Event) -> Command | None:
        if isinstance(event, LevelAdvanced):
            return Tick()
        if isinstance(event, BidderDropped):
            return Act(bidder_id=event.bidder_id, act="drop", ip=event.ip,
                       device=event.device, ref=event.ref)
        return None


JAPANESE = register(Japanese())
