"""Client-side load balancers, as Envoy defines them.

Source: Envoy ``api/envoy/config/cluster/v3/cluster.proto`` (``LbPolicy``) and
``docs/root/intro/arch_overview/upstream/load_balancing/load_balancers.rst``.

- ``ROUND_ROBIN`` (Envoy's default): hosts in turn, from a random starting point.
- ``RANDOM``: a uniformly random host.
- ``LEAST_REQUEST`` with equal weights: ``choice_count`` (default 2) hosts drawn at
  random, with replacement, and the one with the fewest active requests *as this load
  balancer counts them* wins (power of two choices); ties go to the first drawn.

The host list is the client's current view of the service's ready endpoints and
changes during a run (``set_hosts``), as Envoy rebuilds its load balancer on an EDS
update. ``pick()`` returns a host. For ``ROUND_ROBIN`` and ``RANDOM`` it is ``next``
bound to a C iterator, so a pick costs no Python frame on the hot path. An empty list
picks the ``empty`` host given at construction (the route's "no healthy upstream").
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from fleetsim.engine.random import RandomStreams, integers_from

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host

DEFAULT_CHOICE_COUNT: Final = 2


class LoadBalancer:
    """Base: chooses one of ``hosts``; ``active`` counts requests per host."""

    tracks_active = False
    pick: Callable[[], Host]

    def __init__(
        self,
        streams: RandomStreams,
        name: str,
        empty: Host | None = None,
        active: dict[Host, int] | None = None,
    ) -> None:
        self._generator = streams.generator(name)
        self.empty = empty
        self.hosts: list[Host] = []
        # Active requests per host; shared by the balancers of one cluster's priorities.
        self.active: dict[Host, int] = {} if active is None else active
        self.pick = functools.partial(next, itertools.repeat(empty))

    def set_hosts(self, hosts: Sequence[Host]) -> None:
        """Take a new host list (an endpoint update)."""
        self.hosts = list(hosts)
        if not self.hosts:
            self.pick = functools.partial(next, itertools.repeat(self.empty))
        else:
            self._rebuild()

    def _rebuild(self) -> None:
        raise NotImplementedError


class RoundRobin(LoadBalancer):
    """Hosts in turn from a random first host (Envoy randomises the start per worker)."""

    def _rebuild(self) -> None:
        hosts = self.hosts
        first = int(self._generator.integers(0, len(hosts)))
        order = [*hosts[first:], *hosts[:first]]
        self.pick = functools.partial(next, itertools.cycle(order))


class Random(LoadBalancer):
    def _rebuild(self) -> None:
        hosts = self.hosts
        draws = integers_from(self._generator, len(hosts))
        self.pick = functools.partial(next, map(hosts.__getitem__, draws))


class LeastRequest(LoadBalancer):
    """Envoy's unweighted LEAST_REQUEST: best of ``choice_count`` random hosts."""

    tracks_active = True

    def __init__(
        self,
        streams: RandomStreams,
        name: str,
        empty: Host | None = None,
        active: dict[Host, int] | None = None,
        choice_count: int = DEFAULT_CHOICE_COUNT,
    ) -> None:
        super().__init__(streams, name, empty, active)
        self.choice_count = choice_count
        self._draws: Iterator[int] = iter(())

    def _rebuild(self) -> None:
        self._draws = integers_from(self._generator, len(self.hosts))
        self.pick = self._pick_least_request

    def _pick_least_request(self) -> Host:
        draws = self._draws
        hosts = self.hosts
        active = self.active
        best = hosts[next(draws)]
        for _ in range(self.choice_count - 1):
            candidate = hosts[next(draws)]
            if active.get(candidate, 0) < active.get(best, 0):
                best = candidate
        return best


def make_load_balancer(
    policy: str,
    streams: RandomStreams,
    name: str,
    empty: Host | None = None,
    *,
    active: dict[Host, int] | None = None,
    choice_count: int = DEFAULT_CHOICE_COUNT,
) -> LoadBalancer:
    """The balancer for a route's ``loadBalancer`` policy name, with no hosts yet."""
    if policy == "ROUND_ROBIN":
        return RoundRobin(streams, name, empty, active)
    if policy == "RANDOM":
        return Random(streams, name, empty, active)
    if policy == "LEAST_REQUEST":
        return LeastRequest(streams, name, empty, active, choice_count)
    raise ValueError(f"unknown load balancer policy {policy!r}")
