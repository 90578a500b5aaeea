"""isolate: candidates from the spec, their patches, the ranking, the metric path, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

import fleetsim
from fleetsim.cli import main
from fleetsim.experiments.isolate import (
    Candidate,
    MetricError,
    candidates,
    isolate,
    metric_value,
)
from fleetsim.scenario.kubernetes import ColdStart
from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.variants import apply_variant
from tests.fleet_scenarios import scenario

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
HPA_CASCADE = ROOT / "scenarios" / "hpa-warmup-cascade.yaml"


def _names(found: list[Candidate]) -> list[str]:
    return [candidate.mechanism for candidate in found]


def _switched_off(document: dict[str, Any], candidate: Candidate) -> dict[str, Any]:
    """``document`` with ``candidate``'s patch merged into its spec (as isolate does)."""
    return {**document, "spec": apply_variant(document["spec"], candidate.patch)}


def _retrying_app() -> dict[str, Any]:
    """A backend that answers 20 % of attempts with a 503, retried up to 3 times on 5xx,
    with a readiness probe. Retries multiply attempts by about 1 + 0.2 + 0.04 + 0.008;
    the probe is a cheap extra on an idle-ish fleet and moves neither attempts nor
    failures."""
    document = scenario(
        replicas=4,
        workers=2,
        rate=400,
        duration=5,
        warmup=1,
        error_rate=0.2,
        retries={"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx"},
    )
    document["spec"]["services"][0]["readinessProbe"] = {"periodSeconds": 1}
    return document


def _mesh_document() -> dict[str, Any]:
    """A mesh with every Kubernetes-level candidate on: a frontend (no route: Istio's
    default retries) calling a backend with retries, outlier detection, probes, an HPA,
    a warm-up and a CPU limit without a request."""
    document = scenario(rate=100, duration=5, warmup=1)
    spec = document["spec"]
    spec["mesh"] = {}
    backend = spec["services"][0]
    backend.update(
        {
            "name": "backend",
            "readinessProbe": {"periodSeconds": 5},
            "livenessProbe": {"periodSeconds": 10},
            "resources": {"limits": {"cpu": "2"}},
            "cpuPerRequest": "5ms",
            "hpa": {"minReplicas": 2, "maxReplicas": 8, "targetCPUUtilizationPercentage": 60},
            "coldStart": {"warmupDuration": "10s", "warmupCpu": "500m"},
        }
    )
    spec["services"].append(
        {
            "name": "frontend",
            "replicas": 2,
            "workers": 50,
            "serviceTime": {"distribution": "constant", "mean": "1ms"},
            "calls": [{"service": "backend"}],
        }
    )
    spec["traffic"][0]["target"] = "frontend"
    spec["routes"] = [
        {
            "destination": "backend",
            "loadBalancer": "RANDOM",
            "retries": {"attempts": 2, "perTryTimeout": "200ms"},
            "outlierDetection": {},
        }
    ]
    return document


# --- (1) candidate detection -------------------------------------------------------


def test_candidates_are_exactly_the_mechanisms_that_are_on() -> None:
    document = scenario(retries={"attempts": 2})
    spec = document["spec"]
    spec["mesh"] = {}
    spec["routes"][0]["outlierDetection"] = {"consecutive5xxErrors": 3}
    spec["services"][0]["readinessProbe"] = {"periodSeconds": 5}
    assert _names(candidates(spec)) == ["retries", "outlier-detection", "probes"]

    bare = scenario()["spec"]  # a route with a load balancer only, no mesh
    assert candidates(bare) == []
    bare["routes"][0]["retries"] = {"attempts": 0, "perTryTimeout": "1s"}  # already off
    bare["services"][0]["coldStart"] = {"warmupDuration": "0s"}  # the defaults: no warm-up
    assert candidates(bare) == []


def test_in_a_mesh_istio_default_retries_are_a_candidate_even_without_routes() -> None:
    spec = scenario()["spec"]
    spec["mesh"] = {}
    spec["routes"] = []
    (found,) = candidates(spec)
    assert found.mechanism == "retries"
    assert found.patch == {
        "routes": [{"destination": "app", "retries": {"$patch": "replace", "attempts": 0}}]
    }
    spec["routes"] = [{"destination": "app", "retries": {"attempts": 0}}]
    assert candidates(spec) == []


def test_the_variant_decides_the_candidates() -> None:
    baseline = load_scenario(QUICKSTART).raw["spec"]
    no_retries = load_scenario(QUICKSTART, variant="no-retries").raw["spec"]
    assert _names(candidates(baseline)) == ["retries"]
    assert candidates(no_retries) == []
    cascade = load_scenario(HPA_CASCADE).raw["spec"]
    assert _names(candidates(cascade)) == ["probes", "hpa", "warm-up", "cpu-limits"]


def test_every_patch_validates_and_switches_only_its_mechanism_off() -> None:
    document = _mesh_document()
    as_is = load_scenario(document).scenario.spec
    found = {c.mechanism: c for c in candidates(document["spec"])}
    assert list(found) == ["retries", "outlier-detection", "probes", "hpa", "warm-up", "cpu-limits"]
    off = {
        name: load_scenario(_switched_off(document, c)).scenario.spec for name, c in found.items()
    }

    routes = {route.destination: route for route in off["retries"].routes}
    assert set(routes) == {"backend", "frontend"}  # frontend's route added for Istio's default
    for route in routes.values():
        assert route.retries is not None
        assert route.retries.attempts == 0
        assert route.retries.per_try_timeout is None  # replaced, not merged
    assert routes["backend"].load_balancer == "RANDOM"
    assert routes["backend"].outlier_detection is not None

    assert as_is.routes[0].outlier_detection is not None
    assert off["outlier-detection"].routes[0].outlier_detection is None
    assert off["outlier-detection"].routes[0].retries == as_is.routes[0].retries

    backend = {name: spec.services[0] for name, spec in off.items()}
    assert backend["probes"].readiness_probe is None
    assert backend["probes"].liveness_probe is None
    assert backend["probes"].hpa == as_is.services[0].hpa
    assert backend["hpa"].hpa is None
    assert backend["hpa"].readiness_probe == as_is.services[0].readiness_probe
    assert as_is.services[0].cold_start != ColdStart()
    assert backend["warm-up"].cold_start == ColdStart()
    assert backend["cpu-limits"].resources.limits.cpu is None
    assert backend["cpu-limits"].resources.requests.cpu == 2.0  # defaulted from the limit
    assert as_is.services[0].resources.requests.cpu == 2.0


def test_node_and_process_candidates_patch_the_raw_spec() -> None:
    """Written against the raw mapping: cAdvisor's scan, GC pauses and disk stalls."""
    spec: dict[str, Any] = {
        "nodePools": [
            {
                "name": "big",
                "agents": {"cadvisor": {"referencedMemory": True, "housekeepingInterval": "10s"}},
                "disks": [
                    {
                        "name": "data",
                        "throughput": "200Mi",
                        "writers": [{"name": "shipper", "every": "30s", "size": "1Gi"}],
                    },
                    {"name": "logs", "throughput": "100Mi"},
                ],
            },
            {"name": "small", "agents": {"cadvisor": {"referencedMemory": False}}},
        ],
        "services": [
            {
                "name": "search",
                "process": {
                    "disk": "data",
                    "syncWriteProbability": 0.01,
                    "pauses": {"interval": {"distribution": "constant", "mean": "5s"}},
                },
            },
            {"name": "other", "process": {"syncWriteProbability": 0}},
        ],
    }
    found = {c.mechanism: c for c in candidates(spec)}
    assert list(found) == ["node-agent-scan", "stop-the-world-pauses", "disk-stalls"]

    scan = apply_variant(spec, found["node-agent-scan"].patch)
    assert scan["nodePools"][0]["agents"]["cadvisor"] == {
        "referencedMemory": False,
        "housekeepingInterval": "10s",
    }
    assert scan["nodePools"][0]["disks"] == spec["nodePools"][0]["disks"]
    assert scan["nodePools"][1] == spec["nodePools"][1]

    paused = apply_variant(spec, found["stop-the-world-pauses"].patch)
    assert paused["services"][0]["process"] == {"disk": "data", "syncWriteProbability": 0.01}

    stalls = apply_variant(spec, found["disk-stalls"].patch)
    assert stalls["nodePools"][0]["disks"] == [
        {"name": "data", "throughput": "200Mi"},
        {"name": "logs", "throughput": "100Mi"},
    ]
    assert stalls["services"][0]["process"]["syncWriteProbability"] == 0
    assert stalls["services"][0]["process"]["pauses"] == spec["services"][0]["process"]["pauses"]
    assert stalls["services"][1] == spec["services"][1]
    assert found["disk-stalls"].switched_off == (
        "burst writers on disks big/data; sync writes of search"
    )


# --- (2) the ranking -----------------------------------------------------------------


def test_the_known_culprit_ranks_first_with_the_right_sign() -> None:
    document = _retrying_app()
    labels: list[str] = []

    @contextmanager
    def progress(label: str) -> Iterator[None]:
        labels.append(label)
        yield None

    result = isolate(document, "attempts", progress=progress)
    assert labels == [
        "test [baseline] as is",
        "test [baseline] -retries",
        "test [baseline] -probes",
    ]
    assert result.seed == 11
    assert result.as_is == fleetsim.run(document).summary["attempts"]
    retries, probes = result.candidates
    assert (retries.mechanism, probes.mechanism) == ("retries", "probes")
    # attempts: 0 is the same fleet as a route without retries, run with the same seed.
    no_retries = scenario(replicas=4, workers=2, rate=400, duration=5, warmup=1, error_rate=0.2)
    plain = fleetsim.run(no_retries).summary
    assert retries.value == plain["attempts"]
    assert abs(plain["attempts"] - plain["requests"]["total"]) <= 2  # one try per request
    assert retries.change is not None and retries.change < 0
    assert retries.relative_change == pytest.approx(1 / 1.248 - 1, abs=0.03)
    assert probes.change == 0

    failed = isolate(document, "requests.failed", seed=5)
    assert failed.seed == 5
    assert failed.candidates[0].mechanism == "retries"
    assert failed.candidates[0].change is not None and failed.candidates[0].change > 0
    total = fleetsim.run(no_retries, seed=5).summary["requests"]["total"]
    assert failed.candidates[0].value == pytest.approx(0.2 * total, rel=0.2)


def test_in_a_mesh_retries_off_zeroes_the_services_retries() -> None:
    document = _retrying_app()
    document["spec"]["mesh"] = {}
    result = isolate(document, "services.app.retries")
    assert result.as_is > 0
    assert [c.mechanism for c in result.candidates] == ["retries", "probes"]
    retries = result.candidates[0]
    assert (retries.value, retries.change, retries.relative_change) == (0, -result.as_is, -1.0)


def test_a_figure_that_vanishes_with_its_mechanism_ranks_last_as_none() -> None:
    result = isolate(_mesh_document(), "services.backend.hpa.syncs", duration="40s")
    assert result.as_is >= 2  # a sync every 15 s
    assert [c.mechanism for c in result.candidates][-1] == "hpa"
    hpa = result.candidates[-1]
    assert (hpa.value, hpa.change, hpa.relative_change) == (None, None, None)
    assert all(c.value is not None for c in result.candidates[:-1])


# --- the metric path -------------------------------------------------------------------


def test_metric_paths() -> None:
    summary = {
        "latency_ms": {"mean": 1.5, "p99": 4},
        "services": {"app": {"zones": {"eu.west.a": {"share": 0.5}}, "hpa": None}},
        "flag": True,
    }
    assert metric_value(summary, "latency_ms.p99") == 4
    assert metric_value(summary, "services.app.zones.eu.west.a.share") == 0.5
    cases = {
        "latency_ms.p9": "metric 'latency_ms.p9' not found: latency_ms has mean, p99",
        "nope": "metric 'nope' not found: the summary has latency_ms, services, flag",
        "latency_ms.p99.x": "metric 'latency_ms.p99.x' not found: latency_ms.p99 is a number, "
        "not a mapping",
        "latency_ms": "metric 'latency_ms' is not a number: latency_ms has mean, p99",
        "services.app.hpa": "metric 'services.app.hpa' is not a number: it is null in this run",
        "flag": "metric 'flag' is not a number: it is true/false in this run",
        "latency_ms..p99": "metric 'latency_ms..p99' is not a dotted path such as latency_ms.p99",
    }
    for path, message in cases.items():
        with pytest.raises(MetricError) as caught:
            metric_value(summary, path)
        assert str(caught.value) == message


def test_an_unknown_metric_stops_after_the_as_is_run() -> None:
    labels: list[str] = []

    @contextmanager
    def progress(label: str) -> Iterator[None]:
        labels.append(label)
        yield None

    with pytest.raises(MetricError):
        isolate(_retrying_app(), "latency_ms.p9", progress=progress)
    assert labels == ["test [baseline] as is"]


# --- the command line ------------------------------------------------------------------


def _file(tmp_path: Path) -> Path:
    document = _retrying_app()
    document["spec"]["variants"] = {
        "no-retries": {"routes": [{"destination": "app", "retries": None}]}
    }
    path = tmp_path / "retrying.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_cli_unknown_metric_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["isolate", str(_file(tmp_path)), "--metric", "latency_ms.p9", "--quiet"])
    assert code == 2
    captured = capsys.readouterr()
    keys = ", ".join(fleetsim.run(_retrying_app()).summary["latency_ms"])
    assert keys.startswith("mean, p50, p90, p95, p99, p999")
    assert captured.err == (
        f"fleetsim isolate: metric 'latency_ms.p9' not found: latency_ms has {keys}\n"
    )
    assert captured.out == ""
    assert main(["isolate", str(_file(tmp_path)), "--metric", "requests", "--quiet"]) == 2
    assert "is not a number: requests has total, succeeded" in capsys.readouterr().err


def test_cli_bad_variant_is_a_scenario_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path)
    assert main(["isolate", str(path), "--metric", "attempts", "--variant", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fleetsim: {path}:") and "no variant named 'nope'" in err


def test_cli_out_writes_the_documented_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "isolate.json"
    args = ["isolate", str(_file(tmp_path)), "--metric", "attempts", "--quiet", "--out", str(out)]
    assert main(args) == 0
    document = json.loads(out.read_text())
    assert list(document) == ["scenario", "variant", "seed", "metric", "as_is", "candidates"]
    assert (document["scenario"], document["variant"], document["seed"]) == ("test", "baseline", 11)
    assert document["metric"] == "attempts"
    assert [c["mechanism"] for c in document["candidates"]] == ["retries", "probes"]
    for candidate in document["candidates"]:
        assert list(candidate) == [
            "mechanism",
            "switched_off",
            "value",
            "change",
            "relative_change",
        ]
        assert candidate["change"] == candidate["value"] - document["as_is"]
    assert f"results written to {out}" in capsys.readouterr().out

    assert main(["isolate", str(_file(tmp_path)), "--metric", "attempts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == document

    assert main([*args[:-2], "--variant", "no-retries", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["variant"] == "no-retries"
    assert [c["mechanism"] for c in printed["candidates"]] == ["probes"]


def test_cli_prints_the_ranked_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["isolate", str(_file(tmp_path)), "--metric", "attempts", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "test [baseline] seed 3: attempts with each mechanism switched off" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("┃"))
    assert "switched off" in header and "change %" in header
    rows = [line for line in lines if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["(as is)", "retries", "probes"]
    retries = rows[1].split("│")
    assert retries[2].strip() == "attempts: 0 on routes to app"
    assert retries[4].strip().startswith("-") and retries[5].strip().endswith("%")
    assert rows[2].split("│")[4].strip() == "+0"


def test_storage_candidates_are_the_balancer_and_the_zone_failure() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    s6 = load_scenario(root / "zone-failure-placement.yaml").raw["spec"]
    found = {c.mechanism: c for c in candidates(s6)}
    assert list(found) == ["probes", "region-balancer", "zone-failure"]
    document = {**load_scenario(root / "zone-failure-placement.yaml").raw, "spec": s6}
    for name in ("region-balancer", "zone-failure"):
        spec = load_scenario(_switched_off(document, found[name])).scenario.spec
        if name == "region-balancer":
            assert spec.storage is not None and not spec.storage.balancer.enabled
            assert len(spec.events) == 2
        else:
            assert spec.events == []
            assert spec.storage is not None and spec.storage.balancer.enabled
    s2 = load_scenario(root / "hbase-region-imbalance.yaml", variant="balancer-off").raw["spec"]
    assert _names(candidates(s2)) == []


def test_the_app_name_lookups_are_a_candidate_and_switch_off() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    s11 = load_scenario(root / "dns-critical-path.yaml").raw["spec"]
    found = {c.mechanism: c for c in candidates(s11)}
    assert "name-lookups" in found
    assert found["name-lookups"].switched_off == "the name lookups of frontend's calls"
    document = {**load_scenario(root / "dns-critical-path.yaml").raw, "spec": s11}
    spec = load_scenario(_switched_off(document, found["name-lookups"])).scenario.spec
    frontend = next(service for service in spec.services if service.name == "frontend")
    assert frontend.calls[0].lookup is None
    assert frontend.calls[0].service == "backend"
    variant = load_scenario(root / "dns-critical-path.yaml", variant="local-socket-sidecar")
    # The fix binds the backend to the proxy's local socket: no lookup left to switch off.
    assert "name-lookups" not in _names(candidates(variant.raw["spec"]))
