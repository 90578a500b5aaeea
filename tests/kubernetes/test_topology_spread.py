"""nodeSelector and topologySpreadConstraints: where the scheduler may put a pod.

NodeAffinity keeps the nodes whose labels match the pod's ``nodeSelector``. PodTopologySpread
(``pkg/scheduler/framework/plugins/podtopologyspread``) counts the service's pods that are
not terminating in each domain (zone or node) and keeps, for a ``DoNotSchedule``
constraint, the nodes where count + 1 - the lowest count <= ``maxSkew``. With
``nodeTaintsPolicy: Ignore`` (Kubernetes' default) a zone whose nodes are NotReady still
counts as a domain; with ``Honor`` it does not. Every expected placement is worked out
by hand in a comment; nothing here sends traffic except where a run is needed for a
zone outage's evictions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fleetsim.kubernetes.pod import PENDING, Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import scenario, trace_events

ZONES = ["zone-a", "zone-b", "zone-c"]
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
POOL_KEY = "cloud.google.com/gke-nodepool"


def fleet(
    replicas: int,
    *,
    pools: list[dict[str, Any]] | None = None,
    selector: dict[str, str] | None = None,
    constraints: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc = scenario(replicas=replicas, zones=ZONES, seed=3)
    service = doc["spec"]["services"][0]
    if selector is not None:
        service["nodeSelector"] = selector
    if constraints is not None:
        service["topologySpreadConstraints"] = constraints
    if pools is not None:
        doc["spec"]["nodePools"] = pools
    return doc


def pool(name: str, zone: str | None, count: int, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "count": count, "cpu": "8", "memory": "16Gi"}
    if zone is not None:
        spec["zone"] = zone
    spec.update(fields)
    return spec


def zone_skew(max_skew: int = 1, **fields: Any) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": ZONE_KEY, **fields}


def build(doc: dict[str, Any]) -> Simulation:
    return Simulation(load_scenario(doc))


def pods(simulation: Simulation) -> list[Pod]:
    return simulation.cluster.deployments["app"].all_pods


def per_zone(simulation: Simulation) -> dict[str, int]:
    return dict(Counter(pod.zone or "" for pod in pods(simulation) if pod.node is not None))


def per_node(simulation: Simulation) -> dict[str, int]:
    return dict(Counter(pod.node.name for pod in pods(simulation) if pod.node is not None))


def pending(simulation: Simulation) -> list[Pod]:
    return [pod for pod in pods(simulation) if pod.node is None]


# --- nodeSelector -----------------------------------------------------------------------


def test_a_zone_selector_pins_every_pod_to_the_zone() -> None:
    # Without it the four pods spread 2/1/1 over the zones.
    assert per_zone(build(fleet(4))) == {"zone-a": 2, "zone-b": 1, "zone-c": 1}
    assert per_zone(build(fleet(4, selector={ZONE_KEY: "zone-b"}))) == {"zone-b": 4}


def test_pool_and_hostname_selectors() -> None:
    pools = [pool("general", None, 3), pool("spot", "zone-c", 2)]
    # general-0/1/2 sit in zone-a/b/c; spot-0/1 in zone-c.
    on_spot = build(fleet(4, pools=pools, selector={POOL_KEY: "spot"}))
    assert per_node(on_spot) == {"spot-0": 2, "spot-1": 2}
    on_one = build(fleet(3, pools=pools, selector={HOST_KEY: "general-1"}))
    assert per_node(on_one) == {"general-1": 3}
    both = build(fleet(2, pools=pools, selector={ZONE_KEY: "zone-c", POOL_KEY: "general"}))
    assert per_node(both) == {"general-2": 2}


def test_pods_wait_pending_when_no_selected_node_has_room() -> None:
    pools = [pool("general", None, 3, maxPods=1)]
    simulation = build(fleet(3, pools=pools, selector={HOST_KEY: "general-0"}))
    assert per_node(simulation) == {"general-0": 1}
    waiting = pending(simulation)
    assert len(waiting) == 2 and all(pod.phase == PENDING for pod in waiting)
    assert waiting == simulation.cluster.scheduler.unschedulable


# --- DoNotSchedule -----------------------------------------------------------------------


def test_max_skew_one_over_three_zones_puts_two_pods_in_each() -> None:
    pools = [pool("general", None, 6)]
    simulation = build(fleet(6, pools=pools, constraints=[zone_skew()]))
    assert per_zone(simulation) == {"zone-a": 2, "zone-b": 2, "zone-c": 2}
    # Nodes of a zone take turns: the service's pods on the node break the tie.
    assert set(per_node(simulation).values()) == {1}


def test_do_not_schedule_leaves_a_pod_pending_when_the_skew_cannot_be_kept() -> None:
    # zone-a has room for one pod. Pods 1-3 go to a, b, c; pod 4 to b (1 + 1 - 1 = 1);
    # pod 5 to c; pod 6 would give b or c a third pod against a's one: 2 + 1 - 1 = 2 >
    # maxSkew 1, so it stays Pending.
    pools = [pool("small", "zone-a", 1, maxPods=1), pool("b", "zone-b", 2), pool("c", "zone-c", 2)]
    simulation = build(fleet(6, pools=pools, constraints=[zone_skew()]))
    assert per_zone(simulation) == {"zone-a": 1, "zone-b": 2, "zone-c": 2}
    waiting = pending(simulation)
    assert len(waiting) == 1 and waiting[0].phase == PENDING
    assert simulation.cluster.scheduler.unschedulable == waiting


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        # The default soft spreading places it where it fits.
        (None, {"zone-a": 1, "zone-b": 3, "zone-c": 2}),
        ([zone_skew(whenUnsatisfiable="ScheduleAnyway")], {"zone-a": 1, "zone-b": 3, "zone-c": 2}),
        ([zone_skew(2)], {"zone-a": 1, "zone-b": 3, "zone-c": 2}),
    ],
)
def test_the_sixth_pod_is_placed_when_the_constraint_allows(
    constraints: list[dict[str, Any]] | None, expected: dict[str, int]
) -> None:
    pools = [pool("small", "zone-a", 1, maxPods=1), pool("b", "zone-b", 2), pool("c", "zone-c", 2)]
    simulation = build(fleet(6, pools=pools, constraints=constraints))
    assert per_zone(simulation) == expected
    assert pending(simulation) == []


def test_a_pending_pod_is_placed_once_a_node_makes_room_in_the_short_zone() -> None:
    pools = [pool("small", "zone-a", 1, maxPods=1), pool("b", "zone-b", 2), pool("c", "zone-c", 2)]
    simulation = build(fleet(6, pools=pools, constraints=[zone_skew()]))
    waiting = pending(simulation)[0]
    simulation.cluster.node_lifecycle.add_nodes("small", 1)  # boots at once (bootTime 0)
    simulation.env.run(0.0)
    assert waiting.node is not None and waiting.node.name == "small-1"
    assert per_zone(simulation) == {"zone-a": 2, "zone-b": 2, "zone-c": 2}


def test_a_hostname_constraint_spreads_over_nodes_not_zones() -> None:
    pools = [pool("a", "zone-a", 3), pool("b", "zone-b", 1)]
    # Default: zones first, so zone-b's single node takes two of the four pods.
    assert per_node(build(fleet(4, pools=pools))) == {"a-0": 1, "a-1": 1, "b-0": 2}
    spread = {"maxSkew": 1, "topologyKey": HOST_KEY}
    # One pod per node: the explicit constraint replaces the default zone spreading.
    simulation = build(fleet(4, pools=pools, constraints=[spread]))
    assert per_node(simulation) == {"a-0": 1, "a-1": 1, "a-2": 1, "b-0": 1}


def test_domains_are_the_selected_nodes_only() -> None:
    # nodeAffinityPolicy Honor: general-0 is in zone-a, general-1 in zone-b; zone-c has
    # only "other" nodes, so it is no domain (were it one, its 0 pods would hold the
    # third pod back: 1 + 1 - 0 > 1).
    pools = [pool("general", None, 2), pool("other", "zone-c", 2)]
    simulation = build(
        fleet(4, pools=pools, selector={POOL_KEY: "general"}, constraints=[zone_skew()])
    )
    assert per_zone(simulation) == {"zone-a": 2, "zone-b": 2}
    assert pending(simulation) == []


# --- after a zone outage: nodeTaintsPolicy -------------------------------------------------


def outage(policy: str) -> dict[str, Any]:
    """Two pods per zone, zone-a lost at 20 s, NotReady at 60 s, evicted at 360 s, back at 450 s."""
    doc = fleet(6, constraints=[zone_skew(nodeTaintsPolicy=policy)])
    spec = doc["spec"]
    spec.update({"duration": 500.0, "warmup": 0.0})
    spec["traffic"][0]["rate"] = 10.0
    spec["cluster"] = {"nodeMonitorGracePeriod": "40s"}
    spec["events"] = [
        {"at": 20, "action": "fail-zone", "zone": "zone-a"},
        {"at": 450, "action": "restore-zone", "zone": "zone-a"},
    ]
    return doc


def test_with_taints_ignored_the_replacements_wait_for_the_zone() -> None:
    # zone-a is still a domain, its evicted (terminating) pods count 0: a third pod in
    # zone-b or zone-c would make a skew of 3 - 0 > 1. They wait until zone-a is back.
    simulation = build(outage("Ignore"))
    env = simulation.cluster.env
    simulation.cluster.start({})
    env.run(361.0)
    replacements = [pod for pod in pods(simulation) if pod.created >= 360.0]
    assert len(replacements) == 2 and all(pod.node is None for pod in replacements)
    env.run(450.0)
    assert all(pod.zone == "zone-a" for pod in replacements)


def test_with_taints_honored_the_replacements_go_to_the_zones_still_up() -> None:
    simulation = build(outage("Honor"))
    timeline = trace_events(simulation)
    simulation.cluster.start({})
    simulation.cluster.env.run(361.0)
    replacements = [pod for pod in pods(simulation) if pod.created >= 360.0]
    assert sorted(pod.zone or "" for pod in replacements) == ["zone-b", "zone-c"]
    assert [at for at, kind in timeline if kind == "pod_evicted"] == [360.0, 360.0]
