"""Benchmark: S2 (``hbase-region-imbalance``), fleetsim against SimPy on the same model.

This script runs the scenario with fleetsim (the file as users run it, with the
balancer off and regions too large to split, so that the assignment stays put and both
simulators model the same thing) and the same cluster written in SimPy the way an
ordinary SimPy user would, in one process, alternating, and reports simulated requests
per wall second for each and the ratio.

**The SimPy model.** 10 region servers, each a ``simpy.Resource(capacity=8)``; table
``pins`` pre-split into 25 regions of equal key ranges, assigned round robin (so servers
hold 3 or 2); table ``events`` in 10 regions, one per server, continuing the round
robin. Poisson arrivals: 20,000 gets/s on ``pins`` with uniform keys, 500 puts/s on
``events`` with timestamp keys (all to its last region, 1.5 service times each), 200
gets/s on ``events`` with uniform keys; a key's region by bisection, as fleetsim's
client does; lognormal service times (p50 1.5 ms, p99 8 ms). What fleetsim does beyond
that (the client's region cache and retry machinery, per-try and client timeouts as
real timers, per-interval series, the master's ZooKeeper watch) it pays for and SimPy
does not.

Both report each server's share of the ``pins`` reads; the shares must agree with each
other and with the closed form (regions held / 25) within 4 binomial standard
deviations.

Run from the repository root:
    python bench/bench_storage.py              # 60 s measured, 2 rounds, ~3 min
"""

from __future__ import annotations

import argparse
import bisect
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
SCENARIO = REPO / "scenarios" / "hbase-region-imbalance.yaml"
SERVERS = 10
WORKERS = 8
PINS_REGIONS = 25
EVENTS_REGIONS = 10
READS_PER_S, WRITES_PER_S, EVENT_READS_PER_S = 20_000.0, 500.0, 200.0
WRITE_COST = 1.5
P50_S, P99_S = 0.0015, 0.008
Z_99 = 2.3263478740408408


@dataclass(frozen=True)
class RunResult:
    wall_s: float
    requests: int  # in the measured window, all traffic
    pins_shares: list[float]  # per server, by server index


def fleetsim_scenario(measured_s: float, warmup_s: float) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    spec = document["spec"]
    spec["duration"], spec["warmup"] = measured_s, warmup_s
    spec["storage"]["balancer"] = {"enabled": False}
    spec["storage"]["tables"][1]["maxFileSize"] = "1Pi"  # no split in the run
    spec.pop("variants")
    return document


def run_fleetsim(document: dict[str, Any], seed: int) -> RunResult:
    start = time.perf_counter()
    summary = fleetsim.run(copy.deepcopy(document), seed=seed).summary
    wall = time.perf_counter() - start
    servers = summary["storage"]["tables"]["pins"]["servers"]
    shares = [server["share"] for server in servers.values()]
    return RunResult(wall, int(summary["requests"]["total"]), shares)


def run_simpy(seed: int, measured_s: float, warmup_s: float) -> RunResult:
    start = time.perf_counter()
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=WORKERS) for _ in range(SERVERS)]
    mu, sigma = math.log(P50_S), (math.log(P99_S) - math.log(P50_S)) / Z_99
    pins_starts = [index / PINS_REGIONS for index in range(PINS_REGIONS)]
    events_starts = [index / EVENTS_REGIONS for index in range(EVENTS_REGIONS)]
    first = rng.randrange(SERVERS)  # the round robin starts at a random server
    counts = {"requests": 0}
    pins_reads = [0] * SERVERS

    def server_of(region: int) -> int:
        return (first + region) % SERVERS

    def operation(server: int, cost: float, pins: bool) -> Generator[Any, Any, None]:
        arrived = env.now
        with servers[server].request() as worker:
            yield worker
            yield env.timeout(rng.lognormvariate(mu, sigma) * cost)
        if arrived >= warmup_s:
            counts["requests"] += 1
            if pins:
                pins_reads[server] += 1

    def source(rate: float, kind: str) -> Generator[Any, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(rate))
            if kind == "pin-reads":
                region = bisect.bisect_right(pins_starts, rng.random()) - 1
                env.process(operation(server_of(region), 1.0, True))
            elif kind == "event-writes":  # timestamp keys: the last region
                env.process(
                    operation(server_of(PINS_REGIONS + EVENTS_REGIONS - 1), WRITE_COST, False)
                )
            else:
                region = bisect.bisect_right(events_starts, rng.random()) - 1
                env.process(operation(server_of(PINS_REGIONS + region), 1.0, False))

    env.process(source(READS_PER_S, "pin-reads"))
    env.process(source(WRITES_PER_S, "event-writes"))
    env.process(source(EVENT_READS_PER_S, "event-reads"))
    env.run(until=warmup_s + measured_s)
    wall = time.perf_counter() - start
    total = sum(pins_reads)
    shares = [count / total for count in pins_reads]
    return RunResult(wall, counts["requests"], shares)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="warm-up seconds")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each simulator")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
    args = parser.parse_args(argv)
    document = fleetsim_scenario(args.measured, args.warmup)
    ours: list[RunResult] = []
    theirs: list[RunResult] = []
    for round_number in range(args.rounds):
        seed = args.seed + round_number
        ours.append(run_fleetsim(document, seed))
        theirs.append(run_simpy(seed, args.measured, args.warmup))
        print(
            f"round {round_number + 1}: fleetsim {ours[-1].wall_s:.1f} s, SimPy "
            f"{theirs[-1].wall_s:.1f} s, ratio {theirs[-1].wall_s / ours[-1].wall_s:.2f}",
            flush=True,
        )
    ours_wall = statistics.median(r.wall_s for r in ours)
    theirs_wall = statistics.median(r.wall_s for r in theirs)
    scale = (args.measured + args.warmup) / args.measured
    ours_rate = statistics.fmean(r.requests for r in ours) * scale / ours_wall
    theirs_rate = statistics.fmean(r.requests for r in theirs) * scale / theirs_wall
    for name, rate, wall in (
        ("fleetsim", ours_rate, ours_wall),
        ("SimPy", theirs_rate, theirs_wall),
    ):
        print(f"{name}: {rate:,.0f} simulated requests per wall second (median {wall:.1f} s)")
    reads = READS_PER_S * args.measured
    agree = True
    for label, run in (("fleetsim", ours[0]), ("SimPy", theirs[0])):
        shares = sorted(run.pins_shares)
        print(f"{label} pins shares: " + ", ".join(f"{share:.4f}" for share in shares))
        expected = sorted([2 / 25] * 5 + [3 / 25] * 5)
        for share, exact in zip(shares, expected, strict=True):
            if abs(share - exact) > 4 * math.sqrt(exact * (1 - exact) / reads):
                agree = False
    print(
        f"SUMMARY: S2 {args.measured:g}+{args.warmup:g} s x {args.rounds}: "
        f"fleetsim {ours_rate:,.0f} req/s wall, SimPy {theirs_rate:,.0f} req/s wall, "
        f"ratio {theirs_wall / ours_wall:.2f}x"
    )
    if not agree:
        print(
            "a server's share of the pins reads is off the closed form beyond 4 sd", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
