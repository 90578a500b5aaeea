"""kube-scheduler, reduced to what decides where a pod lands and whether it waits.

A new pod is considered after the service's ``startup.schedulingDelay``. Filtering is
NodeResourcesFit on requests (CPU, memory) plus the node's ``maxPods``, on Ready nodes
that are not cordoned (a node of a failed zone stays a candidate until the node
lifecycle controller marks it NotReady, as the scheduler knows only what the API server
knows); NodeAffinity on the pod's ``nodeSelector``; and PodTopologySpread on its
``DoNotSchedule`` constraints.

Without ``topologySpreadConstraints``, scoring spreads a service's pods over zones first
(the default PodTopologySpread constraints, ``topology.kubernetes.io/zone``), then over
nodes, then prefers the least allocated node (NodeResourcesFit ``LeastAllocated``).
With them, Kubernetes drops its default constraints: the ``ScheduleAnyway`` constraints
score first, then the service's pods on the node (standing in for the node-level spread
that LeastAllocated's default requests give), the least allocated node, the name.

PodTopologySpread (kubernetes/kubernetes
``pkg/scheduler/framework/plugins/podtopologyspread/filtering.go``, ``scoring.go``,
``common.go``): a domain is a value of the constraint's ``topologyKey`` on the nodes
that match the pod's ``nodeSelector`` (``nodeAffinityPolicy: Honor``), leaving out, with
``nodeTaintsPolicy: Honor``, nodes with a NoSchedule taint (cordoned, not Ready); its
count is the service's pods bound there that are not terminating. A ``DoNotSchedule``
constraint keeps a node when count(its domain) + 1 - the lowest count <= ``maxSkew``; a
``ScheduleAnyway`` constraint scores count x log(domains + 2) + maxSkew - 1, lower
preferred.

A pod that fits nowhere stays Pending and is retried whenever room appears (a node turns
Ready, a pod goes away, a pod of a service with spread constraints is bound), as the
scheduler's unschedulable queue is flushed on cluster events.
"""

from __future__ import annotations

from math import log
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.node import Node
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.scenario.kubernetes import TopologySpreadConstraint


class Scheduler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.unschedulable: list[Pod] = []
        self._retry_pending = False

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
        if pod.deployment.spec.topology_spread_constraints and self.unschedulable:
            # The domain counts changed: a pod waiting on its skew may fit now.
            self._retry_soon()

    def pick(self, pod: Pod) -> Node | None:
        now = self.env.now
        spec = pod.deployment.spec
        requests = spec.resources.requests
        cpu = requests.cpu or 0.0
        memory = requests.memory or 0
        service = pod.deployment.name
        selector = spec.node_selector
        candidates = [
            node
            for node in self.cluster.nodes
            if node.is_ready(now)
            and not node.cordoned
            and node.fits(cpu, memory)
            and (not selector or node.matches(selector))
        ]
        if not candidates:
            return None
        if spec.topology_spread_constraints:
            return self._pick_spread(pod, candidates, spec.topology_spread_constraints)
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

    def _pick_spread(
        self, pod: Pod, candidates: list[Node], constraints: list[TopologySpreadConstraint]
    ) -> Node | None:
        """PodTopologySpread with the pod's own constraints: filter, then score."""
        service = pod.deployment.name
        matching = {
            node: sum(1 for p in node.pods if p.deployment.name == service and p.active)
            for node in self.cluster.nodes
            if not node.terminated
        }
        soft: list[tuple[TopologySpreadConstraint, dict[str, int]]] = []
        for constraint in constraints:
            counts = self.domain_counts(pod, constraint, matching)
            if constraint.when_unsatisfiable == "ScheduleAnyway":
                soft.append((constraint, counts))
                continue
            lowest = min(counts.values(), default=0)
            key = constraint.topology_key
            candidates = [
                node
                for node in candidates
                if counts.get(node.label(key), 0) + 1 - lowest <= constraint.max_skew
            ]
        if not candidates:
            return None

        def score(node: Node) -> tuple[float, int, float, str]:
            spread = 0.0
            for constraint, counts in soft:
                count = counts.get(node.label(constraint.topology_key), 0)
                spread += count * log(len(counts) + 2) + constraint.max_skew - 1
            allocated = node.cpu_allocated / node.cpu if node.cpu != float("inf") else 0.0
            return (spread, matching[node], allocated, node.name)

        return min(candidates, key=score)

    def domain_counts(
        self, pod: Pod, constraint: TopologySpreadConstraint, matching: dict[Node, int]
    ) -> dict[str, int]:
        """The service's pods (not terminating) in each domain of ``constraint``."""
        now = self.env.now
        selector = pod.deployment.spec.node_selector
        honor_taints = constraint.node_taints_policy == "Honor"
        counts: dict[str, int] = {}
        for node, count in matching.items():
            if selector and not node.matches(selector):
                continue
            if honor_taints and (node.cordoned or not node.is_ready(now)):
                continue
            domain = node.label(constraint.topology_key)
            counts[domain] = counts.get(domain, 0) + count
        return counts

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
            if pod in self.unschedulable:
                self.unschedulable.remove(pod)
                self._attempt(pod)

    def _retry_soon(self) -> None:
        if not self._retry_pending:
            self._retry_pending = True
            self.env.schedule(0.0, self._retry_now)

    def _retry_now(self, _: None) -> None:
        self._retry_pending = False
        self.retry()
