"""A zone failure: the containers lost at once, the control plane noticing it late.

``fail-zone`` takes every node of a zone: their app containers answer nothing (clients
see their timeouts). The node lifecycle controller marks the nodes NotReady and their
pods not Ready after ``nodeMonitorGracePeriod`` (40 s here, set explicitly; Kubernetes'
default is 50 s since v1.32), taints them ``node.kubernetes.io/unreachable:NoExecute``
one node per 10 s (``--node-eviction-rate`` 0.1), and the pods are evicted 300 s after
their node's taint (DefaultTolerationSeconds). Every time below is worked out from those
rules; traffic figures come from fixed seeds, with tolerances that say why.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.request import PROBE
from fleetsim.dataplane.service import Service
from fleetsim.engine.environment import Environment
from fleetsim.kubernetes.pod import Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.answers import Answers
from tests.fleet_scenarios import scenario, trace_events

FAIL_AT = 20.0
GRACE = 40.0
NOT_READY_AT = FAIL_AT + GRACE  # 60 s
EVICTED_AT = NOT_READY_AT + 300.0  # 360 s for the first node tainted, 370 s for the second


# --- helpers -------------------------------------------------------------------------


def pool(name: str, zone: str, count: int, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "zone": zone, "count": count, "cpu": "8"}
    spec.update({"memory": "16Gi", **fields})
    return spec


def one_zone_fleet(**fields: Any) -> dict[str, Any]:
    """Four pods on two nodes of zone-a; zone-b's two nodes join empty at 1 s."""
    doc = scenario(
        replicas=4,
        rate=50.0,
        mean=0.01,
        distribution="constant",
        duration=420.0,
        warmup=0.0,
        timeout=1.0,
        zones=["zone-a", "zone-b"],
        seed=5,
        **fields,
    )
    spec = doc["spec"]
    spec["nodePools"] = [pool("main", "zone-a", 2), pool("spare", "zone-b", 0)]
    spec["cluster"] = {"nodeMonitorGracePeriod": "40s"}
    spec["events"] = [
        {"at": 1, "action": "add-nodes", "pool": "spare", "count": 2},
        {"at": FAIL_AT, "action": "fail-zone", "zone": "zone-a"},
    ]
    return doc


def spread_fleet() -> dict[str, Any]:
    """Six pods, two per zone (maxSkew 1, DoNotSchedule), round robin, 1 s timeout."""
    doc = scenario(
        replicas=6,
        rate=100.0,
        mean=0.01,
        distribution="constant",
        duration=120.0,
        warmup=0.0,
        timeout=1.0,
        zones=["zone-a", "zone-b", "zone-c"],
        seed=5,
        load_balancer="ROUND_ROBIN",
    )
    spec = doc["spec"]
    spec["services"][0]["topologySpreadConstraints"] = [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone"}
    ]
    spec["cluster"] = {"nodeMonitorGracePeriod": "40s"}
    spec["events"] = [{"at": FAIL_AT, "action": "fail-zone", "zone": "zone-a"}]
    return doc


def rows_in(rows: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """1 s series rows whose interval ``(t - 1, t]`` lies within ``[start, end]``."""
    return [row for row in rows if start + 1 <= row["t"] <= end]


def started(doc: dict[str, Any]) -> Simulation:
    """A simulation with its cluster's timeline started and no traffic."""
    simulation = Simulation(load_scenario(doc))
    simulation.cluster.start({source.name: source for source in simulation.sources})
    return simulation


def app_pods(simulation: Simulation) -> list[Pod]:
    return simulation.cluster.deployments["app"].all_pods


def pods_in(simulation: Simulation, zone: str) -> list[Pod]:
    return [pod for pod in app_pods(simulation) if pod.zone == zone]


# --- the lost container ------------------------------------------------------------------


def test_a_lost_container_answers_nothing_and_keeps_nothing() -> None:
    env = Environment()
    spec = load_scenario(scenario(workers=2)).scenario.spec.services[0]
    service = Service(spec)
    container = AppContainer(env, service, 0, "zone-a", itertools.repeat(1.0), None)
    client = Answers()
    requests = [client.request(0.0) for _ in range(5)]
    for request in requests:
        container.accept(request, 0)
    assert (container.busy, len(container.queue), service.in_system) == (2, 3, 5)

    container.lose()
    # What it held leaves the service's figures at once, as after a kill.
    assert (service.in_system, container.busy, len(container.queue)) == (0, 0, 0)
    container.accept(client.request(0.5), 0)
    assert not container.accept_probe(Answers().request(0.5), PROBE)
    env.run(10.0)
    # The two in service would have ended at 1 s; nothing answers, nothing is kept.
    assert client.answers == []
    assert (container.blackholed, container.received, service.in_system) == (1, 5, 0)
    assert (len(container.suspended), container.idle, container.accepting) == (0, True, False)
    assert service.unavailable == 0  # a refused connection would count here; silence does not


def test_a_killed_container_after_its_loss_still_answers_nothing() -> None:
    env = Environment()
    spec = load_scenario(scenario(workers=1)).scenario.spec.services[0]
    container = AppContainer(env, Service(spec), 0, "zone-a", itertools.repeat(1.0), None)
    client = Answers()
    container.accept(client.request(0.0), 0)
    container.lose()
    container.kill()
    env.run(5.0)
    assert client.answers == []


# --- all pods in the failed zone ---------------------------------------------------------


def test_every_request_fails_until_replacements_are_ready_in_another_zone() -> None:
    simulation = Simulation(load_scenario(one_zone_fleet()))
    timeline = trace_events(simulation)
    result = simulation.run()
    rows = result.series["traffic"]

    assert all(row["failed"] == 0 for row in rows_in(rows, 0.0, FAIL_AT))
    # Until the pods go NotReady, requests vanish into the lost containers: 1 s timeouts.
    blackholed = rows_in(rows, FAIL_AT + 1, NOT_READY_AT)
    assert all(row["succeeded"] == 0 and row["timed_out"] == row["requests"] for row in blackholed)
    # Then the endpoint list is empty (after the 1 s propagation): 503 at once.
    empty = rows_in(rows, NOT_READY_AT + 2, EVICTED_AT)
    assert all(row["succeeded"] == 0 and row["unavailable"] == row["requests"] for row in empty)
    # Evicted at 360 s (node main-0) and 370 s (main-1); the replacements in zone-b start
    # at once (no start-up delays) and clients see them 1 s later.
    assert all(row["failed"] == 0 for row in rows_in(rows, EVICTED_AT + 2, 420.0))
    assert [at for at, kind in timeline if kind == "pod_evicted"] == [360.0] * 2 + [370.0] * 2

    lost = pods_in(simulation, "zone-a")
    assert len(lost) == 4
    assert all(pod.deleting and not pod.deleted for pod in lost)  # Terminating: no kubelet
    containers = [pod.container for pod in lost]
    assert all(c is not None and c.lost and c.blackholed > 0 for c in containers)
    replacements = pods_in(simulation, "zone-b")
    assert len(replacements) == 4 and all(pod.ready for pod in replacements)
    service = simulation.services["app"]
    held = sum(len(c.queue) + c.busy for c in service.containers)
    assert service.in_system == held


def test_without_a_zone_failure_nothing_fails() -> None:
    doc = one_zone_fleet()
    doc["spec"]["events"] = doc["spec"]["events"][:1]
    result = Simulation(load_scenario(doc)).run()
    assert result.summary["requests"]["failed"] == 0


# --- a service spread over three zones -----------------------------------------------------


def test_a_spread_service_loses_a_third_until_the_grace_period_passes() -> None:
    simulation = Simulation(load_scenario(spread_fleet()))
    result = simulation.run()
    rows = result.series["traffic"]
    assert sorted(pod.zone or "" for pod in app_pods(simulation)) == [
        "zone-a",
        "zone-a",
        "zone-b",
        "zone-b",
        "zone-c",
        "zone-c",
    ]
    window = rows_in(rows, FAIL_AT + 1, NOT_READY_AT)
    sent = sum(row["requests"] for row in window)
    failed = sum(row["failed"] for row in window)
    # Round robin over six pods, two of them lost: a third of the tries, give or take
    # where the rotation stands at the row edges (~4000 requests).
    assert failed / sent == pytest.approx(1 / 3, abs=0.02)
    assert sum(row["timed_out"] for row in window) == failed
    # NotReady at 60 s, endpoints updated at 61 s, the last timeouts at 62 s.
    assert all(row["failed"] == 0 for row in rows_in(rows, NOT_READY_AT + 2, 120.0))
    assert all(row["failed"] == 0 for row in rows_in(rows, 0.0, FAIL_AT))


# --- the control plane's clock ----------------------------------------------------------------


def test_not_ready_after_the_grace_period_evicted_after_the_toleration() -> None:
    simulation = started(one_zone_fleet())
    env = simulation.cluster.env
    lost = pods_in(simulation, "zone-a")

    env.run(FAIL_AT)
    nodes = {node.name: node for node in simulation.cluster.nodes}
    assert simulation.cluster.zones_down == {"zone-a"}
    assert nodes["main-0"].unreachable and nodes["main-1"].unreachable
    assert not nodes["spare-0"].unreachable
    assert all(pod.container is not None and pod.container.lost for pod in lost)

    env.run(NOT_READY_AT - 0.001)
    # The control plane does not know yet: Ready nodes, Ready pods.
    assert not any(nodes[name].not_ready for name in ("main-0", "main-1"))
    assert all(pod.ready for pod in lost)
    env.run(NOT_READY_AT)
    assert nodes["main-0"].not_ready and nodes["main-1"].not_ready
    assert not any(pod.ready for pod in lost)
    assert not nodes["main-0"].is_ready(env.now)  # no longer a scheduling candidate

    env.run(EVICTED_AT - 0.001)
    assert not any(pod.deleting for pod in lost)
    assert len(app_pods(simulation)) == 4  # NotReady pods are not replaced
    env.run(EVICTED_AT)
    # main-0 was tainted at 60 s, main-1 10 s later (0.1 nodes per second).
    assert sorted(pod.node.name for pod in lost if pod.deleting and pod.node) == ["main-0"] * 2
    env.run(EVICTED_AT + 10.0)
    assert all(pod.deleting and not pod.deleted for pod in lost)
    replacements = [pod for pod in app_pods(simulation) if pod not in lost]
    assert len(replacements) == 4
    assert {pod.zone for pod in replacements} == {"zone-b"}


def test_the_default_grace_period_is_fifty_seconds() -> None:
    doc = one_zone_fleet()
    del doc["spec"]["cluster"]
    simulation = started(doc)
    env = simulation.cluster.env
    lost = pods_in(simulation, "zone-a")
    env.run(FAIL_AT + 50.0 - 0.001)
    assert all(pod.ready for pod in lost)
    env.run(FAIL_AT + 50.0)
    assert not any(pod.ready for pod in lost)


def test_a_pod_bound_to_the_lost_node_before_it_is_noticed_waits_there() -> None:
    # The scheduler knows only what the API server knows: at 30 s the node is still
    # Ready to it. The pod is bound there but never starts; it is evicted with the rest.
    doc = one_zone_fleet()
    doc["spec"]["services"][0]["nodeSelector"] = {"topology.kubernetes.io/zone": "zone-a"}
    doc["spec"]["events"].append({"at": 30, "action": "scale", "service": "app", "replicas": 5})
    simulation = started(doc)
    simulation.cluster.env.run(31.0)
    newcomer = app_pods(simulation)[-1]
    assert newcomer.node is not None and newcomer.node.unreachable
    assert newcomer.container is None and not newcomer.ready
    simulation.cluster.env.run(EVICTED_AT + 10.0)
    assert newcomer.deleting


# --- restore-zone -------------------------------------------------------------------------------


def test_restore_before_the_eviction_restarts_the_pods_in_place() -> None:
    doc = one_zone_fleet()
    doc["spec"]["events"].append({"at": 100, "action": "restore-zone", "zone": "zone-a"})
    simulation = Simulation(load_scenario(doc))
    timeline = trace_events(simulation)
    result = simulation.run()
    lost = pods_in(simulation, "zone-a")
    assert len(app_pods(simulation)) == 4  # none evicted, none replaced
    assert all(pod.ready and pod.restart_count == 1 for pod in lost)
    assert all(pod.container is not None and not pod.container.lost for pod in lost)
    assert [at for at, kind in timeline if kind == "container_restart"] == [100.0] * 4
    assert [at for at, kind in timeline if kind == "zone_restored"] == [100.0]
    assert not any(node.unreachable or node.not_ready for node in simulation.cluster.nodes)
    assert simulation.cluster.zones_down == set()
    rows = result.series["traffic"]
    assert all(row["failed"] == 0 for row in rows_in(rows, 102.0, 420.0))
    assert result.summary["events_by_kind"].get("pod_evicted", 0) == 0


def test_restore_after_the_eviction_removes_the_terminating_pods() -> None:
    doc = one_zone_fleet()
    doc["spec"]["events"].append({"at": 400, "action": "restore-zone", "zone": "zone-a"})
    simulation = started(doc)
    env = simulation.cluster.env
    lost = pods_in(simulation, "zone-a")
    env.run(399.0)
    assert all(pod.deleting and not pod.deleted for pod in lost)
    env.run(400.0)
    assert all(pod.deleted for pod in lost)
    assert all(not node.pods for node in simulation.cluster.nodes if node.zone == "zone-a")
    assert len(simulation.cluster.deployments["app"].active_pods()) == 4


def test_restored_nodes_boot_for_their_pools_boot_time() -> None:
    doc = one_zone_fleet()
    doc["spec"]["nodePools"][0]["bootTime"] = "30s"
    doc["spec"]["events"].append({"at": 100, "action": "restore-zone", "zone": "zone-a"})
    simulation = started(doc)
    env = simulation.cluster.env
    main = [node for node in simulation.cluster.nodes if node.pool == "main"]
    env.run(129.0)
    assert simulation.cluster.zones_down == set()  # power is back ...
    assert all(node.unreachable and not node.is_ready(env.now) for node in main)  # booting
    env.run(130.0)
    assert all(not node.unreachable and node.is_ready(env.now) for node in main)


def test_nodes_added_to_a_failed_zone_wait_for_its_power() -> None:
    doc = one_zone_fleet()
    doc["spec"]["events"] += [
        {"at": 50, "action": "add-nodes", "pool": "main", "count": 1},
        {"at": 100, "action": "restore-zone", "zone": "zone-a"},
    ]
    simulation = started(doc)
    env = simulation.cluster.env
    env.run(99.0)
    added = simulation.cluster.nodes[-1]
    assert added.name == "main-2" and added.unreachable and not added.is_ready(env.now)
    env.run(100.0)
    assert not added.unreachable and added.is_ready(env.now)


def test_terminating_a_node_of_a_failed_zone_removes_its_pods_at_once() -> None:
    # No kubelet drains it: the machine is deleted and its pods go with the Node object.
    doc = one_zone_fleet()
    doc["spec"]["events"].append({"at": 30, "action": "terminate-node", "node": "main-0"})
    simulation = started(doc)
    simulation.cluster.env.run(30.0)
    node = simulation.cluster.node_lifecycle.find("main-1")
    gone = [pod for pod in app_pods(simulation) if pod.node is not None and pod.node.terminated]
    assert len(gone) == 2 and all(pod.deleted for pod in gone)
    assert node is not None and not node.terminated
    assert {pod.zone for pod in app_pods(simulation) if pod.active} == {"zone-a", "zone-b"}


def test_when_every_zone_is_down_nothing_is_evicted() -> None:
    # The controller takes a cluster-wide outage for its own loss of connectivity.
    doc = scenario(replicas=2, duration=900.0, warmup=0.0, rate=10.0, zones=["zone-a"], seed=5)
    doc["spec"]["events"] = [
        {"at": 10, "action": "fail-zone", "zone": "zone-a"},
        {"at": 800, "action": "restore-zone", "zone": "zone-a"},
    ]
    simulation = started(doc)
    env = simulation.cluster.env
    env.run(799.0)
    pods = app_pods(simulation)
    assert len(pods) == 2 and not any(pod.deleting or pod.ready for pod in pods)
    env.run(800.0)
    assert all(pod.ready and pod.restart_count == 1 for pod in pods)


def test_evictions_resume_when_a_zone_comes_back() -> None:
    doc = scenario(
        replicas=2, duration=900.0, warmup=0.0, rate=10.0, zones=["zone-a", "zone-b"], seed=5
    )
    doc["spec"]["cluster"] = {"nodeMonitorGracePeriod": "40s"}
    doc["spec"]["events"] = [
        {"at": 10, "action": "fail-zone", "zone": "zone-a"},
        {"at": 20, "action": "fail-zone", "zone": "zone-b"},
        {"at": 100, "action": "restore-zone", "zone": "zone-b"},
    ]
    simulation = started(doc)
    env = simulation.cluster.env
    in_a = pods_in(simulation, "zone-a")
    # zone-a NotReady at 50 s and tainted; zone-b NotReady at 60 s: every zone is down,
    # the taint is lifted. zone-b back at 100 s: zone-a is tainted again, evicted 300 s on.
    env.run(399.0)
    assert not any(pod.deleting for pod in in_a)
    env.run(400.0)
    assert all(pod.deleting for pod in in_a)


# --- what other rooms hear -------------------------------------------------------------------


def test_zone_listeners_hear_both_edges() -> None:
    doc = one_zone_fleet()
    doc["spec"]["events"].append({"at": 100, "action": "restore-zone", "zone": "zone-a"})
    simulation = started(doc)
    cluster = simulation.cluster
    heard: list[tuple[float, str, bool, set[str]]] = []
    cluster.zone_listeners.append(
        lambda zone, up: heard.append((cluster.env.now, zone, up, set(cluster.zones_down)))
    )
    cluster.env.run(200.0)
    assert heard == [(20.0, "zone-a", False, {"zone-a"}), (100.0, "zone-a", True, set())]


def test_zone_events_show_in_the_summary_events() -> None:
    result = Simulation(load_scenario(one_zone_fleet())).run()
    events = result.summary["events_by_kind"]
    assert (events["zone_failed"], events["node_not_ready"], events["node_tainted"]) == (1, 2, 2)
    assert (events["pod_evicted"], events["pod_created"]) == (4, 4)
    assert "zone_restored" not in events
