"""The HPA controller loop, bound to the cluster, around the decision logic of ``horizontal``.

Every ``--horizontal-pod-autoscaler-sync-period`` (15 s by default) the controller lists
the Deployment's pods, reads their CPU from metrics-server, and writes the decision to
the Deployment's ``spec.replicas``: :class:`PodAutoscaler`, which feeds
:class:`~fleetsim.kubernetes.podautoscaler.horizontal.HorizontalPodAutoscaler`. Also here:
:func:`config_from_spec` and :func:`behavior_from_spec`, which turn the scenario's HPA spec
into the API objects of :mod:`fleetsim.kubernetes.podautoscaler.api`.

Source: the GitHub repository ``kubernetes/kubernetes``,
``pkg/controller/podautoscaler/horizontal.go`` (``Run``, ``worker``, ``reconcileKey``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.kubernetes.podautoscaler.api import (
    Behavior,
    Decision,
    HPAConfig,
    PodMetric,
    ScalingPolicy,
    ScalingRules,
)
from fleetsim.kubernetes.podautoscaler.horizontal import HorizontalPodAutoscaler

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.deployment import Deployment
    from fleetsim.scenario.kubernetes import HPA
    from fleetsim.scenario.kubernetes import Behavior as BehaviorSpec
    from fleetsim.scenario.kubernetes import ScalingRules as ScalingRulesSpec


def _rules(spec: ScalingRulesSpec | None) -> ScalingRules:
    if spec is None:
        return ScalingRules()
    policies = tuple(
        ScalingPolicy(policy.type, policy.value, policy.period_seconds)
        for policy in spec.policies or ()
    )
    return ScalingRules(
        stabilization_window_seconds=spec.stabilization_window_seconds,
        select_policy=spec.select_policy or "Max",
        policies=policies,
        tolerance=spec.tolerance,
    )


def behavior_from_spec(spec: BehaviorSpec | None) -> Behavior | None:
    if spec is None:
        return None
    return Behavior(scale_up=_rules(spec.scale_up), scale_down=_rules(spec.scale_down))


def config_from_spec(spec: HPA, metric_window: float) -> HPAConfig:
    controller = spec.controller
    return HPAConfig(
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        target_cpu_utilization=spec.target_cpu_utilization_percentage,
        behavior=behavior_from_spec(spec.behavior),
        sync_period=controller.sync_period,
        tolerance=controller.tolerance,
        downscale_stabilization=controller.downscale_stabilization,
        cpu_initialization_period=controller.cpu_initialization_period,
        initial_readiness_delay=controller.initial_readiness_delay,
        metric_window=metric_window,
    )


class PodAutoscaler:
    """One HorizontalPodAutoscaler targeting one Deployment."""

    def __init__(self, cluster: Cluster, deployment: Deployment, spec: HPA) -> None:
        self.cluster = cluster
        self.deployment = deployment
        self.config = config_from_spec(spec, cluster.spec.cluster.metrics_resolution)
        self.hpa = HorizontalPodAutoscaler(self.config)
        self.last_decision: Decision | None = None
        self.syncs = 0

    def start(self) -> None:
        self.cluster.env.every(self.config.sync_period, self.sync)

    def pod_metrics(self) -> list[PodMetric]:
        request = self.deployment.spec.resources.requests.cpu
        metrics = self.cluster.metrics_server
        found = []
        for pod in self.deployment.pods:
            sample = metrics.sample(pod) if metrics is not None else None
            found.append(
                PodMetric(
                    name=pod.name,
                    phase=pod.phase,
                    deleting=pod.deleting,
                    ready=pod.ready,
                    start_time=pod.bound_at,
                    last_transition=pod.ready_transition,
                    cpu_usage=None if sample is None else sample.usage,
                    sample_time=None if sample is None else sample.time,
                    cpu_request=request,
                )
            )
        return found

    def sync(self, now: float) -> None:
        self.syncs += 1
        decision = self.hpa.sync(now, self.deployment.replicas, self.pod_metrics())
        self.last_decision = decision
        if decision.desired_replicas != self.deployment.replicas:
            self.deployment.scale(decision.desired_replicas)
