"""Outlier detection, host by host: consecutive errors, ejection times, the ejection cap.

Envoy's ``OutlierDetection`` (``api/envoy/config/cluster/v3/outlier_detection.proto``,
``docs/root/intro/arch_overview/upstream/outlier.rst``): ``consecutive5xx`` errors eject a
host for ``baseEjectionTime`` times the number of times it was ejected, capped at
``max_ejection_time`` (300 s); ejected hosts come back at an interval sweep; each sweep
that finds a host healthy lowers its multiplier by one; ``maxEjectionPercent`` caps how
many hosts are out at once; with ``splitExternalLocalOriginErrors`` local-origin failures
(connect failures) are counted apart from 5xx.
"""

from __future__ import annotations

from typing import Any

from fleetsim.dataplane.request import CONNECT_FAILURE, ERROR_503
from fleetsim.engine.environment import Environment
from fleetsim.envoy.outlier_detection import OutlierDetector
from fleetsim.scenario.mesh import OutlierDetection
from tests.hosts import hosts, names

HOST = {host.name: host for host in hosts("a", "b", "c", "d")}


def detector(**fields: Any) -> tuple[OutlierDetector, Environment, list[tuple[str, bool]]]:
    env = Environment()  # never run: the tests move its clock by hand
    changes: list[tuple[str, bool]] = []
    spec = OutlierDetection.model_validate(fields)
    found = OutlierDetector(env, spec, lambda host, out: changes.append((host.name, out)))
    found.set_hosts(list(HOST.values()))
    return found, env, changes


def test_outlier_detector_counts_consecutive_errors_and_returns_hosts_at_sweeps() -> None:
    found, env, changes = detector(consecutive5xxErrors=3, baseEjectionTime="30s")
    for status in (2, 2):
        found.failure(HOST["a"], status)
    found.success(HOST["a"])  # a success breaks the run
    found.failure(HOST["a"], 2)
    found.failure(HOST["a"], 2)
    assert changes == []
    env.now = 5.0
    found.failure(HOST["a"], 2)
    assert changes == [("a", True)] and names(found.ejected) == {"a"}
    found.sweep(34.9)  # 5 + 30 not reached
    assert names(found.ejected) == {"a"}
    found.sweep(35.0)
    assert changes[-1] == ("a", False) and not found.ejected
    # Second ejection: twice the base time.
    env.now = 36.0
    for _ in range(3):
        found.failure(HOST["a"], 2)
    found.sweep(36.0 + 59.0)
    assert names(found.ejected) == {"a"}
    found.sweep(36.0 + 60.0)
    assert not found.ejected
    # Each healthy sweep lowers the multiplier by one: after two, it is back to 1 x base.
    found.sweep(106.0)
    found.sweep(116.0)
    env.now = 120.0
    for _ in range(3):
        found.failure(HOST["a"], 2)
    found.sweep(149.0)
    assert names(found.ejected) == {"a"}
    found.sweep(150.0)
    assert not found.ejected


def test_outlier_ejection_time_is_capped_at_300s() -> None:
    found, _, _ = detector(consecutive5xxErrors=1, baseEjectionTime="30s")
    state = found._state(HOST["a"])
    state.ejections = 20
    assert found.ejection_time(state) == 300.0


def test_outlier_detector_max_ejection_percent() -> None:
    found, _, _ = detector(consecutive5xxErrors=1, maxEjectionPercent=50)
    for host in ("a", "b", "c"):
        found.failure(HOST[host], 2)
    assert names(found.ejected) == {"a", "b"}  # a third would be 75 % > 50 %


def test_split_local_origin_errors_count_apart_from_5xx() -> None:
    found, _, _ = detector(
        consecutive5xxErrors=2,
        splitExternalLocalOriginErrors=True,
        consecutiveLocalOriginFailures=3,
        maxEjectionPercent=100,
    )
    found.failure(HOST["a"], CONNECT_FAILURE)
    found.failure(HOST["a"], CONNECT_FAILURE)
    assert not found.ejected  # 2 local failures: not 5xx, and below 3
    found.failure(HOST["a"], CONNECT_FAILURE)
    assert names(found.ejected) == {"a"}
    found.failure(HOST["b"], ERROR_503)
    found.failure(HOST["b"], ERROR_503)
    assert names(found.ejected) == {"a", "b"}
