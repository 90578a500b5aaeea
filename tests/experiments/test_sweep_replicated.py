"""``run --seeds`` and ``compare --seeds``: the same runs as one seed at a time, averaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.experiments.test_sweep import QUICKSTART, WINDOW, fleetsim


def test_run_with_seeds_writes_each_seed_and_the_aggregate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    printed = json.loads(
        fleetsim("run", QUICKSTART, "--seeds", "2", "--out", str(out), "--json", *WINDOW).stdout
    )
    assert printed["seeds"] == [7, 8]
    totals = []
    for seed in (7, 8):
        written = json.loads((out / f"seed-{seed}" / "summary.json").read_text())
        alone = json.loads(
            fleetsim("run", QUICKSTART, "--seed", str(seed), "--json", *WINDOW).stdout
        )
        written.pop("wall_seconds")
        alone.pop("wall_seconds")
        assert written == alone
        totals.append(alone["requests"]["total"])
    found = printed["variants"]["baseline"]["requests.total"]
    assert found["mean"] == pytest.approx(sum(totals) / 2)
    assert found["n"] == 2
    assert found["ci95"] == pytest.approx(12.706204736174698 * abs(totals[0] - totals[1]) / 2)
    assert json.loads((out / "aggregate.json").read_text()) == printed


def test_compare_with_seeds_reports_every_variant(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fleetsim("compare", QUICKSTART, "--seeds", "2", "--seed", "3", "--out", str(out), *WINDOW)
    aggregate = json.loads((out / "aggregate.json").read_text())
    assert aggregate["seeds"] == [3, 4]
    assert list(aggregate["variants"]) == ["baseline", "no-retries", "least-request"]
    assert (out / "least-request" / "seed-4" / "summary.json").exists()
