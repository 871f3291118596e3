"""Ended lots left in the store, seen through the server: a server started on a data
directory with ended lots holds none of them in memory, yet lists them (a page at a
time, from the store), serves their pages, records, exports and WebSocket
subscriptions, and counts them by status in /metrics and /healthz."""

from pathlib import Path

import pytest
from web_support import HOST_TOKEN, ServerFactory, open_lot

from auction.model import PlaceBid, Tick
from auction.state import AWARDED
from auction.verify import verify
from engine import runtime
from engine.embedded import EmbeddedEngine

T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> int:
        return self.t


async def ended_history(data: Path, clock: Clock, lots: int) -> list[str]:
    """``lots`` ended english lots (two bids each) written by an engine on ``data``."""
    ids = []
    async with EmbeddedEngine(data, clock) as engine:
        for i in range(lots):
            lot_id = f"E{i:02d}"
            await open_lot(engine, lot_id)
            for bidder, amount in (("x", 200), ("y", 300)):
                assert isinstance(await engine.execute(lot_id, PlaceBid(
                    bidder_id=bidder, amount=amount)), list)
            state = engine.lot(lot_id)
            assert state is not None and state.closes_at is not None
            clock.t = max(clock.t, state.closes_at)
            assert isinstance(await engine.execute(lot_id, Tick()), list)
            ids.append(lot_id)
    return ids


async def test_a_server_lists_serves_and_counts_ended_lots_it_does_not_hold_in_memory(
        make_server: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WARM_LOTS", 2)
    clock = Clock()
    data = tmp_path / "history"
    ids = await ended_history(data, clock, 7)
    server = await make_server(clock=clock, data=data)
    engine = server.engine
    assert engine.lot_ids() == []  # nothing of the history read at start

    listed, after = [], None
    while True:
        query = f"?limit=3&after={after}" if after else "?limit=3"
        page = await server.ok("GET", "/api/lots" + query, token=None)
        assert len(page["lots"]) <= 3
        listed += [lot["lot_id"] for lot in page["lots"]]
        after = page["next"]
        if after is None:
            break
    assert listed == ids and all(lot["status"] == AWARDED for lot in page["lots"])
    assert len(engine.lot_ids()) <= 2  # the listing read them, memory kept the recent ones
    status, _ = await server.call("GET", "/api/lots?limit=0")
    assert status == 400

    lot = await server.ok("GET", f"/api/lots/{ids[0]}", token=None)
    assert lot["status"] == AWARDED and lot["best"] == "3.00"
    async with server.http.get(f"{server.base}/api/lots/{ids[1]}/export",
                               headers={"Authorization": f"Bearer {HOST_TOKEN}"}) as resp:
        assert resp.status == 200
        checked = verify(await resp.text())
    assert checked.ok and checked.lot_id == ids[1]
    result = await server.ok("GET", f"/api/lots/{ids[2]}/result", token=None)
    assert result["lot_id"] == ids[2]
    checks = await server.ok("GET", "/api/collusion")
    assert checks["checked"] == 7

    samples = await server.scrape()
    assert samples.value("auction_lots", status=AWARDED) == 7
    assert (await server.ok("GET", "/healthz", token=None))["lots"] == 7

    client = await server.connect()
    update = await client.subscribe(ids[3])
    assert update["state"]["status"] == AWARDED and update["state"]["lot_id"] == ids[3]
