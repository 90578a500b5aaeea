"""The CMS heap model: where its pauses come from, in both directions.

Holes left by swept non-MSLAB garbage (evicted on-heap cache blocks) make a promotion
fail and force a compacting full GC; the same churn in MSLAB chunks does not. Young
pauses grow with what survives; a full GC's pause grows with the live heap.
"""

from __future__ import annotations

from fleetsim.scenario.storage import GarbageCollection
from fleetsim.storage.garbage_collector import TICK, ConcurrentMarkSweep

GIB = float(1 << 30)
MIB = float(1 << 20)


def churn(
    *, holey: bool, seconds: int = 3600, live_gib: float = 8.0, heap_gib: int = 16
) -> ConcurrentMarkSweep:
    """A server whose cache replaces 100 MiB/s of blocks for an hour, at a steady live heap."""
    heap = ConcurrentMarkSweep(GarbageCollection(), heap_gib << 30)
    rate = 100 * MIB * TICK
    for second in range(seconds):
        heap.tick(
            float(second),
            allocated=rate + 200 * MIB,
            promoted=rate,
            died_holey=rate if holey else 0.0,
            died_chunked=0.0 if holey else rate,
            live=live_gib * GIB,
        )
    return heap


def test_holes_from_evicted_blocks_end_in_full_gcs() -> None:
    stats = churn(holey=True).stats
    assert stats.full_count >= 1
    assert stats.concurrent_mode_failures + stats.promotion_failures == stats.full_count
    assert stats.longest >= 10.0  # 8 GiB live at 2 s per GiB (the default estimate)


def test_the_same_churn_in_mslab_chunks_never_needs_a_full_gc() -> None:
    stats = churn(holey=False).stats
    assert stats.full_count == 0
    assert stats.concurrent_cycles > 10  # the churn is collected concurrently instead
    assert stats.longest < 1.0


def test_no_fragmentation_means_no_full_gc_whatever_the_churn() -> None:
    heap = ConcurrentMarkSweep(GarbageCollection(fragmentation=0.0), 16 << 30)
    for second in range(3600):
        heap.tick(
            float(second),
            allocated=300 * MIB,
            promoted=100 * MIB,
            died_holey=100 * MIB,
            died_chunked=0.0,
            live=8 * GIB,
        )
    assert heap.stats.full_count == 0


def test_a_full_gc_takes_longer_on_a_bigger_live_heap() -> None:
    small = churn(holey=True, live_gib=8.0, heap_gib=16).stats
    big = churn(holey=True, live_gib=16.0, heap_gib=32, seconds=7200).stats
    assert small.full_count >= 1 and big.full_count >= 1
    assert big.full_seconds / big.full_count > 1.8 * small.full_seconds / small.full_count


def test_young_pauses_grow_with_the_bytes_that_survive() -> None:
    pauses = []
    for promoted in (0.0, 200 * MIB):
        heap = ConcurrentMarkSweep(GarbageCollection(), 16 << 30)
        for second in range(60):
            heap.tick(
                float(second),
                allocated=400 * MIB,
                promoted=promoted,
                died_holey=0.0,
                died_chunked=0.0,
                live=4 * GIB,
            )
        pauses.append(heap.stats.young_seconds / heap.stats.young_count)
    assert abs(pauses[0] - GarbageCollection().young_pause) < 1e-12
    # 200 MiB/s survive, eden (0.8 GiB) fills every ~2 s: ~400 MiB copied at 4 GiB/s.
    assert 0.08 < pauses[1] < 0.12
