"""The differential cases: short runs that cover every mechanism on the compiled path.

``python -m tests.compiled.cases`` runs them all in this process, with the build that
``fleetsim`` chose at import (``FLEETSIM_PURE=1`` forces pure Python), and prints one
JSON document: the build, the hot modules loaded compiled, and each run's summary
without its wall time. ``test_differential`` runs it twice, in separate processes, and
requires the two documents' runs to be equal. ``--timings`` prints seconds per case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (11, 12, 13)


@dataclass(frozen=True)
class Case:
    mechanism: str
    path: str  # relative to the repository root
    variant: str | None
    duration: str
    warmup: str


CASES = (
    Case(
        "queues, workers, client timeout and retries", "scenarios/quickstart.yaml", None, "8s", "2s"
    ),
    Case("least-request load balancing", "scenarios/quickstart.yaml", "least-request", "6s", "2s"),
    Case(
        "Kubernetes: probes, warm-up, HPA, rollouts",
        "tests/golden/tours/kubernetes-tour.yaml",
        None,
        "10m",
        "1m",
    ),
    Case(
        "HPA warm-up cascade (CPU throttling)",
        "scenarios/hpa-warmup-cascade.yaml",
        None,
        "12m",
        "1m",
    ),
    Case(
        "mesh: calls, pools, outlier detection, breakers",
        "tests/golden/tours/mesh-tour.yaml",
        None,
        "60s",
        "5s",
    ),
    Case(
        "retries and outlier ejection across zones",
        "scenarios/mesh-retry-imbalance.yaml",
        None,
        "15s",
        "5s",
    ),
    Case(
        "idle connections of sidecars",
        "scenarios/sidecar-idle-connections.yaml",
        None,
        "40s",
        "10s",
    ),
    Case(
        "stale endpoints and keepalives",
        "scenarios/stale-membership-keepalive.yaml",
        None,
        "60s",
        "10s",
    ),
    Case(
        "node co-tenants: page-table scans, mmap lock",
        "scenarios/manas-pagetable-scan.yaml",
        None,
        "10s",
        "2s",
    ),
    Case("node co-tenants: every stall", "tests/golden/tours/node-tour.yaml", None, "3m", "10s"),
    Case("DNS on the critical path, CoreDNS", "scenarios/dns-critical-path.yaml", None, "5s", "1s"),
    Case("DNS at sidecar start-up", "scenarios/istio-dns-startup.yaml", None, "4m", "0s"),
    Case(
        "a lost zone: lost nodes and containers",
        "scenarios/zone-failure-placement.yaml",
        None,
        "90s",
        "30s",
    ),
    Case(
        "storage: hot regions, client, region servers",
        "scenarios/hbase-region-imbalance.yaml",
        None,
        "10s",
        "2s",
    ),
    Case(
        "storage: GC pauses and block caches",
        "scenarios/hbase-gc-blockcache.yaml",
        None,
        "8s",
        "4s",
    ),
    Case(
        "storage: rolling restart, region moves",
        "scenarios/hbase-rolling-restart.yaml",
        None,
        "60s",
        "10s",
    ),
    Case("storage: compactions", "scenarios/hbase-compaction-window.yaml", None, "12m", "0s"),
)


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without what may differ between builds: wall time and the build."""
    kept = {key: value for key, value in summary.items() if key != "wall_seconds"}
    if "run" in kept:
        kept["run"] = {key: value for key, value in kept["run"].items() if key != "build"}
    loaded: dict[str, Any] = json.loads(json.dumps(kept))
    return loaded


def run_all(timings: bool = False) -> dict[str, Any]:
    import fleetsim
    from fleetsim import compiled

    build = compiled.status()
    runs = []
    for case in CASES:
        for seed in SEEDS:
            start = time.perf_counter()
            result = fleetsim.run(
                ROOT / case.path, case.variant, seed, duration=case.duration, warmup=case.warmup
            )
            if timings:
                wall = time.perf_counter() - start
                total = result.summary["requests"]["total"]
                label = f"{case.path} {case.variant or ''} seed {seed}"
                print(f"{wall:6.2f} s {total:9,} requests  {label}", file=sys.stderr)
            runs.append(
                {
                    "case": f"{case.path} {case.variant or 'baseline'} seed {seed}",
                    "summary": comparable(result.summary),
                }
            )
    return {
        "compiled": build.compiled,
        "reason": build.reason,
        "loaded_compiled": list(compiled.loaded_compiled()),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timings", action="store_true", help="seconds per run on stderr")
    args = parser.parse_args(argv)
    json.dump(run_all(args.timings), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
