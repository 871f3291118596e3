"""What an idle WebSocket costs the server, measured as the bench measures it
(:func:`loadtests.bench.socket_cost`): the growth of a real ``auction serve`` process's
resident memory over 2,000 subscribed sockets opened by a driver process, divided by the
sockets. Not a timing test: the sockets are counted once they are open and subscribed.

This code measures about 7 KiB per socket here (docs/performance.md, "memory per
socket": the front serves the upgrade on the transport itself, web/front.py); the bound
is the target of 12 KiB: it fails if sockets go back to aiohttp's machinery (about 15
KiB on its own) or gain what a regression of the kind looked for costs per socket: a
writer task or queue made for every socket, a compressor's state, a copy of a lot's
view kept per socket."""

from pathlib import Path

import aiohttp

from helpers import ServerProcess
from loadtests.bench import BENCH_LIMITS, Api, socket_cost

SOCKETS = 2000
BOUND_KIB = 12.0


async def test_an_idle_subscribed_websocket_costs_the_server_at_most_12_kib(
        tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", extra_env=BENCH_LIMITS)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, server.base, server.HOST_TOKEN)
            cost = await socket_cost(api, await api.session(), server.ws_url, server.pid,
                                     SOCKETS)
    finally:
        server.stop()
    assert cost["opened"] == SOCKETS and cost["open"] == SOCKETS and not cost["failed"]
    assert cost["per_socket"] <= BOUND_KIB, cost
