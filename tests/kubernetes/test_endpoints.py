"""The EndpointSlice controller: which pods are published, and when clients see them.

An endpoint is ``ready`` when its pod's Ready condition is true and the pod is not
terminating (``discovery/v1`` ``EndpointConditions``; ``pkg/controller/endpointslice`` and
``staging/src/k8s.io/endpointslice/utils.go`` ``podToEndpoint``); clients route to ready
endpoints only. The model folds the hops from the kubelet to a client (API server,
EndpointSlice controller, kube-proxy or istiod's debounced push) into one delay,
``spec.cluster.endpointPropagationDelay``; every change within one instant reaches the
clients as one update. ``publish_now`` sets a client's list without the delay (the fleet
that exists when the run starts).

The subscriber here is the service's real client route, watched by a recorder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from fleetsim.dataplane.protocols import EndpointSubscriber, Host
from fleetsim.engine.environment import Environment
from fleetsim.kubernetes.deployment import Deployment
from fleetsim.kubernetes.pod import Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import scenario


class Recorder:
    """Passes endpoint updates on to ``route`` and notes ``(time, pod names)`` of each."""

    def __init__(self, env: Environment, route: EndpointSubscriber) -> None:
        self.env = env
        self.route = route
        self.updates: list[tuple[float, list[str]]] = []

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        self.updates.append((self.env.now, sorted(getattr(e, "name", "?") for e in endpoints)))
        self.route.set_endpoints(endpoints)


def fleet(
    replicas: int, delay: str, *, pre_stop: str | None = None, **service: Any
) -> tuple[Simulation, Recorder]:
    doc = scenario(replicas=replicas, seed=9)
    doc["spec"]["cluster"] = {"endpointPropagationDelay": delay}
    spec = doc["spec"]["services"][0]
    spec["startup"] = {"appStart": "1s"}
    if pre_stop is not None:
        spec["preStop"] = pre_stop
    spec.update(service)
    simulation = Simulation(load_scenario(doc))
    recorder = Recorder(simulation.env, simulation.routes["app"])
    simulation.cluster.endpoints.routes = {"app": recorder}
    return simulation, recorder


def app(simulation: Simulation) -> Deployment:
    return simulation.cluster.deployments["app"]


def pod(simulation: Simulation, name: str) -> Pod:
    return next(p for p in app(simulation).all_pods if p.name == name)


def at(simulation: Simulation, time: float, action: Any) -> None:
    """Run ``action()`` at simulated ``time``, then run the clock to it."""
    simulation.env.schedule_at(time, lambda _: action())
    simulation.env.run(time)


def route_pods(simulation: Simulation) -> list[str]:
    return sorted(container.name for container in simulation.routes["app"].endpoints)


# --- what is published ---------------------------------------------------------------


def test_the_initial_fleet_is_published_at_once() -> None:
    simulation, recorder = fleet(3, "2s")
    # publish_now ran while the cluster was built, before the recorder: the route
    # already lists every pod, and no delayed update was counted.
    assert route_pods(simulation) == ["app-0", "app-1", "app-2"]
    assert simulation.cluster.endpoints.updates == 0
    assert recorder.updates == []


def test_publish_now_sets_the_current_ready_set_without_delay() -> None:
    simulation, recorder = fleet(3, "2s")
    controller = simulation.cluster.endpoints
    at(simulation, 5.0, lambda: simulation.cluster.kubelet.delete_pod(pod(simulation, "app-1")))
    assert route_pods(simulation) == ["app-0", "app-1", "app-2"]  # the change is in flight
    controller.publish_now(app(simulation))
    assert recorder.updates == [(5.0, ["app-0", "app-2"])]
    assert route_pods(simulation) == ["app-0", "app-2"]
    assert controller.updates == 0
    simulation.env.run(7.0)  # the delayed update still arrives, with the same set
    assert recorder.updates[-1] == (7.0, ["app-0", "app-2"])
    assert controller.updates == 1


def test_a_pod_is_published_only_once_ready() -> None:
    # app-2, created at 5 s, listens at 6 s (appStart 1 s): ready then, seen at 8 s.
    simulation, recorder = fleet(2, "2s")
    at(simulation, 5.0, lambda: app(simulation).scale(3))
    assert pod(simulation, "app-2").container is None
    simulation.env.run(7.999)
    assert recorder.updates == []
    assert route_pods(simulation) == ["app-0", "app-1"]
    simulation.env.run(10.0)
    assert recorder.updates == [(8.0, ["app-0", "app-1", "app-2"])]


def test_a_terminating_pod_is_not_published_even_while_its_probe_succeeds() -> None:
    # app-1 is deleted at 5 s and runs a 20 s preStop: its app keeps listening and its
    # readiness probe keeps succeeding, but a terminating pod is no ready endpoint. Its
    # replacement app-2 listens at 6 s, passes its first probe at 6.001 s and is seen
    # 1 s later.
    simulation, recorder = fleet(
        2, "1s", pre_stop="20s", readinessProbe={"periodSeconds": 1, "timeoutSeconds": 1}
    )
    terminating = pod(simulation, "app-1")
    running = terminating.container
    assert running is not None
    at(simulation, 5.0, lambda: simulation.cluster.kubelet.delete_pod(terminating))
    simulation.env.run(20.0)
    assert terminating.container is running and running.accepting
    assert terminating.deleting and terminating.app_ready and not terminating.ready
    assert recorder.updates == [
        (6.0, ["app-0"]),
        (pytest.approx(7.001), ["app-0", "app-2"]),
    ]
    assert route_pods(simulation) == ["app-0", "app-2"]


def test_an_unready_pod_is_withdrawn_and_returns_when_ready_again() -> None:
    simulation, recorder = fleet(
        2, "1s", readinessProbe={"periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 1}
    )
    container = pod(simulation, "app-0").container
    assert container is not None
    at(simulation, 5.5, container.pause)
    at(simulation, 8.5, container.resume)
    simulation.env.run(20.0)
    # The probe phase of a pre-existing pod is random, so the times are read off the
    # updates: out one period after the pause at the latest, back after the resume.
    (out_at, out), (back_at, back) = recorder.updates
    assert (out, back) == (["app-1"], ["app-0", "app-1"])
    assert 6.5 < out_at <= 7.5
    assert 9.5 < back_at <= 10.5 + 0.001


# --- when it is published --------------------------------------------------------------


@pytest.mark.parametrize(("delay", "seen_at"), [("0s", 5.0), ("2s", 7.0), ("10s", 15.0)])
def test_subscribers_see_a_change_the_propagation_delay_later(delay: str, seen_at: float) -> None:
    simulation, recorder = fleet(3, delay)
    at(simulation, 5.0, lambda: simulation.cluster.kubelet.delete_pod(pod(simulation, "app-2")))
    if seen_at > 5.0:
        simulation.env.run(seen_at - 0.001)
        assert route_pods(simulation) == ["app-0", "app-1", "app-2"]
        assert recorder.updates == []
    simulation.env.run(seen_at)
    assert recorder.updates == [(seen_at, ["app-0", "app-1"])]
    assert route_pods(simulation) == ["app-0", "app-1"]


def test_changes_in_one_instant_are_published_as_one_update() -> None:
    # Scaling 4 -> 1 at 5 s turns three pods unready in one instant: one update at 7 s.
    # (The initial pods rank alike for deletion; the first three in the list go.)
    simulation, recorder = fleet(4, "2s")
    at(simulation, 5.0, lambda: app(simulation).scale(1))
    simulation.env.run(20.0)
    assert recorder.updates == [(7.0, ["app-3"])]
    assert simulation.cluster.endpoints.updates == 1


def test_changes_at_different_instants_are_published_one_by_one() -> None:
    simulation, recorder = fleet(4, "2s")
    kubelet = simulation.cluster.kubelet
    at(simulation, 5.0, lambda: kubelet.delete_pod(pod(simulation, "app-3")))
    at(simulation, 5.5, lambda: kubelet.delete_pod(pod(simulation, "app-2")))
    # The replacements (app-4 at 5 s, app-5 at 5.5 s) listen, and are ready, 1 s later.
    simulation.env.run(20.0)
    assert recorder.updates == [
        (7.0, ["app-0", "app-1", "app-2"]),
        (7.5, ["app-0", "app-1"]),
        (8.0, ["app-0", "app-1", "app-4"]),
        (8.5, ["app-0", "app-1", "app-4", "app-5"]),
    ]
    assert simulation.cluster.endpoints.updates == 4
