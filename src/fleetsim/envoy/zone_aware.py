"""Envoy's zone-aware routing: keep requests in the caller's zone as far as the upstream's
hosts in that zone can take the caller's zone's share, and send the rest across zones.

Sources: Envoy ``docs/root/intro/arch_overview/upstream/load_balancing/zone_aware.rst``,
``cluster_runtime.rst`` (``upstream.zone_routing.*``), ``cluster.proto``
(``CommonLbConfig.ZoneAwareLbConfig``) and ``ZoneAwareLoadBalancerBase`` in
``source/common/upstream/load_balancer_impl.cc``.

Envoy needs the *local cluster*: the callers' own service, whose hosts per zone it
learns by EDS like any cluster (bootstrap ``cluster_manager.local_cluster_name``).
Istio sets no local cluster, so its sidecars never route this way (istio/istio#18500,
#35102 ask for it); a scenario turns it on per route with ``zoneAwareLbConfig`` to see
what it would do. Here the local cluster is the calling proxy's own service's ready
endpoints; a proxy of no service (the ingress gateway) has none.

Per priority-0 pick, with ``local%`` the share of the local cluster's hosts in each zone
and ``upstream%`` the share of the upstream's healthy (not ejected) hosts:

- No zone routing (every host of the priority, as without it) when the upstream spans
  fewer than two zones, the local cluster has no host in the proxy's zone, the two
  clusters span different numbers of zones, the upstream has fewer than
  ``minClusterSize`` healthy hosts (default 6), or the priority is in panic; and, drawn
  per request, for the ``100 - routingEnabled`` percent of picks (default 100 %: all
  picks route by zone).
- Direct: ``upstream%(local) >= local%(local)``: every pick goes to the local zone.
- Residual: the local zone takes ``upstream%(local) / local%(local)`` of the picks; the
  rest go to the other zones in proportion to their spare share
  ``max(0, upstream% - local%)``.

The state is recomputed when the upstream's hosts or ejections change and when the
local cluster's membership changes (checked at each pick: EDS replaces the list).
Within the chosen zone the route's policy picks a host, with one balancer per zone.
Locality failover (Istio's priorities) puts only the local zone in priority 0, so with
it zone-aware routing never has two zones to choose from, as in Envoy.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.envoy.load_balancer import LoadBalancer
    from fleetsim.scenario.mesh import ZoneAwareLbConfig


class LocalCluster(Protocol):
    """The calling service's endpoints, as EDS last gave them (istiod's fan-out)."""

    endpoints: list[Host]


def zone_shares(hosts: Sequence[Host]) -> dict[str, float]:
    """Share of ``hosts`` in each zone (empty when there are none)."""
    counts: dict[str, int] = {}
    for host in hosts:
        counts[host.zone] = counts.get(host.zone, 0) + 1
    total = len(hosts)
    return {zone: count / total for zone, count in counts.items()}


class ZoneRouting:
    """Where priority-0 picks go: the local zone, or the other zones by spare share.

    ``local_fraction`` is the share of picks kept in the local zone; the others go to
    ``spill_zones`` with cumulative weights ``spill_bounds``. None from :func:`plan`
    means no zone routing.
    """

    __slots__ = ("local_fraction", "spill_bounds", "spill_zones")

    def __init__(
        self, local_fraction: float, spill_zones: list[str], spill_bounds: list[float]
    ) -> None:
        self.local_fraction = local_fraction
        self.spill_zones = spill_zones
        self.spill_bounds = spill_bounds


def plan(
    zone: str | None,
    local: Sequence[Host],
    upstream_zones: set[str],
    healthy: Sequence[Host],
    min_cluster_size: int,
) -> ZoneRouting | None:
    """Envoy's routing state from the local cluster and the upstream's priority 0.

    ``upstream_zones`` are the zones of all the priority's hosts (ejected included, as
    Envoy keeps a locality whose hosts are all unhealthy); ``healthy`` its hosts that
    are not ejected.
    """
    if zone is None or len(upstream_zones) < 2:
        return None
    local_share = zone_shares(local)
    if local_share.get(zone, 0.0) == 0.0 or len(local_share) != len(upstream_zones):
        return None
    if len(healthy) < max(min_cluster_size, 1):
        return None
    upstream_share = zone_shares(healthy)
    mine = upstream_share.get(zone, 0.0)
    if mine >= local_share[zone]:
        return ZoneRouting(1.0, [], [])
    spill_zones = []
    spill_bounds = []
    total = 0.0
    for other in sorted(upstream_zones - {zone}):
        spare = upstream_share.get(other, 0.0) - local_share.get(other, 0.0)
        if spare > 0.0:
            total += spare
            spill_zones.append(other)
            spill_bounds.append(total)
    if not spill_zones:
        return ZoneRouting(1.0, [], [])
    return ZoneRouting(mine / local_share[zone], spill_zones, spill_bounds)


class ZoneAwarePicker:
    """Priority 0's pick with zone-aware routing, over one balancer per zone."""

    def __init__(
        self,
        config: ZoneAwareLbConfig,
        zone: str | None,
        local: LocalCluster,
        balancer_for: Callable[[str], LoadBalancer],
        draws: Iterator[float],
    ) -> None:
        self.config = config
        self.zone = zone
        self.local = local
        self.balancer_for = balancer_for
        self.draws = draws
        self.balancers: dict[str, LoadBalancer] = {}
        self.routing: ZoneRouting | None = None
        self._seen_local: list[Host] | None = None
        self._zones: set[str] = set()
        self._healthy: list[Host] = []
        self._all: Callable[[], Host] | None = None

    def build(
        self, level: Sequence[Host], healthy: Sequence[Host], all_pick: Callable[[], Host]
    ) -> Callable[[], Host]:
        """The pick for priority 0 (hosts ``level``, ``healthy`` not ejected); ``all_pick``
        balances over all of ``healthy``, as without zone routing."""
        self._all = all_pick
        self._zones = {host.zone for host in level}
        self._healthy = list(healthy)
        by_zone: dict[str, list[Host]] = {}
        for host in self._healthy:
            by_zone.setdefault(host.zone, []).append(host)
        for zone in self._zones | set(self.balancers):
            balancer = self.balancers.get(zone)
            if balancer is None:
                balancer = self.balancers[zone] = self.balancer_for(zone)
            balancer.set_hosts(by_zone.get(zone, []))
        self._replan()
        return self.pick

    def _replan(self) -> None:
        self._seen_local = self.local.endpoints
        self.routing = plan(
            self.zone,
            self._seen_local,
            self._zones,
            self._healthy,
            self.config.min_cluster_size,
        )

    def pick(self) -> Host:
        if self.local.endpoints is not self._seen_local:
            self._replan()  # the local cluster's membership changed (an EDS push)
        routing = self.routing
        assert self._all is not None
        if routing is None:
            return self._all()
        draws = self.draws
        enabled = self.config.routing_enabled
        if enabled < 100.0 and 100.0 * next(draws) >= enabled:
            return self._all()
        assert self.zone is not None
        if routing.local_fraction >= 1.0 or next(draws) < routing.local_fraction:
            return self.balancers[self.zone].pick()
        bounds = routing.spill_bounds
        index = bisect.bisect_right(bounds, next(draws) * bounds[-1])
        zone = routing.spill_zones[min(index, len(bounds) - 1)]
        return self.balancers[zone].pick()
