"""The event log's adapters (:mod:`engine.eventlog`): in memory, SQLite, Redis."""
