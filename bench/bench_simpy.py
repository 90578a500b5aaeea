"""Benchmark: the same fleet simulated by fleetsim and by a plain SimPy model.

The fleet (the ``quickstart`` scenario's baseline): 64 pods x 4 workers, exponential
service times with mean 10 ms, Poisson arrivals at 17,920 requests/s (rho = 0.7), RANDOM
load balancing, 60 s measured after 10 s of warm-up. Each pod is then an M/M/4 queue fed
at 280 requests/s, so both simulators should report a mean latency close to the Erlang C
value ``1/mu + C(4, 2.8) / (4 mu - lam) = 10 ms + 0.4287/120 s = 13.57 ms``.

The SimPy model is written the way an ordinary SimPy user writes it: a source process that
spawns one process per request, each pod a ``simpy.Resource(capacity=4)``, and the
latencies of requests finishing after the warm-up appended to a list.

The two simulators alternate in one process (``--rounds`` rounds each); wall time is
``time.perf_counter``. The script prints per-round wall times, the median ratio
SimPy/fleetsim, simulated requests per wall second, both mean latencies, and a one-line
summary; it exits 1 if the mean latencies differ by more than 5 % (or if the fleetsim
scenario is not the fleet described above).

Run from the repository root:  ``python bench/bench_simpy.py [--rounds 3]``
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy
import yaml

import fleetsim

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.queueing import mmc_mean_sojourn  # noqa: E402

PODS = 64
WORKERS = 4
MEAN_SERVICE_S = 0.010
RATE_PER_S = 17_920.0
MEASURED_S = 60.0
WARMUP_S = 10.0
MAX_MEAN_DISAGREEMENT = 0.05

EQUIVALENT_SCENARIO: dict[str, Any] = {
    "apiVersion": "fleetsim/v1",
    "kind": "Scenario",
    "metadata": {"name": "quickstart"},
    "spec": {
        "duration": MEASURED_S,
        "warmup": WARMUP_S,
        "seed": 7,
        "services": [
            {
                "name": "search",
                "replicas": PODS,
                "workers": WORKERS,
                "serviceTime": {"distribution": "exponential", "mean": MEAN_SERVICE_S},
            }
        ],
        "traffic": [
            {"name": "users", "target": "search", "rate": RATE_PER_S, "arrivals": "poisson"}
        ],
        "routes": [{"destination": "search", "loadBalancer": "RANDOM"}],
    },
}


@dataclass(frozen=True)
class RunResult:
    """One simulator run: wall seconds, requests counted in the measured window, mean latency."""

    wall_s: float
    measured_requests: int
    mean_latency_ms: float


def fleetsim_scenario(
    path: Path, measured_s: float, warmup_s: float, with_timers: bool = False
) -> tuple[dict[str, Any], str]:
    """``scenarios/quickstart.yaml`` with its duration and warm-up set to the bench's.

    Unless ``with_timers``, the client timeout and the route's retries (with their
    per-try timeout) are removed, so that fleetsim runs exactly the model the SimPy side
    runs. Falls back to an equivalent dict when the file is absent. Returns the scenario
    and a description of where it came from.
    """
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            scenario: dict[str, Any] = yaml.safe_load(fh)
        source = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    else:
        scenario = copy.deepcopy(EQUIVALENT_SCENARIO)
        source = "built-in equivalent dict"
    scenario["spec"]["duration"] = measured_s
    scenario["spec"]["warmup"] = warmup_s
    if not with_timers:
        for traffic in scenario["spec"]["traffic"]:
            traffic.pop("timeout", None)
        for route in scenario["spec"].get("routes", []):
            route.pop("retries", None)
        source += " without client timeout and retries (as the SimPy model)"
    else:
        source += " as written (client timeout and per-try timeouts armed)"
    return scenario, source


def run_fleetsim(scenario: dict[str, Any], seed: int) -> tuple[RunResult, dict[str, Any]]:
    """Run the baseline of ``scenario`` with fleetsim; returns timings and the summary."""
    start = time.perf_counter()
    result = fleetsim.run(copy.deepcopy(scenario), variant=None, seed=seed)
    wall = time.perf_counter() - start
    summary: dict[str, Any] = result.summary
    return (
        RunResult(
            wall, int(summary["requests"]["succeeded"]), float(summary["latency_ms"]["mean"])
        ),
        summary,
    )


def run_simpy(seed: int, measured_s: float, warmup_s: float) -> RunResult:
    """The same fleet as an ordinary SimPy user would write it."""
    start = time.perf_counter()
    rng = random.Random(seed)
    env = simpy.Environment()
    pods = [simpy.Resource(env, capacity=WORKERS) for _ in range(PODS)]
    latencies: list[float] = []

    def request(env: simpy.Environment, pod: simpy.Resource) -> Generator[Any, Any, None]:
        arrived = env.now
        with pod.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE_S))
        if env.now >= warmup_s:
            latencies.append(env.now - arrived)

    def source(env: simpy.Environment) -> Generator[Any, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(RATE_PER_S))
            env.process(request(env, rng.choice(pods)))

    env.process(source(env))
    env.run(until=warmup_s + measured_s)
    wall = time.perf_counter() - start
    return RunResult(wall, len(latencies), 1000.0 * statistics.fmean(latencies))


def check_fleet(summary: dict[str, Any], measured_s: float) -> list[str]:
    """Problems showing that fleetsim did not simulate the bench's fleet (empty: fine)."""
    problems: list[str] = []
    services = summary.get("services", {})
    if len(services) != 1:
        return [f"expected one service, got {sorted(services)}"]
    (service,) = services.values()
    pods = service.get("pods", {}).get("count")
    if pods != PODS:
        problems.append(f"expected {PODS} pods, got {pods}")
    rho = RATE_PER_S * MEAN_SERVICE_S / (PODS * WORKERS)
    util = float(service["utilization"])
    # Utilisation over 60 s of ~1e6 requests has a standard error well below 0.5 %.
    if abs(util - rho) > 0.02 * rho:
        problems.append(f"utilization {util:.4f}, expected {rho:.4f}")
    throughput = float(summary["throughput_rps"])
    if abs(throughput - RATE_PER_S) > 0.02 * RATE_PER_S:
        problems.append(f"throughput {throughput:.0f}/s, expected {RATE_PER_S:.0f}/s")
    if float(summary["simulated_seconds"]) != measured_s:
        problems.append(f"simulated_seconds {summary['simulated_seconds']}, expected {measured_s}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each simulator")
    parser.add_argument("--measured", type=float, default=MEASURED_S, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=WARMUP_S, help="warm-up seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "quickstart.yaml")
    parser.add_argument(
        "--with-timers",
        action="store_true",
        help="keep the scenario's client timeout and retries (fleetsim then does more work)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")

    scenario, source = fleetsim_scenario(
        args.scenario, args.measured, args.warmup, args.with_timers
    )
    lam_pod, mu = RATE_PER_S / PODS, 1.0 / MEAN_SERVICE_S
    theory_ms = 1000.0 * mmc_mean_sojourn(lam_pod, mu, WORKERS)
    total_s = args.measured + args.warmup
    print(
        f"fleet: {PODS} pods x {WORKERS} workers, exponential {MEAN_SERVICE_S * 1e3:g} ms, "
        f"Poisson {RATE_PER_S:.0f}/s (rho = {lam_pod / (WORKERS * mu):.2f}), RANDOM; "
        f"{args.measured:g} s measured + {args.warmup:g} s warm-up"
    )
    print(f"fleetsim scenario: {source} (baseline); SimPy {simpy.__version__}")
    print(f"M/M/{WORKERS} theory (Erlang C): mean latency {theory_ms:.3f} ms")
    print()

    fs_runs: list[RunResult] = []
    sp_runs: list[RunResult] = []
    problems: list[str] = []
    for rnd in range(args.rounds):
        seed = args.seed + rnd
        fs, summary = run_fleetsim(scenario, seed)
        if rnd == 0:
            problems = check_fleet(summary, args.measured)
        sp = run_simpy(seed, args.measured, args.warmup)
        fs_runs.append(fs)
        sp_runs.append(sp)
        print(
            f"round {rnd + 1}/{args.rounds} (seed {seed}): "
            f"fleetsim {fs.wall_s:7.2f} s  mean {fs.mean_latency_ms:.3f} ms | "
            f"SimPy {sp.wall_s:7.2f} s  mean {sp.mean_latency_ms:.3f} ms | "
            f"ratio {sp.wall_s / fs.wall_s:.2f}x",
            flush=True,
        )

    def per_wall_s(runs: list[RunResult]) -> float:
        # Requests simulated over warm-up + measured time, estimated from the measured
        # window's count the same way for both, per wall second (median over rounds).
        return float(
            statistics.median(
                r.measured_requests * total_s / args.measured / r.wall_s for r in runs
            )
        )

    ratio = statistics.median(s.wall_s / f.wall_s for s, f in zip(sp_runs, fs_runs, strict=True))
    fs_wall = statistics.median(r.wall_s for r in fs_runs)
    sp_wall = statistics.median(r.wall_s for r in sp_runs)
    fs_rate, sp_rate = per_wall_s(fs_runs), per_wall_s(sp_runs)
    fs_mean = statistics.fmean(r.mean_latency_ms for r in fs_runs)
    sp_mean = statistics.fmean(r.mean_latency_ms for r in sp_runs)
    disagreement = abs(fs_mean - sp_mean) / sp_mean

    print()
    print(f"median wall time: fleetsim {fs_wall:.2f} s, SimPy {sp_wall:.2f} s")
    print(f"median ratio SimPy/fleetsim: {ratio:.2f}x")
    print(f"simulated requests per wall second: fleetsim {fs_rate:,.0f}, SimPy {sp_rate:,.0f}")
    print(
        f"mean latency: fleetsim {fs_mean:.3f} ms, SimPy {sp_mean:.3f} ms "
        f"(differ by {100 * disagreement:.2f} %; theory {theory_ms:.3f} ms)"
    )
    print(
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho 0.7, {args.measured:g}+{args.warmup:g} s "
        f"simulated, median of {args.rounds}: fleetsim {fs_wall:.1f} s "
        f"({fs_rate / 1000:.0f}k req/s), SimPy {sp_wall:.1f} s ({sp_rate / 1000:.0f}k req/s) "
        f"-> SimPy/fleetsim {ratio:.1f}x; mean latency {fs_mean:.2f} vs {sp_mean:.2f} ms "
        f"(M/M/4 {theory_ms:.2f} ms)"
    )

    status = 0
    for problem in problems:
        print(f"ERROR: fleetsim did not simulate the bench fleet: {problem}", file=sys.stderr)
        status = 1
    if disagreement > MAX_MEAN_DISAGREEMENT:
        print(
            f"ERROR: mean latencies differ by {100 * disagreement:.2f} % "
            f"(> {100 * MAX_MEAN_DISAGREEMENT:.0f} %)",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
