"""Per-interval time series and run totals.

At each metrics interval end the collector reads the interval counters of every service
and traffic source, writes one series row each, folds the interval into the run's
totals and resets the counters. Memory grows with simulated time / interval, never with
the number of requests.

The mean number of attempts in a service (queued or in service) is a time average. The
collector samples it at Poisson instants, ``SAMPLES_PER_INTERVAL`` per interval on
average: Poisson sampling sees time averages (PASTA, Wolff 1982) whatever the
arrival pattern, and keeps the per-request hot path free of time integration. It is an
estimate independent of the latency measurements, which is what a Little's-law check
needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from fleetsim.dataplane.service import Service
from fleetsim.dataplane.traffic import TrafficSource
from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.metrics.histogram import Accumulator, quantiles_of
from fleetsim.summary.model import LatencyBlock

SERIES_QUANTILES = [0.5, 0.99]
SAMPLES_PER_INTERVAL = 200


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 6)


@dataclass
class ServiceTotals:
    """A service's attempts by outcome in the window (``attempts`` = the sum of the
    outcomes: succeeded, errors, rejected, unavailable, reset, lost)."""

    attempts: int = 0
    succeeded: int = 0
    errors: int = 0
    rejected: int = 0
    unavailable: int = 0
    reset: int = 0
    lost: int = 0
    in_system_start: int = 0  # attempts and probes queued or in service when the window began
    busy_area: float = 0.0
    in_system_area: float = 0.0  # interval length x sampled mean, summed over intervals
    capacity_area: float = 0.0
    latency: Accumulator = field(default_factory=Accumulator)


@dataclass
class TrafficTotals:
    """A client population's requests by outcome in the window, with their tries, and
    the requests sent in the window and in flight at its start (the balance:
    ``in_flight_start + sent = succeeded + failed + in flight at the end``)."""

    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    rejected: int = 0
    errored: int = 0
    unavailable: int = 0
    tries: int = 0
    sent: int = 0
    in_flight_start: int = 0
    latency: Accumulator = field(default_factory=Accumulator)


ServiceColumns = Callable[[str], dict[str, Any]]


class Collector:
    """Reads interval counters into series rows and run totals."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        interval: float,
        services: list[Service],
        sources: list[TrafficSource],
        service_columns: ServiceColumns | None = None,
    ) -> None:
        self.env = env
        self.service_columns = service_columns
        self.services = services
        self.sources = sources
        self.service_totals = {s.name: ServiceTotals() for s in services}
        self.traffic_totals = {t.name: TrafficTotals() for t in sources}
        self.service_rows: list[dict[str, Any]] = []
        self.traffic_rows: list[dict[str, Any]] = []
        self._interval_start = 0.0
        self._in_system_samples = [0] * len(services)
        self._samples = 0
        self._sample_gaps = streams.exponential(
            "metrics/in-system-sampler", interval / SAMPLES_PER_INTERVAL
        )

    def start_sampling(self) -> None:
        self.env.schedule(next(self._sample_gaps), self._sample)

    def _sample(self, _: None) -> None:
        sums = self._in_system_samples
        for index, service in enumerate(self.services):
            sums[index] += service.in_system
        self._samples += 1
        self.env.schedule(next(self._sample_gaps), self._sample)

    def start_window(self, now: float) -> None:
        """Begin the measured window: forget everything seen during warm-up."""
        for service in self.services:
            service.reset_interval(now)
            self.service_totals[service.name].in_system_start = service.in_system
        for source in self.sources:
            source.reset_interval()
            source.forget_slowest()
            self.traffic_totals[source.name].in_flight_start = source.in_flight
        self._reset_samples()
        self._interval_start = now

    def _reset_samples(self) -> None:
        self._in_system_samples = [0] * len(self.services)
        self._samples = 0

    def snapshot(self, now: float) -> None:
        """Close the interval ending at ``now``."""
        length = now - self._interval_start
        if length <= 0:
            return
        for index, service in enumerate(self.services):
            self._snapshot_service(service, self._in_system_samples[index], now, length)
        for source in self.sources:
            self._snapshot_traffic(source, now, length)
        self._reset_samples()
        self._interval_start = now

    def _snapshot_service(
        self, service: Service, in_system_samples: int, now: float, length: float
    ) -> None:
        totals = self.service_totals[service.name]
        histogram = service.latency
        counts = totals.latency.add(histogram)
        served = int(counts.sum())
        p50, p99 = quantiles_of(counts, SERIES_QUANTILES, histogram.maximum)
        service.accrue_capacity(now)
        capacity = service.capacity_time
        failed = service.errors + service.rejected + service.unavailable + service.reset
        attempts = served + failed + service.lost
        totals.attempts += attempts
        totals.succeeded += served
        totals.errors += service.errors
        totals.rejected += service.rejected
        totals.unavailable += service.unavailable
        totals.reset += service.reset
        totals.lost += service.lost
        totals.busy_area += service.busy_time
        in_flight_mean = in_system_samples / self._samples if self._samples else 0.0
        totals.in_system_area += in_flight_mean * length
        totals.capacity_area += capacity
        row = {
            "t": round(now, 9),
            "service": service.name,
            "attempts": attempts,
            "succeeded": served,
            "failed": failed,
            "rejected": service.rejected,
            "lost": service.lost,
            "latency_mean_ms": _ms(histogram.total / served if served else 0.0),
            "p50_ms": _ms(p50),
            "p99_ms": _ms(p99),
            "utilization": service.busy_time / capacity if capacity else 0.0,
            "in_flight_mean": in_flight_mean,
        }
        if self.service_columns is not None:
            row.update(self.service_columns(service.name))
        self.service_rows.append(row)
        service.reset_interval(now)

    def _snapshot_traffic(self, source: TrafficSource, now: float, length: float) -> None:
        totals = self.traffic_totals[source.name]
        histogram = source.latency
        counts = totals.latency.add(histogram)
        succeeded = int(counts.sum())
        p50, p99 = quantiles_of(counts, SERIES_QUANTILES, histogram.maximum)
        totals.succeeded += succeeded
        totals.failed += source.requests_failed
        totals.timed_out += source.timed_out
        totals.rejected += source.rejected
        totals.errored += source.errored
        totals.unavailable += source.unavailable
        totals.tries += source.tries
        totals.sent += source.sent
        requests = succeeded + source.requests_failed
        self.traffic_rows.append(
            {
                "t": round(now, 9),
                "traffic": source.name,
                "requests": requests,
                "succeeded": succeeded,
                "failed": source.requests_failed,
                "timed_out": source.timed_out,
                "rejected": source.rejected,
                "unavailable": source.unavailable,
                "throughput_rps": requests / length,
                "goodput_rps": succeeded / length,
                "attempts": source.tries,
                "in_flight": source.in_flight,
                "latency_mean_ms": _ms(histogram.total / succeeded if succeeded else 0.0),
                "p50_ms": _ms(p50),
                "p99_ms": _ms(p99),
            }
        )
        source.reset_interval()


LATENCY_QUANTILES = {
    "p50": 0.5,
    "p90": 0.9,
    "p95": 0.95,
    "p99": 0.99,
    "p999": 0.999,
    "p9999": 0.9999,
}
DEEP_QUANTILES = {"p99999": 0.99999, "p999999": 0.999999}
"""Reported only when the sample allows: at least 1 / (1 - q) samples, else None."""


def latency_block(accumulator: Accumulator, keys: list[str]) -> LatencyBlock:
    """``{"mean", <keys>..., "max"}`` in milliseconds."""
    values = accumulator.quantiles([LATENCY_QUANTILES[k] for k in keys])
    block: dict[str, float] = {"mean": _ms(accumulator.mean())}
    block.update({key: _ms(value) for key, value in zip(keys, values, strict=True)})
    block["max"] = _ms(accumulator.maximum)
    return cast(LatencyBlock, block)


def deep_quantiles(accumulator: Accumulator) -> dict[str, float | None]:
    """``p99999`` and ``p999999`` in ms, each None when the sample is too small for it."""
    deep: dict[str, float | None] = {}
    for key, q in DEEP_QUANTILES.items():
        enough = accumulator.count * (1.0 - q) >= 1.0 - 1e-9
        deep[key] = _ms(accumulator.quantiles([q])[0]) if enough else None
    return deep


def spread(values: list[int]) -> tuple[float, float]:
    """(max / mean, coefficient of variation) of per-pod counts; (1, 0) when all are 0."""
    if not values:
        return 1.0, 0.0
    mean = sum(values) / len(values)
    if mean == 0:
        return 1.0, 0.0
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    return max(values) / mean, math.sqrt(variance) / mean
