"""``fleetsim validate``: check a scenario and every variant, and estimate their cost."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.markup import escape

from fleetsim.cli.common import EXIT_OK, late_events


def register(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check a scenario and all its variants")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
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
        notes = [*cost.notes, *late_events(loaded)]
        warning += "".join(f" [warning: {note}]" for note in notes)
        stdout.print(escape(f"  {name}: {cost.describe()}{warning}"))
    return EXIT_OK
