"""Sweeps: grid and seeds, --set paths, the command's errors and its outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetsim.errors import ScenarioError
from fleetsim.experiments.sweep import grid, parse_setting, plan, seeds_of, set_path

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "scenarios" / "quickstart.yaml")
WINDOW = ["--duration", "2s", "--warmup", "1s"]


def fleetsim(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "fleetsim", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=120,
    )


def test_grid_is_the_product_of_the_sets_first_slowest() -> None:
    settings = [parse_setting("a=1,2"), parse_setting("b=x,true,0.5")]
    points = grid(settings)
    assert len(points) == 6
    assert points[0] == {"a": 1, "b": "x"}
    assert points[1] == {"a": 1, "b": True}
    assert points[5] == {"a": 2, "b": 0.5}


def test_seeds_count_up_from_spec_seed() -> None:
    assert seeds_of({"spec": {"seed": 7}}, 3) == [7, 8, 9]
    assert seeds_of({"spec": {}}, 2) == [0, 1]


def test_paths_address_named_lists_by_name_and_any_list_by_index() -> None:
    document: dict[str, Any] = {
        "spec": {
            "services": [{"name": "a", "replicas": 1}, {"name": "b", "replicas": 2}],
            "routes": [{"destination": "b", "retries": {"attempts": 1}}],
            "zones": ["x", "y"],
        }
    }
    set_path(document, "spec.services.b.replicas", 5)
    set_path(document, "spec.routes.b.retries.attempts", 3)
    set_path(document, "spec.services[0].replicas", 4)
    set_path(document, "spec.zones[1]", "z")
    assert document["spec"]["services"] == [
        {"name": "a", "replicas": 4},
        {"name": "b", "replicas": 5},
    ]
    assert document["spec"]["routes"][0]["retries"]["attempts"] == 3
    assert document["spec"]["zones"] == ["x", "z"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("spec.services.nope.replicas", "no services with name 'nope'; found: a"),
        ("spec.services[3].replicas", "index 3 beyond a list of 1"),
        ("spec.nothing.deeper", "no field 'nothing'"),
        ("spec.zones.x", "zones is addressed by index"),
    ],
)
def test_bad_paths_name_what_is_wrong(path: str, words: str) -> None:
    document: dict[str, Any] = {"spec": {"services": [{"name": "a"}], "zones": ["x"]}}
    with pytest.raises(ScenarioError, match=words):
        set_path(document, path, 1)


def test_every_point_is_validated_before_any_run() -> None:
    settings = [parse_setting("spec.services.search.replicas=2,0")]
    with pytest.raises(ScenarioError, match=r"--set spec.services.search.replicas=0"):
        plan(QUICKSTART, settings, 1, duration="2s", warmup="1s")


def test_cli_refuses_a_bad_set_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = fleetsim(
        "sweep",
        QUICKSTART,
        "--set",
        "spec.services.search.workers=4,many",
        "--out",
        str(out),
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--set spec.services.search.workers=many" in lines[0]
    assert not out.exists()


def test_sweep_writes_runs_index_and_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = fleetsim(
        "sweep",
        QUICKSTART,
        "--set",
        "spec.services.search.replicas=60,64",
        "--seeds",
        "2",
        "--workers",
        "2",
        "--out",
        str(out),
        "--json",
        "--metric",
        "throughput_rps",
        *WINDOW,
    )
    rows = json.loads(done.stdout)
    assert [row["spec.services.search.replicas"] for row in rows] == [60, 64]
    assert all(row["requests.total.n"] == 2 for row in rows)
    assert all(row["throughput_rps.ci95"] is not None for row in rows)
    summaries = sorted(out.glob("runs/*/seed-*/summary.json"))
    assert len(summaries) == 4
    assert {path.parent.name for path in summaries} == {"seed-7", "seed-8"}
    index = json.loads((out / "sweep.json").read_text())
    assert [point["set"] for point in index["points"]] == [
        {"spec.services.search.replicas": 60},
        {"spec.services.search.replicas": 64},
    ]
    assert (out / "sweep_results.csv").read_text().count("\n") == 3
    other = fleetsim(
        "sweep",
        QUICKSTART,
        "--set",
        "spec.services.search.replicas=60",
        "--out",
        str(out),
        *WINDOW,
        check=False,
    )
    assert other.returncode == 2
    assert "holds a different sweep" in other.stderr


def test_ray_backend_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetsim.experiments.backends import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ScenarioError, match=r'pip install "fleetsim\[ray\]"'):
        require_ray()
