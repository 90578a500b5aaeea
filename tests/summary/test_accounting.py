"""Counts add up on random small fleets: requests, their tries, and what is in flight.

Hypothesis draws the load (under and over capacity), service times, error rates, queue
limits, timeouts and retries; whatever it draws, the window's balance holds exactly:
``in_flight.start + sent = total + in_flight.end`` per client population, and a
service's attempts are its outcomes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation


def _fleet(
    rate: float, mean_ms: float, error_rate: float, queue_limit: int, retries: int, timeout: str
) -> dict[str, Any]:
    route: dict[str, Any] = {"destination": "app", "loadBalancer": "LEAST_REQUEST"}
    if retries:
        route["retries"] = {"attempts": retries, "perTryTimeout": "200ms"}
    return {
        "apiVersion": "fleetsim/v1",
        "kind": "Scenario",
        "metadata": {"name": "accounting"},
        "spec": {
            "duration": "3s",
            "warmup": "1s",
            "seed": 3,
            "services": [
                {
                    "name": "app",
                    "replicas": 2,
                    "workers": 2,
                    "queueLimit": queue_limit,
                    "serviceTime": {"distribution": "exponential", "mean": f"{mean_ms}ms"},
                    "errorRate": error_rate,
                }
            ],
            "traffic": [{"name": "users", "target": "app", "rate": rate, "timeout": timeout}],
            "routes": [route],
        },
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.sampled_from([50.0, 200.0, 400.0, 1500.0]),
    mean_ms=st.sampled_from([1.0, 5.0, 20.0]),
    error_rate=st.sampled_from([0.0, 0.1]),
    queue_limit=st.sampled_from([5, 1000]),
    retries=st.integers(min_value=0, max_value=2),
    timeout=st.sampled_from(["100ms", "2s"]),
)
def test_the_window_balances(
    rate: float, mean_ms: float, error_rate: float, queue_limit: int, retries: int, timeout: str
) -> None:
    loaded = load_scenario(_fleet(rate, mean_ms, error_rate, queue_limit, retries, timeout))
    simulation = Simulation(loaded)
    summary = simulation.run().summary
    totals = simulation.collector.traffic_totals["users"]
    users = summary["traffic"]["users"]
    assert users["in_flight"]["start"] + totals.sent == (
        users["requests"]["total"] + users["in_flight"]["end"]
    )
    assert summary["attempts"] >= summary["requests"]["total"]
    assert summary["retries"] == summary["attempts"] - summary["requests"]["total"]
    if not retries:
        assert summary["retries"] == 0
    app = summary["services"]["app"]
    assert app["attempts"] == app["succeeded"] + app["failed"] + app["lost"]
    # Without calls, every try of a request is an attempt at the app (give or take the
    # tries in flight at the window's edges, which ended on the other side of it).
    edge = users["in_flight"]["start"] + users["in_flight"]["end"] + app["in_flight"]["start"]
    assert abs(app["attempts"] - summary["attempts"]) <= edge + app["in_flight"]["end"]


def test_an_overloaded_fleet_is_warned_about() -> None:
    loaded = load_scenario(_fleet(1500.0, 20.0, 0.0, 100_000, 0, "60s"))
    summary = Simulation(loaded).run().summary
    assert summary["in_flight"]["end"] > summary["in_flight"]["start"]
    assert any("backlog grew" in warning for warning in summary["warnings"])
    assert any("saturated" in warning for warning in summary["warnings"])


def test_a_fleet_within_its_capacity_is_not_warned_about() -> None:
    loaded = load_scenario(_fleet(100.0, 5.0, 0.0, 1000, 0, "2s"))
    assert Simulation(loaded).run().summary["warnings"] == []
