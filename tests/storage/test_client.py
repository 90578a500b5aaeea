"""The HBase client and master in short runs: moved regions, splits, the balancer, and
salted reads, each with the mechanism on and off."""

from __future__ import annotations

from typing import Any

import fleetsim
from fleetsim.dataplane.request import Request
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation
from fleetsim.storage.client import StorageOperation
from tests.answers import Answers
from tests.storage.scenarios import storage_scenario


def run(document: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(document).summary
    return summary


def test_a_storage_operation_sets_every_field_of_a_request() -> None:
    answers = Answers()
    operation = StorageOperation(answers, answers, 1.5)
    # A compiled class lists its attributes in ``__mypyc_attrs__``, a pure one in ``__slots__``.
    fields = getattr(Request, "__slots__", None) or Request.__mypyc_attrs__  # type: ignore[attr-defined]
    assert "try_number" in fields
    for name in fields:
        assert hasattr(operation, name), name
    assert operation.cost == 1.0 and operation.key == -1


def test_a_moved_region_refuses_until_the_client_looks_it_up_again() -> None:
    document = storage_scenario(duration="20s", storage={"master": {"regionOpenTime": "50ms"}})
    simulation = Simulation(load_scenario(document))
    master = simulation.storage.masters["rs"]  # type: ignore[union-attr]
    client = simulation.storage.clients["reads"]  # type: ignore[union-attr]
    env = simulation.env

    def move(_: Any) -> None:
        region = master.tables[0].regions[0]
        target = next(s for s in master.servers if s is not region.server)
        master.move(region, target)

    env.schedule_at(10.0, move)
    result = simulation.run().summary
    assert client.meta_lookups >= 8 + 1  # each region once, then the moved one again
    assert client.not_serving >= 1
    assert result["storage"]["clusters"]["rs"]["moves"] == 1
    assert result["requests"]["failed"] == 0  # the retries found it (1 s client timeout)


def test_without_a_move_no_try_is_refused_and_each_region_is_looked_up_once() -> None:
    result = run(storage_scenario(duration="20s"))
    client = result["storage"]["clients"]["reads"]
    assert client["not_serving"] == 0
    # Every region is looked up once; requests that miss while its lookup is out look
    # it up too (HBase would make them wait for the one lookup), only at the start.
    assert 8 <= client["meta_lookups"] <= 16
    assert client["retries"] == 0


def test_writes_split_regions_past_their_size_and_not_before() -> None:
    small = run(
        storage_scenario(writes=2000, table={"maxFileSize": "256Mi", "regionSize": "128Mi"})
    )
    large = run(storage_scenario(writes=2000))  # 10 GiB regions: nothing splits in 30 s
    assert small["storage"]["clusters"]["rs"]["splits"] > 0
    assert small["storage"]["tables"]["t"]["regions"] > 8
    assert large["storage"]["clusters"]["rs"]["splits"] == 0
    assert large["storage"]["tables"]["t"]["regions"] == 8


def test_sequential_writes_split_only_the_last_region_and_pile_daughters_on_its_server() -> None:
    document = storage_scenario(
        writes=500,
        write_keys="sequential",
        table={"maxFileSize": "256Mi"},
        storage={"balancer": {"enabled": False}},
        duration="60s",
    )
    table = run(document)["storage"]["tables"]["t"]
    assert table["regions"] > 8
    assert table["regions_per_server_max"] == 2 + table["regions"] - 8


def test_the_balancer_spreads_a_split_storm_and_without_it_the_storm_stays() -> None:
    common: dict[str, Any] = {
        "writes": 500,
        "write_keys": "sequential",
        "table": {"maxFileSize": "256Mi"},
        "duration": "70s",
    }
    on = run(storage_scenario(**common, storage={"balancer": {"period": "60s"}}))
    off = run(storage_scenario(**common, storage={"balancer": {"enabled": False}}))
    on_table, off_table = on["storage"]["tables"]["t"], off["storage"]["tables"]["t"]
    assert on["storage"]["clusters"]["rs"]["moves"] > 0
    assert off["storage"]["clusters"]["rs"]["moves"] == 0
    on_spread = on_table["regions_per_server_max"] - on_table["regions_per_server_min"]
    off_spread = off_table["regions_per_server_max"] - off_table["regions_per_server_min"]
    assert off_spread >= 6
    assert on_spread <= off_spread - 3  # only the splits since the run at 60 s are left


def test_salted_reads_fan_out_to_every_bucket() -> None:
    salted = run(storage_scenario(table={"saltBuckets": 4}, duration="10s"))
    plain = run(storage_scenario(duration="10s"))
    client = salted["storage"]["clients"]["reads"]
    requests = salted["requests"]["total"]
    assert client["parts"] >= 4 * requests
    assert client["tries"] >= 4 * requests
    assert plain["storage"]["clients"]["reads"]["parts"] == 0
    # A read waits for the slowest of its four parts.
    assert salted["latency_ms"]["p50"] > plain["latency_ms"]["p50"]
