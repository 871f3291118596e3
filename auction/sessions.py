"""Sessions of many lots: how their lots close together (RULES.md, Words: Session).

A session's lots, in their order (creation order within the session), close

* ``parallel`` (the default): each lot by its own times; the session adds nothing.
* ``serial``: one after another. Lot *i* is started as soon as lot *i-1* has ended
  (awarded, failed or cancelled), when lot *i* is scheduled; a lot that opens by
  itself at its ``opens_at`` keeps doing so. Lot 0 is started by staff or its clock.
* ``staggered``: lot *i* closes ``stagger_s`` after lot *i-1*: whenever lot *i* is open
  or paused and closes less than ``stagger_s`` after lot *i-1*'s closing time, its close
  is moved to exactly that (so with equal closing times lot *i* closes at lot 0's close
  + *i*·``stagger_s``, and a soft close of lot *i-1* moves every later lot along).
  Closes only ever move later; with ``stagger_s`` 0 no lot closes before the one before.

This module is pure: :func:`plan` gives the commands a session needs now, from the
states of its lots; the engine (:mod:`engine.sessions`) calls it after every commit of
a session's lot and executes them. Each command is refused once done (a started lot is
not scheduled any more; an extension to a time not later than the close is refused), so
several processes may issue the same command safely. The commands carry the actor
``session:<session id>`` (no staff member) and, for extensions, the reason
``staggered``; the record keeps both.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from auction.errors import InvalidParams
from auction.model import Command, ExtendLot, StartLot
from auction.state import AWARDED, CANCELLED, FAILED, OPEN, PAUSED, SCHEDULED, LotState

PARALLEL, SERIAL, STAGGERED = "parallel", "serial", "staggered"
MODES = (PARALLEL, SERIAL, STAGGERED)
#: The reason recorded with an extension made for a staggered session.
STAGGER_REASON = "staggered"
#: Longest stagger, in seconds (one day).
MAX_STAGGER_S = 24 * 3600
_DONE = frozenset({AWARDED, FAILED, CANCELLED})


@dataclass(frozen=True, slots=True)
class SessionRules:
    """How a session's lots close: ``mode`` and, for ``staggered``, ``stagger_s``."""

    mode: str = PARALLEL
    stagger_s: int = 0


def parse_rules(mode: object, stagger_s: object) -> SessionRules:
    """Validated session rules (None: the default); raises :class:`InvalidParams`."""
    mode = PARALLEL if mode is None else mode
    if mode not in MODES:
        raise InvalidParams(f"mode must be one of {', '.join(MODES)}", "mode")
    if stagger_s is None:
        stagger_s = 0
    if isinstance(stagger_s, bool) or not isinstance(stagger_s, int) \
            or not 0 <= stagger_s <= MAX_STAGGER_S:
        raise InvalidParams(f"stagger_s must be a whole number from 0 to {MAX_STAGGER_S}",
                            "stagger_s")
    # Only staggered sessions use a stagger: the others keep 0 whatever is given.
    return SessionRules(str(mode), stagger_s if mode == STAGGERED else 0)


def actor_of(session_id: str) -> str:
    """The actor recorded for what the engine does for session ``session_id``."""
    return f"session:{session_id}"


def plan(session_id: str, rules: SessionRules,
         lots: Sequence[LotState]) -> list[tuple[str, Command]]:
    """The commands (``(lot_id, command)``) the session needs now, given the current
    states of its ``lots`` in session order."""
    actor = actor_of(session_id)
    out: list[tuple[str, Command]] = []
    # The closing time of the lot before, as it will be once the planned moves are made.
    previous = lots[0].closes_at if lots else None
    for before, lot in zip(lots, lots[1:], strict=False):
        closes_at = lot.closes_at
        if rules.mode == SERIAL:
            if before.status in _DONE and lot.status == SCHEDULED and lot.opens_at is None:
                out.append((lot.lot_id, StartLot(actor=actor)))
        elif rules.mode == STAGGERED and previous is not None \
                and lot.status in (OPEN, PAUSED) and closes_at is not None:
            target = previous + rules.stagger_s * 1000
            if closes_at < target:
                out.append((lot.lot_id, ExtendLot(actor=actor, reason=STAGGER_REASON,
                                                  closes_at=target)))
                closes_at = target
        previous = closes_at
    return out
