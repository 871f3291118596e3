"""Stopping background tasks for good.

On Python 3.11 a cancellation that arrives while a library waits under a timeout (redis-py
reads under ``asyncio.timeout``) can come out of it as a ``TimeoutError``: a loop that
retries after an outage takes it for one and goes on, and whoever awaits its end waits
forever. :func:`stop` cancels such a task again until it has ended.
"""

import asyncio

#: Seconds a cancelled task has to end before it is cancelled again.
RECANCEL_S = 0.5


async def stop(*tasks: "asyncio.Task[object] | asyncio.Future[object] | None") -> None:
    """Cancel ``tasks`` (None entries are skipped) and wait until every one has ended;
    what they raised is dropped."""
    running = [t for t in tasks if t is not None]
    for task in running:
        task.cancel()
    pending = set(running)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_S)
        for task in pending:
            task.cancel()
    for task in running:
        if not task.cancelled():
            task.exception()  # retrieved: nothing is logged as never retrieved
