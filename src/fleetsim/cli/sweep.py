"""``fleetsim sweep``: a grid of settings times N seeds, mean and 95 % CI per point."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from fleetsim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_force_option,
    add_window_options,
    figure,
    refuse_absurd,
    seeds_option,
)


def register(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep", help="run a grid of settings with several seeds; mean and 95%% CI per point"
    )
    sweep.add_argument("scenario", help="scenario YAML file")
    sweep.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=V1,V2",
        help="a field of the file and its values (e.g. spec.services.search.replicas=32,64)",
    )
    sweep.add_argument("--seeds", type=seeds_option, default=1, help="seeds per point")
    sweep.add_argument("--out", metavar="DIR", help="write (and resume) the sweep here")
    sweep.add_argument("--backend", choices=("local", "ray"), default="local")
    sweep.add_argument("--address", help="Ray cluster address (default: auto)")
    sweep.add_argument("--workers", type=seeds_option, help="local processes (default: CPUs)")
    sweep.add_argument(
        "--metric", action="append", default=[], metavar="PATH", help="another summary field"
    )
    sweep.add_argument("--variant", help="a name from spec.variants (default: the baseline)")
    sweep.add_argument("--json", action="store_true", help="print only the results JSON")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    add_window_options(sweep)
    add_force_option(sweep)
    sweep.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.experiments import sweep as sweeps

    settings = [sweeps.parse_setting(text) for text in args.sets]
    plan = sweeps.plan(
        args.scenario,
        settings,
        args.seeds,
        variant=args.variant,
        duration=args.duration,
        warmup=args.warmup,
    )
    _refuse_absurd_points(plan, args)
    if args.backend == "ray":
        from fleetsim.experiments.backends import require_ray

        require_ray()
    store = sweeps.Store(args.out) if args.out else None
    if store is not None:
        store.claim(plan)
    summaries: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        _run_missing(plan, store, args, stderr, summaries)
    except KeyboardInterrupt:
        where = f"written to {args.out}/; the same command resumes" if args.out else "lost"
        print(
            f"fleetsim: interrupted; {len(summaries)} of {len(plan.tasks())} runs {where}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    metrics = sweeps.present_metrics(summaries.values(), args.metric)
    rows = sweeps.aggregate(plan, summaries, metrics)
    if store is not None:
        from fleetsim.result import write_atomic

        write_atomic(store.directory / sweeps.RESULTS_FILE, _csv(rows))
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        stdout.print(_table(plan, rows, metrics))
        if store is not None:
            stdout.print(f"results written to {store.directory}/")
    return EXIT_OK


def _refuse_absurd_points(plan: Any, args: argparse.Namespace) -> None:
    """Estimate every point's cost before any run; refuse (exit 2) one beyond the limits."""
    from fleetsim.scenario.loader import load_scenario

    for document in plan.documents.values():
        loaded = load_scenario(
            document, variant=args.variant, duration=args.duration, warmup=args.warmup
        )
        loaded.file = args.scenario
        refuse_absurd(loaded, args)


def _run_missing(
    plan: Any,
    store: Any,
    args: argparse.Namespace,
    stderr: Console,
    summaries: dict[tuple[str, int], dict[str, Any]],
) -> None:
    """Fill ``summaries`` with every run's: read from the directory when there, run
    otherwise (and written there as each run ends)."""
    from fleetsim.experiments import backends

    missing = []
    for task in plan.tasks():
        found = store.load(task.point_id, task.seed) if store is not None else None
        if found is None:
            missing.append(task)
        else:
            summaries[(task.point_id, task.seed)] = found
    columns = (
        TextColumn("runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    total = len(plan.tasks())
    with Progress(*columns, console=stderr, transient=True, disable=args.quiet) as bar:
        progress = bar.add_task("runs", total=total, completed=len(summaries))

        def done(task: Any, summary: dict[str, Any]) -> None:
            if store is not None:
                store.save(task.point_id, task.seed, summary)
            summaries[(task.point_id, task.seed)] = summary
            bar.advance(progress)

        if args.backend == "ray":
            backends.run_ray(missing, done, args.address)
        else:
            backends.run_local(missing, done, args.workers)


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _table(plan: Any, rows: list[dict[str, Any]], metrics: list[str]) -> Table:
    title = f"{plan.scenario}: {len(plan.points)} points x {len(plan.seeds)} seeds (mean ± 95% CI)"
    table = Table(title=title)
    for setting in plan.settings:
        table.add_column(setting.path)
    for name in metrics:
        table.add_column(name, justify="right")
    for row in rows:
        cells = [str(row[setting.path]) for setting in plan.settings]
        cells += [_cell(row[f"{name}.mean"], row[f"{name}.ci95"]) for name in metrics]
        table.add_row(*cells)
    return table


def _cell(mean: float | None, half_width: float | None) -> str:
    if mean is None:
        return "-"
    return figure(mean) if half_width is None else f"{figure(mean)} ± {figure(half_width)}"
