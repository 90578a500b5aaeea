"""A pod's lifecycle state, as the API server and the kubelet record it.

Phases follow ``core/v1`` ``PodPhase``: ``Pending`` until the node has pulled the
image and started the first container, ``Running`` after, and the pod object is gone
(``deleted``) when its containers have stopped after a deletion. ``deleting`` is the
deletion timestamp being set. The ``Ready`` condition is the conjunction of the
containers' readiness: the app's (its readiness probe, or started when it has none) and
the sidecar's, and is false from the moment the pod is deleting.

``generation`` changes whenever a container is started or killed, so timers armed for an
earlier run of a container (probe ticks, start-up steps) see they are stale and stop.

One writer per piece of state: the Deployment creates the pod, the scheduler binds it
(``node``, ``zone``, ``bound_at``), and the kubelet writes everything else: containers,
phase, readiness (the probes and the sidecar report to it), restarts, deletion and CPU
accounting. Other components read, or keep their own records keyed by pod (the
metrics-server's samples, the summary's window baselines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.dataplane.container import AppContainer
    from fleetsim.kubernetes.deployment import Deployment
    from fleetsim.kubernetes.node import Node
    from fleetsim.node.process import Process

PENDING = "Pending"
RUNNING = "Running"


class Pod:
    """One pod of a Deployment."""

    __slots__ = (
        "app_ready",
        "app_started",
        "bound_at",
        "container",
        "cpu_accounted_at",
        "cpu_seconds",
        "cpu_started",
        "created",
        "deleted",
        "deleting",
        "deletion_time",
        "deployment",
        "first_ready",
        "generation",
        "index",
        "liveness_ok",
        "name",
        "node",
        "phase",
        "process",
        "ready",
        "ready_transition",
        "received_past",
        "restart_count",
        "revision",
        "sidecar_ready",
        "started",
        "throttle",
        "warm_until",
        "zone",
    )

    def __init__(self, deployment: Deployment, index: int, revision: int, created: float) -> None:
        self.deployment = deployment
        self.index = index
        self.name = f"{deployment.name}-{index}"
        self.process: Process | None = None  # the app's process, while its container runs
        self.revision = revision
        self.created = created
        self.phase = PENDING
        self.node: Node | None = None
        self.zone: str | None = None
        self.bound_at: float | None = None
        self.container: AppContainer | None = None
        self.app_started: float | None = None
        self.warm_until = 0.0
        self.sidecar_ready = deployment.sidecar is None
        self.app_ready = False
        self.started = False  # startup probe passed (or there is none)
        self.liveness_ok = True
        self.ready = False
        self.ready_transition = created
        self.first_ready: float | None = None
        self.deleting = False
        self.deletion_time: float | None = None
        self.deleted = False
        self.restart_count = 0
        self.generation: int = 0
        self.received_past = 0
        self.cpu_seconds = 0.0
        self.cpu_started = 0
        self.cpu_accounted_at = created
        self.throttle = 1.0

    @property
    def service_name(self) -> str:
        return self.deployment.name

    def total_received(self) -> int:
        """Attempts that reached any run of this pod's app container."""
        current = self.container.received if self.container is not None else 0
        return self.received_past + current

    @property
    def scheduled(self) -> bool:
        return self.node is not None

    @property
    def active(self) -> bool:
        """Counted by its ReplicaSet: not deleting and not gone."""
        return not self.deleting and not self.deleted

    def __repr__(self) -> str:
        state = "deleted" if self.deleted else ("deleting" if self.deleting else self.phase)
        return f"Pod({self.name}, {state}, ready={self.ready})"
