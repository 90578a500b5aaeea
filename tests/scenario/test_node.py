"""The node room's file format: agents, disks and the app's process."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.node import CAdvisor, ProcessSpec
from tests.scenario_files import assert_one_clear_error, scenario_error

FULL = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata: {name: node-room}
spec:
  duration: 60s
  nodePools:
    - name: big
      count: 2
      cpu: 32
      memory: 256Gi
      agents:
        cadvisor:
          housekeepingInterval: 30s
          referencedMemory: true
          referencedResetInterval: 1
      disks:
        - name: root
          throughput: 200Mi
          latency: {distribution: exponential, mean: 1ms}
          writers:
            - {name: shipper, every: 60s, size: 2Gi}
  services:
    - name: leaf
      replicas: 2
      serviceTime: {distribution: constant, mean: 10ms}
      resources: {requests: {cpu: "1"}}
      process:
        memoryMap: {size: 1Ti, splitAcross: 2}
        pageFaultProbability: 0.001
        disk: root
        syncWriteProbability: 0.01
        pauses:
          interval: {distribution: exponential, mean: 30s}
          duration: {distribution: constant, mean: 200ms}
          gcLogDisk: root
  traffic:
    - {name: clients, target: leaf, rate: 10/s}
  variants:
    quiet-disk:
      nodePools:
        - name: big
          disks:
            - name: root
              writers: []
"""


def test_the_full_example_loads_with_its_units(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FULL, encoding="utf-8")
    spec = load_scenario(path).scenario.spec
    pool = spec.node_pools[0]
    assert pool.agents.cadvisor is not None
    assert pool.agents.cadvisor.housekeeping_interval == 30.0
    assert pool.disks[0].throughput == 200 * 1024**2
    assert pool.disks[0].writers[0].size == 2 * 1024**3
    process = spec.services[0].process
    assert process is not None and process.memory_map is not None
    assert process.memory_map.size == 1024**4
    assert process.memory_map.split_across == 2


def test_a_variant_merges_disks_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FULL, encoding="utf-8")
    disk = load_scenario(path, variant="quiet-disk").scenario.spec.node_pools[0].disks[0]
    assert disk.writers == []
    assert disk.throughput == 200 * 1024**2  # kept from the baseline


def test_cadvisor_defaults_are_cadvisors() -> None:
    """cmd/cadvisor.go: referenced_memory disabled, reset interval 0, housekeeping 1 s,
    jitter(interval, 1.0); #2622's 4.8 s per TiB."""
    spec = CAdvisor()
    assert spec.housekeeping_interval == 1.0
    assert spec.jitter_factor == 1.0
    assert spec.referenced_memory is False
    assert spec.referenced_reset_interval == 0
    assert spec.walk_time_per_tib == 4.8
    assert spec.cpu is None


def test_a_process_needs_nothing_by_default() -> None:
    spec = ProcessSpec()
    assert spec.page_fault_probability == spec.map_change_probability == 0.0
    assert spec.memory_map is None and spec.pauses is None


@pytest.mark.parametrize(
    "case",
    [
        (
            "        disk: root\n",
            "        disk: rot\n",
            "spec.services[0].process.disk",
            "rot",
            "expected a name in nodePools 'big' disks (root); did you mean 'root'?",
            None,
        ),
        (
            "          gcLogDisk: root\n",
            "          gcLogDisk: data\n",
            "spec.services[0].process.pauses.gcLogDisk",
            "data",
            "expected a name in nodePools 'big' disks (root)",
            None,
        ),
        (
            "        pageFaultProbability: 0.001\n",
            "        pageFaultProbability: 1.5\n",
            "spec.services[0].process.pageFaultProbability",
            1.5,
            "expected a value of at most 1.0",
            None,
        ),
        (
            "memoryMap: {size: 1Ti, splitAcross: 2}",
            "memoryMap: {size: 1Ti, splitAcross: 0}",
            "spec.services[0].process.memoryMap.splitAcross",
            0,
            "expected a value of at least 1",
            None,
        ),
        (
            "          referencedMemory: true\n",
            "          referencedMemory: yes please\n",
            "spec.nodePools[0].agents.cadvisor.referencedMemory",
            "yes please",
            "expected true or false",
            None,
        ),
        (
            "          throughput: 200Mi\n",
            "          throughput: 0\n",
            "spec.nodePools[0].disks[0].throughput",
            0,
            "greater than 0",
            None,
        ),
    ],
    ids=["unknown-disk", "unknown-gc-log-disk", "probability", "split", "bool", "throughput"],
)
def test_a_bad_field_gets_one_clear_error(
    tmp_path: Path, case: tuple[str, str, str, object, str, str | None]
) -> None:
    assert_one_clear_error(tmp_path, FULL, case)


def test_two_disks_of_one_name_are_refused(tmp_path: Path) -> None:
    text = FULL.replace(
        "            - {name: shipper, every: 60s, size: 2Gi}\n",
        "            - {name: shipper, every: 60s, size: 2Gi}\n"
        "        - name: root\n"
        "          throughput: 100Mi\n"
        "          latency: {distribution: constant, mean: 1ms}\n",
    )
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    error = scenario_error(path)
    assert error.path == "spec.nodePools[0].disks[1].name"
    assert "not used before" in error.expected


def test_a_disk_without_node_pools_is_refused(tmp_path: Path) -> None:
    start = FULL.index("  nodePools:")
    end = FULL.index("  services:")
    text = FULL[:start] + FULL[end:]
    text = text[: text.index("  variants:")]
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    error = scenario_error(path)
    assert error.path == "spec.services[0].process.disk"
    assert "expected spec.nodePools with disks" in error.expected
