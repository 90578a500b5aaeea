"""The Istio mesh of a run: every pod's sidecar, the ingress gateway, and the sidecar
life cycle as the kubelet sees it.

:class:`ServiceMesh` is what the other rooms talk to. To Kubernetes it is the sidecar
injector (``fleetsim.kubernetes.sidecars``): a pod's first app container gets an Envoy
in front of it, configured by istiod (:mod:`~fleetsim.istio.istiod`), and the pod's
removal shuts it down. To each Envoy it is the manager that runs it
(``fleetsim.envoy.proxy.ProxyManager``): when Envoy is OOM-killed, the kubelet restarts
the ``istio-proxy`` container, the app is unreachable meanwhile, and the pod is unready
until the sidecar's readiness probe next passes.

It also keeps the counters of proxies that are gone, so that a service's figures cover
every pod it had.

With ``spec.mesh.istiod`` it also holds istiod's pods and each proxy's xDS stream
(:mod:`~fleetsim.istio.xds`): a proxy connects when it starts and leaves when its pod
is removed or its node is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from fleetsim.envoy.proxy import SIDECAR_READINESS_PERIOD, SidecarProxy
from fleetsim.envoy.route_factory import proxy_route
from fleetsim.envoy.router import NoHealthyUpstream
from fleetsim.istio.ingress_gateway import GATEWAY, GatewayEntry, gateway_entry
from fleetsim.istio.istiod import Istiod
from fleetsim.istio.xds import XdsControlPlane
from fleetsim.scenario.kubernetes import Sidecar
from fleetsim.scenario.mesh import ENVOY_IDLE_TIMEOUT

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Router
    from fleetsim.dataplane.service import Service
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.upstream_cluster import UpstreamCluster
    from fleetsim.istio.istiod import EndpointFanout
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.node import Node
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.metrics.events import EventLog
    from fleetsim.scenario.mesh import ProxyModel
    from fleetsim.scenario.schema import Spec

SERVER_COUNTERS: Final = ("connects_in", "app_connects", "restarts", "requests_in", "requests")
"""Counters a proxy keeps, summed per service over live and retired proxies."""


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
        self._env = env
        self._streams = streams
        self.spec = spec
        self.config = spec.mesh
        self._proxy_model = spec.mesh.proxy
        self.services = services
        self.events = events
        self.istiod = Istiod(spec.mesh, spec.routes, services)
        self.xds: XdsControlPlane | None = None  # istiod as pods (spec.mesh.istiod)
        if spec.mesh.istiod is not None:
            self.xds = XdsControlPlane(env, streams, spec.mesh.istiod, self.istiod.fanouts, events)
            self.istiod.push_path = self.xds
        self.proxies: dict[str, list[SidecarProxy]] = {name: [] for name in services}
        self.retired: dict[str, Counter[str]] = {name: Counter() for name in services}
        self.kubelet: Kubelet | None = None  # set once the cluster exists
        self._pod_proxies: dict[Pod, SidecarProxy] = {}
        self._proxy_pods: dict[SidecarProxy, Pod] = {}
        self._unclosed = streams.uniform("mesh/unclosed-connections")
        self._readiness = streams.uniform("mesh/sidecar-readiness")
        self.empty = NoHealthyUpstream()
        self._default_sidecar = Sidecar()
        self.gateways = self._gateways()
        if self.xds is not None:
            for gateway in self.gateways:
                self.xds.connect(gateway)

    # --- what an Envoy asks of the mesh (envoy.proxy.ProxyManager) -------------------

    @property
    def env(self) -> Environment:
        return self._env

    @property
    def streams(self) -> RandomStreams:
        return self._streams

    @property
    def proxy_model(self) -> ProxyModel:
        return self._proxy_model

    def config_bytes(self, scope: frozenset[str] | None) -> int:
        """Without a ``Sidecar`` resource a proxy is sent a cluster and the endpoints of
        every service of the mesh, the ones the scenario does not model included
        (``spec.mesh.otherServices``); with one, only those of its egress hosts."""
        model = self._proxy_model
        clusters, endpoints = self.config_size(scope)
        return model.memory_per_cluster * clusters + model.memory_per_endpoint * endpoints

    def scope_of(self, service: str) -> frozenset[str] | None:
        """The egress scope of ``service``'s proxies (its pods' ``Sidecar`` resource)."""
        for spec in self.spec.services:
            if spec.name == service and spec.sidecar is not None:
                return _frozen(spec.sidecar.egress_scope())
        return None

    def config_size(self, scope: frozenset[str] | None) -> tuple[int, int]:
        """(clusters, endpoints) in the configuration of a proxy scoped to ``scope``."""
        if scope is None:
            other = self.config.other_services
            return (
                len(self.istiod.fanouts) + other.count,
                self.istiod.config_endpoints + other.count * other.endpoints_per_service,
            )
        fanouts = self.istiod.fanouts
        return len(scope), sum(len(fanouts[name].endpoints) for name in scope)

    @property
    def fanouts(self) -> dict[str, EndpointFanout]:
        """istiod's EDS per service: what the endpoints controller publishes to."""
        return self.istiod.fanouts

    def record_ejection(self, destination: str) -> None:
        self.events.record("outlier_ejection", destination)

    # --- proxies -------------------------------------------------------------------

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
        """Where external traffic to ``target`` goes: the ingress gateway."""
        return gateway_entry(self.gateways, target, self._streams)

    def _add_route(self, proxy: SidecarProxy, destination: str) -> None:
        istiod = self.istiod
        spec = istiod.route_spec(destination)
        route = proxy_route(
            self._env,
            self._streams,
            proxy,
            self.services[destination],
            spec,
            policy=istiod.policy(spec),
            retries=istiod.retries(spec),
            locality=istiod.locality(spec),
            empty=self.empty,
            setup_time=self._proxy_model.connection_setup_time,
        )
        cluster = route.cluster
        fanout = istiod.fanouts[destination]
        cluster.set_endpoints(fanout.endpoints)
        fanout.clusters.append(cluster)
        cluster.start()
        proxy.clusters[destination] = cluster
        proxy.routes[destination] = route

    # --- the sidecar injector (kubernetes.sidecars.SidecarInjector) ------------------

    def proxy_of(self, pod: Pod) -> SidecarProxy | None:
        """The pod's proxy, if its sidecar has started."""
        return self._pod_proxies.get(pod)

    def inbound_proxy(self, pod: Pod) -> SidecarProxy:
        proxy = self._pod_proxies.get(pod)
        if proxy is None:
            proxy = self._add_pod(pod)
            if self.xds is not None:
                self.xds.connect(proxy)
        elif self.xds is not None and proxy not in self.xds.clients:
            # Back after its node was lost: pilot-agent starts again, a new stream.
            self.xds.connect(proxy, returning=True)
        return proxy

    def outbound_routes(self, pod: Pod) -> Mapping[str, Router]:
        return self.inbound_proxy(pod).routes

    def _add_pod(self, pod: Pod) -> SidecarProxy:
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
            concurrency=concurrency,
            memory_limit=memory_limit,
            inbound_idle_timeout=self.istiod.inbound_idle_timeout(pod.service_name),
            scope=_frozen(sidecar.egress_scope()),
        )
        for call in spec.calls:
            if call.service not in proxy.routes:
                self._add_route(proxy, call.service)
        self._pod_proxies[pod] = proxy
        self._proxy_pods[proxy] = pod
        self.proxies[pod.service_name].append(proxy)
        return proxy

    def pod_removed(self, pod: Pod) -> None:
        """The pod is gone: its proxy closes (or loses) its connections."""
        if self.xds is not None and not pod.deployment.sidecar_injected:
            self.xds.pod_removed(pod.name)  # an istiod pod, deleted gracefully
            return
        proxy = self._pod_proxies.get(pod)
        if proxy is None or proxy.removed:
            return
        share = 0.0
        if pod.deployment.spec.sidecar is not None:
            share = pod.deployment.spec.sidecar.unclosed_connections_on_exit
        proxy.shutdown(share, self._unclosed)
        self._retire(proxy)
        if self.xds is not None:
            self.xds.disconnect(proxy)

    def node_lost(self, node: Node) -> None:
        """A node died without a close: its proxies' streams and its istiod pods with it."""
        if self.xds is None:
            return
        for pod in node.pods:
            proxy = self._pod_proxies.get(pod)
            if proxy is not None:
                self.xds.disconnect(proxy)
        self.xds.node_lost()

    def _retire(self, proxy: SidecarProxy) -> None:
        _add_server_counters(self.retired[proxy.service], proxy)
        for destination, cluster in proxy.clusters.items():
            self.istiod.fanouts[destination].clusters.remove(cluster)
            _add_client_counters(self.retired[destination], cluster)
        self.proxies[proxy.service].remove(proxy)

    # --- a sidecar restart, as the kubelet handles it --------------------------------

    def proxy_down(self, proxy: SidecarProxy) -> None:
        self.events.record("sidecar_restart", proxy.service)
        pod = self._proxy_pods.get(proxy)
        if pod is None or self.kubelet is None:
            return
        self.kubelet.sidecar_stopped(pod)

    def proxy_up(self, proxy: SidecarProxy) -> None:
        pod = self._proxy_pods.get(proxy)
        if pod is None or self.kubelet is None:
            return
        self.kubelet.sidecar_listening(pod)
        # Ready again at the sidecar readiness probe's next success.
        delay = next(self._readiness) * SIDECAR_READINESS_PERIOD
        self._env.schedule(delay, self._sidecar_ready, (proxy, proxy.epoch))

    def _sidecar_ready(self, argument: tuple[SidecarProxy, int]) -> None:
        proxy, epoch = argument
        pod = self._proxy_pods.get(proxy)
        if epoch != proxy.epoch or proxy.removed or pod is None or self.kubelet is None:
            return
        self.kubelet.set_sidecar_ready(pod, True)

    # --- figures -------------------------------------------------------------------

    def counters(self, service: str) -> Counter[str]:
        """Cumulative counters of ``service``: as a server (its proxies) and as a
        destination (every route to it)."""
        totals = Counter(self.retired[service])
        for proxy in self.proxies[service]:
            _add_server_counters(totals, proxy)
        for cluster in self.istiod.fanouts[service].clusters:
            _add_client_counters(totals, cluster)
        return totals


def _frozen(scope: set[str] | None) -> frozenset[str] | None:
    return None if scope is None else frozenset(scope)


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
