"""``fleetsim run``: one variant of a scenario, its summary printed and written."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console

from fleetsim.cli.common import EXIT_OK, add_run_options, prepare_out, run_one, say_warnings
from fleetsim.cli.report import write_for_runs


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run one variant of a scenario")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--variant", help="a name from spec.variants (default: the baseline)")
    add_run_options(run)
    run.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.report.tables import print_summary

    if args.seeds > 1:
        from fleetsim.cli import replicated

        return replicated.execute_run(args, stdout, stderr)
    prepare_out(args.out)
    if not args.json:
        print_description(args.scenario, stdout)
    result = run_one(args.scenario, args.variant, args, stdout)
    say_warnings(result.summary)
    if args.out:
        result.write(args.out)
    if args.json:
        sys.stdout.write(json.dumps(result.summary, indent=2) + "\n")
    else:
        print_summary(result.summary, stdout)
        if args.out:
            stdout.print(f"results written to {args.out}/")
    if args.report:
        write_for_runs(args.report, args.scenario, [result], stderr if args.json else stdout)
    return EXIT_OK


def print_description(scenario: str, stdout: Console) -> None:
    """The scenario's ``metadata.description``, so the reader knows what is being run."""
    from rich.markup import escape

    from fleetsim.scenario.loader import load_scenario

    metadata = load_scenario(scenario).scenario.metadata
    if metadata.description:
        stdout.print(escape(f"{metadata.name}: {metadata.description}"))
