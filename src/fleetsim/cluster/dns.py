"""Name resolution from a pod: the stub resolver that ``resolv.conf`` configures.

The kubelet writes a pod's ``resolv.conf`` for ``dnsPolicy: ClusterFirst`` with the
search list ``<namespace>.svc.<domain> svc.<domain> <domain>`` (plus the node's own
search domains) and ``options ndots:5`` (``kubernetes/kubernetes``
``pkg/kubelet/network/dns/dns.go``, ``defaultDNSOptions``). A name with fewer than
``ndots`` dots is tried with each search suffix first, then as given; one with ``ndots``
or more is tried as given first; one with a trailing dot only as given.

For each name tried the resolver sends its queries (glibc's ``getaddrinfo`` sends an A
and an AAAA query together on one socket; Envoy's c-ares asks for A only, as Istio sets
``dns_lookup_family: V4_ONLY``) and waits for all of their answers. A try not fully
answered within its timeout is sent again, up to ``attempts`` times. With glibc
(``resolv.conf(5)``: ``timeout`` 5 s, ``attempts`` 2) every try waits ``timeout``;
c-ares doubles the wait on each round (``ares_process.c``:
``timeout << (try_count / nservers)``) and, when resolv.conf sets neither, used 5 s and 4
tries (``ares_private.h`` ``DEFAULT_TIMEOUT``, ``DEFAULT_TRIES`` before c-ares 1.20.1):
a lookup that gets no answer gives up after 5 + 10 + 20 + 40 = 75 s.

A name that does not exist (NXDOMAIN) moves the search to the next name; so does a
SERVFAIL, which glibc's ``res_nsearch`` remembers (``got_servfail``) and reports as a
temporary failure if no later name answers. A try that gets no answer at all ends the
lookup with a failure: ``res_nsearch`` and ``ares_search`` move on only on an answer.

Who answers is the :class:`Nameserver`: an ideal server on the node here (when the
scenario has no ``clusterDNS``), or the CoreDNS pods (:mod:`fleetsim.cluster.coredns`).
Either way a node whose DNS does not answer yet (``dnsReadyDelay``) answers nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from fleetsim.metrics.histogram import Histogram

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.kubernetes.node import Node
    from fleetsim.scenario.kubernetes import DNSConfig

CLUSTER_DOMAIN: Final = "cluster.local"
ANSWER_TIME: Final = 0.001
"""Round trip of a query answered on the node (a cached or ideal answer)."""

# Response codes (RFC 1035 RCODE) as the resolver sees them.
NOERROR: Final = 0
SERVFAIL: Final = 2
NXDOMAIN: Final = 3

CARES_DEFAULT_TIMEOUT: Final = 5.0
CARES_DEFAULT_TRIES: Final = 4

_SERVICE_NAME = re.compile(r"[^.]+\.[^.]+\.svc\." + re.escape(CLUSTER_DOMAIN))


def service_fqdn(name: str) -> str:
    """``istiod.istio-system.svc`` -> ``istiod.istio-system.svc.cluster.local``."""
    name = name.rstrip(".")
    return f"{name}.{CLUSTER_DOMAIN}" if name.endswith(".svc") else name


def in_cluster_domain(name: str) -> bool:
    """Names the cluster's DNS answers itself (CoreDNS's ``kubernetes`` plugin zone)."""
    return name == CLUSTER_DOMAIN or name.endswith("." + CLUSTER_DOMAIN)


def search_candidates(name: str, searches: list[str], ndots: int) -> list[str]:
    """The names a resolver tries for ``name``, in order: with fewer than ``ndots`` dots
    each search suffix first, then the name as given; with more, the name first; with a
    trailing dot only the name."""
    if name.endswith("."):
        return [name[:-1]]
    suffixed = [f"{name}.{suffix}" for suffix in searches]
    if name.count(".") >= ndots:
        return [name, *suffixed]
    return [*suffixed, name]


def names_tried(name: str, searches: list[str], ndots: int, names: Names) -> int:
    """How many names a lookup of ``name`` tries when every query is answered."""
    candidates = search_candidates(name, searches, ndots)
    for index, candidate in enumerate(candidates):
        if names.rcode(candidate) == NOERROR:
            return index + 1
    return len(candidates)


class Names:
    """Which names exist: every Service name of the cluster's form
    (``<service>.<namespace>.svc.cluster.local``) and the external names declared."""

    def __init__(self, external: set[str] | None = None) -> None:
        self.external = external if external is not None else set()

    def rcode(self, name: str) -> int:
        if in_cluster_domain(name):
            return NOERROR if _SERVICE_NAME.fullmatch(name) is not None else NXDOMAIN
        return NOERROR if name in self.external else NXDOMAIN


class Nameserver(Protocol):
    """Whoever answers a pod's queries (the node's resolver, the cluster's DNS)."""

    def query(self, lookup: Lookup, name: str) -> None:
        """Send ``lookup``'s queries for ``name`` (its current try); answer each one
        through ``lookup.answer(epoch, rcode)``, or never."""
        ...


class DnsClientStats:
    """What a service's pods saw of DNS: lookups, failures, queries sent, latency."""

    __slots__ = ("failed", "latency", "lookups", "queries")

    def __init__(self) -> None:
        self.lookups = 0
        self.failed = 0
        self.queries = 0
        self.latency = Histogram()


class Resolver:
    """A pod's stub resolver as its ``dnsConfig`` sets it (``library``: glibc or c-ares)."""

    def __init__(
        self,
        env: Environment,
        config: DNSConfig,
        nameserver: Nameserver,
        stats: DnsClientStats,
        *,
        library: str = "glibc",
    ) -> None:
        self.env = env
        self.nameserver = nameserver
        self.stats = stats
        self.searches = list(config.searches)
        self.ndots = config.ndots
        given = {option.name for option in config.options}
        if library == "c-ares":
            timeout = config.timeout if "timeout" in given else CARES_DEFAULT_TIMEOUT
            tries = config.attempts if "attempts" in given else CARES_DEFAULT_TRIES
            self.try_timeouts = [timeout * 2**round_ for round_ in range(tries)]
            self.queries_per_name = 1
        else:
            self.try_timeouts = [config.timeout] * config.attempts
            self.queries_per_name = 2

    def candidates(self, name: str) -> list[str]:
        """The names tried, in order, for ``name`` (the ``ndots`` rule)."""
        return search_candidates(name, self.searches, self.ndots)

    def resolve(self, name: str, node: Node, done: Callable[[bool, float], None]) -> Lookup:
        """Look ``name`` up from a pod on ``node``; ``done(resolved, seconds)`` at the end."""
        lookup = Lookup(self, self.candidates(name), node, done)
        lookup.send()
        return lookup


class Lookup:
    """One lookup in flight: the name being tried, its try, the answers still awaited.

    ``epoch`` numbers the tries; an answer to an earlier try is ignored, as the resolver
    matches answers to its current query ID. ``host`` is the CoreDNS pod the resolver's
    socket reaches (kube-proxy's conntrack entry keeps a socket's packets on one pod).
    """

    __slots__ = (
        "candidates",
        "done",
        "epoch",
        "finished",
        "host",
        "index",
        "node",
        "resolver",
        "started",
        "try_index",
        "unanswered",
    )

    def __init__(
        self,
        resolver: Resolver,
        candidates: list[str],
        node: Node,
        done: Callable[[bool, float], None],
    ) -> None:
        self.resolver = resolver
        self.candidates = candidates
        self.node = node
        self.done = done
        self.started = resolver.env.now
        self.index = 0
        self.try_index = 0
        self.epoch = 0
        self.unanswered = 0
        self.finished = False
        self.host: Host | None = None
        resolver.stats.lookups += 1

    @property
    def queries_per_name(self) -> int:
        return self.resolver.queries_per_name

    def send(self) -> None:
        """Send the current try for the current name and arm its timeout."""
        resolver = self.resolver
        self.epoch += 1
        self.unanswered = resolver.queries_per_name
        resolver.stats.queries += resolver.queries_per_name
        timeout = resolver.try_timeouts[self.try_index]
        resolver.env.schedule(timeout, self._timed_out, self.epoch)
        resolver.nameserver.query(self, self.candidates[self.index])

    def answer(self, epoch: int, rcode: int) -> None:
        """One query of try ``epoch`` was answered with ``rcode``."""
        if epoch != self.epoch or self.finished:
            return
        if rcode != NOERROR:
            self.unanswered = -1  # this name is settled: no such name (or SERVFAIL)
            self._next_name()
            return
        self.unanswered -= 1
        if self.unanswered == 0:
            self._finish(True)

    def _next_name(self) -> None:
        self.index += 1
        if self.index >= len(self.candidates):
            self._finish(False)
            return
        self.try_index = 0
        self.send()

    def _timed_out(self, epoch: int) -> None:
        if epoch != self.epoch or self.finished:
            return
        self.try_index += 1
        if self.try_index >= len(self.resolver.try_timeouts):
            self._finish(False)
        else:
            self.send()

    def _finish(self, resolved: bool) -> None:
        self.finished = True
        self.epoch += 1
        resolver = self.resolver
        elapsed = resolver.env.now - self.started
        if resolved:
            resolver.stats.latency.record(elapsed)
        else:
            resolver.stats.failed += 1
        self.done(resolved, elapsed)


class NodeNameserver:
    """No cluster DNS in the scenario: the node answers each query in ``ANSWER_TIME``
    once its DNS works, from the names that exist."""

    def __init__(self, env: Environment, names: Names) -> None:
        self.env = env
        self.names = names

    def query(self, lookup: Lookup, name: str) -> None:
        if not lookup.node.dns_answers(self.env.now):
            return
        rcode = self.names.rcode(name)
        for _ in range(lookup.queries_per_name):
            self.env.schedule(ANSWER_TIME, _deliver, (lookup, lookup.epoch, rcode))


def _deliver(argument: tuple[Lookup, int, int]) -> None:
    lookup, epoch, rcode = argument
    lookup.answer(epoch, rcode)
