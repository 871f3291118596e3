"""The scale-out adapter of the aggregates' log (:mod:`engine.aggregates`): one Redis
stream per aggregate, appended by a script that checks the expected sequence number
(Redis runs with ``appendfsync always``, so an append that returned is durable), and a
sorted set per kind as its index. Key names in :mod:`engine.redis_keys`."""

from collections.abc import Sequence
from typing import Any, cast

from redis.exceptions import RedisError

from engine import redis_keys as keys
from engine.aggregates import AggregateLog
from engine.api import EngineError
from engine.eventlog import LogUnavailable, Row

#: KEYS[1] the stream; ARGV: expected seq, then (seq, body, hash, at, type) per row.
APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 0
if #last > 0 then seq = tonumber(string.match(last[1][1], '^(%d+)')) end
if seq ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV, 5 do
  redis.call('XADD', KEYS[1], ARGV[i] .. '-0', 'b', ARGV[i + 1], 'h', ARGV[i + 2],
             'a', ARGV[i + 3], 't', ARGV[i + 4])
end
return 1
"""


class RedisAggregateLog(AggregateLog):
    """The log on a redis-py asyncio client shared with the lots' log (opened and closed
    by it)."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._append = redis.register_script(APPEND)

    async def open(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise EngineError(f"redis is not usable: {exc}") from exc

    async def close(self) -> None:
        return None

    async def append(self, stream: str, expected_seq: int, rows: Sequence[Row]) -> bool:
        argv: list[str | int] = [expected_seq]
        for row in rows:
            argv += [row.seq, row.body, row.hash, row.at, row.type]
        try:
            if expected_seq == 0:
                kind, _, ident = stream.partition(":")
                await self._redis.zadd(keys.aggregate_index(kind), {ident: rows[0].at}, nx=True)
            return bool(await self._append(keys=[keys.aggregate_events(stream)], args=argv))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc

    async def read(self, stream: str, after_seq: int = 0) -> list[Row]:
        try:
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await self._redis.xrange(
                keys.aggregate_events(stream), f"{after_seq + 1}-0", "+"))
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return [Row(stream, int(eid.split(b"-")[0]), int(f[b"a"]), f[b"t"].decode(),
                    f[b"b"].decode(), f[b"h"].decode()) for eid, f in entries]

    async def streams(self, kind: str) -> list[str]:
        try:
            ids = await self._redis.zrange(keys.aggregate_index(kind), 0, -1)
            pipe = self._redis.pipeline(transaction=False)
            for ident in ids:
                pipe.exists(keys.aggregate_events(f"{kind}:{_text(ident)}"))
            held = await pipe.execute() if ids else []
        except (RedisError, OSError) as exc:
            raise LogUnavailable(f"redis unavailable: {exc}", str(exc)) from exc
        return [_text(ident) for ident, there in zip(ids, held, strict=True) if there]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
