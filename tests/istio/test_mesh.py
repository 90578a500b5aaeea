"""Service-mesh mechanisms end to end: each effect shown with the mechanism on and off.

Every test runs a short scenario (``spec.mesh`` present = Istio mesh, traffic enters
through the ingress gateway, services with ``calls`` call through their pod's sidecar)
with a fixed seed. Where the model is deterministic (constant service times, constant
arrivals, connection pools, ejection times on the interval sweep) the expected value is
worked out in a comment; where a figure is random (Poisson arrivals, error draws, random
load balancing) the tolerance says where it comes from, usually 4 standard deviations
of a binomial or Poisson count.

Some mechanisms need one pod that fails every request while its peers are healthy.
``errorRate`` applies to a whole service, so the helper ``run_mesh`` can break chosen
pods at a given time: the service is given a negligible ``errorRate`` (1e-12, so that
its containers draw for errors at all) and the chosen containers' ``error_rate`` is set
to 1.0 -- from then on they answer 503 to every request, like a pod with a broken
dependency.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from fleetsim.envoy.proxy import SidecarProxy
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from tests.fleet_scenarios import trace_events

MiB = 1024**2

# --- helpers -------------------------------------------------------------------------


def service(
    name: str,
    *,
    replicas: int = 2,
    workers: int = 4,
    mean: float = 0.01,
    distribution: str = "constant",
    **extra: Any,
) -> dict[str, Any]:
    """One service; ``extra`` holds file fields as they are spelled in a scenario."""
    spec: dict[str, Any] = {
        "name": name,
        "replicas": replicas,
        "workers": workers,
        "serviceTime": {"distribution": distribution, "mean": mean},
    }
    spec.update(extra)
    return spec


def scenario(
    services: list[dict[str, Any]],
    *,
    target: str,
    rate: float,
    duration: float = 30.0,
    warmup: float = 2.0,
    seed: int = 5,
    routes: list[dict[str, Any]] | None = None,
    mesh: dict[str, Any] | None = None,
    zones: list[str] | None = None,
    arrivals: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A scenario fed by one traffic source; ``mesh=None`` runs without the mesh."""
    traffic: dict[str, Any] = {"name": "clients", "target": target, "rate": rate}
    if arrivals is not None:
        traffic["arrivals"] = arrivals
    spec: dict[str, Any] = {
        "duration": duration,
        "warmup": warmup,
        "seed": seed,
        "services": services,
        "traffic": [traffic],
        "routes": routes or [],
    }
    if mesh is not None:
        spec["mesh"] = mesh
    if zones is not None:
        spec["zones"] = zones
    if events is not None:
        spec["events"] = events
    return copy.deepcopy(
        {
            "apiVersion": "fleetsim/v1",
            "kind": "Scenario",
            "metadata": {"name": "mesh"},
            "spec": spec,
        }
    )


@dataclass
class Run:
    """A run's summary and series, the simulation, and ``(time, kind)`` of its events."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    timeline: list[tuple[float, str]]
    simulation: Simulation

    def service(self, name: str) -> dict[str, Any]:
        block: dict[str, Any] = self.summary["services"][name]
        return block

    @property
    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.summary["requests"]
        return counts

    def times(self, kind: str) -> list[float]:
        return [at for at, seen in self.timeline if seen == kind]

    def series(self, name: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["service"] == name]

    def row_at(self, name: str, t: float) -> dict[str, Any]:
        return next(row for row in self.series(name) if row["t"] == t)


def run_mesh(
    doc: dict[str, Any],
    *,
    broken: tuple[str, Callable[[Any], bool]] | None = None,
    break_at: float = 0.5,
) -> Run:
    """Run ``doc``; ``broken = (service, pod predicate)`` makes those pods fail from
    ``break_at`` on (see the module docstring)."""
    simulation = Simulation(load_scenario(doc))
    timeline = trace_events(simulation)
    if broken is not None:
        name, chosen = broken

        def break_pods(_: Any) -> None:
            for pod in simulation.cluster.deployments[name].all_pods:
                if chosen(pod):
                    assert pod.container is not None
                    pod.container.error_rate = 1.0

        simulation.env.schedule_at(break_at, break_pods)
    result = simulation.run()
    return Run(result.summary, result.series["services"], timeline, simulation)


def first_pod(pod: Any) -> bool:
    return bool(pod.index == 0)


def within(observed: float, expected: float, sd: float, k: float = 4.0) -> bool:
    return abs(observed - expected) <= k * sd


# --- 1. Istio's default retries ------------------------------------------------------


def erroring_app(mesh: dict[str, Any] | None, routes: list[dict[str, Any]]) -> dict[str, Any]:
    # 100/s for 30 s against an app that answers 503 to 20 % of requests at random.
    return scenario(
        [service("app", errorRate=0.2)], target="app", rate=100.0, mesh=mesh, routes=routes
    )


@pytest.mark.parametrize(
    "routes",
    [[], [{"destination": "app", "loadBalancer": "RANDOM"}]],
    ids=["no-route", "route-without-retries"],
)
def test_mesh_applies_istio_default_retries_when_the_route_sets_none(
    routes: list[dict[str, Any]],
) -> None:
    run = run_mesh(erroring_app({}, routes))
    n = run.requests["total"]
    # Istio's default: 2 retries on 503. Retries per request R is 0, 1, 2 with
    # probabilities 0.8, 0.16, 0.04: mean 0.24, variance 0.32 - 0.24^2 = 0.2624.
    assert within(run.summary["retries"], 0.24 * n, math.sqrt(0.2624 * n))
    assert run.service("app")["retries"] == run.summary["service_retries"]
    # A request fails only when all three tries do: 0.2^3 = 0.008 (binomial).
    assert within(run.requests["errored"], 0.008 * n, math.sqrt(0.008 * n))


def test_without_the_mesh_a_route_without_retries_does_not_retry() -> None:
    run = run_mesh(erroring_app(None, []))
    n = run.requests["total"]
    assert run.summary["retries"] == 0
    assert within(run.requests["errored"], 0.2 * n, math.sqrt(0.16 * n))


def test_attempts_zero_turns_istio_retries_off() -> None:
    run = run_mesh(erroring_app({}, [{"destination": "app", "retries": {"attempts": 0}}]))
    n = run.requests["total"]
    assert run.summary["retries"] == 0
    assert run.service("app")["retries"] == 0
    assert within(run.requests["errored"], 0.2 * n, math.sqrt(0.16 * n))


# --- 2. retries avoid the hosts already tried ------------------------------------------


def one_bad_host(selection_attempts: int) -> Run:
    # Two pods behind RANDOM balancing; app-0 answers 503 to everything from 0.5 s on.
    doc = scenario(
        [service("app", errorRate=1e-12)],
        target="app",
        rate=100.0,
        warmup=1.0,
        mesh={},
        routes=[
            {
                "destination": "app",
                "loadBalancer": "RANDOM",
                "retries": {"attempts": 2, "retryHostSelectionAttempts": selection_attempts},
            }
        ],
    )
    return run_mesh(doc, broken=("app", first_pod))


def test_retries_with_previous_hosts_land_on_the_healthy_host() -> None:
    run = one_bad_host(5)
    n = run.requests["total"]
    # A retry picks up to 1 + 5 times to avoid the bad host: it lands there again with
    # probability 0.5^6 = 1/64. A request fails when its first try (1/2) and both
    # retries (1/64 each) hit it: n / 8192, about 0.4 here.
    assert run.requests["failed"] <= 3
    # Retries per request: 1 w.p. 1/2 x 63/64, 2 w.p. 1/2 x 1/64: mean 0.508,
    # variance 0.523 - 0.508^2 = 0.266.
    expected = n * 0.5 * (1 + 1 / 64)
    assert within(run.summary["retries"], expected, math.sqrt(n * 0.266))


def test_a_single_reselection_lets_retries_hit_the_failing_host_again() -> None:
    run = one_bad_host(1)
    n = run.requests["total"]
    # With one re-pick a retry hits the bad host with probability 0.5^2 = 1/4, so a
    # request fails with probability 1/2 * 1/4 * 1/4 = 1/32 (binomial, ~94 here):
    # more than 20 times the previous test's.
    assert within(run.requests["failed"], n / 32, math.sqrt(n / 32))
    # Retries per request: 1 w.p. 1/2 x 3/4, 2 w.p. 1/2 x 1/4: mean 0.625, variance
    # 0.875 - 0.625^2 = 0.484.
    expected = n * 0.5 * (1 + 1 / 4)
    assert within(run.summary["retries"], expected, math.sqrt(n * 0.484))


# --- 3. outlier detection ------------------------------------------------------------


def outlier_run(
    replicas: int,
    bad: set[int],
    detection: dict[str, Any] | None,
    duration: float,
) -> Run:
    # One gateway replica: one proxy, one outlier detector, so ejections are exact.
    route: dict[str, Any] = {"destination": "app", "loadBalancer": "RANDOM"}
    if detection is not None:
        route["outlierDetection"] = detection
    doc = scenario(
        [service("app", replicas=replicas, errorRate=1e-12)],
        target="app",
        rate=100.0,
        warmup=0.0,
        duration=duration,
        mesh={"ingressGateway": {"replicas": 1}},
        routes=[route],
    )
    return run_mesh(doc, broken=("app", lambda pod: pod.index in bad))


def test_outlier_detection_ejects_the_failing_host_for_base_times_n_until_a_sweep() -> None:
    detection = {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s"}
    run = outlier_run(4, {0}, detection, 360.0)
    ejections = run.times("outlier_ejection")
    # The bad pod gets 25/s, so 5 consecutive 503s eject it within ~0.2 s of its
    # break (0.5 s) and of each return. The k-th ejection lasts 30 s x k and the host
    # comes back at the first 10 s sweep after that; sweeps run at 10, 20, 30, ... So
    # ejection k+1 falls in [sweep, sweep + 1) with sweep the first multiple of 10 at
    # or after ejection_k + 30 k: ~0.6, 40, 110, 210, 340.
    assert len(ejections) == 5
    assert 0.5 < ejections[0] < 1.5
    for k, (this, following) in enumerate(itertools.pairwise(ejections), start=1):
        sweep = math.ceil((this + 30.0 * k) / 10.0) * 10.0
        assert sweep <= following < sweep + 1.0
    assert run.service("app")["ejections"] == 5
    # Retries (Istio's default, on 503) move the failed tries to healthy hosts.
    assert run.requests["failed"] == 0


def test_without_outlier_detection_no_host_is_ejected() -> None:
    run = outlier_run(4, {0}, None, 60.0)
    assert run.service("app")["ejections"] == 0
    assert run.summary["events_by_kind"]["outlier_ejection"] == 0
    # The bad pod keeps its share of first tries (1/4 of ~6000, binomial).
    first = run.simulation.cluster.deployments["app"].all_pods[0]
    bad = run.simulation.summary.window_received(first)
    assert bad > 1000


@pytest.mark.parametrize(
    ("replicas", "bad", "percent", "ejected"),
    [
        (10, {0, 1, 2}, None, 1),  # default 10 %: one host of ten
        (10, {0, 1, 2}, 50, 3),  # up to five may go: all three bad ones do
        (5, {0, 1}, 10, 1),  # 20 % > 10 %, but one host can always be ejected
    ],
    ids=["default-10pct", "50pct", "one-always"],
)
def test_max_ejection_percent_caps_concurrent_ejections(
    replicas: int, bad: set[int], percent: int | None, ejected: int
) -> None:
    detection: dict[str, Any] = {"baseEjectionTime": "60s"}
    if percent is not None:
        detection["maxEjectionPercent"] = percent
    # 25 s < 60 s: no ejected host comes back, so every ejection stays counted once.
    run = outlier_run(replicas, bad, detection, 25.0)
    assert run.service("app")["ejections"] == ejected


# --- 4. locality failover -------------------------------------------------------------

ZONES = ["zone-a", "zone-b", "zone-c"]


def zoned(route: dict[str, Any], *, error_rate: float = 0.0) -> dict[str, Any]:
    # One frontend pod (the scheduler puts it in zone-a) calling six backend pods, two
    # per zone.
    backend = service("backend", replicas=6)
    if error_rate:
        backend["errorRate"] = error_rate
    return scenario(
        [
            service("frontend", replicas=1, workers=8, mean=0.001, calls=[{"service": "backend"}]),
            backend,
        ],
        target="frontend",
        rate=100.0,
        duration=20.0,
        zones=ZONES,
        mesh={},
        routes=[{"destination": "backend", **route}],
    )


def backend_zone_shares(run: Run) -> dict[str, float]:
    return {zone: v["share"] for zone, v in run.service("backend")["zones"].items()}


def test_with_outlier_detection_calls_stay_in_the_callers_zone() -> None:
    run = run_mesh(zoned({"outlierDetection": {}}))
    assert run.service("frontend")["zones"] == {"zone-a": {"share": 1.0}}
    # Both local hosts healthy: priority 0 health min(100, 1.4 x 100) = 100 % -> load 1.
    assert backend_zone_shares(run) == {"zone-a": 1.0, "zone-b": 0.0, "zone-c": 0.0}


@pytest.mark.parametrize(
    "route",
    [{}, {"outlierDetection": {}, "localityLbSetting": {"enabled": False}}],
    ids=["no-outlier-detection", "locality-disabled"],
)
def test_without_locality_failover_calls_spread_over_all_zones(route: dict[str, Any]) -> None:
    run = run_mesh(zoned(route))
    shares = backend_zone_shares(run)
    n = run.service("backend")["attempts"]
    # ~2000 calls over three zones at random: each share 1/3, binomial sd.
    for zone in ZONES:
        assert within(shares[zone], 1 / 3, math.sqrt(2 / 9 / n))


def test_ejecting_every_local_host_fails_over_to_the_other_zones() -> None:
    # Both zone-a backends answer 503 from 0.5 s on; maxEjectionPercent 100 lets the
    # frontend's proxy eject both within a fraction of a second (in the warm-up), and
    # 60 s base ejection keeps them out for the whole run: priority 0 has no healthy
    # host and priority 1 takes all the load.
    run = run_mesh(
        zoned(
            {"outlierDetection": {"maxEjectionPercent": 100, "baseEjectionTime": "60s"}},
            error_rate=1e-12,
        ),
        broken=("backend", lambda pod: pod.zone == "zone-a"),
    )
    shares = backend_zone_shares(run)
    assert shares["zone-a"] == 0.0
    assert shares["zone-b"] + shares["zone-c"] == pytest.approx(1.0)
    assert run.requests["failed"] == 0


# --- 5. connection pools -------------------------------------------------------------


def pooled(
    concurrency: int,
    *,
    rate: float,
    idle: str | None = None,
    per_connection: int | None = None,
) -> Run:
    # Two frontend pods calling four backend pods; constant arrivals and constant,
    # short service times (1 ms + 5 ms) so two requests never overlap: each worker
    # thread's pool to a host needs exactly one connection.
    http: dict[str, Any] = {}
    if idle is not None:
        http["idleTimeout"] = idle
    if per_connection is not None:
        http["maxRequestsPerConnection"] = per_connection
    route: dict[str, Any] = {"destination": "backend"}
    if http:
        route["connectionPool"] = {"http": http}
    doc = scenario(
        [
            service("frontend", mean=0.001, calls=[{"service": "backend"}]),
            service("backend", replicas=4, mean=0.005),
        ],
        target="frontend",
        rate=rate,
        arrivals="constant",
        duration=120.0,
        warmup=60.0,
        mesh={"concurrency": concurrency},
        routes=[route],
    )
    return run_mesh(doc)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_worker_thread_keeps_one_connection_per_host(concurrency: int) -> None:
    run = pooled(concurrency, rate=10.0)
    last_backend = run.series("backend")[-1]
    last_frontend = run.series("frontend")[-1]
    c = concurrency
    # 600 requests in the warm-up alone, over at most 2 x 4 x 4 = 32 (frontend worker,
    # backend host) pairs at random: every pair has been used (missing one: < 1e-7).
    # Backend sidecar: 2 frontends x C downstream + 1 connection to its app.
    assert last_backend["sidecar_connections"] == 2 * c + 1
    assert last_backend["app_connections"] == 1
    # Frontend sidecar: 3 gateways x C downstream + C x 4 hosts upstream + 1 to its app.
    assert last_frontend["sidecar_connections"] == 3 * c + 4 * c + 1
    # With the 1 h idle timeout nothing closes, so none is opened once all exist.
    assert run.service("backend")["connects_per_s"]["sidecar"] == 0.0


def test_short_idle_timeout_closes_connections_between_sparse_requests() -> None:
    # One request every 2 s: with idleTimeout 1 s every call finds its connection
    # closed and opens a new one, on the client side and at the backend's app.
    short = pooled(4, rate=0.5, idle="1s")
    backend = short.service("backend")
    assert backend["connects_per_s"]["sidecar"] == pytest.approx(0.5, abs=2 / 120)
    assert backend["connects_per_s"]["app"] == pytest.approx(0.5, abs=2 / 120)
    # Each connection lives ~1 s of every 2 s (1 of 4 backends): the mean is small.
    assert backend["connections"]["sidecar"]["mean"] < 1.0
    assert short.series("backend")[-1]["sidecar_connections"] == 0.0
    # The 1 h default keeps them: at most one connect per (worker, host) pair in all,
    # 2 x 4 x 4 = 32 pairs, and ~30 requests of warm-up already opened some.
    long = pooled(4, rate=0.5)
    assert long.service("backend")["connects_per_s"]["sidecar"] * 120.0 <= 32
    assert long.service("backend")["connections"]["sidecar"]["mean"] > 2.0


def test_max_requests_per_connection_one_turns_keep_alive_off() -> None:
    run = pooled(2, rate=10.0, per_connection=1)
    # Every call to the backend opens a connection: 10 per second.
    assert run.service("backend")["connects_per_s"]["sidecar"] == pytest.approx(10.0, abs=0.1)


def concurrent_calls(policy: str) -> Run:
    # 200/s, backend 100 ms constant: ~20 calls in flight, ~10 per backend pod.
    doc = scenario(
        [
            service("frontend", workers=64, mean=0.001, calls=[{"service": "backend"}]),
            service("backend", workers=64, mean=0.1),
        ],
        target="frontend",
        rate=200.0,
        duration=20.0,
        warmup=10.0,
        mesh={},
        routes=[
            {"destination": "backend", "connectionPool": {"http": {"h2UpgradePolicy": policy}}}
        ],
    )
    return run_mesh(doc)


def test_http2_multiplexes_calls_on_one_connection_per_worker_and_host() -> None:
    run = concurrent_calls("UPGRADE")
    last = run.series("backend")[-1]
    # HTTP/2: 2 frontend proxies x 2 workers, one connection each, whatever the load.
    assert last["sidecar_connections"] - last["app_connections"] == 4


def test_http1_needs_a_connection_per_concurrent_call() -> None:
    run = concurrent_calls("DEFAULT")
    last = run.series("backend")[-1]
    # HTTP/1.1: one request per connection, so at least the peak of ~10 concurrent
    # calls per backend pod, spread over the 4 (proxy, worker) pools.
    assert last["sidecar_connections"] - last["app_connections"] >= 12
    # The sidecar-to-app pool is HTTP/1.1 in both cases: ~10 concurrent requests.
    assert last["app_connections"] >= 8


# --- 6. connections left open by a client that exits -----------------------------------


def released(share: float, idle: str | None = None) -> tuple[Run, int]:
    """Release the frontend at 30 s; returns the run and the upstream connections the
    old frontend proxies held when their pods went away."""
    route: dict[str, Any] = {"destination": "backend"}
    if idle is not None:
        route["connectionPool"] = {"http": {"idleTimeout": idle}}
    doc = scenario(
        [
            service(
                "frontend",
                mean=0.001,
                calls=[{"service": "backend"}],
                sidecar={"unclosedConnectionsOnExit": share},
            ),
            service("backend", mean=0.005),
        ],
        target="frontend",
        rate=20.0,
        duration=90.0,
        warmup=0.0,
        mesh={},
        routes=[route],
        events=[{"at": 30, "action": "release", "service": "frontend"}],
    )
    simulation = Simulation(load_scenario(doc))
    assert simulation.mesh is not None
    mesh = simulation.mesh
    held: list[int] = []
    remove = mesh.pod_removed

    def removing(pod: Any) -> None:
        proxy = mesh.proxy_of(pod)
        if proxy is not None and pod.service_name == "frontend":
            held.append(
                sum(
                    1
                    for cluster in proxy.clusters.values()
                    for pools in cluster.pools.values()
                    for pool in pools
                    if pool is not None
                    for connection in pool.live
                    if not connection.stale
                )
            )
        remove(pod)

    mesh.pod_removed = removing  # type: ignore[method-assign]
    result = simulation.run()
    run = Run(result.summary, result.series["services"], [], simulation)
    return run, sum(held)


def backend_downstream(run: Run) -> int:
    assert run.simulation.mesh is not None
    return sum(proxy.downstream for proxy in run.simulation.mesh.proxies["backend"])


def test_unclosed_connections_of_an_exiting_client_stay_on_the_server() -> None:
    leaky, orphans = released(1.0)
    clean, _ = released(0.0)
    assert leaky.summary["events_by_kind"]["pod_deleted"] == 2
    assert orphans >= 4  # 2 old pods, each with connections to both backends
    # The runs are identical but for the orphans (their draws use a stream of their
    # own), and with the 1 h idle timeout the backend keeps every orphan to the end.
    assert backend_downstream(leaky) - backend_downstream(clean) == orphans
    # In the series (a mean over the 2 backend pods): before the release the two runs
    # agree; after it the leaky backend's sidecars hold the orphans on top.
    for t in (29.0, 60.0, 90.0):
        leaky_row, clean_row = leaky.row_at("backend", t), clean.row_at("backend", t)
        extra = leaky_row["sidecar_connections"] - clean_row["sidecar_connections"]
        assert extra * 2 == (0 if t < 30 else orphans)
    assert (
        leaky.service("backend")["memory_bytes"]["sidecar"]["end"]
        > clean.service("backend")["memory_bytes"]["sidecar"]["end"]
    )


def test_the_server_idle_timeout_eventually_drops_orphaned_connections() -> None:
    # idleTimeout 20 s also applies to the backend's own sidecar: orphans from the
    # release (pods gone by ~32 s) are dropped by ~52 s.
    leaky, orphans = released(1.0, idle="20s")
    clean, _ = released(0.0, idle="20s")
    assert orphans > 0
    assert backend_downstream(leaky) == backend_downstream(clean)
    assert (
        leaky.row_at("backend", 40.0)["sidecar_connections"]
        > (clean.row_at("backend", 40.0)["sidecar_connections"])
    )


# --- 7. the sidecar's memory limit -----------------------------------------------------


def memory_bound(limit: str | None) -> Run:
    # ~20 concurrent HTTP/1.1 calls (see concurrent_calls) hold ~50 connections per
    # backend sidecar: 20 MiB + 50 x 32 KiB + 4 endpoints x 16 KiB ~ 21.6 MiB.
    sidecar: dict[str, Any] = {}
    if limit is not None:
        sidecar = {"resources": {"limits": {"memory": limit}}}
    doc = scenario(
        [
            service("frontend", workers=64, mean=0.001, calls=[{"service": "backend"}]),
            service("backend", workers=64, mean=0.1, sidecar=sidecar),
        ],
        target="frontend",
        rate=200.0,
        duration=30.0,
        warmup=5.0,
        mesh={},
    )
    return run_mesh(doc)


def test_sidecar_over_its_memory_limit_is_oom_killed_and_the_pod_turns_unready() -> None:
    run = memory_bound("21Mi")
    backend = run.service("backend")
    assert backend["restarts"]["sidecar"] > 0
    assert run.summary["events_by_kind"]["sidecar_restart"] == backend["restarts"]["sidecar"]
    assert backend["restarts"]["app"] == 0  # the app container keeps running
    assert backend["readiness"]["transitions"] > 0
    # The kill comes at the open that would exceed the limit, so samples never do.
    assert backend["memory_bytes"]["sidecar"]["max"] <= 21 * MiB
    assert min(row["ready_pods"] for row in run.series("backend")) < 2
    assert run.requests["failed"] > 0


def test_without_a_tight_limit_the_sidecar_is_never_restarted() -> None:
    run = memory_bound(None)  # Istio's default limit, 1 GiB
    backend = run.service("backend")
    assert backend["restarts"]["sidecar"] == 0
    assert run.summary["events_by_kind"]["sidecar_restart"] == 0
    assert backend["readiness"]["transitions"] == 0
    # The same traffic would have crossed the 21 MiB limit of the previous test.
    assert backend["memory_bytes"]["sidecar"]["max"] > 21 * MiB
    assert run.requests["failed"] == 0


def test_nothing_connects_to_a_sidecar_while_it_restarts(monkeypatch: Any) -> None:
    # After an OOM kill "nothing listens on the pod until Envoy is back": a client's
    # connect to it fails (Envoy's connect failure, 503 UF), so no connection may be
    # opened on a proxy that is down -- neither from a client (downstream) nor from the
    # proxy to its own app (it forwards nothing) -- and it comes back with none.
    opened_while_down = {"downstream": 0, "app": 0}
    back_with: list[int] = []
    downstream_opened = SidecarProxy.downstream_opened
    connection_opened = SidecarProxy.connection_opened
    listening = SidecarProxy._listening

    def counting_downstream(self: SidecarProxy) -> None:
        if not self.up:
            opened_while_down["downstream"] += 1
        downstream_opened(self)

    def counting_app(self: SidecarProxy, connection: Any) -> None:
        if not self.up:
            opened_while_down["app"] += 1
        connection_opened(self, connection)

    def checking(self: SidecarProxy, epoch: int) -> None:
        if epoch == self.epoch:
            back_with.append(self.connections)
        listening(self, epoch)

    monkeypatch.setattr(SidecarProxy, "downstream_opened", counting_downstream)
    monkeypatch.setattr(SidecarProxy, "connection_opened", counting_app)
    monkeypatch.setattr(SidecarProxy, "_listening", checking)
    memory_bound("21Mi")
    assert back_with, "expected at least one restart"
    assert opened_while_down == {"downstream": 0, "app": 0}
    assert back_with == [0] * len(back_with)


# --- 8. circuit breakers -------------------------------------------------------------


def breaker_run(route: dict[str, Any], error_rate: float = 0.0) -> Run:
    # One gateway (one cluster, one set of breakers); ~5 requests in flight (100/s x
    # 50 ms) over four pods with 16 workers each.
    doc = scenario(
        [service("app", replicas=4, workers=16, mean=0.05, errorRate=error_rate)],
        target="app",
        rate=100.0,
        mesh={"ingressGateway": {"replicas": 1}},
        routes=[{"destination": "app", "loadBalancer": "RANDOM", **route}],
    )
    return run_mesh(doc)


def test_http2_max_requests_rejects_requests_beyond_the_limit() -> None:
    run = breaker_run({"connectionPool": {"http": {"http2MaxRequests": 2}}})
    app = run.service("app")
    # With ~5 in flight on average, a limit of 2 refuses most requests.
    assert app["overflows"] > 0
    assert run.requests["rejected"] == app["overflows"]
    assert run.requests["failed"] == run.requests["rejected"]
    # Never more than 2 requests at the app at once, so never more than 2 connections.
    assert app["connections"]["app"]["max"] <= 2
    assert app["in_flight_mean"] <= 2.0


def test_without_limits_nothing_overflows() -> None:
    run = breaker_run({})
    assert run.service("app")["overflows"] == 0
    assert run.requests["failed"] == 0


def test_retry_budget_limits_concurrent_retries() -> None:
    # Half of all tries fail: without a budget each failed try is retried (twice at
    # most), with a budget of 10 % of the active requests (at least 1) most are not.
    free = breaker_run({"retries": {"attempts": 2}}, error_rate=0.5)
    budget = {"budgetPercent": 10, "minRetryConcurrency": 1}
    limited = breaker_run({"retries": {"attempts": 2, "retryBudget": budget}}, error_rate=0.5)
    n = free.requests["total"]
    # Retries per request: 0, 1, 2 w.p. 0.5, 0.25, 0.25: mean 0.75, variance 0.6875.
    assert within(free.summary["retries"], 0.75 * n, math.sqrt(0.6875 * n))
    assert free.service("app")["overflows"] == 0
    assert limited.summary["retries"] < 0.6 * free.summary["retries"]
    assert limited.service("app")["overflows"] > 0  # the retries refused
    assert limited.requests["failed"] > 2 * free.requests["failed"]


def test_max_retries_zero_refuses_every_retry() -> None:
    run = breaker_run(
        {"retries": {"attempts": 2}, "connectionPool": {"http": {"maxRetries": 0}}},
        error_rate=0.5,
    )
    assert run.summary["retries"] == 0
    # Every failed first try wanted a retry and overflowed instead.
    assert run.service("app")["overflows"] == run.requests["failed"] > 0


# --- 9. route and per-try timeouts -----------------------------------------------------


def slow_app(route: dict[str, Any]) -> Run:
    # Exponential service times, mean 50 ms, 16 workers per pod: no queueing, a try
    # takes over 100 ms with probability e^-2 = 0.135.
    doc = scenario(
        [service("app", replicas=4, workers=16, mean=0.05, distribution="exponential")],
        target="app",
        rate=100.0,
        mesh={},
        routes=[{"destination": "app", "loadBalancer": "RANDOM", **route}],
    )
    return run_mesh(doc)


P_SLOW = math.exp(-2.0)


def test_route_timeout_bounds_client_latency() -> None:
    run = slow_app({"timeout": "100ms"})
    n = run.requests["total"]
    assert within(run.requests["timed_out"], P_SLOW * n, math.sqrt(P_SLOW * n))
    assert run.requests["failed"] == run.requests["timed_out"]
    assert run.summary["latency_ms"]["max"] <= 100.0
    # Each timed-out HTTP/1.1 request is reset: its connection closes, and the next
    # request opens a new one.
    assert run.service("app")["connects_per_s"]["sidecar"] > 0.5 * P_SLOW * 100.0


def test_without_a_route_timeout_slow_requests_complete() -> None:
    run = slow_app({})
    assert run.requests["timed_out"] == 0
    assert run.requests["failed"] == 0
    assert run.summary["latency_ms"]["max"] > 200.0  # the tail of the exponential


def test_per_try_timeout_is_retried_under_5xx() -> None:
    retries = {"attempts": 2, "perTryTimeout": "100ms", "retryOn": "5xx"}
    run = slow_app({"retries": retries})
    n = run.requests["total"]
    p = P_SLOW
    # Retries per request: 1 w.p. p(1-p), 2 w.p. p^2; it fails when all 3 tries are slow.
    mean, square = p * (1 - p) + 2 * p * p, p * (1 - p) + 4 * p * p
    assert within(run.summary["retries"], mean * n, math.sqrt((square - mean**2) * n))
    assert within(run.requests["timed_out"], p**3 * n, math.sqrt(p**3 * n))
    # Three tries of at most 100 ms plus back-offs below 25 ms and 75 ms.
    assert run.summary["latency_ms"]["max"] <= 400.0


def test_per_try_timeout_is_not_retried_under_istios_default_retry_on() -> None:
    # Istio's default conditions retry 503 and connect failures, not timeouts.
    run = slow_app({"retries": {"attempts": 2, "perTryTimeout": "100ms"}})
    n = run.requests["total"]
    assert run.summary["retries"] == 0
    assert within(run.requests["timed_out"], P_SLOW * n, math.sqrt(P_SLOW * n))


# --- 10. calls between services --------------------------------------------------------


def calling(
    mode: str,
    *,
    mesh: dict[str, Any] | None,
    after: float | None = None,
    backend_mean: float = 0.05,
    error_rate: float = 0.0,
    rate: float = 20.0,
    routes: list[dict[str, Any]] | None = None,
) -> Run:
    # The frontend (1 ms of work) makes 3 calls to a constant-time backend; enough
    # workers everywhere that nothing queues.
    frontend = service(
        "frontend",
        workers=32,
        mean=0.001,
        calls=[{"service": "backend", "count": 3}],
        callMode=mode,
    )
    if after is not None:
        frontend["serviceTimeAfterCalls"] = {"distribution": "constant", "mean": after}
    backend = service("backend", workers=32, mean=backend_mean, errorRate=error_rate)
    doc = scenario([frontend, backend], target="frontend", rate=rate, mesh=mesh, routes=routes)
    return run_mesh(doc)


@pytest.mark.parametrize("mesh", [{}, None], ids=["mesh", "no-mesh"])
def test_sequential_calls_take_three_times_as_long_as_parallel_ones(
    mesh: dict[str, Any] | None,
) -> None:
    sequential = calling("sequential", mesh=mesh)
    parallel = calling("parallel", mesh=mesh)
    # 1 ms + 3 x 50 ms against 1 ms + 50 ms (+ ~1 ms connection set-up now and then).
    seq = sequential.service("frontend")["latency_ms"]["mean"]
    par = parallel.service("frontend")["latency_ms"]["mean"]
    assert seq == pytest.approx(151.0, abs=1.5)
    assert par == pytest.approx(51.0, abs=1.5)
    assert seq / par == pytest.approx(3.0, abs=0.1)
    # Each request calls the backend three times. At each edge of the window ~3
    # requests are in flight (20/s x 0.15 s; Poisson, rarely over 8) whose calls fall
    # partly outside it: up to 3 x 8 calls either way.
    assert sequential.service("backend")["attempts"] == pytest.approx(
        3 * sequential.service("frontend")["attempts"], abs=24
    )


def test_service_time_after_calls_adds_to_the_callers_latency() -> None:
    run = calling("sequential", mesh={}, after=0.02)
    assert run.service("frontend")["latency_ms"]["mean"] == pytest.approx(171.0, abs=1.5)
    assert run.summary["latency_ms"]["mean"] == pytest.approx(171.0, abs=1.5)


NO_RETRIES = [
    {"destination": "backend", "retries": {"attempts": 0}},
    {"destination": "frontend", "retries": {"attempts": 0}},
]


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_a_failing_call_fails_the_callers_request(mode: str) -> None:
    run = calling(mode, mesh={}, backend_mean=0.01, error_rate=0.3, rate=100.0, routes=NO_RETRIES)
    n = run.requests["total"]
    # Without retries a request succeeds only when its 3 calls do: 0.7^3 = 0.343.
    p_fail = 1 - 0.7**3
    assert within(run.requests["errored"], p_fail * n, math.sqrt(p_fail * (1 - p_fail) * n))
    assert run.requests["failed"] == run.requests["errored"]
    if mode == "sequential":
        # A failed call ends the request: 1, 2 or 3 calls w.p. 0.3, 0.21, 0.49, mean
        # 2.19, variance 5.55 - 2.19^2 = 0.754.
        calls = run.service("backend")["attempts"]
        assert within(calls, 2.19 * n, math.sqrt(0.754 * n))


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_a_request_failed_by_its_call_counts_as_failed_at_the_caller(mode: str) -> None:
    # The frontend's app answers 503 for every request whose call failed: its own
    # figures must show those answers as failed, not succeeded.
    run = calling(mode, mesh={}, backend_mean=0.01, error_rate=0.3, rate=100.0, routes=NO_RETRIES)
    frontend = run.service("frontend")
    # Window edges: a request may arrive in the window and be answered after it.
    assert frontend["failed"] == pytest.approx(run.requests["errored"], abs=5)
    assert frontend["succeeded"] == pytest.approx(run.requests["succeeded"], abs=5)


def test_parallel_calls_are_all_sent_even_when_one_fails_at_once() -> None:
    # Fan-out sends the 3 calls at the same instant, before any answer: a call that
    # fails at once (a 503 from the backend's error draw) cannot recall the others.
    run = calling(
        "parallel", mesh={}, backend_mean=0.01, error_rate=0.3, rate=100.0, routes=NO_RETRIES
    )
    calls = run.service("backend")["attempts"]
    requests = run.service("frontend")["attempts"]
    # Window edges: ~1 request in flight (100/s x 11 ms), 3 calls each.
    assert calls == pytest.approx(3 * requests, abs=15)
