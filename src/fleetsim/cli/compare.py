"""``fleetsim compare``: the baseline and the variants of a scenario side by side."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from fleetsim.cli import common
from fleetsim.cli.common import EXIT_INTERRUPTED, EXIT_OK, add_run_options
from fleetsim.cli.report import write_for_runs
from fleetsim.errors import ScenarioError


def register(commands: Any) -> None:
    compare = commands.add_parser(
        "compare", help="run the baseline and the variants side by side, with their changes"
    )
    compare.add_argument("scenario", help="scenario YAML file")
    compare.add_argument(
        "--variants",
        metavar="A,B",
        help="run only these variants (comma-separated names from spec.variants); the "
        "baseline always runs first, as the reference of every change",
    )
    add_run_options(compare)
    compare.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.scenario.loader import load_scenario

    if args.seeds > 1:
        from fleetsim.cli import replicated

        return replicated.execute_compare(args, stdout, stderr)
    common.prepare_out(args.out)
    scenario = load_scenario(args.scenario)
    names = chosen_variants(scenario.file, scenario.variant_names, args.variants)
    check_all(args, names)
    if not args.json:
        print_description(scenario, stdout)
    reported: list[Any] = []  # with --report: each run's results (rows per interval)
    summaries = run_all(args, names, scenario, stdout, reported)
    if summaries is None:
        return EXIT_INTERRUPTED
    print_results(args, summaries, list(scenario.scenario.metadata.watch), stdout)
    if args.report:
        write_for_runs(args.report, args.scenario, reported, stderr if args.json else stdout)
    return EXIT_OK


def chosen_variants(file: str, known: list[str], option: str | None) -> list[str]:
    """The variants ``--variants`` names (all when absent), in the file's order."""
    if option is None:
        return list(known)
    from fleetsim.fileformat import suggest

    asked = [name.strip() for name in option.split(",") if name.strip() and name != "baseline"]
    for name in asked:
        if name not in known:
            hint = suggest(name, known)
            mean = f" (did you mean {hint!r}?)" if hint else ""
            listed = ", ".join(known) if known else "none (the scenario has only the baseline)"
            raise ScenarioError(
                file, "--variants", f"no variant named {name!r}{mean}; known variants: {listed}"
            )
    if not asked and option.strip() != "baseline":
        raise ScenarioError(file, "--variants", "expected comma-separated variant names")
    return [name for name in known if name in asked]


def check_all(args: argparse.Namespace, names: list[str]) -> None:
    """Check every run's cost before spending time on any run."""
    from fleetsim.scenario.loader import load_scenario

    for name in [None, *names]:
        loaded = load_scenario(
            args.scenario, variant=name, duration=args.duration, warmup=args.warmup
        )
        common.refuse_absurd(loaded, args)


def print_description(scenario: Any, stdout: Console) -> None:
    description = scenario.scenario.metadata.description
    if description:
        stdout.print(escape(f"{scenario.scenario.metadata.name}: {description}"))


def run_all(
    args: argparse.Namespace,
    names: list[str],
    scenario: Any,
    stdout: Console,
    reported: list[Any],
) -> list[Any] | None:
    """Each run's summary; None when interrupted after something was written.

    Each run's results are written as soon as it ends, and only its summary is kept:
    an interrupted compare keeps what it finished, and memory does not grow per run.
    """
    summaries: list[Any] = []
    written: list[str] = []
    runs = [None, *names]
    try:
        for position, name in enumerate(runs, start=1):
            result = common.run_one(
                args.scenario, name, args, stdout, checked=True, position=(position, len(runs))
            )
            summaries.append(result.summary)
            common.say_warnings(result.summary)
            if args.report:
                reported.append(result)
            if position == 1:
                warn_unresolved(scenario, result.summary)
            if args.out:
                result.write(Path(args.out) / result.summary["variant"])
                written.append(result.summary["variant"])
            del result
            # A finished simulation is a web of cycles (processes, timers, pods): free it
            # now, not at the collector's next full pass, or peak memory grows per run.
            gc.collect()
    except KeyboardInterrupt:
        if not written:
            raise
        missing = [n for n in ["baseline", *names] if n not in written]
        print(
            f"fleetsim: interrupted; written to {args.out}/: {', '.join(written)}; "
            f"not written: {', '.join(missing)} and compare.json",
            file=sys.stderr,
        )
        return None
    return summaries


def warn_unresolved(scenario: Any, baseline: Any) -> None:
    """A watched path that names no number in the baseline is said on stderr, not fatal."""
    from fleetsim.summary.paths import MetricError, metric_value

    for index, path in enumerate(scenario.scenario.metadata.watch):
        try:
            metric_value(baseline, path)
        except MetricError as error:
            print(
                f"fleetsim: warning: {scenario.file}: metadata.watch[{index}]: {error}; not shown",
                file=sys.stderr,
            )


def print_results(
    args: argparse.Namespace, summaries: list[Any], watch: list[str], stdout: Console
) -> None:
    from fleetsim.report.compare_table import compare_tables
    from fleetsim.result import json_text, write_atomic

    if args.out:
        write_atomic(Path(args.out) / "compare.json", json_text({"runs": summaries}))
    if args.json:
        sys.stdout.write(json.dumps({"runs": summaries}, indent=2) + "\n")
        return
    for table in compare_tables(summaries, watch, stdout.width):
        stdout.print(table)
    if args.out:
        stdout.print(f"results written to {args.out}/")
