"""The kubelet's prober: startup, readiness and liveness probes of the app container.

Fields and defaults are ``core/v1`` ``Probe``'s (``SetDefaults_Probe``: initialDelaySeconds
0, periodSeconds 10, timeoutSeconds 1, successThreshold 1, failureThreshold 3). One
worker per probe and container runs on a ticker of ``periodSeconds`` from
``initialDelaySeconds`` after the container started (``pkg/kubelet/prober/worker.go``):

- A probe is a request to the app: it waits in the same queue and takes a worker, so an
  overloaded pod answers it late, and an answer later than ``timeoutSeconds`` is a
  failure. A container that does not listen fails at once; a warming app answers its
  readiness endpoint with a failure.
- A result takes effect after ``successThreshold`` (or ``failureThreshold``) identical
  results in a row; until then the previous result stands.
- Readiness starts as Failure, liveness as Success. Until the startup probe has
  succeeded, the readiness and liveness workers skip their probes.
- Liveness or startup failure: the kubelet kills the container and restarts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.request import OK, PER_TRY_TIMEOUT, PROBE, Request

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.scenario.kubernetes import Probe

STARTUP: Final = "startup"
READINESS: Final = "readiness"
LIVENESS: Final = "liveness"
PROBE_TIMEOUT: Final = PER_TRY_TIMEOUT
"""How a probe without an answer within ``timeoutSeconds`` ends."""


class ProbeCall(Request):
    """One execution of a probe: a request to the app that waits in the same queue.

    It is its own route and its own source: the app container's answer
    (``request.route.on_response``) ends it, and the worker hears the result. Its
    ``try_number`` in the container's queue is ``PROBE``, so it is never counted as a
    request and takes the container's ``probe_time`` to serve.
    """

    __slots__ = ("worker",)

    def __init__(self, worker: ProbeWorker, now: float) -> None:
        super().__init__(self, self, now)
        self.worker = worker

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        if status == OK:
            self.succeed(request)
        else:
            self.fail(request, status)

    def succeed(self, request: Request) -> None:
        if not self.done:
            self.done = True
            self.worker.result(True)

    def fail(self, request: Request, status: int) -> None:
        if not self.done:
            self.done = True
            self.worker.result(False)

    def expire(self, _: None) -> None:
        """``timeoutSeconds`` passed without an answer: a failure."""
        self.fail(self, PROBE_TIMEOUT)


class ProbeWorker:
    """Probes one container of one pod, ``kind`` being startup, readiness or liveness."""

    __slots__ = ("env", "generation", "kind", "kubelet", "last_result", "pod", "result_run", "spec")

    def __init__(self, kubelet: Kubelet, pod: Pod, kind: str, spec: Probe) -> None:
        self.kubelet = kubelet
        self.env: Environment = kubelet.env
        self.pod = pod
        self.kind = kind
        self.spec = spec
        self.generation = pod.generation
        self.last_result: bool | None = None
        self.result_run = 0

    def begin(self, delay: float) -> None:
        self.env.schedule(delay, self._tick)

    def _stale(self) -> bool:
        pod = self.pod
        return pod.generation != self.generation or pod.deleted

    def _tick(self, _: None) -> None:
        if self._stale():
            return
        self.env.schedule(self.spec.period_seconds, self._tick)
        pod = self.pod
        if self.kind != STARTUP and not pod.started:
            return
        if self.kind == STARTUP and pod.started:
            return
        container = pod.container
        if container is None or not container.accepting:
            self.result(False)
            return
        if self.kind == READINESS and self.env.now < pod.warm_until:
            self.result(False)
            return
        call = ProbeCall(self, self.env.now)
        if not container.accept_probe(call, PROBE):
            self.result(False)
            return
        self.env.schedule(self.spec.timeout_seconds, call.expire)

    def result(self, success: bool) -> None:
        if self._stale():
            return
        if not success:
            self.kubelet.events.record("probe_failed", self.pod.service_name, self.pod.name)
        if success == self.last_result:
            self.result_run += 1
        else:
            self.last_result = success
            self.result_run = 1
        threshold = self.spec.success_threshold if success else self.spec.failure_threshold
        if self.result_run < threshold:
            return
        pod = self.pod
        if self.kind == READINESS:
            self.kubelet.set_app_ready(pod, success)
        elif self.kind == STARTUP:
            if success:
                self.kubelet.set_started(pod)
            else:
                self.kubelet.restart_container(pod, "startup probe failed")
        elif not success:
            self.kubelet.restart_container(pod, "liveness probe failed")


def start_probes(kubelet: Kubelet, pod: Pod, *, random_phase: float | None = None) -> None:
    """Start the workers of a freshly started container.

    ``random_phase`` in [0, 1) spreads the first probe of pods that were already running
    when the run began over one period, as the kubelet does after its own restart.
    """
    spec = pod.deployment.spec
    for kind, probe in (
        (STARTUP, spec.startup_probe),
        (READINESS, spec.readiness_probe),
        (LIVENESS, spec.liveness_probe),
    ):
        if probe is None:
            continue
        worker = ProbeWorker(kubelet, pod, kind, probe)
        if random_phase is None:
            worker.begin(probe.initial_delay_seconds)
        else:
            worker.begin(random_phase * probe.period_seconds)
