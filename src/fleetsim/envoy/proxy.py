"""One Envoy: a pod's ``istio-proxy`` sidecar, or an ingress-gateway pod.

The proxy holds one upstream cluster and one route per destination its app calls
(:mod:`upstream_cluster`, :class:`~fleetsim.envoy.router.ProxyRoute`), and the
inbound side of its pod: the connections other proxies opened to it (downstream) and
its own connections to the app container (an HTTP/1.1 pool to localhost, one request
per connection at a time, closed after the inbound idle timeout).

Each request a proxy forwards runs on one of its ``concurrency`` worker threads (the
thread that accepted the connection it came on, uniformly at random here) and uses
that worker's pool to the chosen host, so a client proxy holds up to ``concurrency``
connections to every host it has talked to within the idle timeout.

Memory is a model: ``memoryBase`` + ``memoryPerConnection`` x open connections (both
directions, the app's included) + ``memoryPerEndpoint`` x the endpoints of every
service in the mesh (istiod sends every proxy the whole mesh's configuration unless a
Sidecar resource scopes it). Above the container's memory limit the kernel kills
Envoy (OOM): every connection is gone, nothing listens on the pod until Envoy is back
(``restartTime``), and the pod is unready until the sidecar's next readiness probe
passes. The app container keeps running and stays warm.

A connection's far end can vanish without a close (a peer that exited without its FIN
reaching here): the proxy then keeps it, idle, until its idle timeout closes it. That
is what makes a server proxy's connection count and memory climb after each release
of its clients when the idle timeout is long.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final, Protocol

from fleetsim.engine.random import integers_from
from fleetsim.envoy.connection_pool import Connection, ConnectionPool

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.router import ProxyRoute
    from fleetsim.envoy.upstream_cluster import UpstreamCluster
    from fleetsim.envoy.zone_aware import LocalCluster
    from fleetsim.scenario.mesh import ProxyModel

SIDECAR_READINESS_PERIOD: Final = 15.0
"""Istio's injected readiness probe on ``/healthz/ready`` (port 15021): period 15 s
since Istio 1.20 (upgrade notes)."""


class ProxyManager(Protocol):
    """What an Envoy needs from the mesh that runs it (``fleetsim.istio``): the clock and
    random streams, its model parameters, the size of the configuration it was sent, and
    someone to tell when it goes down, comes back, or ejects a host."""

    @property
    def env(self) -> Environment: ...

    @property
    def streams(self) -> RandomStreams: ...

    @property
    def proxy_model(self) -> ProxyModel: ...

    def config_bytes(self, scope: frozenset[str] | None) -> int:
        """Memory of the configuration a proxy scoped to ``scope`` holds (its clusters
        and endpoints; None = every service of the mesh)."""
        ...

    @property
    def fanouts(self) -> Mapping[str, LocalCluster]:
        """Each service's endpoints as EDS gives them: a proxy's own service's is its
        local cluster for zone-aware routing."""
        ...

    def proxy_down(self, proxy: SidecarProxy) -> None: ...

    def proxy_up(self, proxy: SidecarProxy) -> None: ...

    def record_ejection(self, destination: str) -> None: ...


class SidecarProxy:
    """An Envoy with its clusters, routes, connections, memory and restarts."""

    def __init__(
        self,
        mesh: ProxyManager,
        name: str,
        service: str,
        zone: str | None,
        *,
        concurrency: int,
        memory_limit: int | None,
        inbound_idle_timeout: float,
        scope: frozenset[str] | None = None,
    ) -> None:
        self.mesh = mesh
        self.scope = scope  # the services of its Sidecar resource; None = the whole mesh
        self.env = mesh.env
        self.name = name
        self.service = service
        self.zone = zone
        self.concurrency = concurrency
        self.memory_limit = memory_limit
        self.inbound_idle_timeout = inbound_idle_timeout
        generator = mesh.streams.generator(f"proxy/{name}/workers")
        self.workers = (
            integers_from(generator, concurrency) if concurrency > 1 else itertools.repeat(0)
        )
        self.clusters: dict[str, UpstreamCluster] = {}
        self.routes: dict[str, ProxyRoute] = {}
        self.epoch = 0  # bumped by each restart: connections from before are gone
        self.downstream = 0
        self.upstream = 0
        self.idle_timeout = inbound_idle_timeout  # for the app pool
        self.app_pool = ConnectionPool(self, None, None)
        self._app_busy: list[Connection] = []
        self.requests = 0  # requests sent out through this proxy
        self.requests_in = 0  # requests this proxy passed to its app
        self.connects_in = 0
        self.connects_out = 0
        self.app_connects = 0
        self.restarts = 0
        self.up = True
        self.removed = False

    # --- inbound -------------------------------------------------------------------

    def downstream_opened(self) -> None:
        self.downstream += 1
        self.connects_in += 1
        self._check_memory()

    def downstream_closed(self) -> None:
        if self.downstream > 0:
            self.downstream -= 1

    def orphan_connection(self) -> None:
        """A client's connection vanished without a close: keep it until idle timeout."""
        if self.inbound_idle_timeout > 0:
            self.env.schedule(self.inbound_idle_timeout, self._orphan_expired, self.epoch)

    def _orphan_expired(self, epoch: int) -> None:
        if epoch == self.epoch and not self.removed:
            self.downstream_closed()

    def app_acquire(self) -> None:
        self.requests_in += 1
        connection, _ = self.app_pool.acquire()
        self._app_busy.append(connection)

    def app_release(self) -> None:
        if self._app_busy:
            self.app_pool.release(self._app_busy.pop())

    # --- the pool owner interface (the app side) ------------------------------------

    def connection_opened(self, connection: Connection) -> None:
        self.app_connects += 1
        self._check_memory()

    def connection_closed(self, connection: Connection) -> None:
        pass

    # --- outbound ------------------------------------------------------------------

    def upstream_opened(self) -> None:
        self.upstream += 1
        self.connects_out += 1
        self._check_memory()

    def upstream_closed(self) -> None:
        self.upstream -= 1

    # --- resources -----------------------------------------------------------------

    @property
    def connections(self) -> int:
        """Open connections of this Envoy, both directions and the app's."""
        return self.downstream + self.upstream + self.app_pool.open

    @property
    def app_connections(self) -> int:
        return self.app_pool.open

    def cpu_seconds(self) -> float:
        """CPU Envoy spent so far: per request forwarded and per connection set up."""
        model = self.mesh.proxy_model
        requests = self.requests + self.requests_in
        connects = self.connects_in + self.connects_out + self.app_connects
        return requests * model.cpu_per_request + connects * model.cpu_per_connect

    def memory_bytes(self) -> int:
        model = self.mesh.proxy_model
        return (
            model.memory_base
            + model.memory_per_connection * self.connections
            + self.mesh.config_bytes(self.scope)
        )

    def _check_memory(self) -> None:
        if self.memory_limit is not None and self.up and self.memory_bytes() > self.memory_limit:
            self.restart()

    def restart(self) -> None:
        """OOM kill: the kernel kills Envoy; the kubelet restarts the container."""
        self.restarts += 1
        self.up = False
        self.epoch += 1
        self.downstream = 0
        for cluster in self.clusters.values():
            cluster.close_all()
        self.app_pool.close_all()
        self._app_busy.clear()
        self.mesh.proxy_down(self)
        self.env.schedule(self.mesh.proxy_model.restart_time, self._listening, self.epoch)

    def _listening(self, epoch: int) -> None:
        if epoch != self.epoch or self.removed:
            return
        self.up = True
        self.mesh.proxy_up(self)

    def shutdown(self, unclosed_share: float, draws: Iterator[float]) -> None:
        """The pod is gone: close (or lose) every connection."""
        self.removed = True
        for cluster in self.clusters.values():
            cluster.close_all(unclosed_share, draws)
            if cluster.outlier is not None:
                cluster.outlier.stop()
        self.app_pool.close_all()
        self._app_busy.clear()
        self.downstream = 0
