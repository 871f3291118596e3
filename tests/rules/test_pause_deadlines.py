"""Pausing stops every clock of a lot and resuming adds the paused time to every deadline
(RULES.md): every deadline any view shows moves by the paused time, in every format and
phase. A deadline is any ``..._at`` time of a snapshot (its format's ``play`` included)
after the instant of the pause; the instants before it (when the lot opened, when a
phase ended) stay. The ``params`` are the host's parameters, as set, not views of the
clock."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from auction.views import BIDDER, PUBLIC, STAFF, snapshot

from .clock_support import dutch, japanese
from .listing_support import LISTING_ENDS, listed
from .rounds_support import FIRST, entered, started
from .support import MINUTE, T0, Lot, opened
from .test_sealed import lot as sealed_lot

PAUSED_MS = 37_000


def deadlines(view: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(view, dict):
        for key, value in view.items():
            if key == "params":
                continue
            if key.endswith("_at"):
                yield f"{path}.{key}", value
            else:
                yield from deadlines(value, f"{path}.{key}")
    elif isinstance(view, list):
        for i, value in enumerate(view):
            yield from deadlines(value, f"{path}[{i}]")


def listing_in_confirm() -> Lot:
    lot = listed("a", "b")
    lot.take("a", "100.00", at=T0 + 1000)
    lot.tick(at=LISTING_ENDS)
    assert lot.s.play.phase == "confirm"
    return lot


CASES: dict[str, tuple[Callable[[], Lot], int]] = {
    "english": (lambda: opened("a", max_closes_at=T0 + 5 * MINUTE, extend_window_s=10,
                               extend_s=20), T0 + 10_000),
    "listing_timed listing": (lambda: listed("a", "b"), T0 + MINUTE),
    "listing_timed confirm": (listing_in_confirm, LISTING_ENDS + 1000),
    "sealed": (lambda: sealed_lot("a"), T0 + 10_000),
    "dutch": (lambda: dutch("a"), T0 + 5000),
    "japanese": (lambda: japanese("a", "b"), T0 + 5000),
    "multi_round prebid": (lambda: entered(("a", "900.00"), ("b", "950.00")), T0 + 10_000),
    "multi_round turn": (lambda: started(("a", "900.00"), ("b", "950.00")),
                         T0 + FIRST + 10_000),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_deadline_a_view_shows_moves_by_the_paused_time(case: str) -> None:
    make, at = CASES[case]
    lot = make()

    def views() -> list[dict[str, Any]]:
        return [dict(deadlines(snapshot(lot.s, audience, who)))
                for audience, who in ((STAFF, None), (PUBLIC, None), (BIDDER, "a"))]

    before = views()
    assert any(v is not None for view in before for v in view.values())
    lot.pause(at=at)
    lot.resume(at=at + PAUSED_MS)
    after = views()
    for old, new in zip(before, after, strict=True):
        assert new == {path: value + PAUSED_MS if value is not None and value > at
                       else value for path, value in old.items()}, case
