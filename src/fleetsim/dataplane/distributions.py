"""Service-time distributions as endless streams of seconds."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from fleetsim.engine.random import RandomStreams
from fleetsim.scenario.schema import ServiceTime

# Standard normal quantile at 0.99, for lognormal given by p50 and p99.
Z_99 = 2.3263478740408408


def lognormal_parameters(service_time: ServiceTime) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal, from mean+stddev or p50+p99."""
    if service_time.p50 is not None and service_time.p99 is not None:
        mu = math.log(service_time.p50)
        sigma = (math.log(service_time.p99) - mu) / Z_99
        return mu, sigma
    assert service_time.mean is not None and service_time.stddev is not None
    sigma2 = math.log1p((service_time.stddev / service_time.mean) ** 2)
    return math.log(service_time.mean) - sigma2 / 2, math.sqrt(sigma2)


def mean_of(service_time: ServiceTime) -> float:
    """The distribution's mean in seconds (used for utilization estimates and reports)."""
    kind = service_time.distribution
    if kind == "uniform":
        assert service_time.min is not None and service_time.max is not None
        return (service_time.min + service_time.max) / 2
    if kind == "lognormal":
        mu, sigma = lognormal_parameters(service_time)
        return math.exp(mu + sigma * sigma / 2)
    assert service_time.mean is not None
    return service_time.mean


def service_time_stream(
    service_time: ServiceTime, streams: RandomStreams, name: str
) -> Iterator[float]:
    """An iterator of service times in seconds drawn from stream ``name``."""
    kind = service_time.distribution
    if kind == "constant":
        assert service_time.mean is not None
        return itertools.repeat(service_time.mean)
    if kind == "exponential":
        assert service_time.mean is not None
        return streams.exponential(name, service_time.mean)
    if kind == "lognormal":
        mu, sigma = lognormal_parameters(service_time)
        return streams.lognormal(name, mu, sigma)
    if kind == "uniform":
        assert service_time.min is not None and service_time.max is not None
        return streams.uniform_between(name, service_time.min, service_time.max)
    raise ValueError(f"unknown service-time distribution {kind!r}")
