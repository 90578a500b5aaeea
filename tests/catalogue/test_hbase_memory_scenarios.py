"""The catalogue's region-server memory and compaction scenarios: S3 (an on-heap block
cache at high QPS and its GC pauses) and S4 (compactions in the day, or at night).

The full files run for minutes (S3) and a simulated day (S4); here S3 runs its first
minutes and S4 a day at a tenth of the rate with service times ten times as long, so
the handlers are as busy hour by hour and a compaction's core is as large a share.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import fleetsim

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
S3 = SCENARIOS / "hbase-gc-blockcache.yaml"
S4 = SCENARIOS / "hbase-compaction-window.yaml"
DAY_HOURS = range(8, 21)


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


@cache
def s3(variant: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(
        _load(S3), variant=variant, duration="60s", warmup="60s"
    ).summary
    return summary


def s3_gc(variant: str | None) -> list[dict[str, Any]]:
    servers = s3(variant)["storage"]["clusters"]["regionserver"]["region_servers"]
    return [server["gc"] for server in servers.values()]


def test_s3_an_on_heap_cache_makes_long_young_pauses_that_off_heap_does_not() -> None:
    on_heap, off_heap = s3_gc(None), s3_gc("offheap-bucketcache")
    young_on = sum(s["young_seconds"] for s in on_heap)
    young_off = sum(s["young_seconds"] for s in off_heap)
    assert young_on > 10 * young_off
    assert max(s["longest_pause_s"] for s in off_heap) < 0.05
    held = [
        s3(variant)["services"]["regionserver"]["stalls"]["stop_the_world"]["requests"]
        for variant in (None, "offheap-bucketcache")
    ]
    assert held[0] > 10 * held[1]  # requests caught in a pause


def test_s3_the_off_heap_cache_keeps_index_and_bloom_blocks_on_heap() -> None:
    servers = s3("offheap-bucketcache")["storage"]["clusters"]["regionserver"]["region_servers"]
    for server in servers.values():
        cache_figures = server["block_cache"]
        assert cache_figures["off_heap_bytes"] > 0
        assert cache_figures["meta_hit_ratio"] > 0.99
        assert cache_figures["evicted_on_heap_bytes"] == 0


@cache
def s4_document() -> dict[str, Any]:
    document = _load(S4)
    spec = copy.deepcopy(document["spec"])
    for traffic in spec["traffic"]:
        rate = float(traffic["rate"].removesuffix("/s"))
        traffic["rate"] = f"{rate / 10:g}/s"
    spec["services"][0]["serviceTime"] = {
        "distribution": "lognormal",
        "p50": "150ms",
        "p99": "600ms",
    }
    scheduler = spec["variants"]["scheduled-compactions"]["storage"]["compactionScheduler"]
    scheduler["maxP99"] = "1500ms"  # ten times the service times, ten times the limit
    return {**document, "spec": spec}


@cache
def s4(variant: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(s4_document(), variant=variant).summary
    return summary


def daytime_p99(variant: str | None) -> list[float]:
    hourly = s4(variant)["storage"]["clients"]["feed-reads"]["hourly"]
    return [hour["p99_ms"] for hour in hourly if hour["hour"] in DAY_HOURS]


def stores(variant: str | None) -> list[dict[str, Any]]:
    servers = s4(variant)["storage"]["clusters"]["regionserver"]["region_servers"]
    return [server["stores"] for server in servers.values()]


def test_s4_time_based_majors_in_the_day_raise_the_daytime_p99() -> None:
    majors = sum(s["major_compactions"] for s in stores(None))
    assert majors >= 10  # 150 regions due every 3.5 to 10.5 days
    # A major takes one core of four for ~7 minutes; in the hours of the afternoon peak
    # those minutes lift the hour's p99 by about a third (the diurnal ramp alone: ~1.17x).
    assert max(daytime_p99(None)) > 1.2 * max(daytime_p99("scheduled-compactions"))


def test_s4_scheduled_compactions_run_at_night_and_keep_up_with_the_week() -> None:
    cluster = s4("scheduled-compactions")["storage"]["clusters"]["regionserver"]
    scheduler = cluster["compaction_scheduler"]
    assert scheduler["completed"] >= 150 / 7  # a seventh of the regions a night at least
    assert scheduler["overdue_regions"] == 0
    day = daytime_p99("scheduled-compactions")
    assert max(day) < 1.25 * min(day)  # the diurnal load alone
