"""The ``fleetsim`` command.

Exit status: 0 for a completed run, 2 for a scenario that cannot be run (one line on
stderr naming the file, the field and what is expected), 1 when results cannot be written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from fleetsim import __version__
from fleetsim.errors import ScenarioError

EXIT_OK = 0
EXIT_IO = 1
EXIT_BAD_SCENARIO = 2
PIPE_WIDTH = 200


class _Console(Console):
    """A console that stops printing, without failing the run, when its reader goes away."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetsim", description="Simulate a service fleet from a scenario file."
    )
    parser.add_argument("--version", action="version", version=f"fleetsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one variant of a scenario")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--variant", help="a name from spec.variants (default: the baseline)")
    _common(run)

    compare = commands.add_parser("compare", help="run the baseline and every variant side by side")
    compare.add_argument("scenario", help="scenario YAML file")
    _common(compare)

    validate = commands.add_parser("validate", help="check a scenario and all its variants")
    validate.add_argument("scenario", help="scenario YAML file")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="write summary.json and time series here")
    parser.add_argument("--seed", type=int, help="override spec.seed")
    parser.add_argument("--json", action="store_true", help="print only the summary JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--duration", metavar="TIME", help="override spec.duration (e.g. 30s, 5m) in every run"
    )
    parser.add_argument(
        "--warmup", metavar="TIME", help="override spec.warmup (e.g. 0s, 1m) in every run"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stdout = _Console(soft_wrap=True)
    if not stdout.is_terminal:
        # Redirected output (a file, a pipe, CI logs) keeps full tables, not 80 columns.
        stdout = _Console(soft_wrap=True, width=PIPE_WIDTH)
    stderr = Console(stderr=True, soft_wrap=True)
    try:
        if args.command == "run":
            return _run(args, stdout, stderr)
        if args.command == "compare":
            return _compare(args, stdout, stderr)
        return _validate(args, stdout)
    except ScenarioError as error:
        print(f"fleetsim: {error}", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    except BrokenPipeError:
        # The reader went away (``| head``): the run itself completed.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        print(f"fleetsim: cannot write results: {error}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print("fleetsim: interrupted; no results written", file=sys.stderr)
        return 130


def _show_progress(args: argparse.Namespace, stdout: Console) -> bool:
    return not args.quiet and not args.json and stdout.is_terminal


def _run_one(scenario: str, variant: str | None, args: argparse.Namespace, stdout: Console) -> Any:
    from fleetsim.report.progress import progress_bar
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(scenario, variant=variant, duration=args.duration, warmup=args.warmup)
    simulation = Simulation(loaded, seed=args.seed)
    label = escape(f"{loaded.scenario.metadata.name} [{loaded.variant}]")
    with progress_bar(stdout, label, _show_progress(args, stdout)) as progress:
        return simulation.run(progress)


def _run(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.report.tables import print_summary

    result = _run_one(args.scenario, args.variant, args, stdout)
    if args.out:
        result.write(args.out)
    if args.json:
        sys.stdout.write(json.dumps(result.summary, indent=2) + "\n")
    else:
        print_summary(result.summary, stdout)
        if args.out:
            stdout.print(f"results written to {args.out}/")
    return EXIT_OK


def _compare(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.report.tables import compare_table
    from fleetsim.result import json_text, write_atomic
    from fleetsim.scenario.loader import load_scenario

    names = load_scenario(args.scenario).variant_names
    for name in names:  # validate every variant before spending time on any run
        load_scenario(args.scenario, variant=name)
    results = [_run_one(args.scenario, None, args, stdout)]
    results += [_run_one(args.scenario, name, args, stdout) for name in names]
    summaries = [r.summary for r in results]
    if args.out:
        out = Path(args.out)
        for result in results:
            result.write(out / result.summary["variant"])
        write_atomic(out / "compare.json", json_text({"runs": summaries}))
    if args.json:
        sys.stdout.write(json.dumps({"runs": summaries}, indent=2) + "\n")
    else:
        stdout.print(compare_table(summaries))
        if args.out:
            stdout.print(f"results written to {args.out}/")
    return EXIT_OK


def _validate(args: argparse.Namespace, stdout: Console) -> int:
    from fleetsim.scenario.loader import load_scenario

    baseline = load_scenario(args.scenario)
    for name in baseline.variant_names:
        load_scenario(args.scenario, variant=name)
    variants = ", ".join(baseline.variant_names) or "none"
    stdout.print(f"{args.scenario}: valid (variants: {variants})")
    return EXIT_OK
