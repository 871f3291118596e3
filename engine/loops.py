"""The running event loop, kept by the code that asks for it at every message, command
or append: on Python 3.11 ``asyncio.get_running_loop`` makes a system call (getpid) at
each call, which a profile of the server under load showed as a few per cent of its
CPU."""

import asyncio


def running(kept: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop:
    """``kept`` while it runs, else the running loop (raises RuntimeError outside one)."""
    if kept is not None and kept.is_running():
        return kept
    return asyncio.get_running_loop()
