"""metadata.watch: dotted summary paths, refused at load when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetsim.scenario.loader import load_scenario
from tests.fleet_scenarios import scenario
from tests.scenario_files import scenario_error, write_scenario

GOOD = ["latency_ms.p99", "services.backend.readiness.transitions", "goodput_rps"]


def test_dotted_paths_are_kept_in_order() -> None:
    document = scenario()
    document["metadata"]["watch"] = GOOD
    assert load_scenario(document).scenario.metadata.watch == GOOD


def test_watch_defaults_to_nothing() -> None:
    assert load_scenario(scenario()).scenario.metadata.watch == []


@pytest.mark.parametrize("bad", ["latency_ms..p99", ".p99", "p99.", "latency ms", "a.b/c", ""])
def test_malformed_path_names_file_field_value_and_what_is_expected(
    tmp_path: Path, bad: str
) -> None:
    text = (
        "apiVersion: fleetsim/v1\nkind: Scenario\nmetadata:\n  name: w\n"
        f"  watch: [latency_ms.p99, {bad!r}]\n"
        "spec:\n  duration: 2s\n"
        "  services: [{name: s, replicas: 2, serviceTime: {distribution: constant, mean: 1ms}}]\n"
        "  traffic: [{name: u, target: s, rate: 10/s}]\n"
    )
    file = write_scenario(tmp_path, text)
    error = scenario_error(file)
    assert (error.file, error.path, error.value) == (str(file), "metadata.watch[1]", bad)
    assert "dotted path" in error.expected and error.line == 5
