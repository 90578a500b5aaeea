"""``fleetsim report``: one offline HTML file with plots of a results directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from fleetsim.cli.common import EXIT_BAD_SCENARIO, EXIT_OK


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="write an HTML report with plots of a run --out or compare --out directory"
    )
    report.add_argument("directory", metavar="DIR", help="results directory")
    report.add_argument(
        "--output", metavar="FILE", help="the HTML file to write (default: DIR/report.html)"
    )
    report.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.report.html import ReportInputError, load_runs, write_report

    try:
        runs = load_runs(args.directory)
    except ReportInputError as error:
        print(f"fleetsim: {error}", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    output = Path(args.output) if args.output else Path(args.directory) / "report.html"
    stdout.print(escape(str(write_report(output, runs))))
    return EXIT_OK


def write_for_runs(path: str, scenario: str, results: list[Any], stdout: Console) -> None:
    """``--report FILE`` of ``run`` and ``compare``: the report of the runs just made."""
    from fleetsim.report.html import Run, write_report
    from fleetsim.scenario.loader import load_scenario

    description = load_scenario(scenario).scenario.metadata.description
    runs = [Run(result.summary, result.series, result.events) for result in results]
    write_report(path, runs, description)
    stdout.print(f"report written to {escape(path)}")
