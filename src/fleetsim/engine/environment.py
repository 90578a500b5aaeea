"""The simulation clock and its event queue.

Time is a float number of **seconds** since the start of the run (warm-up included).
Events are plain tuples ``(time, sequence, callback, argument)`` on a binary heap; the
sequence number breaks ties in scheduling order, which makes runs deterministic.
There is no coroutine or generator per event: a callback is an ordinary function of
one argument. This keeps the hot path small enough to compile later without redesign.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

Callback = Callable[[Any], None]


class Environment:
    """Holds the clock and the pending events, and runs them in time order."""

    __slots__ = ("events_processed", "heap", "now", "sequence")

    def __init__(self) -> None:
        self.now: float = 0.0
        self.events_processed: int = 0
        # Hot paths may push ``(time, next(sequence), callback, argument)`` onto ``heap``
        # directly with ``heapq.heappush``; nothing else may touch either.
        self.heap: list[tuple[float, int, Callback, Any]] = []
        self.sequence = itertools.count()

    def schedule_at(self, time: float, callback: Callback, argument: Any = None) -> None:
        """Run ``callback(argument)`` at absolute ``time`` (never earlier than now)."""
        heapq.heappush(self.heap, (time, next(self.sequence), callback, argument))

    def schedule(self, delay: float, callback: Callback, argument: Any = None) -> None:
        """Run ``callback(argument)`` after ``delay`` seconds."""
        heapq.heappush(
            self.heap, (self.now + delay, next(self.sequence), callback, argument)
        )

    def every(self, period: float, callback: Callback, start: float | None = None) -> None:
        """Call ``callback(now)`` every ``period`` s from ``start`` (default: now + period)."""
        first = self.now + period if start is None else start

        def tick(_: Any) -> None:
            callback(self.now)
            self.schedule(period, tick)

        self.schedule_at(first, tick)

    def peek(self) -> float:
        """Time of the next event, or infinity when there is none."""
        return self.heap[0][0] if self.heap else float("inf")

    def run(self, until: float) -> None:
        """Process every event with time <= ``until``, then set the clock to ``until``."""
        heap = self.heap
        heappop = heapq.heappop
        heappush = heapq.heappush
        processed = 0
        while heap:
            event = heappop(heap)
            if event[0] > until:
                heappush(heap, event)
                break
            self.now = event[0]
            event[2](event[3])
            processed += 1
        self.events_processed += processed
        self.now = until
