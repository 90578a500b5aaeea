"""Splits: the split point, the daughters, and SteppingSplitPolicy's two steps."""

from __future__ import annotations

import itertools

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.service import Service
from fleetsim.engine.environment import Environment
from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.storage import Table as TableSpec
from fleetsim.storage.region import OPEN, RETIRED, RegionServer
from fleetsim.storage.row_keys import HASHED_SPAN
from fleetsim.storage.split_policy import split_size
from fleetsim.storage.table import NO_END, Table, split_point
from tests.fleet_scenarios import scenario


def test_a_split_replaces_a_region_by_two_daughters_at_the_middle_of_its_data() -> None:
    t = Table(TableSpec(name="t", region_servers="rs", regions=4, region_size=4 << 30))
    parent = t.regions[1]
    parent.replica_zones = ("zone-a",) * 3
    lower, upper = t.split(parent)
    assert parent.state == RETIRED and parent in t.retired
    assert (lower.start, lower.end, upper.end) == (parent.start, upper.start, parent.end)
    assert upper.start == split_point(parent) == parent.start + HASHED_SPAN // 8
    assert lower.size + upper.size == parent.size
    assert lower.replica_zones == upper.replica_zones == ("zone-a",) * 3
    assert t.region_for(parent.start) is lower and t.region_for(parent.end - 1) is upper
    assert len(t.regions) == 5 and t.starts == sorted(t.starts)


def test_the_last_region_has_no_end_and_splits_inside_its_written_keys() -> None:
    t = Table(TableSpec(name="t", region_servers="rs", regions=2))
    last = t.regions[-1]
    assert last.end == NO_END
    last.data_high = HASHED_SPAN + 10_000_000  # timestamp keys written beyond the data
    _, upper = t.split(last)
    assert last.start < upper.start < HASHED_SPAN + 10_000_000
    assert t.region_for(HASHED_SPAN + 20_000_000) is upper


def _container() -> AppContainer:
    spec = load_scenario(scenario()).scenario.spec.services[0]
    return AppContainer(Environment(), Service(spec), 0, "zone-a", itertools.repeat(1.0), None)


def test_stepping_split_policy_splits_a_tables_only_region_at_twice_the_flush_size() -> None:
    spec = TableSpec(name="t", region_servers="rs", regions=2, memstore_flush_size=128 << 20)
    t = Table(spec)
    server = RegionServer(_container(), "rs-0", 1)
    first, second = t.regions
    first.server, first.state = server, OPEN
    server.regions.append(first)
    assert split_size(first) == 256 << 20
    second.server, second.state = server, OPEN
    server.regions.append(second)
    assert split_size(first) == spec.max_file_size == 10 << 30
