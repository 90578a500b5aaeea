"""What the commands share: exit statuses, consoles, options, and one run of a variant."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from fleetsim.errors import ScenarioError

EXIT_OK = 0
EXIT_IO = 1
EXIT_BAD_SCENARIO = 2
EXIT_INTERRUPTED = 130
PIPE_WIDTH = 200


class QuietOnBrokenPipe(Console):
    """A console that stops printing, without failing the run, when its reader goes away."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def whole_number(text: str, minimum: int) -> int:
    """An option's whole number of at least ``minimum``, refused by argparse (exit 2)."""
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number < minimum:
        shown = repr(text) if number is None else number
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {shown}")
    return number


def seed_option(text: str) -> int:
    """``--seed``: what ``spec.seed`` accepts."""
    return whole_number(text, 0)


def seeds_option(text: str) -> int:
    """``--seeds``: how many seeds."""
    return whole_number(text, 1)


def add_force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even when the estimate is beyond the limits (a year simulated, 1e10 "
        "events, 10 million series rows)",
    )


def add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", metavar="TIME", help="override spec.duration (e.g. 30s, 5m) in every run"
    )
    parser.add_argument(
        "--warmup", metavar="TIME", help="override spec.warmup (e.g. 0s, 1m) in every run"
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``run`` and ``compare``."""
    add_force_option(parser)
    parser.add_argument("--out", metavar="DIR", help="write summary.json and time series here")
    parser.add_argument("--seed", type=seed_option, help="override spec.seed (a whole number >= 0)")
    parser.add_argument(
        "--seeds",
        type=seeds_option,
        default=1,
        metavar="N",
        help="run with N seeds (--seed or spec.seed, +1, ...); mean and 95%% CI",
    )
    parser.add_argument("--json", action="store_true", help="print only the summary JSON")
    parser.add_argument("--report", metavar="FILE", help="also write an HTML report with plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_window_options(parser)


PROGRESS = Console(stderr=True)
"""Progress bars go to stderr: they show when stdout is redirected, and never mix
with the JSON or the tables a script reads from stdout."""


def show_progress(args: argparse.Namespace, stdout: Console) -> bool:
    """A bar when stderr is a terminal and ``--quiet`` is not given."""
    return not args.quiet and PROGRESS.is_terminal


def run_one(
    scenario: str,
    variant: str | None,
    args: argparse.Namespace,
    stdout: Console,
    *,
    checked: bool = False,
    position: tuple[int, int] | None = None,
) -> Any:
    """Load and run one variant; ``checked``: its cost was already estimated and passed;
    ``position``: (k, n) for the progress label "variant k of n" of a comparison."""
    from fleetsim.report.progress import progress_bar
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(scenario, variant=variant, duration=args.duration, warmup=args.warmup)
    if not checked:
        refuse_absurd(loaded, args)
    simulation = Simulation(loaded, seed=args.seed)
    label = escape(f"{loaded.scenario.metadata.name} [{loaded.variant}]")
    if position is not None:
        label += f" variant {position[0]} of {position[1]}"
    with progress_bar(PROGRESS, label, show_progress(args, stdout)) as progress:
        return simulation.run(progress)


def prepare_out(out: str | None) -> None:
    """Create ``--out`` and check it takes files before any run, not after the last one
    (an ``OSError`` here ends the command with exit 1 and the reason)."""
    if out is None:
        return
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass


def late_events(loaded: Any) -> list[str]:
    """Scenario events at or after the end of the run: they would never happen."""
    spec = loaded.scenario.spec
    end = spec.warmup + spec.duration
    return [
        f"spec.events[{index}] ({event.action}) is at {event.at:g} s, after the end of the "
        f"run ({end:g} s = warmup + duration): it never happens"
        for index, event in enumerate(spec.events)
        if event.at >= end
    ]


def say_warnings(summary: dict[str, Any]) -> None:
    """The summary's warnings (a backlog that grew, a saturated service) on stderr."""
    label = f"{summary.get('scenario')} [{summary.get('variant')}]"
    for warning in summary.get("warnings", []):
        print(f"fleetsim: warning: {label}: {warning}", file=sys.stderr)


def refuse_absurd(loaded: Any, args: argparse.Namespace) -> None:
    """Refuse (exit 2) a run whose estimate is beyond the limits, unless ``--force``."""
    from fleetsim.experiments.estimate import estimate

    cost = estimate(loaded.scenario.spec)
    for note in [*cost.notes, *late_events(loaded)]:
        print(f"fleetsim: warning: {loaded.file}: {note}", file=sys.stderr)
    if getattr(args, "force", False):
        return
    problems = cost.problems()
    if problems:
        raise ScenarioError(
            loaded.file,
            "spec" if loaded.variant == "baseline" else f"spec.variants.{loaded.variant}",
            f"refused to start: {'; '.join(problems)} (estimate: {cost.describe()}); "
            "pass --force to run it anyway",
        )


def figure(value: float | None, sign: str = "") -> str:
    """A table cell: ``-`` for no value, thousands separators, ``sign="+"`` for changes."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:{sign},}"
    return f"{value:{sign},.3f}"
