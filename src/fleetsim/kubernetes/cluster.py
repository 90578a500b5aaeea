"""One cluster: nodes, the control-plane controllers and the kubelet, on one clock.

Pods that exist when the run starts (each service's ``replicas``) are placed on the
initial nodes and are already running, warm and Ready, as a fleet in steady state is;
their probes start at random phases. Everything after that (pods the HPA or a rollout
creates, restarts, node events) goes through the modelled lifecycle.

``zones_down`` holds the zones that a ``fail-zone`` took down and no ``restore-zone``
brought back yet; each ``zone_listeners`` callable hears ``(zone, up)`` at both edges,
so rooms beside Kubernetes (a storage tier's servers) can react to the same outage.
``control_plane`` Deployments (a mesh's istiod) come first: placed and run like the
services' pods, with no sidecar injected and no traffic of their own.
Each ``node_listeners`` callable hears a node the instant it is lost without a drain
(``fail-node``, or its zone's ``fail-zone``): what ran there stopped without a close.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from fleetsim.dataplane.distributions import service_time_stream
from fleetsim.kubernetes.deployment import Deployment
from fleetsim.kubernetes.endpoints import EndpointsController
from fleetsim.kubernetes.kubelet import HOUSEKEEPING_INTERVAL, Kubelet
from fleetsim.kubernetes.metrics_server import MetricsServer
from fleetsim.kubernetes.node import Node
from fleetsim.kubernetes.node_lifecycle import NodeLifecycle
from fleetsim.kubernetes.pod import Pod
from fleetsim.kubernetes.podautoscaler import PodAutoscaler
from fleetsim.kubernetes.scheduler import Scheduler

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import EndpointSubscriber, Router
    from fleetsim.dataplane.service import Service
    from fleetsim.dataplane.traffic import TrafficSource
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.kubernetes.sidecars import SidecarInjector, SidecarStartup
    from fleetsim.metrics.events import EventLog
    from fleetsim.node.process import Process
    from fleetsim.scenario.kubernetes import Event
    from fleetsim.scenario.mesh import Call
    from fleetsim.scenario.schema import Service as ServiceSpec
    from fleetsim.scenario.schema import Spec


class CallRoutes(Protocol):
    """Who decides the route an app's call takes beyond its proxy: the app's own name
    lookup (``fleetsim.cluster.name_resolution``)."""

    def call_route(self, pod: Pod, call: Call, route: Router) -> Router: ...


PREEXISTING_AGE = 3600.0
"""Pods present at the start are taken to have started and turned Ready this long ago."""


class Cluster:
    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        spec: Spec,
        services: dict[str, Service],
        routes: Mapping[str, Router],
        events: EventLog,
        streams_for: dict[str, tuple[Iterator[float], Iterator[float] | None]],
        *,
        endpoint_subscribers: Mapping[str, EndpointSubscriber],
        sidecar_startups: Mapping[str, SidecarStartup],
        mesh: SidecarInjector | None = None,
        outside_mesh: frozenset[str] = frozenset(),
        call_routes: CallRoutes | None = None,
        control_plane: Sequence[tuple[ServiceSpec, Service]] = (),
    ) -> None:
        self.env = env
        self.streams = streams
        self.spec = spec
        self.events = events
        self.routes = routes
        self.mesh = mesh
        # Services whose pods get no sidecar even in a mesh (the cluster's DNS).
        self.outside_mesh = outside_mesh
        self.call_routes = call_routes
        self.after_calls = {
            s.name: service_time_stream(
                s.service_time_after_calls, streams, f"service/{s.name}/after-calls"
            )
            for s in spec.services
            if s.service_time_after_calls is not None
        }
        self.nodes: list[Node] = []
        self.zones_down: set[str] = set()
        self.zone_listeners: list[Callable[[str, bool], None]] = []
        # Hear each node lost without a drain (fail-node, fail-zone), at the instant.
        self.node_listeners: list[Callable[[Node], None]] = []
        # Timeline actions another room carries out (a storage tier's rolling restart).
        self.event_handlers: dict[str, Callable[[Event], None]] = {}
        self.node_lifecycle = NodeLifecycle(self)
        self.scheduler = Scheduler(self)
        self.kubelet = Kubelet(self)
        self.endpoints = EndpointsController(
            env, spec.cluster.endpoint_propagation_delay, endpoint_subscribers
        )
        self.deployments: dict[str, Deployment] = {}
        for service_spec, service in control_plane:
            # The mesh's own pods (istiod): scheduled and run like any, no sidecar.
            times = service_time_stream(
                service_spec.service_time, streams, f"service/{service_spec.name}/service-time"
            )
            deployment = Deployment(self, service, service_spec, times, None)
            deployment.sidecar_injected = False
            self.deployments[service_spec.name] = deployment
            events.add_service(service_spec.name, service_spec.replicas, 0.0)
        for service_spec in spec.services:
            times, errors = streams_for[service_spec.name]
            deployment = Deployment(self, services[service_spec.name], service_spec, times, errors)
            deployment.sidecar_startup = sidecar_startups.get(service_spec.name)
            deployment.sidecar_injected = service_spec.name not in outside_mesh
            self.deployments[service_spec.name] = deployment
            events.add_service(service_spec.name, service_spec.replicas, 0.0)
        self.autoscalers = {
            name: PodAutoscaler(self, deployment, deployment.spec.hpa)
            for name, deployment in self.deployments.items()
            if deployment.spec.hpa is not None
        }
        needs_cpu = any(
            d.spec.cpu_per_request > 0 or d.spec.cold_start.warmup_cpu > 0
            for d in self.deployments.values()
        )
        self.metrics_server = (
            MetricsServer(self, spec.cluster.metrics_resolution) if needs_cpu else None
        )
        self._needs_housekeeping = needs_cpu or any(
            d.spec.cold_start.latency_factor > 1.0 for d in self.deployments.values()
        )
        self._place_initial_pods()

    def _place_initial_pods(self) -> None:
        """The steady-state fleet: bound, running, warm and Ready at time 0."""
        cached = self.spec.cluster.image_cached_on_initial_nodes
        for node in self.node_lifecycle.initial:
            if cached or node.pool == "default":
                node.images.update(dict.fromkeys(self.deployments, 0.0))
        phases = self.streams.uniform("kubelet/initial-probe-phase")
        for deployment in self.deployments.values():
            for _ in range(deployment.replicas):
                pod = deployment.new_pod(-PREEXISTING_AGE)
                placed = self.scheduler.pick(pod)
                if placed is None:
                    # No room on the initial nodes: it waits like any new pod.
                    self.scheduler.unschedulable.append(pod)
                    continue
                self.scheduler.bind(pod, placed, at=-PREEXISTING_AGE)
                self.kubelet.adopt_running(pod, -PREEXISTING_AGE, next(phases))
            self.endpoints.publish_now(deployment)

    def start(self, sources: dict[str, TrafficSource]) -> None:
        """Start the periodic controllers and the scenario's event timeline."""
        if self._needs_housekeeping:
            self.env.every(HOUSEKEEPING_INTERVAL, self.kubelet.housekeeping)
        if self.metrics_server is not None:
            self.metrics_server.start()
        for autoscaler in self.autoscalers.values():
            autoscaler.start()
        ordered = sorted(enumerate(self.spec.events), key=lambda item: (item[1].at, item[0]))
        for _, event in ordered:
            self.env.schedule_at(event.at, self._apply_event, (event, sources))

    def _apply_event(self, argument: tuple[Event, dict[str, TrafficSource]]) -> None:
        event: Event = argument[0]
        sources: dict[str, TrafficSource] = argument[1]
        action = event.action
        self.events.annotate(f"scenario:{action}", event.service, _describe(event))
        if action == "add-nodes":
            assert event.pool is not None and event.count is not None
            self.node_lifecycle.add_nodes(event.pool, event.count)
        elif action == "terminate-node":
            for node in self._nodes_to_terminate(event):
                self.node_lifecycle.terminate(node)
        elif action == "release":
            assert event.service is not None
            self.deployments[event.service].release()
        elif action == "scale":
            assert event.service is not None and event.replicas is not None
            self.deployments[event.service].scale(event.replicas)
        elif action == "set-rate":
            assert event.traffic is not None and event.rate is not None
            sources[event.traffic].set_rate(event.rate)
        elif action == "fail-zone":
            assert event.zone is not None
            self.node_lifecycle.fail_zone(event.zone)
        elif action == "restore-zone":
            assert event.zone is not None
            self.node_lifecycle.restore_zone(event.zone)
        elif action == "fail-node":
            for node in self._nodes_to_fail(event):
                self.node_lifecycle.fail_node(node)
        else:
            self.event_handlers[action](event)

    def _nodes_to_terminate(self, event: Event) -> list[Node]:
        if event.node is not None:
            node = self.node_lifecycle.find(event.node)
            return [] if node is None else [node]
        live = [
            node
            for node in self.nodes
            if node.pool == event.pool and not node.terminated and not node.cordoned
        ]
        return live[: event.count or 1]

    def _nodes_to_fail(self, event: Event) -> list[Node]:
        """By name, ``count`` up nodes of a pool, or the node of a service's first live pod."""
        if event.node is not None:
            node = self.node_lifecycle.find(event.node)
            return [] if node is None or node.unreachable else [node]
        if event.service is not None:
            deployment = self.deployments.get(event.service)
            pods = deployment.pods if deployment is not None else []
            for pod in pods:
                node = pod.node
                if pod.active and node is not None and not node.unreachable:
                    return [node]
            return []
        live = [
            node
            for node in self.nodes
            if node.pool == event.pool and not node.terminated and not node.unreachable
        ]
        return live[: event.count or 1]

    def restart_app(self, service: str, pod_name: str, *, graceful: bool) -> None:
        """Restart the app of ``service``'s pod ``pod_name`` (an operator's act)."""
        for pod in self.deployments[service].pods:
            if pod.name == pod_name and not pod.deleted:
                self.kubelet.restart_app(pod, graceful=graceful)
                return

    def process_of(self, service: str, pod_name: str) -> Process | None:
        """The app process of ``service``'s pod ``pod_name`` now, if it runs one."""
        for pod in self.deployments[service].pods:
            if pod.name == pod_name and not pod.deleted:
                return pod.process
        return None

    def crash_app(self, service: str, pod_name: str) -> None:
        """The app of ``service``'s pod ``pod_name`` exits on its own (it aborted): the
        kubelet restarts it after the crash-loop back-off."""
        for pod in self.deployments[service].pods:
            if pod.name == pod_name and not pod.deleted:
                self.kubelet.restart_container(pod, "aborted")
                return

    def pods(self) -> list[Pod]:
        return [pod for deployment in self.deployments.values() for pod in deployment.pods]


def _describe(event: Event) -> str:
    """The fields a scenario event sets, as ``key=value`` pairs, for the timeline."""
    fields = event.model_dump(exclude_none=True, exclude={"at", "action"})
    return " ".join(f"{key}={value}" for key, value in fields.items())
