"""The EndpointSlice controller and the clients' view of a service's endpoints.

An endpoint is ready when its pod's Ready condition is true and the pod is not
terminating (``discovery/v1`` ``EndpointConditions``); clients (kube-proxy, or istiod
pushing EDS to every Envoy) route only to ready endpoints. A change reaches clients after
``spec.cluster.endpointPropagationDelay``: the hops kubelet -> API server -> EndpointSlice
controller -> istiod (debounce 100 ms to 10 s, ``PILOT_DEBOUNCE_AFTER``/``_MAX``) ->
Envoy are folded into that one delay, a parameter because no single default exists.
Changes within one instant are published together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.dataplane.container import AppContainer
    from fleetsim.dataplane.protocols import EndpointSubscriber
    from fleetsim.engine.environment import Environment
    from fleetsim.kubernetes.deployment import Deployment


class EndpointsController:
    """Publishes each service's ready endpoints to its subscriber: the shared client
    route, or in a mesh istiod's EDS fan-out to every proxy's cluster."""

    def __init__(
        self, env: Environment, delay: float, routes: Mapping[str, EndpointSubscriber]
    ) -> None:
        self.env = env
        self.delay = delay
        self.routes = routes
        self._pending: dict[tuple[str, float], list[AppContainer]] = {}
        self.updates = 0

    @staticmethod
    def ready_endpoints(deployment: Deployment) -> list[AppContainer]:
        return [pod.container for pod in deployment.pods if pod.ready and pod.container is not None]

    def publish_now(self, deployment: Deployment) -> None:
        route = self.routes.get(deployment.name)
        if route is not None:
            route.set_endpoints(self.ready_endpoints(deployment))

    def changed(self, deployment: Deployment) -> None:
        """A pod's readiness changed: clients see the new set after the delay."""
        at = self.env.now + self.delay
        key = (deployment.name, at)
        first = key not in self._pending
        self._pending[key] = self.ready_endpoints(deployment)
        if first:
            self.env.schedule_at(at, self._publish, key)

    def _publish(self, key: tuple[str, float]) -> None:
        endpoints = self._pending.pop(key)
        route = self.routes.get(key[0])
        if route is not None:
            self.updates += 1
            route.set_endpoints(endpoints)
