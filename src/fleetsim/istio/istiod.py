"""istiod: what it sends each proxy — the configuration of its routes and the endpoints
of every service (EDS).

The configuration of a route is resolved here from the scenario's routes (a
VirtualService plus DestinationRule per destination), with Istio's defaults where the
route is silent:

- a route without ``retries`` gets Istio's default policy (2 attempts, retry on
  connect-failure, refused-stream, unavailable, cancelled and 503), and ``attempts: 0``
  turns retries off (``istio/istio`` ``pilot/pkg/networking/core/route/retry/retry.go``);
- a route without ``loadBalancer`` gets LEAST_REQUEST, Istio's default since 1.14;
- locality failover (MeshConfig ``localityLbSetting``, on by default) applies only to
  routes with ``outlierDetection`` (``applyOutlierDetection``).

An endpoint update of a service reaches every proxy's cluster for that service at once
(the push), unless ``spec.mesh.istiod`` models istiod as pods with a push path of
their own (:mod:`fleetsim.istio.xds`); it also changes the size of every proxy's
configuration, which is part of its memory, since without a ``Sidecar`` resource every
proxy is sent the whole mesh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from fleetsim.scenario.mesh import ENVOY_IDLE_TIMEOUT
from fleetsim.scenario.schema import Retries
from fleetsim.scenario.schema import Route as RouteSpec

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.envoy.upstream_cluster import UpstreamCluster
    from fleetsim.scenario.mesh import Mesh

ISTIO_DEFAULT_LOAD_BALANCER: Final = "LEAST_REQUEST"
"""DestinationRule ``simple: UNSPECIFIED`` means LEAST_REQUEST since Istio 1.14."""


class PushPath(Protocol):
    """istiod's pods and their xDS streams (:mod:`fleetsim.istio.xds`): what carries a
    published endpoint list to each proxy when istiod is modelled as pods."""

    def published(self, fanout: EndpointFanout) -> None: ...


class EndpointFanout:
    """istiod's EDS for one service: the endpoint list and the clusters it is pushed to."""

    def __init__(self, istiod: Istiod, name: str = "") -> None:
        self.istiod = istiod
        self.name = name
        self.endpoints: list[Host] = []
        self.clusters: list[UpstreamCluster] = []
        self.version = 0  # bumped by each published list

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        """The endpoints controller published a new list: push it to every proxy."""
        self.istiod.config_endpoints += len(endpoints) - len(self.endpoints)
        self.endpoints = list(endpoints)
        self.version += 1
        push_path = self.istiod.push_path
        if push_path is not None:
            push_path.published(self)
            return
        for cluster in self.clusters:
            cluster.set_endpoints(self.endpoints)


class Istiod:
    """The mesh's control plane: route configuration and endpoint pushes."""

    def __init__(self, config: Mesh, routes: Iterable[RouteSpec], services: Iterable[str]) -> None:
        self.config = config
        self.route_specs = {route.destination: route for route in routes}
        self.fanouts = {name: EndpointFanout(self, name) for name in services}
        self.config_endpoints = 0  # endpoints in every proxy's configuration
        self.push_path: PushPath | None = None  # None: every push lands at once

    def route_spec(self, destination: str) -> RouteSpec:
        spec = self.route_specs.get(destination)
        return spec if spec is not None else RouteSpec(destination=destination)

    @staticmethod
    def retries(spec: RouteSpec) -> Retries | None:
        retries = spec.retries if spec.retries is not None else Retries.istio_default()
        return retries if retries.attempts > 0 else None

    @staticmethod
    def policy(spec: RouteSpec) -> str:
        if "load_balancer" in spec.model_fields_set:
            return spec.load_balancer
        return ISTIO_DEFAULT_LOAD_BALANCER

    def locality(self, spec: RouteSpec) -> bool:
        return (spec.locality_lb_setting or self.config.locality_lb_setting).enabled

    def inbound_idle_timeout(self, service: str) -> float:
        """The idle timeout a service's own sidecar applies to the connections it accepts."""
        spec = self.route_specs.get(service)
        return spec.connection_pool.http.idle_timeout if spec is not None else ENVOY_IDLE_TIMEOUT
