"""The DNS part of a report: what CoreDNS answered and what each service's lookups saw."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from fleetsim.summary.model import DnsFigures, Summary


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


def compare_dns(table: Table, summaries: list[Summary]) -> None:
    """CoreDNS queries/s and each service's failed lookups, variant by variant."""
    if not any("dns" in summary for summary in summaries):
        return
    cells = []
    for summary in summaries:
        coredns = summary.get("dns", {}).get("coredns")
        cells.append("-" if coredns is None else _rate(coredns["queries_per_s"]))
    if any(cell != "-" for cell in cells):
        table.add_row("CoreDNS queries/s", *cells)
    clients = {name for summary in summaries for name in summary.get("dns", {}).get("clients", {})}
    for name in sorted(clients):
        failed = []
        for summary in summaries:
            client = summary.get("dns", {}).get("clients", {}).get(name)
            failed.append("0" if client is None else f"{client['failed']:,}")
        table.add_row(f"{name} failed lookups", *failed)


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.2f}"
