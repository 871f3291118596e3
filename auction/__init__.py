"""Pure rules of the auction engine.

Standard library only: no clock, no I/O, no asyncio. A lot is a *decider*:
``decide(state, command, now)`` returns the events a command causes (or a
rejection), and ``evolve(state, event)`` applies one event. A lot's state is the
fold of its events, so recovery and third-party verification are the same replay.
"""
