"""Clients that drive a running server over real sockets: simulated bidders and
watchers (used by ``auction demo``, the crash tests and the load tests)."""
