"""A service: its pods and the counters the summary reads.

Counters here cover the current metrics interval; the collector folds them into the
run's totals at each interval end. ``in_system`` counts attempts queued or in service;
the collector samples it at random instants for the time-average (see
``metrics.collector``). Busy worker-time is the sum of the service times started in the
interval, so an attempt that straddles an interval end counts in the interval where it
started (over a run, off by at most one service time per worker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.metrics.histogram import Histogram

if TYPE_CHECKING:
    from fleetsim.fleet.pod import Pod
    from fleetsim.scenario.schema import Service as ServiceSpec

UNBOUNDED = 1 << 62


class Service:
    """A set of identical pods behind one name."""

    __slots__ = (
        "busy_time",
        "error_rate",
        "errors",
        "in_system",
        "latency",
        "name",
        "pods",
        "queue_limit",
        "received_before",
        "rejected",
        "spec",
        "workers",
    )

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.workers = spec.workers
        self.queue_limit = UNBOUNDED if spec.queue_limit is None else spec.queue_limit
        self.error_rate = spec.error_rate
        self.pods: list[Pod] = []
        self.in_system = 0
        self.busy_time = 0.0
        self.received_before = 0
        self.errors = 0
        self.rejected = 0
        self.latency = Histogram()

    def received(self) -> int:
        """Attempts that reached a pod since the interval started."""
        return sum(pod.received for pod in self.pods) - self.received_before

    @property
    def capacity(self) -> int:
        """Workers over all pods."""
        return self.workers * len(self.pods)

    def reset_interval(self) -> None:
        """Start a new metrics interval."""
        self.busy_time = 0.0
        self.received_before = sum(pod.received for pod in self.pods)
        self.errors = 0
        self.rejected = 0
        self.latency.reset()
