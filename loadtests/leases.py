"""What renewing a process's leases costs it: ``python -m loadtests.leases [--lots 150 400
2000] [--renewals 20]`` starts a Redis of its own, takes the leases of that many lots
with one :class:`engine.ownership.Ownership`, then renews them ``--renewals`` times each
way (one call of the renewal script per ``RENEW_CHUNK`` lots, a standalone Redis's; a
call per lot in one pipeline, a cluster's) and prints, as one JSON object, the
process's CPU and the wall time per renewal (ms). A process renews once a second (``LEASE_TTL_MS`` /
``RENEWALS_PER_TTL``), its event loop held for the CPU part."""

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from engine.ownership import Ownership
from loadtests.services import RedisServer


async def measure(url: str, lots: list[int], renewals: int) -> list[dict[str, Any]]:
    client = aioredis.Redis.from_url(url)
    out: list[dict[str, Any]] = []
    try:
        for n in lots:
            for scripted in (True, False):
                await client.flushall()
                owner = Ownership(client)
                owner._scripted = scripted
                for i in range(n):
                    await owner.acquire(f"L-{i}")
                await owner.renew()  # (the scripts loaded)
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(renewals):
                    lost = await owner.renew()
                    assert lost == [], lost
                out.append({"lots": n, "way": "one script" if scripted else "script per lot",
                            "cpu_ms": round((time.process_time() - cpu) / renewals * 1e3, 2),
                            "wall_ms": round((time.perf_counter() - wall) / renewals * 1e3, 2)})
    finally:
        await client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.leases", description=__doc__)
    parser.add_argument("--lots", type=int, nargs="+", default=[150, 400, 2000])
    parser.add_argument("--renewals", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="auction-leases-"))
    redis = RedisServer(workdir / "redis")
    redis.start()
    try:
        result = asyncio.run(measure(redis.url, args.lots, args.renewals))
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
