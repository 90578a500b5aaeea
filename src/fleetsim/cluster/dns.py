"""Name resolution from a pod: the stub resolver that ``resolv.conf`` configures.

The kubelet writes a pod's ``resolv.conf`` for ``dnsPolicy: ClusterFirst`` with the
search list ``<namespace>.svc.<domain> svc.<domain> <domain>`` (plus the node's own
search domains) and ``options ndots:5`` (``pkg/kubelet/network/dns/dns.go``,
``defaultDNSOptions``). A name with fewer than ``ndots`` dots is tried with each search
suffix first, then as given; one with ``ndots`` or more is tried as given first.

A query is sent up to ``attempts`` times, each try waiting for an answer. With glibc
(``resolv.conf(5)``: ``timeout`` 5 s, ``attempts`` 2) every try waits ``timeout``. Envoy
resolves with c-ares, which reads the same options but doubles the wait on each round
of tries (``ares_process.c``: ``timeout << (try_count / nservers)``) and, when
resolv.conf sets neither, used 5 s and 4 tries (``ares_private.h`` ``DEFAULT_TIMEOUT``,
``DEFAULT_TRIES`` before c-ares 1.20.1, the library Envoy bundled at the time): a
lookup that gets no answer gives up after 5 + 10 + 20 + 40 = 75 s. A try sent while the
node's DNS answers is answered. A query that gets no answer ends the lookup with a
failure: glibc's ``res_nsearch`` and c-ares' ``ares_search`` move to the next search
suffix only on NXDOMAIN or an empty answer, not on a timeout.

Which names exist: those the caller names (``known``), or by default any name of the form
of a Service, ``<service>.<namespace>.svc.<domain>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from fleetsim.kubernetes.node import Node
    from fleetsim.scenario.kubernetes import DNSConfig

CLUSTER_DOMAIN = "cluster.local"
ANSWER_TIME = 0.001
"""Round trip of an answered query (a cluster DNS answer is ~1 ms; it is noise here)."""

_SERVICE_NAME = re.compile(r"[^.]+\.[^.]+\.svc\." + re.escape(CLUSTER_DOMAIN))


def service_fqdn(name: str) -> str:
    """``istiod.istio-system.svc`` -> ``istiod.istio-system.svc.cluster.local``."""
    name = name.rstrip(".")
    return f"{name}.{CLUSTER_DOMAIN}" if name.endswith(".svc") else name


class Lookup(NamedTuple):
    """The outcome of one lookup: resolved or not, and how long it took."""

    resolved: bool
    duration: float
    queries: int


CARES_DEFAULT_TIMEOUT = 5.0
CARES_DEFAULT_TRIES = 4


class Resolver:
    """A pod's stub resolver as its ``dnsConfig`` sets it (``library``: glibc or c-ares)."""

    def __init__(
        self, config: DNSConfig, library: str = "glibc", known: set[str] | None = None
    ) -> None:
        self.known = known
        self.searches = list(config.searches)
        self.ndots = config.ndots
        given = {option.name for option in config.options}
        if library == "c-ares":
            timeout = config.timeout if "timeout" in given else CARES_DEFAULT_TIMEOUT
            tries = config.attempts if "attempts" in given else CARES_DEFAULT_TRIES
            self.try_timeouts = [timeout * 2**round_ for round_ in range(tries)]
        else:
            self.try_timeouts = [config.timeout] * config.attempts

    def candidates(self, name: str) -> list[str]:
        """The names tried, in order, for ``name`` (the ``ndots`` rule)."""
        if name.endswith("."):
            return [name[:-1]]
        suffixed = [f"{name}.{suffix}" for suffix in self.searches]
        if name.count(".") >= self.ndots:
            return [name, *suffixed]
        return [*suffixed, name]

    def exists(self, name: str) -> bool:
        if self.known is not None:
            return name in self.known
        return _SERVICE_NAME.fullmatch(name) is not None

    def lookup(self, name: str, node: Node, now: float) -> Lookup:
        """Resolve ``name`` from a pod on ``node``, starting at ``now``."""
        elapsed = 0.0
        queries = 0
        for candidate in self.candidates(name):
            answered = False
            for wait in self.try_timeouts:
                queries += 1
                if node.dns_answers(now + elapsed):
                    answered = True
                    break
                elapsed += wait
            if not answered:
                return Lookup(False, elapsed, queries)
            elapsed += ANSWER_TIME
            if self.exists(candidate):
                return Lookup(True, elapsed, queries)
        return Lookup(False, elapsed, queries)
