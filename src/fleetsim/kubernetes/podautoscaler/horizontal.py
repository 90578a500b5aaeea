"""The HorizontalPodAutoscaler decision logic around the replica calculator.

:class:`HorizontalPodAutoscaler` is one HPA and the state the controller keeps for it between
syncs. It has no dependency on the simulation engine: the simulation calls
:meth:`HorizontalPodAutoscaler.sync` every sync period (15 s by default) with the time, the
scale target's ``spec.replicas`` and a snapshot of the pods, and applies
:attr:`~fleetsim.kubernetes.podautoscaler.api.Decision.desired_replicas`. Around the
proposal of :mod:`fleetsim.kubernetes.podautoscaler.replica_calculator` it applies the
stabilization windows, the behavior's rate policies (or, without ``behavior``, the legacy
path) and the min/max bounds.

Sources, read in the GitHub repository ``kubernetes/kubernetes``,
``pkg/controller/podautoscaler/horizontal.go``: ``reconcileAutoscaler``,
``recordInitialRecommendation``, ``stabilizeRecommendation`` and
``convertDesiredReplicasWithRules`` (no ``behavior``), ``stabilizeRecommendationWithBehaviors``,
``convertDesiredReplicasWithBehaviorRate``, ``calculateScaleUpLimitWithScalingRules``,
``calculateScaleDownLimitWithBehaviors``, ``getReplicasChangePerPeriod``, ``storeScaleEvent``.

Comparisons of times keep Go's strictness: a recommendation or scale event exactly one window
(or policy period) old is out of the behavior windows (``After(cutoff)``), but still inside the
legacy downscale window (``!Before(cutoff)``).

Deliberate simplifications (each keeps the decisions identical for what the simulator models):

- The update of the scale target always succeeds (no ``FailedGetScale`` or
  ``FailedUpdateScale``).
- Histories are pruned of entries that can never fall inside a window again, where the Go code
  marks such entries and reuses their slots. The entries that count are the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from fleetsim.kubernetes.podautoscaler.api import (
    Behavior,
    Decision,
    HPAConfig,
    PodMetric,
    ScalingPolicy,
    ScalingRules,
    resolve_behavior,
)
from fleetsim.kubernetes.podautoscaler.replica_calculator import (
    HPAMetricsError,
    Tolerances,
    calculate_resource_replicas,
    group_pods,
)

SCALE_UP_LIMIT_FACTOR = 2.0
"""``scaleUpLimitFactor`` in ``horizontal.go``: the legacy path at most doubles per sync."""
SCALE_UP_LIMIT_MINIMUM = 4.0
"""``scaleUpLimitMinimum`` in ``horizontal.go``: the legacy path may always reach 4 replicas."""

_MAX_INT32 = 2**31 - 1
_MIN_INT32 = -(2**31)


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
