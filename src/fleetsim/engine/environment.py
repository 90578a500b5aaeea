"""The simulation clock and its event queue.

Time is a float number of **seconds** since the start of the run (warm-up included).

The pending events are a binary heap of bare float times plus a dict from a time to
what happens then: ``(callback, argument)``, or a list of them when several events share
one instant (they run in the order they were scheduled). Comparing bare floats is much
cheaper for ``heapq`` than comparing ``(time, sequence, ...)`` tuples, and this is the
hottest loop of every run. There is no coroutine or generator per event: a callback is an
ordinary function of one argument, which keeps the hot path small enough to compile later
without redesign.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from heapq import heappush
from typing import Any

Callback = Callable[[Any], None]
Slot = tuple[Callback, Any]


class Environment:
    """Holds the clock and the pending events, and runs them in time order."""

    __slots__ = ("events", "events_processed", "heap", "now")

    def __init__(self) -> None:
        self.now: float = 0.0
        self.events_processed: int = 0
        # Only this class touches these; everything else schedules through its methods.
        self.heap: list[float] = []
        self.events: dict[float, Any] = {}

    def schedule_at(self, time: float, callback: Callback, argument: Any = None) -> None:
        """Run ``callback(argument)`` at absolute ``time`` (never earlier than now).

        Events at one instant run in the order they were scheduled. This is the hot
        path's one way onto the clock, so it is written for speed: one dict probe for
        the common case of a new instant.
        """
        events = self.events
        slot = events.get(time)
        if slot is None:
            events[time] = (callback, argument)
            heappush(self.heap, time)
        elif type(slot) is list:
            slot.append((callback, argument))
        else:
            events[time] = [slot, (callback, argument)]

    def schedule(self, delay: float, callback: Callback, argument: Any = None) -> None:
        """Run ``callback(argument)`` after ``delay`` seconds."""
        self.schedule_at(self.now + delay, callback, argument)

    def every(self, period: float, callback: Callback, start: float | None = None) -> None:
        """Call ``callback(now)`` every ``period`` s from ``start`` (default: now + period)."""
        first = self.now + period if start is None else start

        def tick(_: Any) -> None:
            callback(self.now)
            self.schedule(period, tick)

        self.schedule_at(first, tick)

    def peek(self) -> float:
        """Time of the next event, or infinity when there is none."""
        return self.heap[0] if self.heap else float("inf")

    def pending(self) -> int:
        """Number of events waiting on the clock."""
        return sum(len(s) if type(s) is list else 1 for s in self.events.values())

    def run(self, until: float) -> None:
        """Process every event with time <= ``until``, then set the clock to ``until``."""
        heap = self.heap
        events = self.events
        heappop = heapq.heappop
        processed = 0
        while heap and heap[0] <= until:
            time = heappop(heap)
            slot = events.pop(time)
            self.now = time
            if type(slot) is tuple:
                slot[0](slot[1])
                processed += 1
            else:
                for callback, argument in slot:
                    callback(argument)
                processed += len(slot)
        self.events_processed += processed
        self.now = until
