"""A service: its running app containers and the counters the summary reads.

Counters here cover the current metrics interval; the collector folds them into the
run's totals at each interval end. ``in_system`` counts attempts queued or in service;
the collector samples it at random instants for the time-average (see
``summary.collector``). Busy worker-time is the sum of the service times started in the
interval, so an attempt that straddles an interval end counts in the interval where it
started (over a run, off by at most one service time per worker).

Pods come and go (autoscaling, rollouts, restarts), so capacity is integrated over time
(``capacity_time``: worker-seconds of running app containers) and the attempts of
containers that are gone are kept in ``retired_received``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.metrics.histogram import Histogram

if TYPE_CHECKING:
    from fleetsim.dataplane.container import AppContainer
    from fleetsim.scenario.schema import Service as ServiceSpec

UNBOUNDED: Final = 1 << 62


class Service:
    """A set of identical pods behind one name."""

    __slots__ = (
        "_capacity_since",
        "busy_time",
        "capacity_time",
        "containers",
        "error_rate",
        "errors",
        "gone_tries",
        "in_system",
        "latency",
        "lost",
        "name",
        "queue_limit",
        "rejected",
        "reset",
        "retired_received",
        "spec",
        "unavailable",
        "workers",
    )

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.workers = spec.workers
        self.queue_limit = UNBOUNDED if spec.queue_limit is None else spec.queue_limit
        self.error_rate = spec.error_rate
        self.containers: list[AppContainer] = []  # running app containers
        self.in_system = 0
        self.busy_time = 0.0
        self.capacity_time = 0.0
        self._capacity_since = 0.0
        self.retired_received = 0
        self.errors = 0
        self.rejected = 0
        self.unavailable = 0
        self.reset = 0  # attempts ended by a kill (queued, or in service): Envoy's 503 UC
        self.lost = 0  # attempts held by, or sent to, a lost container: never answered
        self.gone_tries = 0  # tries that reached a stopped or lost container (never reset)
        self.latency = Histogram()

    def total_received(self) -> int:
        """Attempts that reached an app container of this service, ever."""
        return self.retired_received + sum(c.received for c in self.containers)

    @property
    def capacity(self) -> int:
        """Workers over all running app containers."""
        return self.workers * len(self.containers)

    def accrue_capacity(self, now: float) -> None:
        """Integrate worker-seconds up to ``now`` (call before the container set changes)."""
        self.capacity_time += self.capacity * (now - self._capacity_since)
        self._capacity_since = now

    def add_container(self, container: AppContainer, now: float) -> None:
        self.accrue_capacity(now)
        self.containers.append(container)

    def retire_container(self, container: AppContainer, now: float) -> None:
        """The container stopped: keep its attempts, drop its capacity."""
        self.accrue_capacity(now)
        if container in self.containers:
            self.containers.remove(container)
            self.retired_received += container.received

    def reset_interval(self, now: float) -> None:
        """Start a new metrics interval."""
        self.busy_time = 0.0
        self.accrue_capacity(now)
        self.capacity_time = 0.0
        self.errors = 0
        self.rejected = 0
        self.unavailable = 0
        self.reset = 0
        self.lost = 0
        self.latency.reset()
