"""Traffic sources: clients that send requests at a rate and wait up to a timeout.

Arrivals are Poisson (exponential gaps) or constant (evenly spaced), at the traffic's
``rate`` or following its load ``profile`` (see ``dataplane.arrivals``: a
non-homogeneous Poisson process by thinning, or evenly spaced in the integrated rate).
The client timeout ends the request as timed out when no answer came in time; the pod is
not told and keeps working, as a server does when its client hangs up.

Each source keeps its ``SLOWEST_KEPT`` slowest requests of the measured window (those
that timed out count at their timeout), with the time each ended, so that an outlier's
timing can be read against a periodic cause. Only a request slower than the kept ones
costs more than a comparison.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.arrivals import arrival_times, build_profile
from fleetsim.dataplane.request import (
    CIRCUIT_OPEN,
    ERROR_503,
    OVERFLOW_503,
    PER_TRY_TIMEOUT,
    ROUTE_TIMEOUT,
    Request,
)
from fleetsim.engine.timers import FixedDelayDeadlines
from fleetsim.metrics.extremes import Largest
from fleetsim.metrics.histogram import Histogram

SLOWEST_KEPT: Final = 20

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Router
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.scenario.schema import Traffic


class TrafficSource:
    """One named client population sending to one route."""

    __slots__ = (
        "_arrive",
        "_new_request",
        "_stream",
        "_timeouts",
        "_times",
        "env",
        "errored",
        "in_flight",
        "latency",
        "name",
        "rate",
        "rejected",
        "requests_failed",
        "route",
        "sent",
        "slowest",
        "spec",
        "timed_out",
        "tries",
        "unavailable",
    )

    def __init__(
        self,
        env: Environment,
        spec: Traffic,
        route: Router,
        streams: RandomStreams,
        request_type: type[Request] = Request,
    ) -> None:
        self.env = env
        # What a request is: a plain one, or one that carries more (a storage operation).
        self._new_request = request_type
        self.spec = spec
        self.name = spec.name
        self.route = route
        self.rate = spec.rate
        self._stream = streams.generator(f"traffic/{spec.name}/rate-changes")
        self._times = self._arrival_times(spec, streams)
        self._timeouts: FixedDelayDeadlines[Request] | None = None
        if spec.timeout is not None:
            self._timeouts = FixedDelayDeadlines(env, spec.timeout, self._timed_out)
        self._arrive = self.arrive
        self.latency = Histogram()
        self.requests_failed = 0
        self.timed_out = 0
        self.rejected = 0
        self.errored = 0
        self.unavailable = 0
        # Counted by outcome like the rest: the tries of the requests that ended
        # (``try_number`` counts from 0).
        self.tries = 0
        self.sent = 0  # requests that arrived (by arrival, for the in-flight balance)
        self.in_flight = 0  # sent and not ended, since the run started (never reset)
        # latency -> (when the client saw it end, whether it timed out)
        self.slowest: Largest[tuple[float, bool]] = Largest(SLOWEST_KEPT)

    @staticmethod
    def _arrival_times(spec: Traffic, streams: RandomStreams) -> Iterator[float]:
        """Absolute arrival times from the start of the run."""
        stream = f"traffic/{spec.name}/arrivals"
        if spec.profile is not None and spec.profile.type != "constant":
            profile = build_profile(spec.profile, spec.rate)
            generator = streams.generator(stream)
            return arrival_times(profile, generator, poisson=spec.arrivals == "poisson")
        if spec.arrivals == "constant":
            return itertools.accumulate(itertools.repeat(1.0 / spec.rate))
        return itertools.accumulate(streams.exponential(stream, 1.0 / spec.rate))

    def start(self) -> None:
        first = next(self._times, None)
        if first is not None:
            self.env.schedule_at(first, self._arrive)

    def set_rate(self, rate: float) -> None:
        """From now on arrive at ``rate`` (a ``set-rate`` event).

        The arrival already on the clock stays (for Poisson arrivals the time to it is
        memoryless anyway); the arrivals after it follow the new rate. Only for traffic
        without a load profile (the scenario loader refuses the combination).
        """
        self.rate = rate
        generator = self._stream
        if self.spec.arrivals == "constant":
            gaps: Iterator[float] = itertools.repeat(1.0 / rate)
        else:
            gaps = itertools.chain.from_iterable(
                iter(lambda: generator.exponential(1.0 / rate, 4096).tolist(), None)
            )
        self._times = self._after_pending(gaps)

    def _after_pending(self, gaps: Iterator[float]) -> Iterator[float]:
        # The arrival already scheduled reads from this iterator when it fires, so the
        # new times start from the clock at that moment.
        start = self.env.now
        yield from itertools.islice(itertools.accumulate(gaps, initial=start), 1, None)

    def arrive(self, _: None) -> None:
        """A new request: send it, arm its timeout, schedule the next arrival."""
        now = self.env.now
        following = next(self._times, None)
        if following is not None:
            self.env.schedule_at(following, self._arrive, None)
        request = self._new_request(self, self.route, now)
        self.sent += 1
        self.in_flight += 1
        if self._timeouts is not None:
            self._timeouts.arm(request)
        self.route.send(request)

    def succeed(self, request: Request) -> None:
        """The current try answered OK: record the client-observed latency."""
        request.done = True
        self.in_flight -= 1
        self.tries += request.try_number + 1
        latency = self.env.now - request.started
        self.latency.record(latency)
        if latency > self.slowest.floor:
            self.slowest.offer(latency, (self.env.now, False))

    def forget_slowest(self) -> None:
        """The measured window starts: outliers of the warm-up do not count."""
        self.slowest.clear()

    def fail(self, request: Request, status: int) -> None:
        """The request's last try failed with ``status`` and no retry is left."""
        request.done = True
        self._ended_failed(request)
        if status in (PER_TRY_TIMEOUT, ROUTE_TIMEOUT):
            self.timed_out += 1
        elif status in (OVERFLOW_503, CIRCUIT_OPEN):
            self.rejected += 1
        elif status == ERROR_503:
            self.errored += 1
        else:
            self.unavailable += 1

    def _ended_failed(self, request: Request) -> None:
        self.in_flight -= 1
        self.requests_failed += 1
        self.tries += request.try_number + 1

    def _timed_out(self, request: Request, _: int) -> None:
        request.done = True
        self._ended_failed(request)
        self.timed_out += 1
        latency = self.env.now - request.started
        if latency > self.slowest.floor:
            self.slowest.offer(latency, (self.env.now, True))

    def reset_interval(self) -> None:
        self.latency.reset()
        self.tries = 0
        self.sent = 0
        self.requests_failed = 0
        self.timed_out = 0
        self.rejected = 0
        self.errored = 0
        self.unavailable = 0
