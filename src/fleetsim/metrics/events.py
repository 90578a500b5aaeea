"""Cluster events and per-service replica and readiness statistics.

Like every other figure in the summary these cover the measured window: events during
warm-up are forgotten when the window starts (the replica count is carried over as the
window's starting value).

Kinds recorded: ``pod_created``, ``pod_ready``, ``pod_unready``, ``pod_deleted``,
``container_restart``, ``scale_up``, ``scale_down``, ``node_ready``,
``node_terminated``, plus ``dns_lookup_failed`` (a sidecar could not resolve the control
plane) and ``probe_failed``. Pods that exist when the run starts are not "created".

With a clock, the log also keeps the window's timeline: one :class:`TimelineEvent` per
event (time, kind, service, object, detail), for the events table and the report's
annotations. It holds at most ``TIMELINE_LIMIT`` events (cluster events, not requests:
a flapping fleet makes thousands, not millions); past that it counts what it dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

TIMELINE_LIMIT = 200_000


class TimelineEvent(NamedTuple):
    """One event of the window: ``subject`` is the object (a pod, a node, a zone)."""

    time: float
    kind: str
    service: str | None
    subject: str | None
    detail: str | None


EVENT_KINDS = (
    "pod_created",
    "pod_ready",
    "pod_unready",
    "pod_deleted",
    "container_restart",
    "scale_up",
    "scale_down",
    "node_ready",
    "node_terminated",
    "outlier_ejection",
    "sidecar_restart",
)


class ReplicaHistory:
    """``spec.replicas`` of one Deployment over the window: extremes, mean, direction."""

    def __init__(self, replicas: int, now: float) -> None:
        self.current = replicas
        self.since = now
        self.start = now
        self.area = 0.0
        self.minimum = replicas
        self.maximum = replicas
        self.scale_ups = 0
        self.scale_downs = 0
        self.reversals = 0
        self.last_direction = 0

    def restart(self, now: float) -> None:
        """Begin the measured window with the current count."""
        self.since = self.start = now
        self.area = 0.0
        self.minimum = self.maximum = self.current
        self.scale_ups = self.scale_downs = self.reversals = 0
        self.last_direction = 0

    def change(self, replicas: int, now: float) -> int:
        """Record a new replica count; returns the direction (+1, -1 or 0)."""
        if replicas == self.current:
            return 0
        direction = 1 if replicas > self.current else -1
        self.area += self.current * (now - self.since)
        self.since = now
        self.current = replicas
        self.minimum = min(self.minimum, replicas)
        self.maximum = max(self.maximum, replicas)
        if direction > 0:
            self.scale_ups += 1
        else:
            self.scale_downs += 1
        if self.last_direction and direction != self.last_direction:
            self.reversals += 1
        self.last_direction = direction
        return direction

    def mean(self, now: float) -> float:
        """Time-weighted mean over the window up to ``now``."""
        length = now - self.start
        area = self.area + self.current * (now - self.since)
        return area / length if length > 0 else float(self.current)


class EventLog:
    """Counts events by kind and keeps per-service readiness and replica statistics."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock
        self.timeline: list[TimelineEvent] = []
        self.timeline_dropped = 0
        self.counts: Counter[str] = Counter()
        self.by_service: dict[str, Counter[str]] = {}
        self.ready_delays: dict[str, list[float]] = {}
        self.transitions: dict[str, int] = {}
        self.replicas: dict[str, ReplicaHistory] = {}

    def add_service(self, name: str, replicas: int, now: float) -> None:
        self.by_service[name] = Counter()
        self.ready_delays[name] = []
        self.transitions[name] = 0
        self.replicas[name] = ReplicaHistory(replicas, now)

    def record(
        self,
        kind: str,
        service: str | None = None,
        subject: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.counts[kind] += 1
        if service is not None:
            self.by_service[service][kind] += 1
        if self.clock is not None:
            if len(self.timeline) < TIMELINE_LIMIT:
                self.timeline.append(TimelineEvent(self.clock(), kind, service, subject, detail))
            else:
                self.timeline_dropped += 1

    def annotate(self, kind: str, service: str | None, detail: str | None) -> None:
        """A scenario event (a release, a zone failure...) on the timeline, not counted."""
        if self.clock is not None and len(self.timeline) < TIMELINE_LIMIT:
            self.timeline.append(TimelineEvent(self.clock(), kind, service, None, detail))

    def rows(self) -> list[dict[str, object]]:
        """The timeline as table rows (``time_s`` is simulated seconds since the start)."""
        return [
            {
                "time_s": round(event.time, 6),
                "kind": event.kind,
                "service": event.service or "",
                "object": event.subject or "",
                "detail": event.detail or "",
            }
            for event in self.timeline
        ]

    def readiness_changed(self, service: str, ready: bool, pod: str | None = None) -> None:
        self.transitions[service] += 1
        self.record("pod_ready" if ready else "pod_unready", service, pod)

    def first_ready(self, service: str, delay: float) -> None:
        """A pod turned Ready for the first time, ``delay`` after it was created."""
        self.ready_delays[service].append(delay)

    def replicas_changed(self, service: str, replicas: int, now: float) -> None:
        history = self.replicas[service]
        before = history.current
        direction = history.change(replicas, now)
        detail = f"replicas {before} -> {replicas}"
        if direction > 0:
            self.record("scale_up", service, f"deployment/{service}", detail)
        elif direction < 0:
            self.record("scale_down", service, f"deployment/{service}", detail)

    def start_window(self, now: float) -> None:
        self.counts.clear()
        self.timeline.clear()
        self.timeline_dropped = 0
        for name in self.by_service:
            self.by_service[name].clear()
            self.ready_delays[name].clear()
            self.transitions[name] = 0
            self.replicas[name].restart(now)

    def summary(self) -> dict[str, int]:
        counts = {kind: self.counts.get(kind, 0) for kind in EVENT_KINDS}
        for kind, count in sorted(self.counts.items()):
            counts.setdefault(kind, count)
        return counts
