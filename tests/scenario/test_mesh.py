"""The service-mesh blocks of a scenario: what they parse to, and one clear error each."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetsim.cli import main
from fleetsim.scenario.kubernetes import Sidecar
from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.mesh import (
    ISTIO_UNLIMITED,
    ConnectionPool,
    IngressGateway,
    LeastRequestLbConfig,
    Mesh,
    OutlierDetection,
    ProxyModel,
    RetryBudget,
)
from fleetsim.scenario.schema import Spec
from tests.scenario_files import (
    assert_one_clear_error,
    line_of,
    scenario_error,
    write_scenario,
)

FULL = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata:
  name: mesh-full
spec:
  duration: 5m
  zones: [zone-a, zone-b]
  services:
    - name: frontend
      replicas: 3
      workers: 16
      serviceTime: {distribution: constant, mean: 2ms}
      calls:
        - service: backend
          count: 2
        - service: cache
      callMode: parallel
      serviceTimeAfterCalls: {distribution: constant, mean: 1ms}
      sidecar:
        concurrency: 4
        unclosedConnectionsOnExit: 0.25
        resources:
          requests: {cpu: 200m, memory: 300Mi}
          limits: {memory: 512Mi}
    - name: backend
      replicas: 6
      workers: 4
      serviceTime: {distribution: exponential, mean: 20ms}
      calls:
        - {service: cache, count: 3}
      sidecar: {}
    - name: cache
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
  traffic:
    - name: users
      target: frontend
      rate: 200/s
  routes:
    - destination: backend
      loadBalancer: LEAST_REQUEST
      timeout: 3s
      retries:
        attempts: 3
        perTryTimeout: 500ms
        retryOn: [5xx, reset]
        retryHostSelectionAttempts: 3
        retryBudget:
          budgetPercent: 25
          minRetryConcurrency: 2
      outlierDetection:
        consecutive5xxErrors: 3
        interval: 5s
        baseEjectionTime: 1m
        maxEjectionPercent: 50
        minHealthPercent: 20
        splitExternalLocalOriginErrors: true
        consecutiveLocalOriginFailures: 2
      connectionPool:
        tcp:
          maxConnections: 100
          connectTimeout: 250ms
          idleTimeout: 30s
        http:
          http1MaxPendingRequests: 64
          http2MaxRequests: 1000
          maxRequestsPerConnection: 10
          maxRetries: 5
          idleTimeout: 90s
          h2UpgradePolicy: UPGRADE
          maxConcurrentStreams: 128
      leastRequestLbConfig:
        choiceCount: 3
        activeRequestBias: 0.5
      localityLbSetting:
        enabled: false
    - destination: cache
      outlierDetection: {}
  mesh:
    concurrency: 3
    localityLbSetting: {enabled: false}
    ingressGateway:
      replicas: 2
      concurrency: 8
    proxy:
      memoryBase: 30Mi
      memoryPerConnection: 64Ki
      memoryPerEndpoint: 8Ki
      cpuPerRequest: 1ms
      cpuPerConnect: 2ms
      restartTime: 5s
      connectionSetupTime: 3ms
"""

MINIMAL: dict[str, Any] = {
    "apiVersion": "fleetsim/v1",
    "kind": "Scenario",
    "metadata": {"name": "tiny"},
    "spec": {
        "duration": 10,
        "services": [
            {"name": "a", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}},
            {"name": "b", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}},
        ],
        "traffic": [{"name": "t", "target": "a", "rate": 5}],
    },
}

MiB = 2**20


_write = write_scenario


def _spec(tmp_path: Path, text: str = FULL) -> Spec:
    return load_scenario(_write(tmp_path, text)).scenario.spec


_error = scenario_error


_line_of = line_of


def _minimal(**spec: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"].update(spec)
    return doc


# --- what loads ------------------------------------------------------------------------


def test_full_mesh_scenario_parses_to_numbers(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    frontend, backend, cache = spec.services

    assert [(c.service, c.count) for c in frontend.calls] == [("backend", 2), ("cache", 1)]
    assert frontend.call_mode == "parallel"
    after = frontend.service_time_after_calls
    assert after is not None
    assert (after.distribution, after.mean) == ("constant", pytest.approx(0.001))
    assert [(c.service, c.count) for c in backend.calls] == [("cache", 3)]
    assert (backend.call_mode, backend.service_time_after_calls) == ("sequential", None)
    assert (cache.calls, cache.sidecar) == ([], None)

    sidecar = frontend.sidecar
    assert sidecar is not None
    assert (sidecar.concurrency, sidecar.unclosed_connections_on_exit) == (4, 0.25)
    assert (sidecar.resources.requests.cpu, sidecar.resources.requests.memory) == (0.2, 300 * MiB)
    assert sidecar.resources.limits.memory == 512 * MiB

    route = spec.routes[0]
    assert (route.destination, route.load_balancer, route.timeout) == (
        "backend",
        "LEAST_REQUEST",
        3.0,
    )
    retries = route.retries
    assert retries is not None
    assert (retries.attempts, retries.per_try_timeout, retries.retry_host_selection_attempts) == (
        3,
        0.5,
        3,
    )
    assert retries.retry_budget == RetryBudget(budget_percent=25.0, min_retry_concurrency=2)

    detection = route.outlier_detection
    assert detection is not None
    assert (
        detection.consecutive_5xx_errors,
        detection.interval,
        detection.base_ejection_time,
        detection.max_ejection_percent,
        detection.min_health_percent,
    ) == (3, 5.0, 60.0, 50, 20)
    assert detection.split_external_local_origin_errors is True
    assert detection.consecutive_local_origin_failures == 2

    tcp, http = route.connection_pool.tcp, route.connection_pool.http
    assert (tcp.max_connections, tcp.connect_timeout, tcp.idle_timeout) == (100, 0.25, 30.0)
    assert (
        http.http1_max_pending_requests,
        http.http2_max_requests,
        http.max_requests_per_connection,
        http.max_retries,
        http.idle_timeout,
        http.h2_upgrade_policy,
        http.max_concurrent_streams,
    ) == (64, 1000, 10, 5, 90.0, "UPGRADE", 128)
    lb = route.least_request_lb_config
    assert (lb.choice_count, lb.active_request_bias) == (3, 0.5)
    assert route.locality_lb_setting is not None
    assert route.locality_lb_setting.enabled is False

    mesh = spec.mesh
    assert mesh is not None
    assert (mesh.concurrency, mesh.locality_lb_setting.enabled) == (3, False)
    assert (mesh.ingress_gateway.replicas, mesh.ingress_gateway.concurrency) == (2, 8)
    proxy = mesh.proxy
    assert (proxy.memory_base, proxy.memory_per_connection, proxy.memory_per_endpoint) == (
        30 * MiB,
        64 * 1024,
        8 * 1024,
    )
    assert (proxy.cpu_per_request, proxy.cpu_per_connect) == (
        pytest.approx(0.001),
        pytest.approx(0.002),
    )
    assert (proxy.restart_time, proxy.connection_setup_time) == (5.0, pytest.approx(0.003))


def test_empty_mesh_gives_istio_defaults() -> None:
    mesh = load_scenario(_minimal(mesh={})).scenario.spec.mesh
    assert mesh is not None
    assert mesh.concurrency == 2
    assert mesh.locality_lb_setting.enabled is True
    assert (mesh.ingress_gateway.replicas, mesh.ingress_gateway.concurrency) == (3, None)
    proxy = mesh.proxy
    assert (proxy.memory_base, proxy.memory_per_connection, proxy.memory_per_endpoint) == (
        20 * MiB,
        32 * 1024,
        16 * 1024,
    )
    assert (proxy.cpu_per_request, proxy.cpu_per_connect) == (0.0005, 0.001)
    assert (proxy.restart_time, proxy.connection_setup_time) == (2.0, 0.001)


def test_empty_outlier_detection_gives_envoy_and_istio_defaults(tmp_path: Path) -> None:
    cache_route = _spec(tmp_path).routes[1]
    detection = cache_route.outlier_detection
    assert detection is not None
    assert (
        detection.consecutive_5xx_errors,
        detection.interval,
        detection.base_ejection_time,
        detection.max_ejection_percent,
        detection.min_health_percent,
    ) == (5, 10.0, 30.0, 10, 0)
    assert detection.split_external_local_origin_errors is False
    assert detection.consecutive_local_origin_failures == 5


def test_route_defaults_of_the_new_fields(tmp_path: Path) -> None:
    cache_route = _spec(tmp_path).routes[1]
    assert (cache_route.timeout, cache_route.retries, cache_route.locality_lb_setting) == (
        None,
        None,
        None,
    )
    tcp, http = cache_route.connection_pool.tcp, cache_route.connection_pool.http
    assert ISTIO_UNLIMITED == 2**32 - 1
    assert (tcp.max_connections, tcp.connect_timeout, tcp.idle_timeout) == (2**32 - 1, 10.0, 3600.0)
    assert (http.http1_max_pending_requests, http.http2_max_requests, http.max_retries) == (
        2**32 - 1,
        2**32 - 1,
        2**32 - 1,
    )
    assert (http.idle_timeout, http.h2_upgrade_policy) == (3600.0, "DEFAULT")
    assert (http.max_requests_per_connection, http.max_concurrent_streams) == (0, 2**31 - 1)
    lb = cache_route.least_request_lb_config
    assert (lb.choice_count, lb.active_request_bias) == (2, 1.0)


def test_sidecar_defaults_are_istios_chart(tmp_path: Path) -> None:
    sidecar = _spec(tmp_path).services[1].sidecar
    assert sidecar is not None
    assert (sidecar.concurrency, sidecar.unclosed_connections_on_exit) == (None, 0.0)
    requests, limits = sidecar.resources.requests, sidecar.resources.limits
    assert (requests.cpu, requests.memory) == (0.1, 128 * MiB)
    assert (limits.cpu, limits.memory) == (2.0, 2**30)
    # The default is a fresh object each time, not one shared by every sidecar.
    assert Sidecar().resources is not Sidecar().resources
    assert Sidecar().resources.limits.memory == 2**30


def test_retries_keep_their_semantics_beside_the_new_fields(tmp_path: Path) -> None:
    retries = _spec(tmp_path).routes[0].retries
    assert retries is not None
    assert (retries.retry_on, retries.retriable_status_codes) == (["5xx", "reset"], [])
    assert retries.backoff == 0.025
    assert retries.max_backoff == pytest.approx(0.25)

    doc = _minimal(routes=[{"destination": "b", "retries": {"attempts": 2}}])
    plain = load_scenario(doc).scenario.spec.routes[0].retries
    assert plain is not None
    assert plain.retry_on == [
        "connect-failure",
        "refused-stream",
        "unavailable",
        "cancelled",
        "retriable-status-codes",
    ]
    assert plain.retriable_status_codes == [503]
    assert (plain.retry_budget, plain.retry_host_selection_attempts) == (None, 5)

    budget = _minimal(
        mesh={}, routes=[{"destination": "b", "retries": {"attempts": 1, "retryBudget": {}}}]
    )
    retry_budget = load_scenario(budget).scenario.spec.routes[0].retries
    assert retry_budget is not None
    assert retry_budget.retry_budget == RetryBudget(budget_percent=20.0, min_retry_concurrency=3)


def test_a_scenario_without_the_mesh_blocks_loads_unchanged() -> None:
    spec = load_scenario(MINIMAL).scenario.spec
    assert (spec.mesh, spec.routes) == (None, [])
    service = spec.services[0]
    assert (service.calls, service.call_mode, service.service_time_after_calls) == (
        [],
        "sequential",
        None,
    )


def test_consecutive_5xx_errors_is_the_file_key() -> None:
    dumped = OutlierDetection().model_dump(by_alias=True)
    assert "consecutive5xxErrors" in dumped
    assert "consecutive5XxErrors" not in dumped
    assert OutlierDetection.model_validate({"consecutive5xxErrors": 7}).consecutive_5xx_errors == 7
    # As elsewhere in the format, the Python name is accepted too.
    assert (
        OutlierDetection.model_validate({"consecutive_5xx_errors": 0}).consecutive_5xx_errors == 0
    )


def test_model_defaults_match_envoy_and_istio() -> None:
    mesh = Mesh()
    assert (mesh.concurrency, mesh.locality_lb_setting.enabled) == (2, True)
    assert IngressGateway().replicas == 3
    assert ProxyModel().restart_time == 2.0
    pool = ConnectionPool()
    assert (pool.tcp.max_connections, pool.http.http2_max_requests) == (2**32 - 1, 2**32 - 1)
    assert (pool.tcp.idle_timeout, pool.http.idle_timeout) == (3600.0, 3600.0)
    assert LeastRequestLbConfig().choice_count == 2
    assert (RetryBudget().budget_percent, RetryBudget().min_retry_concurrency) == (20.0, 3)
    detection = OutlierDetection()
    assert (detection.interval, detection.base_ejection_time) == (10.0, 30.0)


def test_cli_validates_the_mesh_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _write(tmp_path, FULL)
    assert main(["validate", str(file)]) == 0
    assert "valid" in capsys.readouterr().out


# --- one clear error per mistake ----------------------------------------------------------

# (id, replace old -> new in FULL, expected path, value (None: no value), phrase, line marker)
# The expected line is the line of the marker in the edited file (default: the new text).
CASES: list[tuple[str, str, str, str, object, str, str | None]] = [
    (
        "max-ejection-percent-over-100",
        "maxEjectionPercent: 50",
        "maxEjectionPercent: 150",
        "spec.routes[0].outlierDetection.maxEjectionPercent",
        150,
        "expected a value of at most 100",
        None,
    ),
    (
        "min-health-percent-negative",
        "minHealthPercent: 20",
        "minHealthPercent: -1",
        "spec.routes[0].outlierDetection.minHealthPercent",
        -1,
        "expected a value of at least 0",
        None,
    ),
    (
        "consecutive-5xx-not-a-number",
        "consecutive5xxErrors: 3",
        "consecutive5xxErrors: five",
        "spec.routes[0].outlierDetection.consecutive5xxErrors",
        "five",
        "expected a whole number",
        None,
    ),
    (
        "outlier-interval-zero",
        "interval: 5s",
        "interval: 0s",
        "spec.routes[0].outlierDetection.interval",
        "0s",
        "expected a value greater than 0",
        None,
    ),
    (
        "base-ejection-time-negative",
        "baseEjectionTime: 1m",
        "baseEjectionTime: -30s",
        "spec.routes[0].outlierDetection.baseEjectionTime",
        "-30s",
        "expected a duration such as '10ms', '1.5s', '2m' or a number of seconds, not negative",
        None,
    ),
    (
        "split-errors-not-a-bool",
        "splitExternalLocalOriginErrors: true",
        "splitExternalLocalOriginErrors: 2",
        "spec.routes[0].outlierDetection.splitExternalLocalOriginErrors",
        2,
        "expected true or false",
        None,
    ),
    (
        "outlier-unknown-field",
        "consecutive5xxErrors: 3",
        "consecutive5xxError: 3",
        "spec.routes[0].outlierDetection.consecutive5xxError",
        None,
        "unknown field; did you mean 'consecutive5xxErrors'?",
        None,
    ),
    (
        "outlier-generated-camel-case",
        "consecutive5xxErrors: 3",
        "consecutive5XxErrors: 3",
        "spec.routes[0].outlierDetection.consecutive5XxErrors",
        None,
        "unknown field; did you mean 'consecutive5xxErrors'?",
        None,
    ),
    (
        "choice-count-one",
        "choiceCount: 3",
        "choiceCount: 1",
        "spec.routes[0].leastRequestLbConfig.choiceCount",
        1,
        "expected a value of at least 2",
        None,
    ),
    (
        "choice-count-fraction",
        "choiceCount: 3",
        "choiceCount: 2.5",
        "spec.routes[0].leastRequestLbConfig.choiceCount",
        2.5,
        "expected a whole number",
        None,
    ),
    (
        "active-request-bias-negative",
        "activeRequestBias: 0.5",
        "activeRequestBias: -1",
        "spec.routes[0].leastRequestLbConfig.activeRequestBias",
        -1,
        "expected a value of at least 0",
        None,
    ),
    (
        "active-request-bias-bool",
        "activeRequestBias: 0.5",
        "activeRequestBias: yes",
        "spec.routes[0].leastRequestLbConfig.activeRequestBias",
        True,
        "expected a number",
        None,
    ),
    (
        "active-request-bias-infinite",
        "activeRequestBias: 0.5",
        "activeRequestBias: .inf",
        "spec.routes[0].leastRequestLbConfig.activeRequestBias",
        float("inf"),
        "expected a finite number",
        None,
    ),
    (
        "h2-upgrade-policy-unknown",
        "h2UpgradePolicy: UPGRADE",
        "h2UpgradePolicy: SOMETIMES",
        "spec.routes[0].connectionPool.http.h2UpgradePolicy",
        "SOMETIMES",
        "expected one of DEFAULT, DO_NOT_UPGRADE, UPGRADE",
        None,
    ),
    (
        "h2-upgrade-policy-lowercase",
        "h2UpgradePolicy: UPGRADE",
        "h2UpgradePolicy: upgrade",
        "spec.routes[0].connectionPool.http.h2UpgradePolicy",
        "upgrade",
        "expected one of DEFAULT, DO_NOT_UPGRADE, UPGRADE; did you mean 'UPGRADE'?",
        None,
    ),
    (
        "http-idle-timeout-not-a-duration",
        "idleTimeout: 90s",
        "idleTimeout: abc",
        "spec.routes[0].connectionPool.http.idleTimeout",
        "abc",
        "expected a duration such as '10ms'",
        None,
    ),
    (
        "max-connections-zero",
        "maxConnections: 100",
        "maxConnections: 0",
        "spec.routes[0].connectionPool.tcp.maxConnections",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "max-connections-bool",
        "maxConnections: 100",
        "maxConnections: true",
        "spec.routes[0].connectionPool.tcp.maxConnections",
        True,
        "expected a whole number",
        None,
    ),
    (
        "connect-timeout-zero",
        "connectTimeout: 250ms",
        "connectTimeout: 0s",
        "spec.routes[0].connectionPool.tcp.connectTimeout",
        "0s",
        "expected a value greater than 0",
        None,
    ),
    (
        "http2-max-requests-zero",
        "http2MaxRequests: 1000",
        "http2MaxRequests: 0",
        "spec.routes[0].connectionPool.http.http2MaxRequests",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "max-requests-per-connection-negative",
        "maxRequestsPerConnection: 10",
        "maxRequestsPerConnection: -1",
        "spec.routes[0].connectionPool.http.maxRequestsPerConnection",
        -1,
        "expected a value of at least 0",
        None,
    ),
    (
        "max-concurrent-streams-zero",
        "maxConcurrentStreams: 128",
        "maxConcurrentStreams: 0",
        "spec.routes[0].connectionPool.http.maxConcurrentStreams",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "budget-percent-over-100",
        "budgetPercent: 25",
        "budgetPercent: 120",
        "spec.routes[0].retries.retryBudget.budgetPercent",
        120,
        "expected a value of at most 100",
        None,
    ),
    (
        "budget-percent-bool",
        "budgetPercent: 25",
        "budgetPercent: true",
        "spec.routes[0].retries.retryBudget.budgetPercent",
        True,
        "expected a number",
        None,
    ),
    (
        "min-retry-concurrency-negative",
        "minRetryConcurrency: 2",
        "minRetryConcurrency: -1",
        "spec.routes[0].retries.retryBudget.minRetryConcurrency",
        -1,
        "expected a value of at least 0",
        None,
    ),
    (
        "retry-host-selection-attempts-zero",
        "retryHostSelectionAttempts: 3",
        "retryHostSelectionAttempts: 0",
        "spec.routes[0].retries.retryHostSelectionAttempts",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "route-timeout-zero",
        "timeout: 3s",
        "timeout: 0s",
        "spec.routes[0].timeout",
        "0s",
        "expected a value greater than 0",
        None,
    ),
    (
        "route-locality-not-a-bool",
        "enabled: false\n    - destination",
        "enabled: maybe\n    - destination",
        "spec.routes[0].localityLbSetting.enabled",
        "maybe",
        "expected true or false",
        "enabled: maybe",
    ),
    (
        "call-service-unknown",
        "- service: cache\n",
        "- service: cahce\n",
        "spec.services[0].calls[1].service",
        "cahce",
        "expected the name of a service in spec.services (frontend, backend, cache); "
        "did you mean 'cache'?",
        None,
    ),
    (
        "call-without-service",
        "- service: cache\n",
        "- count: 2\n",
        "spec.services[0].calls[1].service",
        None,
        "required field is missing",
        None,
    ),
    (
        "call-field-misspelt",
        "          count: 2",
        "          cuont: 2",
        "spec.services[0].calls[0].cuont",
        None,
        "unknown field; did you mean 'count'?",
        None,
    ),
    (
        "call-count-zero",
        "          count: 2",
        "          count: 0",
        "spec.services[0].calls[0].count",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "call-service-duplicate",
        "- service: cache\n",
        "- service: backend  # again\n",
        "spec.services[0].calls[1].service",
        "backend",
        "duplicate service",
        None,
    ),
    (
        "call-mode-unknown",
        "callMode: parallel",
        "callMode: serial",
        "spec.services[0].callMode",
        "serial",
        "expected one of sequential, parallel",
        None,
    ),
    (
        "call-mode-capitalised",
        "callMode: parallel",
        "callMode: Parallel",
        "spec.services[0].callMode",
        "Parallel",
        "expected one of sequential, parallel; did you mean 'parallel'?",
        None,
    ),
    (
        "call-loop",
        "- {service: cache, count: 3}",
        "- {service: frontend, count: 3}",
        "spec.services[1].calls[0].service",
        "frontend",
        "expected calls without a loop (found frontend -> backend -> frontend)",
        None,
    ),
    (
        "self-call",
        "- {service: cache, count: 3}",
        "- {service: backend, count: 3}",
        "spec.services[1].calls[0].service",
        "backend",
        "expected calls without a loop (found backend -> backend)",
        None,
    ),
    (
        "service-time-after-calls-without-mean",
        "serviceTimeAfterCalls: {distribution: constant, mean: 1ms}",
        "serviceTimeAfterCalls: {distribution: constant}",
        "spec.services[0].serviceTimeAfterCalls.mean",
        None,
        "required field is missing: the constant distribution takes mean",
        None,
    ),
    (
        "mesh-concurrency-zero",
        "    concurrency: 3",
        "    concurrency: 0",
        "spec.mesh.concurrency",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "gateway-replicas-zero",
        "replicas: 2\n      concurrency: 8",
        "replicas: 0\n      concurrency: 8",
        "spec.mesh.ingressGateway.replicas",
        0,
        "expected a value of at least 1",
        "replicas: 0",
    ),
    (
        "gateway-concurrency-zero",
        "concurrency: 8",
        "concurrency: 0",
        "spec.mesh.ingressGateway.concurrency",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "mesh-unknown-field",
        "ingressGateway:",
        "ingresGateway:",
        "spec.mesh.ingresGateway",
        None,
        "unknown field; did you mean 'ingressGateway'?",
        None,
    ),
    (
        "proxy-memory-not-a-size",
        "memoryPerConnection: 64Ki",
        "memoryPerConnection: lots",
        "spec.mesh.proxy.memoryPerConnection",
        "lots",
        "expected a memory size such as '512Mi'",
        None,
    ),
    (
        "proxy-restart-time-negative",
        "restartTime: 5s",
        "restartTime: -1s",
        "spec.mesh.proxy.restartTime",
        "-1s",
        "not negative",
        None,
    ),
    (
        "proxy-cpu-not-a-duration",
        "cpuPerRequest: 1ms",
        "cpuPerRequest: fast",
        "spec.mesh.proxy.cpuPerRequest",
        "fast",
        "expected a duration such as '10ms'",
        None,
    ),
    (
        "sidecar-unclosed-over-1",
        "unclosedConnectionsOnExit: 0.25",
        "unclosedConnectionsOnExit: 1.5",
        "spec.services[0].sidecar.unclosedConnectionsOnExit",
        1.5,
        "expected a value of at most 1",
        None,
    ),
    (
        "sidecar-unclosed-bool",
        "unclosedConnectionsOnExit: 0.25",
        "unclosedConnectionsOnExit: on",
        "spec.services[0].sidecar.unclosedConnectionsOnExit",
        True,
        "expected a number",
        None,
    ),
    (
        "sidecar-concurrency-zero",
        "concurrency: 4",
        "concurrency: 0",
        "spec.services[0].sidecar.concurrency",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "sidecar-memory-limit-below-request",
        "limits: {memory: 512Mi}",
        "limits: {memory: 100Mi}",
        "spec.services[0].sidecar.resources.limits.memory",
        "100Mi",
        "expected a limit no lower than the request (300Mi)",
        None,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "value", "phrase", "marker"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    path: str,
    value: object,
    phrase: str,
    marker: str | None,
) -> None:
    error = assert_one_clear_error(tmp_path, FULL, (old, new, path, value, phrase, marker))
    file = error.file

    # The command line prints the same one line and exits 2.
    capsys.readouterr()
    assert main(["validate", str(file)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"fleetsim: {error}"]
    assert "Traceback" not in captured.err


def test_there_are_at_least_twenty_five_distinct_bad_inputs() -> None:
    assert len({(case[3], case[5]) for case in CASES}) >= 25


def test_call_loop_through_three_services_names_the_closing_call() -> None:
    doc = _minimal()
    doc["spec"]["services"].append(
        {"name": "c", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}}
    )
    a, b, c = doc["spec"]["services"]
    a["calls"] = [{"service": "b"}]
    b["calls"] = [{"service": "c"}]
    c["calls"] = [{"service": "b", "count": 2}, {"service": "a"}]
    error = _error(doc)
    assert error.path == "spec.services[2].calls[0].service"
    assert (error.has_value, error.value) == (True, "b")
    assert "found b -> c -> b" in error.expected


def test_a_diamond_is_not_a_loop() -> None:
    doc = _minimal()
    doc["spec"]["services"].append(
        {"name": "c", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}}
    )
    a, b, _ = doc["spec"]["services"]
    a["calls"] = [{"service": "b"}, {"service": "c"}]
    b["calls"] = [{"service": "c"}]
    assert [call.service for call in load_scenario(doc).scenario.spec.services[0].calls] == [
        "b",
        "c",
    ]


# --- settings that would silently do nothing ------------------------------------------------

# Without spec.mesh the clients call pods through the plain route, which applies only
# loadBalancer and retries: these settings must not be accepted and then ignored.
MESH_ONLY_ROUTE_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("timeout", {"timeout": "1s"}, "spec.routes[0].timeout"),
    ("outlier-detection", {"outlierDetection": {}}, "spec.routes[0].outlierDetection"),
    (
        "connection-pool",
        {"connectionPool": {"tcp": {"maxConnections": 1}}},
        "spec.routes[0].connectionPool",
    ),
    (
        "retry-budget",
        {"retries": {"attempts": 2, "retryBudget": {"budgetPercent": 10}}},
        "spec.routes[0].retries.retryBudget",
    ),
]


@pytest.mark.parametrize(
    ("fields", "path"),
    [pytest.param(case[1], case[2], id=case[0]) for case in MESH_ONLY_ROUTE_FIELDS],
)
def test_mesh_only_route_settings_without_a_mesh_are_an_error(
    fields: dict[str, Any], path: str
) -> None:
    error = _error(_minimal(routes=[{"destination": "b", **fields}]))
    assert error.path == path
    assert "spec.mesh" in error.expected


def test_service_time_after_calls_without_calls_is_an_error() -> None:
    doc = _minimal()
    doc["spec"]["services"][0]["serviceTimeAfterCalls"] = {"distribution": "constant", "mean": 1}
    error = _error(doc)
    assert error.path == "spec.services[0].serviceTimeAfterCalls"
    assert "calls" in error.expected


# --- variants ------------------------------------------------------------------------------

VARIANT = """\
  variants:
    tuned:
      routes:
        - destination: backend
          outlierDetection: null
      services:
        - name: frontend
          calls:
            - service: backend
              count: 5
            - service: cache
              $patch: delete
            - service: auth
        - name: backend
          calls:
            - service: cache
        - name: auth
          replicas: 2
          serviceTime: {distribution: constant, mean: 3ms}
"""


def test_variant_merges_calls_by_service_and_null_removes_outlier_detection(
    tmp_path: Path,
) -> None:
    file = _write(tmp_path, FULL + VARIANT)
    baseline = load_scenario(file)
    tuned = load_scenario(file, variant="tuned")
    assert (baseline.variant_names, tuned.variant) == (["tuned"], "tuned")

    spec = tuned.scenario.spec
    frontend, backend, cache, auth = spec.services
    # Items merge on their 'service': backend's count changes in place, cache goes,
    # auth (not in the baseline) is appended; callMode is kept.
    assert [(c.service, c.count) for c in frontend.calls] == [("backend", 5), ("auth", 1)]
    assert frontend.call_mode == "parallel"
    # An item with only its key leaves the baseline's item as it was.
    assert [(c.service, c.count) for c in backend.calls] == [("cache", 3)]
    assert (cache.name, auth.name, auth.replicas) == ("cache", "auth", 2)

    backend_route, cache_route = spec.routes
    assert backend_route.outlier_detection is None
    # The rest of the route is the baseline's.
    assert backend_route.timeout == 3.0
    assert backend_route.connection_pool.tcp.max_connections == 100
    assert backend_route.retries is not None
    assert backend_route.retries.retry_budget == RetryBudget(
        budget_percent=25.0, min_retry_concurrency=2
    )
    assert cache_route.outlier_detection == OutlierDetection()
    assert "outlierDetection" not in tuned.raw["spec"]["routes"][0]

    # The baseline is untouched.
    base = baseline.scenario.spec
    assert base.routes[0].outlier_detection is not None
    assert base.routes[0].outlier_detection.consecutive_5xx_errors == 3
    assert [(c.service, c.count) for c in base.services[0].calls] == [("backend", 2), ("cache", 1)]
    assert len(base.services) == 3


def test_variant_call_item_needs_its_service(tmp_path: Path) -> None:
    text = FULL + VARIANT.replace("            - service: auth", "            - count: 4")
    file = _write(tmp_path, text)
    error = _error(file)
    assert error.path == "spec.variants.tuned.services[0].calls[2]"
    assert error.line == _line_of(text, "- count: 4")
    assert error.expected.startswith("expected a mapping with 'service'")


def test_call_loop_made_by_a_variant_names_the_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = """\
  variants:
    loop:
      services:
        - name: cache
          calls:
            - service: frontend
"""
    text = FULL + loop
    file = _write(tmp_path, text)
    error = _error(file)
    assert error.path == "spec.services[2].calls[0].service"
    assert (error.has_value, error.value) == (True, "frontend")
    assert "found frontend -> backend -> cache -> frontend" in error.expected
    assert error.expected.endswith("(in variant 'loop')")
    assert error.line == _line_of(text, "- service: frontend")
    assert main(["validate", str(file)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"fleetsim: {error}"]


def test_bad_mesh_value_in_a_variant_names_the_variant() -> None:
    doc = yaml.safe_load(FULL)
    doc["spec"]["variants"] = {
        "strict": {"routes": [{"destination": "cache", "outlierDetection": {"interval": "0s"}}]}
    }
    error = _error(doc)
    assert error.path == "spec.routes[1].outlierDetection.interval"
    assert (error.has_value, error.value) == (True, "0s")
    assert error.expected.endswith("(in variant 'strict')")
