"""kube-scheduler, reduced to what decides where a pod lands and whether it waits.

A new pod is considered after the service's ``startup.schedulingDelay``. Filtering is
NodeResourcesFit on requests (CPU, memory) plus the node's ``maxPods``, on Ready nodes
that are not cordoned. Scoring spreads a service's pods over zones first (the default
PodTopologySpread constraints, ``topology.kubernetes.io/zone``), then over nodes, then
prefers the least allocated node (NodeResourcesFit ``LeastAllocated``). A pod that fits
nowhere stays Pending and is retried whenever room appears (a node turns Ready, a pod
goes away), as the scheduler's unschedulable queue is flushed on cluster events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.node import Node
    from fleetsim.kubernetes.pod import Pod


class Scheduler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.unschedulable: list[Pod] = []

    def enqueue(self, pod: Pod) -> None:
        delay = pod.deployment.spec.startup.scheduling_delay
        self.env.schedule(delay, self._attempt, pod)

    def _attempt(self, pod: Pod) -> None:
        if pod.deleting or pod.deleted or pod.node is not None:
            return
        node = self.pick(pod)
        if node is None:
            if pod not in self.unschedulable:
                self.unschedulable.append(pod)
            return
        self.bind(pod, node)
        self.cluster.kubelet.run_pod(pod)

    def pick(self, pod: Pod) -> Node | None:
        now = self.env.now
        requests = pod.deployment.spec.resources.requests
        cpu = requests.cpu or 0.0
        memory = requests.memory or 0
        service = pod.deployment.name
        candidates = [
            node
            for node in self.cluster.nodes
            if node.is_ready(now) and not node.cordoned and node.fits(cpu, memory)
        ]
        if not candidates:
            return None
        in_zone: dict[str, int] = {}
        for node in self.cluster.nodes:
            if node.terminated:
                continue
            count = sum(1 for p in node.pods if p.deployment.name == service and p.active)
            in_zone[node.zone] = in_zone.get(node.zone, 0) + count

        def score(node: Node) -> tuple[int, int, float, str]:
            on_node = sum(1 for p in node.pods if p.deployment.name == service and p.active)
            allocated = node.cpu_allocated / node.cpu if node.cpu != float("inf") else 0.0
            return (in_zone.get(node.zone, 0), on_node, allocated, node.name)

        return min(candidates, key=score)

    def bind(self, pod: Pod, node: Node, at: float | None = None) -> None:
        """Bind ``pod`` to ``node`` (now, or at ``at`` for a pod already running)."""
        requests = pod.deployment.spec.resources.requests
        node.pods.append(pod)
        node.cpu_allocated += requests.cpu or 0.0
        node.memory_allocated += requests.memory or 0
        pod.node = node
        pod.zone = node.zone
        pod.bound_at = self.env.now if at is None else at
        if pod in self.unschedulable:
            self.unschedulable.remove(pod)

    def release(self, pod: Pod) -> None:
        """The pod is gone: free its node's room and retry the pending pods."""
        if pod in self.unschedulable:
            self.unschedulable.remove(pod)
        node = pod.node
        if node is not None and pod in node.pods:
            requests = pod.deployment.spec.resources.requests
            node.pods.remove(pod)
            node.cpu_allocated -= requests.cpu or 0.0
            node.memory_allocated -= requests.memory or 0
            self.retry()
        self.cluster.node_lifecycle.pod_left(node)

    def retry(self) -> None:
        """Try the unschedulable pods again, oldest first."""
        for pod in list(self.unschedulable):
            self.unschedulable.remove(pod)
            self._attempt(pod)
