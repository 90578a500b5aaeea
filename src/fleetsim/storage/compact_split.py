"""A region server's compaction threads (``CompactSplit``): queues, selection, and the
I/O of each compaction under the throughput controller.

A store asks for a compaction after each flush, and the ``CompactionChecker`` asks
every ``checkInterval`` for stores whose time-based major compaction is due. A minor
compaction takes the files the store's policy selects (:mod:`fleetsim.storage.
compaction_policy`); a major one takes them all. It goes to the large pool when its
files exceed the throttle point (2 x ``maxFiles`` x the flush size,
``hbase.regionserver.thread.compaction.throttle``), else to the small one; each pool
runs ``smallThreads`` / ``largeThreads`` at once and queues the rest by store priority
(``blockingStoreFiles`` minus the store's file count: the fuller store first), as
``CompactSplit`` does (``apache/hbase`` ``hbase-server/src/main/java/org/apache/hadoop/
hbase/regionserver/CompactSplit.java``).

A running compaction reads its input and writes its output through the node's disk in
``ioChunk`` pieces, one at a time, so that reads of the region server interleave with
them. Each piece takes at least its disk time, its CPU time (``cpuTimePerGib``) and,
under the ``PressureAwareCompactionThroughputController``, the time the current limit
allows it (:mod:`fleetsim.storage.throughput_controller`); the controller's pressure is
the highest of the server's stores. The CPU a compaction burns is taken from the
handlers: with ``cores`` cores and compactions using ``c`` of them, every service time
is stretched by ``cores / (cores - c)`` (processor sharing).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Final

from fleetsim.storage.compaction_policy import (
    CompactionConfiguration,
    ExploringCompactionPolicy,
    OffPeakHours,
)
from fleetsim.storage.throughput_controller import (
    NoLimitThroughputController,
    PressureAwareCompactionThroughputController,
    ThroughputController,
    compaction_pressure,
    server_compaction_pressure,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetsim.engine.environment import Environment
    from fleetsim.node.disk import Disk
    from fleetsim.scenario.storage import Compactions
    from fleetsim.storage.region import Region
    from fleetsim.storage.store import Store

GIB: Final = float(1 << 30)
HOUR: Final = 3600.0


class Compaction:
    """One compaction of files ``[first, end)`` of a region's store."""

    __slots__ = ("cpu_share", "done", "end", "first", "major", "region", "size", "started")

    def __init__(self, region: Region, first: int, end: int, size: int, *, major: bool) -> None:
        self.region = region
        self.first = first
        self.end = end
        self.size = size
        self.major = major
        self.done = 0  # bytes rewritten so far
        self.started = 0.0
        self.cpu_share = 0.0  # cores it used over its last piece


class CompactionStats:
    """Compactions of one region server in the measured window."""

    __slots__ = ("bytes", "major", "minor", "seconds")

    def __init__(self) -> None:
        self.minor = 0
        self.major = 0
        self.bytes = 0
        self.seconds = 0.0


class CompactSplit:
    """The small and large compaction pools of one region server."""

    __slots__ = (
        "_controller",
        "_queued",
        "_sequence",
        "cores",
        "disk",
        "env",
        "flush_size",
        "off_peak",
        "on_done",
        "policy",
        "running",
        "set_cpu",
        "spec",
        "stats",
        "stores",
        "throttle_point",
    )

    def __init__(
        self,
        env: Environment,
        spec: Compactions,
        disk: Disk,
        *,
        cores: int,
        flush_size: int,
        stores: Callable[[], list[Region]],
        set_cpu: Callable[[float], None],
        on_done: Callable[[Region], None],
    ) -> None:
        self.env = env
        self.spec = spec
        self.disk = disk
        self.cores = cores
        self.flush_size = flush_size
        self.stores = stores  # the regions the server holds now
        self.set_cpu = set_cpu  # cores the compactions use: the handlers get the rest
        self.on_done = on_done
        self.policy = ExploringCompactionPolicy(
            CompactionConfiguration(
                min_files=spec.min_files,
                max_files=spec.max_files,
                min_size=spec.min_size,
                ratio=spec.ratio,
                off_peak_ratio=spec.off_peak_ratio,
                blocking_files=spec.blocking_store_files,
            )
        )
        self.off_peak = OffPeakHours(spec.off_peak_start_hour, spec.off_peak_end_hour)
        self._controller: ThroughputController = (
            PressureAwareCompactionThroughputController(
                lower_bound=float(spec.throughput_lower_bound),
                upper_bound=float(spec.throughput_upper_bound),
            )
            if spec.throughput_controller == "pressure-aware"
            else NoLimitThroughputController()
        )
        self.throttle_point = 2 * spec.max_files * flush_size
        self._queued: tuple[list[tuple[int, int, Compaction]], list[tuple[int, int, Compaction]]]
        self._queued = ([], [])  # (small, large) heaps of (priority, sequence, compaction)
        self._sequence = 0
        self.running: tuple[list[Compaction], list[Compaction]] = ([], [])
        self.stats = CompactionStats()

    # --- requests ----------------------------------------------------------------------

    def request(self, region: Region, *, major: bool = False, forced: bool = False) -> bool:
        """Select files of ``region``'s store and queue a compaction; False if none.

        A time-based major skips a store of one file that is already major-compacted
        (``HStore``: "one (major) compacted file only"); a ``forced`` one (an operator's
        ``major_compact``, ``Admin.majorCompact``) rewrites it anyway.
        """
        store = region.store
        if store is None or store.compacting:
            return False
        files = store.files
        if major:
            if store.major_compacted and len(files) == 1 and not forced:
                return False
            first, end = 0, len(files)
        else:
            window = self.policy.select(files, off_peak=self.is_off_peak())
            if window is None:
                return False
            first, end = window
        size = sum(files[first:end])
        compaction = Compaction(region, first, end, size, major=major or end - first == len(files))
        store.compacting = True
        pool = 1 if size > self.throttle_point else 0
        priority = self.spec.blocking_store_files - len(files)
        self._sequence += 1
        heapq.heappush(self._queued[pool], (priority, self._sequence, compaction))
        self._run_next(pool)
        return True

    def is_off_peak(self) -> bool:
        return self.off_peak.is_off_peak(int(self.env.now // HOUR) % 24)

    @property
    def queued(self) -> int:
        return len(self._queued[0]) + len(self._queued[1])

    @property
    def backlog_bytes(self) -> int:
        """Bytes of the compactions queued or still to rewrite."""
        waiting = sum(entry[2].size for pool in self._queued for entry in pool)
        return waiting + sum(c.size - c.done for pool in self.running for c in pool)

    def _run_next(self, pool: int) -> None:
        threads = self.spec.large_threads if pool else self.spec.small_threads
        queue = self._queued[pool]
        while queue and len(self.running[pool]) < threads:
            compaction = heapq.heappop(queue)[2]
            compaction.started = self.env.now
            self.running[pool].append(compaction)
            self._piece((pool, compaction))

    # --- one compaction's I/O ------------------------------------------------------------

    def _pressure(self) -> float:
        spec = self.spec
        return server_compaction_pressure(
            compaction_pressure(len(region.store.files), spec.min_files, spec.blocking_store_files)
            for region in self.stores()
            if region.store is not None
        )

    def _piece(self, argument: tuple[int, Compaction]) -> None:
        """Rewrite the next piece of a compaction: read it, write it, maybe wait."""
        pool, compaction = argument
        now = self.env.now
        if compaction.done >= compaction.size:
            self._finish(pool, compaction)
            return
        chunk = min(self.spec.io_chunk, compaction.size - compaction.done)
        disk = self.disk
        disk_done = disk.write(disk.read(now, chunk), chunk)
        cpu = chunk / GIB * self.spec.cpu_time_per_gib
        limit = self._controller.max_throughput(self._pressure(), off_peak=self.is_off_peak())
        throttled = chunk / limit if limit > 0.0 else 0.0
        ends = max(disk_done, now + cpu, now + throttled)
        compaction.done += chunk
        share = cpu / (ends - now) if ends > now else 1.0
        if abs(share - compaction.cpu_share) > 0.01:
            compaction.cpu_share = share
            self.set_cpu(self.cpu_in_use)
        self.env.schedule_at(ends, self._piece, argument)

    @property
    def cpu_in_use(self) -> float:
        return sum(c.cpu_share for pool in self.running for c in pool)

    def _finish(self, pool: int, compaction: Compaction) -> None:
        now = self.env.now
        self.running[pool].remove(compaction)
        store: Store | None = compaction.region.store
        if store is not None:
            store.compacting = False
            store.compacted(
                compaction.first,
                compaction.end,
                compaction.size,
                major=compaction.major,
                now=now,
            )
        stats = self.stats
        if compaction.major:
            stats.major += 1
        else:
            stats.minor += 1
        stats.bytes += compaction.size
        stats.seconds += now - compaction.started
        self.set_cpu(self.cpu_in_use)
        self._run_next(pool)
        self.on_done(compaction.region)

    def reset_stats(self) -> None:
        self.stats = CompactionStats()
