"""The simulation clock and its event queue.

Time is a float number of **seconds** since the start of the run (warm-up included).

The pending events are a binary heap of bare float times plus a dict from a time to
what happens then, always a ``(callback, argument)`` pair. When several events share one
instant the pair becomes ``(self._run_instant, [their pairs...])``: they run in the order
they were scheduled, and the main loop never has to ask which kind of slot it holds.
Comparing bare floats is much cheaper for ``heapq`` than comparing ``(time, sequence,
...)`` tuples, and this is the hottest loop of every run. There is no coroutine or
generator per event: a callback is an ordinary function of one argument, which keeps the
hot path small enough to compile later without redesign.

Every component schedules through :meth:`Environment.schedule_at` (or ``schedule``,
``every``); only this class touches the heap and the dict.
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

    __slots__ = ("_run_instant", "events", "events_processed", "heap", "now")

    def __init__(self) -> None:
        self.now: float = 0.0
        self.events_processed: int = 0
        self.heap: list[float] = []
        self.events: dict[float, Slot] = {}
        self._run_instant = self._run_all

    def schedule_at(self, time: float, callback: Callback, argument: Any = None) -> None:
        """Run ``callback(argument)`` at absolute ``time`` (never earlier than now).

        Events at one instant run in the order they were scheduled. This is the hot
        path's one way onto the clock, so it is written for speed: one dict probe
        (``setdefault``) for the common case of a new instant, told apart by the dict's
        growth (an identity test on the tuple would not survive compilation: mypyc boxes
        a tuple afresh where it crosses into Python).
        """
        events = self.events
        size = len(events)
        slot = events.setdefault(time, (callback, argument))
        if len(events) != size:
            heappush(self.heap, time)
        elif slot[0] is self._run_instant:
            slot[1].append((callback, argument))
        else:
            events[time] = (self._run_instant, [slot, (callback, argument)])

    def _run_all(self, pairs: list[Slot]) -> None:
        """Run the events that share one instant, in the order they were scheduled."""
        self.events_processed += len(pairs) - 1  # the main loop counts one
        for callback, argument in pairs:
            callback(argument)

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
        run_instant = self._run_instant
        return sum(len(s[1]) if s[0] is run_instant else 1 for s in self.events.values())

    def run(self, until: float) -> None:
        """Process every event with time <= ``until``, then set the clock to ``until``.

        The clock never goes back: ``until`` earlier than now is an error.
        """
        if until < self.now:
            raise ValueError(f"cannot run until {until!r}: the clock is already at {self.now!r}")
        heap = self.heap
        take = self.events.pop
        heappop = heapq.heappop
        processed = 0
        while heap and heap[0] <= until:
            time = heappop(heap)
            callback, argument = take(time)
            self.now = time
            callback(argument)
            processed += 1
        self.events_processed += processed
        self.now = until
