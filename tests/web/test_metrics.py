"""``/metrics``: a real server, a lot played with real WebSocket bids, and the figures
scraped over HTTP in Prometheus's text format, checked against what the clients saw."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from services import PostgresServer, RedisServer
from web_support import HOST_TOKEN, Client, Server, ServerFactory

from engine.redis_engine import RedisEngine

#: Rejections the edge decides before a command reaches the engine.
EDGE_CODES = {"forbidden", "bad_token", "rate_limited", "invalid_amount"}
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def tally(replies: list[dict[str, Any]]) -> Counter[str]:
    """Replies to bids (or acts) by result: ``accepted`` or the rejection's code."""
    assert all(r["type"] in ("ack", "rejected") for r in replies), replies
    return Counter("accepted" if r["type"] == "ack" else r["code"] for r in replies)




async def play(server: Server) -> tuple[str, list[Client], list[dict[str, Any]],
                                        list[dict[str, Any]]]:
    """An open lot played by two bidders and a public watcher over WebSockets: accepted
    bids, bids refused by the rules and by the edge, an action, a bad message. Returns
    the lot, the clients and the replies to the bids and to the action."""
    lot_id, tokens = await server.open_lot(bidders=2)
    first, second, watcher = [await server.connect() for _ in range(3)]
    await first.subscribe(lot_id, tokens[0])
    await second.subscribe(lot_id, tokens[1])
    await watcher.subscribe(lot_id)
    bids = [await first.bid(lot_id, "110.00", "a1"),
            await second.bid(lot_id, "110.00", "b1"),  # not above the leader's: the rules
            await second.bid(lot_id, "abc", "b2"),  # not an amount: the edge
            await second.bid(lot_id, "130.00", "b3"),
            await watcher.bid(lot_id, "150.00", "w1")]  # not a bidder: the edge
    acts = [await first.act(lot_id, "confirm", ref="c1")]  # an English lot has no actions
    await watcher.send({"type": "no-such-type"})
    assert (await watcher.next("error"))["code"] == "unknown_type"
    return lot_id, [first, second, watcher], bids, acts


async def test_metrics_after_a_played_lot_count_its_bids_by_result_connections_and_lots(
        server: Server) -> None:
    lot_id, clients, bids, acts = await play(server)
    await server.make_lot()  # a second lot, left a draft
    results = tally(bids)
    assert results["accepted"] == 2 and {"forbidden", "invalid_amount"} <= set(results)
    assert len(results) >= 4, results  # and the rules' own refusal

    scraped = await server.scrape()
    for result, count in results.items():
        assert scraped.value("auction_bids_total", kind="bid", result=result) == count, result
    for result, count in tally(acts).items():
        assert scraped.value("auction_bids_total", kind="act", result=result) == count
    counted = sum(v for (name, labels), v in scraped.items() if name == "auction_bids_total")
    assert counted == len(bids) + len(acts)
    assert scraped.value("auction_ws_errors_total", code="unknown_type") == 1
    # Every bid and action the edge let through reached the engine and was timed there.
    engine_answered = sum(n for code, n in (results + tally(acts)).items()
                          if code not in EDGE_CODES)
    assert scraped.value("auction_bid_ack_seconds_count") == engine_answered
    assert scraped.value("auction_bid_ack_seconds_bucket", le="+Inf") == engine_answered
    # Every event of every lot went through a commit of the store.
    events = sum(server.seq(lot) for lot in server.engine.lot_ids())
    assert scraped.value("auction_commit_rows_sum") == events
    assert 1 <= scraped.value("auction_commit_seconds_count") <= events
    assert scraped.value("auction_ws_connections") == 3
    assert scraped.value("auction_ws_subscriptions") == 3
    assert scraped.value("auction_ws_lots_watched") == 1
    assert scraped.value("auction_lots", status="open") == 1
    assert scraped.value("auction_lots", status="draft") == 1
    assert scraped.value("auction_lots", status="cancelled") == 0
    assert scraped.value("auction_engine_ready") == 1
    assert "auction_postgres_lag_seconds" not in scraped.names()  # no Postgres here

    await clients[2].close()
    await server.ok("POST", f"/api/lots/{lot_id}/cancel", {"reason": "test"})
    async with asyncio.timeout(5):
        while (await server.scrape()).value("auction_ws_connections") != 2:
            await asyncio.sleep(0.02)
    scraped = await server.scrape()
    assert scraped.value("auction_ws_subscriptions") == 2
    assert scraped.value("auction_lots", status="open") == 0
    assert scraped.value("auction_lots", status="cancelled") == 1


async def test_rate_limit_hits_are_counted_by_limit(make_server: ServerFactory) -> None:
    server = await make_server(bid_rate=0.001, bid_burst=1, max_connections_per_address=3)
    lot_id, tokens = await server.open_lot(bidders=1)
    client = await server.connect()
    await client.subscribe(lot_id, tokens[0])
    replies = [await client.bid(lot_id, "110.00", "a"), await client.bid(lot_id, "120.00", "b")]
    assert tally(replies) == {"accepted": 1, "rate_limited": 1}
    await server.connect()
    await server.connect()
    with pytest.raises(Exception, match="429"):
        await server.connect()
    scraped = await server.scrape()
    assert scraped.value("auction_rate_limited_total", limit="bids") == 1
    assert scraped.value("auction_rate_limited_total", limit="connections") == 1
    assert scraped.value("auction_rate_limited_total", limit="messages") == 0
    assert scraped.value("auction_bids_total", kind="bid", result="rate_limited") == 1


async def test_two_servers_in_one_process_keep_their_own_figures(
        make_server: ServerFactory) -> None:
    one, two = await make_server(), await make_server()
    lot_id, tokens = await one.open_lot(bidders=1)
    client = await one.connect()
    await client.subscribe(lot_id, tokens[0])
    assert (await client.bid(lot_id, "110.00"))["type"] == "ack"
    assert (await one.scrape()).value("auction_bids_total", kind="bid", result="accepted") == 1
    other = await two.scrape()
    assert other.value("auction_bids_total", kind="bid", result="accepted") == 0
    assert other.value("auction_ws_connections") == 0
    assert other.value("auction_lots", status="open") == 0


async def test_metrics_are_for_staff_or_the_allowed_networks_only(
        make_server: ServerFactory) -> None:
    server = await make_server()
    lot_id, tokens = await server.open_lot(bidders=1)
    for token, status, code in ((None, 401, "unauthorized"), (tokens[0], 403, "forbidden"),
                                ("not-a-token", 401, "unauthorized")):
        got, body = await server.call("GET", "/metrics", token=token)
        assert (got, body["error"]["code"]) == (status, code)
    assert "auction_lots" in (await server.scrape(token=HOST_TOKEN)).names()
    allowed = await make_server(metrics_allow=(ipaddress.ip_network("127.0.0.0/8"),))
    assert "auction_lots" in (await allowed.scrape(token=None)).names()
    elsewhere = await make_server(metrics_allow=(ipaddress.ip_network("10.0.0.0/8"),))
    got, _ = await elsewhere.call("GET", "/metrics", token=None)
    assert got == 401


# ------------------------------------------------------------------ Redis + Postgres


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[RedisServer, PostgresServer, str]]:
    """A Redis and a Postgres (with a database) of this test alone."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    postgres = PostgresServer()
    postgres.init()
    postgres.start()
    try:
        yield redis, postgres, postgres.create_database("metrics")
    finally:
        postgres.remove()
        redis.kill()


def dashboard_metrics() -> set[str]:
    """Every metric name a query of the Grafana dashboard uses."""
    exprs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(DASHBOARD.read_text()))
    assert exprs, "the dashboard has no query"
    return {name for expr in exprs for name in re.findall(r"\b(?:auction|process)_[a-z_]+", expr)}


@pytest.mark.slow
async def test_the_postgres_record_s_lag_and_every_dashboard_metric_are_in_a_real_scrape(
        make_server: ServerFactory, services: tuple[RedisServer, PostgresServer, str]) -> None:
    redis, postgres, dsn = services
    server = await make_server(engine=RedisEngine(redis.url, dsn))
    lot_id, clients, _, _ = await play(server)
    engine = server.engine
    record = engine.record_store  # type: ignore[attr-defined]
    async with asyncio.timeout(20):  # the record catches up once Postgres is reached
        while record.behind or record.rows_behind():
            await asyncio.sleep(0.05)
    scraped = await server.scrape()
    assert scraped.value("auction_postgres_rows_behind") == 0
    assert scraped.value("auction_postgres_lag_seconds") == 0
    assert scraped.value("auction_engine_ready") == 1
    assert scraped.value("auction_bids_total", kind="bid", result="accepted") == 2
    events = sum(server.seq(lot) for lot in engine.lot_ids())
    assert scraped.value("auction_commit_rows_sum") == events  # Redis's appends

    missing = sorted(dashboard_metrics() - scraped.names())
    assert not missing, f"the dashboard queries metrics no scrape has: {missing}"

    postgres.stop()  # the permanent record falls behind: the scrape shows how far
    assert (await clients[0].bid(lot_id, "200.00", "late"))["type"] == "ack"
    async with asyncio.timeout(10):
        while (scraped := await server.scrape()).value("auction_postgres_lag_seconds") < 0.3:
            await asyncio.sleep(0.1)
    assert scraped.value("auction_postgres_rows_behind") >= 1
    assert scraped.value("auction_engine_not_ready", check="postgres") == 1
    postgres.start()

    redis.kill()  # the engine cannot serve: the scrape says so, and why
    async with asyncio.timeout(10):
        while (scraped := await server.scrape()).value("auction_engine_ready") != 0:
            await asyncio.sleep(0.1)
    assert scraped.value("auction_engine_not_ready", check="redis") == 1
    assert scraped.value("auction_engine_not_ready", check="store") == 0
