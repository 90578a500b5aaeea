"""The ``fleetsim`` command: one module per subcommand (``run``, ``compare``, ...).

Exit status: 0 for a completed run, 2 for a scenario that cannot be run (one line on
stderr naming the file, the field and what is expected), 1 when results cannot be written,
130 when interrupted (what was written stays).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from rich.console import Console

from fleetsim import __version__, compiled
from fleetsim.cli import compare, isolate, report, run, sweep, validate
from fleetsim.cli.common import (
    EXIT_BAD_SCENARIO,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_OK,
    PIPE_WIDTH,
    QuietOnBrokenPipe,
)
from fleetsim.errors import ScenarioError

COMMANDS = (run, compare, validate, isolate, report, sweep)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="fleetsim", description="Simulate a service fleet from a scenario file."
    )
    top.add_argument(
        "--version",
        action="version",
        version=f"fleetsim {__version__} ({compiled.status().describe()})",
    )
    commands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    stdout = QuietOnBrokenPipe(soft_wrap=True)
    if not stdout.is_terminal:
        # Redirected output (a file, a pipe, CI logs) keeps full tables, not 80 columns.
        stdout = QuietOnBrokenPipe(soft_wrap=True, width=PIPE_WIDTH)
    stderr = Console(stderr=True, soft_wrap=True)
    try:
        code: int = args.execute(args, stdout, stderr)
        return code
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
        return EXIT_INTERRUPTED


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a run the way Ctrl-C does: what was written stays, and it is said."""
    raise KeyboardInterrupt
