"""An operator's major-compaction scheduler, as Pinterest describes theirs in the seed:
time-based majors off (``hbase.hregion.majorcompaction`` 0), and a job that compacts
the cluster's regions at night.

Every minute it looks at the hour (hour 0 is the start of the run):

- inside the window (``startHour`` up to ``stopHour``) it starts major compactions of
  due regions until ``concurrency`` run at once (bounded concurrency: a bounded space
  spike, bounded network and disk traffic); a region is due when its last major
  compaction is older than ``every`` less one day, oldest first, so that none passes
  ``every`` before the next night;
- it starts none while the region servers' p99 over the last minute is above
  ``maxP99`` (stop if compaction hurts latency);
- at ``stopHour`` it starts no more, ahead of the daytime ramp; those running finish;
- the next night it resumes, skipping regions compacted since (their last major is
  recent): "filter out the regions that has run compaction".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.metrics.histogram import BUCKETS, quantiles_of

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.scenario.storage import CompactionScheduler as SchedulerSpec
    from fleetsim.storage.master import HMaster
    from fleetsim.storage.region import Region

import numpy as np

PERIOD: Final = 60.0
HOUR: Final = 3600.0
DAY: Final = 86400.0


def in_window(hour: int, start: int, stop: int) -> bool:
    """Whether ``hour`` is in ``[start, stop)``, wrapping past midnight."""
    if start <= stop:
        return start <= hour < stop
    return hour >= start or hour < stop


class CompactionScheduler:
    """Starts major compactions of one HBase cluster's regions at night."""

    def __init__(self, env: Environment, spec: SchedulerSpec, master: HMaster) -> None:
        self.env = env
        self.spec = spec
        self.master = master
        self.running: list[tuple[Region, float]] = []
        self._last_counts = np.zeros(BUCKETS, dtype=np.int64)
        # Counters of the measured window.
        self.started = 0
        self.completed = 0
        self.paused_minutes = 0
        self.nights: list[int] = []  # regions completed per window, in order
        self._in_window = False

    def start(self) -> None:
        self.env.every(PERIOD, self._check, start=PERIOD)

    def _p99(self) -> float:
        counts = np.zeros(BUCKETS, dtype=np.int64)
        for server in self.master.servers:
            counts += np.asarray(server.latency.counts, dtype=np.int64)
        delta = counts - self._last_counts
        self._last_counts = counts
        if delta.sum() <= 0 or (delta < 0).any():
            return 0.0
        return quantiles_of(delta, [0.99], float("inf"))[0]

    def _check(self, now: float) -> None:
        self._collect(now)
        hour = int(now // HOUR) % 24
        window = in_window(hour, self.spec.start_hour, self.spec.stop_hour)
        if window and not self._in_window:
            self.nights.append(0)
        self._in_window = window
        p99 = self._p99()
        if not window:
            return
        limit = self.spec.max_p99
        if limit is not None and p99 > limit:
            self.paused_minutes += 1
            return
        for region in self.due(now):
            if len(self.running) >= self.spec.concurrency:
                break
            runtime = region.server.runtime if region.server is not None else None
            if runtime is None or not runtime.alive:
                continue
            if runtime.compactions.request(region, major=True, forced=True):
                self.running.append((region, now))
                self.started += 1

    def _collect(self, now: float) -> None:
        """Forget compactions that ended (done, or lost with their server)."""
        still: list[tuple[Region, float]] = []
        for region, started in self.running:
            store = region.store
            if store is not None and store.last_major_at >= started:
                self.completed += 1
                if self.nights:
                    self.nights[-1] += 1
            elif store is not None and store.compacting:
                still.append((region, started))
        self.running = still

    def due(self, now: float) -> list[Region]:
        """Regions due a major compaction, oldest first, not already running."""
        horizon = self.spec.every - DAY
        busy = {id(region) for region, _ in self.running}
        regions = [
            region
            for table in self.master.tables
            for region in table.regions
            if region.store is not None
            and now - region.store.last_major_at >= horizon
            and id(region) not in busy
            and not region.store.compacting
        ]
        return sorted(regions, key=lambda r: r.store.last_major_at if r.store else 0.0)

    def overdue(self, now: float) -> int:
        """Regions whose last major compaction is older than ``every``."""
        return sum(
            1
            for table in self.master.tables
            for region in table.regions
            if region.store is not None and now - region.store.last_major_at > self.spec.every
        )

    def start_window(self) -> None:
        self.started = self.completed = self.paused_minutes = 0
        self.nights = [0] if self._in_window else []
