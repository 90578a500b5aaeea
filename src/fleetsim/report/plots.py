"""The report's plotly figures: timelines of the series, the events on them, and bars.

Every figure overlays the runs (variants) with one colour per run, the same in every
figure, so that an engineer sees the incident and the fix side by side. A figure is made
only when some run has its columns: a run without a mesh has no connection plot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

Row = dict[str, Any]

# Failure causes in the traffic rows, each one a part of ``failed``.
ERROR_CAUSES = ("timed_out", "rejected", "errored", "unavailable")
OTHER_CAUSE = "other failures"
# Events that change the whole fleet are drawn as vertical lines on every timeline;
# the rest (pods, probes, ejections) are markers on the events timeline.
FLEET_EVENT_PREFIXES = ("scenario:", "node", "zone")
# Beyond this many vertical lines per run, the lines hide the curves: markers only.
MAX_EVENT_LINES = 40
# Beyond this many events, the events timeline shows counts per time bin and kind.
MAX_EVENT_MARKERS = 600
EVENT_BINS = 120
KEY_GREY = "#666666"
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


@dataclass
class Run:
    """One run (variant) of a scenario: what ``fleetsim.result.Result`` holds."""

    summary: dict[str, Any]
    series: dict[str, list[Row]] = field(default_factory=dict)
    events: list[Row] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.summary.get("variant", "run"))


def colour(index: int) -> str:
    """The run's colour, the same in every figure."""
    palette: list[str] = qualitative.Plotly
    return palette[index % len(palette)]


def number(value: Any) -> float | None:
    """A cell of a series row as a number (CSV cells are text; empty is no value)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def has_column(runs: Sequence[Run], kind: str, column: str) -> bool:
    """Some row of some run has a value in ``column``."""
    return any(
        number(row.get(column)) is not None for run in runs for row in run.series.get(kind, [])
    )


def interval_seconds(rows: Sequence[Row]) -> float:
    """The metrics interval: the smallest step between the rows' times (1 s if unknown)."""
    times = sorted({t for row in rows if (t := number(row.get("t"))) is not None})
    steps = [b - a for a, b in pairwise(times) if b > a]
    return min(steps) if steps else 1.0


def sum_by_time(rows: Sequence[Row], column: str) -> tuple[list[float], list[float]]:
    """``column`` summed over the rows' subjects (traffics, services) at each time."""
    totals: dict[float, float] = defaultdict(float)
    for row in rows:
        t, value = number(row.get("t")), number(row.get(column))
        if t is not None and value is not None:
            totals[t] += value
    times = sorted(totals)
    return times, [totals[t] for t in times]


def by_subject(rows: Sequence[Row], key: str) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[str(row.get(key, ""))].append(row)
    return dict(grouped)


def column_line(rows: Sequence[Row], column: str) -> tuple[list[float], list[float | None]]:
    times: list[float] = []
    values: list[float | None] = []
    for row in rows:
        t = number(row.get("t"))
        if t is not None:
            times.append(t)
            values.append(number(row.get(column)))
    return times, values


def line(
    x: Sequence[float],
    y: Sequence[float | None],
    run: str,
    run_index: int,
    label: str,
    dash: str = "solid",
) -> go.Scatter:
    """One curve: the run's colour, the label's dash; the legend shows keys instead
    (see :func:`add_keys`), since runs x subjects x columns would fill the page."""
    return go.Scatter(
        x=list(x),
        y=list(y),
        name=f"{run} {label}",
        meta=label,
        mode="lines",
        line={"color": colour(run_index), "dash": dash, "width": 1.6},
        legendgroup=run,
        showlegend=False,
    )


def add_keys(figure: go.Figure, runs: Sequence[Run]) -> None:
    """The legend of a timeline: one entry per run in its colour (a click hides the
    run's curves) and, when curves differ by dash, one grey entry per dash."""
    for index, run in enumerate(runs):
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                name=run.name,
                mode="lines",
                line={"color": colour(index), "width": 3},
                legendgroup=run.name,
            )
        )
    dashes = dict.fromkeys((trace.meta, trace.line.dash) for trace in figure.data if trace.meta)
    if len({dash for _, dash in dashes}) < 2:
        return
    for label, dash in dashes:
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                name=label,
                mode="lines",
                line={"color": KEY_GREY, "dash": dash},
                legendgroup=f"key:{label}",
            )
        )


def timeline(title: str, y_title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        title={"text": title, "x": 0.01},
        xaxis_title="simulated time (s)",
        yaxis_title=y_title,
        height=340,
        margin={"l": 60, "r": 20, "t": 50, "b": 45},
        hovermode="x unified",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


# --- traffic timelines ---------------------------------------------------------------


def rate_figure(runs: Sequence[Run]) -> go.Figure | None:
    """Requests per second and goodput (succeeded per second), all traffics together."""
    if not has_column(runs, "traffic", "requests"):
        return None
    figure = timeline("Request rate and goodput", "requests/s")
    for index, run in enumerate(runs):
        rows = run.series.get("traffic", [])
        step = interval_seconds(rows)
        for column, label, dash in (
            ("requests", "requests/s", "solid"),
            ("succeeded", "goodput", "dot"),
        ):
            times, totals = sum_by_time(rows, column)
            if times:
                rates = [value / step for value in totals]
                figure.add_trace(line(times, rates, run.name, index, label, dash))
    return figure


def errors_figure(runs: Sequence[Run]) -> go.Figure | None:
    """Failed requests per second by cause (one dash per cause, one colour per run)."""
    causes = [cause for cause in ERROR_CAUSES if has_column(runs, "traffic", cause)]
    if not causes:
        return None
    if has_column(runs, "traffic", "failed"):
        causes.append(OTHER_CAUSE)
    figure = timeline("Errors by cause", "failed requests/s")
    for index, run in enumerate(runs):
        rows = with_other_cause(run.series.get("traffic", []), causes)
        step = interval_seconds(rows)
        for cause_index, cause in enumerate(causes):
            times, totals = sum_by_time(rows, cause)
            if times:
                rates = [value / step for value in totals]
                dash = DASHES[cause_index % len(DASHES)]
                figure.add_trace(line(times, rates, run.name, index, cause, dash))
    return figure


def with_other_cause(rows: Sequence[Row], causes: Sequence[str]) -> list[Row]:
    """The rows with ``other``: failures the cause columns do not count (errors, 5xx)."""
    named = [cause for cause in causes if cause != OTHER_CAUSE]
    completed = []
    for row in rows:
        failed = number(row.get("failed"))
        counted = sum(number(row.get(cause)) or 0.0 for cause in named)
        other = None if failed is None else max(failed - counted, 0.0)
        completed.append({**row, OTHER_CAUSE: other})
    return completed


def latency_figure(runs: Sequence[Run]) -> go.Figure | None:
    """Client latency p50 and p99 per traffic."""
    columns = [c for c in ("p50_ms", "p99_ms") if has_column(runs, "traffic", c)]
    if not columns:
        return None
    figure = timeline("Client latency (p50, p99)", "ms")
    figure.update_yaxes(type="log")
    for index, run in enumerate(runs):
        for traffic, rows in by_subject(run.series.get("traffic", []), "traffic").items():
            for column in columns:
                times, values = column_line(rows, column)
                dash = "solid" if column == "p99_ms" else "dot"
                label = f"{traffic} {column.removesuffix('_ms')}"
                figure.add_trace(line(times, values, run.name, index, label, dash))
    return figure


# --- per-service timelines -----------------------------------------------------------


@dataclass(frozen=True)
class ServicePlot:
    """A timeline of some columns of the services' rows, one line per service."""

    title: str
    y_title: str
    columns: tuple[str, ...]
    scale: float = 1.0


SERVICE_PLOTS = (
    ServicePlot("Replicas and ready pods", "pods", ("replicas", "ready_pods")),
    ServicePlot("CPU and utilization", "fraction", ("cpu_utilization", "utilization")),
    ServicePlot("Connections", "connections", ("sidecar_connections", "app_connections")),
    ServicePlot(
        "Proxy memory",
        "MiB",
        ("sidecar_memory_bytes", "sidecar_memory_max_bytes"),
        scale=1 / 2**20,
    ),
    ServicePlot("DNS queries", "queries/s", ("dns_queries_per_s",)),
    ServicePlot("DNS lookups", "lookups per interval", ("dns_lookups", "dns_lookups_failed")),
    ServicePlot("Stale proxies (xDS)", "proxies", ("stale_proxies",)),
)


def service_figure(runs: Sequence[Run], plot: ServicePlot) -> go.Figure | None:
    columns = [c for c in plot.columns if has_column(runs, "services", c)]
    if not columns:
        return None
    figure = timeline(plot.title, plot.y_title)
    for index, run in enumerate(runs):
        services = by_subject(run.series.get("services", []), "service")
        for service_index, (service, rows) in enumerate(services.items()):
            for column_index, column in enumerate(columns):
                times, values = column_line(rows, column)
                if all(value is None for value in values):
                    continue
                scaled = [None if v is None else v * plot.scale for v in values]
                dash = DASHES[(service_index * len(columns) + column_index) % len(DASHES)]
                label = f"{service} {column}"
                figure.add_trace(line(times, scaled, run.name, index, label, dash))
    return figure


def stalls_figure(runs: Sequence[Run]) -> go.Figure | None:
    """The longest stalls (GC pauses, throttling...) the summary kept, as markers."""
    figure = timeline("Longest stalls", "stall (s)")
    figure.update_layout(hovermode="closest")
    for index, run in enumerate(runs):
        for service, figures in run.summary.get("services", {}).items():
            for cause, block in (figures.get("stalls") or {}).items():
                longest = block.get("longest") or []
                if not longest:
                    continue
                figure.add_trace(
                    go.Scatter(
                        x=[stall["t"] for stall in longest],
                        y=[stall["seconds"] for stall in longest],
                        text=[f"{service} {cause} {stall.get('pod', '')}" for stall in longest],
                        mode="markers",
                        name=f"{run.name} {service} {cause}",
                        marker={"color": colour(index), "size": 7},
                        legendgroup=run.name,
                    )
                )
    return figure if figure.data else None


# --- events --------------------------------------------------------------------------


def is_fleet_event(kind: str) -> bool:
    return kind.startswith(FLEET_EVENT_PREFIXES)


def event_text(event: Row) -> str:
    parts = [str(event.get(key) or "") for key in ("kind", "service", "object", "detail")]
    return " ".join(part for part in parts if part)


def add_event_lines(figure: go.Figure, runs: Sequence[Run]) -> None:
    """Fleet-wide events (scenario actions, node and zone events) as vertical lines."""
    for index, run in enumerate(runs):
        fleet = [e for e in run.events if is_fleet_event(str(e.get("kind", "")))]
        for event in fleet[:MAX_EVENT_LINES]:
            at = number(event.get("time_s"))
            if at is None:
                continue
            figure.add_vline(
                x=at, line={"color": colour(index), "dash": "dot", "width": 1}, opacity=0.6
            )
            figure.add_annotation(
                x=at,
                y=1,
                yref="paper",
                text=str(event.get("kind", "")),
                hovertext=f"{run.name}: {event_text(event)} at {at:g} s",
                showarrow=False,
                textangle=-90,
                xanchor="right",
                yanchor="top",
                font={"size": 9, "color": colour(index)},
            )


def events_figure(runs: Sequence[Run]) -> go.Figure | None:
    """Every event of every run as a marker (kind on the y axis), with hover text;
    counted per time bin when there are too many to draw one by one."""
    if not any(run.events for run in runs):
        return None
    figure = timeline("Events", "")
    figure.update_layout(hovermode="closest", height=max(260, 60 + 22 * _kind_count(runs)))
    for index, run in enumerate(runs):
        if len(run.events) > MAX_EVENT_MARKERS:
            x, kinds, texts, sizes = _binned_events(run.events)
        else:
            x, kinds, texts = _each_event(run.events)
            sizes = [7.0] * len(x)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=kinds,
                text=texts,
                hovertemplate="%{text}<extra>" + run.name + "</extra>",
                mode="markers",
                name=f"{run.name} events",
                marker={"color": colour(index), "size": sizes, "symbol": "line-ns-open"},
                legendgroup=run.name,
            )
        )
    return figure


def _kind_count(runs: Sequence[Run]) -> int:
    return len({str(e.get("kind", "")) for run in runs for e in run.events})


def _each_event(events: Sequence[Row]) -> tuple[list[float], list[str], list[str]]:
    x: list[float] = []
    kinds: list[str] = []
    texts: list[str] = []
    for event in events:
        at = number(event.get("time_s"))
        if at is not None:
            x.append(at)
            kinds.append(str(event.get("kind", "")))
            texts.append(f"{at:g} s: {event_text(event)}")
    return x, kinds, texts


def _binned_events(
    events: Sequence[Row],
) -> tuple[list[float], list[str], list[str], list[float]]:
    """Events counted per kind and time bin: one marker per bin, sized by the count."""
    times = [t for e in events if (t := number(e.get("time_s"))) is not None]
    start, end = min(times), max(times)
    width = max((end - start) / EVENT_BINS, 1e-9)
    bins: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for event in events:
        at = number(event.get("time_s"))
        if at is not None:
            bins[(str(event.get("kind", "")), int((at - start) / width))].append(event)
    x, kinds, texts, sizes = [], [], [], []
    for (kind, slot), members in sorted(bins.items(), key=lambda item: item[0][1]):
        x.append(start + (slot + 0.5) * width)
        kinds.append(kind)
        first = event_text(members[0])
        texts.append(f"{len(members)} x {kind} near {start + slot * width:.0f} s (first: {first})")
        sizes.append(min(6.0 + len(members) ** 0.5 * 2, 24.0))
    return x, kinds, texts, sizes


# --- bars from the summary -----------------------------------------------------------


def bars(
    runs: Sequence[Run],
    title: str,
    y_title: str,
    values: Callable[[Run], dict[str, float]],
) -> go.Figure | None:
    """Grouped bars: one bar per category (a zone, a service) and run."""
    figure = go.Figure()
    for index, run in enumerate(runs):
        points = values(run)
        if points:
            figure.add_trace(
                go.Bar(
                    x=list(points),
                    y=list(points.values()),
                    name=run.name,
                    marker_color=colour(index),
                    legendgroup=run.name,
                )
            )
    if not figure.data:
        return None
    figure.update_layout(
        title={"text": title, "x": 0.01},
        yaxis_title=y_title,
        barmode="group",
        height=340,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        template="plotly_white",
    )
    return figure


def zone_shares(run: Run) -> dict[str, float]:
    """Each service's share of attempts per zone (``service / zone``)."""
    shares: dict[str, float] = {}
    for service, figures in run.summary.get("services", {}).items():
        for zone, block in (figures.get("zones") or {}).items():
            share = number(block.get("share")) if isinstance(block, dict) else None
            if share is not None:
                shares[f"{service} / {zone}"] = share
    return shares


def pod_imbalance(run: Run) -> dict[str, float]:
    """Each service's busiest pod's share over the mean share (1 = even load)."""
    values: dict[str, float] = {}
    for service, figures in run.summary.get("services", {}).items():
        pods = figures.get("pods") or {}
        ratio = number(pods.get("share_max_over_mean")) if isinstance(pods, dict) else None
        if ratio is not None:
            values[service] = ratio
    return values


def time_span(runs: Sequence[Run]) -> list[float] | None:
    """The simulated times the series and events cover: the same x axis in every plot."""
    times = [
        t
        for run in runs
        for rows in (*run.series.values(), run.events)
        for row in rows
        if (t := number(row.get("t", row.get("time_s")))) is not None
    ]
    return [min(times), max(times)] if times else None


def figures(runs: Sequence[Run]) -> list[go.Figure]:
    """Every figure the runs have columns for, timelines first, events drawn on them."""
    timelines = [
        rate_figure(runs),
        errors_figure(runs),
        latency_figure(runs),
        *(service_figure(runs, plot) for plot in SERVICE_PLOTS),
    ]
    drawn = [figure for figure in timelines if figure is not None]
    for figure in drawn:
        add_keys(figure, runs)
        add_event_lines(figure, runs)
    marks = [figure for figure in (events_figure(runs), stalls_figure(runs)) if figure]
    span = time_span(runs)
    for figure in drawn + marks:
        if span is not None:
            figure.update_xaxes(range=span)
    extra = [
        *marks,
        bars(runs, "Load per zone (share of each service's attempts)", "share", zone_shares),
        bars(runs, "Load per pod (busiest pod's share / mean share)", "max / mean", pod_imbalance),
    ]
    return drawn + [figure for figure in extra if figure is not None]
