"""The cost estimate: close to the real event count, and absurd runs refused before they start."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from fleetsim.cli import main
from fleetsim.cli.common import refuse_absurd as _refuse_absurd
from fleetsim.errors import ScenarioError
from fleetsim.experiments.estimate import estimate
from fleetsim.scenario.loader import load_scenario
from tests.golden.goldens import ROOT, GoldenRun, cases, golden_path

QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


@pytest.mark.parametrize(
    ("run", "variant"), cases(), ids=[f"{run.name}-{variant}" for run, variant in cases()]
)
def test_the_estimate_is_within_a_factor_of_2_of_the_events_run(
    run: GoldenRun, variant: str
) -> None:
    """Against the event counts of the golden summaries (every catalogue scenario and
    variant, shortened as the goldens run them)."""
    loaded = load_scenario(
        ROOT / run.path,
        variant=None if variant == "baseline" else variant,
        duration=run.duration,
        warmup=run.warmup,
    )
    actual = json.loads(golden_path(run, variant).read_text())["summary"]["events"]
    assert 0.5 <= estimate(loaded.scenario.spec).events / actual <= 2.0


def absurd(tmp_path: Path) -> Path:
    text = QUICKSTART.read_text(encoding="utf-8").replace("  duration: 2m ", "  duration: 1e10s ")
    path = tmp_path / "absurd.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_run_of_centuries_is_refused_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = absurd(tmp_path)
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"fleetsim: {path}: spec: refused to start: simulated span 1e+10s is beyond a year; "
        "~3.6e+14 events is beyond 1e+10;"
    )
    assert err.rstrip().endswith("pass --force to run it anyway")
    assert "about 38 years of wall" in err


def test_compare_refuses_before_running_any_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(absurd(tmp_path)), "--quiet"]) == 2
    assert "refused to start" in capsys.readouterr().err


def test_force_lets_it_through(tmp_path: Path) -> None:
    loaded = load_scenario(absurd(tmp_path))
    with pytest.raises(ScenarioError):
        _refuse_absurd(loaded, argparse.Namespace(force=False))
    _refuse_absurd(loaded, argparse.Namespace(force=True))  # no error


def test_validate_prints_the_estimate_of_every_variant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(QUICKSTART)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("  baseline: ~")
    assert "events" in lines[1] and "of wall" in lines[1]
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "baseline",
        "no-retries",
        "least-request",
    ]


def test_a_short_run_has_no_problem() -> None:
    assert estimate(load_scenario(QUICKSTART).scenario.spec).problems() == []


def test_a_billion_replicas_are_refused_before_any_pod_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = QUICKSTART.read_text(encoding="utf-8").replace("replicas: 64", "replicas: 1000000000")
    path = tmp_path / "pods.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 2
    assert "1,000,000,000 pods is beyond 1,000,000" in capsys.readouterr().err


def test_a_service_slower_than_the_run_is_warned_about_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = QUICKSTART.read_text(encoding="utf-8").replace("mean: 10ms", "mean: 2e9s")
    path = tmp_path / "slow.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(path), "--quiet", "--duration", "2s", "--warmup", "0s"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"fleetsim: warning: {path}: service search's mean service time 2e+09s "
        "is longer than the run"
    )
    # The run then says what it saw: nothing ended, the backlog only grew.
    assert "the backlog grew from 0 to" in err[1]


def test_a_rate_too_low_for_one_request_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = QUICKSTART.read_text(encoding="utf-8").replace("rate: 17920/s", "rate: 1e-8/s")
    path = tmp_path / "idle.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "[warning: fewer than one request is expected (1.3e-06)]" in capsys.readouterr().out
