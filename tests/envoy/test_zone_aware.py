"""Envoy's zone-aware routing (``zone_aware.rst``, ``ZoneAwareLoadBalancerBase``).

A caller keeps a pick in its zone while the upstream's share of healthy hosts there
covers its own service's share of hosts there, and spills the rest to the zones with
spare share. Off (the default, as in Istio, which sets no local cluster) a cluster with
locality failover off balances over every zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

import fleetsim
from fleetsim.dataplane.protocols import Host
from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.envoy.proxy import SidecarProxy
from fleetsim.envoy.router import NoHealthyUpstream
from fleetsim.envoy.upstream_cluster import UpstreamCluster
from fleetsim.envoy.zone_aware import LocalCluster, plan
from fleetsim.scenario.mesh import ProxyModel
from fleetsim.scenario.schema import Route
from tests.fleet_scenarios import scenario
from tests.hosts import hosts as containers


@dataclass
class FakeLocal:
    endpoints: list[Host] = field(default_factory=list)


class Mesh:
    """The ``ProxyManager`` of one frontend proxy: its clock, streams and local cluster."""

    def __init__(self, local: FakeLocal) -> None:
        self.env = Environment()
        self.streams = RandomStreams(3)
        self.proxy_model = ProxyModel()
        self.fanouts: dict[str, LocalCluster] = {"frontend": local}

    def config_bytes(self, scope: frozenset[str] | None) -> int:
        return 0

    def proxy_down(self, proxy: SidecarProxy) -> None:
        pass

    def proxy_up(self, proxy: SidecarProxy) -> None:
        pass

    def record_ejection(self, destination: str) -> None:
        pass


def hosts(service: str, per_zone: dict[str, int]) -> list[Host]:
    made: list[Host] = []
    for zone, count in per_zone.items():
        made += containers(*(f"{service}-{zone}-{index}" for index in range(count)), zone=zone)
    return made


def cluster(
    zone: str,
    local: FakeLocal,
    upstream: list[Host],
    route: dict[str, Any],
) -> UpstreamCluster:
    """A frontend proxy's cluster to the backend, with the frontend as local cluster."""
    mesh = Mesh(local)
    proxy = SidecarProxy(
        mesh,
        f"frontend-{zone}",
        "frontend",
        zone,
        concurrency=2,
        memory_limit=None,
        inbound_idle_timeout=0.0,
    )
    spec = Route.model_validate({"destination": "backend", **route})
    upstream_cluster = UpstreamCluster(
        mesh.env,
        mesh.streams,
        proxy,
        "backend",
        spec,
        policy="ROUND_ROBIN",
        retries=None,
        locality=True,
        empty=NoHealthyUpstream(),
    )
    upstream_cluster.set_endpoints(upstream)
    return upstream_cluster


def zone_shares(upstream_cluster: UpstreamCluster, picks: int = 20_000) -> dict[str, float]:
    counts = Counter(upstream_cluster.pick().zone for _ in range(picks))
    return {zone: count / picks for zone, count in sorted(counts.items())}


BACKENDS = {"zone-a": 5, "zone-b": 5, "zone-c": 5}
FRONTENDS = {"zone-a": 3, "zone-b": 2, "zone-c": 2}
ZONE_AWARE = {"zoneAwareLbConfig": {}}


def test_plan_follows_the_envoy_example() -> None:
    """local 40/40/20 %, upstream 25/50/25 %: zone a keeps 25/40 of its picks and spills
    the rest to b (spare 10 %) and c (spare 5 %) in proportion 2:1."""
    local = hosts("frontend", {"zone-a": 4, "zone-b": 4, "zone-c": 2})
    upstream = hosts("backend", {"zone-a": 2, "zone-b": 4, "zone-c": 2})
    zones = {"zone-a", "zone-b", "zone-c"}
    routing = plan("zone-a", local, zones, upstream, 6)
    assert routing is not None
    assert routing.local_fraction == pytest.approx(0.625)
    assert routing.spill_zones == ["zone-b", "zone-c"]
    assert routing.spill_bounds == pytest.approx([0.10, 0.15])
    # More upstream share than local share: everything stays in the zone.
    direct = plan("zone-b", local, zones, upstream, 6)
    assert direct is not None and direct.local_fraction == 1.0


def test_plan_gives_up_where_envoy_does() -> None:
    local = hosts("frontend", FRONTENDS)
    upstream = hosts("backend", BACKENDS)
    zones = set(BACKENDS)
    assert plan("zone-a", local, zones, upstream, 6) is not None
    assert plan("zone-a", local, zones, upstream, 16) is None  # below minClusterSize
    assert plan("zone-a", local, {"zone-a"}, upstream[:5], 1) is None  # one zone upstream
    two_zone_local = hosts("frontend", {"zone-a": 3, "zone-b": 2})
    assert plan("zone-a", two_zone_local, zones, upstream, 6) is None  # zone counts differ
    no_local_here = hosts("frontend", {"zone-b": 3, "zone-c": 2, "zone-d": 2})
    assert plan("zone-a", no_local_here, zones, upstream, 6) is None
    assert plan(None, local, zones, upstream, 6) is None


def test_off_a_cluster_without_failover_spreads_over_every_zone() -> None:
    local = FakeLocal(hosts("frontend", FRONTENDS))
    shares = zone_shares(cluster("zone-b", local, hosts("backend", BACKENDS), {}))
    assert shares == pytest.approx({"zone-a": 1 / 3, "zone-b": 1 / 3, "zone-c": 1 / 3}, abs=0.01)


def test_on_callers_keep_their_zone_as_far_as_its_hosts_cover_their_share() -> None:
    local = FakeLocal(hosts("frontend", FRONTENDS))
    upstream = hosts("backend", BACKENDS)
    # zone-b has 2/7 of the frontends and 1/3 of the backends: all of it stays.
    assert zone_shares(cluster("zone-b", local, upstream, ZONE_AWARE)) == {"zone-b": 1.0}
    # zone-a has 3/7 of the frontends: it keeps (1/3) / (3/7) = 7/9 and splits the rest
    # over b and c, whose spare shares are equal.
    shares = zone_shares(cluster("zone-a", local, upstream, ZONE_AWARE))
    expected = {"zone-a": 7 / 9, "zone-b": 1 / 9, "zone-c": 1 / 9}
    assert shares == pytest.approx(expected, abs=0.01)
    # routingEnabled 0: no pick routes by zone.
    off = cluster("zone-b", local, upstream, {"zoneAwareLbConfig": {"routingEnabled": 0}})
    assert zone_shares(off) == pytest.approx(
        {"zone-a": 1 / 3, "zone-b": 1 / 3, "zone-c": 1 / 3}, abs=0.01
    )


def test_local_cluster_and_ejections_change_the_plan() -> None:
    local = FakeLocal(hosts("frontend", {"zone-a": 2, "zone-b": 2, "zone-c": 2}))
    upstream = hosts("backend", BACKENDS)
    on = cluster("zone-a", local, upstream, ZONE_AWARE)
    assert zone_shares(on) == {"zone-a": 1.0}
    # An EDS push of the frontend's endpoints: zone-a now holds 4 of 8 frontends.
    local.endpoints = hosts("frontend", {"zone-a": 4, "zone-b": 2, "zone-c": 2})
    assert zone_shares(on)["zone-a"] == pytest.approx((1 / 3) / (4 / 8), abs=0.01)
    # Ejected hosts are not healthy: 3 of zone-a's 5 backends ejected.
    on.pick = on.priorities.build(upstream, set(upstream[:3]))
    assert zone_shares(on)["zone-a"] == pytest.approx((2 / 12) / (4 / 8), abs=0.01)


def test_locality_failover_leaves_zone_aware_routing_nothing_to_do() -> None:
    """With outlier detection Istio's failover makes the caller's zone priority 0 alone:
    one zone, so no zone routing; every pick stays local, with or without it."""
    local = FakeLocal(hosts("frontend", FRONTENDS))
    upstream = hosts("backend", BACKENDS)
    for route in ({"outlierDetection": {}}, {"outlierDetection": {}, **ZONE_AWARE}):
        assert zone_shares(cluster("zone-a", local, upstream, route)) == {"zone-a": 1.0}


def _mesh(zone_aware: bool) -> dict[str, Any]:
    document = scenario(replicas=6, workers=4, rate=300.0, duration=20.0, warmup=2.0)
    spec = document["spec"]
    spec["zones"] = ["zone-a", "zone-b", "zone-c"]
    spec["mesh"] = {}
    spec["services"].insert(
        0,
        {
            "name": "frontend",
            "replicas": 4,  # 2/1/1 over the zones
            "workers": 50,
            "serviceTime": {"distribution": "constant", "mean": 0.001},
            "calls": [{"service": "app"}],
        },
    )
    spec["traffic"][0]["target"] = "frontend"
    route: dict[str, Any] = {"destination": "app", "outlierDetection": {}}
    if zone_aware:
        route["localityLbSetting"] = {"enabled": False}
        route["zoneAwareLbConfig"] = {"minClusterSize": 3}
    spec["routes"] = [route]
    return document


def test_in_a_mesh_zone_aware_routing_evens_what_locality_failover_skews() -> None:
    """Frontends 2/1/1, apps 2/2/2. Istio's failover sends each zone's calls to its own
    apps (zone-a's take about half); zone-aware routing keeps the apps even."""
    failover = fleetsim.run(_mesh(zone_aware=False)).summary["services"]["app"]["zones"]
    aware = fleetsim.run(_mesh(zone_aware=True)).summary["services"]["app"]["zones"]
    assert failover["zone-a"]["share"] >= 0.45
    for zone in aware.values():
        assert zone["share"] == pytest.approx(1 / 3, abs=0.03)


def test_zone_aware_lb_config_needs_a_mesh() -> None:
    document = scenario()
    document["spec"]["routes"][0]["zoneAwareLbConfig"] = {}
    with pytest.raises(fleetsim.ScenarioError, match="zoneAwareLbConfig"):
        fleetsim.run(document)
