"""Bids sealed by their bidders (``sealing: bidder``, commit-reveal), shared by the formats
whose prices are sealed: :mod:`auction.sealed` (every bid) and :mod:`auction.multi_round`
(the initial bids). One implementation of the commitment, the reveal and the void:

- while the format takes sealed bids a bidder commits (``Act`` ``commit``,
  :class:`BidCommitted`) to ``sha256`` of the canonical JSON ``[lot_id, bidder_no,
  amount, salt]`` (amount in integer minor units as a decimal string, salt 32 to 128
  lowercase hex digits the bidder drew and keeps; see :func:`seal_commitment`); a commit
  carries no amount, so the server and its operator cannot learn the price;
- when sealed bidding ends the format records :class:`RevealOpened` (every committed
  bidder's number and last commitment, published) and a reveal window;
- in the window each bidder reveals (``Act`` ``reveal`` with the amount and the salt): a
  reveal that does not hash to its last commitment is refused (``reveal_mismatch``), one
  that does is recorded as :class:`BidRevealed` followed by the format's ``BidAccepted``;
- at the end of the window :class:`BidsVoided` names the bidders who committed and did not
  reveal: their bids are void.

The format keeps the shared state in its ``play`` (a subclass of :class:`BidderSealing`),
decides when bidding and the window end, and what a revealed price must respect.
:mod:`auction.verify` rebuilds each commit and reveal (:func:`command_of`) and decides it
again, so a forged commitment, reveal or void fails verification.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auction.draw import RANDOM_HEX
from auction.messages import MESSAGES
from auction.model import SYSTEM, Act, BidAccepted, Event, Rejection, Tick, register_event
from auction.money import AMOUNT_RANGE, format_amount, within
from auction.record import Recorded
from auction.state import Bidder, LotState

#: Who seals the bids: the server (it stores the amounts, withheld from every view) or
#: each bidder (commit-reveal: the server stores a hash until the bidder reveals).
SEALINGS = ("server", "bidder")
#: The reveal window when ``reveal_s`` is not given.
DEFAULT_REVEAL_S = 600
_HEX64 = re.compile(r"[0-9a-f]{64}")

MESSAGES.update({
    "commit_required": ("本标的由竞买人自行密封：请提交报价承诺，开标时再解密",
                        "Bids on this lot are sealed by the bidder: commit, then reveal at "
                        "the opening."),
    "not_reveal_time": ("尚未进入解密时段", "The reveal window is not open."),
    "reveal_only": ("已开标：只接受报价解密", "Bidding ended at the opening: only reveals "
                                          "are taken."),
    "no_commitment": ("您没有已提交的报价承诺", "You have no committed bid to reveal."),
    "already_revealed": ("您的报价已解密", "Your bid is revealed already."),
    "reveal_mismatch": ("解密的报价与承诺不符", "The price and salt do not match your commitment."),
})


def seal_commitment(lot_id: str, bidder_no: str, amount: int, salt: str) -> str:
    """The commitment to ``amount`` (minor units) of ``bidder_no`` in ``lot_id`` with the
    bidder's secret ``salt``: lowercase hex SHA-256 of the UTF-8 JSON array
    ``[lot_id, bidder_no, str(amount), salt]`` without spaces (what the room page
    computes with ``JSON.stringify`` and WebCrypto)."""
    text = json.dumps([lot_id, bidder_no, str(amount), salt], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- events


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidCommitted(Event):
    """A bidder-sealed bid: the hash of a price and a salt only the bidder knows."""

    bidder_id: str
    bidder_no: str
    commitment: str
    ip: str = ""
    device: str = ""
    ref: str = ""


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class RevealOpened(Event):
    """Sealed bidding ended: bidders reveal until ``closes_at``; every committed bidder's
    number and last commitment, in the order the commitments were sequenced."""

    closes_at: int
    bidder_nos: list[str]
    commitments: list[str]


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidRevealed(Event):
    """A reveal that matches the bidder's commitment (a ``BidAccepted`` follows)."""

    bidder_id: str
    bidder_no: str
    amount: int
    salt: str
    ip: str = ""
    device: str = ""
    ref: str = ""


@register_event
@dataclass(frozen=True, slots=True, kw_only=True)
class BidsVoided(Event):
    """The reveal window ended: these bidders committed and did not reveal; their bids are
    void."""

    bidder_nos: list[str]


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class Commit:
    """A bidder's last commitment, the sequence number of its event, and how many it
    made."""

    commitment: str
    seq: int
    count: int


@dataclass(slots=True)
class BidderSealing:
    """The commit-reveal part of a format's ``play``."""

    #: Each committed bidder's (id) last commitment.
    commits: dict[str, Commit] = field(default_factory=dict)
    commit_count: int = 0
    #: Bidders (ids) who revealed, and the sequence numbers of the reveals.
    revealed_ids: set[str] = field(default_factory=set)
    reveal_seqs: list[int] = field(default_factory=list)
    #: The numbers of the bidders whose bids were void.
    voided: list[str] = field(default_factory=list)


def _sealing(state: LotState) -> BidderSealing:
    play: BidderSealing = state.play
    return play


def _committed(state: LotState, event: BidCommitted) -> None:
    play = _sealing(state)
    held = play.commits.get(event.bidder_id)
    play.commits[event.bidder_id] = Commit(event.commitment, state.version,
                                           1 + (held.count if held else 0))
    play.commit_count += 1


def _bid_revealed(state: LotState, event: BidRevealed) -> None:
    play = _sealing(state)
    play.revealed_ids.add(event.bidder_id)
    play.reveal_seqs.append(state.version)


def _voided(state: LotState, event: BidsVoided) -> None:
    _sealing(state).voided = list(event.bidder_nos)


#: Evolve handlers of the shared events (a format adds its own for :class:`RevealOpened`:
#: the window's end is its clock).
HANDLERS: dict[type[Event], Any] = {BidCommitted: _committed, BidRevealed: _bid_revealed,
                                    BidsVoided: _voided}


# --------------------------------------------------------------------------- decisions


def commit(play: BidderSealing, bidder: Bidder, cmd: Act, revisions: int, now: int
           ) -> list[Event] | Rejection:
    """The commitment ``cmd`` of ``bidder`` while the format takes sealed bids (at most
    ``revisions`` revisions after the first), or why it is refused."""
    held = play.commits.get(bidder.bidder_id)
    if cmd.amount is not None or cmd.salt:
        return Rejection("invalid_params", "a commitment carries no amount and no "
                                           "salt: they stay with the bidder")
    if not isinstance(cmd.commitment, str) or not _HEX64.fullmatch(cmd.commitment):
        return Rejection("invalid_params", "the commitment is 64 lowercase hex "
                                           "digits (SHA-256)")
    if held is not None and held.count > revisions:
        return Rejection("revision_limit")
    if held is not None and held.commitment == cmd.commitment:
        return Rejection("same_bid")
    return [BidCommitted(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                         bidder_no=bidder.bidder_no, commitment=cmd.commitment,
                         ip=cmd.ip, device=cmd.device, ref=cmd.ref)]


def reveal(state: LotState, play: BidderSealing, bidder: Bidder, cmd: Act, now: int,
           limits: Callable[[int], Rejection | None]) -> list[Event] | Rejection:
    """The reveal ``cmd`` of ``bidder`` in the reveal window: :class:`BidRevealed` and the
    ``BidAccepted`` of its price, or why it is refused (``limits(amount)``: why the lot's
    limits refuse a revealed price, as they would refuse a bid)."""
    held = play.commits.get(bidder.bidder_id)
    if held is None:
        return Rejection("no_commitment")
    if bidder.bidder_id in play.revealed_ids:
        return Rejection("already_revealed")
    if cmd.amount is None or not within(cmd.amount, state.params.decimals):
        return Rejection("invalid_amount", AMOUNT_RANGE)
    if not isinstance(cmd.salt, str) or not RANDOM_HEX.fullmatch(cmd.salt):
        return Rejection("invalid_params", "the salt is 32 to 128 lowercase hex digits")
    if seal_commitment(state.lot_id, bidder.bidder_no, cmd.amount,
                       cmd.salt) != held.commitment:
        return Rejection("reveal_mismatch")
    refused = limits(cmd.amount)
    if refused is not None:
        return refused
    return [BidRevealed(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                        bidder_no=bidder.bidder_no, amount=cmd.amount, salt=cmd.salt,
                        ip=cmd.ip, device=cmd.device, ref=cmd.ref),
            BidAccepted(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                        bidder_no=bidder.bidder_no, amount=cmd.amount, ip=cmd.ip,
                        device=cmd.device, ref=cmd.ref)]


def reveal_opened(state: LotState, play: BidderSealing, now: int, closes_at: int
                  ) -> RevealOpened:
    """The opening of the reveal window until ``closes_at``: every committed bidder's
    number and last commitment, published in the order the commitments were sequenced."""
    held = sorted((c.seq, state.bidders[b].bidder_no, c.commitment)
                  for b, c in play.commits.items())
    return RevealOpened(at=now, actor=SYSTEM, closes_at=closes_at,
                        bidder_nos=[no for _, no, _ in held],
                        commitments=[c for _, _, c in held])


def voided(state: LotState, play: BidderSealing, now: int) -> list[Event]:
    """:class:`BidsVoided` of the bidders who committed and did not reveal (in the order
    of their commitments), when there are any."""
    void = sorted((c.seq, state.bidders[b].bidder_no) for b, c in play.commits.items()
                  if b not in play.revealed_ids)
    if not void:
        return []
    return [BidsVoided(at=now, actor=SYSTEM, bidder_nos=[no for _, no in void])]


def command_of(event: Event) -> Act | Tick | None:
    """For :mod:`auction.verify`: a commitment and a reveal are the bidder's actions;
    the opening of the window and the voids start a Tick's decision."""
    if isinstance(event, BidCommitted):
        return Act(bidder_id=event.bidder_id, act="commit", commitment=event.commitment,
                   ip=event.ip, device=event.device, ref=event.ref)
    if isinstance(event, BidRevealed):
        return Act(bidder_id=event.bidder_id, act="reveal", amount=event.amount,
                   salt=event.salt, ip=event.ip, device=event.device, ref=event.ref)
    if isinstance(event, (RevealOpened, BidsVoided)):
        return Tick()
    return None


# --------------------------------------------------------------------------- views


def bidder_standing(play: BidderSealing, bidder: Bidder) -> dict[str, Any]:
    """A bidder's own commitment (None before it commits) and whether it revealed."""
    held = play.commits.get(bidder.bidder_id)
    return {"commitment": held.commitment if held else None,
            "revealed": bidder.bidder_id in play.revealed_ids}


def published(state: LotState, play: BidderSealing) -> list[dict[str, str]]:
    """The commitments published at the opening of the reveal window."""
    return [{"bidder_no": state.bidders[b].bidder_no, "commitment": c.commitment}
            for b, c in play.commits.items()]


def redact(state: LotState, record: Recorded, event: BidCommitted | BidRevealed,
           audience: str, bidder_id: str | None, opened: bool) -> dict[str, Any] | None:
    """A commitment or a reveal (``event``, of ``record``) as ``audience`` may see it.
    Until the prices are ``opened`` only its bidder sees whose it is (and its commitment
    or price); after it, staff see the whole event (None: the shared rules), everyone
    else who committed and revealed what (not addresses or devices)."""
    out: dict[str, Any] = {"seq": record.seq, "type": type(event).__name__, "at": event.at}
    if opened and audience == "staff":
        return None
    if opened or (audience == "bidder" and event.bidder_id == bidder_id):
        out["bidder_no"] = event.bidder_no
        if isinstance(event, BidCommitted):
            out["commitment"] = event.commitment
        else:
            out.update(amount=format_amount(event.amount, state.params.decimals),
                       salt=event.salt)
    return out
