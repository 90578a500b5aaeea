"""The compiled hot path against its pure-Python sources: equal summaries, run by run.

The cases of ``tests.compiled.cases`` (every mechanism of the per-request path, three
seeds each) run twice, at the same time, in two fresh processes: one with
``FLEETSIM_PURE=1``, one with the build installed. Every summary must be equal, wall time
aside, and the compiled process must have loaded every hot module as an extension (a
mypyc build that silently fell back to Python would otherwise compare pure with pure).

Without a compiled build the test is skipped, unless ``FLEETSIM_REQUIRE_COMPILED=1``
(set by ``.ci/run``), which makes a missing build a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from fleetsim.compiled import HOT_MODULES, PURE_VARIABLE
from tests.compiled.cases import CASES, ROOT, SEEDS
from tests.golden.goldens import differences


def start(pure: bool) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != PURE_VARIABLE}
    if pure:
        env[PURE_VARIABLE] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "tests.compiled.cases"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    document: dict[str, Any] = json.loads(out)
    return document


def test_compiled_and_pure_builds_give_equal_summaries() -> None:
    pure_process, compiled_process = start(pure=True), start(pure=False)
    pure, compiled = finish(pure_process), finish(compiled_process)

    assert not pure["compiled"] and pure["loaded_compiled"] == []
    if not compiled["compiled"]:
        message = f"no compiled build to compare: {compiled['reason']}"
        if os.environ.get("FLEETSIM_REQUIRE_COMPILED", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    assert compiled["loaded_compiled"] == list(HOT_MODULES)

    assert len(pure["runs"]) == len(compiled["runs"]) == len(CASES) * len(SEEDS)
    for expected, actual in zip(pure["runs"], compiled["runs"], strict=True):
        assert expected["case"] == actual["case"]
        assert expected["summary"]["requests"]["total"] > 0, expected["case"]
        found = differences(expected["summary"], actual["summary"])
        assert not found, f"{actual['case']}: compiled differs from pure:\n" + "\n".join(found[:20])
