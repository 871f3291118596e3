"""Lot parameters: strict parsing of the host's JSON into typed, validated values.

Unknown keys, wrong types and inconsistent values raise :class:`InvalidParams`
naming the field. Amounts are decimal strings in the lot's currency; one that is not a
valid amount (malformed, zero where zero makes no sense, above the money maximum of
:mod:`auction.money`) raises :class:`InvalidAmount` naming the field.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auction.errors import InvalidAmount, InvalidParams
from auction.money import CURRENCY_DECIMALS, format_amount, parse_amount

if TYPE_CHECKING:
    from auction.preemption import Preemption

DIRECTIONS = ("forward", "reverse")
IMPROVE_MODES = ("leader", "own")
VISIBILITIES = ("price", "rank", "blind")
#: Visibilities that hide the best price from bidders: under them a bid improves the
#: bidder's own bid (``improve: own``), since judging it against the hidden best would
#: tell the bidder where the best lies (``not_improving`` below it, an ack above).
HIDDEN_BEST = ("rank", "blind")
#: Upper bound for any time parameter in seconds (one year) and any step count.
MAX_SECONDS = 366 * 24 * 3600
MAX_MS = 10**14
#: The jump guard of a lot that does not set ``max_jump_steps``: a price bid more than this
#: many steps past the best (the start price before the first bid) is refused
#: (``jump_too_large``). A lot sets its own with ``max_jump_steps``, or none with 0.
DEFAULT_MAX_JUMP_STEPS = 20
#: Largest ``max_jump_steps`` (and ``confirm_above_steps``) a lot may set.
MAX_JUMP_STEPS = 1_000_000
#: How a percentage step is rounded to the minor unit (``step_round``): ``up`` (the
#: default: a step is never less than the percentage), ``down``, ``half_up``. A step is
#: never less than one minor unit.
STEP_ROUNDINGS = ("up", "down", "half_up")
#: A percentage step is kept exactly, in millionths of the price (parts per million):
#: "1.5" (per cent) is 15000. Percentages have at most four decimals.
PPM = 1_000_000
PERCENT_PATTERN = r"(0|[1-9][0-9]?|100)(\.[0-9]{1,4})?"
_PERCENT = re.compile(PERCENT_PATTERN)
#: What a lot below its minimum number of bidders (``min_bidders``) does: ``fail`` (the
#: default: it fails, ``too_few_bidders`` at the opening, ``too_few_bids`` at the close)
#: or ``award_single`` (a single bidder may still bid, and wins at the start price).
BELOW_MIN = ("fail", "award_single")
#: Largest ``min_bidders``.
MAX_MIN_BIDDERS = 1000
#: When the public and the bidders see how many bidders registered and how many bids are
#: in (``show_counts``): ``always`` (the default), ``after_open`` (not before the lot
#: opens), ``after_close`` (not before it ends; ``blind`` visibility only, since a public
#: price list or a rank tells how many bid). Staff always see them.
SHOW_COUNTS = ("always", "after_open", "after_close")
#: Extend-on modes of the soft close (``extend_on``): which accepted bids in the window
#: move the close. ``any`` (the default): every bid; ``leader_change``: a bid that makes
#: another bidder the leader; ``rank_1``: a bid that is the new best (the leader
#: improving its own bid included, a bid behind the best not).
EXTEND_ON = ("any", "leader_change", "rank_1")
#: How the winners of a multi-unit lot (``units`` above 1) pay (``pricing``):
#: ``pay_as_bid`` (the default), each its own price; ``uniform``, all the lowest winning
#: price (see :mod:`auction.units`).
PRICINGS = ("pay_as_bid", "uniform")
#: Most identical units one lot may sell.
MAX_UNITS = 10_000


@dataclass(frozen=True, slots=True)
class Tier:
    """From reference price ``start`` on, a bid must move by ``step`` or, when ``ppm`` is
    set (a percentage step), by ``ppm`` millionths of the reference price, rounded to the
    minor unit as the lot's ``step_round`` says (see :meth:`EnglishParams.step_at`)."""

    start: int
    step: int
    ppm: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnglishParams:
    direction: str
    currency: str
    decimals: int
    deposit: int
    start_price: int
    tiers: tuple[Tier, ...]
    step_multiple: bool
    reserve: int | None
    ceiling: int | None
    max_jump_steps: int | None
    opens_at: int | None
    closes_at: int | None
    duration_s: int | None
    extend_window_s: int
    extend_s: int
    max_closes_at: int | None
    improve: str
    visibility: str
    #: The format's own parameters (a frozen, hashable object with a ``public(decimals)``
    #: method giving what anyone may know of them), None for ``english``.
    options: Any = None
    #: ``proxy`` bidding (forward ``english`` only): bidders may leave a secret maximum
    #: that the engine bids up to, one step at a time (see :mod:`auction.english`).
    proxy: bool = False
    #: Rounding of percentage steps to the minor unit (:data:`STEP_ROUNDINGS`).
    step_round: str = "up"
    #: Which bids in the soft-close window extend the close (:data:`EXTEND_ON`).
    extend_on: str = "any"
    #: At least this many eligible bidders to open and bidders with a bid to award.
    min_bidders: int = 1
    #: Below ``min_bidders`` (:data:`BELOW_MIN`).
    below_min: str = "fail"
    #: When the counts of bidders and bids are shown (:data:`SHOW_COUNTS`).
    show_counts: str = "always"
    #: A bid more than this many steps past the bidder's next acceptable price needs the
    #: bidder's explicit confirmation (``confirmed``), else ``confirm_required``; None: none.
    confirm_above_steps: int | None = None
    #: Whether a host resuming a suspended lot may restart bidding from the start price
    #: (``ResumeLot.restart``), every earlier bid void.
    restart_allowed: bool = False
    #: A reserve (forward) or internal ceiling (reverse) entered after creation by a host
    #: and approved by a supervisor, sealed until the close (:mod:`auction.witnessed`):
    #: entry and approval end this many seconds before the closing time planned when the
    #: lot opened. None: no such entry.
    reserve_entry_s: int | None = None
    #: Pre-emptive purchase rights (优先购买权): holders and the rules of exercise
    #: (:mod:`auction.preemption`), None: none.
    preemption: "Preemption | None" = None
    #: A multi-unit lot (:mod:`auction.units`): how many identical units it sells, how
    #: the winners pay (:data:`PRICINGS`) and how many units one bidder may ask for.
    units: int = 1
    pricing: str = "pay_as_bid"
    max_units_per_bidder: int = 1

    def step_at(self, reference: int) -> int:
        """The step in force when improving on ``reference``: the tier with the largest
        ``start`` not above it (the first tier below every start). A percentage tier's
        step is ``reference × ppm / 10⁶`` rounded to the minor unit by ``step_round``,
        and at least one minor unit."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if tier.start <= reference:
                chosen = tier
        if not chosen.ppm:
            return chosen.step
        whole, rest = divmod(reference * chosen.ppm, PPM)
        if self.step_round == "up":
            whole += rest > 0
        elif self.step_round == "half_up":
            whole += 2 * rest >= PPM
        return max(1, whole)


class _Reader:
    """Takes fields out of a JSON object one by one and refuses what is left over."""

    def __init__(self, raw: object, what: str = "params") -> None:
        if not isinstance(raw, Mapping):
            raise InvalidParams(f"{what} must be a JSON object", what)
        self.raw = dict(raw)

    def take(self, key: str) -> Any:
        return self.raw.pop(key, None)

    def done(self) -> None:
        if self.raw:
            key = sorted(map(str, self.raw))[0]
            raise InvalidParams(f"unknown parameter {key!r}", key)

    def text(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.take(key)
        if value is None:
            return default
        if value not in choices:
            raise InvalidParams(f"{key} must be one of {', '.join(choices)}", key)
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.take(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidParams(f"{key} must be true or false", key)
        return value

    def integer(self, key: str, low: int, high: int) -> int | None:
        value = self.take(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidParams(f"{key} must be a whole number from {low} to {high}", key)
        return value

    def amount(self, key: str, decimals: int, *, zero: bool = False) -> int | None:
        value = self.take(key)
        if value is None:
            return None
        try:
            return parse_amount(value, decimals, allow_zero=zero)
        except InvalidAmount as exc:
            raise InvalidAmount(f"{key}: {exc.message}", key) from None

    def percent(self, key: str) -> int | None:
        """A percentage as a decimal string ("1.5": at most four decimals, above 0, at
        most 100), in millionths (:data:`PPM`)."""
        value = self.take(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _PERCENT.fullmatch(value):
            raise InvalidParams(f"{key} must be a percentage as a decimal string, at most "
                                "four decimals", key)
        whole, _, frac = value.partition(".")
        ppm = int(whole) * 10_000 + int(frac.ljust(4, "0"))
        if not 0 < ppm <= 100 * 10_000:
            raise InvalidParams(f"{key} must be above 0 and at most 100", key)
        return ppm

    def minimum(self) -> tuple[int, str]:
        """``min_bidders`` (default 1) and ``below_min`` (default ``fail``, which is
        all a lot without a minimum may say)."""
        least = self.integer("min_bidders", 1, MAX_MIN_BIDDERS) or 1
        below = self.text("below_min", "fail", BELOW_MIN)
        if below != "fail" and least == 1:
            raise InvalidParams("below_min applies to min_bidders above 1", "below_min")
        return least, below

    def units(self) -> tuple[int, str, int]:
        """``units`` (default 1), ``pricing`` and ``max_units_per_bidder`` (default 1, at
        most ``units``): the last two only for a lot of more than one unit."""
        units = self.integer("units", 1, MAX_UNITS) or 1
        if units == 1:
            for key in ("pricing", "max_units_per_bidder"):
                if self.raw.get(key) is not None:
                    raise InvalidParams(f"{key} applies to lots of more than one unit", key)
        pricing = self.text("pricing", "pay_as_bid", PRICINGS)
        most = self.integer("max_units_per_bidder", 1, units) or 1
        return units, pricing, most

    def jump_guard(self) -> int | None:
        """``max_jump_steps``: absent or null gives :data:`DEFAULT_MAX_JUMP_STEPS`, 0 no
        guard (None)."""
        value = self.integer("max_jump_steps", 0, MAX_JUMP_STEPS)
        if value is None:
            return DEFAULT_MAX_JUMP_STEPS
        return value or None


def parse_english(raw: object) -> EnglishParams:
    """Validate the parameters of an ``english`` lot (see RULES.md) and type them."""
    r = _Reader(raw)
    direction = r.text("direction", "forward", DIRECTIONS)
    currency = r.text("currency", "CNY", tuple(CURRENCY_DECIMALS))
    decimals = CURRENCY_DECIMALS[currency]
    deposit = r.amount("deposit", decimals, zero=True)
    start_price = r.amount("start_price", decimals)
    if start_price is None:
        raise InvalidParams("start_price is required", "start_price")
    tiers = _tiers(r, decimals)
    step_multiple = r.boolean("step_multiple", True)
    reserve = r.amount("reserve", decimals)
    ceiling = r.amount("ceiling", decimals)
    max_jump_steps = r.jump_guard()
    opens_at = r.integer("opens_at", 0, MAX_MS)
    closes_at = r.integer("closes_at", 0, MAX_MS)
    duration_s = r.integer("duration_s", 1, MAX_SECONDS)
    extend_window_s = r.integer("extend_window_s", 0, MAX_SECONDS) or 0
    extend_s = r.integer("extend_s", 0, MAX_SECONDS) or 0
    max_closes_at = r.integer("max_closes_at", 0, MAX_MS)
    visibility = r.text("visibility", "price", VISIBILITIES)
    improve = r.text("improve", "own" if visibility in HIDDEN_BEST else "leader",
                     IMPROVE_MODES)
    proxy = r.boolean("proxy", False)
    step_round = r.text("step_round", "up", STEP_ROUNDINGS)
    extend_on = r.text("extend_on", "any", EXTEND_ON)
    min_bidders, below_min = r.minimum()
    show_counts = r.text("show_counts", "always", SHOW_COUNTS)
    confirm_above_steps = r.integer("confirm_above_steps", 0, MAX_JUMP_STEPS)
    restart_allowed = r.boolean("restart_allowed", False)
    reserve_entry_s = _reserve_entry(r.take("reserve_entry"))
    units, pricing, max_units = r.units()
    r.done()
    if units > 1:
        _multi_unit(direction, visibility, proxy, below_min, reserve_entry_s)
    if show_counts == "after_close" and visibility != "blind":
        raise InvalidParams("show_counts after_close needs visibility blind (prices or "
                            "ranks tell how many bid)", "show_counts")
    if step_round != "up" and not any(t.ppm for t in tiers):
        raise InvalidParams("step_round applies to percentage steps", "step_round")
    if extend_on != "any" and extend_s == 0:
        raise InvalidParams("extend_on applies to a soft close", "extend_on")
    if proxy and direction != "forward":
        raise InvalidParams("proxy bidding applies to forward lots", "proxy")
    if proxy and improve != "leader":
        raise InvalidParams("proxy bidding needs improve leader", "proxy")
    if direction == "forward" and ceiling is not None:
        raise InvalidParams("ceiling applies to reverse lots; use reserve", "ceiling")
    if direction == "reverse" and reserve is not None:
        raise InvalidParams("reserve applies to forward lots; use ceiling", "reserve")
    if reserve_entry_s is not None and reserve is not None:
        raise InvalidParams("a lot has a reserve or a reserve_entry, not both", "reserve_entry")
    if (closes_at is None) == (duration_s is None):
        raise InvalidParams("give exactly one of closes_at and duration_s", "closes_at")
    if opens_at is not None and closes_at is not None and opens_at >= closes_at:
        raise InvalidParams("opens_at must be before closes_at", "opens_at")
    if max_closes_at is not None and closes_at is not None and max_closes_at < closes_at:
        raise InvalidParams("max_closes_at must not be before closes_at", "max_closes_at")
    if (extend_window_s == 0) != (extend_s == 0):
        raise InvalidParams("extend_window_s and extend_s go together", "extend_s")
    return EnglishParams(
        direction=direction, currency=currency, decimals=decimals, deposit=deposit or 0,
        start_price=start_price, tiers=tiers, step_multiple=step_multiple, reserve=reserve,
        ceiling=ceiling, max_jump_steps=max_jump_steps, opens_at=opens_at, closes_at=closes_at,
        duration_s=duration_s, extend_window_s=extend_window_s, extend_s=extend_s,
        max_closes_at=max_closes_at, improve=improve, visibility=visibility, proxy=proxy,
        step_round=step_round, extend_on=extend_on, min_bidders=min_bidders,
        below_min=below_min, show_counts=show_counts,
        confirm_above_steps=confirm_above_steps, restart_allowed=restart_allowed,
        reserve_entry_s=reserve_entry_s,
        units=units, pricing=pricing, max_units_per_bidder=max_units,
    )


def _reserve_entry(raw: object) -> int | None:
    """``reserve_entry``: ``{"before_close_s": N}`` (absent: None)."""
    if raw is None:
        return None
    r = _Reader(raw, "reserve_entry")
    before = r.integer("before_close_s", 0, MAX_SECONDS)
    r.done()
    if before is None:
        raise InvalidParams("reserve_entry needs before_close_s", "reserve_entry")
    return before


def _multi_unit(direction: str, visibility: str, proxy: bool, below_min: str,
                reserve_entry_s: int | None) -> None:
    """What a multi-unit ``english`` lot cannot combine with: its cut-off price is public
    (``visibility price``), it sells (``forward``), takes no proxy maximum, does not
    award a single bidder below ``min_bidders`` and takes no reserve entered late."""
    if reserve_entry_s is not None:
        raise InvalidParams("reserve_entry applies to single-unit lots", "reserve_entry")
    if direction != "forward":
        raise InvalidParams("units applies to forward lots", "units")
    if visibility != "price":
        raise InvalidParams("units needs visibility price (the cut-off price is public)",
                            "units")
    if proxy:
        raise InvalidParams("proxy bidding applies to single-unit lots", "proxy")
    if below_min == "award_single":
        raise InvalidParams("below_min award_single applies to single-unit lots",
                            "below_min")


def _tiers(r: _Reader, decimals: int) -> tuple[Tier, ...]:
    """``step`` (an amount), ``step_percent`` (a percentage of the price improved on) or
    ``steps`` (tiers of either, by price): exactly one of them."""
    step = r.amount("step", decimals)
    percent = r.percent("step_percent")
    steps = r.take("steps")
    if [step, percent, steps].count(None) != 2:
        raise InvalidParams("give exactly one of step, step_percent and steps", "step")
    if step is not None:
        return (Tier(0, step),)
    if percent is not None:
        return (Tier(0, 0, percent),)
    if not isinstance(steps, list) or not steps:
        raise InvalidParams("steps must be a non-empty list of {from, step} or "
                            "{from, percent}", "steps")
    tiers: list[Tier] = []
    for item in steps:
        tr = _Reader(item, "steps")
        start = tr.amount("from", decimals, zero=True)
        tier_step = tr.amount("step", decimals)
        tier_percent = tr.percent("percent")
        tr.done()
        if start is None or (tier_step is None) == (tier_percent is None):
            raise InvalidParams("each of steps needs from and one of step and percent",
                                "steps")
        if tiers and start <= tiers[-1].start:
            raise InvalidParams("steps must be in increasing order of from", "steps")
        tiers.append(Tier(start, tier_step or 0, tier_percent or 0))
    return tuple(tiers)


def format_percent(ppm: int) -> str:
    """A percentage kept in millionths as the decimal string it was given in: 15000 is
    "1.5"."""
    whole, rest = divmod(ppm, 10_000)
    return str(whole) if not rest else f"{whole}.{rest:04d}".rstrip("0")


#: :func:`public_params`'s dicts by the identity of their parameters, at most
#: :data:`PUBLIC_KEPT`: each entry holds its parameters, so no other object can have
#: their id while it is here. (By identity: an ``lru_cache`` hashes every field of the
#: parameters, and compares them all, at every snapshot a commit sends.)
_PUBLIC: dict[int, tuple["EnglishParams", dict[str, Any]]] = {}
PUBLIC_KEPT = 4096


def public_params(p: EnglishParams) -> dict[str, Any]:
    """What anyone may know of the parameters: everything but the secret reserve.

    Made once per parameters (every snapshot of a lot shows them): callers share the
    dict and must not change it."""
    kept = _PUBLIC.get(id(p))
    if kept is not None:
        return kept[1]
    if len(_PUBLIC) >= PUBLIC_KEPT:
        _PUBLIC.clear()
    view = _public_params(p)
    _PUBLIC[id(p)] = (p, view)
    return view


def _public_params(p: EnglishParams) -> dict[str, Any]:
    def amount(value: int | None) -> str | None:
        return None if value is None else format_amount(value, p.decimals)

    return {
        "direction": p.direction, "currency": p.currency, "deposit": amount(p.deposit),
        "start_price": amount(p.start_price),
        "steps": [{"from": amount(t.start), "percent": format_percent(t.ppm)} if t.ppm
                  else {"from": amount(t.start), "step": amount(t.step)} for t in p.tiers],
        **({"step_round": p.step_round} if any(t.ppm for t in p.tiers) else {}),
        **({"extend_on": p.extend_on} if p.extend_on != "any" else {}),
        **({"min_bidders": p.min_bidders, "below_min": p.below_min}
           if p.min_bidders > 1 else {}),
        **({"show_counts": p.show_counts} if p.show_counts != "always" else {}),
        **({"confirm_above_steps": p.confirm_above_steps}
           if p.confirm_above_steps is not None else {}),
        **({"restart_allowed": True} if p.restart_allowed else {}),
        **({"reserve_entry": {"before_close_s": p.reserve_entry_s}}
           if p.reserve_entry_s is not None else {}),
        **({"units": p.units, "pricing": p.pricing,
            "max_units_per_bidder": p.max_units_per_bidder} if p.units > 1 else {}),
        "step_multiple": p.step_multiple, "ceiling": amount(p.ceiling),
        "max_jump_steps": p.max_jump_steps, "extend_window_s": p.extend_window_s,
        "extend_s": p.extend_s, "improve": p.improve, "visibility": p.visibility,
        "has_reserve": p.reserve is not None,
        **({"proxy": True} if p.proxy else {}),
        **({} if p.preemption is None else {"preemption": p.preemption.public()}),
        **({} if p.options is None else {"options": p.options.public(p.decimals)}),
    }


def admit_new(p: EnglishParams) -> None:
    """The checks a lot's parameters must pass when the lot is created, beyond
    :func:`parse_english`: rules made after lots were recorded under older ones, so that
    replaying those records (which parses their parameters again) still works. Raises
    :class:`InvalidParams`."""
    if p.improve == "leader" and p.visibility in HIDDEN_BEST:
        raise InvalidParams(f"visibility {p.visibility} hides the best price: bids must "
                            "improve the bidder's own bid (improve own)", "improve")
    if p.ceiling is not None and p.ceiling < p.start_price:
        # Its first acceptable price would not be the start price, which every view
        # advertises as such (and the jump guard counts from).
        raise InvalidParams("start_price must not be above the ceiling", "start_price")
