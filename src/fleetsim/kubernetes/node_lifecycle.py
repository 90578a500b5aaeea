"""Nodes over a run: the initial pools, nodes added later, node termination, zone failures.

Nodes that exist when the run starts are Ready, their DNS answers, and (with
``spec.cluster.imageCachedOnInitialNodes``) they hold the images of the services. A node
added by an ``add-nodes`` event boots: Ready after its pool's ``bootTime``, DNS answering
``dnsReadyDelay`` after that, and no image cached. ``terminate-node`` drains the node the
way ``kubectl drain`` or a cloud's node termination handler does: cordon, then evict
every pod (each goes through its termination with its grace period; its Deployment
replaces it elsewhere); the node is gone once its last pod is.

With no ``nodePools`` in the scenario there is one unbounded node per zone, Ready from
the start: pods are then never Pending for lack of room.

A ``fail-zone`` takes power and network from every node of the zone at once: the nodes
are ``unreachable`` and every app container on them is lost (it answers nothing; see
:meth:`AppContainer.lose <fleetsim.dataplane.container.AppContainer.lose>`). The
control plane learns it the way the node lifecycle controller does (kubernetes/kubernetes
``pkg/controller/nodelifecycle/node_lifecycle_controller.go``):

1. after ``spec.cluster.nodeMonitorGracePeriod`` without a heartbeat the nodes turn
   NotReady (``Ready=Unknown``): the scheduler places nothing more there, and
   ``MarkPodsNotReady`` sets their pods not Ready, so they leave the endpoints after the
   usual propagation delay;
2. the nodes get the ``node.kubernetes.io/unreachable:NoExecute`` taint, one node per
   ``1 / nodeEvictionRate`` seconds in each zone (the controller's rate-limited tainting
   queue); the taint eviction controller (``pkg/controller/tainteviction``) deletes each
   pod ``defaultUnreachableTolerationSeconds`` after its node's taint, and the
   ReplicaSets create replacements on the nodes still up. A deleted pod on an
   unreachable node stays Terminating (its kubelet cannot confirm) but no longer counts
   for its ReplicaSet;
3. while every zone that has nodes is NotReady the controller assumes its own
   connectivity is at fault: it taints and evicts nothing, and taints already set are
   lifted (their evictions cancelled) until a zone is back.

``fail-node`` is the same loss for single nodes (a machine that dies or drops off the
network, with no drain and no close): the node is ``unreachable`` and its containers are
lost at once; after the grace period it turns NotReady and its pods not Ready, it joins
its zone's rate-limited tainting queue, and its pods are evicted after the toleration.
The node never comes back (a ``restore-zone`` of its zone leaves it down); its evicted
pods stay Terminating, their replacements run elsewhere.

``restore-zone`` gives the power back: each node boots again (its pool's ``bootTime``;
an unbounded node at once) and its kubelet comes back Ready. The node rebooted, so no
container survived: pods evicted meanwhile are removed for good, the others start
again, new and cold. ``Cluster.zone_listeners`` hear both edges at once.
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
        self.grace_period = spec.cluster.node_monitor_grace_period
        self.toleration = spec.cluster.default_unreachable_toleration_seconds
        self.taint_interval = 1.0 / spec.cluster.node_eviction_rate
        self._epoch: dict[str, int] = {}  # per zone: timers of an earlier outage are stale
        self._noticed: set[str] = set()  # zones whose nodes the controller marked NotReady
        self._to_taint: dict[str, list[Node]] = {}
        self._tainted: set[Node] = set()  # nodes whose NoExecute taint is set
        self._failed: list[Node] = []  # nodes a fail-node took down: they stay down
        self.disrupted = False  # every zone with nodes NotReady: no tainting, no eviction
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
            if node.zone in self.cluster.zones_down:
                # No power in its zone: it cannot boot, and never reports Ready.
                node.unreachable = node.not_ready = True
                continue
            self.env.schedule_at(node.ready_at, self._node_ready, node)

    def _node_ready(self, node: Node) -> None:
        if node.terminated or node.unreachable:
            return
        self.cluster.events.record("node_ready", None, node.name)
        self.cluster.scheduler.retry()

    def find(self, name: str) -> Node | None:
        for node in self.cluster.nodes:
            if node.name == name and not node.terminated:
                return node
        return None

    def terminate(self, node: Node) -> None:
        """Cordon and drain ``node``; it is terminated when its last pod is gone.

        An unreachable node has no kubelet to drain it: the cloud deletes the machine,
        and its pods go with the Node object (the pod garbage collector).
        """
        if node.terminated or node.cordoned:
            return
        node.cordoned = True
        kubelet = self.cluster.kubelet
        for pod in list(node.pods):
            if node.unreachable:
                kubelet.force_delete(pod)
            else:
                kubelet.delete_pod(pod)
        self.pod_left(node)

    def pod_left(self, node: Node | None) -> None:
        if node is None or not node.cordoned or node.terminated or node.pods:
            return
        node.terminated = True
        self.cluster.events.record("node_terminated", None, node.name)

    # --- zone failures ---------------------------------------------------------------

    def _zone_nodes(self, zone: str) -> list[Node]:
        return [node for node in self.cluster.nodes if node.zone == zone and not node.terminated]

    def _next_epoch(self, zone: str) -> int:
        epoch = self._epoch.get(zone, 0) + 1
        self._epoch[zone] = epoch
        return epoch

    def _tell(self, zone: str, up: bool) -> None:
        for listener in list(self.cluster.zone_listeners):
            listener(zone, up)

    def fail_zone(self, zone: str) -> None:
        """Power and network of ``zone`` are gone: its nodes and containers are lost."""
        cluster = self.cluster
        if zone in cluster.zones_down:
            return
        cluster.zones_down.add(zone)
        epoch = self._next_epoch(zone)
        for node in self._zone_nodes(zone):
            self._lose(node)
        cluster.events.record("zone_failed", None, zone)
        self._tell(zone, False)
        self.env.schedule(self.grace_period, self._notice, (zone, epoch))

    def fail_node(self, node: Node) -> None:
        """``node`` loses power and network: its containers are lost, nothing is drained."""
        if node.terminated or node.unreachable:
            return
        self._epoch.setdefault(node.zone, 0)
        self._failed.append(node)
        self._lose(node)
        self.cluster.events.record("node_failed", None, node.name)
        self.env.schedule(self.grace_period, self._notice_node, node)

    def _lose(self, node: Node) -> None:
        """The machine is gone: its kubelet and app containers with it."""
        if node.unreachable:
            return
        node.unreachable = True
        self.cluster.kubelet.node_lost(node)
        for listener in list(self.cluster.node_listeners):
            listener(node)

    def _notice(self, argument: tuple[str, int]) -> None:
        """The grace period passed without a heartbeat: NotReady, pods not Ready."""
        zone, epoch = argument
        if self._epoch[zone] != epoch:
            return
        self._noticed.add(zone)
        self._mark_not_ready(self._zone_nodes(zone))
        if self._all_disrupted():
            self._enter_disruption()
        else:
            self._start_tainting(zone)

    def _notice_node(self, node: Node) -> None:
        """One failed node's grace period passed: NotReady, then into the taint queue."""
        if not node.unreachable or node.terminated or node.not_ready:
            return
        self._mark_not_ready([node])
        if not self.disrupted:
            self._queue_taints(node.zone, [node])

    def _mark_not_ready(self, nodes: list[Node]) -> None:
        for node in nodes:
            if node.not_ready:
                continue
            node.not_ready = True
            self.cluster.events.record("node_not_ready", None, node.name)
            self.cluster.kubelet.mark_pods_not_ready(node)

    def _all_disrupted(self) -> bool:
        zones = {node.zone for node in self.cluster.nodes if not node.terminated}
        return bool(zones) and zones <= self._noticed

    def _enter_disruption(self) -> None:
        """Every zone is NotReady: lift the taints, cancel the evictions, wait."""
        self.disrupted = True
        for zone in self._noticed:
            self._next_epoch(zone)
            self._to_taint.pop(zone, None)
        self._tainted = {node for node in self._tainted if node.zone not in self._noticed}

    def _start_tainting(self, zone: str) -> None:
        self._queue_taints(zone, [node for node in self._zone_nodes(zone) if node.unreachable])

    def _queue_taints(self, zone: str, nodes: list[Node]) -> None:
        """Add ``nodes`` to ``zone``'s tainting queue; start it unless it is running."""
        queue = self._to_taint.get(zone)
        if queue:  # the queue's next step is on the clock
            queue.extend(node for node in nodes if node not in queue)
            return
        self._to_taint[zone] = list(nodes)
        self._taint_next((zone, self._epoch[zone]))

    def _taint_next(self, argument: tuple[str, int]) -> None:
        """Taint the next node of ``zone`` NoExecute; its pods go after the toleration."""
        zone, epoch = argument
        queue = self._to_taint.get(zone)
        if self._epoch[zone] != epoch or not queue:
            return
        node = queue.pop(0)
        if node.unreachable and not node.terminated and node not in self._tainted:
            self._tainted.add(node)
            self.cluster.events.record("node_tainted", None, node.name)
            self.env.schedule(self.toleration, self._evict, (node, epoch))
        if queue:
            self.env.schedule(self.taint_interval, self._taint_next, (zone, epoch))

    def _evict(self, argument: tuple[Node, int]) -> None:
        """The taint eviction controller deletes the pods of a node past their toleration."""
        node, epoch = argument
        if self._epoch[node.zone] != epoch or not node.unreachable:
            return
        kubelet = self.cluster.kubelet
        for pod in list(node.pods):
            if pod.active:
                self.cluster.events.record("pod_evicted", pod.service_name, pod.name)
                kubelet.delete_pod(pod)

    def restore_zone(self, zone: str) -> None:
        """Power is back in ``zone``: its nodes boot and their kubelets return."""
        cluster = self.cluster
        if zone not in cluster.zones_down:
            return
        cluster.zones_down.discard(zone)
        epoch = self._next_epoch(zone)
        self._noticed.discard(zone)
        self._to_taint.pop(zone, None)
        self._tainted = {node for node in self._tainted if node.zone != zone}
        now = self.env.now
        for node in self._zone_nodes(zone):
            if node in self._failed:
                continue  # a machine that failed on its own stays down
            pool = self.pools.get(node.pool)
            boot = pool.boot_time if pool is not None else 0.0
            node.ready_at = max(node.ready_at, now + boot)
            if pool is not None:
                node.dns_ready_at = max(node.dns_ready_at, node.ready_at + pool.dns_ready_delay)
            self.env.schedule_at(node.ready_at, self._node_back, (node, epoch))
        cluster.events.record("zone_restored", None, zone)
        self._tell(zone, True)
        if self.disrupted and not self._all_disrupted():
            self.disrupted = False
            for other in list(self._noticed):
                self._start_tainting(other)
        if not self.disrupted:
            # The new epoch cancelled the taints of failed nodes here: queue them again.
            failed = [n for n in self._failed if n.zone == zone and n.not_ready]
            if failed:
                self._queue_taints(zone, failed)

    def _node_back(self, argument: tuple[Node, int]) -> None:
        """The node booted: reachable and Ready, its kubelet reconciles its pods."""
        node, epoch = argument
        if self._epoch[node.zone] != epoch or node.terminated:
            return
        node.unreachable = False
        node.not_ready = False
        self.cluster.kubelet.node_back(node)
        self._node_ready(node)
