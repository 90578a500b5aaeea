"""A node's disk: one device that every process of the node reads and writes.

The device serves I/Os one at a time in the order they arrive (a single FIFO queue):
an I/O starts when the device is free and takes a draw of the disk's ``latency`` plus
its bytes at ``throughput``. Since each I/O's service time is known when it arrives,
the queue needs no events: the device keeps the time it becomes free, and a write
learns its completion at once. A co-tenant's burst (a log shipper flushing gigabytes, a
backup) holds the device for seconds; a process that writes synchronously behind it
(a log flush on the request path, a GC log line inside a safepoint) waits that long:
"low user, low sys, high real" in a GC log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment


class Disk:
    """One device: FIFO, a latency per write plus bytes over throughput."""

    __slots__ = (
        "busy_seconds",
        "bytes_read",
        "bytes_written",
        "free_at",
        "latencies",
        "name",
        "reads",
        "throughput",
        "writes",
    )

    def __init__(self, name: str, throughput: float, latencies: Iterator[float]) -> None:
        self.name = name
        self.throughput = throughput
        self.latencies = latencies
        self.free_at = 0.0
        self.writes = 0
        self.bytes_written = 0
        self.reads = 0
        self.bytes_read = 0
        self.busy_seconds = 0.0

    def write(self, at: float, size: int) -> float:
        """A write of ``size`` bytes issued at ``at``: the time it completes."""
        self.writes += 1
        self.bytes_written += size
        return self._serve(at, size)

    def read(self, at: float, size: int) -> float:
        """A read of ``size`` bytes issued at ``at`` (a block-cache miss, a compaction
        reading its input): the time it completes. Reads queue with the writes."""
        self.reads += 1
        self.bytes_read += size
        return self._serve(at, size)

    def _serve(self, at: float, size: int) -> float:
        start = at if at > self.free_at else self.free_at
        service = next(self.latencies) + size / self.throughput
        self.free_at = start + service
        self.busy_seconds += service
        return self.free_at


class BurstWriter:
    """A co-tenant that writes ``size`` bytes to a disk every ``every`` seconds."""

    __slots__ = ("disk", "env", "every", "name", "size")

    def __init__(self, env: Environment, name: str, disk: Disk, every: float, size: int) -> None:
        self.env = env
        self.name = name
        self.disk = disk
        self.every = every
        self.size = size

    def start(self, phase: float) -> None:
        """First burst ``phase`` seconds from now, then one every ``every``."""
        self.env.every(self.every, self._burst, start=self.env.now + phase)

    def _burst(self, now: float) -> None:
        self.disk.write(now, self.size)
