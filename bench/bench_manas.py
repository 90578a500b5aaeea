"""Benchmark: S1 (``manas-pagetable-scan``), fleetsim against SimPy on the same model.

S1 needs tens of millions of requests per variant: one stalled query in about a million.
This script runs the scenario's baseline with fleetsim (the file as users run it, with
its duration and warm-up replaced by the bench's) and the same fleet written in SimPy the
way an ordinary SimPy user would, in one process, alternating, and reports simulated
requests per wall second for each and the ratio.

**The SimPy model.** 200 leaves, each a ``simpy.Resource(capacity=8)``; Poisson arrivals
at 40,000/s sent round robin; lognormal service times (p50 8 ms, p99 30 ms); per leaf,
one cAdvisor process that, from a uniform phase, walks the 1 TiB map (smaps, then
clear_refs, each ``4.8 s x`` a lognormal factor of mean 1 and sigma 0.3) and waits 30 s;
a query takes a page fault with probability 12e-6 and, if the clear_refs walk holds its
leaf's lock, waits for it to end on its worker. Queries slower than the 2 s client
timeout count as timed out. What fleetsim does beyond that (readiness probes every 10 s,
per-second CPU accounting against the CFS limit, per-interval series, the client
timeout as a real timer) it pays for and SimPy does not.

Both report the stalled queries, so the models can be checked against each other: the
counts must agree within 4 binomial standard deviations (they use different random
numbers).

Run from the repository root:
    python bench/bench_manas.py                  # 60 s measured, 2 rounds, ~5 min
    python bench/bench_manas.py --measured 600 --rounds 1   # the scenario's full 10 min
"""

from __future__ import annotations

import argparse
import copy
import math
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
import fleetsim.simulation  # imported here so that neither timed run pays for it

REPO = Path(__file__).resolve().parent.parent
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


def fleetsim_scenario(measured_s: float, warmup_s: float) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    document["spec"]["duration"] = measured_s
    document["spec"]["warmup"] = warmup_s
    return document


def run_fleetsim(document: dict[str, Any], seed: int) -> RunResult:
    start = time.perf_counter()
    summary = fleetsim.run(copy.deepcopy(document), seed=seed).summary
    wall = time.perf_counter() - start
    return RunResult(
        wall,
        int(summary["requests"]["total"]),
        int(summary["services"]["leaf"]["stalls"]["mmap_lock"]["count"]),
        int(summary["requests"]["timed_out"]),
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=30.0, help="warm-up seconds")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each simulator")
    parser.add_argument("--seed", type=int, default=11, help="seed of the first round")
    args = parser.parse_args(argv)
    document = fleetsim_scenario(args.measured, args.warmup)
    total_s = args.measured + args.warmup
    ours: list[RunResult] = []
    theirs: list[RunResult] = []
    for round_number in range(args.rounds):
        seed = args.seed + round_number
        ours.append(run_fleetsim(document, seed))
        theirs.append(run_simpy(seed, args.measured, args.warmup))
        print(
            f"round {round_number + 1}: fleetsim {ours[-1].wall_s:.1f} s "
            f"({ours[-1].stalled} stalled, {ours[-1].timed_out} timed out), "
            f"SimPy {theirs[-1].wall_s:.1f} s ({theirs[-1].stalled} stalled, "
            f"{theirs[-1].timed_out} timed out), ratio {theirs[-1].wall_s / ours[-1].wall_s:.2f}",
            flush=True,
        )
    ours_wall = statistics.median(r.wall_s for r in ours)
    theirs_wall = statistics.median(r.wall_s for r in theirs)
    scale = total_s / args.measured
    ours_rate = statistics.fmean(r.requests for r in ours) * scale / ours_wall
    theirs_rate = statistics.fmean(r.requests for r in theirs) * scale / theirs_wall
    requests = sum(r.requests for r in ours)
    expected = requests * FAULT_PROBABILITY * WALK_S / (INTERVAL_S + 2 * WALK_S)
    stalled_ours = sum(r.stalled for r in ours)
    stalled_theirs = sum(r.stalled for r in theirs)
    for name, rate, wall in (
        ("fleetsim", ours_rate, ours_wall),
        ("SimPy", theirs_rate, theirs_wall),
    ):
        print(f"{name}: {rate:,.0f} simulated requests per wall second (median {wall:.1f} s)")
    print(
        f"stalled queries: fleetsim {stalled_ours}, SimPy {stalled_theirs}, "
        f"closed form ~{expected:.1f} (p x W / (interval + 2W))"
    )
    print(
        f"SUMMARY: S1 baseline {args.measured:g}+{args.warmup:g} s x {args.rounds}: "
        f"fleetsim {ours_rate:,.0f} req/s wall, SimPy {theirs_rate:,.0f} req/s wall, "
        f"ratio {theirs_wall / ours_wall:.2f}x"
    )
    tolerance = 4 * math.sqrt(max(stalled_ours + stalled_theirs, 1))
    if abs(stalled_ours - stalled_theirs) > tolerance:
        print("the two models disagree on the stalled queries beyond 4 sd", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
