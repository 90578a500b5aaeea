"""kube-scheduler as the model reduces it: filter on NodeResourcesFit, then score.

Filtering (``pkg/scheduler/framework/plugins/noderesources/fit.go``): a node fits a pod
when its allocatable CPU and memory minus the requests of the pods bound to it cover the
pod's requests, and it holds fewer than ``maxPods`` pods; nodes that are not Ready or are
cordoned (``spec.unschedulable``, ``plugins/nodeunschedulable``) are not candidates. A pod
that fits nowhere stays Pending in the unschedulable queue and is tried again when room
may have appeared: a pod deleted, a node turning Ready (``pkg/scheduler/internal/queue``,
``MoveAllToActiveOrBackoffQueue`` on cluster events).

Scoring is lexicographic here: fewest pods of the service in the node's zone (the default
``PodTopologySpread`` constraints, ``plugins/podtopologyspread``, on
``topology.kubernetes.io/zone``), then fewest on the node (``kubernetes.io/hostname``),
then the least allocated CPU share (``noderesources/least_allocated.go``), then the node
name. Every expected placement below is worked out by hand from those keys.

Nothing sends traffic: the tests move the clock and call the controllers directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetsim.kubernetes.cluster import PREEXISTING_AGE
from fleetsim.kubernetes.node import Node
from fleetsim.kubernetes.pod import PENDING, Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import scenario


def fleet(
    replicas: int,
    pools: list[dict[str, Any]],
    *,
    requests: dict[str, str] | None = None,
    zones: list[str] | None = None,
    pre_stop: str | None = None,
) -> Simulation:
    doc = scenario(replicas=replicas, zones=zones, seed=3)
    service = doc["spec"]["services"][0]
    if requests is not None:
        service["resources"] = {"requests": requests}
    if pre_stop is not None:
        service["preStop"] = pre_stop
    doc["spec"]["nodePools"] = pools
    return Simulation(load_scenario(doc))


def pool(name: str, count: int = 1, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "count": count, "cpu": "8", "memory": "16Gi"}
    spec.update(fields)
    return spec


def placement(simulation: Simulation) -> dict[str, list[str]]:
    """Node name -> the names of the pods bound to it, in binding order."""
    return {node.name: [pod.name for pod in node.pods] for node in simulation.cluster.nodes}


def nodes(simulation: Simulation) -> dict[str, Node]:
    return {node.name: node for node in simulation.cluster.nodes}


def pods(simulation: Simulation) -> dict[str, Pod]:
    return {pod.name: pod for pod in simulation.cluster.deployments["app"].all_pods}


def at(simulation: Simulation, time: float, action: Any) -> None:
    """Run ``action()`` at simulated ``time``, then run the clock to it."""
    simulation.env.schedule_at(time, lambda _: action())
    simulation.env.run(time)


# --- scoring -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b_zone", "expected"),
    [
        # Three nodes in zone-a, one in zone-b. app-0 -> a-0 (all tie; name), app-1 ->
        # b-0 (zone-b holds none), app-2 -> a-1 (zones 1:1; a-1 holds none), app-3 ->
        # b-0: zone-b holds 1 pod against zone-a's 2, although b-0 holds one already
        # and a-2 none.
        ("zone-b", {"a-0": ["app-0"], "a-1": ["app-2"], "a-2": [], "b-0": ["app-1", "app-3"]}),
        # All in one zone: node spread alone, one pod per node in name order.
        ("zone-a", {"a-0": ["app-0"], "a-1": ["app-1"], "a-2": ["app-2"], "b-0": ["app-3"]}),
    ],
    ids=["two-zones", "one-zone"],
)
def test_zone_spread_comes_before_node_spread(b_zone: str, expected: dict[str, list[str]]) -> None:
    simulation = fleet(
        4,
        [pool("a", 3, zone="zone-a"), pool("b", 1, zone=b_zone)],
        zones=["zone-a", "zone-b"],
    )
    assert placement(simulation) == expected


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        # 500m pods on alpha (1 core) and beta (4 cores), one zone. app-0 -> alpha-0
        # (all tie; name); app-1 -> beta-0 (node spread); app-2 -> beta-0: 1 pod each,
        # beta 12.5 % allocated against alpha's 50 % (least allocated beats the name);
        # app-3 -> alpha-0: 1 pod against 2 (node spread beats alpha's 50 % vs 25 %).
        ({"cpu": "500m"}, {"alpha-0": ["app-0", "app-3"], "beta-0": ["app-1", "app-2"]}),
        # No requests: nothing is allocated, so node spread and then the name alternate.
        (None, {"alpha-0": ["app-0", "app-2"], "beta-0": ["app-1", "app-3"]}),
    ],
    ids=["requests", "no-requests"],
)
def test_node_spread_comes_before_least_allocated_which_comes_before_the_name(
    requests: dict[str, str] | None, expected: dict[str, list[str]]
) -> None:
    simulation = fleet(4, [pool("alpha", cpu="1"), pool("beta", cpu="4")], requests=requests)
    assert placement(simulation) == expected
    if requests is not None:
        assert nodes(simulation)["alpha-0"].cpu_allocated == pytest.approx(1.0)
        assert nodes(simulation)["beta-0"].cpu_allocated == pytest.approx(1.0)


def test_new_pods_are_scored_like_the_initial_ones() -> None:
    # Three nodes of one zone hold app-0..2; scaling to 6 fills them round in name order.
    simulation = fleet(3, [pool("p", 3)])
    at(simulation, 1.0, lambda: simulation.cluster.deployments["app"].scale(6))
    assert placement(simulation) == {
        "p-0": ["app-0", "app-3"],
        "p-1": ["app-1", "app-4"],
        "p-2": ["app-2", "app-5"],
    }
    assert [pods(simulation)[f"app-{i}"].bound_at for i in range(3, 6)] == [1.0, 1.0, 1.0]


# --- NodeResourcesFit ---------------------------------------------------------------

TIGHT = {
    # Each node holds exactly two pods of the service, by one resource.
    "cpu": ({"cpu": "2", "memory": "16Gi"}, {"cpu": "1"}),
    "memory": ({"cpu": "8", "memory": "2Gi"}, {"memory": "1Gi"}),
    "maxPods": ({"cpu": "8", "memory": "16Gi", "maxPods": 2}, None),
}


@pytest.mark.parametrize("resource", list(TIGHT))
def test_a_pod_that_does_not_fit_stays_pending_until_a_pod_is_deleted(resource: str) -> None:
    node_fields, requests = TIGHT[resource]
    simulation = fleet(2, [pool("n", **node_fields)], requests=requests)
    deployment = simulation.cluster.deployments["app"]
    scheduler = simulation.cluster.scheduler
    at(simulation, 1.0, lambda: deployment.scale(3))
    simulation.env.run(4.0)
    waiting = pods(simulation)["app-2"]
    assert (waiting.node, waiting.phase, waiting.bound_at) == (None, PENDING, None)
    assert scheduler.unschedulable == [waiting]
    assert placement(simulation) == {"n-0": ["app-0", "app-1"]}
    # app-0 is deleted at 5 s; idle and without preStop it is gone at once. Its room goes
    # to the pod that waited, at that instant; the ReplicaSet's replacement for app-0
    # (app-3, tried after it) finds no room and waits in its turn.
    at(simulation, 5.0, lambda: simulation.cluster.kubelet.delete_pod(pods(simulation)["app-0"]))
    assert pods(simulation)["app-0"].deleted
    assert (waiting.node, waiting.bound_at) == (nodes(simulation)["n-0"], 5.0)
    assert placement(simulation) == {"n-0": ["app-1", "app-2"]}
    replacement = pods(simulation)["app-3"]
    assert replacement.node is None
    assert scheduler.unschedulable == [replacement]


@pytest.mark.parametrize("resource", list(TIGHT))
def test_a_pod_that_fits_is_bound_at_once(resource: str) -> None:
    node_fields, requests = TIGHT[resource]
    simulation = fleet(1, [pool("n", **node_fields)], requests=requests)
    at(simulation, 1.0, lambda: simulation.cluster.deployments["app"].scale(2))
    assert pods(simulation)["app-1"].bound_at == 1.0
    assert simulation.cluster.scheduler.unschedulable == []


def test_a_pending_pod_is_bound_when_an_added_node_turns_ready() -> None:
    # base-0 holds two 1-core pods; fresh-0, added at 10 s, boots for 30 s.
    simulation = fleet(
        2,
        [pool("base", cpu="2"), pool("fresh", 0, cpu="2", bootTime="30s")],
        requests={"cpu": "1"},
    )
    cluster = simulation.cluster
    at(simulation, 1.0, lambda: cluster.deployments["app"].scale(3))
    at(simulation, 10.0, lambda: cluster.node_lifecycle.add_nodes("fresh", 1))
    fresh = nodes(simulation)["fresh-0"]
    waiting = pods(simulation)["app-2"]
    simulation.env.run(39.999)
    # A booting node has room but is not Ready: no candidate.
    assert fresh.fits(1.0, 0.0) and not fresh.is_ready(simulation.env.now)
    assert cluster.scheduler.pick(waiting) is None
    assert waiting.node is None
    simulation.env.run(40.0)
    assert (waiting.node, waiting.bound_at) == (fresh, 40.0)
    assert cluster.scheduler.unschedulable == []


@pytest.mark.parametrize(
    ("drain", "landing"),
    [(True, "p-1"), (False, "p-0")],
    ids=["cordoned", "not-cordoned"],
)
def test_a_cordoned_node_is_skipped(drain: bool, landing: str) -> None:
    # app-0 on p-0, app-1 on p-1. At 1 s app-0 goes: by draining p-0 (cordon, then
    # evict) or by a plain delete. Its 10 s preStop keeps it on p-0, but a terminating
    # pod no longer counts for spreading, so p-0 scores best for the replacement: it
    # gets it unless it is cordoned.
    simulation = fleet(2, [pool("p", 2)], pre_stop="10s")
    cluster = simulation.cluster
    p0 = nodes(simulation)["p-0"]
    if drain:
        at(simulation, 1.0, lambda: cluster.node_lifecycle.terminate(p0))
    else:
        at(simulation, 1.0, lambda: cluster.kubelet.delete_pod(pods(simulation)["app-0"]))
    replacement = pods(simulation)["app-2"]
    assert replacement.node is not None
    assert replacement.node.name == landing
    assert p0.cordoned is drain
    simulation.env.run(11.0)  # app-0 is gone: a drained node is terminated
    assert p0.terminated is drain
    assert pods(simulation)["app-0"].deleted


def test_a_terminated_node_is_never_a_candidate() -> None:
    simulation = fleet(1, [pool("p", 2)])
    cluster = simulation.cluster
    p0 = nodes(simulation)["p-0"]
    at(simulation, 1.0, lambda: cluster.node_lifecycle.terminate(p0))
    assert p0.terminated  # its one pod left at once
    at(simulation, 2.0, lambda: cluster.deployments["app"].scale(3))
    assert placement(simulation) == {"p-0": [], "p-1": ["app-1", "app-2", "app-3"]}


# --- bind and release ----------------------------------------------------------------


def test_bind_records_the_node_zone_requests_and_time() -> None:
    simulation = fleet(
        1,
        [pool("p", zone="zone-b")],
        requests={"cpu": "250m", "memory": "1Gi"},
        zones=["zone-a", "zone-b"],
    )
    cluster = simulation.cluster
    node = nodes(simulation)["p-0"]
    # Pods present at the start are bound as of an hour before it.
    assert pods(simulation)["app-0"].bound_at == -PREEXISTING_AGE == -3600.0
    simulation.env.run(3.0)
    deployment = cluster.deployments["app"]
    now_pod = deployment.new_pod(simulation.env.now)
    cluster.scheduler.unschedulable.append(now_pod)
    cluster.scheduler.bind(now_pod, node)
    assert (now_pod.node, now_pod.zone, now_pod.bound_at) == (node, "zone-b", 3.0)
    assert now_pod not in cluster.scheduler.unschedulable
    earlier = deployment.new_pod(-20.0)
    cluster.scheduler.bind(earlier, node, at=-7.5)
    assert earlier.bound_at == -7.5
    assert [pod.name for pod in node.pods] == ["app-0", "app-1", "app-2"]
    assert node.cpu_allocated == pytest.approx(0.75)
    assert node.memory_allocated == 3 * 1024**3
    # Releasing gives the requests back.
    cluster.scheduler.release(earlier)
    assert node.cpu_allocated == pytest.approx(0.5)
    assert node.memory_allocated == 2 * 1024**3
    assert [pod.name for pod in node.pods] == ["app-0", "app-1"]
