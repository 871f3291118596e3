"""engine.loops.running: the loop kept while it runs, else the running one."""

import asyncio

import pytest

from engine.loops import running


def test_the_kept_loop_is_used_while_it_runs_and_another_one_replaces_it() -> None:
    async def here(kept: asyncio.AbstractEventLoop | None) -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        return running(kept) is loop, running(None) is loop

    first = asyncio.new_event_loop()
    try:
        assert first.run_until_complete(here(None)) == (True, True)
    finally:
        first.close()
    # A loop that no longer runs is not handed out: the running one is.
    assert asyncio.run(here(first)) == (True, True)
    with pytest.raises(RuntimeError):
        running(first)  # no loop runs here
    with pytest.raises(RuntimeError):
        running(None)
