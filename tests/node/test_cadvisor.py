"""cAdvisor's housekeeping and its page-table walks (google/cadvisor manager/container.go)."""

from __future__ import annotations

import itertools
import math

import pytest

from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.node.cadvisor import CAdvisor
from fleetsim.node.process import Process
from fleetsim.node.stalls import StallStats
from fleetsim.scenario.node import CAdvisor as CAdvisorSpec
from fleetsim.scenario.node import ProcessSpec
from tests.node.conftest import Bench

TIB = 1 << 40


def agent(env: Environment, **fields: object) -> CAdvisor:
    spec = CAdvisorSpec.model_validate(
        {"referencedMemory": True, "referencedResetInterval": 1, "walkTimeSigma": 0, **fields}
    )
    return CAdvisor(env, spec, noise=itertools.repeat(0.0), uniforms=itertools.repeat(0.0))


def process_on(bench: Bench, size: int, split: int = 1, mlocked: bool = True) -> Process:
    spec = ProcessSpec.model_validate(
        {
            "memoryMap": {
                "size": size,
                "splitAcross": split,
                "mlocked": mlocked,
                "residentFraction": 0.5,
            }
        }
    )
    return Process(
        bench.env,
        bench.container,
        spec,
        StallStats(),
        disk=None,
        countdowns=iter(()),
        kinds=iter(()),
        pick_space=iter(()),
    )


def test_a_round_walks_smaps_then_clear_refs_and_holds_the_lock_for_both() -> None:
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env, housekeepingInterval="30s", jitterFactor=0)
    process = process_on(bench, TIB)
    cadvisor.watch(process)  # first round at once (uniform phase 0)
    bench.env.run(1.0)
    lock = process.address_spaces[0].lock
    assert (lock.held_from, lock.write_from, lock.held_until) == pytest.approx((0, 4.8, 9.6))
    # The next round starts 30 s after this one ended.
    bench.env.run(40.0)
    assert (lock.held_from, lock.held_until) == pytest.approx((39.6, 49.2))
    assert cadvisor.stats.walks == 2
    assert cadvisor.stats.cpu_seconds == pytest.approx(4 * 4.8)


def test_the_walk_scales_with_the_resident_mapping() -> None:
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env)
    not_locked = process_on(bench, TIB, mlocked=False)  # half resident
    cadvisor.watch(not_locked)
    bench.env.run(0.5)
    lock = not_locked.address_spaces[0].lock
    assert lock.held_until - lock.held_from == pytest.approx(4.8)  # 2 x 2.4 s


def test_splitting_the_map_over_ten_containers_makes_ten_short_walks() -> None:
    """#2622: 1 TB in one container 4.8 s; over 10 containers each walk is a tenth."""
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env)
    split = process_on(bench, TIB, split=10)
    cadvisor.watch(split)
    bench.env.run(0.5)
    spans = [s.lock.held_until - s.lock.held_from for s in split.address_spaces]
    assert spans == pytest.approx([0.96] * 10)


def test_without_referenced_memory_no_walk_and_no_lock() -> None:
    bench = Bench(workers=1, service_time=0.1)
    spec = CAdvisorSpec.model_validate({"housekeepingInterval": "30s"})
    assert spec.referenced_memory is False  # off by default, as in cmd/cadvisor.go
    cadvisor = CAdvisor(bench.env, spec, noise=iter(()), uniforms=iter(()))
    process = process_on(bench, TIB)
    cadvisor.watch(process)
    bench.env.run(300.0)
    assert cadvisor.stats.walks == 0
    assert process.address_spaces[0].lock.held_until == 0.0


def test_reset_interval_zero_reads_smaps_but_never_clears() -> None:
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env, referencedResetInterval=0, housekeepingInterval="30s")
    process = process_on(bench, TIB)
    cadvisor.watch(process)
    bench.env.run(1.0)
    lock = process.address_spaces[0].lock
    assert lock.write_from == lock.held_until == pytest.approx(4.8)


def test_a_cpu_limit_stretches_overlapping_walks() -> None:
    """Two walks at once under a 1-core limit share it: each takes twice as long."""
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env, cpu="1", referencedResetInterval=0)
    first, second = process_on(bench, TIB), process_on(bench, TIB)
    cadvisor.watch(first)
    cadvisor.watch(second)
    bench.env.run(0.5)
    assert first.address_spaces[0].lock.held_until == pytest.approx(4.8)
    assert second.address_spaces[0].lock.held_until == pytest.approx(9.6)


def test_the_jitter_spreads_rounds_over_one_to_two_intervals() -> None:
    bench = Bench(workers=1, service_time=0.1)
    spec = CAdvisorSpec.model_validate(
        {"referencedMemory": True, "housekeepingInterval": "10s", "walkTimeSigma": 0}
    )
    assert spec.jitter_factor == 1.0  # cAdvisor: jitter(interval, 1.0)
    cadvisor = CAdvisor(
        bench.env, spec, noise=itertools.repeat(0.0), uniforms=itertools.cycle([0.0, 0.999])
    )
    process = process_on(bench, TIB // 1000)
    cadvisor.watch(process)
    bench.env.run(15.0)
    # First round at 0, then a wait of 10 x (1 + 0.999).
    assert process.address_spaces[0].lock.held_from == 0.0
    bench.env.run(25.0)
    start = process.address_spaces[0].lock.held_from
    assert start == pytest.approx(0.0048 + 19.99, abs=1e-3)


def test_walk_times_average_the_measured_4_8_s_per_tib() -> None:
    """Lognormal factor of mean 1: 4,000 walks of 1 TiB average 4.8 s within 3 standard
    errors (sigma 0.3: sd of the factor sqrt(exp(0.09) - 1) = 0.307)."""
    env = Environment()
    streams = RandomStreams(5)
    spec = CAdvisorSpec.model_validate({"referencedMemory": True})
    cadvisor = CAdvisor(
        env, spec, noise=streams.normal("walks"), uniforms=streams.uniform("phases")
    )
    times = [cadvisor._walk_time(TIB, 0.0) for _ in range(4000)]
    mean = sum(times) / len(times)
    standard_error = 4.8 * math.sqrt(math.exp(0.09) - 1) / math.sqrt(len(times))
    assert mean == pytest.approx(4.8, abs=3 * standard_error)
    assert max(times) > 8.0  # the tail reaches #2622's 9 s peak


def test_a_stopped_process_is_no_longer_walked() -> None:
    bench = Bench(workers=1, service_time=0.1)
    cadvisor = agent(bench.env, housekeepingInterval="30s")
    process = process_on(bench, TIB)
    cadvisor.watch(process)
    bench.env.run(1.0)
    process.stop()
    bench.env.run(200.0)
    assert cadvisor.stats.walks == 1
