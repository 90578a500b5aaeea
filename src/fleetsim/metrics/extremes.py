"""The few largest values of a run, with what they belong to (the slowest requests).

Memory stays bounded: only ``size`` entries are kept. ``floor`` is the value a new entry
must beat once the set is full, so the caller's hot path pays for one comparison and
only a new extreme costs a heap operation.
"""

from __future__ import annotations

import heapq
from typing import Generic, TypeVar

Detail = TypeVar("Detail")


class Largest(Generic[Detail]):
    """The ``size`` largest values offered, each with its detail."""

    __slots__ = ("_heap", "_offered", "floor", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.floor = 0.0
        self._heap: list[tuple[float, int, Detail]] = []
        self._offered = 0  # ties are broken by arrival, so details are never compared

    def offer(self, value: float, detail: Detail) -> None:
        """Keep ``(value, detail)`` if ``value`` is among the largest; callers check
        ``value > floor`` first."""
        self._offered += 1
        entry = (value, self._offered, detail)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)
        if len(self._heap) == self.size:
            self.floor = self._heap[0][0]

    def clear(self) -> None:
        self._heap = []
        self.floor = 0.0

    def largest_first(self) -> list[tuple[float, Detail]]:
        """Largest value first; equal values in the order they were offered."""
        ordered = sorted(self._heap, key=lambda entry: (-entry[0], entry[1]))
        return [(value, detail) for value, _, detail in ordered]

    def __len__(self) -> int:
        return len(self._heap)
