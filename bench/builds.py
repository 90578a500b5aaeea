"""Run each benchmark measurement in a fresh child process with a chosen build.

Why child processes: which build of fleetsim's hot modules runs (mypyc-compiled or their
pure-Python sources) is chosen once per process, when ``fleetsim`` is first imported
(``fleetsim.compiled``), so two builds cannot be timed in one process; a fresh process
also gives every run the same start (no heap, caches or timers left by the run before).

A benchmark script invokes itself with the hidden option ``--child compiled|pure|simpy``
and the round's seed; the child does one run and prints one JSON line (wall and CPU
seconds, the figures the parent checks, and for fleetsim the build that actually
loaded). The parent runs the children round after round, always in the order of
:data:`BUILDS`, sets ``FLEETSIM_PURE=1`` only for the pure child (and removes it from the
compiled child's environment), and refuses to report anything (:class:`BenchError`) if a
child failed or ran another build than the one it was asked for.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import fleetsim
import fleetsim.compiled

COMPILED, PURE, SIMPY = "compiled", "pure", "simpy"
BUILDS: tuple[str, ...] = (COMPILED, PURE, SIMPY)
"""Every build a script can time, in the order each round runs them."""
FLEETSIM_BUILDS: tuple[str, ...] = (COMPILED, PURE)
NAMES = {COMPILED: "compiled", PURE: "pure", SIMPY: "SimPy"}
RATIO_PAIRS: tuple[tuple[str, str], ...] = ((PURE, COMPILED), (SIMPY, COMPILED), (SIMPY, PURE))
"""Wall-time ratios reported, slower build first: ``pure/compiled`` is the compiled
build's speed-up over pure Python."""
CHILD_OPTION = "--child"
PRIME_SECONDS = 0.1

T = TypeVar("T")


class BenchError(RuntimeError):
    """A child failed, or ran another build than asked: the script reports nothing."""


# --- options ------------------------------------------------------------------------


def parse_builds(text: str, choices: Sequence[str] = BUILDS) -> tuple[str, ...]:
    """``compiled,simpy`` as a tuple in run order; the order typed does not matter,
    so that every script alternates the builds the same way."""
    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(choices))
    if unknown or not asked:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
        )
    return tuple(build for build in choices if build in asked)


def add_options(parser: argparse.ArgumentParser, choices: Sequence[str] = BUILDS) -> None:
    """``--builds`` (what to time) and the hidden ``--child`` (one run, in a child)."""
    parser.add_argument(
        "--builds",
        type=lambda text: parse_builds(text, choices),
        default=",".join(choices),
        help=f"builds to time, each run in its own process (default {','.join(choices)})",
    )
    parser.add_argument(CHILD_OPTION, choices=list(choices), help=argparse.SUPPRESS)


def parse_args(
    parser: argparse.ArgumentParser, argv: list[str] | None, choices: Sequence[str] = BUILDS
) -> argparse.Namespace:
    """Add ``--builds`` and ``--child`` to ``parser``, parse ``argv``, check ``--rounds``."""
    add_options(parser, choices)
    args = parser.parse_args(argv)
    if getattr(args, "rounds", 1) < 1:
        parser.error("--rounds must be >= 1")
    return args


def main(
    args: argparse.Namespace,
    child: Callable[[argparse.Namespace], int],
    parent: Callable[[argparse.Namespace], int],
) -> int:
    """A script's entry point: one run in a child, or the whole comparison in the parent
    (exit 1, with the reason, when a child failed or ran another build)."""
    if args.child:
        return child(args)
    try:
        return parent(args)
    except BenchError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1


# --- in the child ---------------------------------------------------------------------


def build_status() -> dict[str, Any]:
    """The fleetsim build this process runs, for the parent's check (imports every hot
    module, so it says what actually loaded)."""
    status = fleetsim.compiled.status()
    return {
        "compiled": status.compiled,
        "reason": status.reason,
        "modules": len(status.modules),
        "describe": status.describe(),
        "path": str(Path(fleetsim.__file__).parent),
    }


def prime(document: Mapping[str, Any], seed: int) -> None:
    """A short untimed run of ``document``: fleetsim imports its loader and simulation
    rooms on first use, and a fresh child would otherwise time those imports."""
    primer = copy.deepcopy(dict(document))
    primer["spec"].update(duration=PRIME_SECONDS, warmup=0.0)
    primer["spec"].setdefault("metrics", {})["interval"] = PRIME_SECONDS
    fleetsim.run(primer, variant=None, seed=seed)


def timed(run: Callable[[], T]) -> tuple[T, float, float]:
    """``run()`` with its wall seconds (``perf_counter``) and this process's CPU seconds."""
    cpu = time.process_time()
    start = time.perf_counter()
    value = run()
    wall = time.perf_counter() - start
    return value, wall, time.process_time() - cpu


def summary_figures(summary: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The summary's ``keys`` and the build it recorded, for a child's JSON line."""
    figures = {key: summary[key] for key in keys if key in summary}
    figures["build"] = summary.get("run", {}).get("build")
    return figures


def emit(build: str, seed: int, record: Mapping[str, Any]) -> None:
    """The child's one JSON line; fleetsim children add the build that loaded."""
    line = {"child": build, "seed": seed, **record}
    if build in FLEETSIM_BUILDS:
        line["fleetsim_build"] = build_status()
    print(json.dumps(line), flush=True)


# --- in the parent --------------------------------------------------------------------


def child_environment(build: str) -> dict[str, str]:
    """This process's environment with ``FLEETSIM_PURE`` set for the pure build only."""
    env = dict(os.environ)
    env.pop(fleetsim.compiled.PURE_VARIABLE, None)
    if build == PURE:
        env[fleetsim.compiled.PURE_VARIABLE] = "1"
    return env


def probe_compiled() -> dict[str, Any]:
    """What a compiled child would load here, asked before any run is spent."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import builds; "
        "print(json.dumps(builds.build_status()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).resolve().parent)],
        env=child_environment(COMPILED),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"importing fleetsim failed:\n{proc.stderr.strip()}")
    status: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return status


def preflight(builds: Sequence[str]) -> str:
    """One line on the builds to run; raises if compiled is asked for and unavailable."""
    parts = []
    if any(build in FLEETSIM_BUILDS for build in builds):
        status = probe_compiled()
        if COMPILED in builds and not status["compiled"]:
            others = ",".join(build for build in builds if build != COMPILED) or "pure"
            raise BenchError(
                f"the compiled build is not available ({status['reason']}); build it with "
                "`python setup.py build_ext --inplace` (or `pip install -e .`), or leave it "
                f"out: --builds {others}"
            )
        parts.append(f"fleetsim {fleetsim.__version__} from {status['path']}")
        if COMPILED in builds:
            parts.append(f"compiled child: {status['describe']}")
        if PURE in builds:
            parts.append(f"pure child: {fleetsim.compiled.PURE_VARIABLE}=1")
    if SIMPY in builds:
        import simpy

        parts.append(f"SimPy {simpy.__version__}")
    return "; ".join(parts)


def run_child(
    script: Path, build: str, arguments: Sequence[str], label: str | None = None
) -> dict[str, Any]:
    """Run ``script --child build arguments`` and return its JSON line, checked.

    The child's other output is echoed, prefixed with ``label``, as it comes (progress
    of long runs); its standard error passes through.
    """
    command = [sys.executable, str(script), CHILD_OPTION, build, *arguments]
    record: dict[str, Any] | None = None
    with subprocess.Popen(
        command, env=child_environment(build), stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            parsed = _result_line(line)
            if parsed is None:
                print(f"  [{label or build}] {line.rstrip()}", flush=True)
            else:
                record = parsed
        code = child.wait()
    if code != 0:
        raise BenchError(f"the {build} child exited with status {code}: {' '.join(command)}")
    if record is None or record.get("child") != build:
        raise BenchError(f"the {build} child printed no result line: {' '.join(command)}")
    check_build(build, record)
    return record


def _result_line(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "child" in parsed else None


def check_build(build: str, record: Mapping[str, Any]) -> None:
    """Raise unless a fleetsim child ran the build it was asked for, by its own
    ``fleetsim.compiled.status()`` and by the ``run.build`` block of its summary."""
    if build not in FLEETSIM_BUILDS:
        return
    status = record.get("fleetsim_build")
    if not isinstance(status, dict):
        raise BenchError(f"the {build} child did not say which fleetsim build it ran")
    recorded = record.get("summary", {}).get("build") or {}
    compiled = bool(status["compiled"]) and int(status["modules"]) > 0
    if build == COMPILED and not (compiled and recorded.get("compiled", True)):
        raise BenchError(
            f"refusing to report: the child asked to run compiled ran pure Python "
            f"({status['describe']}; summary build {recorded or 'not recorded'})"
        )
    if build == PURE and (status["compiled"] or status["modules"] or recorded.get("compiled")):
        raise BenchError(
            f"refusing to report: the child asked to run pure Python ran "
            f"{status['modules']} compiled modules ({status['describe']})"
        )


def alternate(
    script: Path,
    builds: Sequence[str],
    rounds: int,
    first_seed: int,
    arguments: Callable[[str, int], Sequence[str]],
) -> Iterator[tuple[int, int, dict[str, dict[str, Any]]]]:
    """Run ``rounds`` rounds, each every build in turn in its own child (seed
    ``first_seed + round``); yields ``(round, seed, {build: record})`` after each."""
    for rnd in range(rounds):
        seed = first_seed + rnd
        records = {
            build: run_child(script, build, [*arguments(build, seed), "--seed", str(seed)])
            for build in builds
        }
        yield rnd, seed, records


# --- figures --------------------------------------------------------------------------


def median_ratios(walls: Mapping[str, Sequence[float]]) -> dict[tuple[str, str], float]:
    """For each pair of :data:`RATIO_PAIRS` that ran, the median of the per-round ratios
    (the builds of a round ran back to back, so the ratio cancels the machine's drift)."""
    return {
        (num, den): float(
            statistics.median(n / d for n, d in zip(walls[num], walls[den], strict=True))
        )
        for num, den in RATIO_PAIRS
        if walls.get(num) and walls.get(den)
    }


def ratios_text(ratios: Mapping[tuple[str, str], float], digits: int = 2) -> str:
    """``pure/compiled 2.20x, SimPy/compiled 11.6x, ...``"""
    return ", ".join(
        f"{NAMES[num]}/{NAMES[den]} {ratio:.{digits}f}x" for (num, den), ratio in ratios.items()
    )


def walls_text(walls: Mapping[str, float], digits: int = 2) -> str:
    """``compiled 3.10 s, pure 6.80 s, SimPy 36.10 s`` in run order."""
    return ", ".join(f"{NAMES[build]} {wall:.{digits}f} s" for build, wall in walls.items())
