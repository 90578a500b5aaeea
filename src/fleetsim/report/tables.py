"""Human-readable tables of summaries, printed with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

LATENCY_KEYS = ["mean", "p50", "p90", "p99", "p999", "p9999", "max"]


def _num(value: float, digits: int = 2) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def print_summary(summary: dict[str, Any], console: Console) -> None:
    """The summary of one run as a few compact tables."""
    requests = summary["requests"]
    events_per_s = summary["events"] / summary["wall_seconds"] if summary["wall_seconds"] else 0
    console.print(
        f"[bold]{summary['scenario']}[/bold] variant [bold]{summary['variant']}[/bold] "
        f"seed {summary['seed']}: {summary['simulated_seconds']:g} s simulated "
        f"(+{summary.get('warmup_seconds', 0):g} s warm-up) "
        f"in {summary['wall_seconds']:.2f} s wall, "
        f"{summary['events']:,} events ({events_per_s:,.0f}/s)"
    )
    overview = Table(title="Requests", title_justify="left")
    for column in [
        "total",
        "succeeded",
        "failed",
        "timed out",
        "rejected",
        "errored",
        "attempts",
        "retries",
        "throughput/s",
    ]:
        overview.add_column(column, justify="right")
    overview.add_row(
        _num(requests["total"]),
        _num(requests["succeeded"]),
        _num(requests["failed"]),
        _num(requests["timed_out"]),
        _num(requests["rejected"]),
        _num(requests.get("errored", 0)),
        _num(summary["attempts"]),
        _num(summary.get("retries", 0)),
        _num(summary["throughput_rps"], 1),
    )
    console.print(overview)
    latency = Table(title="Client latency of succeeded requests (ms)", title_justify="left")
    for key in LATENCY_KEYS:
        latency.add_column(key, justify="right")
    latency.add_row(*(_num(summary["latency_ms"][k], 3) for k in LATENCY_KEYS))
    console.print(latency)
    console.print(_services_table(summary["services"]))


def _services_table(services: dict[str, Any]) -> Table:
    table = Table(title="Services (per attempt)", title_justify="left")
    for column in [
        "service",
        "pods",
        "attempts",
        "failed",
        "util",
        "mean ms",
        "p99 ms",
        "max ms",
        "pod max/mean",
        "pod cv",
        "zone shares",
    ]:
        left = column in ("service", "zone shares")
        table.add_column(column, justify="left" if left else "right")
    for name, s in services.items():
        zones = " ".join(f"{z}={v['share']:.2f}" for z, v in s["zones"].items())
        table.add_row(
            name,
            str(s["pods"]["count"]),
            _num(s["attempts"]),
            _num(s["failed"]),
            f"{s['utilization']:.3f}",
            _num(s["latency_ms"]["mean"], 3),
            _num(s["latency_ms"]["p99"], 3),
            _num(s["latency_ms"]["max"], 3),
            f"{s['pods']['share_max_over_mean']:.3f}",
            f"{s['pods']['share_cv']:.3f}",
            zones,
        )
    return table


COMPARE_ROWS: list[tuple[str, tuple[str, ...]]] = [
    ("requests", ("requests", "total")),
    ("failed", ("requests", "failed")),
    ("timed out", ("requests", "timed_out")),
    ("rejected", ("requests", "rejected")),
    ("attempts", ("attempts",)),
    ("retries", ("retries",)),
    ("throughput/s", ("throughput_rps",)),
    ("mean ms", ("latency_ms", "mean")),
    ("p50 ms", ("latency_ms", "p50")),
    ("p99 ms", ("latency_ms", "p99")),
    ("p99.9 ms", ("latency_ms", "p999")),
    ("p99.99 ms", ("latency_ms", "p9999")),
    ("max ms", ("latency_ms", "max")),
]


def _dig(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value[key]
    return value


def compare_table(summaries: list[dict[str, Any]]) -> Table:
    """Variants side by side: one column per variant, one row per figure."""
    table = Table(title=f"{summaries[0]['scenario']}: variants compared", title_justify="left")
    table.add_column("metric")
    for summary in summaries:
        table.add_column(summary["variant"], justify="right")
    for label, path in COMPARE_ROWS:
        table.add_row(label, *(_num(_dig(s, path), 3) for s in summaries))
    service_names = list(summaries[0]["services"])
    for name in service_names:
        for label, key in [("util", "utilization"), ("pod max/mean", "share_max_over_mean")]:
            cells = []
            for summary in summaries:
                service = summary["services"].get(name)
                if service is None:
                    cells.append("-")
                elif key == "utilization":
                    cells.append(f"{service['utilization']:.3f}")
                else:
                    cells.append(f"{service['pods'][key]:.3f}")
            table.add_row(f"{name} {label}", *cells)
    return table
