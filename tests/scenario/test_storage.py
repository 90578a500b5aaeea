"""The storage tier's file format: tables, the master, the balancer, the client, and
the storage block of a traffic."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.storage import Balancer, Client, Master, Table
from tests.scenario_files import assert_one_clear_error, scenario_error

FULL = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata: {name: storage-room}
spec:
  duration: 60s
  zones: [zone-a, zone-b]
  services:
    - name: rs
      replicas: 4
      serviceTime: {distribution: constant, mean: 1ms}
    - name: api
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
  storage:
    tables:
      - name: pins
        regionServers: rs
        regions: 10
        saltBuckets: 2
        replication: {factor: 3, placement: zone-aware}
        operationCosts: {put: 1.5}
    balancer: {period: 2m}
    client: {retries: 5}
  traffic:
    - name: reads
      target: rs
      rate: 100/s
      storage:
        table: pins
        operation: get
        keys: {distribution: zipf, keys: 1000, exponent: 1.1}
    - name: writes
      target: rs
      rate: 10/s
      storage: {table: pins, operation: put, keys: {distribution: sequential}}
    - name: web
      target: api
      rate: 10/s
  variants:
    more-regions:
      storage:
        tables:
          - name: pins
            regions: 40
"""


def test_the_full_example_loads_with_its_units(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FULL, encoding="utf-8")
    spec = load_scenario(path).scenario.spec
    assert spec.storage is not None
    table = spec.storage.tables[0]
    assert (table.regions, table.salt_buckets, table.replication.placement) == (
        10,
        2,
        "zone-aware",
    )
    assert table.operation_costs.put == 1.5 and table.operation_costs.get == 1.0
    assert spec.storage.balancer.period == 120.0
    assert spec.traffic[0].storage is not None
    assert spec.traffic[0].storage.keys.keys == 1000
    merged = load_scenario(path, variant="more-regions").scenario.spec
    assert merged.storage is not None and merged.storage.tables[0].regions == 40
    assert merged.storage.tables[0].salt_buckets == 2  # merged by name, not replaced


def test_defaults_are_hbases() -> None:
    table = Table(name="t", region_servers="rs", regions=1)
    assert table.max_file_size == 10 * 1024**3  # hbase.hregion.max.filesize
    assert table.memstore_flush_size == 128 * 1024**2
    assert table.replication.factor == 3
    master = Master()
    assert master.zookeeper_session_timeout == 90.0
    balancer = Balancer()
    assert (balancer.period, balancer.slop, balancer.min_cost_need_balance) == (300.0, 0.2, 0.025)
    assert (balancer.region_count_cost, balancer.table_skew_cost, balancer.move_cost) == (
        500.0,
        35.0,
        7.0,
    )
    assert (balancer.steps_per_region, balancer.max_steps, balancer.max_move_percent) == (
        800,
        1_000_000,
        1.0,
    )
    client = Client()
    assert (client.pause, client.retries, client.rpc_timeout) == (0.1, 15, 60.0)


@pytest.mark.parametrize(
    "case",
    [
        (
            "keys: {distribution: zipf, keys: 1000, exponent: 1.1}",
            "keys: {distribution: zipf, exponent: 1.1}",
            "spec.traffic[0].storage.keys.keys",
            None,
            "required field is missing: a zipf distribution takes keys",
            None,
        ),
        (
            "        saltBuckets: 2\n",
            "        saltBuckets: 11\n",
            "spec.storage.tables[0].saltBuckets",
            11,
            "expected at most 10 salt buckets",
            None,
        ),
        (
            "        table: pins\n",
            "        table: pin\n",
            "spec.traffic[0].storage.table",
            "pin",
            "expected a table in spec.storage.tables (pins); did you mean 'pins'?",
            None,
        ),
        (
            "        regionServers: rs\n",
            "        regionServers: rss\n",
            "spec.storage.tables[0].regionServers",
            "rss",
            "expected the name of a service in spec.services",
            None,
        ),
        (
            "keys: {distribution: sequential}",
            "keys: {distribution: sequential, keys: 10}",
            "spec.traffic[1].storage.keys.keys",
            None,
            "not a field of a sequential distribution",
            None,
        ),
        (
            "placement: zone-aware}",
            "placement: rack-aware}",
            "spec.storage.tables[0].replication.placement",
            "rack-aware",
            "expected one of",
            None,
        ),
    ],
    ids=[
        "zipf-without-keys",
        "salt-beyond-regions",
        "unknown-table",
        "unknown-region-servers",
        "keys-on-sequential",
        "placement",
    ],
)
def test_a_bad_field_gets_one_clear_error(
    tmp_path: Path, case: tuple[str, str, str, object, str, str | None]
) -> None:
    assert_one_clear_error(tmp_path, FULL, case)


@pytest.mark.parametrize(
    ("old", "new", "path", "phrase"),
    [
        (
            "    - name: api\n      replicas: 2\n",
            "    - name: api\n      replicas: 2\n      calls: [{service: rs}]\n",
            "spec.services[1].calls[0].service",
            "expected a service that is not a region server",
        ),
        (
            "    - name: web\n      target: api\n",
            "    - name: web\n      target: rs\n",
            "spec.traffic[2].storage",
            "required field is missing: traffic to the region servers 'rs' needs storage",
        ),
        (
            "    - name: writes\n      target: rs\n",
            "    - name: writes\n      target: api\n",
            "spec.traffic[1].target",
            "expected 'rs', the region servers of table 'pins'",
        ),
    ],
    ids=["calls-to-region-servers", "traffic-without-storage", "wrong-target"],
)
def test_region_servers_are_reached_only_through_a_table(
    tmp_path: Path, old: str, new: str, path: str, phrase: str
) -> None:
    assert FULL.count(old) == 1
    file = tmp_path / "s.yaml"
    file.write_text(FULL.replace(old, new), encoding="utf-8")
    error = scenario_error(file)
    assert error.path == path
    assert phrase in error.expected


@pytest.mark.parametrize(
    ("event", "path", "phrase"),
    [
        (
            "{at: 1m, action: rolling-restart, service: api, method: naive}",
            "spec.events[0].service",
            "expected the region servers of a table in spec.storage (rs)",
        ),
        (
            "{at: 1m, action: rolling-restart, service: rs}",
            "spec.events[0].method",
            "required field is missing: rolling-restart takes service (region servers) and method",
        ),
        (
            "{at: 1m, action: rolling-restart, service: rs, method: gentle}",
            "spec.events[0].method",
            "expected one of",
        ),
        (
            "{at: 1m, action: scale, service: rs, replicas: 3, cooldown: 10s}",
            "spec.events[0].cooldown",
            "not a field of scale",
        ),
    ],
    ids=["not-region-servers", "no-method", "bad-method", "cooldown-elsewhere"],
)
def test_a_rolling_restart_names_region_servers_and_a_method(
    tmp_path: Path, event: str, path: str, phrase: str
) -> None:
    text = FULL.replace("  variants:\n", f"  events:\n    - {event}\n  variants:\n")
    file = tmp_path / "s.yaml"
    file.write_text(text, encoding="utf-8")
    error = scenario_error(file)
    assert error.path == path
    assert phrase in error.expected


def test_a_rolling_restart_loads_with_its_defaults(tmp_path: Path) -> None:
    text = FULL.replace(
        "  variants:\n",
        "  events:\n    - {at: 1m, action: rolling-restart, service: rs, method: graceful,"
        " maxThreads: 2}\n  variants:\n",
    )
    file = tmp_path / "s.yaml"
    file.write_text(text, encoding="utf-8")
    (event,) = load_scenario(file).scenario.spec.events
    assert (event.method, event.max_threads, event.cooldown) == ("graceful", 2, None)
