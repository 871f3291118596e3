"""Proxy bidding on every backend: automatic bids are committed with the bid that caused
them, and a restart folds the maxima back."""

from collections.abc import Callable

from auction.english import proxy_max
from auction.model import (
    SYSTEM,
    Act,
    BidAccepted,
    ConfirmDeposit,
    CreateLot,
    PlaceBid,
    Rejection,
    ScheduleLot,
    StartLot,
)
from engine.api import Engine

EngineFactory = Callable[..., Engine]


async def test_a_proxy_answers_a_bid_in_the_same_commit_and_survives_a_restart(
        engine_factory: EngineFactory) -> None:
    async with engine_factory() as engine:
        assert not isinstance(await engine.execute("X1", CreateLot(
            lot_id="X1", session_id="S1", format="english", title="Land",
            params={"start_price": "100.00", "step": "10.00", "deposit": "50.00",
                    "duration_s": 600, "proxy": True}, actor="host1")), Rejection)
        for bidder_id in ("B0", "B1"):
            await engine.register_bidder("X1", bidder_id, "Co", "host1")
            await engine.execute("X1", ConfirmDeposit(bidder_id=bidder_id, amount=5000,
                                                      account="acct", actor="host1"))
        await engine.execute("X1", ScheduleLot(actor="host1"))
        await engine.execute("X1", StartLot(actor="host1"))
        first = await engine.execute("X1", Act(bidder_id="B0", act="proxy", amount=30000))
        assert not isinstance(first, Rejection)
        assert [type(r.event).__name__ for r in first] == ["ProxySet", "BidAccepted"]
        refused = await engine.execute("X1", Act(bidder_id="B1", act="proxy", amount=100))
        assert isinstance(refused, Rejection) and refused.code == "proxy_too_low"
        answered = await engine.execute("X1", PlaceBid(bidder_id="B1", amount=15000))
        assert not isinstance(answered, Rejection)
        bids = [r.event for r in answered if isinstance(r.event, BidAccepted)]
        assert [(b.bidder_id, b.amount, b.actor == SYSTEM) for b in bids] == [
            ("B1", 15000, False), ("B0", 16000, True)]
        state = engine.lot("X1")
        assert state is not None and state.leader == "B0" and proxy_max(state, "B0") == 30000
    async with engine_factory() as engine:
        state = engine.lot("X1")
        assert state is not None and state.best == 16000 and proxy_max(state, "B0") == 30000
