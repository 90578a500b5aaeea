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
        "unavailable",
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
        _num(requests.get("unavailable", 0)),
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
    if any("connections" in service for service in summary["services"].values()):
        console.print(_sidecar_table(summary["services"]))
    if _has_kubernetes_activity(summary):
        console.print(_kubernetes_table(summary["services"]))
        events = summary.get("events_by_kind", {})
        happened = ", ".join(f"{kind} {count:,}" for kind, count in events.items() if count)
        console.print(f"Cluster events: {happened or 'none'}")


def _sidecar_table(services: dict[str, Any]) -> Table:
    table = Table(title="Sidecars (per pod) and retries", title_justify="left")
    for column in (
        "service",
        "sidecar conns mean/max",
        "app conns mean/max",
        "connects/s",
        "memory MiB start/mean/max/end",
        "restarts",
        "retries",
        "ejections",
        "overflows",
    ):
        table.add_column(column, justify="left" if column == "service" else "right")
    for name, service in services.items():
        if "connections" not in service:
            continue
        sidecar, app = service["connections"]["sidecar"], service["connections"]["app"]
        memory = service["memory_bytes"]["sidecar"]
        mib = "/".join(f"{memory[key] / 2**20:,.0f}" for key in ("start", "mean", "max", "end"))
        table.add_row(
            name,
            f"{sidecar['mean']:,.0f}/{sidecar['max']:,.0f}",
            f"{app['mean']:,.1f}/{app['max']:,.0f}",
            _num(service["connects_per_s"]["sidecar"]),
            mib,
            f"{service['restarts']['sidecar']:,}",
            f"{service['retries']:,}",
            f"{service['ejections']:,}",
            f"{service['overflows']:,}",
        )
    return table


def _has_kubernetes_activity(summary: dict[str, Any]) -> bool:
    if any(summary.get("events_by_kind", {}).values()):
        return True
    return any("hpa" in service for service in summary["services"].values())


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _kubernetes_table(services: dict[str, Any]) -> Table:
    table = Table(title="Replicas and readiness", title_justify="left")
    for column in [
        "service",
        "replicas min",
        "max",
        "mean",
        "final",
        "ups",
        "downs",
        "reversals",
        "ready flips",
        "ready delay mean s",
        "max s",
        "unavailable",
    ]:
        table.add_column(column, justify="left" if column == "service" else "right")
    for name, s in services.items():
        replicas = s.get("replicas")
        readiness = s.get("readiness")
        if replicas is None or readiness is None:
            continue
        delay = readiness["ready_delay_s"]
        table.add_row(
            name,
            str(replicas["min"]),
            str(replicas["max"]),
            f"{replicas['mean']:.1f}",
            str(replicas["final"]),
            str(replicas["scale_ups"]),
            str(replicas["scale_downs"]),
            str(replicas["reversals"]),
            str(readiness["transitions"]),
            _seconds(delay["mean"]),
            _seconds(delay["max"]),
            _num(s.get("unavailable", 0)),
        )
    return table


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
    ("unavailable", ("requests", "unavailable")),
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


SERVICE_COMPARE_ROWS: list[tuple[str, tuple[str, ...], int]] = [
    ("util", ("utilization",), 3),
    ("pod max/mean", ("pods", "share_max_over_mean"), 3),
    ("replicas max", ("replicas", "max"), 0),
    ("replicas mean", ("replicas", "mean"), 1),
    ("reversals", ("replicas", "reversals"), 0),
    ("ready delay mean s", ("readiness", "ready_delay_s", "mean"), 1),
    ("readiness flips", ("readiness", "transitions"), 0),
    ("pod share CV", ("pods", "share_cv"), 3),
    ("retries", ("retries",), 0),
    ("ejections", ("ejections",), 0),
    ("overflows", ("overflows",), 0),
    ("sidecar conns mean", ("connections", "sidecar", "mean"), 0),
    ("app conns mean", ("connections", "app", "mean"), 1),
    ("sidecar connects/s", ("connects_per_s", "sidecar"), 2),
    ("sidecar MiB max", ("memory_bytes", "sidecar", "max_mib"), 1),
    ("sidecar restarts", ("restarts", "sidecar"), 0),
]


def _dig(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    if path[-1] == "max_mib":
        found = _dig(document, (*path[:-1], "max"))
        return None if found is None else found / 2**20
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def compare_table(summaries: list[dict[str, Any]]) -> Table:
    """Variants side by side: one column per variant, one row per figure."""
    table = Table(title=f"{summaries[0]['scenario']}: variants compared", title_justify="left")
    table.add_column("metric")
    for summary in summaries:
        table.add_column(summary["variant"], justify="right")
    for label, path in COMPARE_ROWS:
        table.add_row(label, *(_cell(_dig(s, path), 3) for s in summaries))
    service_names = list(summaries[0]["services"])
    for name in service_names:
        for label, path, digits in SERVICE_COMPARE_ROWS:
            cells = [_cell(_dig(s["services"].get(name, {}), path), digits) for s in summaries]
            if all(cell == "-" for cell in cells):
                continue
            table.add_row(f"{name} {label}", *cells)
    return table
