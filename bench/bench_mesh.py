"""Benchmark: the cost of the service mesh on fleetsim's hot path, against SimPy.

The fleet is ``bench_simpy.py``'s (the ``quickstart`` baseline without client timeout
and retries): 64 pods x 4 workers, exponential service times with mean 10 ms, Poisson
arrivals at 17,920 requests/s (rho = 0.7), 60 s measured after 10 s of warm-up, about
1.25 million requests per run. Three models of it are timed, round after round
(``--rounds`` rounds, seeds 7, 8, 9, ...):

(a) SimPy: ``bench_simpy.run_simpy``, the hand-written model (RANDOM balancing);
(b) fleetsim, the foundation: the same scenario as ``bench_simpy.py`` (no mesh, RANDOM);
(c) fleetsim in a mesh: the same scenario with ``spec.mesh: {}`` (an Envoy sidecar in
    every pod, external traffic entering through the 3-replica ingress gateway) and the
    route's ``loadBalancer: LEAST_REQUEST`` (power of two choices, Istio's default) with
    ``retries: {attempts: 0}`` (Istio's default 2 retries off), so that each request is
    still one try and the work per request stays comparable.

(b) and (c) run with each build of fleetsim's hot modules: compiled (mypyc) and pure
Python (``FLEETSIM_PURE=1``). Every run is a fresh child process (``bench/builds.py``);
a round runs fleetsim compiled (b) then (c), fleetsim pure (b) then (c), then SimPy (a);
``--builds`` picks a subset. The script refuses to report (exit 1) if a fleetsim child
did not run the build it was asked for.

Why: (b)/(a) is the foundation's speed-up over an ordinary SimPy model (the figure of
``bench_simpy.py``); (c)/(b) is what the mesh layer (gateway proxy, P2C pick, per-worker
connection pool, the pod sidecar's pool to its app, idle timers) costs per request on
the hot path; (c)/(a) says whether a meshed fleet is still faster than plain SimPy;
pure/compiled is what compiling the hot modules buys, with and without the mesh.

Wall time is ``time.perf_counter`` around each whole run in its child (for fleetsim:
scenario loading, simulation and summary; fleetsim's modules are imported by a short
untimed run first). Throughput is simulated requests per wall second (requests in the
measured window scaled to warm-up + measured time, the same way for all runs).
Ratios are taken per round, then the median over rounds; on a noisy machine they are
the figures to read, not the absolute rates. The throughput ratios are also given from
the child's CPU time (``time.process_time``), which other processes on a shared machine
disturb less than wall time. The table also gives the engine events per request of (b)
and (c): the mesh adds Python work per event, not events.

It exits 1 if (b) or (c) did not simulate the fleet (pod count, utilisation and
throughput within 2 %), if the mean latencies of (a) and (b) differ by more than 5 %
(of (b) and the M/M/4 value when SimPy is not run), if the mesh run failed, retried or
overflowed any request, or if its mean latency is above the M/M/4 value of RANDOM
balancing (P2C must not do worse than random).

Run from the repository root:
    python bench/bench_mesh.py [--rounds 3] [--quick] [--builds compiled,pure]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import builds
from bench_simpy import (
    MAX_MEAN_DISAGREEMENT,
    MEAN_SERVICE_S,
    MEASURED_S,
    PODS,
    RATE_PER_S,
    REPO,
    SUMMARY_KEYS,
    WARMUP_S,
    WORKERS,
    RunResult,
    check_fleet,
    fleetsim_scenario,
    latency_problems,
    run_fleetsim,
    run_simpy,
    same_model,
)

from tests.queueing import mmc_mean_sojourn  # bench_simpy put the repository on the path

SCRIPT = Path(__file__).resolve()
QUICK_MEASURED_S = 10.0
QUICK_WARMUP_S = 2.0
MESH_LOAD_BALANCER = "LEAST_REQUEST"
MODELS = {"a": "simpy", "b": "foundation", "c": "mesh"}
"""The three models, by the letter the output uses, and the name a child is given."""

Job = tuple[str, str]
"""One run of a round: (model letter, build)."""


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


def round_jobs(selected: Sequence[str]) -> list[Job]:
    """The runs of one round, in order: each fleetsim build's (b) then (c), SimPy's (a)."""
    jobs: list[Job] = []
    for build in selected:
        jobs += [("a", build)] if build == builds.SIMPY else [("b", build), ("c", build)]
    return jobs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", "--repeat", dest="rounds", type=int, default=3, help="rounds of every run"
    )
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
    parser.add_argument("--child-model", choices=list(MODELS.values()), help=argparse.SUPPRESS)
    args = builds.parse_args(parser, argv)
    if args.measured is None:
        args.measured = QUICK_MEASURED_S if args.quick else MEASURED_S
    if args.warmup is None:
        args.warmup = QUICK_WARMUP_S if args.quick else WARMUP_S
    return args


def child(args: argparse.Namespace) -> int:
    """One run of ``--child-model`` with the build ``--child`` names, as a JSON line."""
    if args.child == builds.SIMPY:
        run = run_simpy(args.seed, args.measured, args.warmup)
        builds.emit(args.child, args.seed, asdict(run))
        return 0
    scenario, _ = fleetsim_scenario(args.scenario, args.measured, args.warmup)
    if args.child_model == MODELS["c"]:
        scenario = mesh_scenario(scenario, args.mesh_load_balancer)
    builds.prime(scenario, args.seed)
    run, summary = run_fleetsim(scenario, args.seed)
    figures = builds.summary_figures(summary, SUMMARY_KEYS)
    builds.emit(args.child, args.seed, {**asdict(run), "summary": figures})
    return 0


def run_job(args: argparse.Namespace, job: Job, seed: int) -> dict[str, Any]:
    """One child of a round, checked to have run its build."""
    model, build = job
    arguments = ["--child-model", MODELS[model], "--seed", str(seed)]
    arguments += ["--measured", repr(args.measured), "--warmup", repr(args.warmup)]
    arguments += ["--scenario", str(args.scenario)]
    arguments += ["--mesh-load-balancer", args.mesh_load_balancer]
    return builds.run_child(SCRIPT, build, arguments, label=f"({model}) {build}")


def job_problems(
    job: Job, seed: int, record: Mapping[str, Any], measured: float, theory_ms: float
) -> list[str]:
    """What shows that a fleetsim run did not simulate its model (empty: fine)."""
    model, build = job
    if model == "a":
        return []
    summary = record["summary"]
    prefix = f"({model}) {build}, seed {seed}"
    if model == "b":
        return [f"{prefix}: {p}" for p in check_fleet(summary, measured)]
    problems = [f"{prefix}: {p}" for p in check_mesh(summary, measured)]
    if record["mean_latency_ms"] > (1.0 + MAX_MEAN_DISAGREEMENT) * theory_ms:
        problems.append(
            f"{prefix}: mean latency {record['mean_latency_ms']:.3f} ms above the "
            f"M/M/{WORKERS} value of RANDOM balancing ({theory_ms:.3f} ms)"
        )
    return problems


class Figures:
    """The runs of every round, by job, and the figures drawn from them."""

    def __init__(self, jobs: Sequence[Job], measured_s: float, warmup_s: float) -> None:
        self.runs: dict[Job, list[RunResult]] = {job: [] for job in jobs}
        self.scale = (measured_s + warmup_s) / measured_s

    def rate(self, run: RunResult, cpu: bool = False) -> float:
        """Requests simulated over warm-up + measured time, estimated from the measured
        window's count the same way for every run, per wall (or CPU) second."""
        return run.measured_requests * self.scale / (run.cpu_s if cpu else run.wall_s)

    def walls(self, model: str) -> dict[str, list[float]]:
        """Wall times of ``model`` by build, with SimPy's (a) as the ``simpy`` build: the
        mesh's SimPy/compiled compares it with the plain SimPy model, as (c)/(a) does."""
        return {
            build: [r.wall_s for r in runs]
            for (letter, build), runs in self.runs.items()
            if letter in (model, "a")
        }

    def throughput_ratio(self, num: Job, den: Job, cpu: bool = False) -> float | None:
        """Throughput ratio num/den per round (same simulated work), median over rounds."""
        if num not in self.runs or den not in self.runs:
            return None
        pairs = zip(self.runs[num], self.runs[den], strict=True)
        return float(statistics.median(self.rate(n, cpu) / self.rate(d, cpu) for n, d in pairs))

    def events_per_request(self, model: str) -> float | None:
        per_request = [
            r.events / (r.measured_requests * self.scale)
            for (letter, _), runs in self.runs.items()
            if letter == model
            for r in runs
            if r.events is not None
        ]
        return statistics.fmean(per_request) if per_request else None

    def mean_latency(self, job: Job) -> float:
        return statistics.fmean(r.mean_latency_ms for r in self.runs[job])


def job_order(job: Job) -> tuple[str, int]:
    """Table order: (a), then (b) and (c), each compiled before pure."""
    return job[0], builds.BUILDS.index(job[1])


def label(job: Job, load_balancer: str) -> str:
    model, build = job
    if model == "a":
        return "(a) SimPy, RANDOM"
    mesh = f"mesh, {load_balancer}" if model == "c" else "no mesh, RANDOM"
    return f"({model}) fleetsim {build}, {mesh}"


def round_line(figures: Figures, rnd: int, seed: int, rounds: int) -> str:
    """One round: every run's wall time and mean latency, then the round's ratios."""
    runs = " | ".join(
        f"({model}) {builds.NAMES[build]} {rs[-1].wall_s:6.2f} s {rs[-1].mean_latency_ms:.2f} ms"
        for (model, build), rs in figures.runs.items()
    )
    ratios = []
    for model in "bc":
        last = {build: walls[-1:] for build, walls in figures.walls(model).items()}
        if len(last) > 1 and any(build != builds.SIMPY for build in last):
            ratios.append(f"({model}) {builds.ratios_text(builds.median_ratios(last))}")
    return f"round {rnd + 1}/{rounds} (seed {seed}): {runs}" + "".join(
        f" | {text}" for text in ratios
    )


def print_table(figures: Figures, load_balancer: str) -> None:
    """Median wall and CPU time, throughput, events per request and mean latency by run,
    then the throughput ratios."""
    print(
        f"{'':44} {'wall s':>7} {'CPU s':>7} {'req/s of wall':>14} {'events/req':>11} "
        f"{'mean ms':>8}"
    )
    for job, runs in sorted(figures.runs.items(), key=lambda item: job_order(item[0])):
        epr = figures.events_per_request(job[0])
        print(
            f"{label(job, load_balancer):44} {statistics.median(r.wall_s for r in runs):7.2f} "
            f"{statistics.median(r.cpu_s for r in runs):7.2f} "
            f"{statistics.median(figures.rate(r) for r in runs):14,.0f} "
            f"{'-' if job[0] == 'a' or epr is None else f'{epr:.2f}':>11} "
            f"{figures.mean_latency(job):8.3f}"
        )
    print_throughput_ratios(figures)


def print_throughput_ratios(figures: Figures) -> None:
    """(b)/(a), (c)/(a) and (c)/(b) from wall and CPU time, for each fleetsim build."""
    ran = {build for _, build in figures.runs}
    if not ran & set(builds.FLEETSIM_BUILDS):
        return
    names = {("b", "a"): "foundation vs SimPy", ("c", "a"): "mesh vs SimPy"}
    names[("c", "b")] = "mesh vs foundation"
    print(f"{'throughput ratio':44} {'wall':>7} {'CPU':>7}")
    for build in builds.FLEETSIM_BUILDS:
        for (num, den), name in names.items():
            jobs = (num, build), (den, builds.SIMPY if den == "a" else build)
            wall = figures.throughput_ratio(*jobs)
            cpu = figures.throughput_ratio(*jobs, cpu=True)
            if wall is not None and cpu is not None:
                print(f"{f'({num})/({den}) {name}, {build}':44} {wall:6.2f}x {cpu:6.2f}x")
        mesh_vs_foundation = figures.throughput_ratio(("c", build), ("b", build))
        if mesh_vs_foundation:
            print(
                f"the mesh costs {1 / mesh_vs_foundation:.2f}x the foundation's wall time "
                f"per request ({build})"
            )


def model_text(figures: Figures, model: str, name: str) -> str:
    """``(b) foundation compiled 0.5 s (400k req/s), ... -> pure/compiled 2.2x, ...``"""
    walls = figures.walls(model)
    times = []
    for build, build_walls in walls.items():
        if build == builds.SIMPY and model == "c":
            continue  # the same (a) runs as the foundation's, given once
        job = ("a" if build == builds.SIMPY else model, build)
        rate = statistics.median(figures.rate(r) for r in figures.runs[job])
        times.append(
            f"{builds.NAMES[build]} {statistics.median(build_walls):.1f} s "
            f"({rate / 1000:.0f}k req/s)"
        )
    ratios = builds.median_ratios(walls)
    arrow = f" -> {builds.ratios_text(ratios, 1)}" if ratios else ""
    return f"({model}) {name} {', '.join(times)}{arrow}"


def summary_line(args: argparse.Namespace, figures: Figures, theory_ms: float) -> str:
    """The one-line SUMMARY: each model's times and rates by build, and the ratios."""
    models = {letter for letter, _ in figures.runs}
    parts = [
        model_text(figures, model, name)
        for model, name in (("b", "foundation"), ("c", f"mesh ({args.mesh_load_balancer})"))
        if model in models
    ]
    if not parts:  # SimPy alone
        (runs,) = figures.runs.values()
        rate = statistics.median(figures.rate(r) for r in runs)
        wall = statistics.median(r.wall_s for r in runs)
        parts.append(f"(a) SimPy {wall:.1f} s ({rate / 1000:.0f}k req/s)")
    mesh_costs = [
        f"{build} {ratio:.2f}x"
        for build in builds.FLEETSIM_BUILDS
        if (ratio := figures.throughput_ratio(("c", build), ("b", build))) is not None
    ]
    if mesh_costs:
        parts.append("(c)/(b) throughput " + ", ".join(mesh_costs))
    epr_b, epr_c = figures.events_per_request("b"), figures.events_per_request("c")
    if epr_b is not None and epr_c is not None:
        parts.append(f"events/request {epr_b:.2f} vs {epr_c:.2f}")
    first: dict[str, Job] = {}
    for job in figures.runs:
        first.setdefault(job[0], job)
    means = ", ".join(
        f"({model}) {figures.mean_latency(first[model]):.2f}" for model in sorted(first)
    )
    return (
        f"SUMMARY: {PODS} pods x {WORKERS} workers, rho 0.7, {args.measured:g}+{args.warmup:g} s "
        f"simulated, median of {args.rounds}: "
        + "; ".join(parts)
        + f"; mean latency {means} ms (M/M/{WORKERS} {theory_ms:.2f} ms)"
    )


def print_header(args: argparse.Namespace, source: str, theory_ms: float) -> None:
    rho = RATE_PER_S * MEAN_SERVICE_S / (PODS * WORKERS)
    print(
        f"fleet: {PODS} pods x {WORKERS} workers, exponential {MEAN_SERVICE_S * 1e3:g} ms, "
        f"Poisson {RATE_PER_S:.0f}/s (rho = {rho:.2f}); "
        f"{args.measured:g} s measured + {args.warmup:g} s warm-up"
    )
    print("(a) SimPy, hand-written model, RANDOM")
    print(f"(b) fleetsim: {source}, RANDOM")
    print(
        f"(c) fleetsim, same with mesh: {{}} (sidecars, ingress gateway), "
        f"{args.mesh_load_balancer}, retries: {{attempts: 0}}"
    )
    print(f"builds, each run in a fresh process: {builds.preflight(args.builds)}")
    print(
        f"Python {sys.version.split()[0]}; M/M/{WORKERS} theory (RANDOM): "
        f"mean latency {theory_ms:.3f} ms"
    )
    print()


def print_mesh_run(summary: Mapping[str, Any]) -> None:
    """What the last mesh run's proxies did: nothing failed, the pools were used."""
    (service,) = summary["services"].values()
    print(
        f"mesh run (last round): {summary['requests']['succeeded']:,} succeeded, "
        f"{summary['requests']['failed']} failed, {summary['retries']} retries; "
        f"sidecar connections mean {service['connections']['sidecar']['mean']:.1f}, "
        f"connects/s {service['connects_per_s']['sidecar']}; "
        f"share max/mean {service['pods']['share_max_over_mean']:.3f}"
    )


def parent(args: argparse.Namespace) -> int:
    """Run every round's children, check them, report."""
    _, source = fleetsim_scenario(args.scenario, args.measured, args.warmup)
    theory_ms = 1000.0 * mmc_mean_sojourn(RATE_PER_S / PODS, 1.0 / MEAN_SERVICE_S, WORKERS)
    print_header(args, source, theory_ms)
    jobs = round_jobs(args.builds)
    figures = Figures(jobs, args.measured, args.warmup)
    problems: list[str] = []
    mesh_summary: Mapping[str, Any] = {}
    for rnd in range(args.rounds):
        seed = args.seed + rnd
        for job in jobs:
            record = run_job(args, job, seed)
            figures.runs[job].append(RunResult.from_record(record))
            problems += job_problems(job, seed, record, args.measured, theory_ms)
            if job[0] == "c":
                mesh_summary = record["summary"]
        print(round_line(figures, rnd, seed, args.rounds), flush=True)

    print()
    print(f"median of {args.rounds}, {args.measured:g}+{args.warmup:g} s simulated:")
    print_table(figures, args.mesh_load_balancer)
    for model in "bc":
        ratios = builds.median_ratios(figures.walls(model))
        if ratios:
            print(
                f"({model}) median of the per-round wall-time ratios: {builds.ratios_text(ratios)}"
            )
        by_build = {b: rs for (m, b), rs in figures.runs.items() if m == model}
        agreement = same_model(by_build)
        if agreement:
            print(f"({model}) {agreement}")
    if mesh_summary:
        print_mesh_run(mesh_summary)
    print(summary_line(args, figures, theory_ms))

    means = {job[1]: figures.mean_latency(job) for job in jobs if job[0] != "c"}
    problems += [f"(a) and (b): {p}" for p in latency_problems(means, theory_ms)]
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    return builds.main(parse_args(argv), child, parent)


if __name__ == "__main__":
    sys.exit(main())
