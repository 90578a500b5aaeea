"""The Istio mesh of a run: every pod's sidecar, the ingress gateway, and istiod's
configuration of them.

What istiod would compute for each proxy is resolved here from the scenario's routes
(a VirtualService plus DestinationRule per destination):

- a route without ``retries`` gets Istio's default policy (2 attempts, retry on
  connect-failure, refused-stream, unavailable, cancelled and 503), and
  ``attempts: 0`` turns retries off (``retry.go``);
- a route without ``loadBalancer`` gets LEAST_REQUEST, Istio's default since 1.14;
- locality failover (MeshConfig ``localityLbSetting``, on by default) applies only to
  routes with ``outlierDetection``.

Endpoint updates reach every proxy's cluster for the destination (EDS); the same
update also changes the size of every proxy's configuration, which is part of its
memory. The hub also keeps the counters of proxies that are gone, so that a service's
figures cover every pod it had.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fleetsim.engine.random import integers_from
from fleetsim.mesh.proxy import SIDECAR_READINESS_PERIOD, SidecarProxy
from fleetsim.mesh.retry import RetryPolicy
from fleetsim.mesh.route import NoHealthyUpstream, ProxyRoute
from fleetsim.mesh.upstream_cluster import UpstreamCluster
from fleetsim.scenario.kubernetes import Sidecar
from fleetsim.scenario.mesh import ENVOY_IDLE_TIMEOUT
from fleetsim.scenario.schema import Retries
from fleetsim.scenario.schema import Route as RouteSpec

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.fleet.request import Request
    from fleetsim.fleet.service import Service
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.metrics.events import EventLog
    from fleetsim.scenario.schema import Spec

ISTIO_DEFAULT_LOAD_BALANCER = "LEAST_REQUEST"
"""DestinationRule ``simple: UNSPECIFIED`` means LEAST_REQUEST since Istio 1.14."""
GATEWAY = "istio-ingressgateway"

# Counters a proxy keeps, summed per service over live and retired proxies.
SERVER_COUNTERS = ("connects_in", "app_connects", "restarts", "requests_in", "requests")


class EndpointFanout:
    """istiod's EDS for one service: the endpoint list and the clusters it is pushed to."""

    def __init__(self, mesh: ServiceMesh) -> None:
        self.mesh = mesh
        self.endpoints: list[Any] = []
        self.clusters: list[UpstreamCluster] = []

    def set_endpoints(self, endpoints: list[Any]) -> None:
        self.mesh.config_endpoints += len(endpoints) - len(self.endpoints)
        self.endpoints = list(endpoints)
        for cluster in self.clusters:
            cluster.set_endpoints(self.endpoints)


class GatewayEntry:
    """Where a traffic source sends: one of the ingress-gateway proxies, at random."""

    __slots__ = ("_draws", "routes")

    def __init__(self, routes: list[ProxyRoute], draws: Iterator[int]) -> None:
        self.routes = routes
        self._draws = draws

    def send(self, request: Request) -> None:
        route = self.routes[next(self._draws)]
        request.route = route  # type: ignore[assignment]
        route.send(request)


class ServiceMesh:
    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        spec: Spec,
        services: dict[str, Service],
        events: EventLog,
    ) -> None:
        assert spec.mesh is not None
        self.env = env
        self.streams = streams
        self.spec = spec
        self.config = spec.mesh
        self.proxy_model = spec.mesh.proxy
        self.services = services
        self.events = events
        self.route_specs = {route.destination: route for route in spec.routes}
        self.fanouts = {name: EndpointFanout(self) for name in services}
        self.proxies: dict[str, list[SidecarProxy]] = {name: [] for name in services}
        self.retired: dict[str, Counter[str]] = {name: Counter() for name in services}
        self.config_endpoints = 0
        self.kubelet: Kubelet | None = None
        self._unclosed = streams.uniform("mesh/unclosed-connections")
        self._readiness = streams.uniform("mesh/sidecar-readiness")
        self.empty = NoHealthyUpstream()
        self._default_sidecar = Sidecar()
        self.gateways = self._gateways()

    # --- configuration ---------------------------------------------------------------

    def route_spec(self, destination: str) -> RouteSpec:
        spec = self.route_specs.get(destination)
        return spec if spec is not None else RouteSpec(destination=destination)

    def retries(self, spec: RouteSpec) -> Retries | None:
        retries = spec.retries if spec.retries is not None else Retries.istio_default()
        return retries if retries.attempts > 0 else None

    @staticmethod
    def policy(spec: RouteSpec) -> str:
        if "load_balancer" in spec.model_fields_set:
            return spec.load_balancer
        return ISTIO_DEFAULT_LOAD_BALANCER

    def inbound_idle_timeout(self, service: str) -> float:
        spec = self.route_specs.get(service)
        return spec.connection_pool.http.idle_timeout if spec is not None else ENVOY_IDLE_TIMEOUT

    # --- proxies ---------------------------------------------------------------------

    def _gateways(self) -> list[SidecarProxy]:
        settings = self.config.ingress_gateway
        zones = self.spec.zones
        gateways = []
        for index in range(settings.replicas):
            proxy = SidecarProxy(
                self,
                f"{GATEWAY}-{index}",
                GATEWAY,
                zones[index % len(zones)],
                pod=None,
                concurrency=settings.concurrency or self.config.concurrency,
                memory_limit=None,
                inbound_idle_timeout=ENVOY_IDLE_TIMEOUT,
            )
            for traffic in self.spec.traffic:
                if traffic.target not in proxy.routes:
                    self._add_route(proxy, traffic.target)
            gateways.append(proxy)
        return gateways

    def entry(self, target: str) -> GatewayEntry:
        routes = [gateway.routes[target] for gateway in self.gateways]
        draws = integers_from(self.streams.generator(f"mesh/gateway/{target}"), len(routes))
        return GatewayEntry(routes, draws)

    def add_pod(self, pod: Pod) -> SidecarProxy:
        """The pod's sidecar starts: istiod sends it the configuration."""
        spec = pod.deployment.spec
        sidecar = spec.sidecar
        if sidecar is None:
            sidecar = self._default_sidecar
        concurrency = sidecar.concurrency or self.config.concurrency
        memory_limit = sidecar.resources.limits.memory
        proxy = SidecarProxy(
            self,
            pod.name,
            pod.service_name,
            pod.zone,
            pod=pod,
            concurrency=concurrency,
            memory_limit=memory_limit,
            inbound_idle_timeout=self.inbound_idle_timeout(pod.service_name),
        )
        for call in spec.calls:
            if call.service not in proxy.routes:
                self._add_route(proxy, call.service)
        pod.proxy = proxy
        self.proxies[pod.service_name].append(proxy)
        return proxy

    def _add_route(self, proxy: SidecarProxy, destination: str) -> None:
        spec = self.route_spec(destination)
        retries = self.retries(spec)
        cluster = UpstreamCluster(
            self.env,
            self.streams,
            proxy,
            destination,
            spec,
            policy=self.policy(spec),
            retries=retries,
            locality=(spec.locality_lb_setting or self.config.locality_lb_setting).enabled,
            empty=self.empty,
        )
        policy = None
        if retries is not None:
            jitter = self.streams.uniform(f"proxy/{proxy.name}/{destination}/retry-backoff")
            policy = RetryPolicy(retries, jitter)
        route = ProxyRoute(
            self.env,
            self.services[destination],
            cluster,
            policy,
            timeout=spec.timeout,
            workers=proxy.workers,
            setup_time=self.proxy_model.connection_setup_time,
            reselect=retries.retry_host_selection_attempts if retries is not None else 0,
        )
        fanout = self.fanouts[destination]
        cluster.set_endpoints(fanout.endpoints)
        fanout.clusters.append(cluster)
        cluster.start()
        proxy.clusters[destination] = cluster
        proxy.routes[destination] = route

    def remove_pod(self, pod: Pod) -> None:
        """The pod is gone: its proxy closes (or loses) its connections."""
        proxy = pod.proxy
        if proxy is None or proxy.removed:
            return
        share = 0.0
        if pod.deployment.spec.sidecar is not None:
            share = pod.deployment.spec.sidecar.unclosed_connections_on_exit
        proxy.shutdown(share, self._unclosed)
        self._retire(proxy)

    def _retire(self, proxy: SidecarProxy) -> None:
        _add_server_counters(self.retired[proxy.service], proxy)
        for destination, cluster in proxy.clusters.items():
            self.fanouts[destination].clusters.remove(cluster)
            _add_client_counters(self.retired[destination], cluster)
        self.proxies[proxy.service].remove(proxy)

    # --- the kubelet's side of a sidecar restart -------------------------------------

    def proxy_down(self, proxy: SidecarProxy) -> None:
        self.events.record("sidecar_restart", proxy.service)
        pod = proxy.pod
        if pod is None or self.kubelet is None:
            return
        pod.sidecar_ready = False
        if pod.container is not None:
            pod.container.pause()
        self.kubelet.update_ready(pod)

    def proxy_up(self, proxy: SidecarProxy) -> None:
        pod = proxy.pod
        if pod is None or self.kubelet is None:
            return
        if pod.container is not None:
            pod.container.resume()
        # Ready again at the sidecar readiness probe's next success.
        delay = next(self._readiness) * SIDECAR_READINESS_PERIOD
        self.env.schedule(delay, self._sidecar_ready, (proxy, proxy.epoch))

    def _sidecar_ready(self, argument: Any) -> None:
        proxy, epoch = argument
        pod = proxy.pod
        if epoch != proxy.epoch or proxy.removed or pod is None or self.kubelet is None:
            return
        pod.sidecar_ready = True
        self.kubelet.update_ready(pod)

    def record_ejection(self, destination: str) -> None:
        self.events.record("outlier_ejection", destination)

    # --- figures ---------------------------------------------------------------------

    def counters(self, service: str) -> Counter[str]:
        """Cumulative counters of ``service``: as a server (its proxies) and as a
        destination (every route to it)."""
        totals = Counter(self.retired[service])
        for proxy in self.proxies[service]:
            _add_server_counters(totals, proxy)
        for cluster in self.fanouts[service].clusters:
            _add_client_counters(totals, cluster)
        return totals


def _add_server_counters(totals: Counter[str], proxy: SidecarProxy) -> None:
    """What a proxy counted for its own service (inbound side, restarts, CPU)."""
    for key in SERVER_COUNTERS:
        totals[key] += getattr(proxy, key)
    totals["cpu_seconds_micro"] += int(proxy.cpu_seconds() * 1e6)


def _add_client_counters(totals: Counter[str], cluster: UpstreamCluster) -> None:
    """What a proxy counted towards one destination (retries, overflows, connects)."""
    totals["retries"] += cluster.proxy.routes[cluster.destination].retry_count
    totals["overflows"] += cluster.breakers.overflows
    totals["retry_overflows"] += cluster.breakers.retry_overflows
    totals["connects"] += cluster.connects
