"""Small storage scenarios for the mechanism tests: one table on a few region servers."""

from __future__ import annotations

import copy
from typing import Any


def storage_scenario(
    *,
    servers: int = 4,
    regions: int = 8,
    reads: float = 2000.0,
    writes: float = 0.0,
    write_keys: str = "uniform",
    duration: str = "30s",
    table: dict[str, Any] | None = None,
    storage: dict[str, Any] | None = None,
    zones: list[str] | None = None,
    events: list[dict[str, Any]] | None = None,
    services: dict[str, Any] | None = None,
) -> dict[str, Any]:
    traffic: list[dict[str, Any]] = [
        {
            "name": "reads",
            "target": "rs",
            "rate": reads,
            "timeout": "1s",
            "storage": {"table": "t", "operation": "get", "keys": {"distribution": "uniform"}},
        }
    ]
    if writes:
        traffic.append(
            {
                "name": "writes",
                "target": "rs",
                "rate": writes,
                "timeout": "1s",
                "storage": {
                    "table": "t",
                    "operation": "put",
                    "rowSize": "64Ki",
                    "keys": {"distribution": write_keys},
                },
            }
        )
    return {
        "apiVersion": "fleetsim/v1",
        "kind": "Scenario",
        "metadata": {"name": "storage-test"},
        "spec": {
            "duration": duration,
            "seed": 5,
            "zones": zones or ["zone-a", "zone-b"],
            "services": [
                {
                    "name": "rs",
                    "replicas": servers,
                    "workers": 8,
                    "serviceTime": {"distribution": "exponential", "mean": "1ms"},
                    **(services or {}),
                }
            ],
            "storage": {
                "tables": [
                    {"name": "t", "regionServers": "rs", "regions": regions, **(table or {})}
                ],
                **copy.deepcopy(storage or {}),
            },
            "traffic": traffic,
            "events": events or [],
        },
    }


DISK = {
    "name": "data",
    "throughput": "400Mi",
    "latency": {"distribution": "constant", "mean": "100us"},
}


def with_region_servers(document: dict[str, Any], region_server: dict[str, Any]) -> dict[str, Any]:
    """Give the region servers a disk of their nodes and ``spec.storage.regionServer``."""
    spec = document["spec"]
    spec["nodePools"] = [{"name": "hbase", "count": 2, "cpu": 8, "memory": "64Gi", "disks": [DISK]}]
    spec["services"][0]["process"] = {"disk": "data"}
    spec["storage"]["regionServer"] = region_server
    return document
