"""Benchmark: the same fleet simulated by fleetsim and by a plain SimPy model.

The fleet (the ``quickstart`` scenario's baseline): 64 pods x 4 workers, exponential
service times with mean 10 ms, Poisson arrivals at 17,920 requests/s (rho = 0.7), RANDOM
load balancing, 60 s measured after 10 s of warm-up. Each pod is then an M/M/4 queue fed
at 280 requests/s, so both simulators should report a mean latency close to the Erlang C
value ``1/mu + C(4, 2.8) / (4 mu - lam) = 10 ms + 0.4287/120 s = 13.57 ms``.

The SimPy model is written the way an ordinary SimPy user writes it: a source process that
spawns one process per request, each pod a ``simpy.Resource(capacity=4)``, and the
latencies of requests finishing after the warm-up appended to a list.

Three builds are timed, each run in a fresh child process (``bench/builds.py``), round
after round in this order: fleetsim compiled (the mypyc build of the hot modules),
fleetsim pure (the same modules as Python, ``FLEETSIM_PURE=1``), SimPy; ``--builds``
picks a subset. Wall time is ``time.perf_counter`` around the run in the child (for
fleetsim: scenario loading, simulation and summary, after a short untimed run that keeps
the imports out). The script refuses to report (exit 1) if a fleetsim child did not run
the build it was asked for. It prints per-round wall times and ratios, the medians of the
per-round ratios pure/compiled, SimPy/compiled and SimPy/pure, simulated requests per wall
second, the mean latencies, and a one-line summary; it exits 1 if a fleetsim build's mean
latency differs from SimPy's (from the M/M/4 value when SimPy is not run) by more than
5 %, or if the fleetsim scenario is not the fleet described above.

Run from the repository root:
    python bench/bench_simpy.py [--rounds 3] [--builds compiled,simpy]
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import builds
import simpy
import yaml

import fleetsim

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
sys.path.insert(0, str(REPO))
from tests.queueing import mmc_mean_sojourn  # noqa: E402

PODS = 64
WORKERS = 4
MEAN_SERVICE_S = 0.010
RATE_PER_S = 17_920.0
MEASURED_S = 60.0
WARMUP_S = 10.0
MAX_MEAN_DISAGREEMENT = 0.05
SUMMARY_KEYS = (
    "services",
    "throughput_rps",
    "simulated_seconds",
    "requests",
    "retries",
    "events",
    "latency_ms",
)
"""What a fleetsim child passes on of its summary: what the fleet and mesh checks read."""

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
    """One simulator run: wall and CPU seconds, requests counted in the measured window,
    mean latency, and (fleetsim only) the engine's events over the whole run."""

    wall_s: float
    cpu_s: float  # the process's CPU time (time.process_time) over the run
    measured_requests: int
    mean_latency_ms: float
    events: int | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunResult:
        """The run a child's JSON line describes."""
        values: dict[str, Any] = {field.name: record.get(field.name) for field in fields(cls)}
        return cls(**values)


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
    document = copy.deepcopy(scenario)
    result, wall, cpu = builds.timed(lambda: fleetsim.run(document, variant=None, seed=seed))
    summary: dict[str, Any] = result.summary
    run = RunResult(
        wall,
        cpu,
        int(summary["requests"]["succeeded"]),
        float(summary["latency_ms"]["mean"]),
        int(summary["events"]),
    )
    return run, summary


def run_simpy(seed: int, measured_s: float, warmup_s: float) -> RunResult:
    """The same fleet as an ordinary SimPy user would write it."""
    cpu = time.process_time()
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
    cpu = time.process_time() - cpu
    return RunResult(wall, cpu, len(latencies), 1000.0 * statistics.fmean(latencies))


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each build")
    parser.add_argument("--measured", type=float, default=MEASURED_S, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=WARMUP_S, help="warm-up seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "quickstart.yaml")
    parser.add_argument(
        "--with-timers",
        action="store_true",
        help="keep the scenario's client timeout and retries (fleetsim then does more work)",
    )
    args = builds.parse_args(parser, argv)
    return args


def child(args: argparse.Namespace) -> int:
    """One run of the build ``--child`` names, printed as the JSON line the parent reads."""
    if args.child == builds.SIMPY:
        run = run_simpy(args.seed, args.measured, args.warmup)
        builds.emit(args.child, args.seed, asdict(run))
        return 0
    scenario, _ = fleetsim_scenario(args.scenario, args.measured, args.warmup, args.with_timers)
    builds.prime(scenario, args.seed)
    run, summary = run_fleetsim(scenario, args.seed)
    figures = builds.summary_figures(summary, SUMMARY_KEYS)
    builds.emit(args.child, args.seed, {**asdict(run), "summary": figures})
    return 0


def child_arguments(args: argparse.Namespace) -> Callable[[str, int], list[str]]:
    """The options a child needs besides its build and seed."""
    common = ["--measured", repr(args.measured), "--warmup", repr(args.warmup)]
    common += ["--scenario", str(args.scenario)]
    if args.with_timers:
        common.append("--with-timers")
    return lambda build, seed: common


def requests_per_wall_s(runs: Sequence[RunResult], measured_s: float, warmup_s: float) -> float:
    """Requests simulated over warm-up + measured time, estimated from the measured
    window's count the same way for every build, per wall second (median over rounds)."""
    scale = (measured_s + warmup_s) / measured_s
    return float(statistics.median(r.measured_requests * scale / r.wall_s for r in runs))


def same_model(runs: Mapping[str, Sequence[RunResult]]) -> str | None:
    """Whether the compiled and pure runs of each seed agree (None: not both ran)."""
    if not (runs.get(builds.COMPILED) and runs.get(builds.PURE)):
        return None
    pairs = zip(runs[builds.COMPILED], runs[builds.PURE], strict=True)
    if all(
        (c.mean_latency_ms, c.events, c.measured_requests)
        == (p.mean_latency_ms, p.events, p.measured_requests)
        for c, p in pairs
    ):
        return "compiled and pure: the same mean latency, requests and events in every round"
    return "WARNING: compiled and pure runs of the same seed differ (they should not)"


def latency_disagreements(
    means: Mapping[str, float], theory_ms: float
) -> tuple[str, float, dict[str, float]]:
    """Each fleetsim build's mean latency against SimPy's (the M/M/4 value when SimPy did
    not run): what it was compared with, that mean, and the relative differences."""
    if builds.SIMPY in means:
        against, reference = "SimPy", means[builds.SIMPY]
    else:
        against, reference = f"the M/M/{WORKERS} value", theory_ms
    differences = {
        build: abs(means[build] - reference) / reference
        for build in builds.FLEETSIM_BUILDS
        if build in means
    }
    return against, reference, differences


def latency_problems(means: Mapping[str, float], theory_ms: float) -> list[str]:
    """The fleetsim builds whose mean latency is off by more than 5 % (empty: fine)."""
    against, reference, differences = latency_disagreements(means, theory_ms)
    return [
        f"mean latency of fleetsim {build} ({means[build]:.3f} ms) and {against} "
        f"({reference:.3f} ms) differ by {100 * difference:.2f} % "
        f"(> {100 * MAX_MEAN_DISAGREEMENT:.0f} %)"
        for build, difference in differences.items()
        if difference > MAX_MEAN_DISAGREEMENT
    ]


def report(args: argparse.Namespace, runs: Mapping[str, list[RunResult]], theory_ms: float) -> int:
    """Print the medians and the SUMMARY line; returns 1 if the latencies disagree."""
    walls = {build: statistics.median(r.wall_s for r in rs) for build, rs in runs.items()}
    cpus = {build: statistics.median(r.cpu_s for r in rs) for build, rs in runs.items()}
    rates = {b: requests_per_wall_s(rs, args.measured, args.warmup) for b, rs in runs.items()}
    means = {build: statistics.fmean(r.mean_latency_ms for r in rs) for build, rs in runs.items()}
    ratios = builds.median_ratios({b: [r.wall_s for r in rs] for b, rs in runs.items()})
    against, _, differences = latency_disagreements(means, theory_ms)
    compared = ", ".join(f"{b} by {100 * d:.2f} %" for b, d in differences.items())

    print()
    print(f"median wall time: {builds.walls_text(walls)}")
    print(f"median CPU time: {builds.walls_text(cpus)}")
    if ratios:
        print(f"median of the per-round wall-time ratios: {builds.ratios_text(ratios)}")
    print(
        "simulated requests per wall second: "
        + ", ".join(f"{builds.NAMES[b]} {rate:,.0f}" for b, rate in rates.items())
    )
    print(
        "mean latency: "
        + ", ".join(f"{builds.NAMES[b]} {mean:.3f} ms" for b, mean in means.items())
        + f" (theory {theory_ms:.3f} ms"
        + (f"; fleetsim differs from {against}: {compared})" if compared else ")")
    )
    agreement = same_model(runs)
    if agreement:
        print(agreement)
    timers = ", timers armed" if args.with_timers else ""
    print(
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho 0.7, {args.measured:g}+{args.warmup:g} s "
        f"simulated{timers}, median of {args.rounds}: "
        + ", ".join(
            f"{builds.NAMES[b]} {walls[b]:.1f} s ({rates[b] / 1000:.0f}k req/s)" for b in runs
        )
        + (f" -> {builds.ratios_text(ratios, 1)}" if ratios else "")
        + "; mean latency "
        + " / ".join(f"{means[b]:.2f}" for b in runs)
        + f" ms (M/M/{WORKERS} {theory_ms:.2f} ms)"
    )
    problems = latency_problems(means, theory_ms)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def parent(args: argparse.Namespace) -> int:
    """Alternate the builds' children round after round, check them, report."""
    _, source = fleetsim_scenario(args.scenario, args.measured, args.warmup, args.with_timers)
    lam_pod, mu = RATE_PER_S / PODS, 1.0 / MEAN_SERVICE_S
    theory_ms = 1000.0 * mmc_mean_sojourn(lam_pod, mu, WORKERS)
    print(
        f"fleet: {PODS} pods x {WORKERS} workers, exponential {MEAN_SERVICE_S * 1e3:g} ms, "
        f"Poisson {RATE_PER_S:.0f}/s (rho = {lam_pod / (WORKERS * mu):.2f}), RANDOM; "
        f"{args.measured:g} s measured + {args.warmup:g} s warm-up"
    )
    print(f"fleetsim scenario: {source} (baseline)")
    print(f"builds, each run in a fresh process: {builds.preflight(args.builds)}")
    print(f"M/M/{WORKERS} theory (Erlang C): mean latency {theory_ms:.3f} ms")
    print()

    runs: dict[str, list[RunResult]] = {build: [] for build in args.builds}
    problems: list[str] = []
    rounds = builds.alternate(SCRIPT, args.builds, args.rounds, args.seed, child_arguments(args))
    for rnd, seed, records in rounds:
        for build, record in records.items():
            runs[build].append(RunResult.from_record(record))
            if build in builds.FLEETSIM_BUILDS:
                problems += [
                    f"fleetsim {build}, seed {seed}: {problem}"
                    for problem in check_fleet(record["summary"], args.measured)
                ]
        this_round = {build: rs[-1] for build, rs in runs.items()}
        ratios = builds.median_ratios({b: [r.wall_s] for b, r in this_round.items()})
        print(
            f"round {rnd + 1}/{args.rounds} (seed {seed}): "
            + " | ".join(
                f"{builds.NAMES[b]} {r.wall_s:7.2f} s  mean {r.mean_latency_ms:.3f} ms"
                for b, r in this_round.items()
            )
            + (f" | {builds.ratios_text(ratios)}" if ratios else ""),
            flush=True,
        )

    status = report(args, runs, theory_ms)
    for problem in problems:
        print(f"ERROR: fleetsim did not simulate the bench fleet: {problem}", file=sys.stderr)
        status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    return builds.main(parse_args(argv), child, parent)


if __name__ == "__main__":
    sys.exit(main())
