"""Nodes over a run: the initial pools, nodes added later, and node termination.

Nodes that exist when the run starts are Ready, their DNS answers, and (with
``spec.cluster.imageCachedOnInitialNodes``) they hold the images of the services. A node
added by an ``add-nodes`` event boots: Ready after its pool's ``bootTime``, DNS answering
``dnsReadyDelay`` after that, and no image cached. ``terminate-node`` drains the node the
way ``kubectl drain`` or a cloud's node termination handler does: cordon, then evict
every pod (each goes through its termination with its grace period; its Deployment
replaces it elsewhere); the node is gone once its last pod is.

With no ``nodePools`` in the scenario there is one unbounded node per zone, Ready from
the start: pods are then never Pending for lack of room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.kubernetes.node import Node
from fleetsim.node.host import NodeHost

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.scenario.kubernetes import NodePool


class NodeLifecycle:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.env = cluster.env
        spec = cluster.spec
        self.pools: dict[str, NodePool] = {pool.name: pool for pool in spec.node_pools}
        self._added: dict[str, int] = {}
        nodes: list[Node] = []
        if not spec.node_pools:
            for zone in spec.zones:
                nodes.append(Node(zone, "default", zone))
        for pool in spec.node_pools:
            for index in range(pool.count):
                nodes.append(self._make(pool, index, created=0.0, booting=False))
            self._added[pool.name] = pool.count
        self.initial = list(nodes)
        cluster.nodes.extend(nodes)

    def _zone(self, pool: NodePool, index: int) -> str:
        if pool.zone is not None:
            return pool.zone
        zones = self.cluster.spec.zones
        return zones[index % len(zones)]

    def _make(self, pool: NodePool, index: int, *, created: float, booting: bool) -> Node:
        ready_at = created + pool.boot_time if booting else created
        dns_ready_at = ready_at + pool.dns_ready_delay if booting else created
        node = Node(
            f"{pool.name}-{index}",
            pool.name,
            self._zone(pool, index),
            cpu=pool.cpu,
            memory=pool.memory,
            max_pods=pool.max_pods,
            created=created,
            ready_at=ready_at,
            dns_ready_at=dns_ready_at,
        )
        if pool.disks or pool.agents.cadvisor is not None:
            node.host = NodeHost(self.env, self.cluster.streams, node.name, pool)
        return node

    def add_nodes(self, pool_name: str, count: int) -> None:
        pool = self.pools[pool_name]
        now = self.env.now
        for _ in range(count):
            index = self._added[pool_name]
            self._added[pool_name] = index + 1
            node = self._make(pool, index, created=now, booting=True)
            self.cluster.nodes.append(node)
            self.env.schedule_at(node.ready_at, self._node_ready, node)

    def _node_ready(self, node: Node) -> None:
        if node.terminated:
            return
        self.cluster.events.record("node_ready")
        self.cluster.scheduler.retry()

    def find(self, name: str) -> Node | None:
        for node in self.cluster.nodes:
            if node.name == name and not node.terminated:
                return node
        return None

    def terminate(self, node: Node) -> None:
        """Cordon and drain ``node``; it is terminated when its last pod is gone."""
        if node.terminated or node.cordoned:
            return
        node.cordoned = True
        for pod in list(node.pods):
            self.cluster.kubelet.delete_pod(pod)
        self.pod_left(node)

    def pod_left(self, node: Node | None) -> None:
        if node is None or not node.cordoned or node.terminated or node.pods:
            return
        node.terminated = True
        self.cluster.events.record("node_terminated")
