"""What stalls cost a service, by cause: how many, how long, how many requests they held.

Counted in the measured window only (:meth:`StallStats.reset` at its start).
"""

from __future__ import annotations

from typing import Final

from fleetsim.metrics.extremes import Largest

MMAP_LOCK: Final = "mmap_lock"
"""A request waited for its process's address-space lock (held by a page-table walker)."""
DISK: Final = "disk"
"""A request waited for a synchronous write to its node's disk."""
STOP_THE_WORLD: Final = "stop_the_world"
"""The process froze (a GC pause): every worker stopped."""
CAUSES: Final = (MMAP_LOCK, DISK, STOP_THE_WORLD)


LONGEST_KEPT: Final = 10


class StallCounter:
    """Stalls of one cause: count, total and longest seconds, requests held up.

    The ``LONGEST_KEPT`` longest stalls are kept with their time and pod, so that when
    they happen (every scan period on each pod, say) shows.
    """

    __slots__ = ("count", "longest", "maximum", "requests", "total")
    count: int
    total: float
    maximum: float
    requests: int

    def __init__(self) -> None:
        self.longest: Largest[tuple[float, str]] = Largest(LONGEST_KEPT)  # -> (t, pod)
        self.reset()

    def add(self, seconds: float, requests: int, at: float, pod: str) -> None:
        self.count += 1
        self.total += seconds
        self.maximum = max(self.maximum, seconds)
        self.requests += requests
        if seconds > self.longest.floor:
            self.longest.offer(seconds, (at, pod))

    def reset(self) -> None:
        self.count = 0
        self.total = 0.0
        self.maximum = 0.0
        self.requests = 0
        self.longest.clear()


class StallStats:
    """The stall counters of one service, one per cause."""

    __slots__ = ("disk", "mmap_lock", "stop_the_world")

    def __init__(self) -> None:
        self.mmap_lock = StallCounter()
        self.disk = StallCounter()
        self.stop_the_world = StallCounter()

    def by_cause(self) -> dict[str, StallCounter]:
        return {
            MMAP_LOCK: self.mmap_lock,
            DISK: self.disk,
            STOP_THE_WORLD: self.stop_the_world,
        }

    def reset(self) -> None:
        for counter in self.by_cause().values():
            counter.reset()
