"""A sweep killed midway and run again: nothing lost, nothing recomputed, same table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.experiments.test_sweep import QUICKSTART, ROOT, WINDOW, fleetsim

SETS = ["--set", "spec.services.search.replicas=60,64", "--seeds", "4", "--workers", "1"]


def _summaries(out: Path) -> dict[Path, tuple[int, int]]:
    return {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in out.glob("runs/*/seed-*/summary.json")
    }


def _kill_after_first_summary(out: Path) -> dict[Path, tuple[int, int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "fleetsim", "sweep", QUICKSTART, *SETS, *WINDOW]
    process = subprocess.Popen(
        [*command, "--quiet", "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not _summaries(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return _summaries(out)


def test_a_killed_sweep_resumes_without_recomputing(tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    before = _kill_after_first_summary(out)
    assert 1 <= len(before) < 8, "the sweep must be killed after one run and before the last"
    resumed = json.loads(
        fleetsim("sweep", QUICKSTART, *SETS, *WINDOW, "--out", str(out), "--json").stdout
    )
    after = _summaries(out)
    assert len(after) == 8
    assert {path: after[path] for path in before} == before
    clean = fleetsim(
        "sweep", QUICKSTART, *SETS, *WINDOW, "--out", str(tmp_path / "clean"), "--json"
    )
    assert resumed == json.loads(clean.stdout)
