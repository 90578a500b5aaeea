"""The compare table: changes against the baseline, their colours, watched metrics first,
and no number cut at 80 columns."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import fleetsim
from fleetsim.report.compare_table import (
    Row,
    cell,
    change,
    compact,
    compare_tables,
    direction_of,
)
from fleetsim.report.tables import print_summary

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quickstart_runs() -> list[dict[str, Any]]:
    """The quickstart's three runs over a short window (about a second each)."""
    return [
        fleetsim.run(QUICKSTART, variant, duration="2s", warmup="1s").summary
        for variant in (None, "no-retries", "least-request")
    ]


def test_change_is_a_percentage_of_the_baseline_with_a_sign() -> None:
    assert change(100.0, 88.0) == "\u221212%"
    assert change(100, 103) == "+3.0%"
    assert change(0, 5) == "+5"
    assert change(7, 7) == ""
    assert change(None, 5) == ""


def test_numbers_are_shortened() -> None:
    assert compact(89_277) == "89,277"
    assert compact(1_234_567) == "1.23M"
    assert compact(17_855.4) == "17,855"
    assert compact(54.2019) == "54.20"
    assert compact(0.6991) == "0.699"
    assert compact(None) == "-"


def test_better_is_green_and_worse_is_red() -> None:
    latency = Row("p99 ms", [50.0, 40.0, 60.0], "lower")
    goodput = Row("goodput/s", [100.0, 90.0], "higher")
    requests = Row("requests", [100, 120], None)
    assert cell(latency, 1).spans[0].style == "green"
    assert cell(latency, 2).spans[0].style == "red"
    assert cell(goodput, 1).spans[0].style == "red"
    assert cell(requests, 1).plain == "120 +20%" and not cell(requests, 1).spans
    assert cell(latency, 0).plain == "50.00"


def test_directions_of_watched_paths() -> None:
    assert direction_of("latency_ms.p99") == "lower"
    assert direction_of("services.backend.readiness.transitions") == "lower"
    assert direction_of("goodput_rps") == "higher"
    assert direction_of("requests.total") is None


def test_table_has_failure_rate_p95_goodput_and_watched_rows_first(
    quickstart_runs: list[dict[str, Any]],
) -> None:
    runs = copy.deepcopy(quickstart_runs)
    for run in runs:
        run["latency_ms"]["p95"] = 40.0 if run["variant"] == "baseline" else 30.0
        run["goodput_rps"] = 1000.0
    text = _render(compare_tables(runs, ["services.search.pod_share_cv", "latency_ms.p90"]))
    lines = text.splitlines()
    first_metric = next(line for line in lines if "│" in line)
    assert "latency_ms.p90" in first_metric
    assert "services.search.pod_share_cv" not in text  # does not resolve: left out
    for label in ("failure rate %", "p95 ms", "goodput/s", "search retries"):
        assert label in text
    p95 = next(line for line in lines if "p95 ms" in line)
    assert "\u221225%" in p95


def test_three_variants_fit_80_columns_without_cutting(
    quickstart_runs: list[dict[str, Any]],
) -> None:
    text = _render(compare_tables(quickstart_runs, ["latency_ms.p99"], width=80))
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "least-request" in text and "no-retries" in text


def test_many_variants_are_split_into_tables_each_with_the_baseline(
    quickstart_runs: list[dict[str, Any]],
) -> None:
    runs = [quickstart_runs[0]]
    for index in range(6):
        run = copy.deepcopy(quickstart_runs[2])
        run["variant"] = f"least-request-{index}"
        runs.append(run)
    tables = compare_tables(runs, width=80)
    assert len(tables) > 1
    text = _render(tables)
    assert "…" not in text and text.count("baseline") == len(tables)


def test_quickstart_summary_fits_80_columns(quickstart_runs: list[dict[str, Any]]) -> None:
    console = Console(width=80, record=True)
    print_summary(quickstart_runs[0], console)
    text = console.export_text()
    assert "…" not in text
    assert "89,277" in text or "succeeded" in text


def _render(tables: list[Any]) -> str:
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    for table in tables:
        console.print(table)
    return console.export_text()
