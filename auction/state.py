"""The state of one lot: the fold of its events (see :func:`auction.lot.evolve`)."""

from dataclasses import dataclass, field, replace
from typing import Any

from auction.params import EnglishParams

# Lot statuses (RULES.md: draft → scheduled → open → closed → awarded | failed, plus
# paused and cancelled).
DRAFT, SCHEDULED, OPEN, PAUSED, CLOSED = "draft", "scheduled", "open", "paused", "closed"
AWARDED, FAILED, CANCELLED = "awarded", "failed", "cancelled"
ENDED = frozenset({CLOSED, AWARDED, FAILED, CANCELLED})


@dataclass(frozen=True, slots=True)
class EnrolledKey:
    """The public key a bidder's actions are signed with (:mod:`auction.signing`), and the
    generation of the bidder's tokens when it was enrolled."""

    alg: str
    key: str
    certificate: str
    token_gen: int


@dataclass(slots=True)
class Bidder:
    bidder_id: str
    bidder_no: str
    name: str
    deposit: int | None = None
    deposit_account: str = ""
    last_bid: int | None = None
    #: Event sequence number of ``last_bid``: earlier ranks first among equal prices.
    last_seq: int = 0
    bids: int = 0
    #: Its accepted bids, oldest first (the objects of :attr:`LotState.bids`).
    own: list["AcceptedBid"] = field(default_factory=list)
    #: How many times its tokens were revoked: only tokens of this generation hold.
    token_gen: int = 0
    #: How the deposit was settled after the lot ended: ``applied``, ``refunded``,
    #: ``forfeited``, or None (see :func:`auction.deposits.deposit_status`).
    settled: str | None = None
    #: Its enrolled public key, None before it enrols one.
    key: EnrolledKey | None = None
    #: How many of its actions were signed, and the nonces they used (a nonce is used once).
    signed: int = 0
    nonces: set[str] = field(default_factory=set)
    #: The bidder won and defaulted (:mod:`auction.default`): never the runner-up again.
    defaulted: bool = False
    #: How many units ``last_bid`` is for (a multi-unit lot, :mod:`auction.units`).
    last_units: int = 1


@dataclass(slots=True)
class AcceptedBid:
    seq: int
    at: int
    bidder_id: str
    bidder_no: str
    amount: int
    #: Its entry in the bidder's ``own_bids`` view, made once when first shown (see
    #: :func:`auction.views.bidder_view`): a bidder's standing is sent after every bid
    #: of its lot, and formatting every own bid again each time grew with the lot.
    view: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Question:
    """A bidder's question or objection to the host, and the answer once given."""

    seq: int
    at: int
    bidder_id: str
    bidder_no: str
    kind: str
    text: str
    answer: str | None = None
    public: bool = False


@dataclass(frozen=True, slots=True)
class Award:
    """One winner of a multi-unit lot: ``units`` units at ``amount`` each."""

    bidder_id: str
    bidder_no: str
    units: int
    amount: int


@dataclass(slots=True)
class Outcome:
    """``awarded`` with a winner and price, or ``failed`` with a reason code. A multi-unit
    lot's outcome names its first winner and lists every winner in ``awards``."""

    status: str
    bidder_id: str | None = None
    bidder_no: str | None = None
    amount: int | None = None
    reason: str | None = None
    at: int = 0
    awards: list[Award] = field(default_factory=list)


@dataclass(slots=True)
class LotState:
    """Everything the rules know of a lot. ``version`` is the sequence number of the last
    event applied (0 before the first), so the next event gets ``version + 1``."""

    lot_id: str
    session_id: str
    format: str
    title: str
    params: EnglishParams
    status: str = DRAFT
    version: int = 0
    created_at: int = 0
    bidders: dict[str, Bidder] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    opens_at: int | None = None
    closes_at: int | None = None
    max_closes_at: int | None = None
    paused_at: int | None = None
    best: int | None = None
    leader: str | None = None
    bids: list[AcceptedBid] = field(default_factory=list)
    outcome: Outcome | None = None
    #: The format's own state (see :mod:`auction.formats`), None for ``english``.
    play: Any = None
    #: Whether bidders' actions are signed: ``off``, ``optional`` or ``required``
    #: (the lot parameter ``signatures``, see :mod:`auction.signing`).
    signatures: str = "off"
    #: What a winner's default leads to by the lot's rule (the lot parameter
    #: ``on_default``, see :mod:`auction.default`): ``runner_up``, ``relist`` or None (the
    #: host chooses when declaring the default).
    on_default: str | None = None
    #: The public notice in force: of the suspension while paused, of the termination
    #: once cancelled (None: none).
    notice: str | None = None
    #: Relisting (:mod:`auction.default`): which attempt at selling the object this lot
    #: is (1: the first), the lot it relists, and the lot that relists it.
    attempt: int = 1
    relist_of: str | None = None
    relisted_as: str | None = None
    #: An upheld objection suspended the award (:mod:`auction.default`).
    award_suspended: bool = False
    #: Bidders' questions and objections by sequence number (see :mod:`auction.messaging`).
    questions: dict[int, Question] = field(default_factory=dict)
    #: The reserve entered late and witnessed (:class:`auction.witnessed.Witnessed`), None
    #: for a lot without ``reserve_entry``.
    witnessed: Any = None
    #: The bidders whose objects this state shares with the state it was copied from
    #: (``engine.pipeline.clone`` copies the map, not every bidder): :meth:`changing`
    #: copies one before its first change. Not part of the state: not compared, not kept.
    shared: set[str] = field(default_factory=set, compare=False, repr=False)

    def changing(self, bidder_id: str) -> Bidder:
        """Bidder ``bidder_id``, to be changed in place (every change of a bidder by the
        rules goes through here): a bidder shared with the state this one was copied
        from is copied first, so that the other state does not change with it."""
        bidder = self.bidders[bidder_id]
        if bidder_id in self.shared:
            self.shared.discard(bidder_id)
            bidder = self.bidders[bidder_id] = replace(bidder, own=list(bidder.own),
                                                       nonces=set(bidder.nonces))
        return bidder

    def better(self, a: int, b: int) -> bool:
        """Whether price ``a`` beats price ``b`` in this lot's direction."""
        return a > b if self.params.direction == "forward" else a < b

    def eligible(self, bidder: Bidder) -> bool:
        return bidder.deposit is not None and bidder.deposit >= self.params.deposit

    def ranking(self) -> list[Bidder]:
        """Bidders with a bid, best first; equal prices rank by who reached them first."""
        sign = -1 if self.params.direction == "forward" else 1
        ranked = [b for b in self.bidders.values() if b.last_bid is not None]
        ranked.sort(key=lambda b: (sign * (b.last_bid or 0), b.last_seq))
        return ranked
