"""Benchmark: the cost of the Kubernetes layer on a large fleet over a simulated hour.

The fleet: 300 pods x 4 workers over 3 zones, exponential service times with mean 24 ms,
Poisson arrivals at 30,000 requests/s with a 2 s client timeout (rho = 30,000 x 0.024 /
1,200 = 0.6), LEAST_REQUEST load balancing, metrics every 10 s, one simulated hour with
no warm-up. The Kubernetes blocks: ``resources.requests.cpu`` 1, ``cpuPerRequest`` 6 ms
(100 requests/s per pod x 6 ms = 0.6 core, the HPA's 60 % target), a readiness and a
liveness probe (defaults, ``periodSeconds`` 10) and an HPA (minReplicas 300, maxReplicas
400, target 60 %, sync every 15 s). The HPA thus reads 300 pods every 15 s, finds them on
target, and leaves the count at 300; each pod answers 2 probes every 10 s.

The same fleet without the Kubernetes blocks (no probes, no HPA, no CPU accounting) runs
first, in the same process and with the same seed, for ``--baseline-seconds``; the
script prints both throughputs in simulated requests per wall second and their ratio.

Wall time is ``time.perf_counter()`` around ``fleetsim.run(dict)`` (scenario loading,
simulation and summary). Probe executions are counted by wrapping the prober's result
handler for the run (one extra call per probe); ``events_by_kind`` has only their
failures. It exits 1 if the fleet simulated is not the one described (throughput or,
when the count stayed at 300, utilisation off by more than 2 %).

Run from the repository root:  ``python bench/bench_kubernetes.py [--quick]``
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fleetsim
import fleetsim.scenario.loader
import fleetsim.simulation  # imported here so that neither timed run pays for the imports
from fleetsim.kubernetes import probes
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


@contextmanager
def counting_probes() -> Iterator[Counter[str]]:
    """Count probe results by kind and outcome while the block runs."""
    counts: Counter[str] = Counter()
    original = probes.ProbeWorker.result

    def result(self: probes.ProbeWorker, success: bool) -> None:
        counts[f"{self.kind} {'ok' if success else 'failed'}"] += 1
        original(self, success)

    probes.ProbeWorker.result = result  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        probes.ProbeWorker.result = original  # type: ignore[method-assign]


def timed_run(document: dict[str, Any], seed: int, progress: Any = None) -> tuple[float, Any]:
    """``fleetsim.run`` on a copy of ``document``; returns wall seconds and the summary."""
    start = time.perf_counter()
    result = fleetsim.run(copy.deepcopy(document), seed=seed, progress=progress)
    return time.perf_counter() - start, result.summary


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


def check_fleet(summary: dict[str, Any], rate: float) -> list[str]:
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


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cpu-per-request",
        default=CPU_PER_REQUEST,
        help="cpuPerRequest; 6ms puts the pods on the HPA target (10ms: HPA scales to 400)",
    )
    parser.add_argument(
        "--load-balancer", default=LOAD_BALANCER, choices=["LEAST_REQUEST", "RANDOM"]
    )
    args = parser.parse_args(argv)
    duration = QUICK_S if args.quick else args.duration
    if duration <= 0 or args.rate <= 0 or args.baseline_seconds < 0:
        parser.error("--duration and --rate must be > 0, --baseline-seconds >= 0")

    document = scenario(duration, args.rate, args.cpu_per_request, args.load_balancer, args.seed)
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
        f"(sync 15 s); {duration:g} s simulated, no warm-up"
    )
    print()

    base_wall = base_requests = base_events = 0.0
    if args.baseline_seconds > 0:
        plain = without_kubernetes(document, args.baseline_seconds)
        base_wall, base_summary = timed_run(plain, args.seed)
        base_requests = float(base_summary["requests"]["total"])
        base_events = float(base_summary["events"])
        print(
            f"baseline (no probes, no HPA, no CPU), {args.baseline_seconds:g} s simulated: "
            f"{base_wall:.2f} s wall, {base_requests:,.0f} requests "
            f"({base_requests / base_wall:,.0f}/s of wall), "
            f"{base_summary['events']:,} events ({base_summary['events'] / base_wall:,.0f}/s)",
            flush=True,
        )

    print(f"kubernetes fleet, {duration:g} s simulated:", flush=True)
    with counting_probes() as probe_counts:
        wall, summary = timed_run(document, args.seed, progress_printer(max(duration / 10, 10)))

    service = summary["services"]["api"]
    requests = float(summary["requests"]["total"])
    events = int(summary["events"])
    req_rate = requests / wall
    replicas = service["replicas"]
    readiness = service["readiness"]
    hpa = service.get("hpa", {})
    probes_run = sum(probe_counts.values())
    print(f"wall time: {wall:.2f} s")
    print(
        f"simulated requests: {requests:,.0f} ({summary['requests']['succeeded']:,} succeeded, "
        f"{summary['requests']['timed_out']:,} timed out); {req_rate:,.0f} per wall second"
    )
    print(f"engine events: {events:,}; {events / wall:,.0f} per wall second")
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
    by_kind = ", ".join(f"{kind} {count:,}" for kind, count in sorted(probe_counts.items()))
    print(f"probes run: {probes_run:,} ({by_kind})")
    kinds = summary["events_by_kind"]
    print(
        "events_by_kind: "
        + ", ".join(f"{kind} {count}" for kind, count in kinds.items())
        + ("" if "probe_failed" in kinds else ", probe_failed 0")
    )
    ratio_text = ""
    if args.baseline_seconds > 0:
        base_rate = base_requests / base_wall
        ratio = base_rate / req_rate
        extra_events = events / duration / (base_events / args.baseline_seconds) - 1
        print(
            f"throughput (simulated requests per wall second): without Kubernetes "
            f"{base_rate:,.0f} ({args.baseline_seconds:g} s), with {req_rate:,.0f} "
            f"({duration:g} s); ratio without/with {ratio:.2f}x"
        )
        print(
            f"engine events per simulated second: without Kubernetes "
            f"{base_events / args.baseline_seconds:,.0f}, with {events / duration:,.0f} "
            f"({100 * extra_events:+.2f} %)"
        )
        ratio_text = (
            f"; without Kubernetes {base_rate / 1000:.0f}k req/s ({args.baseline_seconds:g} s) "
            f"-> ratio without/with {ratio:.2f}x, events/simulated s {100 * extra_events:+.2f} %"
        )
    print(
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho {rho:.1f}, {args.rate:,.0f} req/s, "
        f"{args.load_balancer}, 2 probes/10 s, HPA every 15 s, {duration:g} s simulated: "
        f"{wall:.1f} s wall, {requests / 1e6:.1f}M requests ({req_rate / 1000:.0f}k req/s), "
        f"{events / 1e6:.1f}M events ({events / wall / 1000:.0f}k ev/s), "
        f"{probes_run:,} probes, replicas {replicas['min']}-{replicas['max']}, "
        f"{readiness['transitions']} readiness transitions{ratio_text}"
    )

    status = 0
    for problem in check_fleet(summary, args.rate):
        print(f"ERROR: not the bench fleet: {problem}", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
