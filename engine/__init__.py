"""The runtime: runs the lot deciders of :mod:`auction` with durable records, timers and
fan-out, behind one port (:class:`engine.api.Engine`) with interchangeable backends."""
