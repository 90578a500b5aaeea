"""Replica placement by policy, and what a zone failure leaves readable."""

from __future__ import annotations

from typing import Any

import fleetsim
from fleetsim.storage.placement import reachable, replica_zones
from tests.storage.scenarios import storage_scenario

ZONES = ["zone-a", "zone-b", "zone-c"]


def test_single_zone_puts_every_replica_with_the_writer() -> None:
    assert replica_zones("single-zone", 3, "zone-b", ZONES, 7) == ("zone-b",) * 3


def test_zone_aware_is_hdfs_default_one_local_two_on_one_other_rack() -> None:
    for choice in range(4):
        zones = replica_zones("zone-aware", 3, "zone-a", ZONES, choice)
        assert zones[0] == "zone-a"
        assert zones[1] == zones[2] != "zone-a"
    assert {replica_zones("zone-aware", 3, "zone-a", ZONES, c)[1] for c in range(2)} == {
        "zone-b",
        "zone-c",
    }


def test_zone_fault_tolerant_spreads_over_as_many_zones_as_there_are() -> None:
    assert sorted(replica_zones("zone-fault-tolerant", 3, "zone-c", ZONES, 0)) == ZONES
    assert replica_zones("zone-fault-tolerant", 2, "zone-c", ZONES, 1)[0] == "zone-c"


def test_one_zone_only_leaves_every_policy_in_that_zone() -> None:
    for policy in ("single-zone", "zone-aware", "zone-fault-tolerant"):
        assert replica_zones(policy, 3, "zone-a", ["zone-a"], 0) == ("zone-a",) * 3


def test_a_replica_in_a_zone_that_is_up_is_enough() -> None:
    assert reachable(("zone-a", "zone-b", "zone-b"), {"zone-b"})
    assert not reachable(("zone-a",) * 3, {"zone-a"})


def _zone_outage(placement: str) -> dict[str, Any]:
    document = storage_scenario(
        servers=6,
        regions=12,
        reads=600,
        duration="200s",
        zones=ZONES,
        table={"replication": {"placement": placement}},
        events=[
            {"at": "20s", "action": "fail-zone", "zone": "zone-a"},
            {"at": "170s", "action": "restore-zone", "zone": "zone-a"},
        ],
    )
    summary: dict[str, Any] = fleetsim.run(document).summary
    return summary


def test_a_zone_failure_keeps_single_zone_regions_down_until_it_returns() -> None:
    single = _zone_outage("single-zone")
    aware = _zone_outage("zone-aware")
    # The servers of zone-a (a third) are lost in both; their regions reopen elsewhere
    # after the ZooKeeper timeout only where a replica survives.
    single_client = single["storage"]["clients"]["reads"]
    aware_client = aware["storage"]["clients"]["reads"]
    assert single_client["requests_no_replica"] > 0
    assert aware_client["requests_no_replica"] == 0
    single_failed = single["traffic"]["reads"]["requests"]["failed"]
    aware_failed = aware["traffic"]["reads"]["requests"]["failed"]
    requests = single["traffic"]["reads"]["requests"]["total"]
    # single-zone: a third of the reads fail for the 150 s outage; zone-aware: for the
    # ~101 s until the regions reopen (ZooKeeper 90 s, WAL split 10 s, open 1 s).
    assert abs(single_failed / requests - (1 / 3) * 150 / 200) < 0.04
    assert abs(aware_failed / requests - (1 / 3) * 101 / 200) < 0.04
    assert aware["storage"]["clusters"]["rs"]["reassigned"] == 4
