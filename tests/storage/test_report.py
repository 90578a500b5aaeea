"""What ``fleetsim run`` prints for a storage tier: its tables, masters and clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleetsim.cli import main
from tests.storage.scenarios import storage_scenario


def test_run_prints_each_table_its_servers_and_the_clients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "storage.yaml"
    path.write_text(yaml.safe_dump(storage_scenario(writes=100, duration="5s")), encoding="utf-8")
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "Table t: 8 regions, 2-2 per server" in printed
    assert "Requests by traffic" in printed  # two client populations
    assert "HBase rs: 4 servers live, 0 expired" in printed
    assert "HBase client reads (get t)" in printed
    assert "HBase client writes (put t)" in printed
    assert printed.count("rs-") >= 4  # a row per region server


def test_compare_shows_the_spread_of_regions_and_load_per_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = storage_scenario(writes=100, duration="5s", regions=10)
    document["spec"]["variants"] = {
        "more-regions": {"storage": {"tables": [{"name": "t", "regions": 40}]}}
    }
    path = tmp_path / "storage.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["compare", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if "table t regions/server" in line)
    assert "2-3" in row and "10-10" in row
    assert "hbase rs splits" in printed
    assert "reads failure rate %" in printed and "writes p99 ms" in printed
