"""Human-readable tables of summaries, printed with rich.

Tables read the typed summary (:mod:`fleetsim.summary.model`); a figure that only some
runs have (a mesh's, an HPA's) is read through a small accessor that answers None when
it is absent, and shows as ``-``.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fleetsim.report.dns_tables import dns_table
from fleetsim.report.fit import fitted
from fleetsim.summary.model import (
    RegionServerProcessFigures,
    ServiceSummary,
    StorageFigures,
    Summary,
)

LATENCY_KEYS = ["mean", "p50", "p90", "p95", "p99", "p999", "p9999", "max"]


def _num(value: float, digits: int = 2) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def print_summary(summary: Summary, console: Console) -> None:
    """The summary of one run as a few compact tables."""
    requests = summary["requests"]
    events_per_s = summary["events"] / summary["wall_seconds"] if summary["wall_seconds"] else 0
    console.print(
        f"[bold]{summary['scenario']}[/bold] variant [bold]{summary['variant']}[/bold] "
        f"seed {summary['seed']}: {summary['simulated_seconds']:g} s simulated "
        f"(+{summary['warmup_seconds']:g} s warm-up) "
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
        "goodput/s",
        "in flight",
    ]:
        overview.add_column(column, justify="right")
    overview.add_row(
        _num(requests["total"]),
        _num(requests["succeeded"]),
        _num(requests["failed"]),
        _num(requests["timed_out"]),
        _num(requests["rejected"]),
        _num(requests["errored"]),
        _num(requests["unavailable"]),
        _num(summary["attempts"]),
        _num(summary["retries"]),
        _num(summary["throughput_rps"], 1),
        _num(summary.get("goodput_rps", 0.0), 1),
        _num(summary["in_flight"]["end"]) if "in_flight" in summary else "-",
    )
    _print(console, overview)
    latency = Table(title="Client latency of succeeded requests (ms)", title_justify="left")
    for key in LATENCY_KEYS[:-1]:
        latency.add_column(key, justify="right")
    block = summary["latency_ms"]
    values = [block["mean"], block["p50"], block["p90"], block.get("p95", 0.0)]
    values += [block["p99"], block["p999"]]
    values += [block.get("p9999", 0.0)]
    deep = [key for key in ("p99999", "p999999") if block.get(key) is not None]
    for key in deep:
        latency.add_column(key, justify="right")
        values.append(float(block.get(key) or 0.0))  # type: ignore[arg-type]
    latency.add_column("max", justify="right")
    values.append(block["max"])
    latency.add_row(*(_num(value, 3) for value in values))
    _print(console, latency)
    console.print(_tail_line(summary))
    if len(summary["traffic"]) > 1:
        _print(console, _traffic_table(summary))
    _print(console, _services_table(summary["services"]))
    if "storage" in summary:
        for printable in _storage(summary["storage"]):
            _print(console, printable)
    if any("stalls" in service for service in summary["services"].values()):
        _print(console, _stalls_table(summary["services"]))
    if "nodes" in summary:
        console.print(_nodes_line(summary))
    if any("connections" in service for service in summary["services"].values()):
        _print(console, _sidecar_table(summary["services"]))
    if "dns" in summary:
        _print(console, dns_table(summary["dns"]))
    if "mesh" in summary:
        _print(console, _istiod_table(summary))
    if _has_kubernetes_activity(summary):
        _print(console, _kubernetes_table(summary["services"]))
        events = summary["events_by_kind"]
        happened = ", ".join(f"{kind} {count:,}" for kind, count in events.items() if count)
        console.print(f"Cluster events: {happened or 'none'}")


def _print(console: Console, printable: Table | str) -> None:
    """A table split to the console's width (no number cut), or a line of text."""
    if isinstance(printable, str):
        console.print(printable)
        return
    for part in fitted(printable, console):
        console.print(part)


def _tail_line(summary: Summary) -> str:
    tail = summary["tail"]
    slowest = tail["slowest"][:5]
    times = ", ".join(
        f"{entry['latency_ms']:,.0f} ms at {entry['t']:,.1f} s"
        + (" (timed out)" if entry["timed_out"] else "")
        for entry in slowest
    )
    return (
        f"Tail: {tail['over_10x_median']:,} requests took 10x the median "
        f"({tail['median_ms']:,.3f} ms), {tail['over_100x_median']:,} took 100x"
        + (f"; slowest: {times}" if times else "")
    )


def _traffic_table(summary: Summary) -> Table:
    table = Table(title="Requests by traffic", title_justify="left")
    for column in ["traffic", "total", "succeeded", "failed", "timed out", "p50 ms", "p99 ms"]:
        table.add_column(column, justify="left" if column == "traffic" else "right")
    for name, figures in summary["traffic"].items():
        requests, latency = figures["requests"], figures["latency_ms"]
        table.add_row(
            name,
            _num(requests["total"]),
            _num(requests["succeeded"]),
            _num(requests["failed"]),
            _num(requests["timed_out"]),
            _num(latency["p50"], 3),
            _num(latency["p99"], 3),
        )
    return table


def _storage(storage: StorageFigures) -> list[Table | str]:
    """One table per HBase table (its region servers), then the masters and clients."""
    printed: list[Table | str] = []
    for name, figures in storage["tables"].items():
        table = Table(
            title=(
                f"Table {name}: {figures['regions']} regions, "
                f"{figures['regions_per_server_min']}-{figures['regions_per_server_max']} "
                f"per server, requests max/mean {figures['requests_max_over_mean']:.2f} "
                f"(CV {figures['requests_cv']:.2f}), hottest region "
                f"{figures['hottest_region']['region']} "
                f"{figures['hottest_region']['share']:.1%}"
            ),
            title_justify="left",
        )
        for column in ["region server", "zone", "regions", "requests", "share", "p50", "p99"]:
            table.add_column(
                column, justify="left" if column in ("region server", "zone") else "right"
            )
        for server, row in figures["servers"].items():
            table.add_row(
                server + ("" if row["alive"] else " (gone)"),
                row["zone"],
                _num(row["regions"]),
                _num(row["requests"]),
                f"{row['share']:.1%}",
                _num(row["latency_ms"]["p50"], 3),
                _num(row["latency_ms"]["p99"], 3),
            )
        printed.append(table)
    for service, cluster in storage["clusters"].items():
        printed.append(
            f"HBase {service}: {cluster['servers']} servers live, {cluster['servers_expired']} "
            f"expired; regions unavailable {cluster['region_unavailable_seconds']:,.1f} "
            f"region-s; {cluster['splits']:,} splits, {cluster['moves']:,} moves "
            f"({cluster['balancer_runs']} balancer runs, {cluster['balancer_skipped']} "
            f"skipped), {cluster['reassigned']:,} regions reassigned"
        )
        if "region_servers" in cluster:
            printed.append(_region_servers_table(service, cluster["region_servers"]))
        scheduler = cluster.get("compaction_scheduler")
        if scheduler is not None:
            printed.append(
                f"Compaction scheduler: {scheduler['started']:,} major compactions started, "
                f"{scheduler['completed']:,} completed (per night: "
                f"{', '.join(str(n) for n in scheduler['completed_per_night']) or 'none'}), "
                f"paused {scheduler['paused_minutes']:,} min for latency; at the end "
                f"{scheduler['due_regions']:,} regions due, {scheduler['overdue_regions']:,} "
                "overdue"
            )
    for client, usage in storage["clients"].items():
        parts = f", {usage['parts']:,} salted parts" if usage["parts"] else ""
        printed.append(
            f"HBase client {client} ({usage['operation']} {usage['table']}): "
            f"{usage['tries']:,} tries{parts}, {usage['meta_lookups']:,} meta lookups, "
            f"{usage['not_serving']:,} not serving, {usage['no_replica']:,} without a "
            f"replica ({usage['requests_no_replica']:,} operations), "
            f"{usage['retries']:,} retries"
            + (f", {usage['too_busy']:,} refused (region too busy)" if usage["too_busy"] else "")
        )
        if len(usage["hourly"]) > 1:
            hours = ", ".join(f"{h['hour']}h {h['p99_ms']:,.0f}" for h in usage["hourly"])
            printed.append(f"  p99 ms by hour: {hours}")
    return printed


def _region_servers_table(service: str, servers: dict[str, RegionServerProcessFigures]) -> Table:
    """Heap, block cache, collector and stores of each region server process."""
    table = Table(title=f"Region server processes of {service}", title_justify="left")
    columns = [
        "process",
        "data hit",
        "meta hit",
        "young",
        "young s",
        "full",
        "max s",
        "files",
        "compactions",
        "rewritten",
        "blocked",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, row in servers.items():
        cache, gc, stores = row["block_cache"], row["gc"], row["stores"]
        table.add_row(
            name + ("" if row["alive"] else " (gone)"),
            f"{cache['data_hit_ratio']:.1%}",
            f"{cache['meta_hit_ratio']:.1%}",
            _num(gc["young_pauses"]),
            _num(gc["young_seconds"], 1),
            _num(gc["full_pauses"]),
            _num(gc["longest_pause_s"], 2),
            _num(stores["store_files"]),
            f"{stores['minor_compactions']:,}+{stores['major_compactions']:,}",
            f"{stores['compacted_bytes'] / (1 << 30):,.1f} GiB",
            _num(stores["blocked_writes"]),
        )
    return table


def _stalls_table(services: dict[str, ServiceSummary]) -> Table:
    table = Table(title="Stalls by cause (measured window)", title_justify="left")
    for column, justify in [
        ("service", "left"),
        ("cause", "left"),
        ("count", "right"),
        ("requests held", "right"),
        ("total s", "right"),
        ("max s", "right"),
        ("longest at (s, pod)", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, service in services.items():
        for cause, block in service.get("stalls", {}).items():
            if not block["count"]:
                continue
            longest = ", ".join(f"{s['t']:,.1f} {s['pod']}" for s in block["longest"][:3])
            table.add_row(
                name,
                cause,
                _num(block["count"]),
                _num(block["requests"]),
                _num(block["total_seconds"], 3),
                _num(block["max_seconds"], 3),
                longest,
            )
    return table


def _nodes_line(summary: Summary) -> str:
    parts = []
    for pool, figures in summary.get("nodes", {}).items():
        text = f"pool {pool} ({figures['nodes']} nodes)"
        agent = figures.get("cadvisor")
        if agent is not None:
            text += (
                f": cAdvisor walks {agent['walks']:,}, mean {agent['walk_seconds_mean']:.2f} s, "
                f"max {agent['walk_seconds_max']:.2f} s, CPU {agent['cpu_cores_mean']:.3f} "
                f"cores/node (max {agent['cpu_cores_max']:.3f})"
            )
        for disk, load in figures["disks"].items():
            mean, most = load["busy_fraction_mean"], load["busy_fraction_max"]
            text += f"; disk {disk} busy {mean:.1%} (max {most:.1%})"
        parts.append(text)
    return "Nodes: " + "; ".join(parts)


def _sidecar_table(services: dict[str, ServiceSummary]) -> Table:
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
        if (
            "connections" not in service
            or "memory_bytes" not in service
            or "connects_per_s" not in service
            or "restarts" not in service
        ):
            continue
        sidecar, app = service["connections"]["sidecar"], service["connections"]["app"]
        memory = service["memory_bytes"]["sidecar"]
        mib = "/".join(
            f"{value / 2**20:,.0f}"
            for value in (memory["start"], memory["mean"], memory["max"], memory["end"])
        )
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


def _istiod_table(summary: Summary) -> Table:
    """istiod's pods, then each proxy group's view of the endpoints (xDS)."""
    istiod = summary["mesh"]["istiod"]
    table = Table(title="istiod pods and the proxies' xDS views", title_justify="left")
    for column in ("istiod pod / proxies", "node / state", "connected now/max", "pushes/full"):
        table.add_column(column, justify="left" if column != "connected now/max" else "right")
    for pod in istiod["pods"]:
        table.add_row(
            pod["name"],
            f"{pod['node'] or '-'} / {pod['state']}",
            f"{pod['connected_proxies']:,}/{pod['connected_proxies_max']:,}",
            f"{pod['pushes']:,}/{pod['full_pushes']:,}",
        )
    groups = [(name, s["xds"]) for name, s in summary["services"].items() if "xds" in s]
    for name, figures in [*groups, ("ingress gateway", istiod["gateway"])]:
        table.add_row(
            name,
            f"stale {figures['stale_endpoint_seconds']:,.1f} proxy-s",
            f"stale max {figures['stale_proxies_max']:,}",
            f"tries to gone pods {figures['tries_to_gone_endpoints']:,}",
        )
    return table


def _has_kubernetes_activity(summary: Summary) -> bool:
    if any(summary["events_by_kind"].values()):
        return True
    return any("hpa" in service for service in summary["services"].values())


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _kubernetes_table(services: dict[str, ServiceSummary]) -> Table:
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
        replicas = s["replicas"]
        readiness = s["readiness"]
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
            _num(s["unavailable"]),
        )
    return table


def _services_table(services: dict[str, ServiceSummary]) -> Table:
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
