"""The Kubernetes and Istio blocks of a scenario: what they parse to, and one clear error each."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetsim.scenario.kubernetes import (
    DNSConfig,
    DNSOption,
    Event,
    HPAController,
    Probe,
    RollingUpdate,
    events_in_order,
)
from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.schema import Spec
from fleetsim.units import scaled_value
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
  name: kubernetes-full
spec:
  duration: 10m
  zones: [zone-a, zone-b]
  services:
    - name: web
      replicas: 4
      workers: 8
      serviceTime:
        distribution: constant
        mean: 20ms
      resources:
        requests:
          cpu: 500m
          memory: 512Mi
        limits:
          cpu: "2"
          memory: 1Gi
      cpuPerRequest: 5ms
      startup:
        schedulingDelay: 2s
        imagePull: 30s
        appStart: 5s
      coldStart:
        warmupDuration: 60s
        warmupCpu: 1500m
        cpuFactor: 3
        latencyFactor: 2.5
        decay: 2m
      readinessProbe:
        initialDelaySeconds: 5
        periodSeconds: 2s
        timeoutSeconds: 1
        failureThreshold: 2
      livenessProbe: {}
      startupProbe:
        periodSeconds: 1
        failureThreshold: 60
      probeServiceTime: 2ms
      terminationGracePeriodSeconds: 45
      preStop: 10s
      strategy:
        type: RollingUpdate
        rollingUpdate:
          maxSurge: 1
          maxUnavailable: 0
      hpa:
        minReplicas: 2
        maxReplicas: 20
        targetCPUUtilizationPercentage: 60
        behavior:
          scaleUp:
            stabilizationWindowSeconds: 0
            selectPolicy: Max
            policies:
              - {type: Pods, value: 4, periodSeconds: 15}
              - {type: Percent, value: 100, periodSeconds: 15s}
          scaleDown:
            stabilizationWindowSeconds: 300
            tolerance: 0.05
        controller:
          syncPeriod: 30s
          tolerance: 0.2
      sidecar:
        start: 2s
        discoveryAddress: istiod.istio-system.svc:15012
        dnsRefreshRate: 5m
      dnsConfig:
        searches: [default.svc.cluster.local, svc.cluster.local, cluster.local, ec2.internal]
        options:
          - {name: ndots, value: "2"}
          - {name: timeout, value: 3}
    - name: batch
      replicas: 1
      serviceTime: {distribution: exponential, mean: 1s}
      resources:
        limits: {cpu: 1}
      cpuPerRequest: 100ms
      hpa: {maxReplicas: 5}
      sidecar: {}
  traffic:
    - name: users
      target: web
      rate: 400/s
    - name: jobs
      target: batch
      rate: 1/s
      profile:
        type: steps
        steps:
          - {at: 0s, rate: 1/s}
  nodePools:
    - name: general
      zone: zone-a
      count: 3
      cpu: "4"
      memory: 16Gi
      maxPods: 58
      bootTime: 90s
      dnsReadyDelay: 5s
    - name: spot
      count: 2
      cpu: 3500m
      memory: 8Gi
  events:
    - {at: 5m, action: terminate-node, node: general-1}
    - {at: 1m, action: add-nodes, pool: spot, count: 2}
    - {at: 6m, action: terminate-node, node: spot-3}
    - {at: 6m, action: terminate-node, pool: spot}
    - {at: 2m, action: release, service: web}
    - {at: 3m, action: scale, service: batch, replicas: 3}
    - {at: 4m, action: set-rate, traffic: users, rate: 800/s}
  cluster:
    endpointPropagationDelay: 2s
    metricsResolution: 30s
    imageCachedOnInitialNodes: false
"""

MINIMAL: dict[str, Any] = {
    "apiVersion": "fleetsim/v1",
    "kind": "Scenario",
    "metadata": {"name": "tiny"},
    "spec": {
        "duration": 10,
        "services": [
            {"name": "a", "replicas": 1, "serviceTime": {"distribution": "constant", "mean": 0.1}}
        ],
        "traffic": [{"name": "t", "target": "a", "rate": 5}],
    },
}


_write = write_scenario


def _spec(tmp_path: Path, text: str = FULL) -> Spec:
    return load_scenario(_write(tmp_path, text)).scenario.spec


_error = scenario_error


_line_of = line_of


# --- what loads ------------------------------------------------------------------------


def test_full_scenario_parses_to_numbers(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    web = spec.services[0]

    assert (web.resources.requests.cpu, web.resources.requests.memory) == (0.5, 512 * 2**20)
    assert (web.resources.limits.cpu, web.resources.limits.memory) == (2.0, 2**30)
    assert web.cpu_per_request == pytest.approx(0.005)
    assert (web.startup.scheduling_delay, web.startup.image_pull, web.startup.app_start) == (
        2.0,
        30.0,
        5.0,
    )
    cold = web.cold_start
    assert (cold.warmup_duration, cold.warmup_cpu, cold.decay) == (60.0, 1.5, 120.0)
    assert (cold.cpu_factor, cold.latency_factor) == (3.0, 2.5)

    readiness = web.readiness_probe
    assert readiness is not None
    assert (readiness.initial_delay_seconds, readiness.period_seconds) == (5.0, 2.0)
    assert (readiness.timeout_seconds, readiness.success_threshold) == (1.0, 1)
    assert readiness.failure_threshold == 2
    startup = web.startup_probe
    assert startup is not None
    assert (startup.period_seconds, startup.failure_threshold) == (1.0, 60)
    assert web.probe_service_time == pytest.approx(0.002)
    assert (web.termination_grace_period_seconds, web.pre_stop) == (45.0, 10.0)

    assert web.strategy.type == "RollingUpdate"
    assert (web.strategy.rolling_update.max_surge, web.strategy.rolling_update.max_unavailable) == (
        1,
        0,
    )

    hpa = web.hpa
    assert hpa is not None
    assert (hpa.min_replicas, hpa.max_replicas, hpa.target_cpu_utilization_percentage) == (
        2,
        20,
        60,
    )
    assert hpa.behavior is not None
    scale_up, scale_down = hpa.behavior.scale_up, hpa.behavior.scale_down
    assert scale_up is not None and scale_down is not None
    assert (scale_up.stabilization_window_seconds, scale_up.select_policy) == (0.0, "Max")
    assert scale_up.tolerance is None
    assert scale_up.policies is not None
    assert [(p.type, p.value, p.period_seconds) for p in scale_up.policies] == [
        ("Pods", 4, 15.0),
        ("Percent", 100, 15.0),
    ]
    assert (scale_down.stabilization_window_seconds, scale_down.tolerance) == (300.0, 0.05)
    assert (scale_down.select_policy, scale_down.policies) == (None, None)
    assert (hpa.controller.sync_period, hpa.controller.tolerance) == (30.0, 0.2)
    assert hpa.controller.downscale_stabilization == 300.0

    sidecar = web.sidecar
    assert sidecar is not None
    assert (sidecar.start, sidecar.discovery_address, sidecar.dns_refresh_rate) == (
        2.0,
        "istiod.istio-system.svc",
        300.0,
    )
    dns = web.dns_config
    assert dns.searches[-1] == "ec2.internal"
    assert (dns.ndots, dns.timeout, dns.attempts) == (2, 3.0, 2)

    assert spec.cluster.endpoint_propagation_delay == 2.0
    assert spec.cluster.metrics_resolution == 30.0
    assert spec.cluster.image_cached_on_initial_nodes is False

    general, spot = spec.node_pools
    assert (general.name, general.zone, general.count) == ("general", "zone-a", 3)
    assert (general.cpu, general.memory, general.max_pods) == (4.0, 16 * 2**30, 58)
    assert (general.boot_time, general.dns_ready_delay) == (90.0, 5.0)
    assert (spot.zone, spot.cpu, spot.memory, spot.max_pods) == (None, 3.5, 8 * 2**30, 110)
    assert (spot.boot_time, spot.dns_ready_delay) == (0.0, 0.0)


def test_defaults_of_every_block(tmp_path: Path) -> None:
    batch = _spec(tmp_path).services[1]
    # A limit without a request makes the request (SetDefaults_Pod).
    assert (batch.resources.requests.cpu, batch.resources.limits.cpu) == (1.0, 1.0)
    assert batch.resources.requests.memory is None
    assert batch.hpa is not None
    assert (batch.hpa.min_replicas, batch.hpa.target_cpu_utilization_percentage) == (1, 80)
    assert batch.hpa.behavior is None
    controller = batch.hpa.controller
    assert (
        controller.sync_period,
        controller.tolerance,
        controller.downscale_stabilization,
        controller.cpu_initialization_period,
        controller.initial_readiness_delay,
    ) == (15.0, 0.1, 300.0, 300.0, 30.0)
    assert batch.sidecar is not None
    assert (batch.sidecar.start, batch.sidecar.dns_refresh_rate) == (1.0, 60.0)
    assert batch.sidecar.discovery_address == "istiod.istio-system.svc"
    assert batch.strategy.type == "RollingUpdate"
    rolling = batch.strategy.rolling_update
    assert (rolling.max_surge, rolling.max_unavailable) == ("25%", "25%")
    dns = batch.dns_config
    assert dns.searches == ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert (dns.ndots, dns.timeout, dns.attempts) == (5, 5.0, 2)

    liveness = _spec(tmp_path).services[0].liveness_probe
    assert liveness is not None
    assert (
        liveness.initial_delay_seconds,
        liveness.period_seconds,
        liveness.timeout_seconds,
        liveness.success_threshold,
        liveness.failure_threshold,
    ) == (0.0, 10.0, 1.0, 1, 3)


def test_a_scenario_without_the_new_blocks_loads_unchanged() -> None:
    spec = load_scenario(MINIMAL).scenario.spec
    assert (spec.node_pools, spec.events) == ([], [])
    assert (spec.cluster.endpoint_propagation_delay, spec.cluster.metrics_resolution) == (1.0, 15.0)
    assert spec.cluster.image_cached_on_initial_nodes is True
    service = spec.services[0]
    assert (service.resources.requests.cpu, service.resources.limits.memory) == (None, None)
    assert service.cpu_per_request == 0.0
    assert (service.startup.scheduling_delay, service.startup.image_pull) == (0.0, 0.0)
    assert (service.cold_start.cpu_factor, service.cold_start.decay) == (1.0, 0.0)
    probes = (service.readiness_probe, service.liveness_probe, service.startup_probe)
    assert probes == (None, None, None)
    assert (service.probe_service_time, service.termination_grace_period_seconds) == (0.001, 30.0)
    assert (service.pre_stop, service.hpa, service.sidecar) == (None, None, None)
    assert service.dns_config.ndots == 5


def test_events_keep_their_fields_and_order(tmp_path: Path) -> None:
    events = _spec(tmp_path).events
    assert (events[0].action, events[0].node, events[0].at) == ("terminate-node", "general-1", 300)
    assert (events[1].pool, events[1].count) == ("spot", 2)
    assert (events[3].pool, events[3].count) == ("spot", 1)  # count defaults to 1
    assert (events[5].service, events[5].replicas) == ("batch", 3)
    assert (events[6].traffic, events[6].rate) == ("users", 800.0)
    ordered = events_in_order(events)
    assert [e.at for e in ordered] == [60, 120, 180, 240, 300, 360, 360]
    assert ordered[-2:] == [events[2], events[3]]  # equal times keep the file's order


def test_snake_case_and_numbers_are_accepted() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["services"][0].update(
        {
            "resources": {"requests": {"cpu": 0.25}},
            "cpu_per_request": 0.01,
            "hpa": {"max_replicas": 3, "target_cpu_utilization_percentage": 50},
        }
    )
    service = load_scenario(doc).scenario.spec.services[0]
    assert service.hpa is not None
    assert (service.resources.requests.cpu, service.hpa.target_cpu_utilization_percentage) == (
        0.25,
        50,
    )


def test_scaled_value_rounds_like_intstr() -> None:
    assert scaled_value("25%", 10, round_up=True) == 3
    assert scaled_value("25%", 10, round_up=False) == 2
    assert scaled_value("0%", 10, round_up=True) == 0
    assert scaled_value("100%", 7, round_up=False) == 7
    assert scaled_value("150%", 4, round_up=True) == 6
    assert scaled_value(3, 10, round_up=True) == 3
    assert scaled_value(3, 10, round_up=False) == 3
    with pytest.raises(ValueError, match="percentage"):
        scaled_value("25", 10, round_up=True)


def test_rolling_update_keeps_values_as_written() -> None:
    rolling = RollingUpdate.model_validate({"maxSurge": " 50% ", "maxUnavailable": 1})
    assert (rolling.max_surge, rolling.max_unavailable) == ("50%", 1)
    assert RollingUpdate.model_validate({"maxSurge": 0, "maxUnavailable": "10%"}).max_surge == 0


def test_dns_options_later_wins_and_glibc_caps() -> None:
    dns = DNSConfig(
        options=[
            DNSOption(name="ndots", value=1),
            DNSOption(name="ndots", value=3),
            DNSOption(name="timeout", value=60),
            DNSOption(name="attempts", value=9),
        ]
    )
    assert (dns.ndots, dns.timeout, dns.attempts) == (3, 30.0, 5)
    assert DNSConfig(options=[DNSOption(name="ndots", value=0)]).ndots == 0
    assert DNSConfig(searches=["cluster.local."]).searches == ["cluster.local"]


def test_model_defaults_match_kubernetes() -> None:
    probe = Probe()
    assert (probe.initial_delay_seconds, probe.period_seconds, probe.timeout_seconds) == (0, 10, 1)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    controller = HPAController()
    assert (controller.sync_period, controller.tolerance) == (15.0, 0.1)
    assert Event(at=0, action="terminate-node", pool="a").count == 1


# --- one clear error per mistake ----------------------------------------------------------

# (id, replace old -> new in FULL, expected path, value (None: no value), phrase, line marker)
# The expected line is the line of the marker in the edited file (default: the new text).
CASES: list[tuple[str, str, str, str, object, str, str | None]] = [
    (
        "cpu-bad-suffix",
        "cpu: 500m",
        "cpu: 250u",
        "spec.services[0].resources.requests.cpu",
        "250u",
        "expected a CPU quantity such as '500m' or '2' (cores)",
        None,
    ),
    (
        "cpu-limit-below-request",
        'cpu: "2"',
        "cpu: 250m",
        "spec.services[0].resources.limits.cpu",
        "250m",
        "expected a limit no lower than the request (500m)",
        None,
    ),
    (
        "memory-limit-below-request",
        "memory: 1Gi",
        "memory: 256Mi",
        "spec.services[0].resources.limits.memory",
        "256Mi",
        "expected a limit no lower than the request (512Mi)",
        None,
    ),
    (
        "memory-bad-unit",
        "memory: 512Mi",
        "memory: 512mb",
        "spec.services[0].resources.requests.memory",
        "512mb",
        "expected a memory size such as '512Mi'",
        None,
    ),
    (
        "liveness-success-threshold",
        "livenessProbe: {}",
        "livenessProbe: {successThreshold: 2}",
        "spec.services[0].livenessProbe.successThreshold",
        2,
        "expected 1: a liveness probe's successThreshold must be 1",
        None,
    ),
    (
        "startup-success-threshold",
        "        failureThreshold: 60",
        "        failureThreshold: 60\n        successThreshold: 3",
        "spec.services[0].startupProbe.successThreshold",
        3,
        "expected 1: a startup probe's successThreshold must be 1",
        "successThreshold: 3",
    ),
    (
        "probe-period-zero",
        "periodSeconds: 2s",
        "periodSeconds: 0",
        "spec.services[0].readinessProbe.periodSeconds",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "probe-timeout-not-a-duration",
        "timeoutSeconds: 1",
        "timeoutSeconds: soon",
        "spec.services[0].readinessProbe.timeoutSeconds",
        "soon",
        "expected a duration such as '10ms'",
        None,
    ),
    (
        "probe-failure-threshold-zero",
        "failureThreshold: 2",
        "failureThreshold: 0",
        "spec.services[0].readinessProbe.failureThreshold",
        0,
        "expected a value of at least 1",
        None,
    ),
    (
        "probe-unknown-field",
        "initialDelaySeconds: 5",
        "initialDelay: 5",
        "spec.services[0].readinessProbe.initialDelay",
        None,
        "unknown field; did you mean 'initialDelaySeconds'?",
        None,
    ),
    (
        "cpu-factor-below-one",
        "cpuFactor: 3",
        "cpuFactor: 0.5",
        "spec.services[0].coldStart.cpuFactor",
        0.5,
        "expected a value of at least 1",
        None,
    ),
    (
        "cold-start-without-decay",
        "decay: 2m",
        "decay: 0s",
        "spec.services[0].coldStart.decay",
        "0s",
        "expected a decay time > 0 when cpuFactor or latencyFactor is above 1",
        None,
    ),
    (
        "warmup-cpu-negative",
        "warmupCpu: 1500m",
        "warmupCpu: -1",
        "spec.services[0].coldStart.warmupCpu",
        -1,
        "not negative",
        None,
    ),
    (
        "surge-and-unavailable-zero",
        "maxSurge: 1",
        "maxSurge: 0%",
        "spec.services[0].strategy.rollingUpdate.maxUnavailable",
        0,
        "may not be 0 when maxSurge is 0",
        "maxUnavailable: 0",
    ),
    (
        "surge-percent-without-sign",
        "maxSurge: 1",
        'maxSurge: "25"',
        "spec.services[0].strategy.rollingUpdate.maxSurge",
        "25",
        "expected a whole number of pods or a percentage such as '25%'",
        None,
    ),
    (
        "unavailable-over-100-percent",
        "maxUnavailable: 0",
        "maxUnavailable: 150%",
        "spec.services[0].strategy.rollingUpdate.maxUnavailable",
        "150%",
        "expected a percentage of at most 100%",
        None,
    ),
    (
        "recreate-with-rolling-update",
        "type: RollingUpdate",
        "type: Recreate",
        "spec.services[0].strategy.rollingUpdate",
        None,
        "may not be specified when type is 'Recreate'",
        "rollingUpdate:",
    ),
    (
        "unknown-strategy",
        "type: RollingUpdate",
        "type: BlueGreen",
        "spec.services[0].strategy.type",
        "BlueGreen",
        "expected one of RollingUpdate, Recreate",
        None,
    ),
    (
        "hpa-max-below-min",
        "maxReplicas: 20",
        "maxReplicas: 1",
        "spec.services[0].hpa.maxReplicas",
        1,
        "expected maxReplicas no lower than minReplicas (2)",
        None,
    ),
    (
        "hpa-without-max-replicas",
        "hpa: {maxReplicas: 5}",
        "hpa: {minReplicas: 2}",
        "spec.services[1].hpa.maxReplicas",
        None,
        "required field is missing",
        None,
    ),
    (
        "hpa-without-cpu-request",
        "        limits: {cpu: 1}",
        "        limits: {memory: 1Gi}",
        "spec.services[1].hpa",
        None,
        "expected resources.requests.cpu to be set",
        "hpa: {maxReplicas: 5}",
    ),
    (
        "hpa-with-zero-cpu-request",
        "        limits: {cpu: 1}",
        "        requests: {cpu: 0}",
        "spec.services[1].resources.requests.cpu",
        "0",
        "expected a CPU request > 0 when the service has an hpa",
        None,
    ),
    (
        "hpa-without-cpu-per-request",
        "cpuPerRequest: 5ms",
        "cpuPerRequest: 0s",
        "spec.services[0].cpuPerRequest",
        "0s",
        "expected a CPU time per request > 0 when the service has an hpa",
        None,
    ),
    (
        "hpa-target-misspelt",
        "targetCPUUtilizationPercentage: 60",
        "targetCpuUtilisationPercentage: 60",
        "spec.services[0].hpa.targetCpuUtilisationPercentage",
        None,
        "did you mean 'targetCPUUtilizationPercentage'?",
        None,
    ),
    (
        "policy-period-too-long",
        "periodSeconds: 15s}",
        "periodSeconds: 1h}",
        "spec.services[0].hpa.behavior.scaleUp.policies[1].periodSeconds",
        "1h",
        "expected a value of at most 1800",
        None,
    ),
    (
        "policy-type-unknown",
        "{type: Pods, value: 4",
        "{type: pods, value: 4",
        "spec.services[0].hpa.behavior.scaleUp.policies[0].type",
        "pods",
        "expected one of Pods, Percent; did you mean 'Pods'?",
        None,
    ),
    (
        "select-policy-unknown",
        "selectPolicy: Max",
        "selectPolicy: Maximum",
        "spec.services[0].hpa.behavior.scaleUp.selectPolicy",
        "Maximum",
        "expected one of Max, Min, Disabled",
        None,
    ),
    (
        "stabilization-window-too-long",
        "stabilizationWindowSeconds: 300",
        "stabilizationWindowSeconds: 7200",
        "spec.services[0].hpa.behavior.scaleDown.stabilizationWindowSeconds",
        7200,
        "expected a value of at most 3600",
        None,
    ),
    (
        "empty-policies",
        "            tolerance: 0.05",
        "            tolerance: 0.05\n            policies: []",
        "spec.services[0].hpa.behavior.scaleDown.policies",
        [],
        "expected at least 1 item",
        "policies: []",
    ),
    (
        "negative-tolerance",
        "tolerance: 0.05",
        "tolerance: -0.1",
        "spec.services[0].hpa.behavior.scaleDown.tolerance",
        -0.1,
        "expected a value of at least 0",
        None,
    ),
    (
        "controller-sync-period-zero",
        "syncPeriod: 30s",
        "syncPeriod: 0s",
        "spec.services[0].hpa.controller.syncPeriod",
        "0s",
        "expected a value greater than 0",
        None,
    ),
    (
        "discovery-address-bad",
        "discoveryAddress: istiod.istio-system.svc:15012",
        "discoveryAddress: istiod:grpc",
        "spec.services[0].sidecar.discoveryAddress",
        "istiod:grpc",
        "expected a host name, optionally with ':port'",
        None,
    ),
    (
        "dns-refresh-rate-zero",
        "dnsRefreshRate: 5m",
        "dnsRefreshRate: 0",
        "spec.services[0].sidecar.dnsRefreshRate",
        0,
        "expected a value greater than 0",
        None,
    ),
    (
        "dns-option-unknown",
        '{name: ndots, value: "2"}',
        '{name: rotate, value: "2"}',
        "spec.services[0].dnsConfig.options[0].name",
        "rotate",
        "expected one of ndots, timeout, attempts",
        None,
    ),
    (
        "dns-timeout-zero",
        "{name: timeout, value: 3}",
        '{name: timeout, value: "0"}',
        "spec.services[0].dnsConfig.options[1].value",
        0,
        "expected a whole number of at least 1 for timeout",
        None,
    ),
    (
        "dns-search-uppercase",
        "svc.cluster.local, cluster.local, ec2.internal]",
        "svc.cluster.local, Cluster.Local, ec2.internal]",
        "spec.services[0].dnsConfig.searches[2]",
        "Cluster.Local",
        "(a Kubernetes DNS-1123 subdomain)",
        None,
    ),
    (
        "node-pool-zone-unknown",
        "zone: zone-a",
        "zone: zone-c",
        "spec.nodePools[0].zone",
        "zone-c",
        "expected a name in spec.zones (zone-a, zone-b)",
        None,
    ),
    (
        "node-pool-duplicate",
        "    - name: spot",
        "    - name: general",
        "spec.nodePools[1].name",
        "general",
        "duplicate name: expected each name in spec.nodePools to appear only once",
        "name: general\n      count: 2",
    ),
    (
        "node-pool-without-cpu",
        'cpu: "4"',
        "cpu: 0",
        "spec.nodePools[0].cpu",
        0,
        "expected a value greater than 0",
        None,
    ),
    (
        "node-pool-bad-name",
        "    - name: spot",
        "    - name: Spot_Pool",
        "spec.nodePools[1].name",
        "Spot_Pool",
        "DNS-1123 label",
        None,
    ),
    (
        "event-unknown-pool",
        "pool: spot, count: 2}",
        "pool: spto, count: 2}",
        "spec.events[1].pool",
        "spto",
        "expected a name in spec.nodePools (general, spot); did you mean 'spot'?",
        None,
    ),
    (
        "event-unknown-service",
        "action: release, service: web}",
        "action: release, service: webb}",
        "spec.events[4].service",
        "webb",
        "expected the name of a service in spec.services (web, batch); did you mean 'web'?",
        None,
    ),
    (
        "event-unknown-traffic",
        "traffic: users, rate: 800/s}",
        "traffic: user, rate: 800/s}",
        "spec.events[6].traffic",
        "user",
        "expected a name in spec.traffic (users, jobs); did you mean 'users'?",
        None,
    ),
    (
        "set-rate-on-profiled-traffic",
        "traffic: users, rate: 800/s}",
        "traffic: jobs, rate: 800/s}",
        "spec.events[6].traffic",
        "jobs",
        "set-rate needs a traffic without a load profile",
        None,
    ),
    (
        "terminate-node-index-too-high",
        "node: general-1}",
        "node: general-3}",
        "spec.events[0].node",
        "general-3",
        "expected an index below 3: pool 'general' has 3 node(s)",
        None,
    ),
    (
        "terminate-added-node-index-too-high",
        "node: spot-3}",
        "node: spot-4}",
        "spec.events[2].node",
        "spot-4",
        "expected an index below 4: pool 'spot' has 4 node(s), counting those add-nodes",
        None,
    ),
    (
        "terminate-node-misspelt-pool",
        "node: general-1}",
        "node: genral-1}",
        "spec.events[0].node",
        "genral-1",
        "for a pool in spec.nodePools (general, spot); did you mean 'general-1'?",
        None,
    ),
    (
        "terminate-node-and-pool",
        "node: general-1}",
        "node: general-1, pool: general}",
        "spec.events[0].pool",
        None,
        "expected node or pool, not both: terminate-node takes node, or pool",
        None,
    ),
    (
        "terminate-node-with-count",
        "node: general-1}",
        "node: general-1, count: 2}",
        "spec.events[0].count",
        None,
        "not a field of terminate-node with a node",
        None,
    ),
    (
        "add-nodes-without-count",
        "pool: spot, count: 2}",
        "pool: spot}",
        "spec.events[1].count",
        None,
        "required field is missing: add-nodes takes pool and count",
        "{at: 1m, action: add-nodes",
    ),
    (
        "release-with-replicas",
        "action: release, service: web}",
        "action: release, service: web, replicas: 2}",
        "spec.events[4].replicas",
        None,
        "not a field of release: it takes service",
        None,
    ),
    (
        "scale-negative-replicas",
        "replicas: 3}",
        "replicas: -1}",
        "spec.events[5].replicas",
        -1,
        "expected a value of at least 0",
        None,
    ),
    (
        "unknown-action",
        "action: release,",
        "action: deploy,",
        "spec.events[4].action",
        "deploy",
        "expected one of terminate-node, add-nodes, release, set-rate, scale",
        None,
    ),
    (
        "event-at-negative",
        "{at: 2m, action: release",
        "{at: -2m, action: release",
        "spec.events[4].at",
        "-2m",
        "not negative",
        None,
    ),
    (
        "metrics-resolution-zero",
        "metricsResolution: 30s",
        "metricsResolution: 0s",
        "spec.cluster.metricsResolution",
        "0s",
        "expected a value greater than 0",
        None,
    ),
    (
        "cluster-unknown-field",
        "endpointPropagationDelay: 2s",
        "endpointPropogationDelay: 2s",
        "spec.cluster.endpointPropogationDelay",
        None,
        "did you mean 'endpointPropagationDelay'?",
        None,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "value", "phrase", "marker"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path,
    old: str,
    new: str,
    path: str,
    value: object,
    phrase: str,
    marker: str | None,
) -> None:
    assert_one_clear_error(tmp_path, FULL, (old, new, path, value, phrase, marker))


def test_there_are_at_least_twenty_five_distinct_bad_inputs() -> None:
    assert len({(case[3], case[5]) for case in CASES}) >= 25


def test_cold_start_factor_without_any_decay_has_no_value() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["services"][0]["coldStart"] = {"latencyFactor": 2}
    error = _error(doc)
    assert (error.path, error.has_value) == ("spec.services[0].coldStart.decay", False)


def test_hpa_without_cpu_per_request_has_no_value() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["services"][0].update(
        {"resources": {"requests": {"cpu": "1"}}, "hpa": {"maxReplicas": 2}}
    )
    error = _error(doc)
    assert (error.path, error.has_value) == ("spec.services[0].cpuPerRequest", False)
    assert "expected a CPU time per request > 0" in error.expected


def test_events_without_node_pools_name_none() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["events"] = [{"at": 1, "action": "terminate-node", "node": "a-0"}]
    error = _error(doc)
    assert error.path == "spec.events[0].node"
    assert "(none: spec.nodePools is empty)" in error.expected


def test_terminate_node_needs_node_or_pool() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["spec"]["events"] = [{"at": 1, "action": "terminate-node"}]
    error = _error(doc)
    assert error.path == "spec.events[0].node"
    assert error.expected.startswith("required field is missing: terminate-node takes node")


def test_bad_value_in_a_variant_names_the_variant(tmp_path: Path) -> None:
    doc = yaml.safe_load(FULL)
    doc["spec"]["variants"] = {"slow-probes": {"services": [{"name": "web", "livenessProbe": {}}]}}
    doc["spec"]["variants"]["slow-probes"]["services"][0]["livenessProbe"]["successThreshold"] = 2
    error = _error(doc)
    assert error.path == "spec.services[0].livenessProbe.successThreshold"
    assert error.expected.endswith("(in variant 'slow-probes')")
