"""Port blocks: every notebook and test run gets its own ports below 32768, checked free.

Why blocks: notebooks run side by side (``pytest --nbmake -n auto``, papermill in parallel) and
a fixed port per service would collide. Why below 32768: Linux hands out ephemeral (client)
ports from 32768 up, so a port there can be taken by any outgoing connection between our check
and our bind. Why a bind check: a port left in use by a crashed run must fail loudly before a
service starts, not as a confusing error inside it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

NOTEBOOK_BLOCK_BASE = 20000
NOTEBOOK_BLOCK_SIZE = 100
TEST_RANGE = (24000, 32000)


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` and we could bind it right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class PortBlock:
    """A contiguous range of ports handed out one by one, each checked free."""

    base: int
    size: int
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.base + self.size > 32768:
            raise ValueError(f"port block {self.base}-{self.base + self.size - 1} reaches the ephemeral range (>= 32768)")

    def take(self) -> int:
        """The next free port of the block; raises if the block is used up."""
        while self._next < self.size:
            port = self.base + self._next
            self._next += 1
            if is_port_free(port):
                return port
        raise RuntimeError(f"no free port left in block {self.base}-{self.base + self.size - 1}")

    def take_many(self, n: int) -> list[int]:
        return [self.take() for _ in range(n)]


def notebook_block(number: int) -> PortBlock:
    """Notebook NN owns ports ``20000 + 100*NN`` .. ``+99`` (01 -> 20100-20199)."""
    return PortBlock(NOTEBOOK_BLOCK_BASE + NOTEBOOK_BLOCK_SIZE * number, NOTEBOOK_BLOCK_SIZE)


def free_port_block(size: int = 20) -> PortBlock:
    """A block for tests: from 24000-31999, offset by pid so parallel pytest processes differ."""
    lo, hi = TEST_RANGE
    slots = (hi - lo) // size
    start = (os.getpid() * 7) % slots
    for i in range(slots):
        base = lo + ((start + i) % slots) * size
        if all(is_port_free(p) for p in range(base, base + size)):
            return PortBlock(base, size)
    raise RuntimeError("no free port block in the test range 24000-31999")
