"""The scale-out backend on a real Redis Cluster: one lot's keys share a hash tag, so the
append script runs in one slot on whichever node holds the lot's shard."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import RedisCluster

from auction.model import ConfirmDeposit, CreateLot, PlaceBid, Rejection, ScheduleLot, StartLot
from engine import redis_keys as keys
from engine.redis_engine import RedisEngine

pytestmark = pytest.mark.slow
PARAMS = {"start_price": "100.00", "step": "1.00", "deposit": "1.00", "duration_s": 2}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    c = RedisCluster(tmp_path)
    c.start()
    yield c
    c.stop()


async def test_two_engines_run_lots_of_every_node_of_a_cluster(cluster: RedisCluster) -> None:
    lot_ids = [f"C{i}" for i in range(12)]
    assert len({keys.shard(lot_id) for lot_id in lot_ids}) > 3  # spread over the slots
    a, b = RedisEngine(cluster.url, None), RedisEngine(cluster.url, None)
    await a.start()
    await b.start()
    try:
        for lot_id in lot_ids:
            assert isinstance(await a.execute(lot_id, CreateLot(
                lot_id=lot_id, session_id="S", format="english", title=lot_id, params=PARAMS,
                actor="h")), list)
            for n, engine in enumerate((a, b)):
                bidder = f"co{n}"
                assert isinstance(await engine.register_bidder(lot_id, bidder, bidder, "h"), list)
                assert isinstance(await engine.execute(lot_id, ConfirmDeposit(
                    bidder_id=bidder, amount=100, account=bidder, actor="h")), list)
            assert isinstance(await b.execute(lot_id, ScheduleLot(actor="h")), list)
            assert isinstance(await a.execute(lot_id, StartLot(actor="h")), list)
        for lot_id in lot_ids:  # both engines bid on every lot, each decided on the latest
            bids = await asyncio.gather(a.execute(lot_id, PlaceBid(bidder_id="co0", amount=10000)),
                                        b.execute(lot_id, PlaceBid(bidder_id="co1", amount=10000)))
            assert sorted(isinstance(r, Rejection) for r in bids) == [False, True]
        await asyncio.sleep(3.0)
        for lot_id in lot_ids:
            # b neither owns nor follows the lots: it reads them current on demand
            sa, sb = await a.find(lot_id), await b.find(lot_id)
            assert sa is not None and sb is not None
            assert sa.status == sb.status == "awarded"
            assert [r.hash for r in await a.history(lot_id)] == [
                r.hash for r in await b.history(lot_id)]
        # the listing pages through the lot indexes of every node, in order of creation
        created = {lot_id: (await a.history(lot_id))[0].event.at for lot_id in lot_ids}
        listed: list[str] = []
        after = None
        while True:
            states, after = await b.lots(after=after, limit=5)
            listed.extend(state.lot_id for state in states)
            if after is None:
                break
        assert listed == sorted(lot_ids, key=lambda lot_id: (created[lot_id], lot_id))
    finally:
        await a.close()
        await b.close()
