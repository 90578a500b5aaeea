"""Zone failures, nodeSelector and topologySpreadConstraints in a scenario file: what they
parse to, and one clear error (file, line, field path) for each kind of bad input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fleetsim.scenario.kubernetes import Cluster, TopologySpreadConstraint
from fleetsim.scenario.loader import load_scenario
from tests.scenario_files import assert_one_clear_error, scenario_error, write_scenario

FULL = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata:
  name: zones
spec:
  duration: 10m
  zones: [zone-a, zone-b, zone-c]
  services:
    - name: web
      replicas: 6
      serviceTime: {distribution: constant, mean: 20ms}
      nodeSelector:
        cloud.google.com/gke-nodepool: general
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
        - maxSkew: 2
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          nodeTaintsPolicy: Honor
    - name: pinned
      replicas: 2
      serviceTime: {distribution: constant, mean: 20ms}
      nodeSelector:
        topology.kubernetes.io/zone: zone-b
        kubernetes.io/hostname: general-1
  traffic:
    - {name: users, target: web, rate: 100/s, timeout: 1s}
  nodePools:
    - {name: general, count: 3, cpu: "4", memory: 16Gi}
  events:
    - {at: 5m, action: restore-zone, zone: zone-a}
    - {at: 1m, action: fail-zone, zone: zone-a}
    - {at: 2m, action: fail-zone, zone: zone-c}
  cluster:
    nodeMonitorGracePeriod: 40s
    defaultUnreachableTolerationSeconds: 2m
    nodeEvictionRate: 1/20s
"""


def test_zone_events_selectors_and_constraints_parse(tmp_path: Path) -> None:
    spec = load_scenario(write_scenario(tmp_path, FULL)).scenario.spec
    assert [(e.at, e.action, e.zone) for e in spec.events] == [
        (300.0, "restore-zone", "zone-a"),
        (60.0, "fail-zone", "zone-a"),
        (120.0, "fail-zone", "zone-c"),
    ]
    web, pinned = spec.services
    assert web.node_selector == {"cloud.google.com/gke-nodepool": "general"}
    zone, host = web.topology_spread_constraints
    assert (zone.max_skew, zone.topology_key) == (1, "topology.kubernetes.io/zone")
    assert (zone.when_unsatisfiable, zone.node_taints_policy) == ("DoNotSchedule", "Ignore")
    assert (host.max_skew, host.when_unsatisfiable, host.node_taints_policy) == (
        2,
        "ScheduleAnyway",
        "Honor",
    )
    assert pinned.node_selector == {
        "topology.kubernetes.io/zone": "zone-b",
        "kubernetes.io/hostname": "general-1",
    }
    assert pinned.topology_spread_constraints == []
    cluster = spec.cluster
    assert (cluster.node_monitor_grace_period, cluster.default_unreachable_toleration_seconds) == (
        40.0,
        120.0,
    )
    assert cluster.node_eviction_rate == pytest.approx(0.05)


def test_defaults_are_kubernetes_defaults() -> None:
    # 50 s since v1.32 (40 s before), 300 s of DefaultTolerationSeconds, 0.1 nodes/s.
    cluster = Cluster()
    assert (cluster.node_monitor_grace_period, cluster.default_unreachable_toleration_seconds) == (
        50.0,
        300.0,
    )
    assert cluster.node_eviction_rate == pytest.approx(0.1)
    constraint = TopologySpreadConstraint.model_validate(
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname"}
    )
    assert (constraint.when_unsatisfiable, constraint.node_taints_policy) == (
        "DoNotSchedule",
        "Ignore",
    )


# (id, old, new, path, value, phrase, marker): replace ``old`` by ``new`` in FULL.
CASES: list[tuple[str, str, str, str, object, str, str | None]] = [
    (
        "fail-zone-unknown-zone",
        "action: fail-zone, zone: zone-c}",
        "action: fail-zone, zone: zone-d}",
        "spec.events[2].zone",
        "zone-d",
        "expected a name in spec.zones (zone-a, zone-b, zone-c)",
        None,
    ),
    (
        "restore-zone-misspelt",
        "action: restore-zone, zone: zone-a}",
        "action: restore-zone, zone: zone-aa}",
        "spec.events[0].zone",
        "zone-aa",
        "expected a name in spec.zones (zone-a, zone-b, zone-c); did you mean 'zone-a'?",
        None,
    ),
    (
        "restore-zone-that-never-failed",
        "action: restore-zone, zone: zone-a}",
        "action: restore-zone, zone: zone-b}",
        "spec.events[0].zone",
        "zone-b",
        "expected a zone that an earlier fail-zone failed: 'zone-b' is up at 5m",
        None,
    ),
    (
        "restore-zone-before-its-failure",
        "{at: 5m, action: restore-zone",
        "{at: 30s, action: restore-zone",
        "spec.events[0].zone",
        "zone-a",
        "expected a zone that an earlier fail-zone failed: 'zone-a' is up at 30s",
        None,
    ),
    (
        "fail-zone-twice",
        "action: fail-zone, zone: zone-c}",
        "action: fail-zone, zone: zone-a}",
        "spec.events[2].zone",
        "zone-a",
        "expected a zone that is up: fail-zone at 2m fails 'zone-a' again, already failed at 1m",
        "{at: 2m, action: fail-zone",
    ),
    (
        "fail-zone-without-zone",
        "{at: 2m, action: fail-zone, zone: zone-c}",
        "{at: 2m, action: fail-zone}",
        "spec.events[2].zone",
        None,
        "required field is missing: fail-zone takes zone",
        None,
    ),
    (
        "fail-zone-with-a-node",
        "action: fail-zone, zone: zone-c}",
        "action: fail-zone, zone: zone-c, node: general-0}",
        "spec.events[2].node",
        None,
        "not a field of fail-zone: it takes zone",
        None,
    ),
    (
        "zone-on-another-action",
        "{at: 1m, action: fail-zone, zone: zone-a}",
        "{at: 1m, action: fail-zone, zone: zone-a}\n    - {at: 3m, action: scale, service: web, "
        "replicas: 3, zone: zone-b}",
        "spec.events[2].zone",
        None,
        "not a field of scale: it takes service and replicas",
        "{at: 3m, action: scale",
    ),
    (
        "unknown-node-label",
        "cloud.google.com/gke-nodepool: general",
        "cloud.google.com/gke-nodepol: general",
        "spec.services[0].nodeSelector['cloud.google.com/gke-nodepol']",
        None,
        "expected a node label the model sets (topology.kubernetes.io/zone, "
        "kubernetes.io/hostname, cloud.google.com/gke-nodepool); did you mean "
        "'cloud.google.com/gke-nodepool'?",
        None,
    ),
    (
        "node-selector-unknown-zone",
        "topology.kubernetes.io/zone: zone-b",
        "topology.kubernetes.io/zone: zone-bb",
        "spec.services[1].nodeSelector['topology.kubernetes.io/zone']",
        "zone-bb",
        "expected a name in spec.zones (zone-a, zone-b, zone-c); did you mean 'zone-b'?",
        None,
    ),
    (
        "node-selector-unknown-pool",
        "cloud.google.com/gke-nodepool: general",
        "cloud.google.com/gke-nodepool: spot",
        "spec.services[0].nodeSelector['cloud.google.com/gke-nodepool']",
        "spot",
        "expected a name in spec.nodePools (general)",
        None,
    ),
    (
        "node-selector-node-index-too-high",
        "kubernetes.io/hostname: general-1",
        "kubernetes.io/hostname: general-3",
        "spec.services[1].nodeSelector['kubernetes.io/hostname']",
        "general-3",
        "expected an index below 3: pool 'general' has 3 node(s)",
        None,
    ),
    (
        "max-skew-zero",
        "        - maxSkew: 1\n",
        "        - maxSkew: 0\n",
        "spec.services[0].topologySpreadConstraints[0].maxSkew",
        0,
        "expected a value of at least 1",
        "        - maxSkew: 0",
    ),
    (
        "unknown-topology-key",
        "topologyKey: topology.kubernetes.io/zone",
        "topologyKey: topology.kubernetes.io/region",
        "spec.services[0].topologySpreadConstraints[0].topologyKey",
        "topology.kubernetes.io/region",
        "expected one of topology.kubernetes.io/zone, kubernetes.io/hostname",
        None,
    ),
    (
        "unknown-when-unsatisfiable",
        "whenUnsatisfiable: ScheduleAnyway",
        "whenUnsatisfiable: Never",
        "spec.services[0].topologySpreadConstraints[1].whenUnsatisfiable",
        "Never",
        "expected one of DoNotSchedule, ScheduleAnyway",
        None,
    ),
    (
        "repeated-key-and-action",
        "topologyKey: kubernetes.io/hostname\n          whenUnsatisfiable: ScheduleAnyway",
        "topologyKey: topology.kubernetes.io/zone\n          whenUnsatisfiable: DoNotSchedule",
        "spec.services[0].topologySpreadConstraints[1].topologyKey",
        "topology.kubernetes.io/zone",
        "expected each pair of topologyKey and whenUnsatisfiable once (Kubernetes validation): "
        "topology.kubernetes.io/zone with DoNotSchedule is repeated",
        None,
    ),
    (
        "grace-period-negative",
        "nodeMonitorGracePeriod: 40s",
        "nodeMonitorGracePeriod: -40s",
        "spec.cluster.nodeMonitorGracePeriod",
        "-40s",
        "not negative",
        None,
    ),
    (
        "eviction-rate-zero",
        "nodeEvictionRate: 1/20s",
        "nodeEvictionRate: 0",
        "spec.cluster.nodeEvictionRate",
        0,
        "expected a value greater than 0",
        None,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "value", "phrase", "marker"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path,
    old: str,
    new: str,
    path: str,
    value: object,
    phrase: str,
    marker: str | None,
) -> None:
    assert_one_clear_error(tmp_path, FULL, (old, new, path, value, phrase, marker))


MINIMAL: dict[str, Any] = {
    "apiVersion": "fleetsim/v1",
    "kind": "Scenario",
    "metadata": {"name": "tiny"},
    "spec": {
        "duration": 10,
        "zones": ["zone-a", "zone-b"],
        "services": [
            {"name": "a", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}}
        ],
        "traffic": [{"name": "t", "target": "a", "rate": 5}],
    },
}


def test_a_pool_label_without_node_pools_names_none() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["services"][0]["nodeSelector"] = {"cloud.google.com/gke-nodepool": "default"}
    error = scenario_error(doc)
    assert error.path == "spec.services[0].nodeSelector['cloud.google.com/gke-nodepool']"
    assert "(none: spec.nodePools is empty)" in error.expected


def test_without_node_pools_a_hostname_is_a_zone() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["services"][0]["nodeSelector"] = {"kubernetes.io/hostname": "zone-b"}
    assert load_scenario(doc).scenario.spec.services[0].node_selector == {
        "kubernetes.io/hostname": "zone-b"
    }
    doc["spec"]["services"][0]["nodeSelector"] = {"kubernetes.io/hostname": "zone-c"}
    error = scenario_error(doc)
    assert error.path == "spec.services[0].nodeSelector['kubernetes.io/hostname']"
    assert error.expected.startswith(
        "expected a name in spec.zones, the nodes' names without spec.nodePools (zone-a, zone-b)"
    )


def test_equal_times_keep_file_order_for_zone_events() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["events"] = [
        {"at": 5, "action": "fail-zone", "zone": "zone-a"},
        {"at": 5, "action": "restore-zone", "zone": "zone-a"},
    ]
    assert len(load_scenario(doc).scenario.spec.events) == 2
    doc["spec"]["events"].reverse()
    error = scenario_error(doc)
    assert (error.path, error.value) == ("spec.events[0].zone", "zone-a")


def test_zone_events_without_zones_name_the_default_zone() -> None:
    doc = copy.deepcopy(MINIMAL)
    del doc["spec"]["zones"]
    doc["spec"]["events"] = [{"at": 5, "action": "fail-zone", "zone": "zone-a"}]
    error = scenario_error(doc)
    assert error.path == "spec.events[0].zone"
    assert error.expected == "expected a name in spec.zones (default)"
