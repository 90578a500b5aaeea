"""The HorizontalPodAutoscaler (autoscaling/v2): its decision logic and its controller loop.

Reproduces what ``kube-controller-manager`` does for an HPA whose one metric is CPU
``Utilization`` of the pods' requests (the API default, 80 %), split as the GitHub repository
``kubernetes/kubernetes`` splits ``pkg/controller/podautoscaler``. Modules import only
downward in this list:

- ``controller``: :class:`PodAutoscaler`, the controller loop bound to the cluster, and the
  conversion of the scenario's HPA spec (``horizontal.go``'s sync loop).
- ``horizontal``: :class:`HorizontalPodAutoscaler`, the engine-independent decision logic
  (stabilization, behavior policies, the legacy path), as ``horizontal.go``.
- ``replica_calculator``: the replica count CPU utilization asks for, as
  ``replica_calculator.go`` and ``metrics/utilization.go``.
- ``api``: the API objects, bounds and defaults (:class:`HPAConfig`, :class:`Behavior`,
  :class:`ScalingRules`, :class:`ScalingPolicy`, :class:`PodMetric`, :class:`Decision`).
"""

from fleetsim.kubernetes.podautoscaler.api import (
    Behavior,
    Decision,
    HPAConfig,
    PodMetric,
    ScalingPolicy,
    ScalingRules,
    default_behavior,
    resolve_behavior,
)
from fleetsim.kubernetes.podautoscaler.controller import (
    PodAutoscaler,
    behavior_from_spec,
    config_from_spec,
)
from fleetsim.kubernetes.podautoscaler.horizontal import (
    HorizontalPodAutoscaler,
    TimestampedRecommendation,
    legacy_scale_up_limit,
    stabilize,
)
from fleetsim.kubernetes.podautoscaler.replica_calculator import (
    HPAMetricsError,
    Tolerances,
    calculate_resource_replicas,
    cores_to_milli,
    group_pods,
    pooled_utilization,
)

__all__ = [
    "Behavior",
    "Decision",
    "HPAConfig",
    "HPAMetricsError",
    "HorizontalPodAutoscaler",
    "PodAutoscaler",
    "PodMetric",
    "ScalingPolicy",
    "ScalingRules",
    "TimestampedRecommendation",
    "Tolerances",
    "behavior_from_spec",
    "calculate_resource_replicas",
    "config_from_spec",
    "cores_to_milli",
    "default_behavior",
    "group_pods",
    "legacy_scale_up_limit",
    "pooled_utilization",
    "resolve_behavior",
    "stabilize",
]
