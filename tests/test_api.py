"""The Python API for notebooks: frames, compare, a short repr, the summary's run block."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import fleetsim
from fleetsim.result import Result
from tests.fleet_scenarios import scenario

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES_TOUR = ROOT / "tests" / "golden" / "tours" / "kubernetes-tour.yaml"


def _document(seed: int = 11) -> dict:
    document = scenario(rate=300, duration=4, warmup=1, seed=seed, error_rate=0.01)
    document["spec"]["variants"] = {"more-pods": {"services": [{"name": "app", "replicas": 8}]}}
    return document


@pytest.fixture(scope="module")
def result() -> Result:
    return fleetsim.run(_document())


def test_series_frame_is_typed_and_says_which_run(result: Result) -> None:
    frame = result.series_frame("services")
    rows = result.series["services"]
    assert list(frame.columns[:5]) == ["scenario", "variant", "seed", "t", "service"]
    assert len(frame) == len(rows) == 4
    assert set(frame["scenario"]) == {"test"} and set(frame["variant"]) == {"baseline"}
    assert set(frame["seed"]) == {11}
    assert frame["attempts"].dtype == pd.Int64Dtype()
    assert frame["p99_ms"].dtype == "float64"
    assert frame["attempts"].tolist() == [row["attempts"] for row in rows]
    assert frame["t"].tolist() == [row["t"] for row in rows]
    assert frame["cpu_utilization"].isna().all()  # no metrics server: no scrape
    assert frame.attrs["units"]["p99_ms"] == "ms" and frame.attrs["units"]["t"] == "s"
    traffic = result.series_frame("traffic")
    assert traffic["requests"].sum() == result.summary["requests"]["total"]


def test_series_frame_of_an_unknown_kind_names_the_kinds(result: Result) -> None:
    with pytest.raises(ValueError, match=r"'nodes'.*\['services', 'traffic'\]"):
        result.series_frame("nodes")


def test_events_frame_holds_the_timeline() -> None:
    tour = fleetsim.run(KUBERNETES_TOUR, duration="20s", warmup="2s")
    frame = tour.events_frame()
    assert len(tour.events) > 0
    assert list(frame.columns) == ["scenario", "variant", "seed", *tour.events[0]]
    assert frame["time_s"].tolist() == [event["time_s"] for event in tour.events]
    assert frame["kind"].tolist() == [event["kind"] for event in tour.events]
    assert set(frame["scenario"]) == {"kubernetes-tour"}


def test_repr_is_one_short_line(result: Result) -> None:
    text = repr(result)
    summary = result.summary
    assert "\n" not in text and len(text) < 200
    failed = summary["requests"]["failed"] / summary["requests"]["total"]
    assert text == (
        f"Result(scenario='test', variant='baseline', seed=11, "
        f"requests={summary['requests']['total']:,}, failed={failed:.2%}, "
        f"p99={summary['latency_ms']['p99']:,.1f} ms, 2 series kinds, 0 events)"
    )
    assert re.search(r"failed=\d+\.\d\d%", text)


def test_run_block_says_what_ran(result: Result) -> None:
    run = result.summary["run"]
    assert list(result.summary)[-1] == "run"
    assert run["fleetsim_version"] == fleetsim.__version__
    assert run["seed"] == result.summary["seed"] == run["spec"]["seed"] == 11
    assert run["spec"]["duration"] == 4.0 and "variants" not in run["spec"]
    model = {k: v for k, v in run["spec"].items() if k != "seed"}
    canonical = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert run["scenario_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    json.dumps(result.summary)  # JSON all the way down


def test_scenario_hash_is_of_the_model_that_ran(result: Result, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text("# a comment changes no model\n" + yaml.safe_dump(_document()))
    same_file = fleetsim.run(path)
    other_seed = fleetsim.run(_document(), seed=12)
    variant = fleetsim.run(_document(), variant="more-pods")
    shorter = fleetsim.run(_document(), duration="3s")
    hashes = [r.summary["run"]["scenario_hash"] for r in (same_file, other_seed)]
    assert hashes == [result.summary["run"]["scenario_hash"]] * 2
    assert other_seed.summary["run"]["seed"] == other_seed.summary["run"]["spec"]["seed"] == 12
    assert (
        len(
            {
                result.summary["run"]["scenario_hash"],
                *(r.summary["run"]["scenario_hash"] for r in (variant, shorter)),
            }
        )
        == 3
    )


def test_compare_keeps_one_summary_per_variant() -> None:
    comparison = fleetsim.compare(_document(), seed=5)
    assert comparison.variants == ["baseline", "more-pods"]
    assert (
        repr(comparison)
        == "Comparison(scenario='test', seed=5, variants=['baseline', 'more-pods'])"
    )
    frame = comparison.compare_frame()
    assert list(frame.index) == ["baseline", "more-pods"]
    assert frame.loc["more-pods", "requests.total"] == comparison.summaries[1]["requests"]["total"]
    assert frame.loc["baseline", "latency_ms.p99"] == comparison.summaries[0]["latency_ms"]["p99"]
    assert {"requests.total", "throughput_rps", "latency_ms.p99"} <= set(frame.columns)
    picked = comparison.compare_frame(["services.app.pods.count", "retries"])
    assert list(picked.columns) == ["services.app.pods.count", "retries"]
    assert comparison.values("services.app.replicas.final") == {"baseline": 4, "more-pods": 8}


def test_compare_of_some_variants_with_a_bad_path() -> None:
    comparison = fleetsim.compare(_document(), variants=["more-pods"], duration="2s")
    assert comparison.variants == ["more-pods"]
    assert comparison.summaries[0]["simulated_seconds"] == 2.0
    with pytest.raises(KeyError, match=r"no 'p42' in latency_ms; keys there: max, mean"):
        comparison.values("latency_ms.p42")


def test_compare_checks_every_variant_before_running_any() -> None:
    calls: list[float] = []
    with pytest.raises(fleetsim.ScenarioError, match="no-such-variant"):
        fleetsim.compare(
            _document(),
            variants=["baseline", "no-such-variant"],
            progress=lambda *a: calls.append(a[0]),
        )
    assert calls == []
