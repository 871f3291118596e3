"""Every Redis key and channel name of the scale-out backend, in one place.

A lot's keys carry the hash tag of its shard, ``{a<n>}`` with ``n = crc32(lot_id) % 64``,
and so does the shard's timer index and lot index: the append script touches only keys
of one hash slot, which is what Redis Cluster requires.
"""

import zlib

SHARDS = 64
PREFIX = "auction"
SESSIONS = f"{PREFIX}:sessions"
#: The deployment's draw key (32 bytes): every lot's draw seed is derived from it.
DRAW_KEY = f"{PREFIX}:draw-key"
#: Set once the shards' indexes of live lots have been made from their lot indexes (a
#: deployment that ran before them).
LIVE_INDEXED = f"{PREFIX}:live-indexed"


def shard(lot_id: str) -> int:
    return zlib.crc32(lot_id.encode()) % SHARDS


def _tag(n: int) -> str:
    return f"{{a{n}}}"


def events(lot_id: str) -> str:
    """Stream of the lot's events; entry id ``<seq>-0``, fields ``b`` (body) ``h`` (hash)."""
    return f"{PREFIX}:{_tag(shard(lot_id))}:lot:{lot_id}:events"


def meta(lot_id: str) -> str:
    """Hash: ``seq`` and ``hash`` of the lot's last event."""
    return f"{PREFIX}:{_tag(shard(lot_id))}:lot:{lot_id}:meta"


def timers(n: int) -> str:
    """Sorted set of the shard's lots by next deadline (server ms)."""
    return f"{PREFIX}:{_tag(n)}:timers"


def lots(n: int) -> str:
    """Sorted set of the shard's lots by creation time."""
    return f"{PREFIX}:{_tag(n)}:lots"


def live(n: int) -> str:
    """Sorted set of the shard's live lots (not ended) by creation time: what a start
    reads."""
    return f"{PREFIX}:{_tag(n)}:live"


def ended(n: int) -> str:
    """Hash: the number of the shard's ended lots with each status."""
    return f"{PREFIX}:{_tag(n)}:ended"


def snapshot(lot_id: str) -> str:
    """Hash: the lot's latest snapshot (``seq``, ``hash``, ``state``, ``status``,
    ``session``, ``ended``), written by the append script with the rows it follows."""
    return f"{PREFIX}:{_tag(shard(lot_id))}:lot:{lot_id}:snapshot"


def fan(lot_id: str) -> str:
    """Pub/sub channel carrying the lot's appended events to the processes that follow
    the lot (those whose clients watch it: :meth:`engine.logs.redis.RedisLog.watch`)."""
    return f"{PREFIX}:fan:lot:{lot_id}"


def feed(origin: str) -> str:
    """Pub/sub channel every process's feed connection subscribes to first (so that it
    is a subscriber, and answers, before it follows any lot); nothing is published on it."""
    return f"{PREFIX}:fan:proc:{origin}"


def lease(lot_id: str) -> str:
    """String, with a TTL: the id of the process that owns the lot (see
    :mod:`engine.ownership`); absent when nobody does."""
    return f"{PREFIX}:{_tag(shard(lot_id))}:lot:{lot_id}:lease"


def epoch(lot_id: str) -> str:
    """Integer: the lot's fencing epoch, increased at every take-over of its lease; the
    append script refuses an append made under another epoch."""
    return f"{PREFIX}:{_tag(shard(lot_id))}:lot:{lot_id}:epoch"


def address(process_id: str) -> str:
    """String, with a TTL: the WebSocket address clients can reach the process at
    directly (set only when the process is given one; see :mod:`engine.ownership`)."""
    return f"{PREFIX}:proc:{process_id}:address"


def process(process_id: str) -> str:
    """Pub/sub channel of one process: commands forwarded to the lots it owns, and the
    answers to the commands it forwarded."""
    return f"{PREFIX}:proc:{process_id}"


# Aggregates other than lots (:mod:`engine.aggregates`): one stream each, under a hash tag
# of its own; the index of a kind is a separate key (updated before the first append).


def aggregate_events(stream: str) -> str:
    """Stream of an aggregate's events; entry id ``<seq>-0``, fields ``b``, ``h``, ``a``, ``t``."""
    return f"{PREFIX}:{{g:{stream}}}:events"


def aggregate_index(kind: str) -> str:
    """Sorted set of the kind's aggregate ids by the time of their first append."""
    return f"{PREFIX}:aggregates:{kind}"
