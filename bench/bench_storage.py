"""Benchmark: S2 (``hbase-region-imbalance``), fleetsim against SimPy on the same model.

This script runs the scenario with fleetsim (the file as users run it, with the
balancer off and regions too large to split, so that the assignment stays put and both
simulators model the same thing) and the same cluster written in SimPy the way an
ordinary SimPy user would, and reports simulated requests per wall second for each and
the ratios. fleetsim runs with each build of its hot modules, compiled (mypyc) and pure
Python (``FLEETSIM_PURE=1``); every run is a fresh child process (``bench/builds.py``),
round after round in the order fleetsim compiled, fleetsim pure, SimPy (``--builds``
picks a subset), and the script refuses to report if a fleetsim child did not run the
build it was asked for.

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

Every build reports each server's share of the ``pins`` reads; the shares must agree
with the closed form (regions held / 25) within 4 binomial standard deviations.

Run from the repository root:
    python bench/bench_storage.py              # 60 s measured, 2 rounds, ~3 min
    python bench/bench_storage.py --builds compiled,simpy   # leave pure Python out
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

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunResult:
        """The run a child's JSON line describes."""
        return cls(**{field.name: record[field.name] for field in fields(cls)})


def fleetsim_scenario(measured_s: float, warmup_s: float) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    spec = document["spec"]
    spec["duration"], spec["warmup"] = measured_s, warmup_s
    spec["storage"]["balancer"] = {"enabled": False}
    spec["storage"]["tables"][1]["maxFileSize"] = "1Pi"  # no split in the run
    spec.pop("variants")
    return document


def run_fleetsim(document: dict[str, Any], seed: int) -> tuple[RunResult, dict[str, Any]]:
    """Run the scenario; returns its figures and the summary."""
    start = time.perf_counter()
    summary = fleetsim.run(copy.deepcopy(document), seed=seed).summary
    wall = time.perf_counter() - start
    servers = summary["storage"]["tables"]["pins"]["servers"]
    shares = [server["share"] for server in servers.values()]
    return RunResult(wall, int(summary["requests"]["total"]), shares), summary


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="warm-up seconds")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each build")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first round")
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
    figures = builds.summary_figures(summary, ())  # the build the run recorded
    builds.emit(args.child, args.seed, {**asdict(run), "summary": figures})
    return 0


def shares_agree(run: RunResult, measured_s: float) -> bool:
    """Whether each server's share of the pins reads is within 4 sd of regions / 25."""
    reads = READS_PER_S * measured_s
    expected = sorted([2 / 25] * 5 + [3 / 25] * 5)
    return all(
        abs(share - exact) <= 4 * math.sqrt(exact * (1 - exact) / reads)
        for share, exact in zip(sorted(run.pins_shares), expected, strict=True)
    )


def report(args: argparse.Namespace, runs: Mapping[str, Sequence[RunResult]]) -> int:
    """Rates, ratios, the first round's shares and the SUMMARY line; 1 if a share is off."""
    scale = (args.measured + args.warmup) / args.measured
    walls = {b: statistics.median(r.wall_s for r in rs) for b, rs in runs.items()}
    rates = {
        b: statistics.fmean(r.requests for r in rs) * scale / walls[b] for b, rs in runs.items()
    }
    ratios = builds.median_ratios({b: [r.wall_s for r in rs] for b, rs in runs.items()})
    for build, rate in rates.items():
        print(
            f"{builds.NAMES[build]}: {rate:,.0f} simulated requests per wall second "
            f"(median {walls[build]:.1f} s)"
        )
    if ratios:
        print(f"median of the per-round wall-time ratios: {builds.ratios_text(ratios)}")
    off = []
    for build, build_runs in runs.items():
        shares = sorted(build_runs[0].pins_shares)
        print(f"{builds.NAMES[build]} pins shares: " + ", ".join(f"{s:.4f}" for s in shares))
        if not shares_agree(build_runs[0], args.measured):
            off.append(builds.NAMES[build])
    print(
        f"SUMMARY: S2 {args.measured:g}+{args.warmup:g} s x {args.rounds}: "
        + ", ".join(
            f"{builds.NAMES[b]} {walls[b]:.1f} s ({rates[b]:,.0f} req/s wall)" for b in runs
        )
        + (f" -> {builds.ratios_text(ratios)}" if ratios else "")
    )
    if off:
        print(
            f"ERROR: a server's share of the pins reads is off the closed form beyond 4 sd "
            f"({', '.join(off)})",
            file=sys.stderr,
        )
        return 1
    return 0


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
            + ", ".join(f"{builds.NAMES[b]} {r.wall_s:.1f} s" for b, r in this_round.items())
            + (f", {builds.ratios_text(ratios)}" if ratios else ""),
            flush=True,
        )
    return report(args, runs)


def main(argv: list[str] | None = None) -> int:
    return builds.main(parse_args(argv), child, parent)


if __name__ == "__main__":
    sys.exit(main())
