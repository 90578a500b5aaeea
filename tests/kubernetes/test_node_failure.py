"""``fail-node``: one node lost without a drain, the rest of the fleet untouched.

The node's containers are lost at once (they answer nothing: clients see timeouts); the
node lifecycle controller marks it NotReady and its pods not Ready after
``nodeMonitorGracePeriod`` (40 s here), taints it ``unreachable:NoExecute`` at once (the
only node in its zone's queue) and the pods are evicted 300 s later; the Deployment
replaces them on the nodes still up. Times below are worked out from those rules.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetsim.errors import ScenarioError
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import scenario, trace_events

FAIL_AT = 20.0
GRACE = 40.0
NOT_READY_AT = FAIL_AT + GRACE  # 60 s
EVICTED_AT = NOT_READY_AT + 300.0  # 360 s


def fleet(event: dict[str, Any] | None) -> dict[str, Any]:
    """Four pods on four nodes (one per node, spread), 1 s client timeout, no retries."""
    doc = scenario(
        replicas=4,
        rate=40.0,
        mean=0.01,
        distribution="constant",
        duration=420.0,
        warmup=0.0,
        timeout=1.0,
        seed=5,
        load_balancer="ROUND_ROBIN",
    )
    spec = doc["spec"]
    spec["nodePools"] = [{"name": "main", "count": 5, "cpu": "1", "memory": "4Gi"}]
    spec["services"][0]["resources"] = {"requests": {"cpu": "1"}}
    spec["cluster"] = {"nodeMonitorGracePeriod": "40s"}
    spec["events"] = [] if event is None else [{"at": FAIL_AT, **event}]
    return doc


def rows_in(rows: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    return [row for row in rows if start + 1 <= row["t"] <= end]


def test_the_failed_nodes_pods_stop_answering_and_are_replaced_after_grace_and_toleration() -> None:
    simulation = Simulation(load_scenario(fleet({"action": "fail-node", "node": "main-0"})))
    timeline = trace_events(simulation)
    result = simulation.run()
    rows = result.series["traffic"]
    pods = simulation.cluster.deployments["app"].all_pods
    lost = [pod for pod in pods if pod.node is not None and pod.node.name == "main-0"]
    assert len(lost) == 1
    container = lost[0].container
    assert container is not None and container.lost and container.blackholed > 0

    assert all(row["failed"] == 0 for row in rows_in(rows, 0.0, FAIL_AT))
    # A quarter of the requests (round robin over 4 pods) vanish until the pod is not
    # Ready and the endpoint list drops it (1 s later).
    dark = rows_in(rows, FAIL_AT + 1, NOT_READY_AT)
    failed = sum(row["timed_out"] for row in dark)
    total = sum(row["requests"] for row in dark)
    assert failed / total == pytest.approx(0.25, abs=0.03)  # 1 in 4 by round robin
    assert all(row["failed"] == 0 for row in rows_in(rows, NOT_READY_AT + 2, 420.0))

    kinds = [(at, kind) for at, kind in timeline if kind.startswith(("node_", "pod_"))]
    assert (FAIL_AT, "node_failed") in kinds
    assert (NOT_READY_AT, "node_not_ready") in kinds
    assert (NOT_READY_AT, "node_tainted") in kinds
    assert [at for at, kind in kinds if kind == "pod_evicted"] == [EVICTED_AT]
    # The replacement: created at the eviction, on the spare node main-4.
    replacement = [pod for pod in pods if pod.created >= EVICTED_AT]
    assert len(replacement) == 1
    assert replacement[0].node is not None and replacement[0].node.name == "main-4"
    assert replacement[0].ready
    assert lost[0].deleting and not lost[0].deleted  # Terminating: no kubelet to confirm


def test_without_the_failure_nothing_fails_and_nothing_moves() -> None:
    simulation = Simulation(load_scenario(fleet(None)))
    result = simulation.run()
    assert result.summary["requests"]["failed"] == 0
    pods = simulation.cluster.deployments["app"].all_pods
    assert len(pods) == 4


def test_a_service_selects_the_node_of_its_first_live_pod() -> None:
    simulation = Simulation(load_scenario(fleet({"action": "fail-node", "service": "app"})))
    simulation.cluster.start({s.name: s for s in simulation.sources})
    first = simulation.cluster.deployments["app"].pods[0]
    simulation.env.run(FAIL_AT + 1)
    assert first.node is not None and first.node.unreachable
    assert sum(1 for node in simulation.cluster.nodes if node.unreachable) == 1


def test_a_pool_and_count_fail_that_many_nodes_and_restore_zone_leaves_them_down() -> None:
    doc = fleet({"action": "fail-node", "pool": "main", "count": 2})
    doc["spec"]["events"] += [
        {"at": 100, "action": "fail-zone", "zone": "default"},
        {"at": 110, "action": "restore-zone", "zone": "default"},
    ]
    simulation = Simulation(load_scenario(doc))
    simulation.cluster.start({s.name: s for s in simulation.sources})
    simulation.env.run(200.0)
    down = sorted(node.name for node in simulation.cluster.nodes if node.unreachable)
    assert down == ["main-0", "main-1"]


@pytest.mark.parametrize(
    ("event", "phrase"),
    [
        ({"action": "fail-node"}, "required field is missing: fail-node takes node"),
        (
            {"action": "fail-node", "node": "main-0", "service": "app"},
            "expected one of node, pool or service, not both",
        ),
        (
            {"action": "fail-node", "node": "main-0", "count": 2},
            "not a field of fail-node with a node",
        ),
        ({"action": "fail-node", "node": "main-9"}, "expected an index below 5"),
        ({"action": "fail-node", "service": "ap"}, "did you mean 'app'?"),
        ({"action": "fail-node", "zone": "default"}, "not a field of fail-node"),
    ],
)
def test_bad_fail_node_events_are_clear_errors(event: dict[str, Any], phrase: str) -> None:
    with pytest.raises(ScenarioError, match=r"spec\.events") as caught:
        load_scenario(fleet(event))
    assert phrase in str(caught.value)
