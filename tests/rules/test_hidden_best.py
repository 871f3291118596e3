"""Under ``rank`` and ``blind`` visibility the best price is hidden from bidders, and no
answer to a bid may give it away: every rejection or acknowledgement a bidder gets is a
function of the public state and its own bids only (ARCHITECTURE invariant 6)."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auction.model import PlaceBid, Rejection
from auction.views import bidder_view

from .support import MINUTE, T0, Lot, english, opened

STEP = 1000  # minor units: 10.00
START = 100_000  # 1000.00


def answer(lot: Lot, bidder_id: str, amount: int, at: int) -> str:
    decision = lot.decide(PlaceBid(bidder_id=bidder_id, amount=amount), at)
    return decision.code if isinstance(decision, Rejection) else "ack"


def test_a_blind_bidder_cannot_learn_the_hidden_best_from_rejections() -> None:
    # The probe of the report: the best is 930.00 on a reverse blind lot; the prober's
    # answers to 960, 940, 930 and 920 are the same as on a lot without that best.
    answers = []
    for others in ([("b", 95_000), ("b", 93_000)], []):
        lot = opened("a", "b", direction="reverse", visibility="blind",
                     start_price="1000.00", step="10.00")
        for bidder_id, amount in others:
            assert answer(lot, bidder_id, amount, T0 + 1000) == "ack"
        answers.append([answer(lot, "a", amount, T0 + 2000)
                        for amount in (96_000, 94_000, 93_000, 92_000)])
    assert answers[0] == answers[1] == ["ack", "ack", "ack", "ack"]


def standing(lot: Lot, bidder_id: str) -> dict[str, Any]:
    """The bidder's view without the sequence numbers (they count everyone's events)."""
    view = bidder_view(lot.s, bidder_id)
    assert view is not None
    return {**view, "own_bids": [{**b, "seq": None} for b in view["own_bids"]]}


def prices(direction: str) -> st.SearchStrategy[int]:
    """Prices around the start, on and off the step grid."""
    sign = 1 if direction == "forward" else -1
    return st.builds(lambda k, off: START + sign * k * STEP + off,
                     st.integers(-2, 12), st.sampled_from([0, 0, 0, 500]))


@st.composite
def hidden_lots(draw: st.DrawFn) -> dict[str, Any]:
    direction = draw(st.sampled_from(["forward", "reverse"]))
    params: dict[str, Any] = {
        "direction": direction, "visibility": draw(st.sampled_from(["rank", "blind"])),
        "start_price": "1000.00", "step": "10.00",
        "step_multiple": draw(st.booleans()),
        "max_jump_steps": draw(st.sampled_from([None, 1, 2, 4])),
    }
    if direction == "reverse" and draw(st.booleans()):
        params["ceiling"] = "1000.00"
    if draw(st.booleans()):
        params["improve"] = "own"
    return params


@settings(max_examples=300, deadline=None)
@given(data=st.data(), params=hidden_lots())
def test_under_rank_and_blind_a_bidders_answers_depend_only_on_public_state_and_its_own_bids(
        data: st.DataObject, params: dict[str, Any]) -> None:
    """Two lots differ only in the other bidders' hidden bids: the prober gets the same
    answer to every bid in both (and, under ``blind``, the same standing)."""
    lots = [Lot(english(**params, closes_at=T0 + 10 * MINUTE)).open("p", "x", "y")
            for _ in range(2)]
    amounts = prices(params["direction"])
    others = st.lists(st.tuples(st.sampled_from(["x", "y"]), amounts), max_size=3)
    for turn in range(data.draw(st.integers(1, 6))):
        at = T0 + 1000 * (turn + 1)
        for lot in lots:
            for bidder_id, amount in data.draw(others):
                answer(lot, bidder_id, amount, at)
        probe = data.draw(amounts)
        first, second = (answer(lot, "p", probe, at) for lot in lots)
        assert first == second, (probe, first, second)
        if params["visibility"] == "blind":
            assert standing(lots[0], "p") == standing(lots[1], "p")
