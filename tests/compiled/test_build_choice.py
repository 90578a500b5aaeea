"""Which build runs: ``FLEETSIM_PURE``, a stale compiled module, ``--version``, the summary.

The tests that need a compiled build skip without one (``FLEETSIM_REQUIRE_COMPILED=1``
makes that a failure, as in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fleetsim
from fleetsim import compiled
from fleetsim.compiled import HOT_MODULES, PURE_VARIABLE, SOURCES_FILE, source_digest, stale_modules
from tests.fleet_scenarios import scenario

SRC = Path(compiled.__file__).resolve().parents[1]
PROBE = (
    "import json, fleetsim.compiled as c\n"
    "s = c.status()\n"
    "print(json.dumps([s.compiled, s.reason, list(c.loaded_compiled())]))\n"
)


def probe(src: Path = SRC, pure: bool = False) -> tuple[bool, str, list[str], str]:
    """Import fleetsim from ``src`` in a fresh process: compiled?, why, modules, stderr."""
    env = {k: v for k, v in os.environ.items() if k != PURE_VARIABLE}
    env["PYTHONPATH"] = str(src)
    if pure:
        env[PURE_VARIABLE] = "1"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=src.parent,
    )
    is_compiled, reason, loaded = json.loads(done.stdout)
    return is_compiled, reason, loaded, done.stderr


def require_compiled() -> None:
    build = compiled.status()
    if build.compiled:
        return
    message = f"no compiled build: {build.reason}"
    if os.environ.get("FLEETSIM_REQUIRE_COMPILED", "") not in ("", "0"):
        pytest.fail(message)
    pytest.skip(message)


def test_fleetsim_pure_loads_every_hot_module_from_its_source() -> None:
    is_compiled, reason, loaded, _ = probe(pure=True)
    assert (is_compiled, reason, loaded) == (False, f"{PURE_VARIABLE} is set", [])


def test_the_compiled_build_loads_every_hot_module_as_an_extension() -> None:
    require_compiled()
    is_compiled, reason, loaded, stderr = probe()
    assert (is_compiled, reason, loaded) == (True, "mypyc", list(HOT_MODULES))
    assert "changed since it was compiled" not in stderr


def test_an_edited_source_next_to_its_old_build_runs_pure_with_a_warning(tmp_path: Path) -> None:
    require_compiled()
    copy = tmp_path / "src"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    edited = copy / "fleetsim" / "engine" / "environment.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    is_compiled, reason, loaded, stderr = probe(copy)
    assert (is_compiled, loaded) == (False, [])
    assert reason == "1 source(s) changed since compiled"
    assert "fleetsim.engine.environment changed since it was compiled" in stderr
    # The copy as built, unedited, runs compiled: the check compares contents, not dates.
    edited.write_text(edited.read_text(encoding="utf-8").removesuffix("\n# edited\n"))
    assert probe(copy)[:3] == (True, "mypyc", list(HOT_MODULES))


def test_stale_modules_compares_each_source_with_its_recorded_digest(tmp_path: Path) -> None:
    package = tmp_path / "fleetsim"
    for module in HOT_MODULES[:2]:
        source = compiled.source_path(module, package)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n", encoding="utf-8")
        source.with_suffix(".cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
        source.with_suffix(".so").write_bytes(b"")
    first, second = (compiled.source_path(m, package) for m in HOT_MODULES[:2])
    recorded = {HOT_MODULES[0]: source_digest(first), HOT_MODULES[1]: source_digest(second)}
    (package / SOURCES_FILE).write_text(json.dumps(recorded), encoding="utf-8")
    assert stale_modules(package) == []
    second.write_text("# changed\n", encoding="utf-8")
    assert stale_modules(package) == [HOT_MODULES[1]]
    (package / SOURCES_FILE).unlink()  # an extension the build did not record is stale too
    assert stale_modules(package) == list(HOT_MODULES[:2])


def test_version_and_summary_say_which_build_ran() -> None:
    build = compiled.status()
    done = subprocess.run(
        [sys.executable, "-m", "fleetsim", "--version"], capture_output=True, text=True, check=True
    )
    expected = "compiled: yes, " if build.compiled else "compiled: no, "
    assert done.stdout.startswith(f"fleetsim {fleetsim.__version__} ({expected}")
    summary = fleetsim.run(scenario(), duration="1s", warmup="0s").summary
    assert summary["run"]["build"] == {
        "compiled": build.compiled,
        "reason": build.reason,
        "modules": len(build.modules),
    }
