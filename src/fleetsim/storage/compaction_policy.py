"""Which store files a minor compaction takes: the default store engine's policies.

A store's files are given as their sizes in bytes, oldest first, the order HBase's
``DefaultStoreFileManager`` keeps them in (by sequence id): a compaction must take a run
of neighbouring files so that the file it writes still sits between older and newer
data. A selection is returned as ``(first, end)``, ``end`` exclusive, indices into that
list.

The caller passes only the files that may be compacted now. When some of the store's
files are already being compacted, HBase keeps only the files newer than the newest of
them (``SortedCompactionPolicy.getCurrentEligibleFiles``, HBASE-2856), so that two
compactions never interleave; that trimming is the caller's.

Both policies first drop the oldest files while they are larger than
``hbase.hstore.compaction.max.size`` (``SortedCompactionPolicy.skipLargeFiles``; a file
past the limit further on is not dropped), and both refuse a selection of fewer than
``hbase.hstore.compaction.min`` files (``checkMinFilesCriteria``, a minimum HBase raises
to 2).

- :class:`ExploringCompactionPolicy`, the default since HBase 0.96 (``apache/hbase``
  ``hbase-server/src/main/java/org/apache/hadoop/hbase/regionserver/compactions/
  ExploringCompactionPolicy.java``), tries every run of between min and max files and
  keeps the one that takes the most files, then the fewest bytes.
- :class:`RatioBasedCompactionPolicy`, the one before it (``RatioBasedCompactionPolicy.
  java``, same folder), walks from the oldest file to the first one small enough next
  to the files after it, and takes that file and the ones after it.

Sources, same folder: ``SortedCompactionPolicy.java`` (``selectCompaction``,
``getNextMajorCompactTime``), ``CompactionConfiguration.java``, ``OffPeakHours.java``;
the defaults are ``hbase-common/src/main/resources/hbase-default.xml``. The Reference
Guide's worked examples (section "Compaction File Selection") are in the tests.

Not modelled: major compactions and how they are chosen (``shouldPerformMajorCompaction``,
user requests, files left by a split), bulk-loaded files kept out of minor compactions,
``hbase.hstore.compaction.max.size.offpeak``, and the rule that a region server runs one
off-peak compaction at a time (``off_peak`` is the caller's to decide).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

MiB: Final = 1 << 20
LONG_MAX: Final = (1 << 63) - 1
"""Java's ``Long.MAX_VALUE``: ``hbase.hstore.compaction.max.size`` when unset (no limit)."""
REPLACE_IF_BETTER_BY: Final = 1.05
"""A stuck store's search moves to a later run only if it is over 5% better in files per
byte."""


def java_float(value: float) -> float:
    """``value`` as HBase holds a ratio: read by ``Configuration.getFloat``, so rounded to
    single precision, then used as a double (1.2 becomes 1.2000000476837158)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


@dataclass(frozen=True, slots=True)
class CompactionConfiguration:
    """The settings of minor-compaction selection (``CompactionConfiguration``)."""

    min_files: int = 3
    """``hbase.hstore.compaction.min``: fewest files in a minor compaction (at least 2)."""
    max_files: int = 10
    """``hbase.hstore.compaction.max``: most files in a minor compaction."""
    min_size: int = 128 * MiB
    """``hbase.hstore.compaction.min.size`` (default: the memstore flush size). Below it no
    ratio test: for the exploring policy a run whose total is smaller, for the ratio-based
    one a file that is."""
    max_size: int = LONG_MAX
    """``hbase.hstore.compaction.max.size``: the exploring policy skips runs whose total is
    larger; both drop the oldest files while they are."""
    ratio: float = 1.2
    """``hbase.hstore.compaction.ratio``."""
    off_peak_ratio: float = 5.0
    """``hbase.hstore.compaction.ratio.offpeak``, used in off-peak compactions."""
    blocking_files: int = 16
    """``hbase.hstore.blockingStoreFiles``: with this many files a store may be stuck."""

    def __post_init__(self) -> None:
        if self.max_files < 1:
            raise ValueError(f"max_files must be at least 1, got {self.max_files}")
        if self.min_size < 0 or self.max_size < 0:
            raise ValueError("min_size and max_size must be >= 0")
        if not (self.ratio >= 0.0 and self.off_peak_ratio >= 0.0):
            raise ValueError("ratio and off_peak_ratio must be >= 0")

    @property
    def min_files_to_compact(self) -> int:
        """``getMinFilesToCompact``: ``min_files``, raised to 2."""
        return max(2, self.min_files)

    def compaction_ratio(self, off_peak: bool) -> float:
        """The ratio in force, with the single-precision rounding HBase reads it with."""
        return java_float(self.off_peak_ratio if off_peak else self.ratio)


class CompactionPolicy(Protocol):
    """What a store asks of its policy: the run of files to compact, if any."""

    def select(
        self, sizes: Sequence[int], *, off_peak: bool, may_be_stuck: bool | None = None
    ) -> tuple[int, int] | None: ...


def first_within_max_size(sizes: Sequence[int], max_size: int) -> int:
    """``skipLargeFiles``: the index of the oldest file not over ``max_size``, counting
    only from the oldest end."""
    first = 0
    while first < len(sizes) and sizes[first] > max_size:
        first += 1
    return first


class ExploringCompactionPolicy:
    """Every run of min to max neighbouring files, the best one in ratio.

    A run is in ratio when no file in it is larger than ``ratio`` times the sum of the
    others (``filesInRatio``), or when its total is under ``min_size``. It is skipped when
    its total is over ``max_size``. Of the runs left, the one with more files wins, and
    between runs of as many files the one of fewer bytes (``isBetterSelection``); on a tie
    the older run stays.

    A store that may be stuck (``may_be_stuck``; by default, when it has at least
    ``blocking_files`` files, as ``SortedCompactionPolicy.selectCompaction`` reckons it
    for a store with nothing compacting) changes two things. The best run is then the one
    that removes the most files per byte read, a later run replacing an earlier one only
    when more than 5% better. And if no run is in ratio, the run of least total size is
    taken all the same, over ``max_size`` or not, so that flushes stop being blocked.
    """

    __slots__ = ("config",)

    def __init__(self, config: CompactionConfiguration | None = None) -> None:
        self.config = config if config is not None else CompactionConfiguration()

    def select(
        self, sizes: Sequence[int], *, off_peak: bool, may_be_stuck: bool | None = None
    ) -> tuple[int, int] | None:
        """The run to compact from ``sizes`` (oldest first), or None."""
        config = self.config
        stuck = len(sizes) >= config.blocking_files if may_be_stuck is None else may_be_stuck
        ratio = config.compaction_ratio(off_peak)
        least = config.min_files_to_compact
        count = len(sizes)
        first = first_within_max_size(sizes, config.max_size)
        totals = [0]
        for size in sizes:
            totals.append(totals[-1] + size)

        best = (0, 0)
        best_total = 0
        smallest = (0, 0)
        smallest_total = LONG_MAX
        for start in range(first, count):
            for end in range(start + least, min(count, start + config.max_files) + 1):
                total = totals[end] - totals[start]
                if stuck and total < smallest_total:
                    smallest, smallest_total = (start, end), total
                if total > config.max_size:
                    continue
                if total >= config.min_size and not in_ratio(sizes, start, end, total, ratio):
                    continue
                if better(best[1] - best[0], best_total, end - start, total, stuck):
                    best, best_total = (start, end), total
        if best[1] > best[0]:
            return best
        if stuck and smallest[1] > smallest[0]:
            return smallest
        return None


def in_ratio(sizes: Sequence[int], start: int, end: int, total: int, ratio: float) -> bool:
    """``filesInRatio`` on ``sizes[start:end]``: no file over ``ratio`` x the others.

    Checking the largest file is enough: if it passes, every smaller one does.
    """
    if end - start < 2:
        return True
    largest = max(sizes[start:end])
    return largest <= (total - largest) * ratio


def better(best_files: int, best_total: int, files: int, total: int, stuck: bool) -> bool:
    """``isBetterSelection``: whether a run of ``files`` files and ``total`` bytes beats
    the best so far (none yet when ``best_files`` is 0)."""
    if stuck and best_total > 0 and total > 0:
        return best_files / best_total * REPLACE_IF_BETTER_BY < files / total
    return files > best_files or (files == best_files and total < best_total)


class RatioBasedCompactionPolicy:
    """The files from the first one that is small next to the files after it.

    From the oldest file, a file is passed over while it is larger than both ``min_size``
    and ``ratio`` times the sum of the files after it, counting at most ``max_files - 1``
    of them (the real code keeps running sums over that many files, and truncates the
    product to whole bytes). The walk stops when fewer than ``min_files`` files are left.
    The selection is the file it stopped at and every newer one, cut to the oldest
    ``max_files`` of them (``removeExcessFiles``), or nothing if fewer than ``min_files``.

    ``may_be_stuck`` is accepted and ignored: the real policy has a branch for a stuck
    store, but the walk above always stops before the last file, so it is never taken.
    """

    __slots__ = ("config",)

    def __init__(self, config: CompactionConfiguration | None = None) -> None:
        self.config = config if config is not None else CompactionConfiguration()

    def select(
        self, sizes: Sequence[int], *, off_peak: bool, may_be_stuck: bool | None = None
    ) -> tuple[int, int] | None:
        """The run to compact from ``sizes`` (oldest first), or None."""
        config = self.config
        ratio = config.compaction_ratio(off_peak)
        least = config.min_files_to_compact
        count = len(sizes)
        start = first_within_max_size(sizes, config.max_size)
        while count - start >= least:
            following = sum(sizes[start + 1 : start + config.max_files])
            if sizes[start] <= max(config.min_size, int(following * ratio)):
                break
            start += 1
        if count - start < least:
            return None
        return start, min(count, start + config.max_files)


@dataclass(frozen=True, slots=True)
class OffPeakHours:
    """``hbase.offpeak.start.hour`` (inclusive) to ``hbase.offpeak.end.hour`` (exclusive).

    Off-peak is disabled when both are -1 (the default), when either is not an hour of
    the day (HBase logs a warning and disables it) or when they are equal. A start later
    than the end wraps past midnight: 22 to 6 is 22:00 to 05:59.
    """

    start_hour: int = -1
    end_hour: int = -1

    @property
    def enabled(self) -> bool:
        start, end = self.start_hour, self.end_hour
        return 0 <= start <= 23 and 0 <= end <= 23 and start != end

    def is_off_peak(self, hour: int) -> bool:
        """Whether ``hour`` (0 to 23) is off-peak (``OffPeakHoursImpl.isOffPeakHour``)."""
        if not self.enabled:
            return False
        start, end = self.start_hour, self.end_hour
        if start < end:
            return start <= hour < end
        return hour >= start or hour < end


def next_major_compaction_delay(period: float, jitter: float, draw: float) -> float:
    """Time from a store's oldest data to its next time-based major compaction.

    ``getNextMajorCompactTime``: ``hbase.hregion.majorcompaction`` (7 days) moved by up to
    ``hbase.hregion.majorcompaction.jitter`` (0.5) of itself either way, so stores do not
    all major-compact at once: ``period + j - 2 j draw`` with ``j = jitter x period``, in
    (period - j, period + j] for ``draw`` in [0, 1). HBase draws from a ``Random`` seeded
    with the hash of the store's oldest file name, so a store keeps its delay across
    restarts until that file changes; the caller's ``draw`` should be as stable. A period
    of 0 turns time-based major compactions off: the delay is infinite. HBase rounds the
    jitter to whole milliseconds; this does not.
    """
    if period < 0.0:
        raise ValueError(f"period must be >= 0, got {period}")
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"draw must be in [0, 1), got {draw}")
    if period == 0.0:
        return math.inf
    if jitter <= 0.0:
        return period
    spread = jitter * period
    return period + spread - 2.0 * spread * draw
