"""Nodes: machines of a node pool in one zone, with allocatable CPU and memory.

A node added during the run boots first: the kubelet reports Ready after the pool's
``bootTime``, and the node's DNS (the node-local resolver path a pod's queries take)
answers only ``dnsReadyDelay`` later. Pods are placed by the scheduler against the
node's allocatable resources (requests, not usage) and ``maxPods``.

A node of a failed zone is ``unreachable``: the machine and its kubelet are gone, which
nothing in the control plane knows until the node lifecycle controller sets
``not_ready`` (its ``Ready`` condition ``Unknown``) a grace period later; only then does
the scheduler stop placing pods on it.

Labels (:meth:`Node.label`): ``topology.kubernetes.io/zone``,
``kubernetes.io/hostname`` and the pool's ``cloud.google.com/gke-nodepool``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.scenario.kubernetes import HOSTNAME_LABEL, POOL_LABEL, ZONE_LABEL

if TYPE_CHECKING:
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.node.host import NodeHost

INFINITE = float("inf")


class Node:
    """One node. ``unbounded`` nodes stand in when a scenario has no node pools."""

    __slots__ = (
        "cordoned",
        "cpu",
        "cpu_allocated",
        "created",
        "dns_ready_at",
        "host",
        "images",
        "max_pods",
        "memory",
        "memory_allocated",
        "name",
        "not_ready",
        "pods",
        "pool",
        "pull_free_at",
        "ready_at",
        "terminated",
        "unreachable",
        "zone",
    )

    def __init__(
        self,
        name: str,
        pool: str,
        zone: str,
        *,
        cpu: float = INFINITE,
        memory: float = INFINITE,
        max_pods: int | float = INFINITE,
        created: float = 0.0,
        ready_at: float = 0.0,
        dns_ready_at: float = 0.0,
    ) -> None:
        self.name = name
        self.pool = pool
        self.zone = zone
        self.cpu = cpu
        self.memory = memory
        self.max_pods = max_pods
        self.created = created
        self.ready_at = ready_at
        self.dns_ready_at = dns_ready_at
        self.cpu_allocated = 0.0
        self.memory_allocated = 0.0
        self.pods: list[Pod] = []
        self.images: dict[str, float] = {}  # image -> when its pull finishes
        self.pull_free_at = 0.0  # the kubelet pulls one image at a time
        self.cordoned = False
        self.terminated = False
        self.unreachable = False  # its zone failed: no power, no network, no kubelet
        self.not_ready = False  # the node lifecycle controller marked it NotReady
        self.host: NodeHost | None = None  # agents, disks and processes (fleetsim.node)

    def is_ready(self, now: float) -> bool:
        """Ready as the API server sees it (an unreachable node is, until noticed)."""
        return not self.terminated and not self.not_ready and now >= self.ready_at

    def dns_answers(self, now: float) -> bool:
        """Whether a DNS query sent from this node at ``now`` gets an answer."""
        return not self.terminated and not self.unreachable and now >= self.dns_ready_at

    def label(self, key: str) -> str:
        """The value of one of the labels the model sets (``NODE_LABELS``)."""
        if key == ZONE_LABEL:
            return self.zone
        if key == HOSTNAME_LABEL:
            return self.name
        if key == POOL_LABEL:
            return self.pool
        raise KeyError(key)

    def matches(self, selector: dict[str, str]) -> bool:
        """Whether the node carries every label of a pod's ``nodeSelector``."""
        return all(self.label(key) == value for key, value in selector.items())

    def fits(self, cpu: float, memory: float) -> bool:
        return (
            len(self.pods) < self.max_pods
            and self.cpu_allocated + cpu <= self.cpu + 1e-9
            and self.memory_allocated + memory <= self.memory
        )

    def __repr__(self) -> str:
        return f"Node({self.name}, zone={self.zone}, pods={len(self.pods)})"
