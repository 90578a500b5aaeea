"""The catalogue's mesh scenarios: S9 (retry imbalance) and S10 (sidecar idle connections).

Each scenario runs with its fixed seed; the assertions check the direction and the size of
what the write-up reports, and that removing the mechanism removes the effect.

S10's shipped timeline is two hours with three releases; the tests run the same fleet on
a shorter timeline (the same 10 min warm-up, in which every client worker connects to
every backend pod: a pair sees a request every ~140 s on average), so that the suite stays
short. The runs go to a pool of two processes.
"""

from __future__ import annotations

import copy
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import fleetsim

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
S9 = SCENARIOS / "mesh-retry-imbalance.yaml"
S10 = SCENARIOS / "sidecar-idle-connections.yaml"
MIB = 2**20


def _summary(document: dict[str, Any], variant: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(document, variant=variant).summary
    return summary


def _run_all(jobs: dict[str, tuple[dict[str, Any], str | None]]) -> dict[str, dict[str, Any]]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_summary, doc, variant) for name, (doc, variant) in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


# --- S10: sidecar-idle-connections ------------------------------------------------------


def _s10(duration: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(S10.read_text())
    document = copy.deepcopy(document)
    document["spec"]["duration"] = duration
    document["spec"]["events"] = events
    return document


RELEASE = [{"at": "12m", "action": "release", "service": "frontend"}]


@pytest.fixture(scope="module")
def s10() -> dict[str, dict[str, Any]]:
    released = _s10("12m", RELEASE)
    limited = _s10("12m", RELEASE)
    limited["spec"]["variants"]["memory-limit-300mb"]["services"][0]["sidecar"] = {
        "resources": {"limits": {"memory": "250Mi"}}
    }
    steady = _s10("2m", [])
    return _run_all(
        {
            "release": (released, None),
            "limit": (limited, "memory-limit-300mb"),
            "steady": (steady, None),
            "idle-30s": (steady, "idle-30s"),
            "idle-30s-concurrency-2": (steady, "idle-30s-concurrency-2"),
        }
    )


def backend(summary: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = summary["services"]["backend"]
    return service


def test_s10_a_backend_sidecar_holds_clients_times_threads_connections(
    s10: dict[str, dict[str, Any]],
) -> None:
    """175 frontend proxies x 16 workers, each with its own pool per backend pod."""
    connections = backend(s10["steady"])["connections"]
    assert 2700 <= connections["sidecar"]["mean"] <= 2830  # 2,800 + a few app connections
    assert 5 <= connections["app"]["mean"] <= 60  # "about 40 in the main container"
    assert s10["steady"]["requests"]["failed"] == 0


def test_s10_orphaned_connections_raise_memory_after_a_release(
    s10: dict[str, dict[str, Any]],
) -> None:
    """Half the old frontend connections vanish without a close; the backend keeps them
    for its 1 h idle timeout, on top of the new frontend pods' connections."""
    figures = backend(s10["release"])
    memory = figures["memory_bytes"]["sidecar"]
    steady_memory = backend(s10["steady"])["memory_bytes"]["sidecar"]["mean"]
    assert memory["start"] == pytest.approx(steady_memory, rel=0.02)
    # ~1,400 orphans x 64 KiB = ~88 MiB more by the end (new pods still reconnecting).
    assert memory["end"] - memory["start"] >= 50 * MIB
    assert figures["connections"]["sidecar"]["max"] >= 3900
    assert figures["restarts"]["sidecar"] == 0


def test_s10_a_memory_limit_restarts_the_sidecar_briefly(s10: dict[str, dict[str, Any]]) -> None:
    """With the orphans a sidecar crosses its limit: Envoy is OOM-killed and restarts, the
    pod is briefly unready, and its memory stays under the limit."""
    figures = backend(s10["limit"])
    assert figures["restarts"]["sidecar"] >= 3
    assert figures["memory_bytes"]["sidecar"]["max"] <= 250 * MIB
    assert figures["readiness"]["transitions"] >= 2 * figures["restarts"]["sidecar"] - 2
    assert figures["restarts"]["app"] == 0
    assert backend(s10["release"])["memory_bytes"]["sidecar"]["max"] > 250 * MIB


def test_s10_idle_timeout_and_concurrency_trade_connections_for_connects(
    s10: dict[str, dict[str, Any]],
) -> None:
    """30 s idle: a pair idle longer than 30 s (p = exp(-30/140) = 0.8) reconnects, so
    connections fall and connects/s rise; 2 client workers make each pair 8x busier,
    which cancels most of that rise."""
    steady, idle, fewer_threads = (
        backend(s10[name]) for name in ("steady", "idle-30s", "idle-30s-concurrency-2")
    )
    assert idle["connections"]["sidecar"]["mean"] < 0.3 * steady["connections"]["sidecar"]["mean"]
    assert idle["connects_per_s"]["sidecar"] > 50 * steady["connects_per_s"]["sidecar"]
    assert idle["connects_per_s"]["sidecar"] > 200  # total over the 20 backend sidecars
    assert fewer_threads["connects_per_s"]["sidecar"] < 0.4 * idle["connects_per_s"]["sidecar"]
    assert fewer_threads["connections"]["sidecar"]["mean"] < idle["connections"]["sidecar"]["mean"]


# --- S9: mesh-retry-imbalance -------------------------------------------------------------


@cache
def s9(variant: str | None) -> dict[str, Any]:
    return _summary(yaml.safe_load(S9.read_text()), variant)


@pytest.fixture(scope="module")
def s9_runs() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(S9.read_text())
    variants = ["baseline", "no-retries-no-outlier", "more-pods", "random", "uneven-frontends"]
    jobs = {name: (document, None if name == "baseline" else name) for name in variants}
    # The fix on the uneven fleet: the uneven-frontends variant plus the fix's routes.
    fixed = copy.deepcopy(document)
    variants_spec = fixed["spec"]["variants"]
    variants_spec["uneven-fixed"] = {
        **variants_spec["uneven-frontends"],
        "routes": variants_spec["no-retries-no-outlier"]["routes"],
    }
    jobs["uneven-fixed"] = (fixed, "uneven-fixed")
    return _run_all(jobs)


def test_s9_retries_and_outlier_detection_make_backend_pods_flap(
    s9_runs: dict[str, dict[str, Any]],
) -> None:
    """At the peak, full queues refuse probes and pods go unready; Istio's default retries
    (at the gateway and at the frontend: up to 3 x 3 tries) and ejections keep the
    remaining pods' queues full, so far more of them flap than without."""
    baseline, fixed = s9_runs["baseline"], s9_runs["no-retries-no-outlier"]
    flaps, fixed_flaps = (backend(s)["readiness"]["transitions"] for s in (baseline, fixed))
    assert flaps >= 100
    assert flaps >= 4 * fixed_flaps
    assert backend(baseline)["ejections"] > 0 and backend(fixed)["ejections"] == 0
    assert baseline["service_attempts"] >= 3 * fixed["service_attempts"]  # retry amplification


def test_s9_errors_p99_and_pod_skew_rise_with_retries(s9_runs: dict[str, dict[str, Any]]) -> None:
    baseline, fixed = s9_runs["baseline"], s9_runs["no-retries-no-outlier"]
    assert baseline["requests"]["failed"] >= 1.2 * fixed["requests"]["failed"]
    assert baseline["latency_ms"]["p99"] > fixed["latency_ms"]["p99"]
    pods, fixed_pods = backend(baseline)["pods"], backend(fixed)["pods"]
    assert pods["share_cv"] >= 4 * fixed_pods["share_cv"]
    assert pods["share_max_over_mean"] >= fixed_pods["share_max_over_mean"] + 0.1
    # The fix spreads the load evenly over zones (no locality failover without outlier
    # detection); the baseline's zone shares move only a little in this model.
    shares = [zone["share"] for zone in backend(fixed)["zones"].values()]
    assert max(shares) - min(shares) < 0.02


def test_s9_more_pods_or_another_load_balancer_is_no_fix(
    s9_runs: dict[str, dict[str, Any]],
) -> None:
    """+20 % backend pods and RANDOM balancing still flap and fail far more than the fix."""
    fixed = s9_runs["no-retries-no-outlier"]
    for name in ("more-pods", "random"):
        summary = s9_runs[name]
        assert backend(summary)["readiness"]["transitions"] >= 3 * max(
            backend(fixed)["readiness"]["transitions"], 10
        ), name
        assert summary["service_attempts"] >= 2 * fixed["service_attempts"], name


def test_s9_uneven_frontends_put_one_zone_far_above_the_other_two(
    s9_runs: dict[str, dict[str, Any]],
) -> None:
    """Seven frontends over three zones (3/2/2). With outlier detection, Istio's locality
    failover keeps each frontend's backend calls in its own zone, so zone-a's backends
    take more than its 3/7 of the frontends; its failures come back faster, the gateway's
    LEAST_REQUEST sends its frontends more, and their retries stay in zone-a too. The
    fix (no retries, no outlier detection, hence no failover priorities) evens the zones."""
    uneven, fixed = backend(s9_runs["uneven-frontends"]), backend(s9_runs["uneven-fixed"])
    shares = {name: zone["share"] for name, zone in uneven["zones"].items()}
    others = [share for name, share in shares.items() if name != "zone-a"]
    assert shares["zone-a"] >= 3 / 7 + 0.05
    assert shares["zone-a"] >= 1.8 * max(others)
    assert uneven["readiness"]["transitions"] >= 100
    fixed_shares = [zone["share"] for zone in fixed["zones"].values()]
    assert max(fixed_shares) - min(fixed_shares) < 0.02
    assert 4 * fixed["readiness"]["transitions"] <= uneven["readiness"]["transitions"]
