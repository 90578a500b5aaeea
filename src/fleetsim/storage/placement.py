"""Where a region's data replicas live, and whether any of them can be read.

HDFS places the replicas of each block by its block placement policy, with racks as
the failure domains; here zones play the racks (a cluster that spans zones configures
its topology so). The zones are chosen when the region's data is first written, by the
region server that holds it then (the writer), and stay: moving a region to another
server does not move its files, and daughters of a split reference their parent's.

- ``single-zone``: all replicas in the writer's zone;
- ``zone-aware``: ``BlockPlacementPolicyDefault`` (``apache/hadoop``
  ``hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/server/
  blockmanagement/BlockPlacementPolicyDefault.java``): the first replica on the
  writer's rack, the second on a different rack, the third on the second's rack;
- ``zone-fault-tolerant``: ``BlockPlacementPolicyRackFaultTolerant``: replicas spread
  over as many racks as there are.

A region server can serve a region only while one replica sits in a zone that is up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def replica_zones(
    policy: str, factor: int, writer_zone: str, zones: Sequence[str], choice: int
) -> tuple[str, ...]:
    """The zone of each replica; ``choice`` picks among the other zones (a draw)."""
    others = [zone for zone in zones if zone != writer_zone]
    if policy == "single-zone" or not others:
        return (writer_zone,) * factor
    if policy == "zone-aware":
        remote = others[choice % len(others)]
        return ((writer_zone,) + (remote,) * (factor - 1))[:factor]
    ring = [writer_zone, *others[choice % len(others) :], *others[: choice % len(others)]]
    return tuple(ring[index % len(ring)] for index in range(factor))


def reachable(zones: tuple[str, ...], down: Collection[str]) -> bool:
    """Whether some replica is in a zone that is up."""
    return any(zone not in down for zone in zones)
