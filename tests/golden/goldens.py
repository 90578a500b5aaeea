"""Golden summaries: every catalogue scenario and variant, run short, number for number.

A golden file holds the run's summary (all but ``wall_seconds``) and a SHA-256 of each
time series, so any change of a simulated figure shows up. Runs are shortened with the
``duration``/``warmup`` overrides (the ``--duration``/``--warmup`` options of the CLI) so
the whole set takes a couple of minutes; the two tours under ``tours/`` add short runs
that reach mechanisms the shortened catalogue runs do not (releases in a mesh, sidecar
OOM restarts, node drains, both HPA paths), and a node tour (page-table walks, lock and
disk waits, stop-the-world pauses).

Regenerate after a deliberate change of results, in a commit of its own::

    python -m tests.golden.regenerate
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fleetsim
from fleetsim.result import csv_text
from fleetsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SUMMARIES = Path(__file__).resolve().parent / "summaries"
VOLATILE_KEYS = ("wall_seconds",)
VOLATILE_RUN_KEYS = ("build",)  # compiled or pure: both must give the same summary


@dataclass(frozen=True)
class GoldenRun:
    path: str  # relative to the repository root
    duration: str | None = None
    warmup: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).stem


GOLDEN_RUNS = [
    GoldenRun("scenarios/quickstart.yaml", duration="10s", warmup="2s"),
    GoldenRun("scenarios/istio-dns-startup.yaml", duration="8m"),
    GoldenRun("scenarios/hpa-warmup-cascade.yaml", duration="25m"),
    GoldenRun("scenarios/mesh-retry-imbalance.yaml", duration="60s", warmup="10s"),
    GoldenRun("scenarios/sidecar-idle-connections.yaml", duration="4m", warmup="1m"),
    GoldenRun("tests/golden/tours/mesh-tour.yaml"),
    GoldenRun("tests/golden/tours/kubernetes-tour.yaml"),
    GoldenRun("scenarios/manas-pagetable-scan.yaml", duration="10s", warmup="5s"),
    GoldenRun("tests/golden/tours/node-tour.yaml"),
    GoldenRun("scenarios/hbase-region-imbalance.yaml", duration="10s", warmup="2s"),
    GoldenRun("scenarios/zone-failure-placement.yaml", duration="4m", warmup="30s"),
    GoldenRun("scenarios/hbase-rolling-restart.yaml", duration="3m", warmup="30s"),
    GoldenRun("scenarios/hbase-gc-blockcache.yaml", duration="20s", warmup="10s"),
    GoldenRun("scenarios/hbase-compaction-window.yaml", duration="30m"),
    GoldenRun("scenarios/dns-critical-path.yaml", duration="10s", warmup="2s"),
    GoldenRun("scenarios/stale-membership-keepalive.yaml", duration="4m"),
]


def cases() -> list[tuple[GoldenRun, str]]:
    """Every (run, variant) pair, the baseline first."""
    pairs = []
    for run in GOLDEN_RUNS:
        names = load_scenario(ROOT / run.path).variant_names
        pairs += [(run, variant) for variant in ["baseline", *names]]
    return pairs


def golden_path(run: GoldenRun, variant: str) -> Path:
    return SUMMARIES / run.name / f"{variant}.json"


def observe(run: GoldenRun, variant: str) -> dict[str, Any]:
    """Run one case and return what its golden file records."""
    result = fleetsim.run(
        ROOT / run.path,
        variant=None if variant == "baseline" else variant,
        duration=run.duration,
        warmup=run.warmup,
    )
    summary = {k: v for k, v in result.summary.items() if k not in VOLATILE_KEYS}
    if "run" in summary:
        summary["run"] = {k: v for k, v in summary["run"].items() if k not in VOLATILE_RUN_KEYS}
    series = {
        kind: hashlib.sha256(csv_text(rows).encode()).hexdigest()
        for kind, rows in sorted(result.series.items())
    }
    return {
        "scenario": run.path,
        "overrides": {"duration": run.duration, "warmup": run.warmup},
        "summary": summary,
        "series_sha256": series,
    }


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    """The document as it reads back from JSON (tuples become lists, and so on)."""
    loaded: dict[str, Any] = json.loads(json.dumps(document))
    return loaded


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where two documents differ, with both values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{here}: missing (golden {expected[key]!r})")
            elif key not in expected:
                found.append(f"{here}: new (now {actual[key]!r})")
            else:
                found += differences(expected[key], actual[key], here)
        return found
    if expected != actual:
        return [f"{path}: golden {expected!r}, now {actual!r}"]
    return []
