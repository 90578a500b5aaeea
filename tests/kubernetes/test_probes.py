"""The kubelet's prober: thresholds, initial results, the startup gate, late answers.

Sources in the GitHub repository ``kubernetes/kubernetes``: ``pkg/kubelet/prober/worker.go``
(one worker per probe and container, ticking every ``periodSeconds`` after
``initialDelaySeconds``; a result takes effect after ``successThreshold`` or
``failureThreshold`` identical results in a row; readiness starts as Failure and liveness
as Success; until the startup probe succeeds the other workers skip their probes),
``pkg/probe/http/http.go`` (no answer within ``timeoutSeconds`` is a failure) and
``pkg/kubelet/kubelet.go`` / ``kuberuntime`` (a liveness failure kills the container; it is
restarted after the crash-loop back-off, 10 s doubling to ``MaxContainerBackOff`` 300 s,
reset once a container ran 10 minutes).

A probe is a request to the app: it waits in the app's queue for a worker. The app
here has one worker and a constant 10 s service time; a test "blocks" it by handing it
one request, so the probes that tick meanwhile wait behind it. A probe takes the
service's ``probeServiceTime`` (1 ms unless set). Nothing else sends traffic.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.request import OK
from fleetsim.kubernetes.pod import Pod
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.answers import Answers
from tests.fleet_scenarios import scenario, trace_events

SERVICE_TIME = 10.0


def block(container: AppContainer) -> Answers:
    """Occupy the app's one worker for ``SERVICE_TIME`` seconds from now."""
    hold = Answers()
    container.accept(hold.request(container.env.now), 0)
    assert container.busy == 1
    return hold


def fleet(replicas: int = 1, **probes: dict[str, Any] | str) -> Simulation:
    """One worker, 10 s per request; ``probes`` are service fields (``readinessProbe``...)."""
    doc = scenario(replicas=replicas, workers=1, mean=SERVICE_TIME, distribution="constant")
    doc["spec"]["services"][0].update(probes)
    return Simulation(load_scenario(doc))


def at(simulation: Simulation, time: float, action: Any) -> None:
    """Run ``action()`` at simulated ``time``, then run the clock to it."""
    simulation.env.schedule_at(time, lambda _: action())
    simulation.env.run(time)


def new_pod(simulation: Simulation) -> Pod:
    """Scale from one pod to two at 1 s: the new pod's app listens at once (at 1 s)."""
    deployment = simulation.cluster.deployments["app"]
    at(simulation, 1.0, lambda: deployment.scale(2))
    pod = deployment.pods[-1]
    assert pod.container is not None and pod.app_started == 1.0
    return pod


def watch_ready(simulation: Simulation, pod: Pod) -> list[tuple[float, bool]]:
    """(time, ready) at every readiness change of ``pod``."""
    changes: list[tuple[float, bool]] = []
    kubelet = simulation.cluster.kubelet
    update = kubelet.update_ready

    def watched(subject: Pod) -> None:
        before = subject.ready
        update(subject)
        if subject is pod and subject.ready != before:
            changes.append((simulation.env.now, subject.ready))

    kubelet.update_ready = watched  # type: ignore[method-assign]
    return changes


def probe(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"periodSeconds": 1, "timeoutSeconds": 1}
    spec.update(fields)
    return spec


# --- initial results and successThreshold ---------------------------------------------


@pytest.mark.parametrize(
    ("readiness", "ready_at"),
    [
        # No readiness probe: ready when the app listens.
        (None, 1.0),
        # Readiness starts as Failure: ready after successThreshold successes, the
        # probes ticking at 1, 2, 3 s and each answered 1 ms later.
        (probe(), 1.001),
        (probe(successThreshold=2), 2.001),
        (probe(successThreshold=3), 3.001),
    ],
    ids=["no-probe", "success-1", "success-2", "success-3"],
)
def test_readiness_starts_as_failure_until_success_threshold(
    readiness: dict[str, Any] | None, ready_at: float
) -> None:
    simulation = fleet(**({} if readiness is None else {"readinessProbe": readiness}))
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    assert pod.ready is (readiness is None)
    simulation.env.run(10.0)
    if readiness is None:
        assert changes == []
    else:
        assert changes == [(pytest.approx(ready_at), True)]
    assert pod.ready


@pytest.mark.parametrize(("failure_threshold", "killed_at"), [(10, None), (9, 11.0)])
def test_liveness_starts_as_success(failure_threshold: int, killed_at: float | None) -> None:
    # With only a liveness probe the pod is ready as soon as the app listens, and only
    # failureThreshold failures in a row restart it. Blocked from 1.5 s to 11.5 s, the
    # probes of 2..10 s time out at 3..11 s: 9 failures. The probe of 11 s is answered
    # at 11.5 s + 10 x 1 ms, within its timeout, which breaks the run.
    simulation = fleet(livenessProbe=probe(failureThreshold=failure_threshold))
    pod = new_pod(simulation)
    assert pod.ready
    assert pod.container is not None
    container = pod.container
    timeline = trace_events(simulation)
    at(simulation, 1.5, lambda: block(container))
    simulation.env.run(11.5)
    failed = [t for t, kind in timeline if kind == "probe_failed"]
    assert failed == [float(t) for t in range(3, 12)]
    if killed_at is None:
        assert (pod.container, pod.restart_count, pod.ready) == (container, 0, True)
    else:
        assert (pod.container, pod.restart_count, pod.ready) == (None, 1, False)
        assert timeline[-1] == (killed_at, "pod_unready")


# --- failureThreshold, queueing and timeouts --------------------------------------------


@pytest.mark.parametrize(
    ("failure_threshold", "success_threshold", "unready_at", "ready_again_at"),
    [
        # Blocked from 10.5 s to 20.5 s: the probes of 11, 12, ... s wait and time out at
        # 12, 13, ... s. The probe of 20 s is answered when the block ends, behind the 9
        # expired ones still queued: at 20.5 + 10 x 1 ms; the next one at 21.001 s.
        (3, 1, 14.0, 20.51),
        (1, 1, 12.0, 20.51),
        (5, 2, 16.0, 21.001),
    ],
)
def test_failure_threshold_failures_in_a_row_turn_the_pod_unready(
    failure_threshold: int, success_threshold: int, unready_at: float, ready_again_at: float
) -> None:
    readiness = probe(failureThreshold=failure_threshold, successThreshold=success_threshold)
    simulation = fleet(readinessProbe=readiness)
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    assert pod.container is not None
    container = pod.container
    hold = Answers()
    at(simulation, 10.5, lambda: container.accept(hold.request(10.5), 0))
    simulation.env.run(15.5)
    # The probes of 11..15 s wait in the app's queue.
    assert len(container.queue) == 5
    simulation.env.run(30.0)
    assert hold.answers == [OK]
    first_ready = 1.001 if success_threshold == 1 else 2.001
    assert changes == [
        (first_ready, True),
        (unready_at, False),
        (pytest.approx(ready_again_at), True),
    ]


@pytest.mark.parametrize(("timeout", "failures"), [(1, 9), (15, 0)])
def test_a_probe_answered_after_its_timeout_counts_as_a_failure(
    timeout: int, failures: int
) -> None:
    # Blocked from 10.5 s to 20.5 s: the probes of 11..20 s are answered from 20.501 s
    # on. With a 1 s timeout those of 11..19 s have expired by then (the one of 20 s
    # has not); with 15 s every answer is in time.
    simulation = fleet(readinessProbe=probe(timeoutSeconds=timeout))
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    assert pod.container is not None
    container = pod.container
    timeline = trace_events(simulation)
    at(simulation, 10.5, lambda: block(container))
    simulation.env.run(40.0)
    failed = [t for t, kind in timeline if kind == "probe_failed"]
    assert len(failed) == failures
    if failures:
        assert failed == [float(t) for t in range(12, 21)]
        assert changes == [(1.001, True), (14.0, False), (pytest.approx(20.51), True)]
    else:
        assert changes == [(1.001, True)]


def test_an_app_that_is_not_listening_fails_its_probe_at_once() -> None:
    simulation = fleet(readinessProbe=probe(failureThreshold=2))
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    assert pod.container is not None
    container = pod.container
    timeline = trace_events(simulation)
    at(simulation, 5.5, container.pause)  # nothing reaches the app (its sidecar restarts)
    at(simulation, 9.5, container.resume)
    simulation.env.run(12.0)
    # Ticks at 6..9 s fail at the tick itself; 2 in a row at 7 s.
    assert [t for t, kind in timeline if kind == "probe_failed"] == [6.0, 7.0, 8.0, 9.0]
    assert changes == [(1.001, True), (7.0, False), (10.001, True)]


# --- the startup probe --------------------------------------------------------------------


def test_startup_probe_gates_the_readiness_probe() -> None:
    # Startup ticks from 6 s (initialDelaySeconds 5): success at 6.001 s. Readiness
    # ticks every second from 1 s but skips until then: its first probe is at 7 s.
    simulation = fleet(
        startupProbe=probe(initialDelaySeconds=5),
        readinessProbe=probe(),
    )
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    simulation.env.run(6.0)
    assert not pod.started
    simulation.env.run(6.5)
    assert pod.started and not pod.ready
    simulation.env.run(10.0)
    assert changes == [(7.001, True)]


@pytest.mark.parametrize("with_startup", [True, False], ids=["startup-probe", "no-startup-probe"])
def test_startup_probe_holds_liveness_off_while_the_app_is_busy(with_startup: bool) -> None:
    # Blocked from 1.5 s to 11.5 s. Liveness (failureThreshold 1) ticks every second
    # from 1 s. Without a startup probe its probe of 2 s times out at 3 s: restart.
    # With one (first tick at 3 s, failureThreshold 30) the startup probes time out
    # 8 times, then the one of 11 s is answered at 11.5 + 9 x 1 ms: started; liveness
    # probes from 12 s on are answered at once.
    probes: dict[str, Any] = {"livenessProbe": probe(failureThreshold=1)}
    if with_startup:
        probes["startupProbe"] = probe(initialDelaySeconds=2, failureThreshold=30)
    simulation = fleet(**probes)
    pod = new_pod(simulation)
    changes = watch_ready(simulation, pod)
    assert pod.container is not None
    container = pod.container
    timeline = trace_events(simulation)
    at(simulation, 1.5, lambda: block(container))
    simulation.env.run(30.0)
    failed = [t for t, kind in timeline if kind == "probe_failed"]
    if with_startup:
        assert pod.restart_count == 0 and pod.container is container
        assert failed == [float(t) for t in range(4, 12)]
        assert changes == [(pytest.approx(11.509), True)]
    else:
        assert pod.restart_count == 1
        assert failed[0] == 3.0
        assert changes[0] == (3.0, False)


# --- liveness restarts and the crash-loop back-off -------------------------------------


def restart_gaps(liveness: dict[str, Any] | None, until: float) -> tuple[list[float], list[float]]:
    """Kill -> restart and restart -> next kill gaps of the one pod, to ``until``.

    Every probe takes 2 s (``probeServiceTime``) against a 1 s timeout, so each one
    fails: a container is killed at its third failed liveness probe.
    """
    simulation = fleet(
        probeServiceTime="2s", **({} if liveness is None else {"livenessProbe": liveness})
    )
    timeline = trace_events(simulation)
    simulation.env.run(until)
    kills = [t for t, kind in timeline if kind == "pod_unready"]
    restarts = [t for t, kind in timeline if kind == "container_restart"]
    down = [round(r - k, 9) for k, r in zip(kills, restarts, strict=False)]
    up = [round(k - r, 9) for r, k in zip(restarts, kills[1:], strict=False)]
    return down, up


def test_liveness_failure_restarts_with_back_off_doubling_to_300s() -> None:
    # A new container ticks at start R, R+1, R+2; the first probe holds the worker, the
    # second and third wait: failures at R+1, R+2, R+3, killed at R+3. Back-off 10 s,
    # doubling: 10, 20, 40, 80, 160, then 320 capped at 300, and 300 again.
    down, up = restart_gaps(probe(), 1000.0)
    assert down == [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    assert up == [3.0] * 7


def test_back_off_resets_after_a_container_ran_ten_minutes() -> None:
    # initialDelaySeconds 600: each restarted container runs 603 s before its kill, so
    # the back-off starts again at 10 s every time (the first, pre-existing container
    # is killed in its first seconds: 10 s too).
    down, up = restart_gaps(probe(initialDelaySeconds=600), 1300.0)
    assert down == [10.0, 10.0, 10.0]
    assert up == [603.0, 603.0]


def test_without_a_liveness_probe_a_slow_app_is_never_restarted() -> None:
    down, up = restart_gaps(None, 1000.0)
    assert (down, up) == ([], [])
