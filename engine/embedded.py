"""The embedded backend's name, where callers import it from: the composition of the
engine on the SQLite log is :class:`engine.runtime.EmbeddedEngine`."""

from engine.runtime import EmbeddedEngine

__all__ = ["EmbeddedEngine"]
