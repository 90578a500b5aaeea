"""The command line: output modes, exit codes, written files, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import fleetsim
from fleetsim.cli import main
from tests.fleet_scenarios import scenario

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _small_file(tmp_path: Path, **overrides: object) -> Path:
    document = scenario(rate=300, duration=5, warmup=1, **overrides)  # type: ignore[arg-type]
    document["spec"]["variants"] = {
        "least-request": {"routes": [{"destination": "app", "loadBalancer": "LEAST_REQUEST"}]},
        "more-pods": {"services": [{"name": "app", "replicas": 8}]},
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "wall_seconds"}


def test_same_seed_same_results_and_another_seed_differs() -> None:
    document = scenario(
        replicas=8,
        rate=500,
        duration=10,
        error_rate=0.05,
        timeout=0.1,
        retries={"attempts": 2, "perTryTimeout": "50ms", "retryOn": "5xx"},
        load_balancer="LEAST_REQUEST",
    )
    first, second = fleetsim.run(document), fleetsim.run(document)
    assert _without_wall(first.summary) == _without_wall(second.summary)
    assert first.series == second.series
    third = fleetsim.run(document, seed=12345)
    assert third.summary["seed"] == 12345
    assert first.summary["requests"]["succeeded"] > 0
    assert third.summary["latency_ms"] != first.summary["latency_ms"]


def test_json_prints_exactly_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(_small_file(tmp_path)), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in [
        "scenario",
        "variant",
        "seed",
        "simulated_seconds",
        "wall_seconds",
        "events",
        "requests",
        "attempts",
        "throughput_rps",
        "latency_ms",
        "services",
    ]:
        assert key in summary
    assert list(summary["latency_ms"]) == [
        "mean",
        "p50",
        "p90",
        "p95",
        "p99",
        "p999",
        "p9999",
        "p99999",
        "p999999",
        "max",
    ]
    # A short run cannot support the deepest percentiles: reported as null, not guessed.
    assert summary["latency_ms"]["p999999"] is None
    assert set(summary["tail"]) == {
        "median_ms",
        "over_10x_median",
        "over_100x_median",
        "fraction_over_100x_median",
        "slowest",
    }
    service = summary["services"]["app"]
    for key in [
        "attempts",
        "succeeded",
        "failed",
        "rejected",
        "utilization",
        "latency_ms",
        "pods",
        "zones",
    ]:
        assert key in service
    assert {"count", "share_max_over_mean", "share_cv"} <= set(service["pods"])


def test_out_writes_summary_and_series(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(_small_file(tmp_path)), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    services = (out / "series_services.csv").read_text().splitlines()
    traffic = (out / "series_traffic.csv").read_text().splitlines()
    assert services[0].startswith("scenario,variant,seed,t,service,attempts")
    assert len(services) == 1 + 5  # header + one row per 1 s interval
    assert traffic[0].startswith("scenario,variant,seed,t,traffic,requests")
    assert sum(int(line.split(",")[5]) for line in traffic[1:]) == summary["requests"]["total"]


def test_bad_scenario_exits_2_with_one_line_and_keeps_earlier_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    good = _small_file(tmp_path)
    assert main(["run", str(good), "--out", str(out), "--quiet"]) == 0
    before = (out / "summary.json").read_text()
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("rate: 300", "rate: lots"))
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "spec.traffic[0].rate" in lines[0] and "lots" in lines[0]
    assert "Traceback" not in captured.err
    assert (out / "summary.json").read_text() == before


def test_unknown_variant_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(_small_file(tmp_path)), "--variant", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "least-request" in err


def test_compare_runs_every_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", str(_small_file(tmp_path)), "--out", str(out), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["variant"] for r in runs] == ["baseline", "least-request", "more-pods"]
    assert runs[2]["services"]["app"]["pods"]["count"] == 8
    for variant in ("baseline", "least-request", "more-pods"):
        assert (out / variant / "summary.json").exists()
    assert json.loads((out / "compare.json").read_text())["runs"][0]["variant"] == "baseline"


def test_validate_and_human_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _small_file(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["run", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "Client latency" in printed and "app" in printed


def test_quickstart_file_is_the_contract_example() -> None:
    loaded = yaml.safe_load(QUICKSTART.read_text())
    spec = loaded["spec"]
    assert spec["services"][0]["replicas"] == 64 and spec["services"][0]["workers"] == 4
    assert spec["traffic"][0]["rate"] == "17920/s"
    assert "no-retries" in spec["variants"]


def test_console_script_runs_and_reports_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: fleetsim/v1\nkind: Scenario\nmetadata: {name: x}\nspec: []\n")
    completed = subprocess.run(
        [sys.executable, "-m", "fleetsim", "run", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "spec" in completed.stderr


def test_redirected_output_keeps_whole_tables_and_a_closed_pipe_is_not_an_error(
    tmp_path: Path,
) -> None:
    path = _small_file(tmp_path)
    completed = subprocess.run(
        [sys.executable, "-m", "fleetsim", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0
    assert "…" not in completed.stdout  # nothing cut to fit 80 columns
    piped = subprocess.run(
        f"{sys.executable} -m fleetsim run {path} | head -c 10; exit ${{PIPESTATUS[0]}}",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        executable="/bin/bash",
    )
    assert piped.returncode == 0
    assert "Traceback" not in piped.stderr and "cannot write" not in piped.stderr


def test_duration_and_warmup_overrides_shorten_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _small_file(tmp_path)
    assert main(["compare", str(path), "--duration", "2s", "--warmup", "0.5s", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["simulated_seconds"], r["warmup_seconds"]) for r in runs] == [(2.0, 0.5)] * 3
    shortened = fleetsim.run(path, duration="2s", warmup=0.5).summary
    assert _without_wall(shortened) == _without_wall(runs[0])


def test_bad_duration_override_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _small_file(tmp_path)
    assert main(["run", str(path), "--duration", "soon"]) == 2
    message = capsys.readouterr().err
    assert "spec.duration" in message and "soon" in message


def test_an_interrupted_compare_keeps_the_runs_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fleetsim.cli as cli
    from fleetsim.cli import common

    real = common.run_one
    calls: list[str | None] = []

    def interrupted_on_the_second(
        scenario: str, variant: str | None, *rest: object, **options: bool
    ) -> object:
        calls.append(variant)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(scenario, variant, *rest, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(common, "run_one", interrupted_on_the_second)
    out = tmp_path / "out"
    code = cli.main(
        [
            "compare",
            "scenarios/quickstart.yaml",
            "--out",
            str(out),
            "--quiet",
            "--duration",
            "2s",
            "--warmup",
            "1s",
        ]
    )
    assert code == 130
    assert (out / "baseline" / "summary.json").is_file()
    assert not (out / "no-retries").exists()
    assert not (out / "compare.json").exists()
    assert capsys.readouterr().err == (
        f"fleetsim: interrupted; written to {out}/: baseline; not written: no-retries, "
        "least-request and compare.json\n"
    )


def test_sigterm_stops_a_compare_like_ctrl_c(tmp_path: Path) -> None:
    """A real SIGTERM to a running compare: the finished run stays written, and it says so."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetsim",
            "compare",
            "scenarios/quickstart.yaml",
            "--quiet",
            "--out",
            str(out),
            "--duration",
            "20s",
            "--warmup",
            "1s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "baseline" / "summary.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert (out / "baseline" / "summary.json").is_file()
    assert err.startswith(f"fleetsim: interrupted; written to {out}/: baseline")


def test_a_bad_out_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetsim.cli import common

    ran: list[object] = []
    monkeypatch.setattr(common, "run_one", lambda *args, **options: ran.append(args))
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    code = main(["run", "scenarios/quickstart.yaml", "--quiet", "--out", str(blocker / "out")])
    assert code == 1 and ran == []
    assert "cannot write results" in capsys.readouterr().err


def test_an_event_after_the_end_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = Path("tests/golden/tours/kubernetes-tour.yaml").read_text(encoding="utf-8")
    late = tmp_path / "late.yaml"
    late.write_text(text.replace("at: 45s, action: release", "at: 45m, action: release"))
    assert main(["validate", str(late)]) == 0
    printed = capsys.readouterr().out
    assert "spec.events[3] (release) is at 2700 s, after the end of the run" in printed
    assert main(["validate", "tests/golden/tours/kubernetes-tour.yaml"]) == 0
    assert "after the end" not in capsys.readouterr().out
