"""The Deployment and its ReplicaSets: scaling, deletion order, RollingUpdate, Recreate.

Sources in the GitHub repository ``kubernetes/kubernetes``:

- deletion order: ``pkg/controller/controller_utils.go`` ``ActivePodsWithRanks.Less``:
  unassigned before assigned, Pending before Running, not ready before ready, ready for
  less time before more, more restarts before fewer, newer before older (its rank of
  pods doubled up on one node is left out by the model);
- RollingUpdate: ``pkg/controller/deployment/rolling.go`` with ``util/deployment_util.go``
  ``ResolveFenceposts`` (maxSurge rounded up, maxUnavailable rounded down, from a
  percentage of ``replicas``), ``NewRSNewReplicas`` and ``reconcileOldReplicaSets``: at most
  ``replicas + maxSurge`` pods, at least ``replicas - maxUnavailable`` ready;
- Recreate: ``pkg/controller/deployment/recreate.go``: scale the old ReplicaSets to zero and
  create new pods only once ``oldPodsRunning`` is false (terminating pods included).

The tests move the clock and call the Deployment directly; nothing sends traffic. Pods
start in ``appStart`` (no readiness probe: ready as soon as the app listens).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from fleetsim.kubernetes.deployment import Deployment, deletion_rank
from fleetsim.kubernetes.node import Node
from fleetsim.kubernetes.pod import PENDING, RUNNING, Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import scenario, trace_events


def fleet(
    replicas: int,
    *,
    app_start: str = "1s",
    strategy: dict[str, Any] | None = None,
    pre_stop: str | None = None,
    pools: list[dict[str, Any]] | None = None,
    requests: dict[str, str] | None = None,
) -> Simulation:
    doc = scenario(replicas=replicas, seed=5)
    service = doc["spec"]["services"][0]
    service["startup"] = {"appStart": app_start}
    if strategy is not None:
        service["strategy"] = strategy
    if pre_stop is not None:
        service["preStop"] = pre_stop
    if pools is not None:
        doc["spec"]["nodePools"] = pools
    if requests is not None:
        service["resources"] = {"requests": requests}
    return Simulation(load_scenario(doc))


def app(simulation: Simulation) -> Deployment:
    return simulation.cluster.deployments["app"]


def at(simulation: Simulation, time: float, action: Any) -> None:
    """Run ``action()`` at simulated ``time``, then run the clock to it."""
    simulation.env.schedule_at(time, lambda _: action())
    simulation.env.run(time)


def names(pods: list[Pod]) -> list[str]:
    return [pod.name for pod in pods]


# --- deletion order ------------------------------------------------------------------


def loose_pod(deployment: Deployment, name: str, **state: Any) -> Pod:
    """A pod object of ``deployment`` with the given state, not added to it."""
    pod = Pod(deployment, 0, 0, state.pop("created", 0.0))
    pod.name = name
    pod.node = Node("n-0", "p", "zone-a") if state.pop("scheduled", True) else None
    pod.phase = state.pop("phase", RUNNING)
    pod.ready = state.pop("ready", True)
    pod.ready_transition = state.pop("ready_since", 0.0)
    pod.restart_count = state.pop("restarts", 0)
    assert not state, state
    return pod


PAIRS = [
    # (deleted first, kept), differing in one respect.
    (
        "unscheduled",
        {"scheduled": False, "phase": PENDING, "ready": False},
        {"phase": PENDING, "ready": False},
    ),
    ("pending", {"phase": PENDING, "ready": False}, {"ready": False}),
    ("not-ready", {"ready": False}, {}),
    ("ready-for-less-time", {"ready_since": 50.0}, {"ready_since": 10.0}),
    ("more-restarts", {"restarts": 3}, {"restarts": 1}),
    ("newer", {"created": 20.0}, {"created": 5.0}),
]


@pytest.mark.parametrize(("first", "kept"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_deletion_rank_orders_each_pair(first: dict[str, Any], kept: dict[str, Any]) -> None:
    deployment = app(fleet(1))
    goes = loose_pod(deployment, "goes", **first)
    stays = loose_pod(deployment, "stays", **kept)
    assert deletion_rank(goes) < deletion_rank(stays)
    assert names(sorted([stays, goes], key=deletion_rank)) == ["goes", "stays"]


def test_deletion_rank_weighs_the_criteria_in_order() -> None:
    # Each pod goes before the next on one criterion and would stay on every later one
    # (fewer restarts, older), so any criterion weighed out of order changes the order.
    deployment = app(fleet(1))
    ordered = [
        loose_pod(deployment, "a", scheduled=False, phase=PENDING, ready=False, created=-90.0),
        loose_pod(deployment, "b", phase=PENDING, ready=False, restarts=1, created=-80.0),
        loose_pod(deployment, "c", ready=False, restarts=2, created=-70.0),
        loose_pod(deployment, "d", ready_since=100.0, restarts=3, created=-60.0),
        loose_pod(deployment, "e", ready_since=1.0, restarts=9, created=-50.0),
        loose_pod(deployment, "f", ready_since=1.0, restarts=2, created=30.0),
        loose_pod(deployment, "g", ready_since=1.0, restarts=2, created=-30.0),
    ]
    for seed in range(5):
        shuffled = list(ordered)
        random.Random(seed).shuffle(shuffled)
        assert names(sorted(shuffled, key=deletion_rank)) == list("abcdefg")


def test_scale_down_deletes_unscheduled_then_not_ready_pods_first() -> None:
    # One node takes three 1-core pods: app-0 and app-1 run, ready since -3600 s. Scaling
    # to 4 at 1 s binds app-2 (Running, its app listening only at 11 s) and leaves
    # app-3 Pending. Scaling back to 2 at 2 s deletes app-3 (unscheduled), then app-2
    # (not ready), and keeps the ready pods.
    simulation = fleet(
        2,
        app_start="10s",
        pools=[{"name": "p", "count": 1, "cpu": "3", "memory": "8Gi"}],
        requests={"cpu": "1"},
    )
    deployment = app(simulation)
    at(simulation, 1.0, lambda: deployment.scale(4))
    pods = {pod.name: pod for pod in deployment.pods}
    assert (pods["app-2"].phase, pods["app-2"].ready) == (RUNNING, False)
    assert pods["app-3"].node is None
    at(simulation, 2.0, lambda: deployment.scale(2))
    assert pods["app-3"].deleted and pods["app-2"].deleting
    assert names(deployment.active_pods()) == ["app-0", "app-1"]


def test_scale_down_deletes_the_pod_ready_for_the_shortest_time() -> None:
    # app-2, created at 1 s, is ready at 2 s; the others since -3600 s.
    simulation = fleet(2)
    deployment = app(simulation)
    at(simulation, 1.0, lambda: deployment.scale(3))
    simulation.env.run(5.0)
    assert [pod.ready for pod in deployment.pods] == [True, True, True]
    at(simulation, 10.0, lambda: deployment.scale(2))
    assert names(deployment.active_pods()) == ["app-0", "app-1"]


def test_scale_down_deletes_the_pod_with_more_restarts() -> None:
    simulation = fleet(4)
    deployment = app(simulation)
    deployment.pods[2].restart_count = 1  # as the kubelet counts a container restart
    at(simulation, 1.0, lambda: deployment.scale(3))
    assert names(deployment.active_pods()) == ["app-0", "app-1", "app-3"]


def test_scale_up_creates_and_scale_down_deletes_the_difference() -> None:
    simulation = fleet(2)
    timeline = trace_events(simulation)
    deployment = app(simulation)
    at(simulation, 1.0, lambda: deployment.scale(5))
    assert timeline.count((1.0, "pod_created")) == 3
    assert len(deployment.active_pods()) == 5
    simulation.env.run(2.0)
    assert sum(pod.ready for pod in deployment.pods) == 5
    at(simulation, 3.0, lambda: deployment.scale(2))
    assert timeline.count((3.0, "pod_deleted")) == 3
    assert timeline.count((3.0, "pod_unready")) == 3
    # The new pods go (all ready, these for less time); the two old ones remain.
    assert names(deployment.active_pods()) == ["app-0", "app-1"]
    # Setting the same count again changes nothing.
    at(simulation, 4.0, lambda: deployment.scale(2))
    assert [kind for t, kind in timeline if t == 4.0] == []


# --- RollingUpdate -----------------------------------------------------------------------


def watch_rollout(simulation: Simulation) -> list[tuple[float, int, int]]:
    """After every run of the controller: (time, pods counted, pods ready)."""
    deployment = app(simulation)
    seen: list[tuple[float, int, int]] = []
    reconcile = deployment._reconcile

    def watched(argument: None) -> None:
        reconcile(argument)
        active = deployment.active_pods()
        seen.append((simulation.env.now, len(active), sum(pod.ready for pod in active)))

    deployment._reconcile = watched  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "most", "fewest_ready"),
    [
        # 25 % of 10 = 2.5: maxSurge rounds up to 3, maxUnavailable down to 2.
        (10, "25%", "25%", 13, 8),
        # 50 % of 3 = 1.5: surge 2, unavailable 1.
        (3, "50%", "50%", 5, 2),
        # No surge: one old pod goes before each new one comes.
        (10, 0, 1, 10, 9),
        # Nothing unavailable: a new pod must be ready before an old one goes.
        (10, 1, 0, 11, 10),
    ],
    ids=["25-25-of-10", "50-50-of-3", "surge-0", "unavailable-0"],
)
def test_rolling_update_stays_within_surge_and_unavailable(
    replicas: int, surge: int | str, unavailable: int | str, most: int, fewest_ready: int
) -> None:
    strategy = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }
    simulation = fleet(replicas, strategy=strategy)
    deployment = app(simulation)
    seen = watch_rollout(simulation)
    at(simulation, 5.0, deployment.release)
    simulation.env.run(60.0)
    assert max(count for _, count, _ in seen) == most
    assert min(ready for _, _, ready in seen) == fewest_ready
    # The bounds are reached at the release itself: the first runs create the surge and
    # delete what the unavailability budget allows.
    assert max(count for t, count, _ in seen if t == 5.0) == most
    assert min(ready for t, _, ready in seen if t == 5.0) == fewest_ready
    # Done: every pod of the new revision, ready; every old pod gone.
    assert [(pod.revision, pod.ready) for pod in deployment.pods] == [(1, True)] * replicas
    assert all(pod.deleted for pod in deployment.all_pods if pod.revision == 0)


def test_rolling_update_removes_unready_old_pods_only_within_its_budget() -> None:
    # 4 replicas, surge 1, unavailable 1 (25 %): at least 3 ready. app-0 and app-1 fail
    # their readiness at 1 s. Release at 5 s: one new pod; of the old pods the unready
    # go first, as many as 4 counted - 3 - 0 new unready = 1 (app-0); the ready ones
    # may not go (2 ready < 3). Next run: 4 counted, room for 1 more new pod; the
    # budget is now 4 - 3 - 1 new unready = 0, so app-1 stays although it is unready.
    simulation = fleet(4)
    deployment = app(simulation)
    kubelet = simulation.cluster.kubelet
    pods = {pod.name: pod for pod in deployment.pods}

    def fail_readiness() -> None:
        kubelet.set_app_ready(pods["app-0"], False)
        kubelet.set_app_ready(pods["app-1"], False)

    at(simulation, 1.0, fail_readiness)
    assert names(deployment.active_pods()) == ["app-0", "app-1", "app-2", "app-3"]
    at(simulation, 5.0, deployment.release)
    assert names(deployment.active_pods()) == ["app-1", "app-2", "app-3", "app-4", "app-5"]
    assert pods["app-0"].deleted
    simulation.env.run(60.0)
    assert [(pod.revision, pod.ready) for pod in deployment.pods] == [(1, True)] * 4


def test_rolling_update_first_step_of_25_percent_of_10() -> None:
    # At 5 s: 3 new pods (13 = 10 + 3), 2 old ones deleted (8 ready = 10 - 2); the next
    # run sees 11 counted pods and creates 2 more, up to 13 again.
    simulation = fleet(10)
    deployment = app(simulation)
    timeline = trace_events(simulation)
    at(simulation, 5.0, deployment.release)
    assert timeline.count((5.0, "pod_created")) == 5
    assert timeline.count((5.0, "pod_deleted")) == 2
    active = deployment.active_pods()
    assert len(active) == 13
    assert sum(pod.ready for pod in active) == 8
    assert sum(pod.revision == 1 for pod in active) == 5


# --- Recreate ----------------------------------------------------------------------------


@pytest.mark.parametrize("pre_stop", [None, "3s"], ids=["no-prestop", "prestop-3s"])
def test_recreate_creates_new_pods_only_once_every_old_pod_is_gone(pre_stop: str | None) -> None:
    # Release at 5 s: every old pod turns unready and starts terminating. Idle and
    # without preStop they are gone at once; with a 3 s preStop at 8 s. The 4 new pods
    # are created at that instant, after the last old pod is gone.
    simulation = fleet(4, strategy={"type": "Recreate"}, pre_stop=pre_stop)
    deployment = app(simulation)
    timeline = trace_events(simulation)
    at(simulation, 5.0, deployment.release)
    assert timeline.count((5.0, "pod_unready")) == 4
    gone = 5.0
    if pre_stop is not None:
        gone = 8.0
        simulation.env.run(7.999)
        assert [(pod.revision, pod.deleting) for pod in deployment.pods] == [(0, True)] * 4
    simulation.env.run(30.0)
    deleted = [index for index, (_, kind) in enumerate(timeline) if kind == "pod_deleted"]
    created = [index for index, (_, kind) in enumerate(timeline) if kind == "pod_created"]
    assert len(deleted) == len(created) == 4
    assert max(deleted) < min(created)
    assert {timeline[index][0] for index in deleted + created} == {gone}
    assert [(pod.revision, pod.ready) for pod in deployment.pods] == [(1, True)] * 4


def test_rolling_update_creates_new_pods_while_old_ones_terminate() -> None:
    # The same release as RollingUpdate (25 %/25 % of 4: surge 1, unavailable 1): a new
    # pod at once, while the one old pod deleted still runs its preStop.
    simulation = fleet(4, pre_stop="3s")
    deployment = app(simulation)
    timeline = trace_events(simulation)
    at(simulation, 5.0, deployment.release)
    assert timeline.count((5.0, "pod_created")) == 2
    assert sum(pod.deleting for pod in deployment.pods) == 1
    assert not any(kind == "pod_deleted" for _, kind in timeline)
