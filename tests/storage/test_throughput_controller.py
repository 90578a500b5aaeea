"""The compaction throughput limit and compaction pressure."""

from __future__ import annotations

import math

import pytest

from fleetsim.storage.throughput_controller import (
    MiB,
    NoLimitThroughputController,
    PressureAwareCompactionThroughputController,
    ThroughputController,
    compaction_pressure,
    server_compaction_pressure,
)


def test_defaults() -> None:
    controller = PressureAwareCompactionThroughputController()
    assert controller.lower_bound == 52428800
    assert controller.upper_bound == 104857600
    assert controller.off_peak_limit == math.inf
    assert controller.tune_period == 60.0


@pytest.mark.parametrize(
    ("pressure", "limit"), [(0.0, 50 * MiB), (0.5, 75 * MiB), (1.0, 100 * MiB)]
)
def test_limit_follows_pressure_between_the_bounds(pressure: float, limit: int) -> None:
    controller = PressureAwareCompactionThroughputController()
    assert controller.max_throughput(pressure, off_peak=False) == limit


def test_no_limit_past_pressure_one() -> None:
    controller = PressureAwareCompactionThroughputController()
    assert controller.max_throughput(1.0001, off_peak=False) == math.inf
    assert controller.max_throughput(math.inf, off_peak=False) == math.inf


def test_off_peak_is_unlimited_by_default() -> None:
    controller = PressureAwareCompactionThroughputController()
    assert controller.max_throughput(0.0, off_peak=True) == math.inf


def test_off_peak_limit_when_set_but_pressure_over_one_wins() -> None:
    controller = PressureAwareCompactionThroughputController(off_peak_limit=200.0 * MiB)
    assert controller.max_throughput(0.3, off_peak=True) == 200 * MiB
    assert controller.max_throughput(1.5, off_peak=True) == math.inf


def test_either_controller_serves() -> None:
    controllers: list[ThroughputController] = [
        PressureAwareCompactionThroughputController(),
        NoLimitThroughputController(),
    ]
    limits = [controller.max_throughput(0.0, off_peak=False) for controller in controllers]
    assert limits == [50 * MiB, math.inf]


@pytest.mark.parametrize(
    ("files", "min_files", "blocking", "pressure"),
    [
        (0, 3, 16, 0.0),
        (3, 3, 16, 0.0),  # at min files: nothing to do yet
        (4, 3, 16, 1 / 13),
        (16, 3, 16, 1.0),  # at the blocking count
        (17, 3, 16, 14 / 13),
        (3, 1, 4, 0.5),  # min files raised to 2
        (4, 3, 3, math.inf),  # blocking == min: division by zero
        (5, 4, 3, -1.0),  # blocking < min: negative
    ],
)
def test_store_compaction_pressure(
    files: int, min_files: int, blocking: int, pressure: float
) -> None:
    assert compaction_pressure(files, min_files, blocking) == pytest.approx(pressure)


def test_server_pressure_is_the_largest_store_pressure_from_zero() -> None:
    assert server_compaction_pressure([0.2, 1.5, 0.7]) == 1.5
    assert server_compaction_pressure([-1.0, 0.2]) == 0.2
    assert server_compaction_pressure([-1.0]) == 0.0
    assert server_compaction_pressure([]) == 0.0
