"""CoreDNS as the cluster's DNS: its pods answer every query the pods' resolvers send.

The pods are those of the service ``spec.clusterDNS.service`` (a Deployment like any
other: scheduled, probed, scaled by an HPA). A query is one request to a pod: it waits
in the pod's queue and costs its ``serviceTime`` of CPU (CoreDNS's scaling guide
measured ~33,700 internal queries/s on a 2-vCPU pod, ``coredns/deployment``
``kubernetes/Scaling_CoreDNS.md``). Then the pod's plugins answer, in Corefile order:

- ``cache`` (``coredns/coredns`` ``plugin/cache``): a name answered within its TTL is
  answered from the pod's own cache; success and denial caches hold 9,984 entries each,
  a full one evicts a random entry; TTLs are capped at 3,600 s and 1,800 s; a SERVFAIL
  is kept 5 s;
- ``kubernetes``: the cluster's names (``cluster.local``) with the Corefile's ``ttl 30``;
- ``forward . /etc/resolv.conf``: other names go to the upstream resolver, which adds
  its round trip (``forward.latency``) and may answer SERVFAIL.

The resolvers reach the pods through the ``kube-dns`` Service: kube-proxy picks a ready
endpoint at random, and a socket's later packets stay on that pod while it remains an
endpoint (the conntrack entry). The endpoint list is the one the endpoints controller
publishes, so a pod that is lost keeps receiving queries until its endpoint goes.

Queries a pod cannot take get no answer (UDP): a pod gone or not listening, or a full
queue (``queueLimit``: the socket's receive buffer). The resolver times out and tries
again, which is how a CoreDNS hiccup becomes seconds of latency and failed lookups.

NodeLocal DNSCache (``clusterDNS.nodeLocalDNSCache``): a caching agent on each node that
the node's pods query first; its hits never reach the CoreDNS pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.cluster.dns import (
    ANSWER_TIME,
    NOERROR,
    NXDOMAIN,
    SERVFAIL,
    Lookup,
    Names,
    in_cluster_domain,
)
from fleetsim.dataplane.request import OK, Request

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.kubernetes.node import Node
    from fleetsim.scenario.dns import ClusterDNS

OTHER_NAMESPACE: Final = "other"


class RandomEvictionCache:
    """A cache of names up to ``capacity`` entries; a full one evicts one at random
    (the cache plugin evicts a random item of the full shard, not the oldest)."""

    __slots__ = ("capacity", "draws", "entries", "keys")

    def __init__(self, capacity: int, draws: Iterator[float]) -> None:
        self.capacity = capacity
        self.draws = draws
        self.entries: dict[str, tuple[float, int]] = {}
        self.keys: list[str] = []

    def get(self, name: str, now: float) -> int | None:
        entry = self.entries.get(name)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    def put(self, name: str, rcode: int, expires: float) -> None:
        if name not in self.entries:
            if len(self.keys) >= self.capacity:
                index = int(next(self.draws) * len(self.keys))
                victim = self.keys[index]
                self.keys[index] = self.keys[-1]
                self.keys.pop()
                del self.entries[victim]
            self.keys.append(name)
        self.entries[name] = (expires, rcode)


class PodCache:
    """The cache plugin of one CoreDNS pod: a success and a denial cache."""

    __slots__ = ("denial", "success")

    def __init__(self, spec: ClusterDNS, draws: Iterator[float]) -> None:
        self.success = RandomEvictionCache(spec.cache.success, draws)
        self.denial = RandomEvictionCache(spec.cache.denial, draws)

    def get(self, name: str, now: float) -> int | None:
        rcode = self.success.get(name, now)
        return rcode if rcode is not None else self.denial.get(name, now)


class DnsQuery(Request):
    """One query to a CoreDNS pod: the lookup awaiting it (None for a query of the
    unmodelled pods), the try it belongs to, and the name asked."""

    __slots__ = ("epoch", "lookup", "name", "node")

    def __init__(
        self, coredns: CoreDNS, now: float, lookup: Lookup | None, name: str, node: Node | None
    ) -> None:
        super().__init__(coredns, coredns, now)
        self.lookup = lookup
        self.epoch = lookup.epoch if lookup is not None else 0
        self.name = name
        self.node = node


class CoreDNS:
    """The cluster's DNS service as the pods' resolvers reach it (a ``Nameserver``), the
    endpoints' subscriber (kube-proxy's view), and the plugins of each pod."""

    def __init__(
        self, env: Environment, streams: RandomStreams, spec: ClusterDNS, names: Names
    ) -> None:
        self.env = env
        self.spec = spec
        self.names = names
        self.endpoints: list[Host] = []
        self._endpoint_set: set[Host] = set()
        self._pick = streams.uniform("coredns/kube-proxy")
        self._evictions = streams.uniform("coredns/cache-eviction")
        self._upstream = streams.uniform("coredns/upstream")
        self._caches: dict[Host, PodCache] = {}
        self._node_caches: dict[Node, dict[str, tuple[float, int]]] = {}
        # Counters (cumulative).
        self.queries = 0  # sent to the CoreDNS pods
        self.answered = 0
        self.by_rcode = [0, 0, 0, 0]
        self.cache_hits = 0
        self.forwarded = 0
        self.node_local_hits = 0
        self.no_endpoint = 0
        self.node_not_ready = 0
        self.other_queries = 0
        other = spec.other_queries
        if other is not None and other.names == "external":
            names.external.update(_other_name(other.names, i) for i in range(other.distinct))

    # --- kube-proxy's view of the kube-dns Service --------------------------------

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        self.endpoints = list(endpoints)
        self._endpoint_set = set(self.endpoints)

    def _host_for(self, sticky: Host | None) -> Host | None:
        if sticky is not None and sticky in self._endpoint_set:
            return sticky
        endpoints = self.endpoints
        if not endpoints:
            return None
        return endpoints[int(next(self._pick) * len(endpoints))]

    # --- the resolvers' nameserver --------------------------------------------------

    def query(self, lookup: Lookup, name: str) -> None:
        now = self.env.now
        node = lookup.node
        if not node.dns_answers(now):
            self.node_not_ready += 1
            return
        count = lookup.queries_per_name
        if self.spec.node_local_dns_cache.enabled:
            cached = self._node_caches.get(node)
            entry = cached.get(name) if cached is not None else None
            if entry is not None and entry[0] > now:
                self.node_local_hits += count
                for _ in range(count):
                    self.env.schedule(ANSWER_TIME, _deliver, (lookup, lookup.epoch, entry[1]))
                return
        for _ in range(count):
            self.send(DnsQuery(self, now, lookup, name, node))

    # --- the Router of the queries ----------------------------------------------------

    def send(self, request: Request) -> None:
        """kube-proxy sends a query to a CoreDNS pod: its lookup's pod while that is still
        an endpoint (the socket's conntrack entry), else a ready one at random; with no
        endpoint it is lost."""
        lookup = request.lookup if isinstance(request, DnsQuery) else None
        host = self._host_for(lookup.host if lookup is not None else None)
        if host is None:
            self.no_endpoint += 1
            return
        if lookup is not None:
            lookup.host = host
        self.queries += 1
        host.accept(request, 0)

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        if status != OK or not isinstance(request, DnsQuery):
            return  # no answer: the pod dropped it (gone, not listening, queue full)
        rcode, delay = self._answer(host, request.name)
        self.answered += 1
        self.by_rcode[rcode] += 1
        lookup = request.lookup
        if lookup is None:
            return
        if request.node is not None and self.spec.node_local_dns_cache.enabled:
            ttl = self.spec.node_local_dns_cache.ttl
            cache = self._node_caches.setdefault(request.node, {})
            cache[request.name] = (self.env.now + delay + ttl, rcode)
        if delay > 0:
            self.env.schedule(delay, _deliver, (lookup, request.epoch, rcode))
        else:
            lookup.answer(request.epoch, rcode)

    # The RequestSource side: the resolver, not the request, hears the answer.
    def succeed(self, request: Request) -> None:
        return None

    def fail(self, request: Request, status: int) -> None:
        return None

    # --- the plugins of one pod ---------------------------------------------------

    def _answer(self, host: Host, name: str) -> tuple[int, float]:
        """The pod's answer to ``name``: (rcode, extra seconds before it leaves)."""
        now = self.env.now
        spec = self.spec
        cache = self._caches.get(host) if spec.cache.enabled else None
        if spec.cache.enabled and cache is None:
            cache = self._caches[host] = PodCache(spec, self._evictions)
        if cache is not None:
            cached = cache.get(name, now)
            if cached is not None:
                self.cache_hits += 1
                return cached, 0.0
        delay = 0.0
        if in_cluster_domain(name):
            rcode = self.names.rcode(name)
            ttl = spec.kubernetes.ttl
        else:
            self.forwarded += 1
            delay = spec.forward.latency
            if spec.forward.failure_rate > 0 and next(self._upstream) < spec.forward.failure_rate:
                rcode = SERVFAIL
            else:
                rcode = self.names.rcode(name)
            ttl = spec.forward.ttl
        if cache is not None:
            if rcode == NOERROR:
                cache.success.put(name, rcode, now + delay + min(ttl, spec.cache.max_success_ttl))
            elif rcode == NXDOMAIN:
                cache.denial.put(name, rcode, now + delay + min(ttl, spec.cache.max_denial_ttl))
            elif spec.cache.servfail_ttl > 0:
                cache.denial.put(name, rcode, now + delay + spec.cache.servfail_ttl)
        return rcode, delay

    # --- queries of the pods the scenario does not model ------------------------------

    def start(self, streams: RandomStreams) -> None:
        other = self.spec.other_queries
        if other is None or other.rate <= 0:
            return
        self._gaps = streams.exponential("coredns/other-queries", 1.0 / other.rate)
        self._other_names = streams.uniform("coredns/other-query-names")
        self.env.schedule(next(self._gaps), self._other_query)

    def _other_query(self, _: object = None) -> None:
        other = self.spec.other_queries
        assert other is not None
        self.env.schedule(next(self._gaps), self._other_query)
        self.other_queries += 1
        index = int(next(self._other_names) * other.distinct)
        self.send(DnsQuery(self, self.env.now, None, _other_name(other.names, index), None))


def _other_name(kind: str, index: int) -> str:
    if kind == "external":
        return f"host-{index}.example.com"
    return f"service-{index}.{OTHER_NAMESPACE}.svc.cluster.local"


def _deliver(argument: tuple[Lookup, int, int]) -> None:
    lookup, epoch, rcode = argument
    lookup.answer(epoch, rcode)
