"""The ``fleetsim`` command.

Exit status: 0 for a completed run, 2 for a scenario that cannot be run (one line on
stderr naming the file, the field and what is expected), 1 when results cannot be written.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from fleetsim import __version__
from fleetsim.errors import ScenarioError

if TYPE_CHECKING:
    from rich.table import Table

    from fleetsim.experiments.isolate import IsolationResult

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
    _isolate_parser(commands)
    return parser


ISOLATE_DESCRIPTION = """\
Process of elimination: run the scenario (its baseline, or --variant) once as it is,
then once with each candidate mechanism switched off in turn, and rank the candidates
by how far the metric moves. Candidates are only the mechanisms that are on in the
scenario: retries (attempts: 0, Istio's default too in a mesh), outlier-detection,
probes, hpa, warm-up (coldStart), cpu-limits, node-agent-scan (cAdvisor
referencedMemory), stop-the-world-pauses, disk-stalls (burst writers, sync writes).
Every run uses the same seed (--seed, else spec.seed), so a difference comes from the
mechanism switched off, not from random noise."""


def _isolate_parser(commands: Any) -> None:
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
        "--seed", type=_seed, help="override spec.seed (the same in every run; >= 0)"
    )
    isolate.add_argument("--json", action="store_true", help="print only the ranking JSON")
    _force(isolate)
    isolate.add_argument("--quiet", action="store_true", help="no progress bar")
    isolate.add_argument(
        "--duration", metavar="TIME", help="override spec.duration (e.g. 30s, 5m) in every run"
    )
    isolate.add_argument(
        "--warmup", metavar="TIME", help="override spec.warmup (e.g. 0s, 1m) in every run"
    )


def _seed(text: str) -> int:
    """``--seed``: what ``spec.seed`` accepts, refused by argparse (exit 2) otherwise."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {seed}")
    return seed


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even when the estimate is beyond the limits (a year simulated, 1e10 "
        "events, 10 million series rows)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    _force(parser)
    parser.add_argument("--out", metavar="DIR", help="write summary.json and time series here")
    parser.add_argument("--seed", type=_seed, help="override spec.seed (a whole number >= 0)")
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
    signal.signal(signal.SIGTERM, _terminated)
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
        if args.command == "isolate":
            return _isolate(args, stdout, stderr)
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


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a run the way Ctrl-C does: what was written stays, and it is said."""
    raise KeyboardInterrupt


def _show_progress(args: argparse.Namespace, stdout: Console) -> bool:
    return not args.quiet and not args.json and stdout.is_terminal


def _run_one(
    scenario: str,
    variant: str | None,
    args: argparse.Namespace,
    stdout: Console,
    *,
    checked: bool = False,
) -> Any:
    """Load and run one variant; ``checked``: its cost was already estimated and passed."""
    from fleetsim.report.progress import progress_bar
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(scenario, variant=variant, duration=args.duration, warmup=args.warmup)
    if not checked:
        _refuse_absurd(loaded, args)
    simulation = Simulation(loaded, seed=args.seed)
    label = escape(f"{loaded.scenario.metadata.name} [{loaded.variant}]")
    with progress_bar(stdout, label, _show_progress(args, stdout)) as progress:
        return simulation.run(progress)


def _refuse_absurd(loaded: Any, args: argparse.Namespace) -> None:
    """Refuse (exit 2) a run whose estimate is beyond the limits, unless ``--force``."""
    from fleetsim.experiments.estimate import estimate

    cost = estimate(loaded.scenario.spec)
    for note in cost.notes:
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
    for name in [None, *names]:  # check every variant before spending time on any run
        loaded = load_scenario(
            args.scenario, variant=name, duration=args.duration, warmup=args.warmup
        )
        _refuse_absurd(loaded, args)
    # Each run's results are written as soon as it ends, and only its summary is kept:
    # an interrupted compare keeps what it finished, and memory does not grow per run.
    summaries: list[Any] = []
    written: list[str] = []
    try:
        for name in [None, *names]:
            result = _run_one(args.scenario, name, args, stdout, checked=True)
            summaries.append(result.summary)
            if args.out:
                result.write(Path(args.out) / result.summary["variant"])
                written.append(result.summary["variant"])
    except KeyboardInterrupt:
        if not written:
            raise
        missing = [n for n in ["baseline", *names] if n not in written]
        print(
            f"fleetsim: interrupted; written to {args.out}/: {', '.join(written)}; "
            f"not written: {', '.join(missing)} and compare.json",
            file=sys.stderr,
        )
        return 130
    if args.out:
        write_atomic(Path(args.out) / "compare.json", json_text({"runs": summaries}))
    if args.json:
        sys.stdout.write(json.dumps({"runs": summaries}, indent=2) + "\n")
    else:
        stdout.print(compare_table(summaries))
        if args.out:
            stdout.print(f"results written to {args.out}/")
    return EXIT_OK


def _isolate(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.experiments.isolate import MetricError, isolate
    from fleetsim.report.progress import progress_bar
    from fleetsim.result import write_atomic
    from fleetsim.scenario.loader import load_scenario

    loaded = load_scenario(
        args.scenario, variant=args.variant, duration=args.duration, warmup=args.warmup
    )
    _refuse_absurd(loaded, args)
    enabled = _show_progress(args, stdout)
    try:
        result = isolate(
            args.scenario,
            args.metric,
            variant=args.variant,
            seed=args.seed,
            duration=args.duration,
            warmup=args.warmup,
            progress=lambda label: progress_bar(stdout, escape(label), enabled),
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


def _figure(value: float | None, sign: str = "") -> str:
    """A table cell: ``-`` for no value, thousands separators, ``sign="+"`` for changes."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:{sign},}"
    return f"{value:{sign},.3f}"


def _signed(value: float | None) -> str:
    return _figure(value, "+")


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
    table.add_row("(as is)", "nothing", _figure(result.as_is), "", "")
    for candidate in result.candidates:
        relative = candidate.relative_change
        table.add_row(
            candidate.mechanism,
            escape(candidate.switched_off),
            _figure(candidate.value),
            _signed(candidate.change),
            "-" if relative is None else f"{100 * relative:+.1f}%",
        )
    return table


def _validate(args: argparse.Namespace, stdout: Console) -> int:
    from fleetsim.experiments.estimate import estimate
    from fleetsim.scenario.loader import load_scenario

    baseline = load_scenario(args.scenario)
    variants = ", ".join(baseline.variant_names) or "none"
    stdout.print(f"{args.scenario}: valid (variants: {variants})")
    for name in ["baseline", *baseline.variant_names]:
        loaded = load_scenario(args.scenario, variant=name)
        cost = estimate(loaded.scenario.spec)
        problems = cost.problems()
        warning = f" [beyond the limits: {'; '.join(problems)}]" if problems else ""
        warning += "".join(f" [warning: {note}]" for note in cost.notes)
        stdout.print(escape(f"  {name}: {cost.describe()}{warning}"))
    return EXIT_OK
