"""The few largest values of a run, bounded in memory."""

from __future__ import annotations

import random

from fleetsim.metrics.extremes import Largest


def test_keeps_exactly_the_largest_with_their_details() -> None:
    rng = random.Random(3)
    values = [rng.random() for _ in range(10_000)]
    largest: Largest[int] = Largest(20)
    for index, value in enumerate(values):
        if value > largest.floor:
            largest.offer(value, index)
    kept = largest.largest_first()
    assert [value for value, _ in kept] == sorted(values, reverse=True)[:20]
    assert all(values[index] == value for value, index in kept)
    assert len(largest) == 20
    assert largest.floor == kept[-1][0]


def test_the_floor_is_zero_until_full_and_clear_forgets() -> None:
    largest: Largest[str] = Largest(3)
    largest.offer(5.0, "a")
    largest.offer(7.0, "b")
    assert largest.floor == 0.0
    largest.offer(6.0, "c")
    assert largest.floor == 5.0
    largest.clear()
    assert largest.largest_first() == []
    assert largest.floor == 0.0


def test_ties_never_compare_details_and_keep_their_order() -> None:
    largest: Largest[object] = Largest(3)
    first, second = object(), object()
    largest.offer(1.0, first)
    largest.offer(1.0, second)  # would raise TypeError if details were compared
    largest.offer(2.0, object())
    kept = largest.largest_first()
    assert [value for value, _ in kept] == [2.0, 1.0, 1.0]
    assert [detail for _, detail in kept[1:]] == [first, second]
