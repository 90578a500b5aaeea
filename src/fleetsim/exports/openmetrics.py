"""The series as OpenMetrics text, for backfilling into Prometheus.

``promtool tsdb create-blocks-from openmetrics FILE DIR`` reads it into TSDB blocks.
What it needs shapes the file: every sample has a timestamp (a fixed origin plus the
simulated time), all samples of a metric family are together after its ``# TYPE``,
the samples of one series are together and in time order, and the file ends with
``# EOF``.

One gauge family per numeric column, named ``fleetsim_<column>`` with the unit as a
suffix in base units (milliseconds become ``_seconds``, fractions ``_ratio``); labels
``scenario``, ``variant``, ``seed`` and ``service`` or ``traffic``. A column shared by
both kinds of rows (``succeeded``, ``p99_ms``...) is one family whose ``service`` and
``traffic`` labels tell the rows apart. Empty values (no metrics scrape yet) have no
sample. The text is streamed: one family at a time, one line per row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from fleetsim.exports.columns import SUBJECTS, Column, Identity

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where simulated time 0 lands on Prometheus's clock, unless the caller picks another."""

BASE_UNITS = {"s": "seconds", "ms": "seconds", "bytes": "bytes", "ratio": "ratio"}
"""Units OpenMetrics declares with ``# UNIT`` (the name then ends with it)."""

SeriesTable = tuple[str, list[dict[str, Any]], list[Column]]
"""(kind of row, rows, columns) of one series table."""


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value as OpenMetrics writes it (``NaN``, ``+Inf``; ints stay exact)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def timestamp(epoch_seconds: int, t: float) -> str:
    """``epoch_seconds + t`` in decimal, exact to the nanosecond (no float rounding)."""
    whole, fraction = divmod(epoch_seconds * 10**9 + round(t * 10**9), 10**9)
    if fraction == 0:
        return str(whole)
    return f"{whole}.{fraction:09d}".rstrip("0")


def families(tables: Sequence[SeriesTable]) -> dict[str, list[tuple[int, Column]]]:
    """Metric name -> the (table index, column) pairs whose samples it gathers."""
    gathered: dict[str, list[tuple[int, Column]]] = {}
    for index, (_, _, columns) in enumerate(tables):
        for column in columns:
            if column.metric is not None and column.type != "string":
                gathered.setdefault("fleetsim_" + column.metric, []).append((index, column))
    return gathered


def metadata_lines(name: str, column: Column) -> Iterator[str]:
    yield f"# TYPE {name} gauge\n"
    unit = BASE_UNITS.get(column.unit)
    if unit is not None and name.endswith("_" + unit):
        yield f"# UNIT {name} {unit}\n"
    if column.description:
        help_text = column.description.replace("\\", "\\\\").replace("\n", "\\n")
        yield f"# HELP {name} {help_text}\n"


def sample_lines(
    name: str, subject: str, rows: list[dict[str, Any]], column: Column, labels: str, epoch: int
) -> Iterator[str]:
    for row in rows:
        value = row.get(column.name)
        if value is None:
            continue
        scaled = round(value / column.divisor, 12) if column.divisor != 1 else value
        yield (
            f'{name}{{{labels},{subject}="{escape_label(str(row[subject]))}"}} '
            f"{number(scaled)} {timestamp(epoch, row['t'])}\n"
        )


def by_subject(kind: str, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows of each subject together (OpenMetrics forbids interleaving the samples of
    a family's series), each still in time order; the lists hold references, not copies."""
    subject = SUBJECTS.get(kind, kind)
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row[subject], []).append(row)
    return list(grouped.values())


def write_openmetrics(
    stream: IO[str],
    tables: Sequence[SeriesTable],
    identity: Identity,
    epoch: datetime = EPOCH,
) -> None:
    """Write every numeric column of ``tables`` as a gauge family, then ``# EOF``."""
    origin = int(epoch.timestamp())
    labels = ",".join(f'{key}="{escape_label(str(value))}"' for key, value in identity.items())
    grouped = [by_subject(kind, rows) for kind, rows, _ in tables]
    for name, members in families(tables).items():
        stream.writelines(metadata_lines(name, members[0][1]))
        for index, column in members:
            subject = SUBJECTS.get(tables[index][0], tables[index][0])
            for rows in grouped[index]:
                stream.writelines(sample_lines(name, subject, rows, column, labels, origin))
    stream.write("# EOF\n")
