"""The HorizontalPodAutoscaler (autoscaling/v2) decision logic, as the controller computes it.

This module reproduces what ``kube-controller-manager`` does for an HPA whose one metric is
CPU ``Utilization`` of the pods' requests (the API default, 80 %). It has no dependency on the
simulation engine: the simulation calls :meth:`HorizontalPodAutoscaler.sync` every sync period
(15 s by default) with the time, the scale target's ``spec.replicas`` and a snapshot of the
pods, and applies :attr:`Decision.desired_replicas`.

Sources, read in ``kubernetes/kubernetes`` (see ``/work/shared/spec/semantics.md`` section 1):

- ``pkg/controller/podautoscaler/replica_calculator.go``: ``groupPods``,
  ``GetResourceReplicas``, ``calculateRequests`` and the ``Tolerances`` type of KEP-4951.
- ``pkg/controller/podautoscaler/metrics/utilization.go``: ``GetResourceUtilizationRatio``.
- ``pkg/controller/podautoscaler/horizontal.go``: ``reconcileAutoscaler``,
  ``recordInitialRecommendation``, ``stabilizeRecommendation`` and
  ``convertDesiredReplicasWithRules`` (no ``behavior``), ``stabilizeRecommendationWithBehaviors``,
  ``convertDesiredReplicasWithBehaviorRate``, ``calculateScaleUpLimitWithScalingRules``,
  ``calculateScaleDownLimitWithBehaviors``, ``getReplicasChangePerPeriod``, ``storeScaleEvent``.
- ``pkg/apis/autoscaling/v2/defaults.go``: the behavior defaults (``GenerateHPAScaleUpRules``,
  ``GenerateHPAScaleDownRules``, ``copyHPAScalingRules``).

How the snapshot maps onto the controller's inputs:

- CPU is converted as the metrics pipeline does: metrics-server reports integer nanocores and
  the controller reads ``Quantity.MilliValue()``, which rounds up. A value in cores becomes
  ``ceil(round(cores * 1e9) / 1e6)`` millicores, so ``0.1`` is 100 m and not 101 m.
- ``PodMetric.last_transition is None`` stands for "the pod has no Ready condition" and
  ``ready=False`` for a Ready condition with status ``False`` (``Unknown`` is not modelled).
- ``PodMetric.sample_time is None`` with a usage present behaves like Go's zero ``time.Time``:
  earlier than any readiness change, so a young pod's sample is ignored.
- Comparisons of times keep Go's strictness: a recommendation or scale event exactly one window
  (or policy period) old is out of the behavior windows (``After(cutoff)``), but still inside the
  legacy downscale window (``!Before(cutoff)``).

Deliberate simplifications (each keeps the decisions identical for what the simulator models):

- One metric (CPU utilization). The controller's maximum over several metrics and its
  "invalid metric while scaling down" rule have nothing to choose between.
- Pods and metrics come from one consistent snapshot, and the update of the scale target always
  succeeds (no ``FailedGetScale`` or ``FailedUpdateScale``).
- Histories are pruned of entries that can never fall inside a window again, where the Go code
  marks such entries and reuses their slots. The entries that count are the same.
- A pod's request is one number, where Go sums (and rounds up) container by container.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from fleetsim.errors import FleetsimError

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]

_POLICY_TYPES: frozenset[str] = frozenset({"Pods", "Percent"})
_SELECT_POLICIES: frozenset[str] = frozenset({"Max", "Min", "Disabled"})

MAX_PERIOD_SECONDS = 1800.0
"""Largest ``periodSeconds`` a scaling policy may have (``pkg/apis/autoscaling/validation``)."""
MAX_STABILIZATION_WINDOW_SECONDS = 3600.0
"""Largest ``stabilizationWindowSeconds`` the API accepts (same file)."""
SCALE_UP_LIMIT_FACTOR = 2.0
"""``scaleUpLimitFactor`` in ``horizontal.go``: the legacy path at most doubles per sync."""
SCALE_UP_LIMIT_MINIMUM = 4.0
"""``scaleUpLimitMinimum`` in ``horizontal.go``: the legacy path may always reach 4 replicas."""

_MAX_INT32 = 2**31 - 1
_MIN_INT32 = -(2**31)


class HPAMetricsError(FleetsimError):
    """The replica calculator could not compute a proposal; the HPA leaves the scale alone.

    Mirrors the errors ``GetResourceReplicas`` returns in ``replica_calculator.go`` (no pods,
    no metrics for the pods that count, a pod without a CPU request). ``groups`` carries the
    pod classification when it was made before the failure.
    """

    def __init__(self, message: str, groups: PodGroups | None = None) -> None:
        super().__init__(message)
        self.groups = groups


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
# Defaults and tolerances
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


@dataclass(frozen=True)
class Tolerances:
    """Scale-down and scale-up tolerances on the usage ratio.

    Mirrors ``Tolerances`` and ``isWithin`` in ``replica_calculator.go`` (KEP-4951): no change
    while ``1 - scale_down <= ratio <= 1 + scale_up``. With both at the global 0.1 this is the
    older ``|1 - ratio| <= 0.1`` except at the exact edges, where floating point differs: a
    ratio of exactly 1.1 is within here (``1.1 <= 1.0 + 0.1``) but ``|1 - 1.1|`` is
    ``0.10000000000000009``. The current form is the one kept.
    """

    scale_down: float
    scale_up: float

    def is_within(self, usage_ratio: float) -> bool:
        """Whether the ratio is too close to 1 to act on."""
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


def tolerances_for(config: HPAConfig) -> Tolerances:
    """The tolerances an HPA uses: per-direction ones from ``behavior`` when set, else the flag.

    Mirrors how ``horizontal.go`` builds ``Tolerances`` for the replica calculator (the
    ``HPAConfigurableTolerance`` feature, beta and on by default since v1.35).
    """
    down = up = config.tolerance
    if config.behavior is not None:
        if config.behavior.scale_down.tolerance is not None:
            down = config.behavior.scale_down.tolerance
        if config.behavior.scale_up.tolerance is not None:
            up = config.behavior.scale_up.tolerance
    return Tolerances(scale_down=down, scale_up=up)


# --------------------------------------------------------------------------------------------
# Replica calculator
# --------------------------------------------------------------------------------------------


def cores_to_milli(cores: float) -> int:
    """CPU in cores as the controller's integer millicores.

    metrics-server reports whole nanocores and the controller reads ``Quantity.MilliValue()``,
    which rounds up; rounding to nanocores first keeps binary noise (``0.1 * 1000`` is
    ``100.00000000000001``) from adding a millicore.
    """
    nanos = round(cores * 1e9)
    return -(-nanos // 1_000_000)


class UtilizationRatio(NamedTuple):
    """Result of :func:`pooled_utilization`."""

    ratio: float
    utilization: int
    raw_average_milli: int


def pooled_utilization(
    usage_milli: Mapping[str, int],
    request_milli: Mapping[str, int],
    target_utilization: int,
) -> UtilizationRatio:
    """Pooled CPU utilization of the pods in ``usage_milli``, and its ratio to the target.

    Mirrors ``GetResourceUtilizationRatio`` in
    ``pkg/controller/podautoscaler/metrics/utilization.go``: sum the usage and the requests
    over the pods that have both, take ``floor(100 * usage / requests)`` as an integer percent
    (so this is a request-weighted mean, truncated), and divide that integer by the target.
    The ratio is computed from the truncated percent, which is why 88.9 % against a target of
    80 gives exactly 1.1. Raises :class:`HPAMetricsError` when the requests sum to zero.
    """
    usage_total = 0
    request_total = 0
    entries = 0
    for name, usage in usage_milli.items():
        request = request_milli.get(name)
        if request is None:
            continue
        usage_total += usage
        request_total += request
        entries += 1
    if request_total == 0:
        raise HPAMetricsError("no metrics returned matched known pods")
    utilization = (usage_total * 100) // request_total
    return UtilizationRatio(
        ratio=utilization / target_utilization,
        utilization=utilization,
        raw_average_milli=usage_total // entries,
    )


@dataclass(frozen=True)
class PodGroups:
    """How the replica calculator classified the pods, by name.

    ``ignored`` is Go's ``unreadyPods`` (Pending pods, and pods unready by the CPU rules): set
    aside, then counted at 0 % on a scale-up. ``dropped`` is Go's ``ignoredPods`` (deleted or
    Failed): left out entirely. The names follow the semantics sheet, not the Go variables.
    """

    ready: tuple[str, ...]
    ignored: tuple[str, ...]
    missing: tuple[str, ...]
    dropped: tuple[str, ...]


def _cpu_sample_unready(
    pod: PodMetric,
    now: float,
    cpu_initialization_period: float,
    initial_readiness_delay: float,
    metric_window: float,
) -> bool:
    """The CPU-only readiness rules of ``groupPods`` for a Running pod that has a sample."""
    if pod.last_transition is None or pod.start_time is None:
        # No Ready condition or no start time: the sample cannot be trusted.
        return True
    if pod.start_time + cpu_initialization_period > now:
        # Still in the CPU initialization period: the pod's start-up burst must not count, so
        # the sample is used only from a ready pod and only if a full metric window was
        # collected after the last readiness change.
        return (not pod.ready) or (
            pod.sample_time is None or pod.sample_time < pod.last_transition + metric_window
        )
    # Past the initialization period: ignore only a pod that is unready and has never been
    # ready (its readiness last changed within the initial delay of its start).
    return (not pod.ready) and pod.start_time + initial_readiness_delay > pod.last_transition


def group_pods(
    pods: Iterable[PodMetric],
    now: float,
    *,
    cpu_initialization_period: float = 300.0,
    initial_readiness_delay: float = 30.0,
    metric_window: float = 30.0,
) -> PodGroups:
    """Classify pods into ready, ignored (set aside), missing and dropped.

    Mirrors ``groupPods`` in ``pkg/controller/podautoscaler/replica_calculator.go`` for the
    CPU resource: deleted and Failed pods are dropped; Pending pods are set aside; a pod with
    no sample is missing; a Running pod with a sample is set aside when it has no Ready
    condition or start time, when it is within ``cpu_initialization_period`` of its start and
    either unready or sampled before ``last_transition + metric_window``, or when it is older,
    unready and its readiness last changed within ``initial_readiness_delay`` of its start.
    """
    ready: list[str] = []
    ignored: list[str] = []
    missing: list[str] = []
    dropped: list[str] = []
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            dropped.append(pod.name)
        elif pod.phase == "Pending":
            ignored.append(pod.name)
        elif pod.cpu_usage is None:
            missing.append(pod.name)
        elif _cpu_sample_unready(
            pod, now, cpu_initialization_period, initial_readiness_delay, metric_window
        ):
            ignored.append(pod.name)
        else:
            ready.append(pod.name)
    return PodGroups(tuple(ready), tuple(ignored), tuple(missing), tuple(dropped))


@dataclass(frozen=True)
class ReplicaProposal:
    """Result of :func:`calculate_resource_replicas`.

    ``replicas`` is the proposal (``current_replicas`` when the calculator decides not to
    move), ``utilization`` the original pooled percent over the ready pods, ``usage_ratio`` its
    ratio to the target, ``slow_path`` whether missing or set-aside pods were filled in, and
    ``reason`` a short text saying how the proposal was reached.
    """

    replicas: int
    utilization: int
    raw_average_milli: int
    usage_ratio: float
    groups: PodGroups
    slow_path: bool
    reason: str


def calculate_resource_replicas(
    current_replicas: int,
    target_utilization: int,
    pods: Sequence[PodMetric],
    now: float,
    tolerances: Tolerances,
    *,
    cpu_initialization_period: float = 300.0,
    initial_readiness_delay: float = 30.0,
    metric_window: float = 30.0,
) -> ReplicaProposal:
    """The replica count CPU utilization asks for, before stabilization and rate limits.

    Mirrors ``GetResourceReplicas`` in ``pkg/controller/podautoscaler/replica_calculator.go``:

    1. Group the pods (:func:`group_pods`) and take the ratio over the ready pods only.
    2. Fast path, when nothing is missing and set-aside pods would not matter (ratio <= 1):
       keep the count within tolerance, else ``ceil(ratio * ready pods)``.
    3. Slow path: fill missing pods in at ``max(100, target)`` % of their request on a
       scale-down (100 % for any target up to 100, which is the documented rule; upstream
       raised it to the target for targets above 100 so that missing pods never push a
       scale-down) or at 0 on a scale-up, and set-aside pods at 0 on a scale-up; recompute the
       ratio; keep the count if it is now within tolerance or flips direction, else
       ``ceil(new ratio * pods in the computation)``, unless that moves against the ratio's
       direction.

    Raises :class:`HPAMetricsError` when the controller would return an error: no pods, no
    sample from any ready pod, or a pod without a CPU request.
    """
    if not pods:
        raise HPAMetricsError("no pods returned by selector while calculating replica count")
    names = [pod.name for pod in pods]
    if len(set(names)) != len(names):
        raise ValueError("pod names must be unique: the controller keys pods by name")

    groups = group_pods(
        pods,
        now,
        cpu_initialization_period=cpu_initialization_period,
        initial_readiness_delay=initial_readiness_delay,
        metric_window=metric_window,
    )
    by_name = {pod.name: pod for pod in pods}
    # The metrics left after removing dropped and set-aside pods are the ready pods' samples.
    metrics: dict[str, int] = {}
    for name in groups.ready:
        usage = by_name[name].cpu_usage
        assert usage is not None  # group_pods puts pods without a sample in `missing`
        metrics[name] = cores_to_milli(usage)
    if not metrics:
        raise HPAMetricsError(
            "did not receive metrics for targeted pods (pods might be unready)", groups
        )

    # calculateRequests covers every pod the selector matched, dropped ones included.
    requests: dict[str, int] = {}
    for pod in pods:
        if pod.cpu_request is None:
            raise HPAMetricsError(f"missing request for cpu in pod {pod.name}", groups)
        requests[pod.name] = cores_to_milli(pod.cpu_request)

    usage_ratio, utilization, raw_average = pooled_utilization(
        metrics, requests, target_utilization
    )

    def proposal(replicas: int, slow: bool, reason: str) -> ReplicaProposal:
        return ReplicaProposal(
            replicas, utilization, raw_average, usage_ratio, groups, slow, reason
        )

    scale_up_with_unready = bool(groups.ignored) and usage_ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(usage_ratio):
            return proposal(current_replicas, False, "within tolerance")
        replicas = math.ceil(usage_ratio * len(groups.ready))
        return proposal(replicas, False, f"ratio {usage_ratio:.3f} x {len(groups.ready)} ready")

    if groups.missing:
        if usage_ratio < 1.0:
            fallback = max(100, target_utilization)
            for name in groups.missing:
                metrics[name] = requests[name] * fallback // 100
        elif usage_ratio > 1.0:
            for name in groups.missing:
                metrics[name] = 0
    if scale_up_with_unready:
        for name in groups.ignored:
            metrics[name] = 0

    new_ratio = pooled_utilization(metrics, requests, target_utilization).ratio
    if tolerances.is_within(new_ratio):
        return proposal(current_replicas, True, "within tolerance once pods are filled in")
    if (usage_ratio < 1.0 < new_ratio) or (usage_ratio > 1.0 > new_ratio):
        return proposal(current_replicas, True, "filling in pods would reverse the scale direction")
    new_replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
        new_ratio > 1.0 and new_replicas < current_replicas
    ):
        return proposal(
            current_replicas, True, "the new count would move against the scale direction"
        )
    return proposal(new_replicas, True, f"ratio {new_ratio:.3f} x {len(metrics)} pods")


# --------------------------------------------------------------------------------------------
# Stabilization
# --------------------------------------------------------------------------------------------


class TimestampedRecommendation(NamedTuple):
    """``timestampedRecommendation`` in ``horizontal.go``: an unstabilized proposal."""

    recommendation: int
    timestamp: float


def stabilize(
    recommendations: Iterable[TimestampedRecommendation],
    now: float,
    current_replicas: int,
    desired_replicas: int,
    scale_up_window: float,
    scale_down_window: float,
) -> int:
    """Bring a proposal within the band that recent recommendations allow.

    Mirrors the computation of ``stabilizeRecommendationWithBehaviors`` in ``horizontal.go``
    (recording the new recommendation is the caller's job): the upper bound is the largest
    recommendation, this one included, newer than ``now - scale_down_window``; the lower bound
    the smallest newer than ``now - scale_up_window``. Starting from the current count, the
    result is raised to the lower bound, then lowered to the upper bound. So a scale-down takes
    the highest recent recommendation and a scale-up the lowest. Entries exactly one window
    old are out (Go's ``After(cutoff)``).
    """
    up_recommendation = desired_replicas
    down_recommendation = desired_replicas
    up_cutoff = now - scale_up_window
    down_cutoff = now - scale_down_window
    for rec in recommendations:
        if rec.timestamp > up_cutoff:
            up_recommendation = min(rec.recommendation, up_recommendation)
        if rec.timestamp > down_cutoff:
            down_recommendation = max(rec.recommendation, down_recommendation)
    result = current_replicas
    if result < up_recommendation:
        result = up_recommendation
    if result > down_recommendation:
        result = down_recommendation
    return result


def stabilize_legacy(
    recommendations: Iterable[TimestampedRecommendation],
    now: float,
    desired_replicas: int,
    window: float,
) -> int:
    """The highest recommendation within the downscale window, for an HPA without behavior.

    Mirrors ``stabilizeRecommendation`` in ``horizontal.go`` (without the recording). Its
    window test is ``!Before(cutoff)``, so an entry exactly ``window`` old still counts, one
    sync longer than in :func:`stabilize`.
    """
    cutoff = now - window
    result = desired_replicas
    for rec in recommendations:
        if rec.timestamp >= cutoff and rec.recommendation > result:
            result = rec.recommendation
    return result


# --------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------


class ScaleEvent(NamedTuple):
    """``timestampedScaleEvent`` in ``horizontal.go``: a change the HPA made, as a magnitude."""

    replica_change: int
    timestamp: float


class RateLimitResult(NamedTuple):
    """A rate-limited and clamped replica count.

    ``condition`` is the controller's ``ScalingLimited`` reason (``ScaleUpLimit``,
    ``TooManyReplicas``, ``ScaleDownLimit``, ``TooFewReplicas`` or ``DesiredWithinRange``);
    ``message`` is a short human text for :attr:`Decision.reason`, empty when not limited.
    """

    replicas: int
    condition: str
    message: str


class PolicyLimit(NamedTuple):
    """A scale limit and the policy that set it (``None`` when ``selectPolicy`` is Disabled)."""

    replicas: int
    policy: ScalingPolicy | None


def replicas_change_per_period(
    period_seconds: float, events: Iterable[ScaleEvent], now: float
) -> int:
    """Replicas changed by the events newer than ``now - period_seconds``.

    Mirrors ``getReplicasChangePerPeriod`` in ``horizontal.go``; an event exactly one period
    old is outside (``After(cutoff)``), so with a 15 s period and a 15 s sync each sync starts
    a fresh period.
    """
    cutoff = now - period_seconds
    return sum(event.replica_change for event in events if event.timestamp > cutoff)


def _period_start(
    current_replicas: int,
    policy: ScalingPolicy,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    now: float,
) -> int:
    """The replica count at the start of ``policy``'s period: current - added + removed."""
    added = replicas_change_per_period(policy.period_seconds, scale_up_events, now)
    removed = replicas_change_per_period(policy.period_seconds, scale_down_events, now)
    return current_replicas - added + removed


def calculate_scale_up_limit(
    current_replicas: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
    now: float,
) -> PolicyLimit:
    """Highest count the scale-up policies allow now.

    Mirrors ``calculateScaleUpLimitWithScalingRules`` in ``horizontal.go``. For each policy the
    count at the start of its period is rebuilt as ``current - added + removed`` within the
    period; a Pods policy allows that plus ``value``, a Percent policy
    ``ceil(start * (1 + value / 100))``. ``Max`` takes the largest, ``Min`` the smallest and
    ``Disabled`` returns the current count.
    """
    if rules.select_policy == "Disabled":
        return PolicyLimit(current_replicas, None)
    use_min = rules.select_policy == "Min"
    result = _MAX_INT32 if use_min else _MIN_INT32
    chosen: ScalingPolicy | None = None
    for policy in rules.policies:
        period_start = _period_start(
            current_replicas, policy, scale_up_events, scale_down_events, now
        )
        if policy.type == "Pods":
            proposed = period_start + policy.value
        else:
            proposed = math.ceil(period_start * (1 + policy.value / 100))
        if (proposed < result) if use_min else (proposed > result):
            result, chosen = proposed, policy
    return PolicyLimit(result, chosen)


def calculate_scale_down_limit(
    current_replicas: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
    now: float,
) -> PolicyLimit:
    """Lowest count the scale-down policies allow now.

    Mirrors ``calculateScaleDownLimitWithBehaviors`` in ``horizontal.go``: the period start is
    rebuilt as in :func:`calculate_scale_up_limit`; a Pods policy allows ``start - value``, a
    Percent policy ``trunc(start * (1 - value / 100))``. ``Max`` (the largest change) takes
    the lowest floor, ``Min`` the highest, ``Disabled`` returns the current count.
    """
    if rules.select_policy == "Disabled":
        return PolicyLimit(current_replicas, None)
    use_min_change = rules.select_policy == "Min"
    result = _MIN_INT32 if use_min_change else _MAX_INT32
    chosen: ScalingPolicy | None = None
    for policy in rules.policies:
        period_start = _period_start(
            current_replicas, policy, scale_up_events, scale_down_events, now
        )
        if policy.type == "Pods":
            proposed = period_start - policy.value
        else:
            proposed = int(period_start * (1 - policy.value / 100))
        if (proposed > result) if use_min_change else (proposed < result):
            result, chosen = proposed, policy
    return PolicyLimit(result, chosen)


def rate_limit(
    current_replicas: int,
    desired_replicas: int,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    now: float,
) -> RateLimitResult:
    """Apply the behavior's rate policies and the min/max bounds to a stabilized count.

    Mirrors ``convertDesiredReplicasWithBehaviorRate`` in ``horizontal.go``. ``behavior`` must
    be resolved (:func:`resolve_behavior`). A limit that has fallen behind the current count
    (the period's budget is spent) holds the count where it is rather than reversing it.
    """
    if desired_replicas > current_replicas:
        up_limit, policy = calculate_scale_up_limit(
            current_replicas, scale_up_events, scale_down_events, behavior.scale_up, now
        )
        up_limit = max(up_limit, current_replicas)
        if max_replicas > up_limit:
            allowed = up_limit
            condition = "ScaleUpLimit"
            message = _policy_message("up", behavior.scale_up, policy)
        else:
            allowed = max_replicas
            condition = "TooManyReplicas"
            message = f"scale up limited by maxReplicas {max_replicas}"
        if desired_replicas > allowed:
            return RateLimitResult(allowed, condition, message)
    elif desired_replicas < current_replicas:
        down_limit, policy = calculate_scale_down_limit(
            current_replicas, scale_up_events, scale_down_events, behavior.scale_down, now
        )
        down_limit = min(down_limit, current_replicas)
        if min_replicas < down_limit:
            allowed = down_limit
            condition = "ScaleDownLimit"
            message = _policy_message("down", behavior.scale_down, policy)
        else:
            allowed = min_replicas
            condition = "TooFewReplicas"
            message = f"scale down limited by minReplicas {min_replicas}"
        if desired_replicas < allowed:
            return RateLimitResult(allowed, condition, message)
    return RateLimitResult(desired_replicas, "DesiredWithinRange", "")


def _policy_message(direction: str, rules: ScalingRules, policy: ScalingPolicy | None) -> str:
    """Human text for a limit set by the scaling policies of one direction."""
    if rules.select_policy == "Disabled":
        return f"scale {direction} disabled by selectPolicy Disabled"
    if policy is None:
        return f"scale {direction} limited: no scaling policy"
    return f"scale {direction} limited by policy {policy.describe()}"


def legacy_scale_up_limit(current_replicas: int) -> int:
    """``max(2 * current, 4)``: the most the legacy path may scale to in one sync.

    Mirrors ``calculateScaleUpLimit`` in ``horizontal.go``, a guard against bogus CPU reports.
    It differs from the v2 default policies (``max(current + 4, 2 * current)``) below 4
    replicas: from 2, the legacy path goes to 4 where the defaults allow 6.
    """
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def legacy_rate_limit(
    current_replicas: int, desired_replicas: int, min_replicas: int, max_replicas: int
) -> RateLimitResult:
    """Clamp a stabilized count for an HPA without behavior.

    Mirrors ``convertDesiredReplicasWithRules`` in ``horizontal.go``: at least
    ``min_replicas``, at most the smaller of ``max_replicas`` and
    :func:`legacy_scale_up_limit`.
    """
    scale_up_limit = legacy_scale_up_limit(current_replicas)
    if max_replicas > scale_up_limit:
        maximum = scale_up_limit
        condition = "ScaleUpLimit"
        message = f"scale up limited to max(2 x {current_replicas}, 4) = {scale_up_limit}"
    else:
        maximum = max_replicas
        condition = "TooManyReplicas"
        message = f"scale up limited by maxReplicas {max_replicas}"
    if desired_replicas < min_replicas:
        return RateLimitResult(
            min_replicas, "TooFewReplicas", f"scale down limited by minReplicas {min_replicas}"
        )
    if desired_replicas > maximum:
        return RateLimitResult(maximum, condition, message)
    return RateLimitResult(desired_replicas, "DesiredWithinRange", "")


# --------------------------------------------------------------------------------------------
# The controller loop for one HPA
# --------------------------------------------------------------------------------------------


def _longest_policy_period(rules: ScalingRules) -> float:
    """``getLongestPolicyPeriod`` in ``horizontal.go``."""
    return max((policy.period_seconds for policy in rules.policies), default=0.0)


class HorizontalPodAutoscaler:
    """One HPA object and the controller state kept for it between syncs.

    Mirrors ``reconcileAutoscaler`` in ``horizontal.go`` for one HPA: it keeps the
    unstabilized recommendations with their times (for the stabilization windows) and, when
    ``behavior`` is set, the scale-up and scale-down events (for the policy periods), exactly
    as the controller's per-HPA maps do. Call :meth:`sync` once per sync period, with times
    that do not go backwards.
    """

    def __init__(self, config: HPAConfig) -> None:
        self.config = config
        self.behavior: Behavior | None = (
            None
            if config.behavior is None
            else resolve_behavior(config.behavior, config.downscale_stabilization)
        )
        self.tolerances = tolerances_for(config)
        self._recommendations: list[TimestampedRecommendation] | None = None
        self._scale_up_events: list[ScaleEvent] = []
        self._scale_down_events: list[ScaleEvent] = []

    @property
    def recommendations(self) -> tuple[TimestampedRecommendation, ...]:
        """The recommendations still inside a stabilization window, oldest first."""
        return tuple(self._recommendations or ())

    @property
    def scale_up_events(self) -> tuple[ScaleEvent, ...]:
        """Scale-up events still inside the longest scale-up policy period."""
        return tuple(self._scale_up_events)

    @property
    def scale_down_events(self) -> tuple[ScaleEvent, ...]:
        """Scale-down events still inside the longest scale-down policy period."""
        return tuple(self._scale_down_events)

    def sync(self, now: float, current_replicas: int, pods: Sequence[PodMetric]) -> Decision:
        """Run one reconciliation: compute, stabilize, rate-limit and record the decision.

        ``current_replicas`` is the scale target's ``spec.replicas``; ``pods`` every pod its
        selector matches. The decision's ``desired_replicas`` is what the HPA writes to the
        target (``current_replicas`` when it does not rescale).
        """
        config = self.config
        if self._recommendations is None:
            # recordInitialRecommendation: the first sync seeds the history with the current
            # count, so an HPA cannot scale down within its first window.
            self._recommendations = [TimestampedRecommendation(current_replicas, now)]

        counted = group_pods(
            pods,
            now,
            cpu_initialization_period=config.cpu_initialization_period,
            initial_readiness_delay=config.initial_readiness_delay,
            metric_window=config.metric_window,
        )

        def decision(
            desired: int,
            recommendation: int,
            utilization: int | None,
            reason: str,
            able: bool = True,
        ) -> Decision:
            return Decision(
                desired_replicas=desired,
                recommendation=recommendation,
                utilization=utilization,
                ready_pods=len(counted.ready),
                ignored_pods=len(counted.ignored),
                missing_pods=len(counted.missing),
                reason=reason,
                able_to_scale=able,
            )

        if current_replicas == 0:
            # minReplicas is at least 1, so a target at zero means autoscaling is disabled.
            return decision(0, 0, None, "scaling disabled: the target has 0 replicas", False)
        if current_replicas > config.max_replicas:
            self._store_scale_event(now, current_replicas, config.max_replicas)
            return decision(
                config.max_replicas,
                config.max_replicas,
                None,
                f"current replicas above maxReplicas {config.max_replicas}",
            )
        if current_replicas < config.min_replicas:
            self._store_scale_event(now, current_replicas, config.min_replicas)
            return decision(
                config.min_replicas,
                config.min_replicas,
                None,
                f"current replicas below minReplicas {config.min_replicas}",
            )

        try:
            proposal = calculate_resource_replicas(
                current_replicas,
                config.target_cpu_utilization,
                pods,
                now,
                self.tolerances,
                cpu_initialization_period=config.cpu_initialization_period,
                initial_readiness_delay=config.initial_readiness_delay,
                metric_window=config.metric_window,
            )
        except HPAMetricsError as error:
            return decision(
                current_replicas,
                current_replicas,
                None,
                f"unable to compute the replica count: {error}",
                False,
            )

        recommendation = max(proposal.replicas, 0)
        if self.behavior is None:
            stabilized = self._stabilize_legacy(now, recommendation)
            limited = legacy_rate_limit(
                current_replicas, stabilized, config.min_replicas, config.max_replicas
            )
            # The legacy window takes the maximum whatever the direction, so it can also hold
            # a count up (or keep raising it) after the load has eased.
            stabilized_text = (
                f"stabilized: highest recommendation in the last "
                f"{config.downscale_stabilization:g}s is {stabilized}"
            )
        else:
            stabilized = self._stabilize(now, current_replicas, recommendation)
            limited = rate_limit(
                current_replicas,
                stabilized,
                config.min_replicas,
                config.max_replicas,
                self.behavior,
                self._scale_up_events,
                self._scale_down_events,
                now,
            )
            if recommendation >= current_replicas:
                stabilized_text = (
                    f"scale up stabilized: lowest recommendation in the last "
                    f"{self._window(self.behavior.scale_up):g}s is {stabilized}"
                )
            else:
                stabilized_text = (
                    f"scale down stabilized: highest recommendation in the last "
                    f"{self._window(self.behavior.scale_down):g}s is {stabilized}"
                )

        desired = limited.replicas
        if desired != current_replicas:
            self._store_scale_event(now, current_replicas, desired)

        utilization = proposal.utilization
        target = config.target_cpu_utilization
        if limited.message:
            reason = limited.message
        elif stabilized != recommendation:
            reason = stabilized_text
        elif desired > current_replicas:
            reason = f"cpu utilization {utilization}% above target {target}%"
        elif desired < current_replicas:
            reason = f"cpu utilization {utilization}% below target {target}%"
        else:
            reason = proposal.reason
        return decision(desired, recommendation, utilization, reason)

    @staticmethod
    def _window(rules: ScalingRules) -> float:
        window = rules.stabilization_window_seconds
        assert window is not None  # resolve_behavior fills both windows
        return window

    def _stabilize_legacy(self, now: float, recommendation: int) -> int:
        """``stabilizeRecommendation``: take the window's maximum, then record the proposal."""
        window = self.config.downscale_stabilization
        history = self._recommendations
        assert history is not None
        stabilized = stabilize_legacy(history, now, recommendation, window)
        cutoff = now - window
        history[:] = [rec for rec in history if rec.timestamp >= cutoff]
        history.append(TimestampedRecommendation(recommendation, now))
        return stabilized

    def _stabilize(self, now: float, current_replicas: int, recommendation: int) -> int:
        """``stabilizeRecommendationWithBehaviors``: stabilize, then record the proposal."""
        assert self.behavior is not None
        history = self._recommendations
        assert history is not None
        up_window = self._window(self.behavior.scale_up)
        down_window = self._window(self.behavior.scale_down)
        stabilized = stabilize(
            history, now, current_replicas, recommendation, up_window, down_window
        )
        # An entry older than both cutoffs can never count again (Go reuses its slot).
        cutoff = now - max(up_window, down_window)
        history[:] = [rec for rec in history if rec.timestamp >= cutoff]
        history.append(TimestampedRecommendation(recommendation, now))
        return stabilized

    def _store_scale_event(self, now: float, previous: int, new: int) -> None:
        """``storeScaleEvent``: remember a rescale for the policy periods (behavior only)."""
        if self.behavior is None:
            return
        if new > previous:
            events = self._scale_up_events
            cutoff = now - _longest_policy_period(self.behavior.scale_up)
            change = new - previous
        else:
            events = self._scale_down_events
            cutoff = now - _longest_policy_period(self.behavior.scale_down)
            change = previous - new
        events[:] = [event for event in events if event.timestamp >= cutoff]
        events.append(ScaleEvent(change, now))
