"""``compare``'s table: each metric of the baseline and of every variant, with the change.

Rows are metrics, columns the baseline then each variant. A variant's cell shows its
value and its change against the baseline in %, green when it is better and red when it
is worse: every row knows whether lower or higher is better (latency, failures, retries,
memory: lower; goodput, throughput: higher), and counts such as requests are neutral.
The scenario's watched metrics (``metadata.watch``) come first. Numbers are shortened
(``17,855``, ``54.2``, ``1.23M``) and a comparison too wide for the console is split
into several tables, each with the baseline, so that no number is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from fleetsim.summary.model import ServiceSummary, Summary
from fleetsim.summary.paths import MetricError, metric_value

Figure = float | int | None
Better = Literal["lower", "higher"] | None
RunFigure = Callable[[Summary], Figure]
ServiceFigure = Callable[[ServiceSummary], Figure]
METRIC_WIDTH = 24
"""The metric column's width at most; longer names wrap."""


@dataclass(frozen=True)
class Row:
    """One metric across the runs: ``values[0]`` is the baseline's."""

    label: str
    values: list[Figure | str]
    better: Better = None


def _failure_rate(summary: Summary) -> Figure:
    total = summary["requests"]["total"]
    return 100 * summary["requests"]["failed"] / total if total else None


RUN_ROWS: list[tuple[str, RunFigure, Better]] = [
    ("requests", lambda s: s["requests"]["total"], None),
    ("failure rate %", _failure_rate, "lower"),
    ("failed", lambda s: s["requests"]["failed"], "lower"),
    ("timed out", lambda s: s["requests"]["timed_out"], "lower"),
    ("rejected", lambda s: s["requests"]["rejected"], "lower"),
    ("unavailable", lambda s: s["requests"]["unavailable"], "lower"),
    ("attempts", lambda s: s["attempts"], None),
    ("retries", lambda s: s["retries"], "lower"),
    ("throughput/s", lambda s: s["throughput_rps"], "higher"),
    ("goodput/s", lambda s: _get(s, "goodput_rps"), "higher"),
    ("mean ms", lambda s: s["latency_ms"]["mean"], "lower"),
    ("p50 ms", lambda s: s["latency_ms"]["p50"], "lower"),
    ("p95 ms", lambda s: _get(s["latency_ms"], "p95"), "lower"),
    ("p99 ms", lambda s: s["latency_ms"]["p99"], "lower"),
    ("p99.9 ms", lambda s: s["latency_ms"]["p999"], "lower"),
    ("p99.99 ms", lambda s: s["latency_ms"].get("p9999"), "lower"),
    ("max ms", lambda s: s["latency_ms"]["max"], "lower"),
]


def _get(block: Any, key: str) -> Figure:
    """A figure that only newer summaries carry (read with ``.get``)."""
    value = block.get(key)
    return value if isinstance(value, int | float) else None


def _sidecar_mib_max(service: ServiceSummary) -> Figure:
    memory = service.get("memory_bytes")
    return None if memory is None else memory["sidecar"]["max"] / 2**20


def _connections(service: ServiceSummary, side: str) -> Figure:
    connections = service.get("connections")
    if connections is None:
        return None
    return connections["sidecar"]["mean"] if side == "sidecar" else connections["app"]["mean"]


def _sidecar_connects(service: ServiceSummary) -> Figure:
    connects = service.get("connects_per_s")
    return None if connects is None else connects["sidecar"]


def _sidecar_restarts(service: ServiceSummary) -> Figure:
    restarts = service.get("restarts")
    return None if restarts is None else restarts["sidecar"]


def _xds(service: ServiceSummary, key: str) -> Figure:
    xds: Any = service.get("xds")
    return None if xds is None else xds[key]


SERVICE_ROWS: list[tuple[str, ServiceFigure, Better]] = [
    ("util", lambda s: s["utilization"], None),
    ("pod max/mean", lambda s: s["pods"]["share_max_over_mean"], "lower"),
    ("replicas max", lambda s: s["replicas"]["max"], None),
    ("replicas mean", lambda s: s["replicas"]["mean"], None),
    ("reversals", lambda s: s["replicas"]["reversals"], "lower"),
    ("ready delay mean s", lambda s: s["readiness"]["ready_delay_s"]["mean"], "lower"),
    ("readiness flips", lambda s: s["readiness"]["transitions"], "lower"),
    ("pod share CV", lambda s: s["pods"]["share_cv"], "lower"),
    ("retries", lambda s: s["retries"], "lower"),
    ("ejections", lambda s: s["ejections"], "lower"),
    ("overflows", lambda s: s["overflows"], "lower"),
    ("sidecar conns mean", lambda s: _connections(s, "sidecar"), None),
    ("app conns mean", lambda s: _connections(s, "app"), None),
    ("sidecar connects/s", _sidecar_connects, None),
    ("sidecar MiB max", _sidecar_mib_max, "lower"),
    ("sidecar restarts", _sidecar_restarts, "lower"),
    ("stale endpoint proxy-s", lambda s: _xds(s, "stale_endpoint_seconds"), "lower"),
    ("stale proxies max", lambda s: _xds(s, "stale_proxies_max"), "lower"),
    ("tries to gone pods", lambda s: _xds(s, "tries_to_gone_endpoints"), "lower"),
]

LOWER_IS_BETTER = {
    "latency_ms",
    "failed",
    "timed_out",
    "rejected",
    "errored",
    "unavailable",
    "retries",
    "ejections",
    "overflows",
    "memory_bytes",
    "restarts",
    "transitions",
    "reversals",
    "ready_delay_s",
    "share_cv",
    "share_max_over_mean",
    "stale_endpoint_seconds",
    "tries_to_gone_endpoints",
    "region_unavailable_seconds",
    "servfail",
    "unanswered",
}
HIGHER_IS_BETTER = {"goodput_rps", "throughput_rps", "succeeded", "cache_hit_ratio"}


def direction_of(path: str) -> Better:
    """Whether lower or higher is better for a dotted summary path, by its names."""
    parts = set(path.split("."))
    if parts & HIGHER_IS_BETTER:
        return "higher"
    if parts & LOWER_IS_BETTER:
        return "lower"
    return None


# --- rows ----------------------------------------------------------------------------


def watched_rows(summaries: Sequence[Summary], watch: Sequence[str]) -> list[Row]:
    """The watched paths that resolve in the baseline, one row each."""
    rows = []
    for path in watch:
        if _lookup(summaries[0], path) is None:
            continue
        rows.append(Row(path, [_lookup(s, path) for s in summaries], direction_of(path)))
    return rows


def _lookup(summary: Summary, path: str) -> Figure:
    try:
        return metric_value(summary, path)
    except MetricError:
        return None


def run_rows(summaries: Sequence[Summary]) -> list[Row]:
    rows = [Row(label, [f(s) for s in summaries], better) for label, f, better in RUN_ROWS]
    return [row for row in rows if any(value is not None for value in row.values)]


def service_rows(summaries: Sequence[Summary]) -> list[Row]:
    rows = []
    for name in summaries[0]["services"]:
        for label, figure, better in SERVICE_ROWS:
            values: list[Figure | str] = [
                figure(s["services"][name]) if name in s["services"] else None for s in summaries
            ]
            if any(value is not None for value in values):
                rows.append(Row(f"{name} {label}", values, better))
    return rows


def traffic_rows(summaries: Sequence[Summary]) -> list[Row]:
    """Per traffic failure rate and p99, when there is more than one traffic."""
    names = list(summaries[0]["traffic"])
    if len(names) < 2:
        return []
    rows = []
    for name in names:
        rates: list[Figure | str] = []
        p99s: list[Figure | str] = []
        for summary in summaries:
            figures = summary["traffic"].get(name)
            total = figures["requests"]["total"] if figures else 0
            rates.append(100 * figures["requests"]["failed"] / total if figures and total else None)
            p99s.append(figures["latency_ms"]["p99"] if figures else None)
        rows.append(Row(f"{name} failure rate %", rates, "lower"))
        rows.append(Row(f"{name} p99 ms", p99s, "lower"))
    return rows


def storage_rows(summaries: Sequence[Summary]) -> list[Row]:
    """Per HBase table: the spread of regions and load; per cluster: moves, splits,
    region-seconds unavailable."""
    first = summaries[0].get("storage")
    if first is None:
        return []
    rows = []
    for name in first["tables"]:
        spread: list[Figure | str] = []
        load: list[Figure | str] = []
        for summary in summaries:
            figures = summary.get("storage", {}).get("tables", {}).get(name)
            low = figures["regions_per_server_min"] if figures else None
            spread.append(f"{low}-{figures['regions_per_server_max']}" if figures else None)
            load.append(figures["requests_max_over_mean"] if figures else None)
        rows.append(Row(f"table {name} regions/server", spread))
        rows.append(Row(f"table {name} requests max/mean", load, "lower"))
    for service in first["clusters"]:
        for label, key, better in (
            ("moves", "moves", None),
            ("splits", "splits", None),
            ("unavailable region-s", "region_unavailable_seconds", "lower"),
        ):
            values: list[Figure | str] = []
            for summary in summaries:
                cluster: Any = summary.get("storage", {}).get("clusters", {}).get(service)
                values.append(None if cluster is None else cluster[key])
            rows.append(Row(f"hbase {service} {label}", values, better))  # type: ignore[arg-type]
    return rows


def dns_rows(summaries: Sequence[Summary]) -> list[Row]:
    """CoreDNS queries/s and each service's failed lookups."""
    if not any("dns" in summary for summary in summaries):
        return []
    rows = []
    queries: list[Figure | str] = []
    for summary in summaries:
        coredns = summary.get("dns", {}).get("coredns")
        queries.append(None if coredns is None else coredns["queries_per_s"])
    if any(value is not None for value in queries):
        rows.append(Row("CoreDNS queries/s", queries))
    clients = {name for summary in summaries for name in summary.get("dns", {}).get("clients", {})}
    for name in sorted(clients):
        failed: list[Figure | str] = []
        for summary in summaries:
            client = summary.get("dns", {}).get("clients", {}).get(name)
            failed.append(0 if client is None else client["failed"])
        rows.append(Row(f"{name} failed lookups", failed, "lower"))
    return rows


def compare_sections(summaries: Sequence[Summary], watch: Sequence[str] = ()) -> list[list[Row]]:
    """The rows of the comparison, watched metrics first, in sections."""
    sections = [
        watched_rows(summaries, watch),
        run_rows(summaries),
        service_rows(summaries),
        storage_rows(summaries) + traffic_rows(summaries) + dns_rows(summaries),
    ]
    return [section for section in sections if section]


# --- cells ---------------------------------------------------------------------------


def compact(value: Figure | str) -> str:
    """A short number: ``89,277``, ``1.23M``, ``17,855``, ``54.20``, ``0.699``, ``-``."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.2f}G"
    if size >= 1e6:
        return f"{value / 1e6:.2f}M"
    if isinstance(value, int) or size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def change(base: Figure | str, value: Figure | str) -> str:
    """The change against the baseline: ``-12%`` (a minus sign), ``+3.4%``; ``+5`` from
    a zero baseline;
    empty when there is nothing to compare or no change."""
    if not isinstance(base, int | float) or not isinstance(value, int | float):
        return ""
    if value == base:
        return ""
    if base == 0:
        return _signed(compact(value - base) if value > 0 else compact(base - value), value > 0)
    percent = 100 * (value - base) / abs(base)
    text = f"{abs(percent):.1f}%" if abs(percent) < 10 else f"{abs(percent):,.0f}%"
    return _signed(text, percent > 0)


def _signed(text: str, up: bool) -> str:
    return ("+" if up else "\u2212") + text


def _style(row: Row, base: Figure | str, value: Figure | str) -> str:
    if row.better is None or not isinstance(base, int | float):
        return ""
    if not isinstance(value, int | float) or value == base:
        return ""
    lower = value < base
    return "green" if lower == (row.better == "lower") else "red"


def cell(row: Row, index: int) -> Text:
    """The value of run ``index`` and, for a variant, its change in colour."""
    base, value = row.values[0], row.values[index]
    text = Text(compact(value))
    delta = change(base, value) if index else ""
    if delta:
        text.append(" " + delta, style=_style(row, base, value))
    return text


# --- tables --------------------------------------------------------------------------


def compare_table(
    summaries: Sequence[Summary], watch: Sequence[str] = (), runs: Sequence[int] | None = None
) -> Table:
    """Runs side by side (``runs``: their indexes; default all), one row per metric."""
    chosen = list(range(len(summaries))) if runs is None else list(runs)
    table = Table(title=f"{summaries[0]['scenario']}: variants compared", title_justify="left")
    table.add_column("metric", overflow="fold", max_width=METRIC_WIDTH)
    for index in chosen:
        table.add_column(summaries[index]["variant"], justify="right", no_wrap=True)
    sections = compare_sections(summaries, watch)
    for number, section in enumerate(sections):
        for position, row in enumerate(section):
            last = position == len(section) - 1 and number < len(sections) - 1
            table.add_row(row.label, *(cell(row, i) for i in chosen), end_section=last)
    return table


def compare_tables(
    summaries: Sequence[Summary], watch: Sequence[str] = (), width: int = 80
) -> list[Table]:
    """The comparison in as many tables as ``width`` needs, each with the baseline."""
    sections = compare_sections(summaries, watch)
    rows = [row for section in sections for row in section]
    widths = [_column_width(summaries, rows, i) for i in range(len(summaries))]
    labels = min(METRIC_WIDTH, max((len(row.label) for row in rows), default=6))
    room = width - (labels + 3) - (widths[0] + 3) - 1
    groups: list[list[int]] = [[]]
    used = 0
    for index in range(1, len(summaries)):
        if groups[-1] and used + widths[index] + 3 > room:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += widths[index] + 3
    return [compare_table(summaries, watch, [0, *group]) for group in groups]


def _column_width(summaries: Sequence[Summary], rows: list[Row], index: int) -> int:
    cells = [cell(row, index).cell_len for row in rows]
    return max([len(summaries[index]["variant"]), *cells])
