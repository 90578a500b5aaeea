"""The cluster's DNS in a scenario: which service is CoreDNS, its Corefile settings, the
upstream resolver it forwards to, NodeLocal DNSCache, and how an app looks names up.

``spec.clusterDNS`` names a service of ``spec.services`` as the cluster's DNS (the
``kube-dns`` Service in front of the CoreDNS Deployment). Its pods are ordinary pods:
scheduled on nodes, probed, scaled by an HPA; each query is one request to them, its
``serviceTime`` the CPU one query costs and ``workers`` the cores that serve queries.
CoreDNS's scaling guide measured about 33,700 internal queries/s on a 2-vCPU pod at
~1.9 cores busy (``coredns/deployment`` ``kubernetes/Scaling_CoreDNS.md``): about
56 µs of CPU per query, so ``workers: 2`` with ``serviceTime`` 56 µs. The pods are
not in the mesh (no sidecar is injected into kube-system's DNS pods, and DNS over
UDP bypasses Envoy's capture).

Field names follow the Corefile plugins they stand for: ``cache`` (the cache plugin's
``success``/``denial`` capacity and TTL caps), ``kubernetes`` (its record ``ttl``),
``forward`` (the upstream the pods forward non-cluster names to).

Without ``spec.clusterDNS`` every query is answered by an ideal server on the node,
within a millisecond, once the node's DNS answers (``nodePools[].dnsReadyDelay``).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from fleetsim.fileformat import FileModel
from fleetsim.scenario.fields import Count, Fraction, Name, PositiveDuration
from fleetsim.units import Duration, Rate

__all__ = [
    "CACHE_CAPACITY",
    "Cache",
    "ClusterDNS",
    "Forward",
    "KubernetesPlugin",
    "NameLookup",
    "NodeLocalDNSCache",
    "OtherQueries",
]

CACHE_CAPACITY: Final = 9984
"""The cache plugin's default capacity per cache: 256 shards x 39 entries."""


class Cache(FileModel):
    """The Corefile ``cache`` plugin (``coredns/coredns`` ``plugin/cache/README.md``).

    Defaults are the plugin's: success and denial caches of 9,984 entries each, TTL
    capped at 3,600 s (success) and 1,800 s (denial), SERVFAIL kept 5 s. A full cache
    evicts a random entry, not the oldest. ``enabled: false`` removes the plugin.
    """

    enabled: bool = True
    success: Count = Field(default=CACHE_CAPACITY, ge=1024)
    """Entries of the success cache (the plugin's minimum is 1,024)."""
    denial: Count = Field(default=CACHE_CAPACITY, ge=1024)
    """Entries of the denial (NXDOMAIN) cache."""
    max_success_ttl: PositiveDuration = Field(default=3600.0, alias="successTTL")
    max_denial_ttl: PositiveDuration = Field(default=1800.0, alias="denialTTL")
    servfail_ttl: Duration = Field(default=5.0, alias="servfailTTL")
    """How long a SERVFAIL from upstream is answered from the cache (plugin default 5 s)."""


class KubernetesPlugin(FileModel):
    """The Corefile ``kubernetes`` plugin: answers the cluster's own names."""

    ttl: PositiveDuration = 30.0
    """The TTL of its answers (``ttl 30`` in the Corefile kubeadm ships; plugin default 5 s)."""


class Forward(FileModel):
    """The Corefile ``forward . /etc/resolv.conf``: the node's upstream resolver.

    ``latency`` and ``failureRate`` describe the upstream (the cloud's resolver),
    not CoreDNS; ``ttl`` is the TTL of external records it returns.
    """

    latency: Duration = 0.002
    """Round trip to the upstream resolver (a cloud VPC resolver answers in ~1-2 ms)."""
    failure_rate: Fraction = Field(default=0.0, ge=0.0, le=1.0)
    """Share of forwarded queries the upstream answers with SERVFAIL."""
    ttl: PositiveDuration = 60.0
    """TTL of the external records (and of the upstream's NXDOMAIN answers)."""


class OtherQueries(FileModel):
    """Queries from the rest of the cluster: pods the scenario does not model one by one.

    They load the CoreDNS pods like any query; ``names`` says what they ask for.
    """

    rate: Rate = Field(ge=0)
    names: Literal["cluster", "external"] = "cluster"
    """cluster: Service names (answered by the kubernetes plugin); external: names
    forwarded upstream."""
    distinct: Count = Field(default=1000, ge=1)
    """How many distinct names they spread over (what the cache sees)."""


class NodeLocalDNSCache(FileModel):
    """NodeLocal DNSCache: a caching agent on every node that the pods query first.

    Kubernetes' ``nodelocaldns`` DaemonSet (``kubernetes/kubernetes``
    ``cluster/addons/dns/nodelocaldns``) runs CoreDNS with ``cache 30`` per node; a miss
    goes on to the cluster's CoreDNS pods. Its answers cost no CoreDNS CPU.
    """

    enabled: bool = False
    ttl: PositiveDuration = 30.0
    """Its ``cache 30``: answers are kept at most this long."""


class ClusterDNS(FileModel):
    """``spec.clusterDNS``: the cluster's DNS service and its settings."""

    service: Name
    """The service of ``spec.services`` whose pods are the CoreDNS pods."""
    cache: Cache = Field(default_factory=Cache)
    kubernetes: KubernetesPlugin = Field(default_factory=KubernetesPlugin)
    forward: Forward = Field(default_factory=Forward)
    node_local_dns_cache: NodeLocalDNSCache = Field(
        default_factory=NodeLocalDNSCache, alias="nodeLocalDNSCache"
    )
    other_queries: OtherQueries | None = None
    """Queries from pods outside the scenario; None = only the modelled pods query."""


class NameLookup(FileModel):
    """How an app's client library finds the address of a service it calls.

    ``every: request`` looks the name up before each call, as the NodeJS Thrift client
    of the write-up did; ``every: ttl`` keeps an answer for ``ttl`` in the process (a
    caching library or ``nscd``). The lookup goes through the pod's resolver
    (``dnsConfig``: ``ndots``, search list, ``timeout``/``attempts``) with glibc's
    ``getaddrinfo``: an A and an AAAA query per name tried. A failed lookup fails the
    call before it is sent.
    """

    name: str
    """The name the app resolves, as written in its code (``backend``, ``backend.prod``,
    or a fully qualified ``backend.prod.svc.cluster.local.``)."""
    every: Literal["request", "ttl"] = "request"
    ttl: PositiveDuration = 30.0
    """With ``every: ttl``: how long an answer is kept."""
