"""The scale-out backend's name, where callers import it from: the composition of the
engine on the Redis log and the Postgres record is :class:`engine.runtime.RedisEngine`."""

from engine.runtime import RedisEngine

__all__ = ["RedisEngine"]
