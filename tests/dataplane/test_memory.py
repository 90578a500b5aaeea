"""Memory does not grow with the number of requests.

Each run is a fresh process (peak RSS is per process). Eight times the requests must not
raise the peak by more than a few MB: what grows with simulated time is one series row
per interval, well under a megabyte here. The 10-million-request check against 300 MB is
``bench/memory.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _peak_mb(requests: float) -> float:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "memory.py"),
            "--requests",
            str(requests),
            "--limit-mb",
            "100000",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.split("peak RSS ")[1].split(" MB")[0])


def test_peak_memory_does_not_grow_with_requests() -> None:
    small = _peak_mb(2.5e5)
    large = _peak_mb(2e6)
    assert large - small < 8.0, (small, large)
