"""Result files: identity columns, Parquet against CSV, OpenMetrics, file modes."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from fleetsim.exports.columns import SERIES_COLUMNS, SUBJECTS
from fleetsim.result import Result

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _service_row(t: float, name: str, attempts: int, cpu: float | None) -> dict[str, Any]:
    return {
        "t": t,
        "service": name,
        "attempts": attempts,
        "succeeded": attempts - 1,
        "failed": 1,
        "rejected": 0,
        "latency_mean_ms": 12.5,
        "p50_ms": 10.25,
        "p99_ms": 55.852749,
        "utilization": 0.697,
        "in_flight_mean": 2.5,
        "replicas": 4,
        "pods": 4,
        "ready_pods": 3,
        "cpu_utilization": cpu,
        "sidecar_memory_bytes": 52_428_800,
        "extra_figure": 7,  # a column the catalogue does not know
    }


def _traffic_row(t: float) -> dict[str, Any]:
    return {
        "t": t,
        "traffic": "users",
        "requests": 100,
        "succeeded": 98,
        "failed": 2,
        "timed_out": 1,
        "rejected": 1,
        "unavailable": 0,
        "throughput_rps": 200.0,
        "latency_mean_ms": 12.0,
        "p50_ms": 9.5,
        "p99_ms": 40.0,
    }


@pytest.fixture
def result() -> Result:
    services = [
        _service_row(t, name, attempts, None if t == 2.5 else 0.61)
        for t, attempts in [(2.5, 10), (3.0, 11), (3.5, 12)]
        for name in ["search", 'we"ird\\svc']
    ]
    return Result(
        summary={"scenario": "tiny", "variant": "more-pods", "seed": 3},
        series={"services": services, "traffic": [_traffic_row(t) for t in (2.5, 3.0, 3.5)]},
        events=[
            {"time_s": 2.75, "kind": "scale_up", "service": "search", "object": "", "detail": "a"},
            {
                "time_s": 3.1,
                "kind": "pod_ready",
                "service": "search",
                "object": "p-1",
                "detail": "x, y",
            },
        ],
    )


def test_write_names_the_files_it_writes(result: Result, tmp_path: Path) -> None:
    written = result.write(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        [
            "summary.json",
            "series_services.csv",
            "series_services.parquet",
            "series_traffic.csv",
            "series_traffic.parquet",
            "events.csv",
            "events.parquet",
            "metrics.om",
        ]
    )
    assert all(path.is_file() for path in written)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_every_csv_row_starts_with_the_runs_identity(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path)
    for name, leading in [
        ("series_services.csv", "t,service,attempts"),
        ("series_traffic.csv", "t,traffic,requests"),
        ("events.csv", "time_s,kind,service,object,detail"),
    ]:
        lines = (tmp_path / name).read_text().splitlines()
        assert lines[0].startswith("scenario,variant,seed," + leading)
        assert all(line.startswith("tiny,more-pods,3,") for line in lines[1:])
    assert len((tmp_path / "series_services.csv").read_text().splitlines()) == 1 + 6
    assert result.series["services"][0]["t"] == 2.5  # the rows themselves are untouched
    assert "scenario" not in result.series["services"][0]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _same(parquet_value: Any, csv_value: str) -> bool:
    if parquet_value is None:
        return csv_value == ""
    if isinstance(parquet_value, float):
        return parquet_value == float(csv_value)
    return str(parquet_value) == csv_value


@pytest.mark.parametrize("stem", ["series_services", "series_traffic", "events"])
def test_parquet_has_typed_columns_with_units_and_equals_the_csv(
    result: Result, tmp_path: Path, stem: str
) -> None:
    result.write(tmp_path)
    table = pq.read_table(tmp_path / f"{stem}.parquet")
    rows = _csv_rows(tmp_path / f"{stem}.csv")
    assert table.column_names == list(rows[0])
    assert table.num_rows == len(rows)
    for parquet_row, csv_row in zip(table.to_pylist(), rows, strict=True):
        assert all(_same(parquet_row[k], csv_row[k]) for k in csv_row), (parquet_row, csv_row)
    assert table.schema.field("scenario").type == pa.string()
    assert table.schema.field("seed").type == pa.int64()
    first = table.schema.field(2 + 1)  # t or time_s: simulated seconds
    assert first.type == pa.float64() and first.metadata[b"unit"] == b"s"


def test_parquet_types_and_units_follow_the_catalogue(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path)
    schema = pq.read_schema(tmp_path / "series_services.parquet")
    expected = {
        "attempts": (pa.int64(), b"count"),
        "p99_ms": (pa.float64(), b"ms"),
        "utilization": (pa.float64(), b"ratio"),
        "cpu_utilization": (pa.float64(), b"ratio"),
        "sidecar_memory_bytes": (pa.int64(), b"bytes"),
        "service": (pa.string(), b""),
        "extra_figure": (pa.int64(), b""),  # inferred from its values
    }
    for name, (arrow_type, unit) in expected.items():
        assert schema.field(name).type == arrow_type, name
        assert schema.field(name).metadata[b"unit"] == unit, name
    traffic = pq.read_schema(tmp_path / "series_traffic.parquet")
    assert traffic.field("throughput_rps").metadata[b"unit"] == b"1/s"


def _expected_samples(result: Result) -> dict[tuple[str, tuple[tuple[str, str], ...]], list]:
    """(metric, labels) -> [(value, timestamp)] as the series rows say they must be."""
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], list] = {}
    for kind, rows in result.series.items():
        subject = SUBJECTS[kind]
        for row in rows:
            labels = (("scenario", "tiny"), ("seed", "3"), (subject, row[subject]))
            labels = (*labels, ("variant", "more-pods"))
            for name, value in row.items():
                column = SERIES_COLUMNS.get(name)
                metric = name if column is None else column.metric
                if metric is None or value is None:
                    continue
                divisor = 1 if column is None else column.divisor
                key = ("fleetsim_" + metric, tuple(sorted(labels)))
                expected.setdefault(key, []).append((value / divisor, EPOCH.timestamp() + row["t"]))
    return expected


def test_openmetrics_has_one_sample_per_row_and_number(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path)
    text = (tmp_path / "metrics.om").read_text()
    assert text.endswith("\n# EOF\n")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], list] = {}
    units = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        units[family.name] = family.unit
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            found.setdefault(key, []).append((sample.value, float(sample.timestamp)))
    expected = _expected_samples(result)
    assert found.keys() == expected.keys()
    for key, samples in expected.items():
        assert [v for v, _ in found[key]] == pytest.approx([v for v, _ in samples], abs=1e-12)
        assert [t for _, t in found[key]] == [t for _, t in samples], key
    assert units["fleetsim_p99_seconds"] == "seconds"
    assert units["fleetsim_utilization_ratio"] == "ratio"
    assert units["fleetsim_sidecar_memory_bytes"] == "bytes"
    assert units["fleetsim_attempts"] == ""


def test_openmetrics_keeps_families_whole_and_series_in_time_order(
    result: Result, tmp_path: Path
) -> None:
    result.write(tmp_path)
    lines = (tmp_path / "metrics.om").read_text().splitlines()
    seen: list[str] = []
    last: dict[str, float] = {}
    current = ""
    for line in lines:
        if line.startswith("# TYPE "):
            seen.append(line.split()[2])
        elif not line.startswith("#"):
            name = line.split("{")[0]
            assert name == seen[-1]  # a sample of the family declared last
            series, _, rest = line.rpartition("} ")
            if series != current:  # a series' samples are together in its family
                assert series not in last
                current = series
            time = float(rest.split()[1])
            assert time > last.get(series, 0.0)
            last[series] = time
    assert len(seen) == len(set(seen))
    assert 'service="we\\"ird\\\\svc"' in (tmp_path / "metrics.om").read_text()


def test_openmetrics_timestamps_start_at_the_chosen_epoch(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path, epoch=datetime(2030, 6, 1, tzinfo=UTC))
    first_sample = next(
        line for line in (tmp_path / "metrics.om").read_text().splitlines() if line[0] != "#"
    )
    origin = int(datetime(2030, 6, 1, tzinfo=UTC).timestamp())
    assert first_sample.endswith(f" {origin + 2}.5")  # the first row's t is 2.5


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_backfills_every_sample(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path / "out")
    data = tmp_path / "data"
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            tmp_path / "out/metrics.om",
            data,
        ],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["promtool", "tsdb", "list", data], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    samples = sum(int(line.split()[4]) for line in listing[1:])
    assert samples == sum(len(v) for v in _expected_samples(result).values())


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_the_umask_gives(
    result: Result, tmp_path: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        written = result.write(tmp_path)
    finally:
        os.umask(previous)
    assert {path.stat().st_mode & 0o777 for path in written} == {mode}


def test_a_failed_write_leaves_the_earlier_file_whole(result: Result, tmp_path: Path) -> None:
    result.write(tmp_path)
    before = (tmp_path / "series_services.parquet").read_bytes()
    broken = Result(summary=result.summary, series={"services": [_service_row(1.0, "x", 1, None)]})
    broken.series["services"][0]["attempts"] = "many"  # not an int64: Parquet refuses it
    with pytest.raises(pa.ArrowException):
        broken.write(tmp_path)
    assert (tmp_path / "series_services.parquet").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
