"""API objects of the HorizontalPodAutoscaler (autoscaling/v2), their bounds and defaults.

What the other modules of the package take and return: :class:`PodMetric` (one pod as the
replica calculator sees it), :class:`ScalingPolicy`, :class:`ScalingRules` and
:class:`Behavior` (``spec.behavior``), :class:`HPAConfig` (the spec plus the controller flags)
and :class:`Decision` (what one sync decided), with the validation bounds and the v2 behavior
defaults (:func:`default_behavior`, :func:`resolve_behavior`).

Sources, read in the GitHub repository ``kubernetes/kubernetes``:

- ``staging/src/k8s.io/api/autoscaling/v2/types.go``: ``HorizontalPodAutoscalerBehavior``,
  ``HPAScalingRules``, ``HPAScalingPolicy``.
- ``pkg/apis/autoscaling/validation/validation.go``: the bounds on ``periodSeconds`` and
  ``stabilizationWindowSeconds``.
- ``pkg/apis/autoscaling/v2/defaults.go``: the behavior defaults (``GenerateHPAScaleUpRules``,
  ``GenerateHPAScaleDownRules``, ``copyHPAScalingRules``).
- ``pkg/controller/podautoscaler/config/v1alpha1/defaults.go``: the controller flags' defaults.

How a pod snapshot maps onto the controller's inputs:

- ``PodMetric.last_transition is None`` stands for "the pod has no Ready condition" and
  ``ready=False`` for a Ready condition with status ``False`` (``Unknown`` is not modelled).
- ``PodMetric.sample_time is None`` with a usage present behaves like Go's zero ``time.Time``:
  earlier than any readiness change, so a young pod's sample is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]

_POLICY_TYPES: frozenset[str] = frozenset({"Pods", "Percent"})
_SELECT_POLICIES: frozenset[str] = frozenset({"Max", "Min", "Disabled"})

MAX_PERIOD_SECONDS = 1800.0
"""Largest ``periodSeconds`` a scaling policy may have (``pkg/apis/autoscaling/validation``)."""
MAX_STABILIZATION_WINDOW_SECONDS = 3600.0
"""Largest ``stabilizationWindowSeconds`` the API accepts (same file)."""


# --------------------------------------------------------------------------------------------
# API objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodMetric:
    """One pod as the HPA's replica calculator sees it (pod lister plus resource metrics API).

    Times are on the simulation clock, in seconds. ``cpu_usage`` is the CPU in cores averaged
    over the metric window, ``None`` when metrics-server has no sample for the pod.
    ``cpu_request`` is the pod's CPU request in cores; ``None`` means a container without a
    request, and then the HPA cannot compute utilization at all.
    """

    name: str
    phase: str
    deleting: bool
    ready: bool
    start_time: float | None
    last_transition: float | None
    cpu_usage: float | None
    sample_time: float | None
    cpu_request: float | None

    def __post_init__(self) -> None:
        if self.cpu_usage is not None and not self.cpu_usage >= 0.0:
            raise ValueError(f"pod {self.name}: cpu_usage must be >= 0, got {self.cpu_usage}")
        if self.cpu_request is not None and not self.cpu_request >= 0.0:
            raise ValueError(f"pod {self.name}: cpu_request must be >= 0, got {self.cpu_request}")


@dataclass(frozen=True)
class ScalingPolicy:
    """``HPAScalingPolicy``: change by ``value`` pods or percent per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.type not in _POLICY_TYPES:
            raise ValueError(f"policy type must be Pods or Percent, got {self.type!r}")
        if self.value <= 0:
            raise ValueError(f"policy value must be > 0, got {self.value}")
        if not 0.0 < self.period_seconds <= MAX_PERIOD_SECONDS:
            raise ValueError(
                f"policy period_seconds must be in (0, {MAX_PERIOD_SECONDS:g}], "
                f"got {self.period_seconds}"
            )

    def describe(self) -> str:
        """Short text such as ``Pods 4/15s``, used in :attr:`Decision.reason`."""
        return f"{self.type} {self.value}/{self.period_seconds:g}s"


@dataclass(frozen=True)
class ScalingRules:
    """``HPAScalingRules`` for one direction.

    The defaults stand for fields left unset in the manifest: ``None`` window, ``Max``
    selection and an empty ``policies`` tuple are filled in by :func:`resolve_behavior` with
    the v2 defaults, as ``defaults.go`` does for nil fields (the API rejects an explicit empty
    list, so the empty tuple is free to mean "unset"). ``tolerance`` is KEP-4951's
    per-direction tolerance; ``None`` means the controller's global ``--horizontal-pod-
    autoscaler-tolerance``.
    """

    stabilization_window_seconds: float | None = None
    select_policy: SelectPolicy = "Max"
    policies: tuple[ScalingPolicy, ...] = ()
    tolerance: float | None = None

    def __post_init__(self) -> None:
        window = self.stabilization_window_seconds
        if window is not None and not 0.0 <= window <= MAX_STABILIZATION_WINDOW_SECONDS:
            raise ValueError(
                "stabilization_window_seconds must be in "
                f"[0, {MAX_STABILIZATION_WINDOW_SECONDS:g}], got {window}"
            )
        if self.select_policy not in _SELECT_POLICIES:
            raise ValueError(
                f"select_policy must be Max, Min or Disabled, got {self.select_policy!r}"
            )
        if self.tolerance is not None and not self.tolerance >= 0.0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class Behavior:
    """``HorizontalPodAutoscalerBehavior``: scaling rules for each direction."""

    scale_up: ScalingRules = field(default_factory=ScalingRules)
    scale_down: ScalingRules = field(default_factory=ScalingRules)


@dataclass(frozen=True, kw_only=True)
class HPAConfig:
    """An HPA spec plus the controller flags that shape its decisions.

    ``behavior=None`` selects the controller's legacy path (``spec.behavior`` nil). The flags
    default to the kube-controller-manager defaults. ``sync_period`` is when the caller should
    call :meth:`HorizontalPodAutoscaler.sync`; the decision logic itself never reads it, just
    as the controller's does not. ``metric_window`` is the window metrics-server reports with
    each sample, used by the young-pod rule of :func:`group_pods`.
    """

    min_replicas: int = 1
    max_replicas: int
    target_cpu_utilization: int = 80
    behavior: Behavior | None = None
    sync_period: float = 15.0
    tolerance: float = 0.1
    downscale_stabilization: float = 300.0
    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0
    metric_window: float = 30.0

    def __post_init__(self) -> None:
        # minReplicas 0 needs the HPAScaleToZero gate and an Object or External metric; with a
        # CPU utilization metric the API requires at least 1.
        if self.min_replicas < 1:
            raise ValueError(f"min_replicas must be >= 1, got {self.min_replicas}")
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) must be >= min_replicas ({self.min_replicas})"
            )
        if self.target_cpu_utilization < 1:
            raise ValueError(
                f"target_cpu_utilization must be >= 1, got {self.target_cpu_utilization}"
            )
        if not self.sync_period > 0.0:
            raise ValueError(f"sync_period must be > 0, got {self.sync_period}")
        for name in (
            "tolerance",
            "downscale_stabilization",
            "cpu_initialization_period",
            "initial_readiness_delay",
            "metric_window",
        ):
            value = getattr(self, name)
            if not value >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass
class Decision:
    """What one sync decided, with the numbers the HPA status and events would show.

    ``utilization`` is the pooled utilization of the ready pods before any filling in (what
    ``status.currentMetrics`` reports). ``ignored_pods`` counts the pods set aside (Pending,
    or unready by the CPU rules); deleted and Failed pods are in none of the three counts.
    When ``current_replicas`` is outside ``[min_replicas, max_replicas]`` the controller moves
    it to the nearest bound without reading metrics; ``recommendation`` is then that bound and
    ``utilization`` is ``None``. ``able_to_scale`` is false when the HPA could not act this
    sync: scaling disabled because the target is at 0 replicas, or no replica count could be
    computed (the controller's ``ScalingActive=False``); the decision then keeps
    ``current_replicas``.
    """

    desired_replicas: int
    recommendation: int
    utilization: int | None
    ready_pods: int
    ignored_pods: int
    missing_pods: int
    reason: str
    able_to_scale: bool


# --------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------


_DEFAULT_SCALE_UP_POLICIES = (
    ScalingPolicy("Pods", 4, 15.0),
    ScalingPolicy("Percent", 100, 15.0),
)
_DEFAULT_SCALE_DOWN_POLICIES = (ScalingPolicy("Percent", 100, 15.0),)


def default_behavior(downscale_stabilization: float = 300.0) -> Behavior:
    """The v2 default behavior, with the scale-down window taken from the controller flag.

    Mirrors ``defaultHPAScaleUpRules`` and ``defaultHPAScaleDownRules`` in
    ``pkg/apis/autoscaling/v2/defaults.go``: scale up with no window, by 4 pods or 100 % per
    15 s, whichever is more; scale down by up to 100 % per 15 s. The scale-down window is nil
    in the API defaults and ``maybeInitScaleDownStabilizationWindow`` (``horizontal.go``) sets
    it from ``--horizontal-pod-autoscaler-downscale-stabilization``.
    """
    return Behavior(
        scale_up=ScalingRules(0.0, "Max", _DEFAULT_SCALE_UP_POLICIES),
        scale_down=ScalingRules(downscale_stabilization, "Max", _DEFAULT_SCALE_DOWN_POLICIES),
    )


def resolve_behavior(behavior: Behavior, downscale_stabilization: float = 300.0) -> Behavior:
    """Fill the unset parts of a behavior with the v2 defaults.

    Mirrors ``SetDefaults_HorizontalPodAutoscalerBehavior`` with ``copyHPAScalingRules``
    (``pkg/apis/autoscaling/v2/defaults.go``) and ``maybeInitScaleDownStabilizationWindow``
    (``horizontal.go``): only the fields left unset are replaced, field by field.
    """
    defaults = default_behavior(downscale_stabilization)

    def fill(rules: ScalingRules, base: ScalingRules) -> ScalingRules:
        return ScalingRules(
            stabilization_window_seconds=(
                base.stabilization_window_seconds
                if rules.stabilization_window_seconds is None
                else rules.stabilization_window_seconds
            ),
            select_policy=rules.select_policy,
            policies=rules.policies or base.policies,
            tolerance=rules.tolerance,
        )

    return Behavior(
        scale_up=fill(behavior.scale_up, defaults.scale_up),
        scale_down=fill(behavior.scale_down, defaults.scale_down),
    )
