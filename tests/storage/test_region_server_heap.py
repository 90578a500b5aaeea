"""The region server's heap on the read path, in both directions: an on-heap block cache
that misses fills the old generation with dead blocks and holes until a full GC stops
the server; the same cache off the heap (a CombinedBlockCache) leaves it nothing to
collect but young garbage. A larger heap makes the full GC longer."""

from __future__ import annotations

from functools import cache
from typing import Any

import fleetsim
from tests.storage.scenarios import storage_scenario, with_region_servers

UNIFORM_TABLE = {"regionSize": "50Gi"}  # uniform keys over 200 GiB: nearly every get misses


@cache
def reading(heap: str, off_heap: bool) -> dict[str, Any]:
    document = storage_scenario(
        servers=2, regions=4, reads=4000, duration="90s", table=UNIFORM_TABLE
    )
    document["spec"]["warmup"] = "0s"
    block_cache: dict[str, Any] = {"size": 0.4}
    if off_heap:
        block_cache = {"size": 0.1, "bucketCache": {"size": "2Gi"}}
    region_server = {
        "heap": heap,
        "blockCache": block_cache,
        "gc": {"baseLive": "256Mi", "fragmentation": 0.5, "youngGeneration": "512Mi"},
    }
    summary: dict[str, Any] = fleetsim.run(with_region_servers(document, region_server)).summary
    return summary


def gc(summary: dict[str, Any]) -> list[dict[str, Any]]:
    servers = summary["storage"]["clusters"]["rs"]["region_servers"].values()
    return [server["gc"] for server in servers]


def test_an_on_heap_cache_that_churns_ends_in_full_gcs() -> None:
    on_heap = gc(reading("4Gi", False))
    assert all(server["full_pauses"] >= 1 for server in on_heap)
    assert all(server["longest_pause_s"] > 1.0 for server in on_heap)
    stalls = reading("4Gi", False)["services"]["rs"]["stalls"]["stop_the_world"]
    assert stalls["max_seconds"] > 1.0


def test_the_same_cache_off_the_heap_has_no_full_gc_and_short_young_pauses() -> None:
    off_heap, on_heap = gc(reading("4Gi", True)), gc(reading("4Gi", False))
    assert all(server["full_pauses"] == 0 for server in off_heap)
    assert all(server["longest_pause_s"] < 0.1 for server in off_heap)
    young_off = sum(s["young_seconds"] for s in off_heap)
    young_on = sum(s["young_seconds"] for s in on_heap)
    assert young_on > 3 * young_off  # young GCs copy each freshly cached block
    latency_on = reading("4Gi", False)["latency_ms"]["p99"]
    assert latency_on > 10 * reading("4Gi", True)["latency_ms"]["p99"]


def test_a_bigger_heap_makes_each_full_gc_longer() -> None:
    small, big = gc(reading("4Gi", False)), gc(reading("8Gi", False))
    small_each = max(s["full_seconds"] / s["full_pauses"] for s in small)
    big_full = [s for s in big if s["full_pauses"]]
    assert big_full  # it still has them
    assert min(s["full_seconds"] / s["full_pauses"] for s in big_full) > 1.5 * small_each


@cache
def blooms(row_size: str) -> dict[str, Any]:
    """Zipf reads on 100 GiB regions: with small rows the bloom filters (about 10 bits a
    row) outgrow what the on-heap cache can hold beside the data blocks."""
    document = storage_scenario(
        servers=2,
        regions=4,
        reads=3000,
        duration="40s",
        table={"regionSize": "100Gi", "rowSize": row_size},
    )
    document["spec"]["traffic"][0]["storage"]["keys"] = {
        "distribution": "zipf",
        "keys": 2_000_000,
        "exponent": 0.9,
    }
    region_server = {"heap": "4Gi", "memstore": {"globalSize": 0.3}}
    summary: dict[str, Any] = fleetsim.run(with_region_servers(document, region_server)).summary
    return summary


def test_blooms_evicted_from_an_overfull_on_heap_cache_make_reads_slower() -> None:
    def meta_hits(summary: dict[str, Any]) -> list[float]:
        servers = summary["storage"]["clusters"]["rs"]["region_servers"].values()
        return [server["block_cache"]["meta_hit_ratio"] for server in servers]

    small_rows, large_rows = blooms("64"), blooms("4Ki")
    assert max(meta_hits(small_rows)) < 0.8  # index and bloom blocks evicted
    assert min(meta_hits(large_rows)) > 0.95
    assert small_rows["latency_ms"]["p50"] > large_rows["latency_ms"]["p50"]
