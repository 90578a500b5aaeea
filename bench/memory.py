"""Peak memory of a long run: a run of 10 million requests stays under 300 MB peak RSS.

The run is the quickstart fleet (64 pods x 4 workers, 17,920 req/s, client timeout and
per-try timeout armed) stretched to the number of requests asked for. It runs in this
process; the peak RSS is read from the kernel afterwards.

    python bench/memory.py                 # 10 million requests, limit 300 MB
    python bench/memory.py --requests 2e6  # a quicker look

Exits 1 when the peak exceeds ``--limit-mb``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

import fleetsim

ROOT = Path(__file__).resolve().parent.parent


def scenario(requests: float) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    rate = 17920.0
    document["spec"]["warmup"] = 0
    document["spec"]["duration"] = requests / rate
    document["spec"].pop("variants", None)
    return document


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=float, default=10e6)
    parser.add_argument("--limit-mb", type=float, default=300.0)
    args = parser.parse_args(argv)
    before = peak_rss_mb()
    started = time.perf_counter()
    summary = fleetsim.run(scenario(args.requests)).summary
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    print(
        f"requests {summary['requests']['total']:,} in {wall:.1f} s wall "
        f"({summary['requests']['total'] / wall:,.0f}/s); peak RSS {peak:.1f} MB "
        f"(after imports {before:.1f} MB); limit {args.limit_mb:.0f} MB"
    )
    return 0 if peak <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
