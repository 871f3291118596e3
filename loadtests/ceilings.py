"""Ceilings measured beside the engine in the same run (``../shared/BENCHMARKS.md``):
what the machine does with no engine in the way.

* raw fan-out: a bare ``websockets`` server (``python -m loadtests.ceilings fanout``) that
  ``websockets.broadcast()``s a 150-byte price message to every connected client as fast
  as the clients take it; the clients are the same lean load generators that count the
  engine's deliveries (:mod:`loadtests.drivers`), in another process.
* raw protocol round trips: a bare aiohttp server (``python -m loadtests.ceilings
  protocol``) that answers the auction protocol's messages with frames of the same shape
  and number as the engine's (``subscribed``; per bid an ``update`` to every member of the
  lot, a ``you`` to the bidder and to the one it outbid, an ``ack``; a bid not above the
  lot's best is answered with the engine's ``rejected`` frame, ``not_improving``, as the
  engine answers every bidder but one of those racing for a price), deciding nothing more
  (one comparison with the lot's best) and storing nothing: what the same load
  generators get from aiohttp alone.
* raw Redis append: ``redis-benchmark`` of a Lua script doing HINCRBY + XADD, 50 clients,
  on a Redis with ``appendfsync always``.
* raw Postgres insert: asyncpg ``copy_records_to_table``, ``executemany`` in batches of
  100, and single autocommit inserts, into a table shaped like the record's.
"""

import asyncio
import contextlib
import sys
import time
from decimal import Decimal

import orjson
import websockets
from websockets.asyncio.server import ServerConnection, serve


def price_message(seq: int) -> str:
    """A 150-byte message shaped like a price update, its event numbered ``seq``."""
    head = ('{"type":"update","lot_id":"L-RAW","events":[{"seq":' + str(seq) + ',"type":'
            '"BidAccepted","at":1767225600456,"bidder_no":"4821","amount":"1260000.00"}],'
            '"pad":"')
    return head + "x" * (150 - len(head) - 2) + '"}'


PRICE_MESSAGE = price_message(1)
assert len(PRICE_MESSAGE) == 150
#: Write buffer (bytes) above which the broadcaster waits for the clients to read.
HIGH_WATER = 64 * 1024


async def fanout_server(port: int) -> None:
    """Serve the raw fan-out: clients get a ``welcome``, are answered ``subscribed`` to
    any message; on ``go SECONDS`` (stdin) every client gets :data:`PRICE_MESSAGE` as
    fast as all of them read it; the count sent is printed as JSON. On ``pace RATE
    SECONDS`` every client gets ``RATE`` messages a second (:func:`price_message`,
    numbered from 1), and each one's number and ``time.monotonic_ns()`` just before its
    broadcast are printed as JSON."""
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        try:
            await ws.send('{"type":"welcome"}')
            async for _ in ws:
                clients.add(ws)
                await ws.send('{"type":"subscribed"}')
        except websockets.ConnectionClosed:
            pass
        finally:
            clients.discard(ws)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 sys.stdin)
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None,
                     max_queue=None):
        print(orjson.dumps({"event": "listening"}).decode(), flush=True)
        while line := await reader.readline():
            words = line.split()
            if words and words[0] == b"pace":
                await pace(clients, float(words[1]), float(words[2]))
                continue
            if not words or words[0] != b"go":
                break
            seconds = float(words[1])
            sent, started = 0, time.monotonic()
            while time.monotonic() - started < seconds:
                targets = list(clients)
                websockets.broadcast(targets, PRICE_MESSAGE)
                sent += len(targets)
                while any(c.transport.get_write_buffer_size() > HIGH_WATER for c in targets):
                    await asyncio.sleep(0.0005)
                await asyncio.sleep(0)
            print(orjson.dumps({"event": "sent", "sent": sent,
                                "seconds": time.monotonic() - started}).decode(), flush=True)


async def pace(clients: set[ServerConnection], rate: float, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    sent: list[tuple[int, int]] = []
    due = loop.time()
    for seq in range(1, int(rate * seconds) + 1):
        await asyncio.sleep(max(0.0, due - loop.time()))
        sent.append((seq, time.monotonic_ns()))
        websockets.broadcast(list(clients), price_message(seq))
        due += 1 / rate
    print(orjson.dumps({"event": "paced", "sent": sent}).decode(), flush=True)


# --------------------------------------------------------------------------- protocol

#: What an engine's snapshot of a price lot looks like (same keys, similar size).
STATE = {"lot_id": "", "session_id": "S-00000000", "title": "bench", "format": "english",
         "status": "open", "seq": 0, "opens_at": 1767225600000, "closes_at": 1767229200000,
         "max_closes_at": None, "paused_at": None,
         "params": {"direction": "forward", "currency": "CNY", "deposit": "1.00",
                    "start_price": "1000.00", "steps": [{"from": "0.00", "step": "1.00"}],
                    "step_multiple": True, "ceiling": None, "max_jump_steps": None,
                    "extend_window_s": 0, "extend_s": 0, "improve": "leader",
                    "visibility": "price", "has_reserve": False},
         "bidders": 2, "bid_count": 0, "best": None, "leader_no": None, "next_min": None,
         "outcome": None}


async def protocol_server(port: int) -> None:
    """Serve the raw protocol round trips (see the module's docstring) until stdin ends."""
    from aiohttp import WSMsgType, web

    from web.errors import describe

    rooms: dict[str, list[web.WebSocketResponse]] = {}
    seqs: dict[str, int] = {}
    leaders: dict[str, web.WebSocketResponse] = {}
    #: Each lot's best amount: a bid not above it is refused, as the engine refuses it.
    best: dict[str, Decimal] = {}
    not_improving = describe("not_improving")

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        await ws.send_frame(b'{"type":"welcome","protocol":1}', WSMsgType.TEXT)
        lot_id = ""
        try:
            async for msg in ws:
                data = orjson.loads(msg.data)
                if data["type"] == "subscribe":
                    lot_id = data["lot_id"]
                    rooms.setdefault(lot_id, []).append(ws)
                    seq = seqs.setdefault(lot_id, 0)
                    await ws.send_frame(orjson.dumps({"type": "subscribed", "lot_id": lot_id,
                                                      "role": "bidder", "bidder_no": "1000"}),
                                        WSMsgType.TEXT)
                    await ws.send_frame(orjson.dumps({"type": "update", "lot_id": lot_id,
                                                      "events": [],
                                                      "state": {**STATE, "seq": seq}}),
                                        WSMsgType.TEXT)
                elif data["type"] == "bid":
                    lot_id = data["lot_id"]
                    amount = Decimal(data["amount"])
                    if lot_id in best and amount <= best[lot_id]:
                        await ws.send_frame(orjson.dumps({
                            "type": "rejected", "lot_id": lot_id, "ref": data["ref"],
                            "code": "not_improving", "message": not_improving,
                            "detail": ""}), WSMsgType.TEXT)
                        continue
                    best[lot_id] = amount
                    seq = seqs[lot_id] = seqs[lot_id] + 1
                    now = time.time_ns() // 1_000_000
                    update = orjson.dumps({
                        "type": "update", "lot_id": lot_id,
                        "events": [{"seq": seq, "type": "BidAccepted", "at": now,
                                    "bidder_no": "1000", "amount": data["amount"]}],
                        "delta": {"seq": seq, "bid_count": seq, "best": data["amount"],
                                  "leader_no": "1000", "next_min": data["amount"]},
                        "server_time": now})
                    for member in rooms[lot_id]:
                        await member.send_frame(update, WSMsgType.TEXT)
                    you = orjson.dumps({"type": "you", "lot_id": lot_id, "seq": seq, "you": {
                        "bidder_no": "1000", "eligible": True, "last_bid": data["amount"],
                        "bids": 1, "rank": 1, "leading": True, "next_min": None,
                        "own_bids": [{"seq": seq, "at": now, "amount": data["amount"]}]}})
                    await ws.send_frame(you, WSMsgType.TEXT)
                    outbid = leaders.get(lot_id)
                    if outbid is not None and outbid is not ws and not outbid.closed:
                        await outbid.send_frame(you, WSMsgType.TEXT)
                    leaders[lot_id] = ws
                    await ws.send_frame(orjson.dumps({
                        "type": "ack", "lot_id": lot_id, "ref": data["ref"], "seq": seq,
                        "amount": data["amount"], "at": now}), WSMsgType.TEXT)
        except ConnectionError:
            pass
        finally:
            if lot_id and ws in rooms.get(lot_id, []):
                rooms[lot_id].remove(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(orjson.dumps({"event": "listening"}).decode(), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 sys.stdin)
    while await reader.readline():
        pass
    await runner.cleanup()


# --------------------------------------------------------------------------- Redis

APPEND_SCRIPT = ("redis.call('HINCRBY', KEYS[1], 'seq', 1) "
                 "return redis.call('XADD', KEYS[2], '*', 'b', ARGV[1], 'h', ARGV[2])")
#: An event body and hash of the size the engine appends.
EVENT_BODY = orjson.dumps({
    "actor": "4821", "amount": 126000000, "at": 1767225600456, "bidder_id": "bidder-0001",
    "bidder_no": "4821", "device": "ua:0123456789abcdef", "ip": "127.0.0.1", "ref": "r123456",
    "type": "BidAccepted"}).decode()
EVENT_HASH = "ab" * 32


async def redis_append(redis_cli: str, redis_benchmark: str, port: int, requests: int,
                       clients: int = 50) -> float:
    """Append operations per second of ``redis-benchmark`` running :data:`APPEND_SCRIPT`."""
    load = await asyncio.create_subprocess_exec(
        redis_cli, "-p", str(port), "SCRIPT", "LOAD", APPEND_SCRIPT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await load.communicate()
    sha = out.decode().strip()
    if load.returncode != 0 or len(sha) != 40:
        raise RuntimeError(f"SCRIPT LOAD failed: {out!r} {err!r}")
    bench = await asyncio.create_subprocess_exec(
        redis_benchmark, "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
        "-n", str(requests), "--csv", "EVALSHA", sha, "2", "bench:{a1}:meta",
        "bench:{a1}:events", EVENT_BODY, EVENT_HASH,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await bench.communicate()
    if bench.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {err.decode()[-300:]}")
    # "COMMAND ARGS","rps","avg_latency_ms","min","p50","p95","p99","max" (the command is
    # not escaped: read the fields from the end)
    for line in reversed(out.decode().strip().splitlines()):
        fields = line.rsplit('","', 7)
        with contextlib.suppress(ValueError, IndexError):
            return float(fields[1])
    raise RuntimeError(f"no rate in redis-benchmark output {out.decode()[-300:]!r}")


# --------------------------------------------------------------------------- Postgres

TABLE = """
CREATE TABLE ceiling_events (
    lot_id      TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    type        TEXT   NOT NULL,
    body        JSONB  NOT NULL,
    body_text   TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (lot_id, seq)
)
"""
INSERT = ("INSERT INTO ceiling_events (lot_id, seq, at, type, body, body_text, hash) "
          "VALUES ($1, $2, $3, $4, $5::jsonb, $5, $6) ON CONFLICT (lot_id, seq) DO NOTHING")


async def postgres_inserts(dsn: str, copy_rows: int, seconds: float) -> dict[str, float]:
    """Rows per second: one ``copy_records_to_table`` of ``copy_rows`` rows; then
    ``executemany`` batches of 100 and single autocommit inserts for ``seconds`` each."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(TABLE)
        rows = [(f"L-COPY-{i % 500}", i, 1767225600456 + i, "BidAccepted", EVENT_BODY,
                 EVENT_BODY, EVENT_HASH) for i in range(copy_rows)]
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "ceiling_events", records=rows,
            columns=["lot_id", "seq", "at", "type", "body", "body_text", "hash"])
        copy_rate = copy_rows / (time.perf_counter() - started)

        async def timed(batch: int, lot: str) -> float:
            done, seq = 0, 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                if batch == 1:
                    await conn.execute(INSERT, lot, seq, seq, "BidAccepted", EVENT_BODY,
                                       EVENT_HASH)
                else:
                    await conn.executemany(INSERT, [
                        (lot, seq + k, seq + k, "BidAccepted", EVENT_BODY, EVENT_HASH)
                        for k in range(batch)])
                seq += batch
                done += batch
            return done / (time.perf_counter() - started)

        many = await timed(100, "L-MANY")
        single = await timed(1, "L-ONE")
        return {"copy": copy_rate, "executemany_100": many, "single": single}
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    servers = {"fanout": fanout_server, "protocol": protocol_server}
    if len(args) == 3 and args[0] in servers and args[1] == "--port":
        server = servers[args[0]](int(args[2]))
        try:
            import uvloop

            uvloop.run(server)
        except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
            asyncio.run(server)
        return 0
    print("usage: python -m loadtests.ceilings fanout|protocol --port PORT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

