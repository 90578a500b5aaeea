"""What each column of the series and events tables is: its type, unit and meaning.

One catalogue serves the CSV header order, the Parquet schema (type, ``unit`` field
metadata), the OpenMetrics names and units and the pandas dtypes, so the files cannot
disagree about a column. A column the catalogue does not know (a room added one) is
still exported, its type read from its values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ColumnType = Literal["int64", "float64", "string"]

Identity = Mapping[str, str | int]
"""``{"scenario", "variant", "seed"}``: which run a row comes from."""

IDENTITY_NAMES = ("scenario", "variant", "seed")
SUBJECTS = {"services": "service", "traffic": "traffic"}
"""The column naming what a series row is about, per kind of row."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    unit: str
    """``s``, ``ms``, ``bytes``, ``ratio`` (0..1), ``1/s``, ``count``, or ``""`` (text)."""
    description: str
    metric: str | None = None
    """The OpenMetrics name without ``fleetsim_``; None: not a metric (a label, the time)."""
    divisor: int = 1
    """Divides the value into the metric's unit (1000: ms -> seconds)."""


def _count(name: str, description: str) -> Column:
    return Column(name, "int64", "count", description, metric=name)


def _ms(name: str, description: str) -> Column:
    metric = name.removesuffix("_ms") + "_seconds"
    return Column(name, "float64", "ms", description, metric=metric, divisor=1000)


IDENTITY_COLUMNS = {
    "scenario": Column("scenario", "string", "", "metadata.name of the scenario"),
    "variant": Column("variant", "string", "", "the variant that ran (baseline: none)"),
    "seed": Column("seed", "int64", "", "the seed of the run's random streams"),
}

SERIES_COLUMNS = {
    column.name: column
    for column in [
        Column(
            "t",
            "float64",
            "s",
            "end of the metrics interval, simulated seconds since the start of the run "
            "(warm-up included)",
        ),
        Column("service", "string", "", "the service the row is about"),
        Column("traffic", "string", "", "the client population the row is about"),
        _count(
            "attempts",
            "attempts that ended at the service, by outcome (service rows); tries of the "
            "requests that ended (traffic rows)",
        ),
        _count("lost", "attempts held by, or sent to, a lost container: never answered"),
        _count("in_flight", "requests sent and not ended at the end of the interval"),
        _count("requests", "requests the clients finished (succeeded + failed)"),
        _count("succeeded", "served attempts (service rows), succeeded requests (traffic rows)"),
        _count("failed", "failed attempts (service rows), failed requests (traffic rows)"),
        _count("timed_out", "requests that timed out (client or final per-try timeout)"),
        _count("rejected", "rejected for a full queue or a circuit breaker"),
        _count("unavailable", "requests that found no healthy upstream"),
        Column(
            "throughput_rps",
            "float64",
            "1/s",
            "finished requests per second",
            metric="throughput_requests_per_second",
        ),
        Column(
            "goodput_rps",
            "float64",
            "1/s",
            "succeeded requests per second",
            metric="goodput_requests_per_second",
        ),
        _ms("latency_mean_ms", "mean latency of served attempts / succeeded requests"),
        _ms("p50_ms", "median latency of served attempts / succeeded requests"),
        _ms("p99_ms", "99th percentile latency of served attempts / succeeded requests"),
        Column(
            "utilization",
            "float64",
            "ratio",
            "busy worker time over worker capacity",
            metric="utilization_ratio",
        ),
        Column(
            "in_flight_mean",
            "float64",
            "count",
            "time-average attempts queued or in service",
            metric="in_flight_mean",
        ),
        _count("replicas", "the Deployment's spec.replicas"),
        _count("pods", "pods not terminated"),
        _count("ready_pods", "pods Ready"),
        Column(
            "cpu_utilization",
            "float64",
            "ratio",
            "pooled CPU utilization of the last metrics scrape (empty without one)",
            metric="cpu_utilization_ratio",
        ),
        Column(
            "sidecar_connections",
            "float64",
            "count",
            "connections open to a pod's sidecar, pod mean",
            metric="sidecar_connections",
        ),
        Column(
            "app_connections",
            "float64",
            "count",
            "connections from a pod's sidecar to its app, pod mean",
            metric="app_connections",
        ),
        Column(
            "sidecar_memory_bytes",
            "int64",
            "bytes",
            "sidecar memory, pod mean",
            metric="sidecar_memory_bytes",
        ),
        Column(
            "sidecar_memory_max_bytes",
            "int64",
            "bytes",
            "sidecar memory, largest pod",
            metric="sidecar_memory_max_bytes",
        ),
        _count("dns_lookups", "name lookups the service's pods made"),
        _count("dns_lookups_failed", "name lookups that failed"),
        Column(
            "dns_queries_per_s",
            "float64",
            "1/s",
            "queries that reached the cluster DNS pods per second",
            metric="dns_queries_per_second",
        ),
        _count("stale_proxies", "the service's proxies whose endpoints differ from istiod's"),
    ]
}

EVENT_COLUMNS = {
    column.name: column
    for column in [
        Column("time_s", "float64", "s", "simulated seconds since the start of the run"),
        Column("kind", "string", "", "what happened (pod_ready, scale_up, ...)"),
        Column("service", "string", "", "the service it happened to (empty: none)"),
        Column("object", "string", "", "the pod, node or other object (empty: none)"),
        Column("detail", "string", "", "free text"),
    ]
}

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")


def inferred_column(name: str, values: Iterable[Any]) -> Column:
    """A column the catalogue does not know: int, float or text from its values."""
    present = [value for value in values if value is not None]
    metric = _NOT_A_NAME.sub("_", name)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return Column(name, "int64", "", "", metric=metric)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return Column(name, "float64", "", "", metric=metric)
    return Column(name, "string", "", "")


def table_columns(
    rows: list[dict[str, Any]], catalogue: Mapping[str, Column], leading: Iterable[str] = ()
) -> list[Column]:
    """The identity columns, then ``leading``, then every other key of ``rows`` in order
    of appearance (rows of one kind may carry different keys: the header is their union)."""
    names = list(dict.fromkeys([*leading, *(key for row in rows for key in row)]))
    columns = list(IDENTITY_COLUMNS.values())
    for name in names:
        if name in IDENTITY_COLUMNS:
            continue
        known = catalogue.get(name)
        columns.append(known or inferred_column(name, (row.get(name) for row in rows)))
    return columns


def series_columns(kind: str, rows: list[dict[str, Any]]) -> list[Column]:
    """The columns of a series table: identity, ``t``, its subject, then the figures."""
    return table_columns(rows, SERIES_COLUMNS, ("t", SUBJECTS.get(kind, kind)))


def event_columns(rows: list[dict[str, Any]]) -> list[Column]:
    return table_columns(rows, EVENT_COLUMNS, EVENT_COLUMNS)
