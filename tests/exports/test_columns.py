"""The column catalogue: it covers what the rooms write, with true types, and the README
documents every column."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

import fleetsim
from fleetsim.exports.columns import SERIES_COLUMNS, inferred_column, series_columns
from fleetsim.exports.openmetrics import number, timestamp

ROOT = Path(__file__).resolve().parents[2]
# Between them: Kubernetes, mesh (sidecars, istiod) and DNS columns.
SCENARIOS = ["istio-dns-startup.yaml", "stale-membership-keepalive.yaml"]


@cache
def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in SCENARIOS:
        result = fleetsim.run(ROOT / "scenarios" / name, duration="10s", warmup="1s")
        rows += [row for kind_rows in result.series.values() for row in kind_rows]
    return rows


def test_the_catalogue_is_every_column_the_rooms_write() -> None:
    assert {key for row in _rows() for key in row} == set(SERIES_COLUMNS)


def test_every_value_has_its_columns_type() -> None:
    python_types = {"int64": int, "float64": float, "string": str}
    for row in _rows():
        for name, value in row.items():
            expected = python_types[SERIES_COLUMNS[name].type]
            assert value is None or type(value) is expected, (name, value)


def test_the_readme_documents_every_column_with_its_unit() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Series columns") :]
    section = section[: section.index("\n## ")]
    for column in SERIES_COLUMNS.values():
        line = next((ln for ln in section.splitlines() if f"| `{column.name}` |" in ln), None)
        assert line is not None, column.name
        assert f"| {column.unit or '-'} |" in line, column.name


def test_series_columns_put_identity_time_and_subject_first() -> None:
    rows = [{"p99_ms": 1.0, "traffic": "users", "t": 1.0}]
    names = [column.name for column in series_columns("traffic", rows)]
    assert names == ["scenario", "variant", "seed", "t", "traffic", "p99_ms"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, None, 2], "int64"), ([1, 2.5], "float64"), (["a", 1], "string"), ([None], "string")],
)
def test_an_unknown_column_is_typed_by_its_values(values: list[Any], expected: str) -> None:
    assert inferred_column("new", values).type == expected


def test_timestamps_are_exact_decimals() -> None:
    assert timestamp(1767225600, 2.0) == "1767225602"
    assert timestamp(1767225600, 0.1) == "1767225600.1"
    assert timestamp(1767225600, 3.000000001) == "1767225603.000000001"


def test_numbers_are_written_as_openmetrics_reads_them() -> None:
    assert [number(v) for v in (3, 0.25, float("nan"), float("inf"), -float("inf"))] == [
        "3",
        "0.25",
        "NaN",
        "+Inf",
        "-Inf",
    ]
