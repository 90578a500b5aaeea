"""Memory of a storage run does not grow with the number of operations.

Each run is a fresh process (peak RSS is per process): S2's cluster without splits or
the balancer (so nothing but requests changes with time), for 10 s and for 80 s of
simulated time at 20,700 operations/s. Eight times the operations must not raise the
peak by more than a few MB; without dropping finished deadlines early, the client's
60 s RPC timeouts alone would hold a million entries.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = """
import resource, sys, yaml, fleetsim
document = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
spec = document["spec"]
spec.pop("variants")
spec["duration"], spec["warmup"] = sys.argv[2], "1s"
spec["storage"]["balancer"] = {"enabled": False}
spec["storage"]["tables"][1]["maxFileSize"] = "1Pi"
summary = fleetsim.run(document).summary
print(summary["requests"]["total"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_mb(duration: str) -> tuple[int, float]:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(ROOT / "scenarios/hbase-region-imbalance.yaml"),
            duration,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    requests, peak_kb = completed.stdout.split()
    return int(requests), int(peak_kb) / 1024


def test_peak_memory_does_not_grow_with_operations() -> None:
    small_requests, small = _peak_mb("10s")
    large_requests, large = _peak_mb("80s")
    assert large_requests > 7 * small_requests
    assert large - small < 8.0, (small, large)
