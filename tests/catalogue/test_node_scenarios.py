"""The catalogue's node scenario: S1 (a node agent's page-table scan stalls search leaves).

The full scenario sends 24 million queries per variant (minutes each), too long for the
suite; ``bench/bench_manas.py`` runs it whole. Here the same file runs with a tenth of
the fleet (20 leaves) for 5 minutes, and with page faults 100 times as likely (1.2 in a
thousand queries) so that each variant has ~150 stalled queries instead of ~1.5: the
mechanism and its variants are unchanged, only the rate of the rare event is raised.
The assertions check the direction and size of what the write-up reports; margins are
about 3 binomial standard deviations of the stall counts.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import fleetsim
from fleetsim.experiments.isolate import isolate

S1 = Path(__file__).resolve().parent.parent.parent / "scenarios" / "manas-pagetable-scan.yaml"
LEAVES = 20
RATE_PER_LEAF = 200
FAULTS = 0.0012


@cache
def shortened() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(S1.read_text(encoding="utf-8"))
    spec = copy.deepcopy(document["spec"])
    spec["duration"] = "5m"
    spec["nodePools"][0]["count"] = LEAVES // 4
    leaf = spec["services"][0]
    leaf["replicas"] = LEAVES
    leaf["process"]["pageFaultProbability"] = FAULTS
    spec["traffic"][0]["rate"] = LEAVES * RATE_PER_LEAF
    spec["variants"]["bigger-nodes"]["nodePools"][0]["count"] = 2
    return {**document, "spec": spec}


@cache
def summary(variant: str | None) -> dict[str, Any]:
    return fleetsim.run(shortened(), variant=variant).summary


def stalls(variant: str | None) -> dict[str, Any]:
    block: dict[str, Any] = summary(variant)["services"]["leaf"]["stalls"]["mmap_lock"]
    return block


def test_s1_the_scan_stalls_a_few_queries_for_seconds_and_times_some_out() -> None:
    result = summary(None)
    queries = result["requests"]["total"]
    assert queries > 1_000_000
    block = stalls(None)
    # p x clear_refs walk / cycle = 0.0012 x 4.8 / 39.6 of the queries, ~0.015 %.
    assert 0.00008 < block["count"] / queries < 0.00025
    assert block["max_seconds"] > 4.0  # P100: 60 ms becomes 5 s+
    assert result["requests"]["timed_out"] > 0.4 * block["count"]
    assert result["tail"]["over_100x_median"] > 0
    assert result["latency_ms"]["p999"] < 60.0  # p99.9 does not move
    assert result["nodes"]["leaves"]["cadvisor"]["walk_seconds_max"] > 9.6


def test_s1_stalls_on_a_leaf_are_a_scan_cycle_apart() -> None:
    """Stalls on one leaf happen during its clear_refs walks: two in one walk are less than
    a walk apart (under 10 s), and the next walk comes a round later (30 s after the
    previous round ended), so no gap falls between 10 s and 30 s."""
    by_pod: dict[str, list[float]] = {}
    for stall in stalls(None)["longest"]:
        by_pod.setdefault(stall["pod"], []).append(stall["t"])
    gaps = [
        later - earlier
        for times in by_pod.values()
        for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    assert gaps, "expected two of the longest stalls on one leaf"
    assert all(gap < 10.0 or gap > 30.0 for gap in gaps)


def test_s1_turning_the_metric_off_removes_the_tail() -> None:
    fixed = summary("referenced-bytes-off")
    assert stalls("referenced-bytes-off")["count"] == 0
    assert fixed["requests"]["timed_out"] == 0
    assert fixed["tail"]["over_100x_median"] == 0
    assert fixed["services"]["leaf"]["latency_ms"]["max"] < 200.0
    baseline_p999 = summary(None)["latency_ms"]["p999"]
    assert fixed["latency_ms"]["p999"] == pytest.approx(baseline_p999, rel=0.03)


@pytest.mark.parametrize("variant", ["no-cgroup-limits", "bigger-nodes"])
def test_s1_cgroup_limits_and_node_size_change_nothing(variant: str) -> None:
    base, other = stalls(None), stalls(variant)
    margin = 3 * base["count"] ** 0.5
    assert other["count"] == pytest.approx(base["count"], abs=margin)
    assert other["max_seconds"] > 4.0
    assert summary(variant)["requests"]["timed_out"] > 0.4 * other["count"]


def test_s1_splitting_the_index_shortens_every_stall() -> None:
    split = stalls("split-index")
    assert 0 < split["max_seconds"] < 2.0  # a tenth of the walk, and its spread
    assert split["total_seconds"] < stalls(None)["total_seconds"] / 20
    assert summary("split-index")["requests"]["timed_out"] == 0


def test_s1_isolate_names_the_agents_scan(tmp_path: Path) -> None:
    path = tmp_path / "s1.yaml"
    path.write_text(yaml.safe_dump(shortened()), encoding="utf-8")
    ranking = isolate(path, "requests.timed_out", duration="2m")
    assert ranking.candidates[0].mechanism == "node-agent-scan"
    assert ranking.candidates[0].value == 0
    assert ranking.as_is is not None and ranking.as_is > 0
    assert all(c.change == 0 for c in ranking.candidates[1:])
