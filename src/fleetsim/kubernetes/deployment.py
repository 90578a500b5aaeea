"""A Deployment and its ReplicaSets: keep ``replicas`` pods, roll out a new revision.

Replica management follows the ReplicaSet controller: too few pods -> create; too many
-> delete in the order of ``ActivePodsWithRanks`` (``pkg/controller/controller_utils.go``):
unscheduled before scheduled, Pending before Running, not ready before ready, ready for
a shorter time before longer, more restarts before fewer, newer before older.

A ``release`` starts a new revision (a new pod template). ``RollingUpdate``
(``pkg/controller/deployment/rolling.go``) scales the new ReplicaSet up while the total
stays within ``replicas + maxSurge`` (maxSurge rounded up from a percentage), and scales
old pods down while the available (ready) pods stay at least ``replicas -
maxUnavailable`` (rounded down), unready old pods first. ``Recreate`` deletes every old
pod and creates the new ones once they are all gone. The controller re-runs whenever a
pod's readiness changes or a pod goes away, and when ``replicas`` changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fleetsim.kubernetes.pod import PENDING, Pod
from fleetsim.node.stalls import StallStats
from fleetsim.units import scaled_value

if TYPE_CHECKING:
    from fleetsim.dataplane.service import Service
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.sidecars import SidecarStartup
    from fleetsim.scenario.schema import Service as ServiceSpec


def deletion_rank(pod: Pod) -> tuple[bool, bool, bool, float, int, float]:
    """Sort key: pods that sort first are deleted first."""
    return (
        pod.node is not None,
        pod.phase != PENDING,
        pod.ready,
        -pod.ready_transition if pod.ready else 0.0,
        -pod.restart_count,
        -pod.created,
    )


class Deployment:
    """The Deployment of one service."""

    def __init__(
        self,
        cluster: Cluster,
        service: Service,
        spec: ServiceSpec,
        service_times: Iterator[float],
        error_draws: Iterator[float] | None,
    ) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.service = service
        self.spec = spec
        self.name = spec.name
        self.sidecar = spec.sidecar
        self.stalls = StallStats()  # what its pods' processes waited for, by cause
        self.sidecar_startup: SidecarStartup | None = None
        self.sidecar_injected = True  # False for the mesh's own control plane (istiod)
        self.service_times = service_times
        self.error_draws = error_draws
        self.replicas = spec.replicas
        self.revision = 0
        self.pods: list[Pod] = []  # not yet deleted
        self.all_pods: list[Pod] = []  # every pod created, deleted ones included
        self._next_index = 0
        self._reconcile_pending = False

    # --- pods ----------------------------------------------------------------------

    def new_pod(self, created: float) -> Pod:
        pod = Pod(self, self._next_index, self.revision, created)
        self._next_index += 1
        self.pods.append(pod)
        self.all_pods.append(pod)
        return pod

    def _create(self, count: int) -> None:
        for _ in range(count):
            pod = self.new_pod(self.env.now)
            self.cluster.events.record("pod_created", self.name, pod.name)
            self.cluster.scheduler.enqueue(pod)

    def _delete(self, pods: list[Pod]) -> None:
        for pod in pods:
            self.cluster.kubelet.delete_pod(pod)

    def active_pods(self) -> list[Pod]:
        return [pod for pod in self.pods if pod.active]

    # --- spec changes ----------------------------------------------------------------

    def scale(self, replicas: int) -> None:
        """Set ``spec.replicas`` (the HPA, or a ``scale`` event)."""
        if replicas == self.replicas:
            return
        self.replicas = replicas
        self.cluster.events.replicas_changed(self.name, replicas, self.env.now)
        self.pods_changed()

    def release(self) -> None:
        """A new pod template: roll every pod over to it."""
        self.revision += 1
        self.pods_changed()

    def pods_changed(self) -> None:
        """Something the controller watches changed: reconcile at the end of this instant."""
        self.pods = [pod for pod in self.pods if not pod.deleted]
        if not self._reconcile_pending:
            self._reconcile_pending = True
            self.env.schedule(0.0, self._reconcile)

    # --- the controller ----------------------------------------------------------------

    def _reconcile(self, _: None) -> None:
        self._reconcile_pending = False
        active = self.active_pods()
        new = [pod for pod in active if pod.revision == self.revision]
        old = [pod for pod in active if pod.revision != self.revision]
        if self.spec.strategy.type == "Recreate":
            # oldPodsRunning: new pods only once every old one is gone, terminating included.
            if any(pod.revision != self.revision for pod in self.pods):
                self._delete(old)
            else:
                self._scale_replica_set(new, self.replicas)
        elif not old:
            self._scale_replica_set(new, self.replicas)
        else:
            self._roll(new, old)

    def _scale_replica_set(self, pods: list[Pod], replicas: int) -> None:
        difference = replicas - len(pods)
        if difference > 0:
            self._create(difference)
        elif difference < 0:
            self._delete(sorted(pods, key=deletion_rank)[:-difference])

    def _roll(self, new: list[Pod], old: list[Pod]) -> None:
        rolling = self.spec.strategy.rolling_update
        replicas = self.replicas
        max_surge = scaled_value(rolling.max_surge, replicas, True)
        max_unavailable = scaled_value(rolling.max_unavailable, replicas, False)
        # NewRSNewReplicas: grow the new ReplicaSet within replicas + maxSurge.
        total = len(new) + len(old)
        room = replicas + max_surge - total
        grow = min(room, replicas - len(new))
        if grow > 0:
            self._create(grow)
        elif len(new) > replicas:
            self._delete(sorted(new, key=deletion_rank)[: len(new) - replicas])
        # reconcileOldReplicaSets: shrink old pods while enough stay available.
        min_available = replicas - max_unavailable
        new_unavailable = sum(1 for pod in new if not pod.ready)
        budget = total - min_available - new_unavailable
        if budget <= 0:
            return
        unhealthy = [pod for pod in old if not pod.ready]
        removed = sorted(unhealthy, key=deletion_rank)[:budget]
        self._delete(removed)
        available = sum(1 for pod in new + old if pod.ready and pod not in removed)
        can_remove = available - min_available
        healthy = [pod for pod in old if pod.ready]
        if can_remove > 0:
            self._delete(sorted(healthy, key=deletion_rank)[:can_remove])
