"""``fleetsim isolate``: switch each mechanism off in turn and rank them by a metric."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from fleetsim.cli.common import (
    EXIT_BAD_SCENARIO,
    EXIT_OK,
    PROGRESS,
    add_force_option,
    add_window_options,
    figure,
    refuse_absurd,
    seed_option,
    show_progress,
)

if TYPE_CHECKING:
    from rich.table import Table

    from fleetsim.experiments.isolate import IsolationResult

ISOLATE_DESCRIPTION = """\
Process of elimination: run the scenario (its baseline, or --variant) once as it is,
then once with each candidate mechanism switched off in turn, and rank the candidates
by how far the metric moves. Candidates are only the mechanisms that are on in the
scenario: retries (attempts: 0, Istio's default too in a mesh), outlier-detection,
probes, hpa, warm-up (coldStart), cpu-limits, node-agent-scan (cAdvisor
referencedMemory), stop-the-world-pauses, disk-stalls (burst writers, sync writes).
Every run uses the same seed (--seed, else spec.seed), so a difference comes from the
mechanism switched off, not from random noise."""


def register(commands: Any) -> None:
    isolate = commands.add_parser(
        "isolate",
        help="switch each mechanism off in turn and rank them by how far a metric moves",
        description=ISOLATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    isolate.add_argument("scenario", help="scenario YAML file")
    isolate.add_argument("--variant", help="a name from spec.variants (default: the baseline)")
    isolate.add_argument(
        "--metric",
        required=True,
        metavar="PATH",
        help="dotted path into the run's summary, e.g. latency_ms.p9999, "
        "requests.timed_out, services.search.latency_ms.max",
    )
    isolate.add_argument(
        "--out",
        metavar="FILE",
        help="write the ranking as JSON to FILE (relative_change: 0.25 = +25%%)",
    )
    isolate.add_argument(
        "--seed", type=seed_option, help="override spec.seed (the same in every run; >= 0)"
    )
    isolate.add_argument("--json", action="store_true", help="print only the ranking JSON")
    add_force_option(isolate)
    isolate.add_argument("--quiet", action="store_true", help="no progress bar")
    add_window_options(isolate)
    isolate.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.experiments.isolate import MetricError, isolate
    from fleetsim.report.progress import progress_bar
    from fleetsim.result import write_atomic
    from fleetsim.scenario.loader import load_scenario

    loaded = load_scenario(
        args.scenario, variant=args.variant, duration=args.duration, warmup=args.warmup
    )
    refuse_absurd(loaded, args)
    enabled = show_progress(args, stdout)
    try:
        result = isolate(
            args.scenario,
            args.metric,
            variant=args.variant,
            seed=args.seed,
            duration=args.duration,
            warmup=args.warmup,
            progress=lambda label: progress_bar(PROGRESS, escape(label), enabled),
        )
    except MetricError as error:
        print(f"fleetsim isolate: {error}", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    if args.out:
        write_atomic(Path(args.out), result.to_json())
    if args.json:
        sys.stdout.write(result.to_json())
    else:
        stdout.print(isolation_table(result))
        if not result.candidates:
            stdout.print("No candidate mechanism is on in this scenario.")
        if args.out:
            stdout.print(f"results written to {args.out}")
    return EXIT_OK


def isolation_table(result: IsolationResult) -> Table:
    """The as-is value, then the candidates ranked by absolute change of the metric."""
    from rich.table import Table

    table = Table(
        title=escape(
            f"{result.scenario} [{result.variant}] seed {result.seed}: "
            f"{result.metric} with each mechanism switched off"
        ),
        title_justify="left",
    )
    table.add_column("mechanism")
    table.add_column("switched off")
    table.add_column(result.metric, justify="right")
    table.add_column("change", justify="right")
    table.add_column("change %", justify="right")
    table.add_row("(as is)", "nothing", figure(result.as_is), "", "")
    for candidate in result.candidates:
        relative = candidate.relative_change
        table.add_row(
            candidate.mechanism,
            escape(candidate.switched_off),
            figure(candidate.value),
            figure(candidate.change, "+"),
            "-" if relative is None else f"{100 * relative:+.1f}%",
        )
    return table
