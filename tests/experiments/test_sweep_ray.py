"""The Ray backend against a private local Ray instance: the same runs as locally."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.experiments.test_sweep import QUICKSTART, ROOT, WINDOW, fleetsim

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:
    HAVE_RAY = False

pytestmark = pytest.mark.skipif(
    not HAVE_RAY and not os.environ.get("CI"), reason="ray is not installed (and not in CI)"
)
SETS = ["--set", "spec.services.search.replicas=60,64", "--seeds", "2"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def ray_address() -> Iterator[str]:
    """A head node with 2 CPUs, stopped (all its processes) when the test ends."""
    port = _free_port()
    # Ray's socket paths must stay short: a temporary directory directly under /tmp.
    temp = tempfile.mkdtemp(prefix="fsray", dir="/tmp")
    log = Path(temp) / "start.log"
    ray_command = Path(sys.executable).with_name("ray")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAY_USAGE_STATS_ENABLED": "0"}
    with log.open("w") as stream:
        head = subprocess.Popen(
            [str(ray_command), "start", "--head", "--block", "--num-cpus=2", f"--port={port}",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
            env=env, stdout=stream, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "block forever" not in log.read_text() and time.monotonic() < deadline:
            assert head.poll() is None, log.read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _runs(out: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in out.glob("runs/*/seed-*/summary.json"):
        summary = json.loads(path.read_text())
        summary.pop("wall_seconds", None)
        found[str(path.relative_to(out))] = summary
    return found


def test_ray_backend_gives_the_local_backends_results(ray_address: str, tmp_path: Path) -> None:
    remote = fleetsim(
        "sweep",
        QUICKSTART,
        *SETS,
        *WINDOW,
        "--backend",
        "ray",
        "--address",
        ray_address,
        "--out",
        str(tmp_path / "ray"),
        "--json",
        "--quiet",
    )
    local = fleetsim(
        "sweep",
        QUICKSTART,
        *SETS,
        *WINDOW,
        "--workers",
        "2",
        "--out",
        str(tmp_path / "local"),
        "--json",
        "--quiet",
    )
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    ray_runs = _runs(tmp_path / "ray")
    assert len(ray_runs) == 4
    assert ray_runs == _runs(tmp_path / "local")
