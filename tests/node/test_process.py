"""The app's process: lock waits and disk waits at the start of service, freezes."""

from __future__ import annotations

import itertools

import pytest

from fleetsim.dataplane.request import OK
from fleetsim.node.disk import Disk
from fleetsim.node.process import Process
from fleetsim.node.stalls import StallStats
from fleetsim.scenario.node import ProcessSpec
from tests.node.conftest import Bench


def attach(
    bench: Bench,
    spec: ProcessSpec,
    *,
    kinds: list[float] | None = None,
    every: int = 1,
    disk: Disk | None = None,
) -> Process:
    """A process whose every ``every``-th request needs something; ``kinds`` picks what."""
    process = Process(
        bench.env,
        bench.container,
        spec,
        StallStats(),
        disk=disk,
        countdowns=itertools.repeat(every),
        kinds=itertools.cycle(kinds or [0.0]),
        pick_space=itertools.repeat(0),
    )
    if process.needs_anything:
        bench.container.process = process
    return process


PAGE_FAULTS = ProcessSpec.model_validate(
    {"memoryMap": {"size": "1Ti"}, "pageFaultProbability": 1.0}
)


def test_a_page_fault_during_the_clear_refs_walk_waits_for_its_end(bench: Bench) -> None:
    process = attach(bench, PAGE_FAULTS)
    process.address_spaces[0].lock.hold(1.0, 2.0, 5.0)
    during = bench.arrive_at(3.0)
    bench.env.run(10.0)
    assert bench.answered_at(during) == pytest.approx(5.0 + 0.1)
    assert process.stalls.mmap_lock.count == 1
    assert process.stalls.mmap_lock.maximum == pytest.approx(2.0)


def test_without_a_walk_the_same_page_fault_is_not_delayed(bench: Bench) -> None:
    process = attach(bench, PAGE_FAULTS)
    request = bench.arrive_at(3.0)
    bench.env.run(10.0)
    assert bench.answered_at(request) == pytest.approx(3.1)
    assert process.stalls.mmap_lock.count == 0


def test_a_request_that_needs_no_lock_is_not_delayed_by_a_walk(bench: Bench) -> None:
    spec = ProcessSpec.model_validate({"memoryMap": {"size": "1Ti"}})
    process = attach(bench, spec)
    assert not process.needs_anything
    assert bench.container.process is None
    process.address_spaces[0].lock.hold(1.0, 2.0, 5.0)
    request = bench.arrive_at(3.0)
    bench.env.run(10.0)
    assert bench.answered_at(request) == pytest.approx(3.1)


def test_only_the_needing_request_waits_and_it_holds_its_worker() -> None:
    bench = Bench(workers=1, service_time=0.1)
    process = attach(bench, PAGE_FAULTS, every=2)  # the 2nd, 4th... request faults
    process.address_spaces[0].lock.hold(0.0, 0.0, 2.0)
    first = bench.arrive_at(0.5)  # no fault: served at once
    second = bench.arrive_at(0.7)  # faults: waits until 2.0 on the only worker
    third = bench.arrive_at(0.8)  # no fault, but queued behind the stalled worker
    bench.env.run(10.0)
    assert bench.answered_at(first) == pytest.approx(0.6)
    assert bench.answered_at(second) == pytest.approx(2.1)
    assert bench.answered_at(third) == pytest.approx(2.2)


def test_a_map_change_waits_for_the_smaps_read_too(bench: Bench) -> None:
    spec = ProcessSpec.model_validate({"memoryMap": {"size": "1Ti"}, "mapChangeProbability": 1.0})
    process = attach(bench, spec)
    process.address_spaces[0].lock.hold(1.0, 2.0, 5.0)
    request = bench.arrive_at(1.5)
    bench.env.run(10.0)
    assert bench.answered_at(request) == pytest.approx(5.1)


def test_a_synchronous_write_waits_behind_a_co_tenants_burst(bench: Bench) -> None:
    disk = Disk("root", throughput=100e6, latencies=itertools.repeat(0.001))
    disk.write(0.0, 500_000_000)  # a 500 MB burst holds the device until 5.001 s
    spec = ProcessSpec.model_validate(
        {"disk": "root", "syncWriteProbability": 1.0, "syncWriteSize": 1000}
    )
    process = attach(bench, spec, kinds=[0.5], disk=disk)
    request = bench.arrive_at(1.0)
    bench.env.run(10.0)
    write_done = 5.001 + 0.001 + 1000 / 100e6
    assert bench.answered_at(request) == pytest.approx(write_done + 0.1)
    assert process.stalls.disk.count == 1


# --- stop-the-world freezes ------------------------------------------------------


def test_a_frozen_process_delays_its_queued_requests_by_the_remaining_pause(
    bench: Bench,
) -> None:
    """Two workers, 100 ms each; a pause from 50 ms to 550 ms.

    The attempt in service resumes after the pause; one arriving at 200 ms finds a free
    worker but a frozen process, so it waits the 350 ms left of the pause.
    """
    process = attach(bench, ProcessSpec())
    in_service = bench.arrive_at(0.0)
    queued = bench.arrive_at(0.2)
    bench.env.schedule_at(0.05, lambda _: process.freeze(0.5))
    bench.env.run(5.0)
    assert bench.answered_at(in_service) == pytest.approx(0.6)
    assert bench.answered_at(queued) == pytest.approx(0.55 + 0.1)
    assert bench.client.answers[queued][0] == OK
    assert process.stalls.stop_the_world.count == 1
    assert process.stalls.stop_the_world.requests == 2


def test_without_the_pause_the_same_requests_are_served_at_once(bench: Bench) -> None:
    in_service = bench.arrive_at(0.0)
    later = bench.arrive_at(0.2)
    bench.env.run(5.0)
    assert bench.answered_at(in_service) == pytest.approx(0.1)
    assert bench.answered_at(later) == pytest.approx(0.3)


def test_a_pause_keeps_connections_open_unlike_a_sidecar_restart(bench: Bench) -> None:
    process = attach(bench, ProcessSpec())
    bench.env.schedule_at(0.0, lambda _: process.freeze(1.0))
    request = bench.arrive_at(0.5)
    bench.env.run(5.0)
    status, at = bench.client.answers[request]
    assert status == OK  # queued, not refused
    assert at == pytest.approx(1.1)


def test_an_overlapping_pause_extends_the_freeze() -> None:
    bench = Bench(workers=1, service_time=0.1)
    process = attach(bench, ProcessSpec())
    request = bench.arrive_at(0.0)
    bench.env.schedule_at(0.02, lambda _: process.freeze(0.5))  # to 0.52
    bench.env.schedule_at(0.3, lambda _: process.freeze(0.5))  # to 0.8
    bench.env.run(5.0)
    # 20 ms served before the freeze, 80 ms after it ends at 0.8 s.
    assert bench.answered_at(request) == pytest.approx(0.88)


def test_a_stopped_process_does_not_freeze() -> None:
    bench = Bench(workers=1, service_time=0.1)
    process = attach(bench, ProcessSpec())
    process.stop()
    process.freeze(1.0)
    assert bench.container.frozen_until == 0.0
    assert bench.env.pending() == 0
