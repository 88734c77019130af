"""Port blocks: every notebook and test run gets its own ports below 32768, checked free.

Why blocks: notebooks run side by side (``pytest --nbmake -n auto``, papermill in parallel) and
a fixed port per service would collide. Why below 32768: Linux hands out ephemeral (client)
ports from 32768 up, so a port there can be taken by any outgoing connection between our check
and our bind. Why a bind check: a port left in use by a crashed run must fail loudly before a
service starts, not as a confusing error inside it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

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

    def release(self) -> None:
        """Give the block's claim back (see ``free_port_block``) once nothing of this process
        uses its ports any more: a long test run would otherwise hold one block per test until
        it exits and run out of the 200 test blocks."""
        release_block(self.base)


def notebook_block(number: int) -> PortBlock:
    """Notebook NN owns ports ``20000 + 100*NN`` .. ``+99`` (01 -> 20100-20199)."""
    return PortBlock(NOTEBOOK_BLOCK_BASE + NOTEBOOK_BLOCK_SIZE * number, NOTEBOOK_BLOCK_SIZE)


# Blocks this process holds. A free-port check alone races with another test process that
# checked the same block but has not bound it yet, so each block is also claimed with an
# exclusive lock file, held until this process exits (the OS drops it even after SIGKILL).
_LOCK_DIR = Path(tempfile.gettempdir()) / "cookbook-port-locks"
_held: dict[int, int] = {}  # block base -> the open, locked lock file


def _claim(base: int) -> bool:
    _LOCK_DIR.mkdir(exist_ok=True)
    fd = os.open(_LOCK_DIR / f"{base}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _held[base] = fd
    return True


def release_block(base: int) -> None:
    fd = _held.pop(base, None)
    if fd is not None:
        os.close(fd)  # closing drops the flock


TEST_BLOCK_SIZE = 40  # one grid for every test block, so a lock per block base is exact


def free_port_block(size: int = TEST_BLOCK_SIZE) -> PortBlock:
    """A block for tests from 24000-31999: not locked by another process and free right now."""
    if size > TEST_BLOCK_SIZE:
        raise ValueError(f"test port blocks hold at most {TEST_BLOCK_SIZE} ports")
    lo, hi = TEST_RANGE
    slots = (hi - lo) // TEST_BLOCK_SIZE
    seed = int(os.environ.get("COOKBOOK_PORT_SEED") or os.getpid() * 7)  # where the search starts
    for i in range(slots):
        base = lo + ((seed + i) % slots) * TEST_BLOCK_SIZE
        if all(is_port_free(p) for p in range(base, base + size)) and _claim(base):
            return PortBlock(base, size)
    raise RuntimeError("no free port block in the test range 24000-31999")
