"""Benchmark: the cost of the Kubernetes layer on a large fleet over a simulated hour.

The fleet: 300 pods x 4 workers over 3 zones, exponential service times with mean 24 ms,
Poisson arrivals at 30,000 requests/s with a 2 s client timeout (rho = 30,000 x 0.024 /
1,200 = 0.6), LEAST_REQUEST load balancing, metrics every 10 s, one simulated hour with
no warm-up. The Kubernetes blocks: ``resources.requests.cpu`` 1, ``cpuPerRequest`` 6 ms
(100 requests/s per pod x 6 ms = 0.6 core, the HPA's 60 % target), a readiness and a
liveness probe (defaults, ``periodSeconds`` 10) and an HPA (minReplicas 300, maxReplicas
400, target 60 %, sync every 15 s). The HPA thus reads 300 pods every 15 s, finds them on
target, and leaves the count at 300; each pod answers 2 probes every 10 s.

The fleet runs with each build of fleetsim's hot modules, compiled (mypyc) and pure
Python (``FLEETSIM_PURE=1``), each in a fresh child process (``bench/builds.py``),
alternating compiled then pure for ``--rounds`` rounds (``--builds`` picks one); the
script refuses to report (exit 1) if a child did not run the build it was asked for.
In each child the same fleet without the Kubernetes blocks (no probes, no HPA, no CPU
accounting) runs first, with the same seed, for ``--baseline-seconds``; the script
prints both throughputs in simulated requests per wall second and their ratio, for each
build, and the pure/compiled ratio of the wall times.

Wall time is ``time.perf_counter()`` around ``fleetsim.run(dict)`` (scenario loading,
simulation and summary, after a short untimed run that keeps the imports out). Probe
failures are read from the summary's ``events_by_kind`` (``probe_failed``); the probes
run are not counted (the prober's classes are compiled, and a compiled class cannot be
wrapped) but computed from the scenario: pods x 2 probes x simulated seconds / period.
It exits 1 if the fleet simulated is not the one described (throughput or, when the
count stayed at 300, utilisation off by more than 2 %).

Run from the repository root:  ``python bench/bench_kubernetes.py [--quick] [--rounds 1]``
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import builds

import fleetsim
from fleetsim.units import parse_duration

PODS = 300
WORKERS = 4
ZONES = ["zone-a", "zone-b", "zone-c"]
RATE_PER_S = 30_000.0
RHO = 0.6
MEAN_SERVICE_S = RHO * PODS * WORKERS / RATE_PER_S  # 24 ms
CPU_PER_REQUEST = "6ms"  # 0.6 core per pod at 100 req/s: on the HPA's 60 % target
PROBE_PERIOD_S = 10
HPA_MAX = 400
HPA_TARGET = 60
LOAD_BALANCER = "LEAST_REQUEST"
METRICS_INTERVAL = "10s"
DURATION_S = 3600.0
QUICK_S = 60.0
BASELINE_S = 60.0
MAX_DEVIATION = 0.02
K8S_FIELDS = ("resources", "cpuPerRequest", "readinessProbe", "livenessProbe", "hpa")
PROBES_PER_POD = 2  # readiness and liveness
SUMMARY_KEYS = ("requests", "events", "latency_ms", "throughput_rps", "events_by_kind", "services")
"""What a child passes on of the Kubernetes run's summary."""
SCRIPT = Path(__file__).resolve()


def scenario(
    duration_s: float, rate: float, cpu_per_request: str, load_balancer: str, seed: int
) -> dict[str, Any]:
    """The bench fleet with its Kubernetes blocks, as the dict a scenario file would give."""
    return {
        "apiVersion": "fleetsim/v1",
        "kind": "Scenario",
        "metadata": {"name": "bench-kubernetes"},
        "spec": {
            "duration": duration_s,
            "warmup": 0,
            "seed": seed,
            "zones": list(ZONES),
            "services": [
                {
                    "name": "api",
                    "replicas": PODS,
                    "workers": WORKERS,
                    "serviceTime": {"distribution": "exponential", "mean": MEAN_SERVICE_S},
                    "resources": {"requests": {"cpu": "1"}},
                    "cpuPerRequest": cpu_per_request,
                    "readinessProbe": {"periodSeconds": PROBE_PERIOD_S},
                    "livenessProbe": {"periodSeconds": PROBE_PERIOD_S},
                    "hpa": {
                        "minReplicas": PODS,
                        "maxReplicas": HPA_MAX,
                        "targetCPUUtilizationPercentage": HPA_TARGET,
                    },
                }
            ],
            "traffic": [
                {
                    "name": "users",
                    "target": "api",
                    "rate": rate,
                    "arrivals": "poisson",
                    "timeout": "2s",
                }
            ],
            "routes": [{"destination": "api", "loadBalancer": load_balancer}],
            "metrics": {"interval": METRICS_INTERVAL},
        },
    }


def without_kubernetes(document: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """The same fleet with the Kubernetes blocks removed, for ``duration_s``."""
    plain = copy.deepcopy(document)
    plain["spec"]["duration"] = duration_s
    plain["metadata"]["name"] = "bench-kubernetes-baseline"
    for service in plain["spec"]["services"]:
        for field in K8S_FIELDS:
            service.pop(field, None)
    return plain


def timed_run(
    document: dict[str, Any], seed: int, progress: Any = None
) -> tuple[dict[str, Any], float, float]:
    """``fleetsim.run`` on a copy of ``document``; returns the summary, wall and CPU seconds."""
    run = copy.deepcopy(document)
    result, wall, cpu = builds.timed(lambda: fleetsim.run(run, seed=seed, progress=progress))
    summary: dict[str, Any] = result.summary
    return summary, wall, cpu


def progress_printer(every_s: float) -> Any:
    """A progress callback printing simulated time, wall time and events every ``every_s``."""
    started = time.perf_counter()
    next_at = [every_s]

    def progress(done_s: float, total_s: float, events: int) -> None:
        if done_s + 1e-9 < next_at[0] or done_s >= total_s:
            return
        next_at[0] += every_s
        wall = time.perf_counter() - started
        print(
            f"  ... {done_s:6.0f}/{total_s:.0f} s simulated, {wall:7.1f} s wall, {events:,} events",
            flush=True,
        )

    return progress


def check_fleet(summary: Mapping[str, Any], rate: float) -> list[str]:
    """Problems showing that the run was not the bench fleet (empty: fine)."""
    problems: list[str] = []
    service = summary["services"]["api"]
    throughput = float(summary["throughput_rps"])
    if abs(throughput - rate) > MAX_DEVIATION * rate:
        problems.append(f"throughput {throughput:.0f}/s, expected {rate:.0f}/s")
    replicas = service.get("replicas", {"min": PODS, "max": PODS})
    if replicas["min"] == replicas["max"] == PODS:
        rho = rate * MEAN_SERVICE_S / (PODS * WORKERS)
        util = float(service["utilization"])
        if abs(util - rho) > MAX_DEVIATION * rho:
            problems.append(f"utilization {util:.4f}, expected {rho:.4f}")
    return problems


def probes_run(summary: Mapping[str, Any], duration_s: float) -> tuple[float, str]:
    """The probes the kubelets ran, computed from the scenario (each pod's readiness and
    liveness workers tick once a period from a random phase), and how it was computed."""
    replicas = summary["services"]["api"]["replicas"]
    periods = duration_s / PROBE_PERIOD_S
    if replicas["min"] == replicas["max"]:
        pods, which = float(replicas["min"]), f"{replicas['min']} pods"
    else:
        pods, which = float(replicas["mean"]), f"{replicas['mean']:.1f} pods on average"
    probes = pods * PROBES_PER_POD * periods
    how = (
        f"computed, not counted: {which} x {PROBES_PER_POD} probes x {periods:g} periods "
        f"of {PROBE_PERIOD_S} s"
    )
    return probes, how


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=DURATION_S, help="simulated seconds")
    parser.add_argument("--rate", type=float, default=RATE_PER_S, help="requests per second")
    parser.add_argument(
        "--quick", action="store_true", help=f"a smoke run: {QUICK_S:g} s simulated"
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=BASELINE_S,
        help="simulated seconds of the run without the Kubernetes blocks (0: skip it)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of each build")
    parser.add_argument(
        "--cpu-per-request",
        default=CPU_PER_REQUEST,
        help="cpuPerRequest; 6ms puts the pods on the HPA target (10ms: HPA scales to 400)",
    )
    parser.add_argument(
        "--load-balancer", default=LOAD_BALANCER, choices=["LEAST_REQUEST", "RANDOM"]
    )
    args = builds.parse_args(parser, argv, builds.FLEETSIM_BUILDS)
    if args.quick:
        args.duration = QUICK_S
    if args.duration <= 0 or args.rate <= 0 or args.baseline_seconds < 0 or args.rounds < 1:
        parser.error("--duration and --rate must be > 0, --baseline-seconds >= 0, --rounds >= 1")
    return args


def child(args: argparse.Namespace) -> int:
    """The baseline, then the Kubernetes fleet, with the build ``--child`` names; prints
    progress, then the JSON line the parent reads."""
    document = scenario(
        args.duration, args.rate, args.cpu_per_request, args.load_balancer, args.seed
    )
    builds.prime(document, args.seed)
    baseline = None
    if args.baseline_seconds > 0:
        plain = without_kubernetes(document, args.baseline_seconds)
        base_summary, base_wall, base_cpu = timed_run(plain, args.seed)
        baseline = {
            "wall_s": base_wall,
            "cpu_s": base_cpu,
            "requests": int(base_summary["requests"]["total"]),
            "events": int(base_summary["events"]),
        }
        print(
            f"baseline (no probes, no HPA, no CPU), {args.baseline_seconds:g} s simulated: "
            f"{base_wall:.2f} s wall",
            flush=True,
        )
    print(f"kubernetes fleet, {args.duration:g} s simulated:", flush=True)
    progress = progress_printer(max(args.duration / 10, 10))
    summary, wall, cpu = timed_run(document, args.seed, progress)
    figures = builds.summary_figures(summary, SUMMARY_KEYS)
    record = {"wall_s": wall, "cpu_s": cpu, "baseline": baseline, "summary": figures}
    builds.emit(args.child, args.seed, record)
    return 0


def child_arguments(args: argparse.Namespace) -> Callable[[str, int], list[str]]:
    """The options a child needs besides its build and seed."""
    common = ["--duration", repr(args.duration), "--rate", repr(args.rate)]
    common += ["--baseline-seconds", repr(args.baseline_seconds)]
    common += ["--cpu-per-request", args.cpu_per_request, "--load-balancer", args.load_balancer]
    return lambda build, seed: common


def print_header(args: argparse.Namespace) -> None:
    cpu_s = parse_duration(args.cpu_per_request)
    per_pod = args.rate / PODS
    rho = args.rate * MEAN_SERVICE_S / (PODS * WORKERS)
    print(
        f"fleet: {PODS} pods x {WORKERS} workers in {len(ZONES)} zones, exponential "
        f"{MEAN_SERVICE_S * 1e3:g} ms, Poisson {args.rate:,.0f}/s (rho = {rho:.2f}), "
        f"timeout 2 s, {args.load_balancer}, metrics every {METRICS_INTERVAL}; "
        f"seed {args.seed}"
    )
    print(
        f"kubernetes: requests.cpu 1, cpuPerRequest {args.cpu_per_request} "
        f"({per_pod * cpu_s:.2f} core per pod at {per_pod:.0f} req/s), readiness + "
        f"liveness probes every {PROBE_PERIOD_S} s, HPA {PODS}-{HPA_MAX} at {HPA_TARGET} % "
        f"(sync 15 s); {args.duration:g} s simulated, no warm-up"
    )
    print(f"builds, each run in a fresh process: {builds.preflight(args.builds)}")
    print()


def run_line(build: str, rnd: int, seed: int, record: Mapping[str, Any]) -> str:
    """One child's wall time and throughput (and its baseline's)."""
    summary, wall = record["summary"], record["wall_s"]
    requests, events = summary["requests"]["total"], summary["events"]
    line = (
        f"{build}, round {rnd + 1} (seed {seed}): {wall:.2f} s wall, "
        f"{requests / wall:,.0f} simulated requests and {events / wall:,.0f} events per "
        f"wall second"
    )
    base = record["baseline"]
    if base:
        line += (
            f"; without Kubernetes {base['wall_s']:.2f} s wall, "
            f"{base['requests'] / base['wall_s']:,.0f} requests per wall second"
        )
    return line


def print_model(summary: Mapping[str, Any], duration_s: float) -> float:
    """What the fleet did (the same for every build); returns the probes run (computed)."""
    service = summary["services"]["api"]
    replicas, readiness = service["replicas"], service["readiness"]
    hpa = service.get("hpa", {})
    kinds = summary["events_by_kind"]
    probes, how = probes_run(summary, duration_s)
    print(
        f"simulated requests: {summary['requests']['total']:,} "
        f"({summary['requests']['succeeded']:,} succeeded, "
        f"{summary['requests']['timed_out']:,} timed out); engine events {summary['events']:,}"
    )
    print(
        f"mean latency {summary['latency_ms']['mean']:.3f} ms, utilization "
        f"{service['utilization']:.4f}"
    )
    print(
        f"replicas: min {replicas['min']}, max {replicas['max']}, mean {replicas['mean']:.1f}, "
        f"final {replicas['final']}, scale-ups {replicas['scale_ups']}, scale-downs "
        f"{replicas['scale_downs']}; HPA syncs {hpa.get('syncs')}, last utilization "
        f"{hpa.get('last_utilization_percent')} %"
    )
    print(f"readiness transitions: {readiness['transitions']}")
    print(f"probes run: {probes:,.0f} ({how})")
    print(f"probe failures (events_by_kind probe_failed): {kinds.get('probe_failed', 0):,}")
    print(
        "events_by_kind: "
        + ", ".join(f"{kind} {count}" for kind, count in kinds.items())
        + ("" if "probe_failed" in kinds else ", probe_failed 0")
    )
    return probes


def same_model(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """Whether every child of a round simulated the same requests and events."""
    if len(records) < 2:
        return None
    rounds = zip(*records.values(), strict=True)
    figures = [
        {(r["summary"]["requests"]["total"], r["summary"]["events"]) for r in runs}
        for runs in rounds
    ]
    if all(len(seen) == 1 for seen in figures):
        return "compiled and pure: the same requests and events in every round"
    return "WARNING: compiled and pure runs of the same seed differ (they should not)"


def report(args: argparse.Namespace, records: Mapping[str, list[dict[str, Any]]]) -> None:
    """Per build: median wall time and throughput; the pure/compiled ratio; SUMMARY."""
    first = next(iter(records.values()))[0]["summary"]
    print()
    probes = print_model(first, args.duration)
    agreement = same_model(records)
    if agreement:
        print(agreement)
    walls = {b: [r["wall_s"] for r in rs] for b, rs in records.items()}
    median_walls = {b: statistics.median(w) for b, w in walls.items()}
    rates = {
        b: statistics.median(r["summary"]["requests"]["total"] / r["wall_s"] for r in rs)
        for b, rs in records.items()
    }
    event_rates = {
        b: statistics.median(r["summary"]["events"] / r["wall_s"] for r in rs)
        for b, rs in records.items()
    }
    ratios = builds.median_ratios(walls)
    for build in records:
        print(
            f"{build}: wall time {median_walls[build]:.2f} s (median of {args.rounds}); "
            f"{rates[build]:,.0f} simulated requests and {event_rates[build]:,.0f} events "
            "per wall second"
        )
    if ratios:
        print(f"median of the per-round wall-time ratios: {builds.ratios_text(ratios)}")
    baseline_text = print_baseline(args, records)
    rho = args.rate * MEAN_SERVICE_S / (PODS * WORKERS)
    service = first["services"]["api"]
    replicas = service["replicas"]
    print(
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho {rho:.1f}, {args.rate:,.0f} req/s, "
        f"{args.load_balancer}, 2 probes/10 s, HPA every 15 s, {args.duration:g} s simulated, "
        f"median of {args.rounds}: "
        + ", ".join(
            f"{b} {median_walls[b]:.1f} s wall ({rates[b] / 1000:.0f}k req/s)" for b in records
        )
        + (f" -> {builds.ratios_text(ratios)}" if ratios else "")
        + f"; {first['requests']['total'] / 1e6:.1f}M requests, "
        f"{first['events'] / 1e6:.1f}M events, {probes:,.0f} probes (computed), "
        f"{first['events_by_kind'].get('probe_failed', 0)} probe failures, "
        f"replicas {replicas['min']}-{replicas['max']}, "
        f"{service['readiness']['transitions']} readiness transitions{baseline_text}"
    )


def print_baseline(args: argparse.Namespace, records: Mapping[str, list[dict[str, Any]]]) -> str:
    """Each build's throughput without and with the Kubernetes blocks, and the events
    they add per simulated second; returns the SUMMARY's words on it."""
    if args.baseline_seconds <= 0:
        return ""
    texts = []
    extra = 0.0
    for build, runs in records.items():
        base_rate = statistics.median(
            r["baseline"]["requests"] / r["baseline"]["wall_s"] for r in runs
        )
        rate = statistics.median(r["summary"]["requests"]["total"] / r["wall_s"] for r in runs)
        base_events = runs[0]["baseline"]["events"] / args.baseline_seconds
        events = runs[0]["summary"]["events"] / args.duration
        extra = events / base_events - 1
        print(
            f"{build}, throughput (simulated requests per wall second): without Kubernetes "
            f"{base_rate:,.0f} ({args.baseline_seconds:g} s), with {rate:,.0f} "
            f"({args.duration:g} s); ratio without/with {base_rate / rate:.2f}x"
        )
        texts.append(f"{build} {base_rate / 1000:.0f}k req/s, ratio {base_rate / rate:.2f}x")
    print(
        f"engine events per simulated second: without Kubernetes {base_events:,.0f}, "
        f"with {events:,.0f} ({100 * extra:+.2f} %)"
    )
    return (
        f"; without Kubernetes ({args.baseline_seconds:g} s) {', '.join(texts)} "
        f"(without/with), events/simulated s {100 * extra:+.2f} %"
    )


def parent(args: argparse.Namespace) -> int:
    """Alternate the builds' children, check each run is the bench fleet, report."""
    print_header(args)
    records: dict[str, list[dict[str, Any]]] = {build: [] for build in args.builds}
    problems: list[str] = []
    rounds = builds.alternate(SCRIPT, args.builds, args.rounds, args.seed, child_arguments(args))
    for rnd, seed, round_records in rounds:
        for build, record in round_records.items():
            records[build].append(record)
            print(run_line(build, rnd, seed, record), flush=True)
            problems += [
                f"{build}, seed {seed}: {problem}"
                for problem in check_fleet(record["summary"], args.rate)
            ]
    report(args, records)
    for problem in problems:
        print(f"ERROR: not the bench fleet: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    return builds.main(parse_args(argv), child, parent)


if __name__ == "__main__":
    sys.exit(main())
