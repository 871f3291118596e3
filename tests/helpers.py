"""Small helpers that tests import (`from helpers import free_port`)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from loadtests.services import AuctionServer, free_port

__all__ = ["ServerProcess", "free_port", "wait_for_port", "wait_for_port_async"]


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until something accepts TCP connections on host:port.

    Raises TimeoutError after `timeout` seconds. Blocks the thread: from a coroutine
    use `wait_for_port_async`.
    """
    deadline = time.monotonic() + timeout
    while not _accepts(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing accepted connections on {host}:{port} within {timeout}s")
        time.sleep(0.05)


async def wait_for_port_async(host: str, port: int, timeout: float = 30.0) -> None:
    """Like `wait_for_port`, without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
        except (OSError, TimeoutError):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"nothing accepted connections on {host}:{port} within {timeout}s"
                ) from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


class ServerProcess(AuctionServer):
    """``auction serve`` in a child process (:class:`loadtests.services.AuctionServer`, the
    one way every harness starts it) on a free port and the given data directory, with the
    tests' staff tokens (``host1``, ``super1``), its output in
    ``data_dir/server-<port>.log``."""

    HOST_TOKEN = "host-secret-0123456789"
    SUPERVISOR_TOKEN = "super-secret-0123456789"
    SECRET = "test-secret-for-bidder-tokens-0123456789"

    def __init__(self, data_dir: str | Path, port: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        port = port or free_port()
        super().__init__(data_dir, port=port, extra_env=extra_env,
                         log_path=Path(data_dir) / f"server-{port}.log")

    async def start(self) -> float:  # type: ignore[override]
        """Start and wait until ``GET /healthz`` answers (without blocking the loop)."""
        return await asyncio.to_thread(super().start, 30)
