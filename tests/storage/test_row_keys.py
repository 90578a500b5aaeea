"""Row keys against closed forms: uniform shares, Zipf mass per region, salt buckets,
timestamp keys. Tolerances are 4.5 binomial standard deviations of the sample."""

from __future__ import annotations

import itertools
from math import sqrt

import numpy as np

from fleetsim.engine.environment import Environment
from fleetsim.scenario.storage import KeyDistribution
from fleetsim.scenario.storage import Table as TableSpec
from fleetsim.storage.row_keys import (
    BUCKET_WIDTH,
    HASHED_SPAN,
    KeyGenerator,
    salt_buckets,
    scatter_multiplier,
    zipf_cdf,
    zipf_key_positions,
)
from fleetsim.storage.table import Table

DRAWS = 200_000


def binomial_margin(share: float, draws: int = DRAWS) -> float:
    return 4.5 * sqrt(share * (1.0 - share) / draws)


def table(regions: int, buckets: int = 1) -> Table:
    return Table(TableSpec(name="t", region_servers="rs", regions=regions, salt_buckets=buckets))


def draw(spec: KeyDistribution, count: int = DRAWS, seed: int = 3) -> list[int]:
    generator = KeyGenerator(Environment(), spec, np.random.default_rng(seed))
    return [generator.next_key() for _ in range(count)]


def shares(t: Table, keys: list[int]) -> list[float]:
    counts = [0] * len(t.regions)
    index = {id(region): i for i, region in enumerate(t.regions)}
    for key in keys:
        counts[index[id(t.region_for(key))]] += 1
    return [count / len(keys) for count in counts]


def test_uniform_keys_give_each_region_one_rth_of_the_requests() -> None:
    t = table(25)
    observed = shares(t, draw(KeyDistribution(distribution="uniform")))
    for share in observed:
        assert abs(share - 1 / 25) < binomial_margin(1 / 25)


def test_a_server_with_3_of_25_regions_takes_half_again_what_one_with_2_takes() -> None:
    t = table(25)
    observed = shares(t, draw(KeyDistribution(distribution="uniform")))
    servers = [sum(observed[i::10]) for i in range(10)]  # round robin over 10 servers
    for index, share in enumerate(servers):
        expected = (3 if index < 5 else 2) / 25
        assert abs(share - expected) < binomial_margin(expected)


def test_the_hottest_zipf_region_gets_the_zipf_mass_of_its_key_range() -> None:
    keys, exponent, regions = 10_000, 1.1, 25
    t = table(regions)
    cdf = zipf_cdf(keys, exponent)
    mass = np.diff(np.concatenate(([0.0], cdf)))
    positions = zipf_key_positions(keys)
    expected = [0.0] * regions
    for position, weight in zip(positions.tolist(), mass.tolist(), strict=True):
        expected[t.regions.index(t.region_for(position))] += weight
    observed = shares(t, draw(KeyDistribution(distribution="zipf", keys=keys, exponent=exponent)))
    hottest = int(np.argmax(expected))
    assert int(np.argmax(observed)) == hottest
    assert expected[hottest] > 1.5 / regions  # hot keys make one region hot
    for share, exact in zip(observed, expected, strict=True):
        assert abs(share - exact) < binomial_margin(exact)


def test_zipf_keys_are_a_bijection_scattered_over_the_key_space() -> None:
    keys = 1000
    positions = zipf_key_positions(keys)
    assert len(set(positions.tolist())) == keys
    assert np.gcd(scatter_multiplier(keys), keys) == 1
    # The ten hottest keys are not next to each other.
    hottest = sorted(positions[:10].tolist())
    assert min(b - a for a, b in itertools.pairwise(hottest)) > HASHED_SPAN // keys


def test_sequential_keys_all_land_in_the_last_region_and_keep_increasing() -> None:
    env = Environment()
    t = table(10)
    generator = KeyGenerator(
        env, KeyDistribution(distribution="sequential"), np.random.default_rng(1)
    )
    keys = []
    for step in range(100):
        env.now = step * 0.01
        keys.append(generator.next_key())
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {t.region_for(key) for key in keys} == {t.regions[-1]}
    assert all(key >= HASHED_SPAN for key in keys)


def test_salted_writes_spread_one_kth_per_bucket() -> None:
    buckets = 8
    draws = salt_buckets(np.random.default_rng(5), buckets)
    counts = np.bincount([next(draws) for _ in range(DRAWS)], minlength=buckets)
    for count in counts.tolist():
        assert abs(count / DRAWS - 1 / buckets) < binomial_margin(1 / buckets)


def test_a_salted_table_is_pre_split_at_bucket_boundaries() -> None:
    t = table(10, buckets=4)  # 3, 3, 2, 2 regions per bucket
    per_bucket = [sum(1 for r in t.regions if r.start // BUCKET_WIDTH == b) for b in range(4)]
    assert per_bucket == [3, 3, 2, 2]
    for bucket in range(4):
        last = t.region_for(bucket * BUCKET_WIDTH + HASHED_SPAN + 123)
        assert last.start // BUCKET_WIDTH == bucket
        assert last.end == (bucket + 1) * BUCKET_WIDTH or bucket == 3
