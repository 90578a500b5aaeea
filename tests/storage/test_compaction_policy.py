"""Minor-compaction file selection, off-peak hours and the major compaction period."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from fleetsim.storage.compaction_policy import (
    LONG_MAX,
    CompactionConfiguration,
    CompactionPolicy,
    ExploringCompactionPolicy,
    MiB,
    OffPeakHours,
    RatioBasedCompactionPolicy,
    java_float,
    next_major_compaction_delay,
)

DAY = 86400.0
FLUSH = 128 * MiB

# The Reference Guide's settings for its three examples ("Compaction File Selection",
# "Minor Compaction File Selection - Example #1" to "#3"; they mirror HBase's unit test).
BOOK = CompactionConfiguration(min_files=3, max_files=5, min_size=10, max_size=1000, ratio=1.0)
# HBase's own TestCompactionPolicy settings, whose TestDefaultCompactSelection cases run
# against the default (exploring) policy; its store blocked at 10 files.
UNIT = CompactionConfiguration(
    min_files=3, max_files=5, min_size=10, max_size=2100, ratio=1.0, blocking_files=10
)


def picked(
    policy: CompactionPolicy,
    sizes: Sequence[int],
    *,
    off_peak: bool = False,
    may_be_stuck: bool | None = None,
) -> list[int] | None:
    """The sizes of the files ``policy`` selects, or None."""
    window = policy.select(sizes, off_peak=off_peak, may_be_stuck=may_be_stuck)
    return None if window is None else list(sizes[window[0] : window[1]])


def test_defaults_are_hbase_default_xml() -> None:
    config = CompactionConfiguration()
    assert (config.min_files, config.max_files) == (3, 10)
    assert config.min_size == 134217728
    assert config.max_size == 9223372036854775807 == LONG_MAX
    assert (config.ratio, config.off_peak_ratio) == (1.2, 5.0)
    assert config.blocking_files == 16


# --- The Reference Guide, "Compaction File Selection" (the ratio-based algorithm) ---------


def test_book_example_1_basic() -> None:
    # "Example #1 (Basic Example)": 100, 50, 23, 12, 12 -> 23, 12, 12. 100 > 50+23+12+12,
    # 50 > 23+12+12, 23 <= 12+12.
    sizes = [100, 50, 23, 12, 12]
    assert RatioBasedCompactionPolicy(BOOK).select(sizes, off_peak=False) == (2, 5)
    # The exploring policy agrees: every run with 100 or 50 in it is out of ratio.
    assert picked(ExploringCompactionPolicy(BOOK), sizes) == [23, 12, 12]


def test_book_example_2_not_enough_files_to_compact() -> None:
    # "Example #2 (Not Enough Files To Compact)": 100, 25, 12, 12 -> nothing. 25 > 12+12,
    # and the two 12s are fewer than hbase.hstore.compaction.min.
    sizes = [100, 25, 12, 12]
    assert RatioBasedCompactionPolicy(BOOK).select(sizes, off_peak=False) is None
    assert ExploringCompactionPolicy(BOOK).select(sizes, off_peak=False) is None


def test_book_example_3_limiting_files_to_compact() -> None:
    # "Example #3 (Limiting Files To Compact)": 7, 6, 5, 4, 3, 2, 1 -> 7, 6, 5, 4, 3. All
    # are under min.size, so the walk stops at once and max.files cuts the rest.
    sizes = [7, 6, 5, 4, 3, 2, 1]
    assert picked(RatioBasedCompactionPolicy(BOOK), sizes) == [7, 6, 5, 4, 3]


def test_exploring_differs_from_book_example_3_by_reading_fewer_bytes() -> None:
    # Five files either way, but 5+4+3+2+1 = 15 bytes to rewrite against 25: the exploring
    # policy keeps the lighter run (HBase's TestDefaultCompactSelection expects the same).
    assert picked(ExploringCompactionPolicy(BOOK), [7, 6, 5, 4, 3, 2, 1]) == [5, 4, 3, 2, 1]


def test_book_ratio_based_step_7() -> None:
    # "RatioBasedCompactionPolicy Algorithm", step 7: at ratio 1.2, a 5 MB file before
    # files of 2 and 3 MB is in (5 <= 1.2 x 5), a 7 MB one is not. min.size is 0 here:
    # with its default (128 MB) every file would be in without a ratio test.
    config = CompactionConfiguration(min_size=0)
    for policy in (RatioBasedCompactionPolicy(config), ExploringCompactionPolicy(config)):
        assert picked(policy, [5 * MiB, 2 * MiB, 3 * MiB]) == [5 * MiB, 2 * MiB, 3 * MiB]
        assert policy.select([7 * MiB, 2 * MiB, 3 * MiB], off_peak=False) is None


# --- The exploring policy (Reference Guide, "ExploringCompactionPolicy") ------------------


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        # Cases of HBase's TestDefaultCompactSelection.testCompactionRatio.
        ([100, 50, 25, 12, 12], None),
        ([2101, 2101, 700, 700, 700], [700, 700, 700]),
        ([2101, 2101, 700, 700], None),
        ([7, 1, 1], [7, 1, 1]),  # a total under min.size needs no ratio test
        ([50, 10, 10, 10, 10], [10, 10, 10, 10]),
        ([10, 10, 10, 10, 50], [10, 10, 10, 10]),
        ([251, 253, 251, 2099], [251, 253, 251]),  # adding 2099 passes max.size
        ([2099, 2099, 2099], None),
    ],
)
def test_exploring_matches_hbase_unit_cases(sizes: list[int], expected: list[int] | None) -> None:
    assert picked(ExploringCompactionPolicy(UNIT), sizes) == expected


def test_min_size_bounds_a_run_for_exploring_and_a_file_for_ratio_based() -> None:
    # Every file is under min.size (10) but the run's total is not: the exploring policy
    # tests it against the ratio (9 > 1 + 1), the ratio-based one takes 9 untested.
    assert ExploringCompactionPolicy(UNIT).select([9, 1, 1], off_peak=False) is None
    assert picked(RatioBasedCompactionPolicy(UNIT), [9, 1, 1]) == [9, 1, 1]


def test_only_the_oldest_files_over_max_size_are_dropped() -> None:
    # skipLargeFiles stops at the first file within max.size. The ratio-based walk stops
    # at the first 10 and takes the 2101 after it; no exploring run may hold it.
    sizes = [10, 10, 2101, 10, 10]
    assert picked(RatioBasedCompactionPolicy(UNIT), sizes) == sizes
    assert ExploringCompactionPolicy(UNIT).select(sizes, off_peak=False) is None


def test_ratio_based_weighs_a_file_against_at_most_max_files_minus_one_newer() -> None:
    # With max.files 3, 10 is weighed against 4 + 4 (out), not against all four 4s.
    config = CompactionConfiguration(min_files=3, max_files=3, min_size=0, ratio=1.0)
    assert RatioBasedCompactionPolicy(config).select([10, 4, 4, 4, 4], off_peak=False) == (1, 4)


def test_off_peak_ratio_takes_a_larger_file() -> None:
    # 20 > 1.2 x (6+3+2+1) but 20 <= 5.0 x 12; 6 <= 1.2 x 6 either way.
    sizes = [20 * FLUSH, 6 * FLUSH, 3 * FLUSH, 2 * FLUSH, FLUSH]
    for policy in (ExploringCompactionPolicy(), RatioBasedCompactionPolicy()):
        assert policy.select(sizes, off_peak=False) == (1, 5)
        assert policy.select(sizes, off_peak=True) == (0, 5)


def test_off_peak_matches_hbase_unit_case() -> None:
    # TestDefaultCompactSelection.testOffPeakCompactionRatio, off-peak ratio 5.0.
    sizes = [999, 50, 12, 12, 1]
    assert picked(ExploringCompactionPolicy(UNIT), sizes, off_peak=True) == [50, 12, 12, 1]
    assert picked(ExploringCompactionPolicy(UNIT), sizes) == [12, 12, 1]


def test_runs_are_limited_to_max_files() -> None:
    sizes = [FLUSH] * 12
    for policy in (ExploringCompactionPolicy(), RatioBasedCompactionPolicy()):
        assert policy.select(sizes, off_peak=False) == (0, 10)


def test_fewer_files_than_min_files_select_nothing() -> None:
    for policy in (ExploringCompactionPolicy(), RatioBasedCompactionPolicy()):
        assert policy.select([], off_peak=False) is None
        assert policy.select([MiB, MiB], off_peak=False) is None
        assert policy.select([MiB, MiB, MiB], off_peak=False) == (0, 3)


def test_min_files_is_at_least_two() -> None:
    config = CompactionConfiguration(min_files=1)
    assert config.min_files_to_compact == 2
    assert ExploringCompactionPolicy(config).select([MiB], off_peak=False) is None
    assert ExploringCompactionPolicy(config).select([MiB, MiB], off_peak=False) == (0, 2)


def test_ratio_is_read_in_single_precision() -> None:
    # 1.2 as a Java float is 1.2000000476837158: 5 flushes x ratio leaves 32 bytes more
    # room than 6 flushes, so a file 16 bytes over 1.2 x the others is still in ratio.
    assert java_float(1.2) == 1.2000000476837158
    assert 6 * FLUSH + 16 > 5 * FLUSH * 1.2
    sizes = [6 * FLUSH + 16, 3 * FLUSH, 2 * FLUSH]
    for policy in (ExploringCompactionPolicy(), RatioBasedCompactionPolicy()):
        assert policy.select(sizes, off_peak=False) == (0, 3)


# --- A store that may be stuck (Reference Guide, "Being Stuck") ---------------------------


def test_stuck_store_takes_the_run_with_most_files_per_byte() -> None:
    # TestDefaultCompactSelection.testStuckStoreCompaction: 10 files reach the blocking
    # count of 10, and three 30s remove files for the fewest bytes.
    policy = ExploringCompactionPolicy(UNIT)
    stuck = [99] * 6 + [30] * 4
    assert picked(policy, stuck) == [30, 30, 30]
    # Told it is not stuck, or with one 99 fewer, the most files for the least bytes.
    assert picked(policy, stuck, may_be_stuck=False) == [99, 30, 30, 30, 30]
    assert picked(policy, stuck[1:]) == [99, 30, 30, 30, 30]


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([99] * 6 + [30, 30, 30, 15], [30, 30, 30, 15]),  # a small file is worth adding
        ([99] * 4 + [30, 26, 26, 29, 25, 25], [30, 26, 26]),  # later is not 5% better
        ([99] * 4 + [27, 27, 27, 20, 20, 20], [20, 20, 20]),  # later is 5% better
    ],
)
def test_stuck_store_prefers_earlier_runs_unless_later_are_5_percent_better(
    sizes: list[int], expected: list[int]
) -> None:
    assert picked(ExploringCompactionPolicy(UNIT), sizes) == expected


def test_stuck_store_with_nothing_in_ratio_takes_the_smallest_run() -> None:
    # Halving sizes are never in ratio 1.0 (each file outweighs all the newer ones).
    config = CompactionConfiguration(
        min_files=3, max_files=5, min_size=1, max_size=2100, ratio=1.0, blocking_files=10
    )
    sizes = [512, 256, 128, 64, 32, 16, 8, 4, 2, 1]
    assert picked(ExploringCompactionPolicy(config), sizes) == [4, 2, 1]
    assert ExploringCompactionPolicy(config).select(sizes[1:], off_peak=False) is None
    # The ratio-based policy has no such fallback that can be reached.
    assert RatioBasedCompactionPolicy(config).select(sizes, off_peak=False) is None


def test_stuck_fallback_ignores_max_size() -> None:
    config = CompactionConfiguration(
        min_files=3, max_files=5, min_size=10, max_size=100, blocking_files=3
    )
    assert ExploringCompactionPolicy(config).select([50, 60, 70], off_peak=False) == (0, 3)
    assert (
        ExploringCompactionPolicy(config).select([50, 60, 70], off_peak=False, may_be_stuck=False)
        is None
    )


# --- Off-peak hours -----------------------------------------------------------------------


def test_off_peak_hours_within_a_day() -> None:
    hours = OffPeakHours(2, 5)
    assert [hour for hour in range(24) if hours.is_off_peak(hour)] == [2, 3, 4]


def test_off_peak_hours_wrap_past_midnight() -> None:
    hours = OffPeakHours(22, 6)
    assert [hour for hour in range(24) if hours.is_off_peak(hour)] == [0, 1, 2, 3, 4, 5, 22, 23]


@pytest.mark.parametrize(("start", "end"), [(-1, -1), (3, 3), (-1, 5), (22, 24)])
def test_off_peak_hours_disabled(start: int, end: int) -> None:
    hours = OffPeakHours(start, end)
    assert not hours.enabled
    assert not any(hours.is_off_peak(hour) for hour in range(24))


def test_off_peak_hours_are_disabled_by_default() -> None:
    assert not OffPeakHours().enabled


# --- Time-based major compactions ---------------------------------------------------------


def test_major_compaction_delay_spans_period_plus_or_minus_jitter() -> None:
    period = 7 * DAY
    assert next_major_compaction_delay(period, 0.5, 0.0) == 10.5 * DAY
    assert next_major_compaction_delay(period, 0.5, 0.5) == period
    assert next_major_compaction_delay(period, 0.5, 0.75) == 5.25 * DAY
    delays = [next_major_compaction_delay(period, 0.5, i / 1000) for i in range(1000)]
    assert all(3.5 * DAY < delay <= 10.5 * DAY for delay in delays)


def test_major_compaction_period_zero_is_never() -> None:
    assert next_major_compaction_delay(0.0, 0.5, 0.3) == math.inf


def test_major_compaction_without_jitter_is_the_period() -> None:
    assert next_major_compaction_delay(7 * DAY, 0.0, 0.9) == 7 * DAY


@pytest.mark.parametrize(("period", "draw"), [(-1.0, 0.5), (DAY, 1.0), (DAY, -0.1)])
def test_major_compaction_delay_rejects_bad_arguments(period: float, draw: float) -> None:
    with pytest.raises(ValueError):
        next_major_compaction_delay(period, 0.5, draw)
