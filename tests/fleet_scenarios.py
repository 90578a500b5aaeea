"""Small scenario dicts shared by the tests."""

from __future__ import annotations

import copy
from typing import Any


def scenario(
    *,
    replicas: int = 4,
    workers: int = 1,
    mean: float = 0.01,
    rate: float = 200.0,
    duration: float = 60.0,
    warmup: float = 5.0,
    seed: int = 11,
    load_balancer: str = "RANDOM",
    error_rate: float = 0.0,
    retries: dict[str, Any] | None = None,
    timeout: float | None = None,
    queue_limit: int | None = None,
    zones: list[str] | None = None,
    distribution: str = "exponential",
) -> dict[str, Any]:
    """One service behind one route, fed by one Poisson source."""
    service: dict[str, Any] = {
        "name": "app",
        "replicas": replicas,
        "workers": workers,
        "serviceTime": {"distribution": distribution, "mean": mean},
        "errorRate": error_rate,
    }
    if queue_limit is not None:
        service["queueLimit"] = queue_limit
    traffic: dict[str, Any] = {"name": "clients", "target": "app", "rate": rate}
    if timeout is not None:
        traffic["timeout"] = timeout
    route: dict[str, Any] = {"destination": "app", "loadBalancer": load_balancer}
    if retries is not None:
        route["retries"] = retries
    spec: dict[str, Any] = {
        "duration": duration,
        "warmup": warmup,
        "seed": seed,
        "services": [service],
        "traffic": [traffic],
        "routes": [route],
    }
    if zones is not None:
        spec["zones"] = zones
    return copy.deepcopy(
        {
            "apiVersion": "fleetsim/v1",
            "kind": "Scenario",
            "metadata": {"name": "test"},
            "spec": spec,
        }
    )


def trace_events(simulation: Any) -> list[tuple[float, str]]:
    """From now on, note ``(time, kind)`` of every event the run's EventLog records."""
    timeline: list[tuple[float, str]] = []
    log = simulation.events
    record = log.record

    def recording(
        kind: str,
        service: str | None = None,
        subject: str | None = None,
        detail: str | None = None,
    ) -> None:
        timeline.append((simulation.env.now, kind))
        record(kind, service, subject, detail)

    log.record = recording
    return timeline
