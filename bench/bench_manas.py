"""Benchmark: S1 (``manas-pagetable-scan``), fleetsim against SimPy on the same model.

S1 needs tens of millions of requests per variant: one stalled query in about a million.
This script runs the scenario's baseline with fleetsim (the file as users run it, with
its duration and warm-up replaced by the bench's) and the same fleet written in SimPy the
way an ordinary SimPy user would, and reports simulated requests per wall second for
each and the ratios. fleetsim runs with each build of its hot modules, compiled (mypyc)
and pure Python (``FLEETSIM_PURE=1``); every run is a fresh child process
(``bench/builds.py``), round after round in the order fleetsim compiled, fleetsim pure,
SimPy (``--builds`` picks a subset), and the script refuses to report if a fleetsim child
did not run the build it was asked for.

**The SimPy model.** 200 leaves, each a ``simpy.Resource(capacity=8)``; Poisson arrivals
at 40,000/s sent round robin; lognormal service times (p50 8 ms, p99 30 ms); per leaf,
one cAdvisor process that, from a uniform phase, walks the 1 TiB map (smaps, then
clear_refs, each ``4.8 s x`` a lognormal factor of mean 1 and sigma 0.3) and waits 30 s;
a query takes a page fault with probability 12e-6 and, if the clear_refs walk holds its
leaf's lock, waits for it to end on its worker. Queries slower than the 2 s client
timeout count as timed out. What fleetsim does beyond that (readiness probes every 10 s,
per-second CPU accounting against the CFS limit, per-interval series, the client
timeout as a real timer) it pays for and SimPy does not.

Both report the stalled queries, so the models can be checked against each other: each
fleetsim build's count must agree with SimPy's within 4 binomial standard deviations
(they use different random numbers; the check needs SimPy in ``--builds``).

Run from the repository root:
    python bench/bench_manas.py                  # 60 s measured, 2 rounds, ~5 min
    python bench/bench_manas.py --measured 600 --rounds 1   # the scenario's full 10 min
    python bench/bench_manas.py --builds compiled,simpy      # leave pure Python out
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import statistics
import sys
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import builds
import simpy
import yaml

import fleetsim

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
SCENARIO = REPO / "scenarios" / "manas-pagetable-scan.yaml"
LEAVES = 200
WORKERS = 8
RATE_PER_S = 40_000.0
P50_S, P99_S = 0.008, 0.030
Z_99 = 2.3263478740408408
INTERVAL_S = 30.0
WALK_S = 4.8  # per phase, 1 TiB at 4.8 s/TiB
WALK_SIGMA = 0.3
FAULT_PROBABILITY = 12e-6
TIMEOUT_S = 2.0


@dataclass(frozen=True)
class RunResult:
    wall_s: float
    requests: int  # in the measured window
    stalled: int
    timed_out: int

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunResult:
        """The run a child's JSON line describes."""
        return cls(**{field.name: record[field.name] for field in fields(cls)})


def fleetsim_scenario(measured_s: float, warmup_s: float) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    document["spec"]["duration"] = measured_s
    document["spec"]["warmup"] = warmup_s
    return document


def run_fleetsim(document: dict[str, Any], seed: int) -> tuple[RunResult, dict[str, Any]]:
    """Run the baseline; returns its figures and the summary."""
    start = time.perf_counter()
    summary = fleetsim.run(copy.deepcopy(document), seed=seed).summary
    wall = time.perf_counter() - start
    run = RunResult(
        wall,
        int(summary["requests"]["total"]),
        int(summary["services"]["leaf"]["stalls"]["mmap_lock"]["count"]),
        int(summary["requests"]["timed_out"]),
    )
    return run, summary


def run_simpy(seed: int, measured_s: float, warmup_s: float) -> RunResult:
    start = time.perf_counter()
    rng = random.Random(seed)
    env = simpy.Environment()
    leaves = [simpy.Resource(env, capacity=WORKERS) for _ in range(LEAVES)]
    locks = [[0.0, 0.0] for _ in range(LEAVES)]  # [write_from, held_until]
    mu, sigma = math.log(P50_S), (math.log(P99_S) - math.log(P50_S)) / Z_99
    counts = {"requests": 0, "stalled": 0, "timed_out": 0}

    def walk() -> float:
        return WALK_S * math.exp(rng.gauss(0.0, WALK_SIGMA) - WALK_SIGMA**2 / 2)

    def cadvisor(index: int) -> Generator[Any, Any, None]:
        yield env.timeout(rng.random() * INTERVAL_S)
        while True:
            read, write = walk(), walk()
            locks[index][0] = env.now + read
            locks[index][1] = env.now + read + write
            yield env.timeout(read + write + INTERVAL_S)

    def query(index: int) -> Generator[Any, Any, None]:
        arrived = env.now
        with leaves[index].request() as worker:
            yield worker
            service = rng.lognormvariate(mu, sigma)
            stalled = False
            if rng.random() < FAULT_PROBABILITY:
                write_from, held_until = locks[index]
                if write_from <= env.now < held_until:
                    service += held_until - env.now
                    stalled = True
            yield env.timeout(service)
        if arrived >= warmup_s:
            counts["requests"] += 1
            counts["stalled"] += stalled
            counts["timed_out"] += env.now - arrived > TIMEOUT_S

    def source() -> Generator[Any, Any, None]:
        index = 0
        while True:
            yield env.timeout(rng.expovariate(RATE_PER_S))
            env.process(query(index))
            index = (index + 1) % LEAVES

    for index in range(LEAVES):
        env.process(cadvisor(index))
    env.process(source())
    env.run(until=warmup_s + measured_s)
    wall = time.perf_counter() - start
    return RunResult(wall, counts["requests"], counts["stalled"], counts["timed_out"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=30.0, help="warm-up seconds")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each build")
    parser.add_argument("--seed", type=int, default=11, help="seed of the first round")
    args = builds.parse_args(parser, argv)
    return args


def child(args: argparse.Namespace) -> int:
    """One run of the build ``--child`` names, printed as the JSON line the parent reads."""
    if args.child == builds.SIMPY:
        run = run_simpy(args.seed, args.measured, args.warmup)
        builds.emit(args.child, args.seed, asdict(run))
        return 0
    document = fleetsim_scenario(args.measured, args.warmup)
    builds.prime(document, args.seed)
    run, summary = run_fleetsim(document, args.seed)
    builds.emit(
        args.child, args.seed, {**asdict(run), "summary": builds.summary_figures(summary, ())}
    )
    return 0


def stall_problems(stalled: Mapping[str, int]) -> list[str]:
    """Each fleetsim build's stalled queries against SimPy's, within 4 sd."""
    if builds.SIMPY not in stalled:
        return []
    theirs = stalled[builds.SIMPY]
    problems = []
    for build in builds.FLEETSIM_BUILDS:
        if build not in stalled:
            continue
        tolerance = 4 * math.sqrt(max(stalled[build] + theirs, 1))
        if abs(stalled[build] - theirs) > tolerance:
            problems.append(
                f"fleetsim {build} and SimPy disagree on the stalled queries beyond 4 sd "
                f"({stalled[build]} against {theirs})"
            )
    return problems


def report(args: argparse.Namespace, runs: Mapping[str, Sequence[RunResult]]) -> int:
    """Rates, ratios, stalled queries and the SUMMARY line; 1 if the models disagree."""
    scale = (args.measured + args.warmup) / args.measured
    walls = {b: statistics.median(r.wall_s for r in rs) for b, rs in runs.items()}
    rates = {
        b: statistics.fmean(r.requests for r in rs) * scale / walls[b] for b, rs in runs.items()
    }
    ratios = builds.median_ratios({b: [r.wall_s for r in rs] for b, rs in runs.items()})
    stalled = {b: sum(r.stalled for r in rs) for b, rs in runs.items()}
    for build, rate in rates.items():
        print(
            f"{builds.NAMES[build]}: {rate:,.0f} simulated requests per wall second "
            f"(median {walls[build]:.1f} s)"
        )
    if ratios:
        print(f"median of the per-round wall-time ratios: {builds.ratios_text(ratios)}")
    requests = sum(r.requests for r in next(iter(runs.values())))
    expected = requests * FAULT_PROBABILITY * WALK_S / (INTERVAL_S + 2 * WALK_S)
    print(
        "stalled queries: "
        + ", ".join(f"{builds.NAMES[b]} {count}" for b, count in stalled.items())
        + f", closed form ~{expected:.1f} (p x W / (interval + 2W))"
    )
    print(
        f"SUMMARY: S1 baseline {args.measured:g}+{args.warmup:g} s x {args.rounds}: "
        + ", ".join(
            f"{builds.NAMES[b]} {walls[b]:.1f} s ({rates[b]:,.0f} req/s wall)" for b in runs
        )
        + (f" -> {builds.ratios_text(ratios)}" if ratios else "")
    )
    problems = stall_problems(stalled)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def parent(args: argparse.Namespace) -> int:
    """Alternate the builds' children round after round, then report."""
    print(f"builds, each run in a fresh process: {builds.preflight(args.builds)}")
    runs: dict[str, list[RunResult]] = {build: [] for build in args.builds}
    arguments = ["--measured", repr(args.measured), "--warmup", repr(args.warmup)]
    rounds = builds.alternate(SCRIPT, args.builds, args.rounds, args.seed, lambda b, s: arguments)
    for rnd, seed, records in rounds:
        for build, record in records.items():
            runs[build].append(RunResult.from_record(record))
        this_round = {build: rs[-1] for build, rs in runs.items()}
        ratios = builds.median_ratios({b: [r.wall_s] for b, r in this_round.items()})
        print(
            f"round {rnd + 1} (seed {seed}): "
            + ", ".join(
                f"{builds.NAMES[b]} {r.wall_s:.1f} s ({r.stalled} stalled, {r.timed_out} timed out)"
                for b, r in this_round.items()
            )
            + (f", {builds.ratios_text(ratios)}" if ratios else ""),
            flush=True,
        )
    return report(args, runs)


def main(argv: list[str] | None = None) -> int:
    return builds.main(parse_args(argv), child, parent)


if __name__ == "__main__":
    sys.exit(main())
