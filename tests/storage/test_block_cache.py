"""Block caches: priorities, HBase's eviction amounts and order, the combined cache's
routing, and the LRU cache against Che's approximation under Zipf requests."""

from __future__ import annotations

from collections import OrderedDict
from math import floor, sqrt

import numpy as np
import pytest

from fleetsim.storage.block_cache import (
    MEMORY,
    MULTI,
    SINGLE,
    BlockCache,
    BucketCache,
    CombinedBlockCache,
    LruBlockCache,
)
from fleetsim.storage.row_keys import zipf_cdf

BLOCK = 64
"""Every block's size in these tests: a cache of ``n x BLOCK`` bytes holds n blocks."""


def lru(blocks: int = 100, *, force_in_memory: bool = False) -> LruBlockCache:
    return LruBlockCache(blocks * BLOCK, force_in_memory=force_in_memory)


def fill(cache: LruBlockCache | BucketCache, ids: range, in_memory: bool = False) -> None:
    for block in ids:
        assert not cache.get_or_cache(block, BLOCK, in_memory)


def test_a_miss_caches_the_block_and_the_next_read_hits() -> None:
    cache = lru()
    assert not cache.get_or_cache(7, BLOCK, False)
    assert cache.contains(7)
    assert cache.get_or_cache(7, BLOCK, False)
    assert (cache.hits, cache.misses, cache.count, cache.size) == (1, 1, 1, BLOCK)
    assert not cache.contains(8)


def test_a_hit_promotes_a_single_block_to_multi_and_a_memory_block_stays_memory() -> None:
    cache = lru()
    fill(cache, range(3))
    fill(cache, range(10, 12), in_memory=True)
    assert cache.get_or_cache(1, BLOCK, False)
    assert cache.get_or_cache(10, BLOCK, False)
    assert cache.blocks(SINGLE) == [0, 2]
    assert cache.blocks(MULTI) == [1]
    assert cache.blocks(MEMORY) == [11, 10]  # the hit made 10 the most recent
    assert (cache.single_size, cache.multi_size, cache.memory_size) == (
        2 * BLOCK,
        BLOCK,
        2 * BLOCK,
    )


def test_eviction_starts_above_the_acceptable_size_and_frees_down_to_the_min_size() -> None:
    cache = lru()  # acceptable 0.99: 99 blocks; min 0.95: 95 blocks
    fill(cache, range(99))
    assert (cache.count, cache.evicted_blocks, cache.eviction_runs) == (99, 0, 0)
    fill(cache, range(99, 100))
    assert (cache.count, cache.evicted_blocks, cache.eviction_runs) == (95, 5, 1)
    assert cache.evicted_bytes == 5 * BLOCK
    assert cache.size == 95 * BLOCK
    assert cache.blocks(SINGLE) == list(range(5, 100))  # the five oldest went


def test_eviction_drops_the_least_recently_used_blocks_of_a_priority_first() -> None:
    cache = lru()
    fill(cache, range(99), in_memory=True)
    for block in range(5):
        assert cache.get_or_cache(block, BLOCK, True)
    fill(cache, range(99, 100), in_memory=True)
    kept = set(cache.blocks(MEMORY))
    assert kept.isdisjoint(range(5, 10))
    assert set(range(5)) <= kept


def test_blocks_read_twice_survive_a_scan_that_flushes_a_plain_lru() -> None:
    hot = range(40)  # within the MULTI share (47.5 blocks)
    segmented = lru()
    plain = lru()  # every block MEMORY: one LRU list
    fill(segmented, hot)
    fill(plain, hot, in_memory=True)
    for block in hot:
        assert segmented.get_or_cache(block, BLOCK, False)
        assert plain.get_or_cache(block, BLOCK, True)
    scan = range(1000, 2000)
    fill(segmented, scan)
    fill(plain, scan, in_memory=True)
    assert all(segmented.contains(block) for block in hot)
    assert not any(plain.contains(block) for block in hot)


def test_in_memory_blocks_keep_their_share_through_a_scan() -> None:
    cache = lru()
    fill(cache, range(20), in_memory=True)  # within the MEMORY share (23.75 blocks)
    fill(cache, range(1000, 3000))
    assert cache.blocks(MEMORY) == list(range(20))
    assert cache.memory_size == 20 * BLOCK


def test_priorities_free_in_java_priority_queue_order_each_its_part() -> None:
    # Shares (x 0.95): SINGLE and MEMORY 1520 bytes, MULTI 3040. With 30 MEMORY, 40 MULTI
    # and 30 SINGLE blocks the cache frees 320 bytes; overflows are 400, -480 and 400.
    # The queue gives MULTI (nothing to free), then MEMORY (the tie with SINGLE goes
    # MEMORY's way), which frees min(400, 320 // 2) -> 3 blocks, then SINGLE the rest,
    # min(400, 128) -> 2 blocks.
    cache = lru()
    fill(cache, range(100, 130), in_memory=True)
    fill(cache, range(200, 240))
    for block in range(200, 240):
        assert cache.get_or_cache(block, BLOCK, False)
    fill(cache, range(300, 330))
    assert cache.evicted_blocks == 5
    assert cache.blocks(MEMORY) == list(range(103, 130))
    assert cache.blocks(MULTI) == list(range(200, 240))
    assert cache.blocks(SINGLE) == list(range(302, 330))


def test_force_in_memory_takes_single_and_multi_before_memory() -> None:
    # 80 MEMORY blocks overflow their share; SINGLE (20 blocks) is within its own.
    shared = lru()
    forced = lru(force_in_memory=True)
    for cache in (shared, forced):
        fill(cache, range(100, 180), in_memory=True)
        fill(cache, range(200, 220))
    assert shared.blocks(MEMORY) == list(range(105, 180))
    assert len(shared.blocks(SINGLE)) == 20
    assert forced.blocks(MEMORY) == list(range(100, 180))
    assert forced.blocks(SINGLE) == list(range(205, 220))


def test_force_in_memory_empties_single_and_multi_before_it_frees_memory() -> None:
    cache = lru(force_in_memory=True)
    fill(cache, range(100, 197), in_memory=True)
    fill(cache, range(200, 203))  # 320 bytes to free, 192 of them SINGLE
    assert cache.blocks(SINGLE) == []
    assert cache.blocks(MEMORY) == list(range(102, 197))
    assert cache.evicted_blocks == 5


def test_bucket_cache_frees_from_95_down_to_85_percent_off_the_heap() -> None:
    cache = BucketCache(100 * BLOCK)
    fill(cache, range(95))
    assert (cache.count, cache.evicted_blocks) == (95, 0)
    fill(cache, range(95, 96))
    assert (cache.count, cache.evicted_blocks) == (85, 11)
    assert cache.blocks(SINGLE) == list(range(11, 96))
    assert (cache.on_heap_bytes, cache.evicted_on_heap_bytes) == (0, 0)


def test_bucket_cache_refuses_a_block_it_cannot_make_room_for() -> None:
    cache = BucketCache(100 * BLOCK)
    fill(cache, range(85))
    assert not cache.get_or_cache(999, 20 * BLOCK, False)
    assert not cache.contains(999)
    assert (cache.failed_inserts, cache.count, cache.evicted_blocks) == (1, 85, 0)


def test_the_bucket_cache_shares_the_priorities_of_the_lru_cache() -> None:
    cache = BucketCache(100 * BLOCK)
    hot = range(40)
    fill(cache, hot)
    for block in hot:
        assert cache.get_or_cache(block, BLOCK, False)
    for block in range(20, 40):  # already cached: hits, no priority change
        assert cache.get_or_cache(block, BLOCK, True)
    fill(cache, range(1000, 2000))
    assert cache.blocks(MULTI) == list(hot)
    assert cache.blocks(MEMORY) == []


def test_alone_the_lru_cache_holds_meta_and_data_blocks_in_one_competition() -> None:
    cache: BlockCache = lru()
    assert not cache.read(1, BLOCK, True)
    assert not cache.read(2, BLOCK, False)
    assert cache.read(1, BLOCK, True)
    assert cache.on_heap_bytes == 2 * BLOCK
    assert isinstance(cache, LruBlockCache)
    assert cache.blocks(SINGLE) == [2]
    assert cache.blocks(MULTI) == [1]
    for block in range(100, 300):
        cache.read(block, BLOCK, False)
    assert cache.evicted_on_heap_bytes == cache.evicted_bytes > 0


def test_combined_cache_puts_meta_blocks_in_l1_and_data_blocks_in_l2() -> None:
    l1 = lru(10)
    l2 = BucketCache(1000 * BLOCK)
    cache: BlockCache = CombinedBlockCache(l1, l2)
    for block in range(5):
        assert not cache.read(block, BLOCK, True)
    for block in range(100, 400):
        assert not cache.read(block, BLOCK, False)
    for block in range(5):
        assert cache.read(block, BLOCK, True)  # data blocks did not push them out
    assert l1.count == 5 and l1.evicted_blocks == 0
    assert l2.count == 300 and not any(l2.contains(block) for block in range(5))
    assert cache.on_heap_bytes == 5 * BLOCK
    for block in range(10, 30):
        cache.read(block, BLOCK, True)
    assert cache.evicted_on_heap_bytes == l1.evicted_bytes > 0
    assert isinstance(cache, CombinedBlockCache)
    assert (cache.hits, cache.misses) == (5, 325)
    assert cache.get_or_cache(100, BLOCK, False)
    assert cache.hit_ratio == pytest.approx(6 / 331)
    cache.reset_counters()
    assert (cache.hits, cache.misses, cache.hit_ratio, cache.evicted_on_heap_bytes) == (
        0,
        0,
        0.0,
        0,
    )
    assert cache.on_heap_bytes == l1.size > 0


def test_counters_count_a_window_and_reset_keeps_the_contents() -> None:
    cache = lru()
    assert cache.hit_ratio == 0.0
    fill(cache, range(100))
    for block in range(50, 60):
        assert cache.get_or_cache(block, BLOCK, False)
    assert (cache.hits, cache.misses, cache.cached_bytes) == (10, 100, 100 * BLOCK)
    assert cache.hit_ratio == pytest.approx(10 / 110)
    assert cache.cached_bytes - cache.evicted_bytes == cache.size
    cache.reset_counters()
    assert (cache.hits, cache.misses, cache.cached_bytes) == (0, 0, 0)
    assert (cache.evicted_blocks, cache.evicted_bytes, cache.eviction_runs) == (0, 0, 0)
    assert (cache.count, cache.size) == (95, 95 * BLOCK)


def test_factors_are_checked_as_hbase_checks_them() -> None:
    with pytest.raises(ValueError):
        LruBlockCache(100 * BLOCK, single_factor=0.5)  # shares total 1.25
    with pytest.raises(ValueError):
        LruBlockCache(100 * BLOCK, min_factor=0.99)  # not below the acceptable factor
    with pytest.raises(ValueError):
        BucketCache(100 * BLOCK, acceptable_factor=1.0)
    with pytest.raises(ValueError):
        BucketCache(0)


# Independent reference model: each request names block i with probability p_i (Zipf),
# every block the same size, the cache holding CAPACITY of them.

ITEMS = 20_000
CAPACITY = 1000
MIN_FACTOR = 0.95
ACCEPTABLE_FACTOR = 0.99
WARM_UP = 100_000
MEASURED = 400_000


def zipf_popularity(exponent: float) -> np.ndarray:
    return np.diff(zipf_cdf(ITEMS, exponent), prepend=0.0)


def zipf_requests(exponent: float, count: int, seed: int) -> list[int]:
    cdf = zipf_cdf(ITEMS, exponent)
    draws = np.random.default_rng(seed).random(count)
    ranks = np.minimum(np.searchsorted(cdf, draws, side="right"), ITEMS - 1)
    return [int(rank) for rank in ranks.tolist()]


def che_hit_ratio(popularity: np.ndarray, capacity: float) -> float:
    """Che's approximation of an LRU cache of ``capacity`` items: the characteristic
    time T solves sum_i (1 - exp(-p_i T)) = capacity (bisection); the hit ratio is
    sum_i p_i (1 - exp(-p_i T))."""

    def occupancy(time: float) -> float:
        return float(np.sum(-np.expm1(-popularity * time)))

    low, high = 0.0, 1.0
    while occupancy(high) < capacity:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if occupancy(middle) < capacity:
            low = middle
        else:
            high = middle
    time = (low + high) / 2.0
    return float(np.sum(popularity * -np.expm1(-popularity * time)))


def measured_hit_ratio(cache: LruBlockCache, requests: list[int], in_memory: bool) -> float:
    get_or_cache = cache.get_or_cache
    for block in requests[:WARM_UP]:
        get_or_cache(block, BLOCK, in_memory)
    cache.reset_counters()
    for block in requests[WARM_UP:]:
        get_or_cache(block, BLOCK, in_memory)
    assert cache.hits + cache.misses == MEASURED
    return cache.hit_ratio


def tolerance(hit_ratio: float) -> float:
    # Four binomial standard errors of a hit ratio measured over MEASURED requests.
    return 4.0 * sqrt(hit_ratio * (1.0 - hit_ratio) / MEASURED)


def held_bounds() -> tuple[int, int]:
    """How many blocks the cache holds when a request arrives: from the min size an
    eviction leaves up to the acceptable size an insert may reach."""
    return floor(CAPACITY * MIN_FACTOR), floor(CAPACITY * ACCEPTABLE_FACTOR)


def lru_hits(requests: list[int], capacity: int) -> list[bool]:
    held: OrderedDict[int, None] = OrderedDict()
    hits = []
    for block in requests:
        if block in held:
            held.move_to_end(block)
            hits.append(True)
        else:
            held[block] = None
            if len(held) > capacity:
                held.popitem(last=False)
            hits.append(False)
    return hits


def test_the_all_memory_cache_is_an_lru_between_its_min_and_acceptable_sizes() -> None:
    # LRU stack inclusion, request by request: the cache holds the k most recent blocks
    # with k between the two sizes, so it hits whenever an LRU of the smaller size does
    # and only when one of the larger size does.
    requests = zipf_requests(0.8, 60_000, seed=11)
    smaller, larger = held_bounds()
    cache = lru(CAPACITY)
    hits = [cache.get_or_cache(block, BLOCK, True) for block in requests]
    for small, hit, large in zip(
        lru_hits(requests, smaller), hits, lru_hits(requests, larger), strict=True
    ):
        assert small <= hit <= large
    assert sum(hits) > sum(lru_hits(requests, smaller))


@pytest.mark.parametrize(("exponent", "seed"), [(0.8, 1), (1.1, 2)])
def test_che_approximation_bounds_the_all_memory_cache(exponent: float, seed: int) -> None:
    popularity = zipf_popularity(exponent)
    smaller, larger = held_bounds()
    low = che_hit_ratio(popularity, smaller)
    high = che_hit_ratio(popularity, larger)
    measured = measured_hit_ratio(
        lru(CAPACITY), zipf_requests(exponent, WARM_UP + MEASURED, seed), True
    )
    assert low - tolerance(low) <= measured <= high + tolerance(high)


@pytest.mark.parametrize(("exponent", "seed"), [(0.8, 3), (1.1, 4)])
def test_the_segmented_cache_beats_lru_and_not_the_static_optimum(
    exponent: float, seed: int
) -> None:
    # It favours blocks read more than once: it beats an LRU even of the largest size
    # the cache reaches, and no cache of that size beats holding the most popular blocks.
    popularity = zipf_popularity(exponent)
    _, larger = held_bounds()
    lru_estimate = che_hit_ratio(popularity, larger)
    optimum = float(np.sort(popularity)[::-1][:larger].sum())
    measured = measured_hit_ratio(
        lru(CAPACITY), zipf_requests(exponent, WARM_UP + MEASURED, seed), False
    )
    assert lru_estimate + tolerance(lru_estimate) <= measured <= optimum + tolerance(optimum)
