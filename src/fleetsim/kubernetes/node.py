"""Nodes: machines of a node pool in one zone, with allocatable CPU and memory.

A node added during the run boots first: the kubelet reports Ready after the pool's
``bootTime``, and the node's DNS (the node-local resolver path a pod's queries take)
answers only ``dnsReadyDelay`` later. Pods are placed by the scheduler against the
node's allocatable resources (requests, not usage) and ``maxPods``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        "pods",
        "pool",
        "pull_free_at",
        "ready_at",
        "terminated",
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
        self.host: NodeHost | None = None  # agents, disks and processes (fleetsim.node)

    def is_ready(self, now: float) -> bool:
        return not self.terminated and now >= self.ready_at

    def dns_answers(self, now: float) -> bool:
        """Whether a DNS query sent from this node at ``now`` gets an answer."""
        return not self.terminated and now >= self.dns_ready_at

    def fits(self, cpu: float, memory: float) -> bool:
        return (
            len(self.pods) < self.max_pods
            and self.cpu_allocated + cpu <= self.cpu + 1e-9
            and self.memory_allocated + memory <= self.memory
        )

    def __repr__(self) -> str:
        return f"Node({self.name}, zone={self.zone}, pods={len(self.pods)})"
