"""The catalogue's Kubernetes scenarios: S7 (DNS start-up delay) and S8 (HPA warm-up cascade).

Each scenario runs with its fixed seed; the assertions check the direction and the size of
what the write-up reports, and that removing the mechanism removes the effect. The
figures are deterministic for a seed; the margins say how far the model may move before
the scenario stops telling its story.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

import fleetsim

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
S7 = SCENARIOS / "istio-dns-startup.yaml"
S8 = SCENARIOS / "hpa-warmup-cascade.yaml"


@cache
def run(path: Path, variant: str | None) -> fleetsim.Result:
    return fleetsim.run(path, variant=variant)


def ready_delay(variant: str | None) -> dict[str, Any]:
    delay: dict[str, Any] = run(S7, variant).summary["services"]["api"]["readiness"][
        "ready_delay_s"
    ]
    return delay


# --- S7: istio-dns-startup ------------------------------------------------------------


def test_s7_every_new_pod_waits_for_fresh_nodes_and_turns_ready() -> None:
    summary = run(S7, None).summary
    events = summary["events_by_kind"]
    assert events["node_ready"] == 4
    assert events["pod_created"] == 12
    assert events["pod_ready"] == 12
    assert ready_delay(None)["count"] == 12
    assert summary["services"]["api"]["replicas"]["final"] == 24


def test_s7_dns_refresh_rate_sets_the_extra_readiness_delay() -> None:
    """Extra delay = ready delay minus the same pods' when the node's DNS answers at once.

    With the 300 s refresh the sidecar's first lookup fails after c-ares' 75 s and the
    next comes 300 s later: the write-up saw ~360 s. With 5 s, the retry follows the
    failed lookup by 5 s: the write-up saw ~60 s (here ~80 s, because the failed lookup
    itself outlasts the one-minute outage).
    """
    control = ready_delay("node-dns-ready")["mean"]
    baseline_extra = ready_delay(None)["mean"] - control
    fixed_extra = ready_delay("refresh-5s")["mean"] - control
    assert 330 <= baseline_extra <= 420
    assert 40 <= fixed_extra <= 100
    assert baseline_extra > 4 * fixed_extra


def test_s7_without_the_dns_outage_no_lookup_fails() -> None:
    assert run(S7, "node-dns-ready").summary["events_by_kind"].get("dns_lookup_failed", 0) == 0
    assert run(S7, None).summary["events_by_kind"]["dns_lookup_failed"] == 12


# --- S8: hpa-warmup-cascade -------------------------------------------------------------


def replicas(variant: str | None) -> dict[str, Any]:
    block: dict[str, Any] = run(S8, variant).summary["services"]["backend"]["replicas"]
    return block


def worst_interval_p99(variant: str | None) -> float:
    return max(row["p99_ms"] for row in run(S8, variant).series["traffic"])


NEEDED_AT_PEAK = 75  # 450 req/s x 100 ms CPU / (1 core x 60 %)


def test_s8_baseline_overshoots_scales_down_en_masse_and_oscillates() -> None:
    block = replicas(None)
    assert block["max"] >= 0.9 * 120, "overshoot toward maxReplicas"
    assert block["max"] >= 1.4 * NEEDED_AT_PEAK
    assert block["reversals"] >= 3
    assert block["scale_downs"] >= 3
    # A mass scale-down: at least 30 replicas removed within 5 minutes (20 rows of 15 s).
    counts = [row["replicas"] for row in run(S8, None).series["services"]]
    drops = [counts[i] - min(counts[i : i + 21]) for i in range(len(counts))]
    assert max(drops) >= 30


def test_s8_tuned_settles_near_the_needed_count_without_oscillating() -> None:
    block = replicas("tuned")
    assert block["reversals"] == 0
    assert block["scale_downs"] == 0
    assert abs(block["final"] - NEEDED_AT_PEAK) <= 0.1 * NEEDED_AT_PEAK
    assert block["max"] <= 1.1 * NEEDED_AT_PEAK


def test_s8_cascade_brings_latency_spikes_that_tuning_removes() -> None:
    assert worst_interval_p99(None) > 1.5 * worst_interval_p99("tuned")


@pytest.mark.parametrize("variant", ["warmup-only", "sync-only"])
def test_s8_each_change_alone_stops_the_oscillation(variant: str) -> None:
    block = replicas(variant)
    baseline = replicas(None)
    assert block["reversals"] < baseline["reversals"]
    assert block["max"] < baseline["max"]


def test_s8_counting_the_warmup_burn_makes_it_worse() -> None:
    """With cpuInitializationPeriod and initialReadinessDelay at 0 the HPA reads the
    11x burn of unready pods too: more reversals and a higher replica-time."""
    worse = replicas("count-warmup")
    baseline = replicas(None)
    assert worse["reversals"] > baseline["reversals"]
    assert worse["mean"] > baseline["mean"]
