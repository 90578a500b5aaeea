"""The page-table scan end to end: a fleet on nodes with cAdvisor, through ``fleetsim.run``.

The closed form: requests arrive as a Poisson stream, so the fraction that start while
the clear_refs walk holds the lock is the fraction of time it is held (PASTA):
``W / (interval + S + W)`` with walks of fixed length (``walkTimeSigma: 0``), S the smaps
read and W the clear_refs walk. Each request needs the lock with probability p, so the
expected number of delayed requests is ``N p W / (interval + S + W)``, binomial; each
waits for the rest of the walk, ``W / 2`` on average (uniform over the walk).
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import pytest

import fleetsim
from tests.fleet_scenarios import scenario

WALK = 2.0  # seconds per phase: walkTimePerTiB 2 s over a 1 TiB mapping
INTERVAL = 10.0


def scanned_fleet(*, referenced_memory: bool = True, probability: float = 0.05) -> dict[str, Any]:
    document = scenario(replicas=4, workers=64, mean=0.002, rate=800.0, duration=600.0)
    spec = document["spec"]
    spec["nodePools"] = [
        {
            "name": "pool",
            "count": 2,
            "cpu": 32,
            "memory": "256Gi",
            "agents": {
                "cadvisor": {
                    "housekeepingInterval": f"{INTERVAL}s",
                    "jitterFactor": 0,
                    "referencedMemory": referenced_memory,
                    "referencedResetInterval": 1,
                    "walkTimePerTiB": f"{WALK}s",
                    "walkTimeSigma": 0,
                }
            },
        }
    ]
    service = spec["services"][0]
    service["resources"] = {"requests": {"cpu": "1"}}
    service["process"] = {"memoryMap": {"size": "1Ti"}, "pageFaultProbability": probability}
    return document


@pytest.fixture(scope="module")
def scanned() -> dict[str, Any]:
    return fleetsim.run(scanned_fleet()).summary


def test_fraction_delayed_matches_p_times_walk_over_cycle(scanned: dict[str, Any]) -> None:
    service = scanned["services"]["app"]
    stalls = service["stalls"]["mmap_lock"]
    attempts = service["attempts"]
    expected = attempts * 0.05 * WALK / (INTERVAL + WALK + WALK)
    # Binomial: sd = sqrt(n p q) ~ sqrt(expected); 4 sd covers the seed's draw.
    assert stalls["count"] == pytest.approx(expected, abs=4 * math.sqrt(expected))
    assert stalls["count"] > 3000


def test_each_delayed_request_waits_half_a_walk_on_average(scanned: dict[str, Any]) -> None:
    stalls = scanned["services"]["app"]["stalls"]["mmap_lock"]
    mean_wait = stalls["total_seconds"] / stalls["count"]
    # Uniform on (0, W): sd W / sqrt(12); 4 standard errors.
    tolerance = 4 * WALK / math.sqrt(12) / math.sqrt(stalls["count"])
    assert mean_wait == pytest.approx(WALK / 2, abs=tolerance)
    assert stalls["max_seconds"] <= WALK + 1e-9


def test_stalls_of_one_pod_come_one_scan_cycle_apart(scanned: dict[str, Any]) -> None:
    """The longest stalls start at the beginning of a clear_refs walk: on one pod, the gap
    between two of them is a whole number of cycles (interval + both walks = 14 s)."""
    longest = scanned["services"]["app"]["stalls"]["mmap_lock"]["longest"]
    by_pod: dict[str, list[float]] = {}
    for stall in longest:
        by_pod.setdefault(stall["pod"], []).append(stall["t"])
    gaps = [b - a for times in by_pod.values() for a, b in itertools.pairwise(sorted(times))]
    assert gaps, "expected two of the longest stalls on one pod"
    cycle = INTERVAL + 2 * WALK
    for gap in gaps:
        assert abs(gap / cycle - round(gap / cycle)) * cycle < 0.05


def test_the_tail_comes_from_the_scan(scanned: dict[str, Any]) -> None:
    assert scanned["tail"]["over_100x_median"] > 1000
    assert scanned["nodes"]["pool"]["cadvisor"]["walks"] > 0


def test_with_the_metric_off_nothing_is_delayed() -> None:
    summary = fleetsim.run(scanned_fleet(referenced_memory=False)).summary
    assert summary["services"]["app"]["stalls"]["mmap_lock"]["count"] == 0
    assert summary["tail"]["over_100x_median"] == 0
    assert summary["nodes"]["pool"]["cadvisor"]["walks"] == 0
    assert summary["latency_ms"]["max"] < 100.0


def test_with_no_request_needing_the_lock_nothing_is_delayed() -> None:
    summary = fleetsim.run(scanned_fleet(probability=0.0)).summary
    assert summary["services"]["app"]["stalls"]["mmap_lock"]["count"] == 0
    assert summary["tail"]["over_100x_median"] == 0
    assert summary["nodes"]["pool"]["cadvisor"]["walks"] > 0


def test_the_baseline_fleet_is_unchanged_without_a_process() -> None:
    plain = scenario(replicas=4, workers=64, mean=0.002, rate=800.0, duration=60.0)
    with_pool = copy.deepcopy(scanned_fleet(referenced_memory=False))
    with_pool["spec"]["duration"] = 60.0
    del with_pool["spec"]["services"][0]["process"]
    assert "stalls" not in fleetsim.run(with_pool).summary["services"]["app"]
    assert "nodes" not in fleetsim.run(plain).summary
