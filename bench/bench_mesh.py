"""Benchmark: the cost of the service mesh on fleetsim's hot path, against SimPy.

The fleet is ``bench_simpy.py``'s (the ``quickstart`` baseline without client timeout
and retries): 64 pods x 4 workers, exponential service times with mean 10 ms, Poisson
arrivals at 17,920 requests/s (rho = 0.7), 60 s measured after 10 s of warm-up, about
1.25 million requests per run. Three simulations of it run in one process, round after
round (``--repeat`` rounds, seeds 7, 8, 9, ...):

(a) SimPy: ``bench_simpy.run_simpy``, the hand-written model (RANDOM balancing);
(b) fleetsim, the foundation: the same scenario as ``bench_simpy.py`` (no mesh, RANDOM);
(c) fleetsim in a mesh: the same scenario with ``spec.mesh: {}`` (an Envoy sidecar in
    every pod, external traffic entering through the 3-replica ingress gateway) and the
    route's ``loadBalancer: LEAST_REQUEST`` (power of two choices, Istio's default) with
    ``retries: {attempts: 0}`` (Istio's default 2 retries off), so that each request is
    still one try and the work per request stays comparable.

Why: (b)/(a) is the foundation's speed-up over an ordinary SimPy model (the figure of
``bench_simpy.py``); (c)/(b) is what the mesh layer (gateway proxy, P2C pick, per-worker
connection pool, the pod sidecar's pool to its app, idle timers) costs per request on
the hot path; (c)/(a) says whether a meshed fleet is still faster than plain SimPy.

Wall time is ``time.perf_counter`` around each whole run (for fleetsim: scenario
loading, simulation and summary; fleetsim's modules are imported by a short untimed run
first). Throughput is simulated requests per wall second (requests in the measured
window scaled to warm-up + measured time, the same way for all three).
Ratios are taken per round, then the median over rounds; on a noisy machine they are
the figures to read, not the absolute rates. The same ratios are also given from the
process's CPU time (``time.process_time``), which other processes on a shared machine
disturb less than wall time. The table also gives the engine events per request of (b)
and (c): the mesh adds Python work per event, not events.

It exits 1 if (b) or (c) did not simulate the fleet (pod count, utilisation and
throughput within 2 %), if the mean latencies of (a) and (b) differ by more than 5 %,
if the mesh run failed, retried or overflowed any request, or if its mean latency is
above the M/M/4 value of RANDOM balancing (P2C must not do worse than random).

Run from the repository root:  ``python bench/bench_mesh.py [--repeat 3] [--quick]``
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

import fleetsim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simpy import (
    MAX_MEAN_DISAGREEMENT,
    MEAN_SERVICE_S,
    MEASURED_S,
    PODS,
    RATE_PER_S,
    REPO,
    WARMUP_S,
    WORKERS,
    check_fleet,
    fleetsim_scenario,
    run_simpy,
)

from tests.queueing import mmc_mean_sojourn  # bench_simpy put the repository on the path

QUICK_MEASURED_S = 10.0
QUICK_WARMUP_S = 2.0
MESH_LOAD_BALANCER = "LEAST_REQUEST"


@dataclass(frozen=True)
class Run:
    """One simulator run: wall and CPU seconds, measured requests, mean latency, events."""

    wall_s: float
    cpu_s: float  # this process's CPU time (time.process_time) over the run
    measured_requests: int
    mean_latency_ms: float
    events: int | None = None  # fleetsim only: the engine's events over the whole run


def mesh_scenario(foundation: dict[str, Any], load_balancer: str) -> dict[str, Any]:
    """The foundation scenario in an Istio mesh: sidecars, ingress gateway, no retries."""
    scenario = copy.deepcopy(foundation)
    spec = scenario["spec"]
    spec["mesh"] = {}
    routes = spec.setdefault("routes", [])
    targets = {traffic["target"] for traffic in spec["traffic"]}
    for target in sorted(targets - {route["destination"] for route in routes}):
        routes.append({"destination": target})
    for route in routes:
        route["loadBalancer"] = load_balancer
        route["retries"] = {"attempts": 0}
    return scenario


def run_fleetsim(scenario: dict[str, Any], seed: int) -> tuple[Run, dict[str, Any]]:
    """Run the baseline of ``scenario``; returns timings and the summary."""
    cpu = time.process_time()
    start = time.perf_counter()
    result = fleetsim.run(copy.deepcopy(scenario), variant=None, seed=seed)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    summary: dict[str, Any] = result.summary
    run = Run(
        wall,
        cpu,
        int(summary["requests"]["succeeded"]),
        float(summary["latency_ms"]["mean"]),
        int(summary["events"]),
    )
    return run, summary


def check_mesh(summary: dict[str, Any], measured_s: float) -> list[str]:
    """Problems of the mesh run: not the fleet, or requests that did not simply succeed."""
    problems = check_fleet(summary, measured_s)
    requests = summary["requests"]
    for key in ("failed", "timed_out", "rejected", "errored", "unavailable"):
        if requests.get(key, 0):
            problems.append(f"{requests[key]} requests {key}")
    if summary.get("retries", 0):
        problems.append(f"{summary['retries']} retries (expected none: attempts 0)")
    for name, service in summary.get("services", {}).items():
        if service.get("overflows", 0):
            problems.append(f"{service['overflows']} circuit-breaker overflows at {name}")
        if service.get("restarts", {}).get("sidecar", 0):
            problems.append(f"{service['restarts']['sidecar']} sidecar restarts at {name}")
        if service.get("ejections", 0):
            problems.append(f"{service['ejections']} outlier ejections at {name}")
    if "connections" not in next(iter(summary.get("services", {}).values()), {}):
        problems.append("no proxy figures in the summary: was the mesh on?")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (a), (b), (c)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"short run: {QUICK_MEASURED_S:g} s measured + {QUICK_WARMUP_S:g} s warm-up",
    )
    parser.add_argument("--measured", type=float, default=None, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "quickstart.yaml")
    parser.add_argument(
        "--mesh-load-balancer",
        default=MESH_LOAD_BALANCER,
        choices=["LEAST_REQUEST", "RANDOM", "ROUND_ROBIN"],
        help="the mesh route's loadBalancer (default LEAST_REQUEST, Istio's)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    measured: float = args.measured
    if measured is None:
        measured = QUICK_MEASURED_S if args.quick else MEASURED_S
    warmup: float = args.warmup
    if warmup is None:
        warmup = QUICK_WARMUP_S if args.quick else WARMUP_S
    total_s = measured + warmup

    foundation, source = fleetsim_scenario(args.scenario, measured, warmup)
    meshed = mesh_scenario(foundation, args.mesh_load_balancer)
    lam_pod, mu = RATE_PER_S / PODS, 1.0 / MEAN_SERVICE_S
    theory_ms = 1000.0 * mmc_mean_sojourn(lam_pod, mu, WORKERS)
    print(
        f"fleet: {PODS} pods x {WORKERS} workers, exponential {MEAN_SERVICE_S * 1e3:g} ms, "
        f"Poisson {RATE_PER_S:.0f}/s (rho = {lam_pod / (WORKERS * mu):.2f}); "
        f"{measured:g} s measured + {warmup:g} s warm-up"
    )
    print(f"(a) SimPy {simpy.__version__}, hand-written model, RANDOM")
    print(f"(b) fleetsim {fleetsim.__version__}: {source}, RANDOM")
    print(
        f"(c) fleetsim, same with mesh: {{}} (sidecars, ingress gateway), "
        f"{args.mesh_load_balancer}, retries: {{attempts: 0}}"
    )
    print(
        f"Python {sys.version.split()[0]}; M/M/{WORKERS} theory (RANDOM): "
        f"mean latency {theory_ms:.3f} ms"
    )
    print()

    def rate(run: Run, cpu: bool = False) -> float:
        # Requests simulated over warm-up + measured time, estimated from the measured
        # window's count the same way for all three, per wall (or CPU) second.
        return run.measured_requests * total_s / measured / (run.cpu_s if cpu else run.wall_s)

    # fleetsim.run imports the loader and the simulation (mesh included) on first use;
    # a short untimed run of each scenario keeps that out of round 1's (b).
    for scenario in (foundation, meshed):
        primer = copy.deepcopy(scenario)
        primer["spec"].update(duration=0.1, warmup=0.0)
        primer["spec"].setdefault("metrics", {})["interval"] = 0.1
        fleetsim.run(primer, variant=None, seed=args.seed)

    runs: dict[str, list[Run]] = {"a": [], "b": [], "c": []}
    problems: list[str] = []
    mesh_summary: dict[str, Any] = {}
    for rnd in range(args.repeat):
        seed = args.seed + rnd
        cpu = time.process_time()
        simpy_run = run_simpy(seed, measured, warmup)
        cpu = time.process_time() - cpu
        sp = Run(simpy_run.wall_s, cpu, simpy_run.measured_requests, simpy_run.mean_latency_ms)
        fs, fs_summary = run_fleetsim(foundation, seed)
        ms, mesh_summary = run_fleetsim(meshed, seed)
        if rnd == 0:
            problems += [f"(b) {p}" for p in check_fleet(fs_summary, measured)]
        problems += [f"(c) seed {seed}: {p}" for p in check_mesh(mesh_summary, measured)]
        if ms.mean_latency_ms > (1.0 + MAX_MEAN_DISAGREEMENT) * theory_ms:
            problems.append(
                f"(c) seed {seed}: mean latency {ms.mean_latency_ms:.3f} ms above the "
                f"M/M/{WORKERS} value of RANDOM balancing ({theory_ms:.3f} ms)"
            )
        runs["a"].append(sp)
        runs["b"].append(fs)
        runs["c"].append(ms)
        print(
            f"round {rnd + 1}/{args.repeat} (seed {seed}): "
            f"(a) {sp.wall_s:6.2f} s {sp.mean_latency_ms:.2f} ms | "
            f"(b) {fs.wall_s:6.2f} s {fs.mean_latency_ms:.2f} ms | "
            f"(c) {ms.wall_s:6.2f} s {ms.mean_latency_ms:.2f} ms | "
            f"b/a {rate(fs) / rate(sp):.2f}x c/a {rate(ms) / rate(sp):.2f}x "
            f"c/b {rate(ms) / rate(fs):.2f}x",
            flush=True,
        )

    def median_ratio(num: str, den: str, cpu: bool = False) -> float:
        # Throughput ratio num/den per round (same simulated work), median over rounds.
        return float(
            statistics.median(
                [rate(n, cpu) / rate(d, cpu) for n, d in zip(runs[num], runs[den], strict=True)]
            )
        )

    def events_per_request(key: str) -> float:
        return statistics.fmean(
            [
                r.events / (r.measured_requests * total_s / measured)
                for r in runs[key]
                if r.events is not None
            ]
        )

    rates = {key: float(statistics.median([rate(r) for r in runs[key]])) for key in "abc"}
    walls = {key: statistics.median([r.wall_s for r in runs[key]]) for key in "abc"}
    cpus = {key: statistics.median([r.cpu_s for r in runs[key]]) for key in "abc"}
    means = {key: statistics.fmean([r.mean_latency_ms for r in runs[key]]) for key in "abc"}
    ratios = {pair: median_ratio(*pair) for pair in (("b", "a"), ("c", "a"), ("c", "b"))}
    cpu_ratios = {pair: median_ratio(*pair, cpu=True) for pair in ratios}
    ba, ca, cb = ratios.values()
    labels = {
        "a": "(a) SimPy, RANDOM",
        "b": "(b) fleetsim, no mesh, RANDOM",
        "c": f"(c) fleetsim, mesh, {args.mesh_load_balancer}",
    }
    names = {
        ("b", "a"): "(b)/(a) foundation vs SimPy",
        ("c", "a"): "(c)/(a) mesh vs SimPy",
        ("c", "b"): "(c)/(b) mesh vs foundation",
    }

    print()
    print(f"median of {args.repeat}, {measured:g}+{warmup:g} s simulated:")
    print(
        f"{'':34} {'wall s':>7} {'CPU s':>7} {'req/s of wall':>14} {'events/req':>11} "
        f"{'mean ms':>8}"
    )
    for key in "abc":
        epr = f"{events_per_request(key):.2f}" if key != "a" else "-"
        print(
            f"{labels[key]:34} {walls[key]:7.2f} {cpus[key]:7.2f} {rates[key]:14,.0f} "
            f"{epr:>11} {means[key]:8.3f}"
        )
    print(f"{'throughput ratio':34} {'wall':>7} {'CPU':>7}")
    for pair, name in names.items():
        print(f"{name:34} {ratios[pair]:6.2f}x {cpu_ratios[pair]:6.2f}x")
    print(f"the mesh costs {1 / cb:.2f}x the foundation's wall time per request")
    if mesh_summary:
        (service,) = mesh_summary["services"].values()
        print(
            f"mesh run (last round): {mesh_summary['requests']['succeeded']:,} succeeded, "
            f"{mesh_summary['requests']['failed']} failed, {mesh_summary['retries']} retries; "
            f"sidecar connections mean {service['connections']['sidecar']['mean']:.1f}, "
            f"connects/s {service['connects_per_s']['sidecar']}; "
            f"share max/mean {service['pods']['share_max_over_mean']:.3f}"
        )
    print(
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho 0.7, {measured:g}+{warmup:g} s "
        f"simulated, median of {args.repeat}: SimPy {rates['a'] / 1000:.0f}k req/s, "
        f"fleetsim {rates['b'] / 1000:.0f}k, fleetsim+mesh ({args.mesh_load_balancer}) "
        f"{rates['c'] / 1000:.0f}k -> (b)/(a) {ba:.2f}x, (c)/(a) {ca:.2f}x, (c)/(b) {cb:.2f}x; "
        f"events/request {events_per_request('b'):.2f} vs {events_per_request('c'):.2f}; "
        f"mean latency {means['a']:.2f} / {means['b']:.2f} / {means['c']:.2f} ms"
    )

    status = 0
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
        status = 1
    disagreement = abs(means["b"] - means["a"]) / means["a"]
    if disagreement > MAX_MEAN_DISAGREEMENT:
        print(
            f"ERROR: mean latencies of (a) and (b) differ by {100 * disagreement:.2f} % "
            f"(> {100 * MAX_MEAN_DISAGREEMENT:.0f} %)",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
