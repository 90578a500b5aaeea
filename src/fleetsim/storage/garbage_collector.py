"""A region server's JVM heap under ParNew and CMS: young pauses, concurrent cycles, and
the stop-the-world full GCs that fragmentation and a late cycle cause.

The heap is ``-Xmx``: a young generation (``-Xmn``; eden is 8/10 of it, HotSpot's
``SurvivorRatio`` 8) and an old generation, the rest. The model keeps three figures
for the old generation:

- **live** bytes: what the region server holds (the on-heap block cache, the memstores,
  ``baseLive``); the caller reports them at each accounting tick;
- **garbage**: old objects that died (evicted cache blocks, flushed memstore cells),
  until a concurrent cycle sweeps them;
- **holes**: free space a sweep left in pieces too small to promote into. CMS does not
  compact; cells and blocks of different ages and sizes die at different times and
  leave holes between live objects ("Avoiding Full GCs in HBase with MemStore-Local
  Allocation Buffers", Cloudera, 2011, parts 1 and 2). MSLAB allocates memstore
  cells in 2 MB chunks per region, so a flush frees whole chunks and leaves none;
  evicted blocks of an on-heap ``LruBlockCache`` leave them at every sweep
  (``fragmentation`` of the swept bytes).

Each tick (:data:`TICK`) the caller reports the bytes allocated (requests and cache
fills), the bytes that survive to the old generation (cached blocks, memstore cells)
and the bytes that died there. Then:

- **young GCs** (ParNew, stop-the-world): one per eden filled; each costs
  ``youngPause`` plus its survivors at ``copyRate``: a cache that fills fast makes
  long young pauses;
- a **concurrent cycle** (CMS) starts when the old generation reaches
  ``CMSInitiatingOccupancyFraction``; it marks the live bytes at
  ``concurrentMarkRate`` and then frees the garbage there was when it started
  (snapshot at the beginning), leaving ``fragmentation`` of the non-MSLAB part as
  holes;
- a **full GC** (a single-threaded compacting collection, stop-the-world) when the old
  generation cannot take what is promoted: during a cycle that is a *concurrent mode
  failure*, otherwise a *promotion failure* (HBase book, "Long GC pauses"). It takes
  ``fullGcTimePerGib`` per GiB of live heap and clears garbage and holes.

Every pause freezes the server's process (:meth:`fleetsim.node.process.Process.freeze`);
a pause past ``zookeeper.session.timeout`` gets it expired by the master.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fleetsim.scenario.storage import GarbageCollection

TICK: Final = 1.0
"""Seconds between heap accountings (pauses start at tick boundaries)."""
EDEN_SHARE: Final = 0.8
"""Eden's share of the young generation (``-XX:SurvivorRatio=8``: 8 eden, 1 + 1)."""
GIB: Final = float(1 << 30)
LONG_PAUSE: Final = 1.0
"""Pauses at least this long are counted apart (seconds)."""


class GcStats:
    """Pauses of one collector in the measured window."""

    __slots__ = (
        "concurrent_cycles",
        "concurrent_mode_failures",
        "full_count",
        "full_seconds",
        "longest",
        "over_one_second",
        "promotion_failures",
        "young_count",
        "young_seconds",
    )

    def __init__(self) -> None:
        self.young_count = 0
        self.young_seconds = 0.0
        self.full_count = 0
        self.full_seconds = 0.0
        self.longest = 0.0
        self.over_one_second = 0
        self.concurrent_cycles = 0
        self.concurrent_mode_failures = 0
        self.promotion_failures = 0

    def pause(self, seconds: float) -> None:
        if seconds > self.longest:
            self.longest = seconds
        if seconds >= LONG_PAUSE:
            self.over_one_second += 1


class ConcurrentMarkSweep:
    """The old and young generations of one JVM, and the pauses they make."""

    __slots__ = (
        "_cycle_ends",
        "_swept_chunked",
        "_swept_holey",
        "eden",
        "eden_used",
        "garbage_chunked",
        "garbage_holey",
        "holes",
        "initiating",
        "live",
        "old_capacity",
        "peak_used",
        "spec",
        "stats",
        "survivors",
    )

    def __init__(self, spec: GarbageCollection, heap: int) -> None:
        self.spec = spec
        self.eden = spec.young_generation * EDEN_SHARE
        self.old_capacity = float(heap - spec.young_generation)
        self.initiating = spec.cms_initiating_occupancy_fraction * self.old_capacity
        self.eden_used = 0.0
        self.survivors = 0.0  # bytes to promote at the next young GC
        self.live = 0.0
        self.garbage_holey = 0.0  # dead bytes that leave holes when swept
        self.garbage_chunked = 0.0  # dead bytes in MSLAB chunks
        self.holes = 0.0
        self._cycle_ends = -1.0  # < 0: no concurrent cycle running
        self._swept_holey = 0.0
        self._swept_chunked = 0.0
        self.peak_used = 0.0
        self.stats = GcStats()

    @property
    def old_used(self) -> float:
        """Old-generation bytes that cannot take a promotion: live, dead, or holes."""
        return self.live + self.garbage_holey + self.garbage_chunked + self.holes

    def tick(
        self,
        now: float,
        *,
        allocated: float,
        promoted: float,
        died_holey: float,
        died_chunked: float,
        live: float,
    ) -> float:
        """Account one tick; returns the stop-the-world seconds it ends with (0 if none)."""
        self.live = live
        self.garbage_holey += died_holey
        self.garbage_chunked += died_chunked
        self.eden_used += allocated
        self.survivors += promoted
        pause = 0.0
        if self._cycle_ends >= 0.0 and now >= self._cycle_ends:
            self._end_cycle()
        if self.eden_used >= self.eden:
            young = int(self.eden_used // self.eden)
            seconds = young * self.spec.young_pause + self.survivors / self.spec.copy_rate
            self.stats.young_count += young
            self.stats.young_seconds += seconds
            self.stats.pause(seconds / young)
            pause += seconds
            self.eden_used -= young * self.eden
            self.survivors = 0.0
            if self.old_used > self.old_capacity:
                pause += self._full_gc(concurrent_mode_failure=self._cycle_ends >= 0.0)
        used = self.old_used
        if used > self.peak_used:
            self.peak_used = used
        if self._cycle_ends < 0.0 and used >= self.initiating:
            self._start_cycle(now)
        return pause

    def _start_cycle(self, now: float) -> None:
        self.stats.concurrent_cycles += 1
        self._cycle_ends = now + self.live / self.spec.concurrent_mark_rate
        self._swept_holey = self.garbage_holey
        self._swept_chunked = self.garbage_chunked

    def _end_cycle(self) -> None:
        self._cycle_ends = -1.0
        self.garbage_holey -= self._swept_holey
        self.garbage_chunked -= self._swept_chunked
        self.holes += self.spec.fragmentation * self._swept_holey
        self._swept_holey = self._swept_chunked = 0.0

    def _full_gc(self, *, concurrent_mode_failure: bool) -> float:
        if concurrent_mode_failure:
            self.stats.concurrent_mode_failures += 1
        else:
            self.stats.promotion_failures += 1
        seconds = self.live / GIB * self.spec.full_gc_time_per_gib
        self.stats.full_count += 1
        self.stats.full_seconds += seconds
        self.stats.pause(seconds)
        self.garbage_holey = self.garbage_chunked = self.holes = 0.0
        self._cycle_ends = -1.0
        self._swept_holey = self._swept_chunked = 0.0
        return seconds

    def reset_stats(self) -> None:
        self.stats = GcStats()
        self.peak_used = self.old_used
