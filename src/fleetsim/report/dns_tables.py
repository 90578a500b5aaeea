"""The DNS part of a report: what CoreDNS answered and what each service's lookups saw."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from fleetsim.summary.model import DnsFigures


def dns_table(dns: DnsFigures) -> Table:
    """One row for the CoreDNS pods (if modelled), one per service that looked names up."""
    table = Table(title="DNS", title_justify="left")
    for column in (
        "who",
        "queries/s",
        "lookups",
        "failed",
        "lookup p50 ms",
        "lookup p99 ms",
        "unanswered",
        "NXDOMAIN",
        "SERVFAIL",
        "cache hits",
    ):
        table.add_column(column, justify="left" if column == "who" else "right")
    coredns = dns.get("coredns")
    if coredns is not None:
        table.add_row(
            f"{coredns['service']} (CoreDNS)",
            _rate(coredns["queries_per_s"]),
            "",
            "",
            "",
            "",
            f"{coredns['unanswered']:,}",
            f"{coredns['nxdomain']:,}",
            f"{coredns['servfail']:,}",
            f"{coredns['cache_hit_ratio']:.1%}",
        )
    for name, client in dns["clients"].items():
        table.add_row(
            name,
            _rate(client["queries_per_s"]),
            f"{client['lookups']:,}",
            f"{client['failed']:,}",
            f"{client['latency_ms']['p50']:,.2f}",
            f"{client['latency_ms']['p99']:,.2f}",
            "",
            "",
            "",
            "",
        )
    return table


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.2f}"
