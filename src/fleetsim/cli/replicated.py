"""``run --seeds N`` and ``compare --seeds N``: each variant with N seeds, mean ± 95 % CI.

Seeds are ``--seed`` (or ``spec.seed``), then +1, +2, ...; the runs go to local worker
processes. With ``--out`` each run's results are written as it ends, to
``DIR/seed-<s>/`` (``run``) or ``DIR/<variant>/seed-<s>/`` (``compare``), and the
means and intervals to ``DIR/aggregate.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from fleetsim.cli import common
from fleetsim.cli.common import EXIT_OK

HEADLINE = (
    "requests.total",
    "failure_rate",
    "throughput_rps",
    "goodput_rps",
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
)


def execute_run(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    return _execute(args, [args.variant], stdout, stderr, per_variant_dirs=False)


def execute_compare(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.scenario.loader import load_scenario

    names = load_scenario(args.scenario).variant_names
    return _execute(args, [None, *names], stdout, stderr, per_variant_dirs=True)


def _execute(
    args: argparse.Namespace,
    variants: list[str | None],
    stdout: Console,
    stderr: Console,
    *,
    per_variant_dirs: bool,
) -> int:
    from fleetsim.experiments.backends import run_local
    from fleetsim.experiments.sweep import Task, run_task_result

    document = _document(args.scenario)
    seeds = _seeds(document, args)
    tasks = []
    for variant in variants:
        _check(args, variant)
        tasks += [
            Task(variant or "baseline", seed, document, variant, args.duration, args.warmup)
            for seed in seeds
        ]
    summaries: dict[str, dict[int, dict[str, Any]]] = {}

    def done(task: Task, result: Any) -> None:
        summaries.setdefault(task.point_id, {})[task.seed] = result.summary
        if args.out:
            base = Path(args.out) / task.point_id if per_variant_dirs else Path(args.out)
            result.write(base / f"seed-{task.seed}")

    run_local(tasks, done, work=run_task_result)
    # In the scenario's order, not the order the parallel runs happened to end in.
    ordered = {name: summaries[name] for name in (v or "baseline" for v in variants)}
    aggregate = _aggregate(ordered, seeds)
    if args.out:
        from fleetsim.result import json_text, write_atomic

        write_atomic(Path(args.out) / "aggregate.json", json_text(aggregate))
    if args.json:
        sys.stdout.write(json.dumps(aggregate, indent=2) + "\n")
    else:
        stdout.print(_table(args.scenario, aggregate))
        if args.out:
            stdout.print(f"results written to {args.out}/")
    return EXIT_OK


def _document(scenario: str) -> dict[str, Any]:
    from fleetsim.scenario.loader import load_scenario

    load_scenario(scenario)  # reports any problem with the file itself
    document: dict[str, Any] = yaml.safe_load(Path(scenario).read_text(encoding="utf-8"))
    return document


def _seeds(document: dict[str, Any], args: argparse.Namespace) -> list[int]:
    from fleetsim.experiments.sweep import seeds_of

    if args.seed is not None:
        return [args.seed + offset for offset in range(args.seeds)]
    return seeds_of(document, args.seeds)


def _check(args: argparse.Namespace, variant: str | None) -> None:
    from fleetsim.scenario.loader import load_scenario

    loaded = load_scenario(
        args.scenario, variant=variant, duration=args.duration, warmup=args.warmup
    )
    common.refuse_absurd(loaded, args)


def _aggregate(summaries: dict[str, dict[int, dict[str, Any]]], seeds: list[int]) -> dict[str, Any]:
    from fleetsim.experiments.replications import estimate
    from fleetsim.experiments.sweep import metric

    variants: dict[str, Any] = {}
    for variant, by_seed in summaries.items():
        found: dict[str, Any] = {}
        for name in HEADLINE:
            values = [v for s in seeds if (v := metric(by_seed[s], name)) is not None]
            if values:
                found[name] = estimate(values).as_dict()
        variants[variant] = found
    return {"seeds": seeds, "variants": variants}


def _table(scenario: str, aggregate: dict[str, Any]) -> Table:
    seeds = aggregate["seeds"]
    table = Table(title=f"{scenario}: {len(seeds)} seeds (mean ± 95% CI)")
    names = list(dict.fromkeys(n for found in aggregate["variants"].values() for n in found))
    table.add_column("variant")
    for name in names:
        table.add_column(name, justify="right")
    for variant, found in aggregate["variants"].items():
        cells = [_cell(found.get(name)) for name in names]
        table.add_row(variant, *cells)
    return table


def _cell(found: dict[str, Any] | None) -> str:
    if found is None:
        return "-"
    mean = common.figure(found["mean"])
    return mean if found["ci95"] is None else f"{mean} ± {common.figure(found['ci95'])}"
