"""The ``sealed`` format (一次报价 / 密封报价) of RULES.md: sealed bids, opened at once.

- Each eligible bidder submits one sealed price (``BidAccepted``) while the lot is open;
  with ``revisions`` = n it may replace it up to n times (``revision_limit`` after that).
  The bidder's last bid is its final bid. Forward lots want the highest price, reverse
  lots (procurement) the lowest; an optional ``start_price`` is the least (forward) or the
  most (reverse) a bid may be, ``ceiling`` (reverse) the most any bid may be.
- Until the opening (开标, the lot's ``closes_at``: pausing the lot moves it like every
  clock) nobody but the bidder itself sees a price: not the public, not the other
  bidders, not staff. Snapshots and redacted events show every other audience, staff
  included, only how many bids are in: not who bid, from where, on which device, nor
  how often each bidder revised (supervisors see that at the opening).
- The Tick at the opening records ``LotClosed``, then ``BidsOpened`` with every final bid
  (bidder number, amount, sequence number of the bid), then the outcome: the best final
  price wins if the secret ``reserve`` (forward) is met. Equal best prices go to the
  earliest sequenced final bid (``tie_rule`` ``earliest``) or to a verifiable draw among
  them (``lottery``: ``DrawCommitted`` when the lot opens, ``LotDrawn`` at the opening
  when a tie needs it, see :mod:`auction.draw`).

With ``sealing: server`` (the default) the stored record holds the sealed amounts from
the moment they are bid (it is hashed and replayed like every record): whoever operates
the database is trusted with them. Every way out of the server (views, events, records
pages and APIs) withholds them until the lot is opened; see :func:`withheld`.

With ``sealing: bidder`` (commit-reveal, :mod:`auction.commit_reveal`, shared with
``multi_round``'s initial bids) the server never learns a price before its bidder
reveals it:

- while the lot is open a bidder commits (``Act`` ``commit``, ``BidCommitted``) to
  ``sha256`` of the canonical JSON ``[lot_id, bidder_no, amount, salt]`` (see
  :func:`auction.commit_reveal.seal_commitment`); a commit carries no amount. A
  revision is a new commitment (``revisions`` counts them);
- the Tick at the opening records ``RevealOpened`` (every committed bidder's number and
  commitment, published) and a reveal window of ``reveal_s`` seconds from then;
- in the window each bidder reveals (``Act`` ``reveal`` with the amount and the salt):
  a reveal that does not hash to its last commitment is refused (``reveal_mismatch``),
  one that does is recorded as ``BidRevealed`` and ``BidAccepted``. A revealed price the
  lot's limits refuse (``above_ceiling``...) is refused like a bid. Reveals stay sealed
  from everyone but their bidder until the window ends: nobody can withdraw after seeing
  the others' prices (only staff-free counts are shown);
- the Tick at the end of the window records ``LotClosed``, ``BidsVoided`` (the bidders
  who committed and did not reveal: their bids are void) and then the opening as above,
  among the revealed bids; equal prices rank by their commitments' sequence numbers.
  A ``lottery`` tie mixes the tied candidates' commitments into the draw
  (:func:`auction.draw.draw`): the operator, who committed to its seed before any bid,
  cannot know them in advance, and no bidder knows the seed.
"""

from dataclasses import dataclass, field
from typing import Any

from auction import commit_reveal
from auction import units as multi
from auction.commit_reveal import (
    DEFAULT_REVEAL_S,
    SEALINGS,
    BidCommitted,
    BidderSealing,
    BidRevealed,
    RevealOpened,
)
from auction.draw import commitment, draw
from auction.errors import InvalidParams
from auction.formats import Format, open_lot, register
from auction.messages import MESSAGES
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    Command,
    DrawCommitted,
    Event,
    LotAwarded,
    LotClosed,
    LotDrawn,
    LotFailed,
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

TIE_RULES = ("earliest", "lottery")
BIDDING, REVEAL = "bidding", "reveal"
#: Most revisions a lot may allow each bidder.
MAX_REVISIONS = 100

MESSAGES.update({
    "same_bid": ("修改后的报价与原报价相同", "The revised bid equals your current bid."),
    "bad_seed": ("摇号种子与开标时公布的承诺不符",
                 "The draw seed does not match the commitment published at opening."),
    "sealed": ("密封报价尚未开标，报价不可查看",
               "The sealed bids are not opened yet: no price can be shown."),
})


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidsOpened(Event):
    """The opening (开标): every bidder's final sealed bid, in the order they were
    sequenced (``seqs`` are the sequence numbers of the ``BidAccepted`` events)."""

    bidder_nos: list[str]
    amounts: list[int]
    seqs: list[int]


@dataclass(frozen=True, slots=True)
class SealedOptions:
    revisions: int
    tie_rule: str
    #: The optional least (forward) / most (reverse) price of a bid.
    start_price: int | None
    sealing: str = "server"
    #: The reveal window of a bidder-sealed lot (seconds), 0 for server sealing.
    reveal_s: int = 0

    def public(self, decimals: int) -> dict[str, Any]:
        out: dict[str, Any] = {"revisions": self.revisions, "tie_rule": self.tie_rule,
                               "start_price": None if self.start_price is None
                               else format_amount(self.start_price, decimals)}
        if self.sealing == "bidder":
            out.update(sealing=self.sealing, reveal_s=self.reveal_s)
        return out


@dataclass(slots=True)
class Commit:
    """A bidder's last commitment, its sequence number and how many it made."""

    commitment: str
    seq: int
    count: int


@dataclass(slots=True)
class SealedPlay(BidderSealing):
    """The format's state: whether the bids are opened, and what was revealed (and, under
    bidder sealing, the commitments, reveals and voids: :class:`BidderSealing`)."""

    opened: bool = False
    opened_at: int | None = None
    #: ``(seq, bidder_no, amount)`` of every final bid revealed at the opening.
    revealed: list[tuple[int, str, int]] = field(default_factory=list)
    #: The published commitment of the draw seed (``lottery`` lots).
    seed_hash: str | None = None
    #: Bidder sealing: ``bidding`` until the opening, then ``reveal``.
    phase: str = BIDDING


def parse_sealed(raw: object) -> EnglishParams:
    """Validate the parameters of a ``sealed`` lot and type them."""
    r = _Reader(raw)
    direction = r.text("direction", "forward", DIRECTIONS)
    currency = r.text("currency", "CNY", tuple(CURRENCY_DECIMALS))
    decimals = CURRENCY_DECIMALS[currency]
    deposit = r.amount("deposit", decimals, zero=True)
    start_price = r.amount("start_price", decimals)
    reserve = r.amount("reserve", decimals)
    ceiling = r.amount("ceiling", decimals)
    opens_at = r.integer("opens_at", 0, MAX_MS)
    closes_at = r.integer("closes_at", 0, MAX_MS)
    duration_s = r.integer("duration_s", 1, MAX_SECONDS)
    revisions = r.integer("revisions", 0, MAX_REVISIONS) or 0
    tie_rule = r.text("tie_rule", "earliest", TIE_RULES)
    sealing = r.text("sealing", "server", SEALINGS)
    reveal_s = r.integer("reveal_s", 1, MAX_SECONDS)
    units, pricing, max_units = r.units()
    r.done()
    if units > 1 and (direction != "forward" or tie_rule != "earliest"):
        raise InvalidParams("units applies to forward lots with tie_rule earliest (equal "
                            "prices rank by time)", "units")
    if max_units > 1 and sealing == "bidder":
        raise InvalidParams("max_units_per_bidder applies to sealing server (a commitment "
                            "holds the price only)", "max_units_per_bidder")
    if reveal_s is not None and sealing != "bidder":
        raise InvalidParams("reveal_s applies to sealing bidder", "reveal_s")
    if direction == "forward" and ceiling is not None:
        raise InvalidParams("ceiling applies to reverse lots; use reserve", "ceiling")
    if direction == "reverse" and reserve is not None:
        raise InvalidParams("reserve applies to forward lots; use ceiling", "reserve")
    if (closes_at is None) == (duration_s is None):
        raise InvalidParams("give exactly one of closes_at and duration_s", "closes_at")
    if opens_at is not None and closes_at is not None and opens_at >= closes_at:
        raise InvalidParams("opens_at must be before closes_at", "opens_at")
    if start_price is not None and ceiling is not None and start_price > ceiling:
        raise InvalidParams("start_price must not be above the ceiling", "start_price")
    return EnglishParams(
        direction=direction, currency=currency, decimals=decimals, deposit=deposit or 0,
        start_price=start_price or 0, tiers=(Tier(0, 1),), step_multiple=False,
        reserve=reserve, ceiling=ceiling, max_jump_steps=None, opens_at=opens_at,
        closes_at=closes_at, duration_s=duration_s, extend_window_s=0, extend_s=0,
        max_closes_at=None, improve="leader", visibility="blind",
        units=units, pricing=pricing, max_units_per_bidder=max_units,
        options=SealedOptions(revisions=revisions, tie_rule=tie_rule, start_price=start_price,
                              sealing=sealing,
                              reveal_s=(reveal_s or DEFAULT_REVEAL_S) if sealing == "bidder"
                              else 0),
    )


def _options(state: LotState) -> SealedOptions:
    options: SealedOptions = state.params.options
    return options


def _play(state: LotState) -> SealedPlay:
    """The format's state (made by :meth:`Sealed.after` from the lot's second event on)."""
    play: SealedPlay = state.play if state.play is not None else SealedPlay()
    return play


def withheld(state: LotState) -> bool:
    """Whether ``state`` is a sealed lot whose bids are not opened (or never will be: a
    lot cancelled before its opening keeps its bids sealed). Every record and API that
    would show a bid's amount refuses or leaves it out while this holds."""
    return state.format == Sealed.name and not _play(state).opened


def _by_bidder(state: LotState) -> bool:
    return _options(state).sealing == "bidder"


def _order(state: LotState, bidder: Bidder) -> int:
    """Where ``bidder``'s final bid ranks among equal prices: the sequence number of the
    bid (server sealing) or of its commitment (bidder sealing: reveals come later)."""
    if _by_bidder(state):
        return _play(state).commits[bidder.bidder_id].seq
    return bidder.last_seq


def finals(state: LotState) -> list[Bidder]:
    """Bidders with a sealed (and, under bidder sealing, revealed) bid, in the order their
    final bids (commitments) were sequenced."""
    return sorted((b for b in state.bidders.values() if b.last_bid is not None),
                  key=lambda b: _order(state, b))


def _money(state: LotState, value: int | None) -> str | None:
    return None if value is None else format_amount(value, state.params.decimals)


def _bids_opened(state: LotState, event: BidsOpened) -> None:
    play = _play(state)
    play.opened, play.opened_at = True, event.at
    play.revealed = list(zip(event.seqs, event.bidder_nos, event.amounts, strict=True))


def _reveal_opened(state: LotState, event: RevealOpened) -> None:
    _play(state).phase = REVEAL
    state.closes_at = event.closes_at


def _limits(state: LotState, amount: int) -> Rejection | None:
    """Why the lot's limits refuse a sealed price ``amount``, if they do."""
    p, options = state.params, _options(state)
    if p.ceiling is not None and amount > p.ceiling:
        return Rejection("above_ceiling")
    if options.start_price is not None:
        if p.direction == "forward" and amount < options.start_price:
            return Rejection("below_start")
        if p.direction == "reverse" and amount > options.start_price:
            return Rejection("above_start")
    return None


class Sealed(Format):
    name = "sealed"

    def withholds(self, state: LotState) -> bool:
        return withheld(state)

    def start_price(self, state: LotState) -> int | None:
        return _options(state).start_price

    def ranking(self, state: LotState) -> list[tuple[Bidder, int]]:
        """The final bids opened, best first; equal prices by the order of the final bids
        (of their commitments under bidder sealing). Void bids (never revealed) rank not."""
        sign = -1 if state.params.direction == "forward" else 1
        ranked = sorted(finals(state), key=lambda b: (sign * (b.last_bid or 0),
                                                      _order(state, b)))
        return [(b, b.last_bid or 0) for b in ranked]

    def unrevealed(self, state: LotState) -> frozenset[int]:
        if not withheld(state):
            return frozenset()
        return frozenset([*(b.seq for b in state.bids), *_play(state).reveal_seqs])

    def parse(self, raw: object) -> EnglishParams:
        return parse_sealed(raw)

    events = {**commit_reveal.HANDLERS, BidsOpened: _bids_opened, RevealOpened: _reveal_opened}

    def open(self, state: LotState, now: int, actor: str, cmd: StartLot | Tick
             ) -> list[Event] | Rejection:
        opened = open_lot(state, now, actor)
        if isinstance(opened, Rejection) or _options(state).tie_rule != "lottery":
            return opened
        return [*opened, DrawCommitted(at=now, actor=SYSTEM, seed_hash=cmd.seed_hash)]

    def bid(self, state: LotState, bidder: Bidder, cmd: PlaceBid, now: int
            ) -> list[Event] | Rejection:
        if _by_bidder(state):
            return Rejection("commit_required")
        amount = cmd.amount
        if not within(amount, state.params.decimals):
            return Rejection("invalid_amount", AMOUNT_RANGE)
        if bidder.bids > _options(state).revisions:
            return Rejection("revision_limit")
        refused = _limits(state, amount)
        if refused is not None:
            return refused
        if amount == bidder.last_bid and cmd.units == bidder.last_units:
            return Rejection("same_bid")
        return [BidAccepted(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                            bidder_no=bidder.bidder_no, amount=amount, ip=cmd.ip,
                            device=cmd.device, ref=cmd.ref, units=cmd.units)]

    def act(self, state: LotState, bidder: Bidder, cmd: Act, now: int
            ) -> list[Event] | Rejection:
        """``commit`` and ``reveal`` of a bidder-sealed lot."""
        if not _by_bidder(state) or cmd.act not in ("commit", "reveal"):
            return Rejection("not_supported", f"a sealed lot has no action {cmd.act!r}")
        play = _play(state)
        if cmd.act == "commit":
            if play.phase != BIDDING:
                return Rejection("reveal_only")
            return commit_reveal.commit(play, bidder, cmd, _options(state).revisions, now)
        if play.phase != REVEAL:
            return Rejection("not_reveal_time")
        return commit_reveal.reveal(state, play, bidder, cmd, now,
                                    lambda amount: _limits(state, amount))

    def command_of(self, event: Event) -> Command | None:
        return commit_reveal.command_of(event)

    def tick(self, state: LotState, now: int, cmd: Tick) -> list[Event] | Rejection:
        """The opening: close, reveal every final bid, decide the outcome. Under bidder
        sealing the opening first opens the reveal window (when anyone committed), and
        its end voids the bids not revealed."""
        assert state.closes_at is not None  # only an open lot has a deadline
        play = _play(state)
        by_bidder = _by_bidder(state)
        if by_bidder and play.phase == BIDDING and play.commits:
            return [commit_reveal.reveal_opened(
                state, play, now, now + _options(state).reveal_s * 1000)]
        final = finals(state)
        events: list[Event] = [LotClosed(at=now, actor=SYSTEM, closes_at=state.closes_at)]
        events.extend(commit_reveal.voided(state, play, now))
        events.append(BidsOpened(at=now, actor=SYSTEM, bidder_nos=[b.bidder_no for b in final],
                                 amounts=[b.last_bid or 0 for b in final],
                                 seqs=[_order(state, b) for b in final]))
        if not final:
            return [*events, LotFailed(at=now, actor=SYSTEM, reason="no_bids")]
        if state.params.units > 1:  # sealed pay-as-bid or uniform-price (auction.units)
            ranked = sorted(final, key=lambda b: (-(b.last_bid or 0), _order(state, b)))
            return [*events, *multi.award(state, now, ranked)]
        pick = max if state.params.direction == "forward" else min
        best = pick(b.last_bid or 0 for b in final)
        reserve = state.params.reserve
        if reserve is not None and best < reserve:
            return [*events, LotFailed(at=now, actor=SYSTEM, reason="reserve_not_met")]
        tied = [b for b in final if b.last_bid == best]
        winner = tied[0]  # the earliest sequenced final bid
        if len(tied) > 1 and _options(state).tie_rule == "lottery":
            if commitment(cmd.seed) != _play(state).seed_hash:
                return Rejection("bad_seed")
            numbers = sorted(b.bidder_no for b in tied)
            # Bidder sealing: the tied candidates' commitments, which nobody could know
            # when the seed was committed, are mixed into the draw.
            mixed = ([play.commits[state.numbers[no]].commitment for no in numbers]
                     if by_bidder else [])
            candidates, index, winner_no = draw(cmd.seed, state.lot_id, numbers, mixed)
            events.append(LotDrawn(at=now, actor=SYSTEM, purpose="tie", seed=cmd.seed,
                                   candidates=candidates, index=index, winner_no=winner_no,
                                   contributions=mixed))
            winner = state.bidders[state.numbers[winner_no]]
        events.append(LotAwarded(at=now, actor=SYSTEM, bidder_id=winner.bidder_id,
                                 bidder_no=winner.bidder_no, amount=best))
        return events

    def after(self, state: LotState, event: Event) -> None:
        """A revision replaces the bidder's bid: the best and the leader are those of the
        final bids (equal prices: the earliest final bid)."""
        play = state.play = _play(state)
        if isinstance(event, DrawCommitted):
            play.seed_hash = event.seed_hash
        if not isinstance(event, BidAccepted):
            return
        sign = -1 if state.params.direction == "forward" else 1
        leader = min(finals(state),
                     key=lambda b: (sign * (b.last_bid or 0), _order(state, b)))
        state.best, state.leader = leader.last_bid, leader.bidder_id

    def view(self, state: LotState, view: dict[str, Any], audience: str,
             bidder_id: str | None) -> None:
        play, options = _play(state), _options(state)
        # A sealed bid has no step: the shared price steps are left out.
        view["params"] = {**view["params"], "start_price": _money(state, options.start_price),
                          "steps": []}
        revealed = None
        if play.opened:
            revealed = [{"seq": seq, "bidder_no": no, "amount": _money(state, amount)}
                        for seq, no, amount in play.revealed]
        view["play"] = {
            "opened": play.opened, "opened_at": play.opened_at,
            "opening_at": state.closes_at, "bid_count": len(state.bids),
            "bidders_in": sum(1 for b in state.bidders.values() if b.bids),
            "revisions": options.revisions, "tie_rule": options.tie_rule,
            "seed_hash": play.seed_hash, "bids": revealed,
        }
        if options.sealing == "bidder":
            view["play"].update(
                sealing="bidder", phase="opened" if play.opened else play.phase,
                reveal_s=options.reveal_s, bid_count=play.commit_count,
                bidders_in=len(play.commits), revealed_count=len(play.revealed_ids),
                reveal_ends_at=state.closes_at if play.phase == REVEAL else None,
                commitments=commit_reveal.published(state, play)
                if play.phase == REVEAL else None,
                voided=list(play.voided))
            if play.phase == REVEAL:
                view["play"]["opening_at"] = None
        if play.opened:
            return
        view["best"] = view["leader_no"] = None
        if "register" in view:
            view["register"] = [{**row, "last_bid": None, "bids": None}
                                for row in view["register"]]
            view["ranking"] = []

    def bidder_view(self, state: LotState, view: dict[str, Any], bidder: Bidder) -> None:
        revisions = _options(state).revisions
        if _by_bidder(state):
            play = _play(state)
            held = play.commits.get(bidder.bidder_id)
            made = held.count if held else 0
            view.update(commit_reveal.bidder_standing(play, bidder))
            view["revisions_left"] = max(0, revisions + 1 - made) if made else revisions
            view["can_bid"] = (state.status == OPEN and play.phase == BIDDING
                               and made <= revisions)
            view["can_reveal"] = (state.status == OPEN and play.phase == REVEAL
                                  and held is not None and not view["revealed"])
            return
        view["revisions_left"] = max(0, revisions + 1 - bidder.bids) if bidder.bids else revisions
        view["can_bid"] = state.status == OPEN and bidder.bids <= revisions

    def redact(self, state: LotState, record: Recorded, audience: str,
               bidder_id: str | None) -> dict[str, Any] | None:
        event = record.event
        if isinstance(event, (BidCommitted, BidRevealed)):
            return commit_reveal.redact(state, record, event, audience, bidder_id,
                                        _play(state).opened)
        if isinstance(event, BidsOpened):
            return {"seq": record.seq, "type": "BidsOpened", "at": event.at,
                    "actor": event.actor, "bidder_nos": list(event.bidder_nos),
                    "amounts": [_money(state, a) for a in event.amounts],
                    "seqs": list(event.seqs)}
        if (isinstance(event, BidAccepted) and audience == "staff"
                and not _play(state).opened):
            # Staff learn that a bid came in, not whose it was (nor its address or
            # device): who bid, and how often, is itself sealed until the opening.
            return {"seq": record.seq, "type": "BidAccepted", "at": event.at}
        return None


SEALED = register(Sealed())
