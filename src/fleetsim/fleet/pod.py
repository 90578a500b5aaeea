"""A pod: a number of workers in front of one FIFO queue.

This is the app container's request handling: ``workers`` attempts are served at once
(threads, event-loop slots), further ones wait in arrival order, and beyond
``queueLimit`` waiting attempts the pod answers 503 at once. A pod keeps working on an
attempt whose client has given up, as real servers do: nothing cancels it.

``accept`` and ``finish`` are the per-attempt hot path. They inline scheduling on the
clock (see ``engine.environment``) and the latency histogram (see ``metrics.histogram``)
on purpose.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from heapq import heappush
from math import log
from typing import TYPE_CHECKING

from fleetsim.fleet.request import ERROR_503, OK, OVERFLOW_503, Attempt, Request
from fleetsim.metrics.histogram import INVERSE_LOG_GAMMA, MIN_VALUE, OFFSET

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.fleet.service import Service


class Pod:
    """One replica of a service, placed in a zone."""

    __slots__ = (
        "_finish",
        "busy",
        "env",
        "error_draws",
        "error_rate",
        "events",
        "heap",
        "index",
        "name",
        "queue",
        "queue_limit",
        "received",
        "service",
        "service_times",
        "workers",
        "zone",
    )

    def __init__(
        self,
        env: Environment,
        service: Service,
        index: int,
        zone: str,
        service_times: Iterator[float],
        error_draws: Iterator[float] | None,
    ) -> None:
        self.env = env
        self.heap = env.heap
        self.events = env.events
        self.service = service
        self.index = index
        self.name = f"{service.name}-{index}"
        self.zone = zone
        self.workers = service.workers
        self.queue_limit = service.queue_limit
        self.error_rate = service.error_rate
        self.service_times = service_times
        self.error_draws = error_draws
        self.busy = 0
        self.queue: deque[Attempt] = deque()
        self.received = 0
        self._finish = self.finish

    def accept(self, request: Request, try_number: int) -> None:
        """An attempt arrives: serve it, queue it, or answer 503."""
        now = self.env.now
        self.received += 1
        service = self.service
        if self.error_draws is not None and next(self.error_draws) < self.error_rate:
            service.errors += 1
            request.route.on_response(request, try_number, ERROR_503, self)
            return
        if self.busy < self.workers:
            service.in_system += 1
            self.busy += 1
            duration = next(self.service_times)
            service.busy_time += duration
            done = now + duration
            event = (self._finish, (request, try_number, now))
            if self.events.setdefault(done, event) is event:
                heappush(self.heap, done)
            else:
                self.env.add_to_instant(done, *event)
        elif len(self.queue) < self.queue_limit:
            service.in_system += 1
            self.queue.append((request, try_number, now))
        else:
            service.rejected += 1
            request.route.on_response(request, try_number, OVERFLOW_503, self)

    def finish(self, attempt: Attempt) -> None:
        """A worker is done with ``attempt``: take the next one, then answer."""
        request, try_number, arrived = attempt
        now = self.env.now
        service = self.service
        service.in_system -= 1
        latency = now - arrived
        histogram = service.latency
        histogram.total += latency
        if latency > histogram.maximum:
            histogram.maximum = latency
        if latency < MIN_VALUE:
            histogram.counts[0] += 1
        else:
            histogram.counts[int(log(latency) * INVERSE_LOG_GAMMA + OFFSET)] += 1
        if self.queue:
            duration = next(self.service_times)
            service.busy_time += duration
            done = now + duration
            event = (self._finish, self.queue.popleft())
            if self.events.setdefault(done, event) is event:
                heappush(self.heap, done)
            else:
                self.env.add_to_instant(done, *event)
        else:
            self.busy -= 1
        request.route.on_response(request, try_number, OK, self)
