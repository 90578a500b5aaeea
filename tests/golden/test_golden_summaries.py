"""Every catalogue scenario and variant gives its golden summary, number for number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.goldens import (
    GOLDEN_RUNS,
    ROOT,
    GoldenRun,
    canonical,
    cases,
    differences,
    golden_path,
    observe,
)


def test_every_catalogue_scenario_has_a_golden_run() -> None:
    catalogue = {path.relative_to(ROOT).as_posix() for path in (ROOT / "scenarios").glob("*.yaml")}
    covered = {run.path for run in GOLDEN_RUNS}
    assert catalogue <= covered, f"no golden run for {sorted(catalogue - covered)}"


@pytest.mark.parametrize(
    ("run", "variant"),
    cases(),
    ids=lambda value: value.name if isinstance(value, GoldenRun) else value,
)
def test_summary_matches_golden(run: GoldenRun, variant: str) -> None:
    path: Path = golden_path(run, variant)
    assert path.exists(), f"{path} is missing: python -m tests.golden.regenerate"
    expected = json.loads(path.read_text(encoding="utf-8"))
    actual = canonical(observe(run, variant))
    found = differences(expected, actual)
    assert not found, "differs from the golden summary:\n" + "\n".join(found[:40])
