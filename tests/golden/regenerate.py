"""Rewrite every golden summary: ``python -m tests.golden.regenerate``.

Only after a deliberate change of results; commit the new files on their own and say
in the commit which figures moved and why.
"""

from __future__ import annotations

import shutil
import sys

from fleetsim.result import json_text
from tests.golden.goldens import SUMMARIES, canonical, cases, golden_path, observe


def main() -> int:
    if SUMMARIES.exists():
        shutil.rmtree(SUMMARIES)
    for run, variant in cases():
        path = golden_path(run, variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json_text(canonical(observe(run, variant))), encoding="utf-8")
        print(f"wrote {path.relative_to(SUMMARIES.parent.parent.parent)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
