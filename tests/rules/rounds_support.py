"""A ``multi_round`` lot driven through the rules (see :mod:`tests.rules.support`)."""

from __future__ import annotations

from typing import Any

from auction.model import CreateLot, Event

from .support import HOST, T0, Lot

TURN, PAUSE, FIRST = 120_000, 120_000, 300_000


def rounds_params(**overrides: Any) -> dict[str, Any]:
    """Reverse multi_round params: step 1.00, ceiling 1000.00, the default timing."""
    params: dict[str, Any] = {"step": "1.00", "ceiling": "1000.00", "deposit": "50.00"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


class Rounds(Lot):
    """A multi_round lot (created at T0 - 1 minute, opened at T0 by :meth:`open`)."""

    def __init__(self, **overrides: Any) -> None:
        self.now = T0
        self.state = None
        self.events: list[Event] = []
        self.accept(CreateLot(lot_id="lot-1", session_id="s-1", format="multi_round",
                              title="办公设备采购 第3包", params=rounds_params(**overrides),
                              actor=HOST))

    def turn_no(self) -> str | None:
        play = self.s.play
        return None if play.phase != "turn" else self.s.bidders[play.order[play.turn]].bidder_no

    def in_turn(self) -> str:
        play = self.s.play
        assert play.phase == "turn"
        bidder_id: str = play.order[play.turn]
        return bidder_id

    def to_next_phase(self) -> list[Event]:
        """Move the clock to the end of the current phase and tick."""
        self.now = self.s.play.ends_at
        return self.tick()


def entered(*prebids: tuple[str, str], **overrides: Any) -> Rounds:
    """An open lot whose bidders made ``prebids`` (bidder id, price) at T0 + 1 s on."""
    lot = Rounds(**overrides).open(*(b for b, _ in prebids))
    for i, (bidder_id, price) in enumerate(prebids):
        lot.take(bidder_id, price, at=T0 + 1000 * (i + 1))
    return lot


def started(*prebids: tuple[str, str], **overrides: Any) -> Rounds:
    """:func:`entered`, then the first pause ends: round 1 has started."""
    lot = entered(*prebids, **overrides)
    lot.to_next_phase()
    return lot
