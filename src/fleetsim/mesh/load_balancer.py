"""Client-side load balancers, as Envoy defines them.

Source: Envoy ``api/envoy/config/cluster/v3/cluster.proto`` (``LbPolicy``) and
``docs/root/intro/arch_overview/upstream/load_balancing/load_balancers.rst``.

- ``ROUND_ROBIN`` (Envoy's default): hosts in turn, from a random starting point.
- ``RANDOM``: a uniformly random host.
- ``LEAST_REQUEST`` with equal weights: ``choice_count`` (default 2) hosts drawn at
  random, with replacement, and the one with the fewest active requests *as this load
  balancer counts them* wins (power of two choices); ties go to the first drawn.

``pick()`` returns an index into the host list the balancer was built with. For
``ROUND_ROBIN`` and ``RANDOM`` it is ``next`` bound to a C iterator, so a pick costs no
Python frame on the hot path.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator

from fleetsim.engine.random import RandomStreams

DEFAULT_CHOICE_COUNT = 2


class LoadBalancer:
    """Base: chooses one of ``hosts`` hosts; ``active`` counts requests per host."""

    tracks_active = False
    pick: Callable[[], int]

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self.active = [0] * hosts


class RoundRobin(LoadBalancer):
    """Hosts in turn from a random first host (Envoy randomises the start per worker)."""

    def __init__(self, hosts: int, streams: RandomStreams, name: str) -> None:
        super().__init__(hosts)
        first = int(streams.generator(name).integers(0, hosts))
        order = [*range(first, hosts), *range(first)]
        self.pick = functools.partial(next, itertools.cycle(order))


class Random(LoadBalancer):
    def __init__(self, hosts: int, streams: RandomStreams, name: str) -> None:
        super().__init__(hosts)
        self.pick = functools.partial(next, streams.integers(name, hosts))


class LeastRequest(LoadBalancer):
    """Envoy's unweighted LEAST_REQUEST: best of ``choice_count`` random hosts."""

    tracks_active = True

    def __init__(
        self,
        hosts: int,
        streams: RandomStreams,
        name: str,
        choice_count: int = DEFAULT_CHOICE_COUNT,
    ) -> None:
        super().__init__(hosts)
        self.choice_count = choice_count
        self._draws: Iterator[int] = streams.integers(name, hosts)
        self.pick = self._pick_least_request

    def _pick_least_request(self) -> int:
        draws = self._draws
        active = self.active
        best = next(draws)
        for _ in range(self.choice_count - 1):
            candidate = next(draws)
            if active[candidate] < active[best]:
                best = candidate
        return best


def make_load_balancer(policy: str, hosts: int, streams: RandomStreams, name: str) -> LoadBalancer:
    """The balancer for a route's ``loadBalancer`` policy name."""
    if policy == "ROUND_ROBIN":
        return RoundRobin(hosts, streams, name)
    if policy == "RANDOM":
        return Random(hosts, streams, name)
    if policy == "LEAST_REQUEST":
        return LeastRequest(hosts, streams, name)
    raise ValueError(f"unknown load balancer policy {policy!r}")
