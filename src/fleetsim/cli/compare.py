"""``fleetsim compare``: the baseline and the variants of a scenario side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from fleetsim.cli import common
from fleetsim.cli.common import EXIT_INTERRUPTED, EXIT_OK, add_run_options


def register(commands: Any) -> None:
    compare = commands.add_parser("compare", help="run the baseline and every variant side by side")
    compare.add_argument("scenario", help="scenario YAML file")
    add_run_options(compare)
    compare.set_defaults(execute=execute)


def execute(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    from fleetsim.report.tables import compare_table
    from fleetsim.result import json_text, write_atomic
    from fleetsim.scenario.loader import load_scenario

    if args.seeds > 1:
        from fleetsim.cli import replicated

        return replicated.execute_compare(args, stdout, stderr)
    names = load_scenario(args.scenario).variant_names
    for name in [None, *names]:  # check every variant before spending time on any run
        loaded = load_scenario(
            args.scenario, variant=name, duration=args.duration, warmup=args.warmup
        )
        common.refuse_absurd(loaded, args)
    # Each run's results are written as soon as it ends, and only its summary is kept:
    # an interrupted compare keeps what it finished, and memory does not grow per run.
    summaries: list[Any] = []
    written: list[str] = []
    try:
        for name in [None, *names]:
            result = common.run_one(args.scenario, name, args, stdout, checked=True)
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
        return EXIT_INTERRUPTED
    if args.out:
        write_atomic(Path(args.out) / "compare.json", json_text({"runs": summaries}))
    if args.json:
        sys.stdout.write(json.dumps({"runs": summaries}, indent=2) + "\n")
    else:
        stdout.print(compare_table(summaries))
        if args.out:
            stdout.print(f"results written to {args.out}/")
    return EXIT_OK
