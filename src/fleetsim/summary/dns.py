"""The run's DNS figures: what the CoreDNS pods answered and what each service's pods
saw of their lookups, over the measured window.

``queries`` counts the queries that reached the CoreDNS pods (NodeLocal DNSCache hits
never do), ``queries_per_s`` divides it by the window. ``unanswered`` is what reached a
pod and got no answer (dropped by a full queue or a pod that is gone), plus queries that
found no endpoint, plus those of nodes whose DNS does not answer yet. Per service:
``lookups`` (started in the window), ``failed`` (gave up: every name NXDOMAIN or
SERVFAIL, or a try without an answer), the ``queries`` they sent and the latency of the
lookups that resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetsim.metrics.histogram import Accumulator, Histogram
from fleetsim.summary.collector import latency_block
from fleetsim.summary.model import CoreDNSFigures, DnsClientFigures, DnsFigures

if TYPE_CHECKING:
    from fleetsim.cluster.coredns import CoreDNS
    from fleetsim.cluster.name_resolution import NameResolution

_COREDNS_COUNTERS = (
    "queries",
    "answered",
    "cache_hits",
    "forwarded",
    "node_local_hits",
    "no_endpoint",
    "node_not_ready",
    "other_queries",
)


def _coredns_counts(coredns: CoreDNS) -> dict[str, int]:
    counts = {key: int(getattr(coredns, key)) for key in _COREDNS_COUNTERS}
    counts["noerror"], _, counts["servfail"], counts["nxdomain"] = coredns.by_rcode
    return counts


class DnsWindow:
    """Counters at the start of the window, and per-interval series columns."""

    def __init__(self, names: NameResolution) -> None:
        self.names = names
        self.at_start: dict[str, int] = {}
        self.clients_at_start: dict[str, tuple[int, int, int]] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self._last_queries = 0

    def start_window(self) -> None:
        if self.names.coredns is not None:
            self.at_start = _coredns_counts(self.names.coredns)
        for name, stats in self.names.stats.items():
            self.clients_at_start[name] = (stats.lookups, stats.failed, stats.queries)
            stats.latency = Histogram()

    def sample(self, service: str, length: float) -> dict[str, Any]:
        """Series columns of ``service`` for the interval just ended."""
        stats = self.names.stats[service]
        lookups, failed = self._last.get(service, (0, 0))
        self._last[service] = (stats.lookups, stats.failed)
        columns: dict[str, Any] = {
            "dns_lookups": stats.lookups - lookups,
            "dns_lookups_failed": stats.failed - failed,
        }
        coredns = self.names.coredns
        if coredns is not None and service == self.names.service:
            queries = coredns.queries - self._last_queries
            self._last_queries = coredns.queries
            columns["dns_queries_per_s"] = round(queries / length, 3) if length > 0 else 0.0
        return columns

    def figures(self, duration: float) -> DnsFigures:
        clients: dict[str, DnsClientFigures] = {}
        for name, stats in self.names.stats.items():
            lookups0, failed0, queries0 = self.clients_at_start.get(name, (0, 0, 0))
            if stats.lookups == lookups0:
                continue
            latency = Accumulator()
            latency.add(stats.latency)
            clients[name] = DnsClientFigures(
                lookups=stats.lookups - lookups0,
                failed=stats.failed - failed0,
                queries=stats.queries - queries0,
                queries_per_s=(stats.queries - queries0) / duration,
                latency_ms=latency_block(latency, ["p50", "p99"]),
            )
        figures = DnsFigures(clients=clients)
        coredns = self.names.coredns
        if coredns is not None and self.names.service is not None:
            now = _coredns_counts(coredns)
            delta = {key: now[key] - self.at_start.get(key, 0) for key in now}
            answered = delta["answered"]
            figures["coredns"] = CoreDNSFigures(
                service=self.names.service,
                queries=delta["queries"],
                queries_per_s=delta["queries"] / duration,
                answered=answered,
                unanswered=max(0, delta["queries"] - answered)
                + delta["no_endpoint"]
                + delta["node_not_ready"],
                noerror=delta["noerror"],
                nxdomain=delta["nxdomain"],
                servfail=delta["servfail"],
                cache_hit_ratio=delta["cache_hits"] / answered if answered else 0.0,
                forwarded=delta["forwarded"],
                node_local_hits=delta["node_local_hits"],
                other_queries=delta["other_queries"],
            )
        return figures
