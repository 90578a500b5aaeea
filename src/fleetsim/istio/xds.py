"""istiod as pods on the cluster's nodes, and each proxy's xDS stream to one of them.

With ``spec.mesh.istiod`` istiod is a Deployment (:func:`istiod_service_spec`): its pods
are scheduled on nodes like any other, take their requests there and die with their
node; they get no sidecar (the chart's pod template sets ``sidecar.istio.io/inject:
"false"``) and no traffic, and appear in the results only as ``mesh.istiod``. The
``istiod`` Service's ready endpoints (published by the EndpointsController like any
service's) are what a proxy connecting to ``istiod.istio-system.svc`` picks
from, at random as kube-proxy's VIP does.

The push path (``istio/istio`` ``pilot/pkg/xds/discovery.go`` ``debounce`` and
``pilot/pkg/xds/pushqueue.go``):

1. the EndpointsController publishes a service's new endpoint list (after
   ``spec.cluster.endpointPropagationDelay``, the kubelet -> API -> EndpointSlice part);
   every live istiod pod sees it at once, as each watches the API server;
2. each istiod pod debounces: it pushes once no change came for ``debounceAfter``
   (``PILOT_DEBOUNCE_AFTER``, 100 ms), or ``debounceMax`` (10 s) after the first change
   of the batch; one push carries every service changed in the batch;
3. it pushes to each proxy connected to it, ``pushThrottle`` (``PILOT_PUSH_THROTTLE``,
   100) at a time, each taking ``pushTime``; a proxy's clusters get the lists when its
   push lands. Proxies on different istiod pods therefore see a change at different
   times, and a proxy on a dead istiod not at all.

A stream ends in one of three ways:

- the istiod pod is deleted gracefully (drain, scale-down, rollout): it closes its
  streams (GOAWAY) and the proxies reconnect right away (after ``reconnectDelay``);
- the stream reaches ``maxServerConnectionAge`` (+/- 10 % jitter, as gRPC-Go's
  ``MaxConnectionAge``): the live istiod closes it and the proxy reconnects, possibly
  elsewhere (a rebalance);
- the istiod pod's node is lost without a close (``fail-node``, ``fail-zone``): nothing
  tells the proxy. It keeps the stream and its last configuration (Envoy keeps serving
  the last config it received, ``envoyproxy/envoy``
  ``docs/root/configuration/overview/mgmt_server.rst``) until TCP keepalive gives up:
  the kernel probes after ``keepalive.time`` without received data and drops the
  connection after ``keepalive.probes`` unanswered probes ``keepalive.interval`` apart,
  so ``time + probes x interval`` after the last data that came in. While istiod lived,
  an idle stream's probes were answered every ``time``, so that last data is at most
  ``time`` before the death (the last push, or the last answered probe).

A closed or dead stream is followed by a new connection ``reconnectDelay`` later (the
500 ms base of Envoy's xDS retry back-off) to a ready istiod pod at random; a pick of a
pod that is dead but still in the Service's endpoints fails and is retried after the
same delay. A new stream starts with a full push of every service's endpoints.

Staleness: a proxy is stale while, for some destination it has a cluster for, its view
is older than what istiod publishes (every proxy is, briefly, during each push). The
seconds are summed per proxy group (the proxy's service, or the ingress gateway).

The fleet at time 0 is in steady state: every proxy holds a stream (of a random age and
keepalive phase) and the current configuration, and endpoint lists published before
the run starts reach every proxy at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.container import AppContainer
from fleetsim.scenario.kubernetes import Probe
from fleetsim.scenario.mesh import ISTIOD
from fleetsim.scenario.schema import Service as ServiceSpec

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.proxy import SidecarProxy
    from fleetsim.istio.istiod import EndpointFanout
    from fleetsim.metrics.events import EventLog
    from fleetsim.scenario.mesh import Istiod as IstiodSpec

AGE_JITTER: Final = 0.1
"""gRPC-Go adds a random +/- 10 % to ``MaxConnectionAge`` (``grpc/grpc-go``
``keepalive/keepalive.go``, ``ServerParameters``), which Istio's
``keepaliveMaxServerConnectionAge`` sets."""
ISTIOD_READINESS: Final = Probe(initial_delay_seconds=1.0, period_seconds=3.0, timeout_seconds=5.0)
"""istiod's readinessProbe (``/ready``: initial delay 1 s, period 3 s, timeout 5 s) in
``istio/istio`` ``manifests/charts/istio-control/istio-discovery/templates/deployment.yaml``."""


def istiod_service_spec(settings: IstiodSpec) -> ServiceSpec:
    """istiod's Deployment as a service of the fleet: pods with resources, no traffic."""
    return ServiceSpec.model_validate(
        {
            "name": ISTIOD,
            "replicas": settings.replicas,
            "serviceTime": {"distribution": "constant", "mean": 0.001},  # probes only
            "resources": {"requests": settings.resources.requests.model_dump()},
            "readinessProbe": ISTIOD_READINESS,
            "nodeSelector": dict(settings.node_selector),
        }
    )


class IstiodServer:
    """One istiod pod: its connected proxies, its debounce and its push slots."""

    __slots__ = (
        "armed",
        "clients",
        "connected_max",
        "container",
        "first_change",
        "full_pushes",
        "last_change",
        "name",
        "pending",
        "pushes",
        "slots",
        "state",
    )

    def __init__(self, name: str, container: Host, throttle: int) -> None:
        self.name = name
        self.container = container
        self.state = "running"  # running, lost (its node died), deleted (gracefully)
        self.clients: dict[XdsClient, None] = {}  # in connection order
        self.connected_max = 0
        self.pushes = 0  # debounced pushes, each to every connected proxy
        self.full_pushes = 0  # full pushes to a proxy that (re)connected
        self.slots = [0.0] * throttle  # when each of the concurrent pushes is free
        self.pending: set[str] = set()  # services changed since the last push
        self.first_change = 0.0
        self.last_change = 0.0
        self.armed = False

    @property
    def alive(self) -> bool:
        return self.state == "running"

    def attach(self, client: XdsClient) -> None:
        self.clients[client] = None
        self.connected_max = max(self.connected_max, len(self.clients))


class XdsClient:
    """One proxy's end of its xDS stream, and its view of every service's endpoints."""

    __slots__ = (
        "group",
        "last_rx",
        "proxy",
        "server",
        "stale",
        "stale_since",
        "stream",
        "versions",
    )

    def __init__(self, proxy: SidecarProxy, versions: dict[str, int]) -> None:
        self.proxy = proxy
        self.group = proxy.service
        self.server: IstiodServer | None = None
        self.stream = 0  # bumped whenever the stream ends: timers of an older one are stale
        self.versions = versions
        self.stale: set[str] = set()
        self.stale_since = 0.0
        self.last_rx = 0.0  # the last data received on the stream


class StaleCounter:
    """A proxy group's staleness: proxies stale now, and stale proxy-seconds so far."""

    __slots__ = ("clients", "closed", "now")

    def __init__(self) -> None:
        self.now = 0
        self.closed = 0.0
        self.clients: dict[XdsClient, None] = {}  # stale now

    def seconds(self, at: float) -> float:
        return self.closed + sum(at - client.stale_since for client in self.clients)


Snapshot = list[tuple[str, int, Sequence["Host"]]]


class XdsControlPlane:
    """istiod's pods and the xDS streams of every proxy of the mesh."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        settings: IstiodSpec,
        fanouts: Mapping[str, EndpointFanout],
        events: EventLog,
    ) -> None:
        self.env = env
        self.settings = settings
        self.fanouts = fanouts
        self.events = events
        self.servers: dict[Host, IstiodServer] = {}  # every istiod pod seen, in order
        self.ready: list[IstiodServer] = []  # the istiod Service's endpoints
        self.clients: dict[SidecarProxy, XdsClient] = {}
        self.waiting: list[XdsClient] = []  # no ready istiod to connect to
        self.groups: dict[str, StaleCounter] = {}
        self._pick = streams.uniform("istiod/pick")
        self._ages = streams.uniform("istiod/connection-age")
        self._phases = streams.uniform("istiod/keepalive-phase")
        self.running = False  # before the run: steady state, everything applies at once
        env.schedule(0.0, self._start)

    def _start(self, _: None) -> None:
        self.running = True

    # --- the istiod Service (EndpointSubscriber) ---------------------------------------

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        """The ``istiod`` Service's ready pods changed: the VIP picks among these."""
        ready = []
        for host in endpoints:
            server = self.servers.get(host)
            if server is None:
                name = host.name if isinstance(host, AppContainer) else f"{ISTIOD}-?"
                server = IstiodServer(name, host, self.settings.push_throttle)
                self.servers[host] = server
            ready.append(server)
        self.ready = ready
        if ready and self.waiting:
            waiting, self.waiting = self.waiting, []
            for client in waiting:
                self._reconnect((client, client.stream))

    def node_lost(self) -> None:
        """A node died: istiod pods on it stop without closing their streams."""
        for server in self.servers.values():
            container = server.container
            if server.alive and isinstance(container, AppContainer) and container.lost:
                self._die(server)

    def pod_removed(self, name: str) -> None:
        """An istiod pod was deleted gracefully: it closes its streams (GOAWAY)."""
        for server in self.servers.values():
            if server.name == name and server.alive:
                server.state = "deleted"
                for client in list(server.clients):
                    self._close(client, "xds_stream_closed")

    def _die(self, server: IstiodServer) -> None:
        server.state = "lost"
        self.events.record("istiod_lost")
        keepalive = self.settings.keepalive
        now = self.env.now
        for client in server.clients:
            since = client.last_rx
            if now - since >= keepalive.time:
                # Idle: the probes istiod answered every ``time`` were the last data.
                since += (now - since) // keepalive.time * keepalive.time
            detected = since + keepalive.time + keepalive.probes * keepalive.interval
            self.env.schedule_at(
                max(detected, now), self._keepalive_timeout, (client, client.stream)
            )

    def _keepalive_timeout(self, argument: tuple[XdsClient, int]) -> None:
        client, stream = argument
        if client.stream == stream and client.server is not None:
            self._close(client, "xds_keepalive_timeout")

    # --- a proxy's stream ------------------------------------------------------------

    def connect(self, proxy: SidecarProxy, *, returning: bool = False) -> None:
        """A proxy starts (its sidecar's start-up already fetched the current config).

        ``returning``: the proxy of a pod whose node was lost and is back; its clusters
        still hold the lists of before, so they take the current ones now.
        """
        if returning:
            for name, cluster in proxy.clusters.items():
                cluster.set_endpoints(self.fanouts[name].endpoints)
        client = XdsClient(proxy, {name: fanout.version for name, fanout in self.fanouts.items()})
        self.clients[proxy] = client
        self.groups.setdefault(client.group, StaleCounter())
        server = self._choose()
        if server is None:
            self.waiting.append(client)
            return
        if not server.alive:
            # A dead pod still in the Service's endpoints: refused, tried again later.
            self.env.schedule(self.settings.reconnect_delay, self._reconnect, (client, 0))
            return
        server.full_pushes += 1  # the configuration the sidecar started with
        self._attach(client, server, full_push=False)

    def disconnect(self, proxy: SidecarProxy) -> None:
        """The proxy is gone (its pod removed or its node lost)."""
        client = self.clients.pop(proxy, None)
        if client is None:
            return
        if client.stale:
            client.stale.clear()
            self._fresh(client)
        if client.server is not None:
            client.server.clients.pop(client, None)
            client.server = None
        client.stream += 1
        if client in self.waiting:
            self.waiting.remove(client)

    def _choose(self) -> IstiodServer | None:
        ready = self.ready
        if not ready:
            return None
        return ready[min(int(next(self._pick) * len(ready)), len(ready) - 1)]

    def _attach(self, client: XdsClient, server: IstiodServer, *, full_push: bool) -> None:
        now = self.env.now
        client.server = server
        server.attach(client)
        age = self.settings.max_server_connection_age
        stream = client.stream
        if not self.running:
            # A stream of the steady-state fleet: of any age, at any keepalive phase.
            client.last_rx = now - next(self._phases) * self.settings.keepalive.time
            if age > 0:
                self.env.schedule(next(self._ages) * age, self._aged, (client, stream))
            return
        client.last_rx = now
        if age > 0:
            jitter = 1.0 + AGE_JITTER * (2.0 * next(self._ages) - 1.0)
            self.env.schedule(age * jitter, self._aged, (client, stream))
        if full_push:
            server.full_pushes += 1
            self._queue(server, client, self._snapshot(self.fanouts))

    def _aged(self, argument: tuple[XdsClient, int]) -> None:
        """``maxServerConnectionAge``: a live istiod closes the stream; a dead one cannot."""
        client, stream = argument
        server = client.server
        if client.stream == stream and server is not None and server.alive:
            self._close(client, "xds_stream_aged")

    def _close(self, client: XdsClient, kind: str) -> None:
        """The stream ended: reconnect after ``reconnectDelay``."""
        server = client.server
        if server is not None:
            server.clients.pop(client, None)
        client.server = None
        client.stream += 1
        self.events.record(kind)
        self.env.schedule(self.settings.reconnect_delay, self._reconnect, (client, client.stream))

    def _reconnect(self, argument: tuple[XdsClient, int]) -> None:
        client, stream = argument
        if client.stream != stream or client.proxy not in self.clients:
            return
        server = self._choose()
        if server is None:
            self.waiting.append(client)
            return
        if not server.alive:
            # The VIP still lists a dead pod: the connection fails, try again later.
            self.env.schedule(self.settings.reconnect_delay, self._reconnect, argument)
            return
        if self.running:
            self.events.record("xds_reconnect")
        self._attach(client, server, full_push=True)

    # --- the push path (istiod.PushPath) ---------------------------------------------

    def published(self, fanout: EndpointFanout) -> None:
        """A service's new endpoint list: its proxies are stale until their push lands."""
        if not self.running:
            for cluster in fanout.clusters:
                cluster.set_endpoints(fanout.endpoints)
            for client in self.clients.values():
                client.versions[fanout.name] = fanout.version
            return
        name = fanout.name
        for cluster in fanout.clusters:
            subscriber = self.clients.get(cluster.proxy)
            if subscriber is not None:
                self._mark_stale(subscriber, name)
        for server in self.servers.values():
            if server.alive:
                self._changed(server, name)

    def _changed(self, server: IstiodServer, service: str) -> None:
        now = self.env.now
        if not server.pending:
            server.first_change = now
        server.pending.add(service)
        server.last_change = now
        if not server.armed:
            server.armed = True
            self.env.schedule(self.settings.debounce_after, self._debounce, server)

    def _debounce(self, server: IstiodServer) -> None:
        """Push once quiet for ``debounceAfter`` or ``debounceMax`` after the first change."""
        server.armed = False
        if not server.alive or not server.pending:
            return
        settings = self.settings
        now = self.env.now
        due = min(
            server.last_change + settings.debounce_after,
            server.first_change + settings.debounce_max,
        )
        if now < due - 1e-12:
            server.armed = True
            self.env.schedule_at(due, self._debounce, server)
            return
        snapshot = self._snapshot({name: self.fanouts[name] for name in sorted(server.pending)})
        server.pending = set()
        server.pushes += 1
        for client in server.clients:
            self._queue(server, client, snapshot)

    @staticmethod
    def _snapshot(fanouts: Mapping[str, EndpointFanout]) -> Snapshot:
        return [(name, fanout.version, fanout.endpoints) for name, fanout in fanouts.items()]

    def _queue(self, server: IstiodServer, client: XdsClient, snapshot: Snapshot) -> None:
        """One proxy's push: it takes the first free of the ``pushThrottle`` slots."""
        start = max(self.env.now, server.slots[0])
        end = start + self.settings.push_time
        heapq.heapreplace(server.slots, end)
        self.env.schedule_at(end, self._land, (client, client.stream, snapshot))

    def _land(self, argument: tuple[XdsClient, int, Snapshot]) -> None:
        """The push reaches the proxy: its clusters take the lists newer than their own."""
        client, stream, snapshot = argument
        server = client.server
        if client.stream != stream or server is None or not server.alive:
            return
        client.last_rx = self.env.now
        clusters = client.proxy.clusters
        versions = client.versions
        for name, version, endpoints in snapshot:
            if version <= versions.get(name, 0):
                continue
            versions[name] = version
            cluster = clusters.get(name)
            if cluster is not None:
                cluster.set_endpoints(endpoints)
            if name in client.stale and version == self.fanouts[name].version:
                client.stale.discard(name)
                if not client.stale:
                    self._fresh(client)

    # --- staleness -------------------------------------------------------------------

    def _mark_stale(self, client: XdsClient, service: str) -> None:
        if not client.stale:
            client.stale_since = self.env.now
            counter = self.groups[client.group]
            counter.now += 1
            counter.clients[client] = None
        client.stale.add(service)

    def _fresh(self, client: XdsClient) -> None:
        counter = self.groups[client.group]
        counter.now -= 1
        counter.closed += self.env.now - client.stale_since
        counter.clients.pop(client, None)

    def stale_seconds(self, group: str) -> float:
        """Proxy-seconds ``group``'s proxies have been stale so far."""
        counter = self.groups.get(group)
        return 0.0 if counter is None else counter.seconds(self.env.now)

    def stale_proxies(self, group: str) -> int:
        counter = self.groups.get(group)
        return 0 if counter is None else counter.now

    def iter_servers(self) -> Iterator[IstiodServer]:
        return iter(self.servers.values())
