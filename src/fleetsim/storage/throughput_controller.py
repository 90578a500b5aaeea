"""How fast a region server's compactions may write: the compaction throughput controller.

HBase's default (``hbase.regionserver.throughput.controller``) is
``PressureAwareCompactionThroughputController`` (``apache/hbase`` ``hbase-server/src/main/
java/org/apache/hadoop/hbase/regionserver/throttle/PressureAwareCompactionThroughputController
.java``). Every ``hbase.hstore.compaction.throughput.tune.period`` (60 s) a chore reads the
server's compaction pressure and sets the limit (``tune``):

- pressure over 1.0 (some store is past ``hbase.hstore.blockingStoreFiles``): no limit,
  off-peak or not;
- off-peak hours: ``hbase.hstore.compaction.throughput.offpeak`` (no limit by default);
- otherwise from ``hbase.hstore.compaction.throughput.lower.bound`` (50 MiB/s) at
  pressure 0 up to ``hbase.hstore.compaction.throughput.higher.bound`` (100 MiB/s) at
  pressure 1, in a straight line. These defaults are HBase 2.2's (HBASE-21000; 10 and
  20 MiB/s before).

The limit holds until the next tune (the lower bound before the first one) and is shared
equally by the server's running compactions (``PressureAwareThroughputController``, which
each compaction checks, by default every ``lower bound`` bytes written, sleeping when it
is ahead).

A store's pressure is ``DefaultStoreFileManager.getCompactionPressure`` (``hbase-server/
src/main/java/org/apache/hadoop/hbase/regionserver/DefaultStoreFileManager.java``); the
server's is the largest of its stores', and never below 0
(``HRegionServer.getCompactionPressure``). ``NoLimitThroughputController`` (``throttle/
NoLimitThroughputController.java``) never limits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

MiB: Final = 1 << 20


class ThroughputController(Protocol):
    """What a region server asks of its controller: the compaction write limit."""

    def max_throughput(self, pressure: float, *, off_peak: bool) -> float: ...


@dataclass(frozen=True, slots=True)
class PressureAwareCompactionThroughputController:
    """The limit follows compaction pressure between two bounds (bytes per second)."""

    lower_bound: float = float(50 * MiB)
    """``hbase.hstore.compaction.throughput.lower.bound``."""
    upper_bound: float = float(100 * MiB)
    """``hbase.hstore.compaction.throughput.higher.bound``."""
    off_peak_limit: float = math.inf
    """``hbase.hstore.compaction.throughput.offpeak`` (``Long.MAX_VALUE``: no limit)."""
    tune_period: float = 60.0
    """``hbase.hstore.compaction.throughput.tune.period``, in seconds."""

    def max_throughput(self, pressure: float, *, off_peak: bool) -> float:
        """The limit ``tune`` sets for the server's ``pressure``; ``math.inf`` for none.

        ``off_peak`` is whether the hour is off-peak by ``hbase.offpeak.start.hour`` and
        ``hbase.offpeak.end.hour`` (:class:`~fleetsim.storage.compaction_policy.OffPeakHours`).
        """
        if pressure > 1.0:
            return math.inf  # HBase sets Double.MAX_VALUE
        if off_peak:
            return self.off_peak_limit
        return self.lower_bound + (self.upper_bound - self.lower_bound) * pressure


@dataclass(frozen=True, slots=True)
class NoLimitThroughputController:
    """``NoLimitThroughputController``: compactions write as fast as they can."""

    def max_throughput(self, pressure: float, *, off_peak: bool) -> float:
        return math.inf


def compaction_pressure(store_file_count: int, min_files: int, blocking_files: int) -> float:
    """One store's compaction pressure: 0 at ``min_files`` files or fewer, 1 at
    ``blocking_files``, over 1 past it.

    ``min_files`` is ``hbase.hstore.compaction.min``, raised to 2 as HBase does. The count
    is of all the store's files, those being compacted too. As in HBase's floating-point
    division, a store with more than ``min_files`` files gets an infinite pressure when
    ``blocking_files`` equals ``min_files``, and a negative one when it is smaller (which
    the server's maximum, taken from 0, then ignores).
    """
    least = max(2, min_files)
    if store_file_count <= least:
        return 0.0
    excess = float(store_file_count - least)
    span = blocking_files - least
    if span == 0:
        return math.inf
    return excess / span


def server_compaction_pressure(store_pressures: Iterable[float]) -> float:
    """A region server's pressure: the largest of its stores', at least 0."""
    highest = 0.0
    for pressure in store_pressures:
        if pressure > highest:
            highest = pressure
    return highest
