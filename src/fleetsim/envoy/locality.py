"""Locality failover and the panic threshold: how a cluster's hosts are split into
priorities and how much traffic each priority gets.

Sources: Envoy ``priority.rst``, ``overprovisioning.rst``, ``panic_threshold.rst``;
Istio ``localityLbSetting`` (MeshConfig, enabled by default) and
``applyOutlierDetection`` (failover takes effect only with outlier detection).

- With locality failover on, Istio gives the endpoints in the proxy's own zone
  priority 0 and the rest priority 1 (one region here, so zones are the localities).
  Without it every endpoint is priority 0.
- A priority's health is the share of its hosts not ejected, times the
  overprovisioning factor 1.4, capped at 100 %. Priority 0 takes its health in
  percent of the traffic, the next priority the rest up to its own health, and so on;
  when the healths add up to less than 100 % the loads are scaled up to 100 %.
- With ``zoneAwareLbConfig`` on the route, priority 0 picks by Envoy's zone-aware routing
  (:mod:`zone_aware`) unless it is in panic.
- A priority whose healthy share is below the panic threshold (Envoy 50 %, Istio's
  ``minHealthPercent`` default 0 when outlier detection is configured) balances over all
  of its hosts, ejected ones included. With no healthy host and no panic the cluster
  answers "no healthy upstream".
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

from fleetsim.envoy.load_balancer import LoadBalancer

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.envoy.zone_aware import ZoneAwarePicker

OVERPROVISIONING_FACTOR: Final = 1.4
ENVOY_PANIC_THRESHOLD: Final = 50.0


def split_by_zone(hosts: list[Host], zone: str | None) -> list[list[Host]]:
    """Priority 0: hosts in ``zone``; priority 1: the others."""
    local = [host for host in hosts if host.zone == zone]
    remote = [host for host in hosts if host.zone != zone]
    return [local, remote]


def priority_loads(levels: list[tuple[int, int]]) -> list[float]:
    """Share of traffic per priority from (healthy, total) hosts of each, summing to 1.

    All zeros when no priority has a healthy host.
    """
    health = [
        min(100.0, OVERPROVISIONING_FACTOR * 100.0 * healthy / total) if total else 0.0
        for healthy, total in levels
    ]
    total_health = sum(health)
    if total_health == 0.0:
        return [0.0 for _ in levels]
    if total_health < 100.0:
        return [value / total_health for value in health]
    loads = []
    remaining = 100.0
    for value in health:
        share = min(value, remaining)
        loads.append(share / 100.0)
        remaining -= share
    return loads


class PrioritySet:
    """Builds a cluster's pick function from its hosts, ejected hosts and localities."""

    def __init__(
        self,
        balancers: list[LoadBalancer],
        draws: Iterator[float],
        *,
        zone: str | None,
        locality: bool,
        panic_threshold: float,
        empty: Host,
        zone_aware: ZoneAwarePicker | None = None,
    ) -> None:
        self.balancers = balancers  # one per priority (two when locality is on)
        self.draws = draws
        self.zone = zone
        self.locality = locality
        self.panic_threshold = panic_threshold
        self.empty = empty
        self.zone_aware = zone_aware
        self.loads: list[float] = [1.0]
        self.panic = False

    def build(self, hosts: list[Host], ejected: set[Host]) -> Callable[[], Host]:
        levels = split_by_zone(hosts, self.zone) if self.locality else [hosts]
        counts: list[tuple[int, int]] = []
        self.panic = False
        first: tuple[list[Host], bool] | None = None  # priority 0: healthy hosts, panic
        for balancer, level in zip(self.balancers, levels, strict=False):
            healthy = [host for host in level if host not in ejected] if ejected else level
            panic = bool(level) and 100.0 * len(healthy) / len(level) < self.panic_threshold
            if panic:
                healthy = level  # panic: ignore health in this priority
                self.panic = True
            balancer.set_hosts(healthy)
            counts.append((len(healthy), len(level)))
            if first is None:
                first = (healthy, panic)
        self.loads = priority_loads(counts)
        picks = [balancer.pick for balancer in self.balancers[: len(levels)]]
        if self.zone_aware is not None and first is not None and not first[1]:
            picks[0] = self.zone_aware.build(levels[0], first[0], picks[0])
        return self._picker(picks)

    def _picker(self, picks: list[Callable[[], Host]]) -> Callable[[], Host]:
        loads = self.loads
        if sum(loads) == 0.0:
            return functools.partial(next, itertools.repeat(self.empty))
        for pick, load in zip(picks, loads, strict=True):
            if load >= 1.0:
                return pick
        cumulative = list(itertools.accumulate(loads))
        draws = self.draws

        def pick_by_priority() -> Host:
            draw = next(draws)
            for pick, bound in zip(picks, cumulative, strict=True):
                if draw < bound:
                    return pick()
            return picks[-1]()

        return pick_by_priority
