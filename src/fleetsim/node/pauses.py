"""Stop-the-world pauses: the whole process freezes, as a JVM does in a GC safepoint.

Not the container's ``pause()`` (which stands for a restarting sidecar and refuses
connections): a frozen process keeps its connections and its queue; nothing it holds
progresses until the pause ends (see :meth:`fleetsim.dataplane.container.AppContainer.freeze`).

This module draws pauses from a simple renewal model (the time from one pause's end to
the next, and each pause's length); a heap model of a storage server can call
:meth:`fleetsim.node.process.Process.freeze` itself instead. A pause that logs to a
disk (``gcLogDisk``) writes its line before the safepoint ends and waits for the device,
so a co-tenant's write burst stretches the pause ("low user, low sys, high real").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.node.disk import Disk
    from fleetsim.node.process import Process


class StopTheWorldPauses:
    """Freezes ``process`` for ``durations`` after each of ``intervals``."""

    __slots__ = ("durations", "env", "intervals", "log_disk", "log_size", "process")

    def __init__(
        self,
        env: Environment,
        process: Process,
        intervals: Iterator[float],
        durations: Iterator[float],
        *,
        log_disk: Disk | None = None,
        log_size: int = 4096,
    ) -> None:
        self.env = env
        self.process = process
        self.intervals = intervals
        self.durations = durations
        self.log_disk = log_disk
        self.log_size = log_size

    def start(self) -> None:
        self.env.schedule(next(self.intervals), self._pause, None)

    def _pause(self, _: None) -> None:
        if not self.process.alive:
            return
        now = self.env.now
        length = next(self.durations)
        if self.log_disk is not None:
            length = self.log_disk.write(now + length, self.log_size) - now
        self.process.freeze(length)
        self.env.schedule_at(now + length + next(self.intervals), self._pause, None)
