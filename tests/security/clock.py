"""A server clock for tests that make it jump."""

import time


class Clock:
    """A server clock the test moves by hand (Unix ms); it follows the real clock
    (``offset`` from it) unless frozen."""

    def __init__(self) -> None:
        self.offset = 0
        self.frozen: int | None = None

    def __call__(self) -> int:
        if self.frozen is not None:
            return self.frozen
        return time.time_ns() // 1_000_000 + self.offset

    def jump(self, ms: int) -> None:
        """Step the clock by ``ms`` (negative: back in time)."""
        if self.frozen is not None:
            self.frozen += ms
        else:
            self.offset += ms
