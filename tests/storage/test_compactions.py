"""Flushes and compactions on the region servers' disks, in both directions: the
throughput controller stretches a compaction and spares the handlers' CPU; too many
store files delay flushes until writes are refused; a store below its limit is never
blocked."""

from __future__ import annotations

from functools import cache
from typing import Any

import fleetsim
from tests.storage.scenarios import storage_scenario, with_region_servers


@cache
def compacting(controller: str, duration: str = "120s") -> dict[str, Any]:
    document = storage_scenario(
        servers=2,
        regions=4,
        reads=1000,
        duration=duration,
        table={"regionSize": "2Gi", "storeFiles": 4},
    )
    document["spec"]["warmup"] = "0s"
    region_server = {
        "cores": 4,
        "compactions": {"throughputController": controller, "checkInterval": "1s"},
    }
    summary: dict[str, Any] = fleetsim.run(with_region_servers(document, region_server)).summary
    return summary


def servers(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return list(summary["storage"]["clusters"]["rs"]["region_servers"].values())


def test_each_store_with_files_in_ratio_is_compacted_to_one_file() -> None:
    for controller in ("no-limit", "pressure-aware"):
        stores = [server["stores"] for server in servers(compacting(controller))]
        assert sum(s["minor_compactions"] + s["major_compactions"] for s in stores) == 4
        assert sum(s["compacted_bytes"] for s in stores) == 4 * (2 << 30)
        assert all(s["store_files_max"] == 1 for s in stores)


def test_the_throughput_controller_stretches_compactions() -> None:
    def seconds_each(summary: dict[str, Any]) -> float:
        stores = [server["stores"] for server in servers(summary)]
        count: int = sum(s["minor_compactions"] + s["major_compactions"] for s in stores)
        seconds: float = sum(s["compaction_seconds"] for s in stores)
        return seconds / count

    free, throttled = compacting("no-limit"), compacting("pressure-aware")
    # 2 GiB read and written in 1 MiB pieces: ~5 ms a piece on the disk and the CPU
    # unthrottled (~11 s); at ~54 MB/s (pressure 1/13) ~19 ms a piece (~40 s).
    assert 8.0 < seconds_each(free) < 15.0
    assert 30.0 < seconds_each(throttled) < 50.0


def test_while_it_runs_an_unthrottled_compaction_slows_reads_down() -> None:
    # The first 8 s: every server compacts. Unthrottled, a compaction takes one core of
    # four (service times x 4/3) and keeps the disk busy (reads queue behind its pieces).
    free, throttled = compacting("no-limit", "8s"), compacting("pressure-aware", "8s")
    assert free["latency_ms"]["mean"] > 1.3 * throttled["latency_ms"]["mean"]
    assert free["latency_ms"]["p99"] > throttled["latency_ms"]["p99"]


@cache
def writing(blocking_files: int) -> dict[str, Any]:
    document = storage_scenario(
        servers=2,
        regions=2,
        reads=100,
        writes=200,
        duration="60s",
        table={"regionSize": "8Gi", "storeFiles": 3, "memstoreFlushSize": "1Mi"},
    )
    region_server = {
        "compactions": {"blockingStoreFiles": blocking_files, "checkInterval": "1000s"}
    }
    summary: dict[str, Any] = fleetsim.run(with_region_servers(document, region_server)).summary
    return summary


def test_too_many_store_files_delay_flushes_until_writes_are_refused() -> None:
    blocked = writing(3)
    assert blocked["storage"]["clients"]["writes"]["too_busy"] > 0
    assert sum(s["stores"]["blocked_writes"] for s in servers(blocked)) > 0
    free = writing(1000)  # the same files and flushes, never over the limit
    assert free["storage"]["clients"]["writes"]["too_busy"] == 0
    assert sum(s["stores"]["flushes"] for s in servers(free)) > 10
