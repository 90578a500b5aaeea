"""The kubelet: starts a bound pod's containers, restarts them, stops them, accounts CPU.

Start-up of a pod bound to a node, phase by phase (each a parameter of the service's
``startup`` block, the sidecar's, or the node's):

1. image pull, when the node does not have the image yet; the kubelet pulls one image at
   a time (``--serialize-image-pulls=true``), so pods landing together on a fresh node
   queue for it;
2. the sidecar (when there is one) starts and fetches its configuration
   (a ``SidecarStartup``, see ``kubernetes.sidecars``); the app waits for it;
3. the app container starts (``appStart``) and then warms up (``coldStart``): while
   warming it answers its readiness probe with a failure and burns ``warmupCpu``; after
   it, per-request CPU and service time start at ``cpuFactor``/``latencyFactor`` times the
   warm values and fall linearly to 1 over ``decay``.

Restarts after a failed liveness or startup probe follow the kubelet's crash-loop
back-off: 10 s, doubling, at most 300 s, reset once a container has run 10 minutes
(``pkg/kubelet/kubelet.go`` ``MaxContainerBackOff``, ``backOffPeriod``). A restarted
container is a new process: cold again.

Termination (``pod-lifecycle.md``, "Termination of Pods"): the pod turns not ready at
once; the preStop hook runs (its time counts against ``terminationGracePeriodSeconds``,
with a one-off 2 s extension if it overruns); then SIGTERM: the app stops accepting and
finishes what it holds; at the end of the grace period SIGKILL resets what is left.

A node whose zone failed takes its kubelet with it: nothing on it starts, stops, probes
or reports any more (the pod's ``generation`` moves on, so its probe workers and
start-up steps see they are stale), its app containers are lost, and the pods' API
state (phase, Ready) stays as it was until the node lifecycle controller changes it.
When the node is back it has rebooted: the kubelet removes the pods that were deleted
meanwhile and starts the others again from the image pull on (a new, cold container,
counted as a restart).

CPU (cgroup accounting, as cAdvisor reads it): each request whose service starts costs
``cpuPerRequest`` times the cold-start factor, warm-up burns ``warmupCpu`` cores; with a
CPU limit, usage is capped at the limit (CFS quota) and the excess demand stretches
service times by demand / limit until the next housekeeping tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.dataplane.calls import CallingContainer
from fleetsim.dataplane.container import CPU_THROTTLING, WARM_UP, AppContainer
from fleetsim.dataplane.distributions import service_time_stream
from fleetsim.kubernetes.pod import RUNNING
from fleetsim.kubernetes.probes import start_probes
from fleetsim.node.pauses import StopTheWorldPauses
from fleetsim.node.process import Process, need_probability

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.node import Node
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.scenario.node import ProcessSpec

INITIAL_CONTAINER_BACKOFF = 10.0
MAX_CONTAINER_BACKOFF = 300.0
BACKOFF_RESET_AFTER = 600.0
PRESTOP_OVERRUN_EXTENSION = 2.0
HOUSEKEEPING_INTERVAL = 1.0
"""cAdvisor's housekeeping as the kubelet runs it is 10 s; cold-start curves and CFS
throttling are applied every second so that their effect on latency is smooth."""
DRAIN_POLL_INTERVAL = 0.1
"""How often a terminating app is checked for having finished its work."""


class Kubelet:
    """The node agent of every node (one object: the nodes share its logic)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.events = cluster.events
        self.running: list[Pod] = []  # pods with an app container, for CPU accounting

    # --- start-up ------------------------------------------------------------------

    def run_pod(self, pod: Pod) -> None:
        """The pod was bound to its node: pull the image if needed, then start."""
        node = pod.node
        assert node is not None
        if node.unreachable:
            return  # bound to a node that is gone: it waits there until evicted or back
        # The pod's first status: startTime, and Ready=False now.
        pod.ready_transition = self.env.now
        deployment = pod.deployment
        image = deployment.name
        now = self.env.now
        pulled = node.images.get(image)
        if pulled is None:
            begin = max(now, node.pull_free_at)
            pulled = begin + deployment.spec.startup.image_pull
            node.pull_free_at = pulled
            node.images[image] = pulled
        if pulled <= now:
            self._start_containers((pod, pod.generation))
        else:
            self.env.schedule_at(pulled, self._start_containers, (pod, pod.generation))

    def _start_containers(self, argument: tuple[Pod, int]) -> None:
        pod, generation = argument
        if pod.generation != generation or pod.deleting:
            return
        pod.phase = RUNNING
        startup = pod.deployment.sidecar_startup
        if startup is not None:
            startup.start(pod, self)
        else:
            self.start_app(pod)

    def sidecar_started(self, pod: Pod) -> None:
        """The sidecar is ready (it has its configuration): start the app."""
        pod.sidecar_ready = True
        self.start_app(pod)

    def start_app(self, pod: Pod) -> None:
        """Start the app container (after the sidecar, when there is one)."""
        if pod.node is not None and pod.node.unreachable:
            return
        delay = pod.deployment.spec.startup.app_start
        self.env.schedule(delay, self._app_listening, (pod, pod.generation))

    def _app_listening(self, argument: tuple[Pod, int]) -> None:
        pod, generation = argument
        if pod.generation != generation or pod.deleting:
            return
        self.launch_container(pod, warm=False)
        start_probes(self, pod)
        self.update_ready(pod)

    def adopt_running(self, pod: Pod, since: float, probe_phase: float) -> None:
        """A pod that was already running, warm and Ready ``since`` then (the steady-state
        fleet at the start of a run); its probes start at ``probe_phase`` of a period."""
        pod.sidecar_ready = True
        self.launch_container(pod, warm=True)
        pod.ready = True
        pod.ready_transition = since
        pod.first_ready = since
        start_probes(self, pod, random_phase=probe_phase)

    def launch_container(self, pod: Pod, *, warm: bool) -> AppContainer:
        """Create the app container of ``pod``.

        ``warm``: the app has run long enough that its warm-up and decay are over.
        """
        deployment = pod.deployment
        now = self.env.now
        spec = deployment.spec
        mesh = self.cluster.mesh
        if not deployment.sidecar_injected:
            mesh = None
        inbound = mesh.inbound_proxy(pod) if mesh is not None else None
        container: AppContainer
        if spec.calls:
            outbound = mesh.outbound_routes(pod) if mesh is not None else self.cluster.routes
            lookups = self.cluster.call_routes
            calls = [
                outbound[c.service]
                if lookups is None
                else lookups.call_route(pod, c, outbound[c.service])
                for c in spec.calls
                for _ in range(c.count)
            ]
            container = CallingContainer(
                self.env,
                deployment.service,
                pod.index,
                pod.zone or "",
                deployment.service_times,
                deployment.error_draws,
                calls=calls,
                parallel=spec.call_mode == "parallel",
                after_calls=self.cluster.after_calls.get(deployment.name),
                inbound=inbound,
                probe_time=spec.probe_service_time,
            )
        else:
            container = AppContainer(
                self.env,
                deployment.service,
                pod.index,
                pod.zone or "",
                deployment.service_times,
                deployment.error_draws,
                inbound=inbound,
                probe_time=spec.probe_service_time,
            )
        pod.generation += 1
        pod.container = container
        pod.phase = RUNNING
        cold = spec.cold_start
        if warm:
            pod.warm_until = now - cold.decay
            pod.app_started = pod.warm_until - cold.warmup_duration
            pod.started = True
            pod.app_ready = True
        else:
            pod.app_started = now
            pod.warm_until = now + cold.warmup_duration
            pod.started = spec.startup_probe is None
            pod.app_ready = spec.readiness_probe is None
        pod.cpu_started = 0
        pod.cpu_accounted_at = now
        pod.throttle = 1.0
        container.set_slowdown(WARM_UP, self.latency_factor(pod, now))
        if spec.process is not None:
            self._start_process(pod, container, spec.process)
        deployment.service.add_container(container, now)
        self.running.append(pod)
        return container

    def _start_process(self, pod: Pod, container: AppContainer, spec: ProcessSpec) -> None:
        """The app's process: registered with its node's agents, its pauses started."""
        host = pod.node.host if pod.node is not None else None
        disks = host.disks if host is not None else {}
        disk = disks.get(spec.disk) if spec.disk is not None else None
        streams = self.cluster.streams
        name = f"process/{pod.name}/{pod.generation}"
        needs = need_probability(spec, has_disk=disk is not None)
        split = spec.memory_map.split_across if spec.memory_map is not None else 1
        process = Process(
            self.env,
            container,
            spec,
            pod.deployment.stalls,
            disk=disk,
            countdowns=streams.geometric(f"{name}/needs", needs) if needs > 0 else iter(()),
            kinds=streams.uniform(f"{name}/kind"),
            pick_space=streams.integers(f"{name}/address-space", split),
        )
        pod.process = process
        if process.needs_anything:
            container.process = process
        if host is not None:
            host.add(process)
        pauses = spec.pauses
        if pauses is not None:
            log_disk = disks.get(pauses.gc_log_disk) if pauses.gc_log_disk is not None else None
            StopTheWorldPauses(
                self.env,
                process,
                service_time_stream(pauses.interval, streams, f"{name}/pause-interval"),
                service_time_stream(pauses.duration, streams, f"{name}/pause-duration"),
                log_disk=log_disk,
                log_size=pauses.gc_log_write_size,
            ).start()

    # --- readiness -----------------------------------------------------------------

    def set_app_ready(self, pod: Pod, ready: bool) -> None:
        pod.app_ready = ready
        self.update_ready(pod)

    def set_started(self, pod: Pod) -> None:
        pod.started = True
        self.update_ready(pod)

    def set_sidecar_ready(self, pod: Pod, ready: bool) -> None:
        """The sidecar's readiness probe result changed."""
        pod.sidecar_ready = ready
        self.update_ready(pod)

    def sidecar_stopped(self, pod: Pod) -> None:
        """The sidecar died (OOM): nothing reaches the app, the pod is unready."""
        pod.sidecar_ready = False
        if pod.container is not None:
            pod.container.pause()
        self.update_ready(pod)

    def sidecar_listening(self, pod: Pod) -> None:
        """The sidecar is back: the app is reachable again (ready at the next probe)."""
        if pod.container is not None:
            pod.container.resume()

    def update_ready(self, pod: Pod) -> None:
        """Recompute the pod's Ready condition; tell endpoints and the Deployment.

        The kubelet of an unreachable node reports nothing: its pods keep the condition
        the API server last had, unless they are being deleted.
        """
        node = pod.node
        if node is not None and node.unreachable and not pod.deleting:
            return
        container = pod.container
        ready = (
            not pod.deleting
            and container is not None
            and container.accepting
            and pod.started
            and pod.app_ready
            and pod.sidecar_ready
        )
        self._set_ready(pod, ready)

    def _set_ready(self, pod: Pod, ready: bool) -> None:
        if ready == pod.ready:
            return
        now = self.env.now
        pod.ready = ready
        pod.ready_transition = now
        service = pod.service_name
        self.events.readiness_changed(service, ready, pod.name)
        if ready and pod.first_ready is None:
            pod.first_ready = now
            self.events.first_ready(service, now - pod.created)
        self.cluster.endpoints.changed(pod.deployment)
        pod.deployment.pods_changed()

    # --- restarts ------------------------------------------------------------------

    def restart_container(self, pod: Pod, _reason: str) -> None:
        """Kill the app container; start a new one after the crash-loop back-off."""
        container = pod.container
        if container is None or pod.deleting:
            return
        now = self.env.now
        ran = now - pod.app_started if pod.app_started is not None else 0.0
        if ran >= BACKOFF_RESET_AFTER:
            pod.restart_count = 0
        delay = min(INITIAL_CONTAINER_BACKOFF * 2**pod.restart_count, MAX_CONTAINER_BACKOFF)
        pod.restart_count += 1
        self._stop_container(pod, kill=True)
        pod.app_ready = False
        pod.started = False
        self.update_ready(pod)
        self.env.schedule(delay, self._restart, (pod, pod.generation))

    def restart_app(self, pod: Pod, *, graceful: bool) -> None:
        """An operator restarts the app's process (not a crash: no back-off).

        ``graceful``: SIGTERM, the app finishes what it holds (at most the grace period),
        then starts again; otherwise it is killed at once (what it held is reset) and
        starts again. The new process is cold and Ready after its probes, as after any
        start.
        """
        container = pod.container
        if container is None or pod.deleting:
            return
        self.events.record("app_restart", pod.service_name, pod.name)
        if not graceful:
            self._stop_container(pod, kill=True)
            self._restarting(pod)
            return
        container.stop_accepting()
        self.update_ready(pod)
        deadline = self.env.now + pod.deployment.spec.termination_grace_period_seconds
        self._drain_then_restart((pod, pod.generation, deadline))

    def _drain_then_restart(self, argument: tuple[Pod, int, float]) -> None:
        pod, generation, deadline = argument
        container = pod.container
        if pod.generation != generation or pod.deleting or container is None:
            return
        now = self.env.now
        if not container.idle and now < deadline:
            wake = min(now + DRAIN_POLL_INTERVAL, deadline)
            self.env.schedule_at(wake, self._drain_then_restart, argument)
            return
        self._stop_container(pod, kill=not container.idle)
        self._restarting(pod)

    def _restarting(self, pod: Pod) -> None:
        pod.app_ready = False
        pod.started = False
        self.update_ready(pod)
        self.start_app(pod)

    def _restart(self, argument: tuple[Pod, int]) -> None:
        pod, generation = argument
        if pod.generation != generation or pod.deleting:
            return
        self.events.record("container_restart", pod.service_name, pod.name)
        self.start_app(pod)

    def _stop_container(self, pod: Pod, *, kill: bool) -> None:
        container = pod.container
        if container is None:
            return
        now = self.env.now
        self.account_cpu(pod, now)
        # Detach first: a kill answers the probes the app still holds, and those answers
        # must find their worker already stale.
        pod.container = None
        if pod.process is not None:
            pod.process.stop()
            pod.process = None
        pod.generation += 1
        if pod in self.running:
            self.running.remove(pod)
        if kill:
            container.kill()
        else:
            container.stop_accepting()
        pod.received_past += container.received
        pod.deployment.service.retire_container(container, now)
        container.received = 0

    # --- termination ---------------------------------------------------------------

    def delete_pod(self, pod: Pod) -> None:
        """The pod's deletion timestamp is set: run the termination sequence."""
        if pod.deleting or pod.deleted:
            return
        now = self.env.now
        pod.deleting = True
        pod.deletion_time = now
        self.update_ready(pod)
        if pod.node is not None and pod.node.unreachable:
            # No kubelet to run the termination: the pod stays Terminating with its
            # container lost until the node is back; its ReplicaSet already replaces it.
            pod.deployment.pods_changed()
            return
        if pod.node is None or pod.container is None:
            # Not running yet: nothing to stop, the API object goes at once.
            pod.generation += 1
            self._finalize(pod)
            return
        spec = pod.deployment.spec
        grace = spec.termination_grace_period_seconds
        pre_stop = spec.pre_stop or 0.0
        if pre_stop > grace:
            deadline = now + grace + PRESTOP_OVERRUN_EXTENSION
            term_at = deadline
        else:
            deadline = now + grace
            term_at = now + pre_stop
        self.env.schedule_at(term_at, self._sigterm, (pod, deadline))

    def _sigterm(self, argument: tuple[Pod, float]) -> None:
        pod, deadline = argument
        if pod.node is not None and pod.node.unreachable:
            return  # the node went away mid-termination; it ends when the node is back
        container = pod.container
        if pod.deleted or container is None:
            self._finalize(pod)
            return
        container.stop_accepting()
        self._await_exit((pod, deadline))

    def _await_exit(self, argument: tuple[Pod, float]) -> None:
        pod, deadline = argument
        container = pod.container
        if pod.deleted or (pod.node is not None and pod.node.unreachable):
            return
        now = self.env.now
        if container is None or container.idle:
            self._stop_container(pod, kill=False)
            self._finalize(pod)
        elif now >= deadline:
            self._stop_container(pod, kill=True)
            self._finalize(pod)
        else:
            wake = min(now + DRAIN_POLL_INTERVAL, deadline)
            self.env.schedule_at(wake, self._await_exit, (pod, deadline))

    def _finalize(self, pod: Pod) -> None:
        if pod.deleted:
            return
        if pod.container is not None:
            self._stop_container(pod, kill=True)
        pod.deleted = True
        pod.generation += 1
        if self.cluster.mesh is not None:
            self.cluster.mesh.pod_removed(pod)
        self.events.record("pod_deleted", pod.service_name, pod.name)
        self.cluster.scheduler.release(pod)
        pod.deployment.pods_changed()

    def force_delete(self, pod: Pod) -> None:
        """Remove the pod object without its kubelet (its node was deleted)."""
        self.delete_pod(pod)
        self._finalize(pod)

    # --- a node lost and back ----------------------------------------------------------

    def node_lost(self, node: Node) -> None:
        """The node lost power and network: its kubelet and app containers are gone."""
        now = self.env.now
        for pod in node.pods:
            pod.generation += 1  # probe workers and start-up steps of the pod stop
            container = pod.container
            if container is None:
                continue
            self.account_cpu(pod, now)
            if pod in self.running:
                self.running.remove(pod)
            if pod.process is not None:
                pod.process.stop()
                pod.process = None
            container.lose()
            pod.cpu_started = container.started  # what it held never ran
            pod.warm_until = min(pod.warm_until, now)
            pod.deployment.service.retire_container(container, now)

    def mark_pods_not_ready(self, node: Node) -> None:
        """The node lifecycle controller's ``MarkPodsNotReady`` on a NotReady node."""
        for pod in list(node.pods):
            self._set_ready(pod, False)

    def node_back(self, node: Node) -> None:
        """The node rebooted and its kubelet is back: reconcile the pods bound to it."""
        for pod in list(node.pods):
            if pod.deleting:
                self._finalize(pod)
                continue
            if pod.container is not None:
                self._stop_container(pod, kill=True)
                pod.restart_count += 1
                self.events.record("container_restart", pod.service_name, pod.name)
            else:
                pod.generation += 1
            pod.app_ready = False
            pod.started = False
            pod.sidecar_ready = pod.deployment.sidecar is None
            self.update_ready(pod)
            self.run_pod(pod)

    # --- CPU -----------------------------------------------------------------------

    def cpu_factor(self, pod: Pod, now: float) -> float:
        return self._factor(pod, now, pod.deployment.spec.cold_start.cpu_factor)

    def latency_factor(self, pod: Pod, now: float) -> float:
        return self._factor(pod, now, pod.deployment.spec.cold_start.latency_factor)

    @staticmethod
    def _factor(pod: Pod, now: float, initial: float) -> float:
        if initial == 1.0 or now <= pod.warm_until:
            return initial
        decay = pod.deployment.spec.cold_start.decay
        if decay <= 0.0:
            return 1.0
        fraction = (now - pod.warm_until) / decay
        return 1.0 if fraction >= 1.0 else initial + (1.0 - initial) * fraction

    def account_cpu(self, pod: Pod, now: float) -> None:
        """Add the CPU the app used since the last accounting to ``pod.cpu_seconds``."""
        container = pod.container
        elapsed = now - pod.cpu_accounted_at
        if container is None or elapsed <= 0.0:
            pod.cpu_accounted_at = now
            return
        spec = pod.deployment.spec
        started = container.started
        demand = (started - pod.cpu_started) * spec.cpu_per_request * self.cpu_factor(pod, now)
        pod.cpu_started = started
        cold = spec.cold_start
        if cold.warmup_cpu > 0.0 and pod.cpu_accounted_at < pod.warm_until:
            warming = min(now, pod.warm_until) - pod.cpu_accounted_at
            demand += cold.warmup_cpu * warming
        limit = spec.resources.limits.cpu
        if limit is not None and demand > limit * elapsed:
            pod.throttle = demand / (limit * elapsed)
            demand = limit * elapsed
        else:
            pod.throttle = 1.0
        pod.cpu_seconds += demand
        pod.cpu_accounted_at = now

    def housekeeping(self, now: float) -> None:
        """Account CPU and set each app's warm-up and CPU-throttling slowdowns."""
        for pod in self.running:
            self.account_cpu(pod, now)
            container = pod.container
            if container is not None:
                container.set_slowdown(WARM_UP, self.latency_factor(pod, now))
                container.set_slowdown(CPU_THROTTLING, pod.throttle)
