"""Small helpers that tests import (`from helpers import free_port`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

from loadtests.services import Listening


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process could take it first; bind
    to it promptly.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


class ServerProcess(Listening):
    """``auction serve`` in a child process, on a free port and the given data directory,
    with known staff tokens (``host1:host-secret``, ``super1:super-secret``)."""

    HOST_TOKEN = "host-secret-0123456789"
    SUPERVISOR_TOKEN = "super-secret-0123456789"

    def __init__(self, data_dir: str, port: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = open(os.path.join(data_dir, f"server-{self.port}.log"), "ab")  # noqa: SIM115

    def env(self) -> dict[str, str]:
        return dict(os.environ,
                    AUCTION_HOST_TOKENS=f"host1:{self.HOST_TOKEN}",
                    AUCTION_SUPERVISOR_TOKENS=f"super1:{self.SUPERVISOR_TOKEN}",
                    AUCTION_SECRET="test-secret-for-bidder-tokens-0123456789",
                    **self.extra_env)

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(self.port),
             "--data", self.data_dir], env=self.env(), stdout=self.log,
            stderr=subprocess.STDOUT)
        await wait_for_port_async("127.0.0.1", self.port, timeout=30)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as a power cut would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)
