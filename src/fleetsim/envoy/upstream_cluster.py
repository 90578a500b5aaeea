"""One proxy's upstream cluster: its view of a destination service's endpoints.

In Envoy every proxy holds, for each service, a cluster with the endpoints istiod last
pushed (EDS), its own load-balancer state, outlier detector, circuit breakers and
connection pools. Nothing of it is shared between proxies, so two proxies can disagree
about which hosts are healthy, and a proxy keeps using what it was last told.

The cluster picks a host (load balancer over the priorities of :mod:`locality`, ejected
hosts left out, by zone first with :mod:`zone_aware` routing), hands out connections
from the worker's pool to that host, and counts requests, connections and overflows.
When a host leaves the endpoint list, its pooled connections are closed, as Envoy does
when a host goes away.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from fleetsim.envoy.circuit_breaker import CircuitBreakers
from fleetsim.envoy.connection_pool import Connection, ConnectionPool
from fleetsim.envoy.load_balancer import make_load_balancer
from fleetsim.envoy.locality import ENVOY_PANIC_THRESHOLD, PrioritySet
from fleetsim.envoy.outlier_detection import OutlierDetector
from fleetsim.envoy.zone_aware import ZoneAwarePicker

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.proxy import SidecarProxy
    from fleetsim.scenario.schema import Retries
    from fleetsim.scenario.schema import Route as RouteSpec


class UpstreamCluster:
    """A destination as one proxy sees it."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        proxy: SidecarProxy,
        destination: str,
        spec: RouteSpec,
        *,
        policy: str,
        retries: Retries | None,
        locality: bool,
        empty: Host,
    ) -> None:
        self.env = env
        self.proxy = proxy
        self.destination = destination
        self.empty = empty
        name = f"proxy/{proxy.name}/{destination}"
        self.active: dict[Host, int] = {}
        detection = spec.outlier_detection
        levels = 2 if locality and detection is not None else 1
        balancers = [
            make_load_balancer(
                policy,
                streams,
                f"{name}/load-balancer/{level}",
                empty,
                active=self.active,
                choice_count=spec.least_request_lb_config.choice_count,
            )
            for level in range(levels)
        ]
        zone_aware = None
        local = proxy.mesh.fanouts.get(proxy.service)
        if spec.zone_aware_lb_config is not None and local is not None:
            zone_aware = ZoneAwarePicker(
                spec.zone_aware_lb_config,
                proxy.zone,
                local,
                lambda zone: make_load_balancer(
                    policy,
                    streams,
                    f"{name}/load-balancer/zone/{zone}",
                    empty,
                    active=self.active,
                    choice_count=spec.least_request_lb_config.choice_count,
                ),
                streams.uniform(f"{name}/zone-routing"),
            )
        self.priorities = PrioritySet(
            balancers,
            streams.uniform(f"{name}/priority"),
            zone=proxy.zone,
            locality=levels == 2,
            panic_threshold=(
                ENVOY_PANIC_THRESHOLD if detection is None else float(detection.min_health_percent)
            ),
            empty=empty,
            zone_aware=zone_aware,
        )
        self.outlier: OutlierDetector | None = None
        if detection is not None:
            self.outlier = OutlierDetector(env, detection, self._ejection_changed)
        http = spec.connection_pool.http
        self.http2 = http.h2_upgrade_policy == "UPGRADE"
        self.max_streams = http.max_concurrent_streams if self.http2 else 1
        self.max_requests_per_connection = http.max_requests_per_connection
        self.idle_timeout = http.idle_timeout
        self.breakers = CircuitBreakers(spec.connection_pool, retries)
        self.endpoints: list[Host] = []
        self.pools: dict[Host, list[ConnectionPool | None]] = {}
        self.open_connections = 0
        self.active_requests = 0
        self.active_retries = 0
        self.connects = 0
        self.pick = self.priorities.build([], set())

    def start(self) -> None:
        if self.outlier is not None:
            self.outlier.start()

    # --- membership ----------------------------------------------------------------

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        """An EDS push: the destination's ready endpoints, as istiod last saw them."""
        live = set(endpoints)
        for host in [h for h in self.pools if h not in live]:
            for pool in self.pools.pop(host):
                if pool is not None:
                    pool.close_all()
        for host in [h for h, count in self.active.items() if count <= 0 and h not in live]:
            del self.active[host]
        self.endpoints = list(endpoints)
        if self.outlier is not None:
            self.outlier.set_hosts(self.endpoints)
        self._rebuild()

    def _rebuild(self) -> None:
        ejected = self.outlier.ejected if self.outlier is not None else set()
        self.pick = self.priorities.build(self.endpoints, ejected)

    def _ejection_changed(self, host: Host, ejected: bool) -> None:
        if ejected:
            self.proxy.mesh.record_ejection(self.destination)
        self._rebuild()

    # --- connections ---------------------------------------------------------------

    def pool(self, host: Host, worker: int) -> ConnectionPool:
        pools = self.pools.get(host)
        if pools is None:
            pools = self.pools[host] = [None] * self.proxy.concurrency
        pool = pools[worker]
        if pool is None:
            pool = pools[worker] = ConnectionPool(
                self,
                host,
                host.inbound,
                max_streams=self.max_streams,
                max_requests=self.max_requests_per_connection,
            )
        return pool

    def connection_opened(self, connection: Connection) -> None:
        self.open_connections += 1
        self.connects += 1
        self.proxy.upstream_opened()
        peer = connection.peer
        if peer is not None:
            peer.downstream_opened()

    def connection_closed(self, connection: Connection) -> None:
        self.open_connections -= 1
        self.proxy.upstream_closed()
        peer = connection.peer
        if peer is not None and not connection.stale:
            peer.downstream_closed()

    def close_all(self, unclosed_share: float = 0.0, draws: Iterator[float] | None = None) -> None:
        """Close every connection; a share of them vanish without the peer noticing."""
        for pools in self.pools.values():
            for pool in pools:
                if pool is None:
                    continue
                if unclosed_share > 0.0 and draws is not None:
                    for connection in list(pool.live):
                        peer = connection.peer
                        if (
                            peer is not None
                            and not connection.stale
                            and next(draws) < unclosed_share
                        ):
                            peer.orphan_connection()
                            connection.peer = None
                pool.close_all()
        self.pools.clear()
