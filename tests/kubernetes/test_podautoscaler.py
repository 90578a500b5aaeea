"""HorizontalPodAutoscaler decisions, checked against numbers worked out by hand.

Every expected value is derived in a comment from the controller's rules, as the GitHub
repository ``kubernetes/kubernetes`` writes them in ``pkg/controller/podautoscaler``:
``replica_calculator.go`` and ``metrics/utilization.go`` (utilization and the replica
count), ``horizontal.go`` (stabilization, behavior policies, the legacy scale-up limit),
with the cases of ``replica_calculator_test.go`` and ``horizontal_test.go`` as the model;
defaults and validation as ``pkg/apis/autoscaling/v2/defaults.go`` and
``pkg/apis/autoscaling/validation/validation.go``. Unless a test says otherwise pods request
1 core (1000 m), the target is 80 % and the tolerance 0.1.
"""

from __future__ import annotations

import pytest

from fleetsim.kubernetes.podautoscaler import (
    Behavior,
    HorizontalPodAutoscaler,
    HPAConfig,
    PodMetric,
    ScalingPolicy,
    ScalingRules,
    TimestampedRecommendation,
    Tolerances,
    calculate_resource_replicas,
    cores_to_milli,
    default_behavior,
    group_pods,
    legacy_scale_up_limit,
    pooled_utilization,
    resolve_behavior,
    stabilize,
)

NOW = 1000.0
TOL = Tolerances(0.1, 0.1)


def pod(
    name: str,
    usage: float | None,
    *,
    request: float | None = 1.0,
    ready: bool = True,
    phase: str = "Running",
    deleting: bool = False,
    start: float = -1000.0,
    transition: float = -990.0,
    sample: float = NOW - 5.0,
) -> PodMetric:
    """A pod; by default long started (past the 300 s CPU initialization period) and Ready."""
    return PodMetric(
        name=name,
        phase=phase,
        deleting=deleting,
        ready=ready,
        start_time=start,
        last_transition=transition,
        cpu_usage=usage,
        sample_time=sample,
        cpu_request=request,
    )


def fleet(n: int, usage: float | None, prefix: str = "p") -> list[PodMetric]:
    return [pod(f"{prefix}{i}", usage) for i in range(n)]


def proposal(current: int, pods: list[PodMetric]) -> int:
    return calculate_resource_replicas(current, 80, pods, NOW, TOL).replicas


# ------------------------------------------------------------------------------------------
# Utilization and the replica calculator
# ------------------------------------------------------------------------------------------


def test_fast_path_scale_up() -> None:
    # 4 pods at 1.2 cores: utilization = floor(100 * 4800 / 4000) = 120 %, ratio 120/80 = 1.5,
    # desired = ceil(1.5 * 4 ready pods) = 6.
    result = calculate_resource_replicas(4, 80, fleet(4, 1.2), NOW, TOL)
    assert (result.replicas, result.utilization, result.slow_path) == (6, 120, False)
    # Through the legacy controller: 6 is under max(2 x 4, 4) = 8 and maxReplicas 20.
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=20)).sync(NOW, 4, fleet(4, 1.2))
    assert decision.desired_replicas == 6
    assert decision.recommendation == 6
    assert decision.utilization == 120
    assert decision.reason == "cpu utilization 120% above target 80%"
    assert (decision.ready_pods, decision.ignored_pods, decision.missing_pods) == (4, 0, 0)


def test_fast_path_scale_down() -> None:
    # 4 pods at 0.2 cores: 20 %, ratio 0.25, desired = ceil(0.25 * 4) = 1.
    assert proposal(4, fleet(4, 0.2)) == 1


def test_the_ready_pod_count_is_used_not_current_replicas() -> None:
    # spec.replicas is 10 but only 4 pods exist: ceil(1.5 * 4) = 6, not ceil(1.5 * 10) = 15.
    assert proposal(10, fleet(4, 1.2)) == 6


def test_tolerance_band_is_a_no_op_at_ratio_1_05() -> None:
    # 4 pods at 0.84: 84 %, ratio 1.05; |1 - 1.05| <= 0.1 keeps 4 (ceil(1.05 * 4) would be 5).
    result = calculate_resource_replicas(4, 80, fleet(4, 0.84), NOW, TOL)
    assert (result.replicas, result.reason) == (4, "within tolerance")
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=20)).sync(NOW, 4, fleet(4, 0.84))
    assert (decision.desired_replicas, decision.reason) == (4, "within tolerance")


def test_utilization_is_floored_before_the_ratio() -> None:
    # 3 pods at 0.889: 100 * 2667 / 3000 = 88.9, floored to 88; 88/80 = 1.1 exactly, which is
    # inside 1 + 0.1, so no change. Unfloored, 88.9/80 = 1.111 would ask ceil(3.33) = 4.
    result = calculate_resource_replicas(3, 80, fleet(3, 0.889), NOW, TOL)
    assert result.utilization == 88
    assert result.usage_ratio == 1.1
    assert result.replicas == 3


def test_utilization_is_pooled_over_requests_not_averaged_per_pod() -> None:
    # a: 500 m of 500 m (100 %), b: 300 m of 1500 m (20 %). Mean of percents would be 60 %;
    # pooled is floor(100 * 800 / 2000) = 40 %, ratio 40/80 = 0.5, raw average 800/2 = 400 m.
    ratio, utilization, raw = pooled_utilization({"a": 500, "b": 300}, {"a": 500, "b": 1500}, 80)
    assert (ratio, utilization, raw) == (0.5, 40, 400)


def test_cores_become_millicores_like_quantity_milli_value() -> None:
    # 0.1 * 1e9 = 100000000 nanocores = 100 m exactly (binary 0.1 * 1000 is 100.00000000000001);
    # 0.0001234 cores = 123400 n = 0.1234 m, and MilliValue rounds up to 1 m.
    assert cores_to_milli(0.1) == 100
    assert cores_to_milli(0.0001234) == 1
    assert cores_to_milli(2.5) == 2500


def test_deleted_and_failed_pods_are_dropped() -> None:
    # The deleting and Failed pods are left out whatever their CPU: same as 4 pods at 1.2 -> 6.
    pods = [
        *fleet(4, 1.2),
        pod("gone", 9.0, deleting=True),
        pod("dead", 9.0, phase="Failed"),
    ]
    result = calculate_resource_replicas(4, 80, pods, NOW, TOL)
    assert result.replicas == 6
    assert result.groups.dropped == ("gone", "dead")
    assert (len(result.groups.ready), len(result.groups.ignored)) == (4, 0)


def test_slow_path_missing_pods_count_as_full_on_scale_down() -> None:
    # 4 ready at 0.2 (20 %, ratio 0.25 < 1) and 1 pod with no sample. On a scale-down the missing
    # pod is filled in at 100 % of its request: (800 + 1000) / 5000 = 36 %, ratio 0.45,
    # desired = ceil(0.45 * 5) = 3, not the fast path's ceil(0.25 * 4) = 1.
    pods = [*fleet(4, 0.2), pod("m", None)]
    result = calculate_resource_replicas(5, 80, pods, NOW, TOL)
    assert (result.replicas, result.slow_path) == (3, True)
    assert result.utilization == 20  # the status shows the original value, not 36


def test_slow_path_missing_pods_count_as_zero_on_scale_up() -> None:
    # 5 ready at 1.0 (100 %, ratio 1.25) and 1 missing, filled in at 0 on a scale-up:
    # 5000 / 6000 = 83 %, ratio 1.0375, within tolerance: stay at 6 (fast path would say 7).
    pods = [*fleet(5, 1.0), pod("m", None)]
    result = calculate_resource_replicas(6, 80, pods, NOW, TOL)
    assert result.replicas == 6
    assert result.reason == "within tolerance once pods are filled in"


def test_slow_path_keeps_the_count_when_filling_in_reverses_direction() -> None:
    # 2 ready at 1.2 (120 %, ratio 1.5 up) and 2 missing at 0: 2400 / 4000 = 60 %, ratio 0.75,
    # now pointing down: the controller keeps the current 4.
    pods = [*fleet(2, 1.2), pod("m1", None), pod("m2", None)]
    result = calculate_resource_replicas(4, 80, pods, NOW, TOL)
    assert result.replicas == 4
    assert result.reason == "filling in pods would reverse the scale direction"


def test_slow_path_refuses_a_count_that_moves_against_the_ratio() -> None:
    # spec.replicas is 3 but 6 pods match: 5 ready at 0.6 (60 %, ratio 0.75) and 1 missing at
    # 100 %: 4000 / 6000 = 66 %, ratio 0.825, ceil(0.825 * 6) = 5. That is a scale-up from 3 on
    # a ratio below 1, so the current 3 is kept.
    pods = [*fleet(5, 0.6), pod("m", None)]
    result = calculate_resource_replicas(3, 80, pods, NOW, TOL)
    assert result.replicas == 3
    assert result.reason == "the new count would move against the scale direction"


def test_missing_pods_fill_at_the_target_when_it_is_above_100() -> None:
    # Target 150 %: 4 ready at 0.3 (30 %, ratio 0.2) plus 1 missing, filled in at
    # max(100, 150) = 150 % = 1500 m: (1200 + 1500) / 5000 = 54 %, ratio 0.36, ceil(1.8) = 2.
    pods = [*fleet(4, 0.3), pod("m", None)]
    assert calculate_resource_replicas(5, 150, pods, NOW, TOL).replicas == 2


def test_pending_pods_count_as_zero_on_scale_up() -> None:
    # 3 ready at 1.1 (110 %, ratio 1.375) plus a Pending pod, set aside and filled in at 0:
    # 3300 / 4000 = 82 %, ratio 1.025, within tolerance: stay at 4. Dropping the Pending pod
    # instead would give ceil(1.375 * 3) = 5.
    pods = [*fleet(3, 1.1), pod("new", None, phase="Pending")]
    result = calculate_resource_replicas(4, 80, pods, NOW, TOL)
    assert result.replicas == 4
    assert result.groups.ignored == ("new",)


def test_unready_young_pod_is_zero_on_scale_up() -> None:
    # 3 ready at 1.2 (ratio 1.5) and a 60 s old unready pod: filled in at 0,
    # 3600 / 4000 = 90 %, ratio 1.125 (> 1.1), ceil(1.125 * 4) = ceil(4.5) = 5.
    young = pod("young", 0.9, ready=False, start=NOW - 60, transition=NOW - 60)
    result = calculate_resource_replicas(4, 80, [*fleet(3, 1.2), young], NOW, TOL)
    assert result.replicas == 5
    assert result.slow_path


# Three steady pods at 0.4 cores (40 %) and one warming pod at 11 x that, 4.4 cores (440 %).
# Counted, the pool is (1200 + 4400) / 4000 = 140 %, ratio 1.75, ceil(1.75 * 4) = 7.
# Set aside, the pool is 1200 / 3000 = 40 %, ratio 0.5 (< 1, so no filling in) and the fast
# path gives ceil(0.5 * 3) = 2.
WARMING_CASES = [
    pytest.param(
        # Started exactly 300 s ago: start + 300 is not after now, so it is past the CPU
        # initialization period, and being Ready it counts, burst and all.
        dict(ready=True, start=NOW - 300, transition=NOW - 270, sample=NOW - 5),
        7,
        id="five-minutes-old-ready-counts",
    ),
    pytest.param(
        # 60 s old and not Ready: inside the initialization period, so ignored.
        dict(ready=False, start=NOW - 60, transition=NOW - 60, sample=NOW - 5),
        2,
        id="young-unready-ignored",
    ),
    pytest.param(
        # 60 s old, Ready since NOW - 40, sample ends at NOW - 5, after NOW - 40 + 30 (a full
        # metric window since it became ready): counted.
        dict(ready=True, start=NOW - 60, transition=NOW - 40, sample=NOW - 5),
        7,
        id="young-ready-full-window-counts",
    ),
    pytest.param(
        # Same pod, but the sample ends at NOW - 15, before NOW - 40 + 30: ignored.
        dict(ready=True, start=NOW - 60, transition=NOW - 40, sample=NOW - 15),
        2,
        id="young-ready-sample-too-early-ignored",
    ),
    pytest.param(
        # Old, unready, readiness last changed 10 s after start (< 30 s): never been ready.
        dict(ready=False, start=0.0, transition=10.0, sample=NOW - 5),
        2,
        id="old-never-ready-ignored",
    ),
    pytest.param(
        # Old, unready since 500 s after start: it was ready once, so its sample counts.
        dict(ready=False, start=0.0, transition=500.0, sample=NOW - 5),
        7,
        id="old-became-unready-counts",
    ),
]


@pytest.mark.parametrize(("warming", "expected"), WARMING_CASES)
def test_cpu_initialization_rules(warming: dict[str, float | bool], expected: int) -> None:
    warm = PodMetric(
        name="warm",
        phase="Running",
        deleting=False,
        ready=bool(warming["ready"]),
        start_time=float(warming["start"]),
        last_transition=float(warming["transition"]),
        cpu_usage=4.4,
        sample_time=float(warming["sample"]),
        cpu_request=1.0,
    )
    assert proposal(4, [*fleet(3, 0.4), warm]) == expected


def test_pod_without_ready_condition_or_start_time_is_ignored() -> None:
    no_condition = pod("a", 1.0, transition=None)  # type: ignore[arg-type]
    not_started = PodMetric("b", "Running", False, True, None, 0.0, 1.0, NOW, 1.0)
    groups = group_pods([no_condition, not_started, pod("c", 1.0)], NOW)
    assert groups.ignored == ("a", "b")
    assert groups.ready == ("c",)


def test_no_metrics_for_ready_pods_cannot_compute() -> None:
    # Only a missing pod and a Pending pod: no sample to compute from, so no scaling.
    pods = [pod("m", None), pod("new", None, phase="Pending")]
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=10)).sync(NOW, 2, pods)
    assert decision.desired_replicas == 2
    assert not decision.able_to_scale
    assert decision.utilization is None
    assert "did not receive metrics" in decision.reason
    assert (decision.ignored_pods, decision.missing_pods) == (1, 1)


def test_no_request_means_no_scaling() -> None:
    # One container without a CPU request: utilization cannot be computed, the HPA holds.
    pods = [*fleet(3, 3.0), pod("bare", 3.0, request=None)]
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=10)).sync(NOW, 4, pods)
    assert decision.desired_replicas == 4
    assert decision.utilization is None
    assert not decision.able_to_scale
    assert "missing request for cpu in pod bare" in decision.reason


def test_zero_replicas_disables_scaling() -> None:
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=10)).sync(NOW, 0, [])
    assert decision.desired_replicas == 0
    assert not decision.able_to_scale
    assert decision.reason == "scaling disabled: the target has 0 replicas"


def test_per_direction_tolerances() -> None:
    # KEP-4951: scale-up tolerance 0.02. 84 % gives ratio 1.05 > 1.02, so ceil(1.05 * 4) = 5.
    behavior = Behavior(scale_up=ScalingRules(tolerance=0.02))
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=20, behavior=behavior))
    assert hpa.tolerances == Tolerances(scale_down=0.1, scale_up=0.02)
    assert hpa.sync(NOW, 4, fleet(4, 0.84)).desired_replicas == 5
    # Scale-down tolerance 0.5: 40 % is ratio 0.5, not below 1 - 0.5, so nothing to do.
    loose = Tolerances(scale_down=0.5, scale_up=0.1)
    result = calculate_resource_replicas(4, 80, fleet(4, 0.4), NOW, loose)
    assert (result.replicas, result.reason) == (4, "within tolerance")


# ------------------------------------------------------------------------------------------
# Stabilization
# ------------------------------------------------------------------------------------------


def run_scale_down_stabilization(behavior: Behavior | None) -> dict[float, int]:
    """10 pods at 80 % at t=0, then 20 % from t=15; the desired count at each sync."""
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=20, behavior=behavior))
    seen = {0.0: hpa.sync(0.0, 10, fleet(10, 0.8)).desired_replicas}
    for step in range(1, 23):
        t = 15.0 * step
        seen[t] = hpa.sync(t, 10, fleet(10, 0.2)).desired_replicas
    return seen


def test_stabilization_window_delays_scale_down_for_300_s() -> None:
    # t=0: 80 %, ratio 1.0, within tolerance: recommendation 10 (plus the initial 10).
    # From t=15: 20 %, ratio 0.25, recommendation ceil(0.25 * 10) = 3, but the scale-down
    # takes the highest recommendation newer than now - 300: 10 while t=0 is inside.
    # At t=300 the t=0 entries are exactly 300 s old, outside (Go's After(cutoff)), so 3; the
    # default scale-down policy (100 % per 15 s) allows it.
    seen = run_scale_down_stabilization(default_behavior())
    assert all(seen[15.0 * s] == 10 for s in range(20))
    assert seen[300.0] == 3


def test_stabilization_reason_and_recommendation() -> None:
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=20, behavior=default_behavior()))
    hpa.sync(0.0, 10, fleet(10, 0.8))
    decision = hpa.sync(15.0, 10, fleet(10, 0.2))
    assert (decision.desired_replicas, decision.recommendation) == (10, 3)
    assert decision.reason == "scale down stabilized: highest recommendation in the last 300s is 10"


def test_legacy_stabilization_window_includes_its_edge() -> None:
    # Without behavior the window test is !Before(cutoff): at t=300 the t=0 entries are still
    # in, so the scale-down to 3 happens one sync later, at t=315.
    seen = run_scale_down_stabilization(None)
    assert seen[300.0] == 10
    assert seen[315.0] == 3


def test_legacy_window_keeps_raising_after_a_limited_scale_up() -> None:
    # No behavior. t=0: 2 pods at 400 % ask for 10; the limit max(2 x 2, 4) = 4 applies.
    # t=15: 4 pods at 80 % are within tolerance (proposal 4), but the legacy window takes the
    # maximum of recent recommendations whatever the direction: max(2, 10, 4) = 10, limited to
    # max(2 x 4, 4) = 8. The controller keeps climbing toward the old proposal.
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100))
    assert hpa.sync(0.0, 2, fleet(2, 4.0)).desired_replicas == 4
    decision = hpa.sync(15.0, 4, fleet(4, 0.8))
    assert (decision.desired_replicas, decision.recommendation) == (8, 4)
    assert decision.reason == "scale up limited to max(2 x 4, 4) = 8"


def test_first_sync_cannot_scale_down() -> None:
    # recordInitialRecommendation seeds the history with the current 4, so a first sync at
    # 20 % (recommendation 1) is held at 4 by the 300 s window.
    decision = HorizontalPodAutoscaler(HPAConfig(max_replicas=10)).sync(NOW, 4, fleet(4, 0.2))
    assert (decision.desired_replicas, decision.recommendation) == (4, 1)


def test_stabilize_takes_min_over_up_window_and_max_over_down_window() -> None:
    history = [
        TimestampedRecommendation(5, NOW - 30),
        TimestampedRecommendation(8, NOW - 10),
        TimestampedRecommendation(12, NOW - 200),
    ]
    # Up: min(10, 5, 8) = 5 over 60 s; down: max(10, 5, 8, 12) = 12 over 300 s.
    # From current 4: raised to 5, not above 12 -> 5.
    assert stabilize(history, NOW, 4, 10, 60.0, 300.0) == 5
    # A scale-down to 2 from 9: down bound max(2, 5, 8, 12) = 12, up bound over a 0 s window
    # is the proposal itself (2); 9 stays between, so 9.
    assert stabilize(history, NOW, 9, 2, 0.0, 300.0) == 9
    # With a 20 s down window only NOW - 10 is inside: max(2, 8) = 8.
    assert stabilize(history, NOW, 9, 2, 0.0, 20.0) == 8


# ------------------------------------------------------------------------------------------
# Rate limits
# ------------------------------------------------------------------------------------------


def test_default_scale_up_policies_step_by_step() -> None:
    # Pods at 4 cores: 400 %, ratio 5, so each sync asks for 5 x the current count.
    # Default scale-up: max(start + 4, ceil(start * 2)) per 15 s, and an event exactly 15 s old
    # is outside the period, so each 15 s sync starts from the current count:
    # 2 -> max(6, 4) = 6 -> max(10, 12) = 12 -> max(16, 24) = 24 -> 48.
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=default_behavior()))
    current = 2
    path = [current]
    reasons = []
    for step in range(4):
        decision = hpa.sync(15.0 * step, current, fleet(current, 4.0))
        current = decision.desired_replicas
        path.append(current)
        reasons.append(decision.reason)
    assert path == [2, 6, 12, 24, 48]
    assert reasons[0] == "scale up limited by policy Pods 4/15s"
    assert reasons[1] == "scale up limited by policy Percent 100/15s"


def test_policy_period_start_is_rebuilt_from_scale_events() -> None:
    # 2 -> 6 at t=0. A sync at t=5 sees +4 within the 15 s period: start = 6 - 4 = 2, limit
    # max(2 + 4, 2 * 2) = 6, so no further growth until the event ages out.
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=default_behavior()))
    assert hpa.sync(0.0, 2, fleet(2, 4.0)).desired_replicas == 6
    held = hpa.sync(5.0, 6, fleet(6, 4.0))
    assert held.desired_replicas == 6
    assert held.recommendation == 30
    assert hpa.sync(15.0, 6, fleet(6, 4.0)).desired_replicas == 12


def test_doc_example_scale_down_by_policies() -> None:
    # The doc's example: scale-down policies 4 pods / 60 s and 10 % / 60 s, selectPolicy Max
    # (the biggest change), no window. Load is 10 %, so the recommendation stays far below.
    # Floors per 60 s period: 80 -> min(76, trunc(72.0)) = 72, then 72 -> min(68, 64.8) = 64,
    # 57, 51, 45, 40, 36 (tie), 32 (tie), 28 (tie), then 28 -> min(24, trunc(25.2)) = 24: below
    # 40 the 4-pod policy removes at least as many. Syncs in between are held at the floor
    # because the period start rebuilt from the events is still the earlier count.
    behavior = Behavior(
        scale_down=ScalingRules(
            0.0,
            "Max",
            (ScalingPolicy("Pods", 4, 60.0), ScalingPolicy("Percent", 10, 60.0)),
        )
    )
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=behavior))
    current = 80
    changes: dict[float, int] = {}
    reasons: dict[float, str] = {}
    for step in range(41):
        t = 15.0 * step
        decision = hpa.sync(t, current, fleet(current, 0.1))
        reasons[t] = decision.reason
        if decision.desired_replicas != current:
            current = decision.desired_replicas
            changes[t] = current
    assert changes == {
        0.0: 72,
        60.0: 64,
        120.0: 57,
        180.0: 51,
        240.0: 45,
        300.0: 40,
        360.0: 36,
        420.0: 32,
        480.0: 28,
        540.0: 24,
        600.0: 20,
    }
    assert reasons[0.0] == "scale down limited by policy Percent 10/60s"
    assert reasons[15.0] == "scale down limited by policy Percent 10/60s"
    assert reasons[540.0] == "scale down limited by policy Pods 4/60s"


def test_legacy_scale_up_limit() -> None:
    # No behavior: at most max(2 x current, 4) per sync. Pods at 4 cores ask for 5 x current.
    assert [legacy_scale_up_limit(c) for c in (1, 2, 3, 8)] == [4, 4, 6, 16]
    for current, expected in [(1, 4), (2, 4), (3, 6), (8, 16)]:
        hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100))
        decision = hpa.sync(NOW, current, fleet(current, 4.0))
        assert decision.desired_replicas == expected
        assert decision.recommendation == 5 * current
    # The v2 defaults differ below 4 replicas: from 1 they allow max(1 + 4, 2) = 5.
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=default_behavior()))
    assert hpa.sync(NOW, 1, fleet(1, 4.0)).desired_replicas == 5


def test_select_policy_min_takes_the_smaller_change() -> None:
    # From 10 with ratio 5 (proposal 50): Pods gives 14, Percent 100 gives 20.
    # Min -> 14, Max -> 20.
    policies = (ScalingPolicy("Pods", 4, 15.0), ScalingPolicy("Percent", 100, 15.0))
    for select, expected, reason in [
        ("Min", 14, "scale up limited by policy Pods 4/15s"),
        ("Max", 20, "scale up limited by policy Percent 100/15s"),
    ]:
        behavior = Behavior(scale_up=ScalingRules(0.0, select, policies))  # type: ignore[arg-type]
        hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=behavior))
        decision = hpa.sync(NOW, 10, fleet(10, 4.0))
        assert (decision.desired_replicas, decision.reason) == (expected, reason)


def test_select_policy_disabled_blocks_its_direction_only() -> None:
    behavior = Behavior(
        scale_up=ScalingRules(select_policy="Disabled"),
        scale_down=ScalingRules(stabilization_window_seconds=0.0),
    )
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=behavior))
    up = hpa.sync(NOW, 10, fleet(10, 4.0))
    assert (up.desired_replicas, up.reason) == (10, "scale up disabled by selectPolicy Disabled")
    # Scale-down still works: 20 % -> ceil(0.25 * 10) = 3, allowed by 100 % per 15 s.
    assert hpa.sync(NOW + 15, 10, fleet(10, 0.2)).desired_replicas == 3

    behavior = Behavior(scale_down=ScalingRules(0.0, "Disabled"))
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=100, behavior=behavior))
    down = hpa.sync(NOW, 10, fleet(10, 0.2))
    assert (down.desired_replicas, down.reason) == (
        10,
        "scale down disabled by selectPolicy Disabled",
    )


def test_min_and_max_clamp() -> None:
    # Legacy, current 8, ratio 5 (proposal 40): the 2 x 8 = 16 limit is above maxReplicas 10.
    hpa = HorizontalPodAutoscaler(HPAConfig(max_replicas=10))
    decision = hpa.sync(NOW, 8, fleet(8, 4.0))
    assert (decision.desired_replicas, decision.reason) == (
        10,
        "scale up limited by maxReplicas 10",
    )
    # Behavior with no scale-down window, current 5, 20 % (proposal ceil(1.25) = 2), min 3.
    behavior = Behavior(scale_down=ScalingRules(stabilization_window_seconds=0.0))
    hpa = HorizontalPodAutoscaler(HPAConfig(min_replicas=3, max_replicas=10, behavior=behavior))
    decision = hpa.sync(NOW, 5, fleet(5, 0.2))
    assert (decision.desired_replicas, decision.recommendation) == (3, 2)
    assert decision.reason == "scale down limited by minReplicas 3"
    # A target outside the bounds is brought back without looking at metrics.
    hpa = HorizontalPodAutoscaler(HPAConfig(min_replicas=2, max_replicas=10))
    above = hpa.sync(NOW, 15, fleet(15, 0.5))
    assert (above.desired_replicas, above.utilization) == (10, None)
    assert hpa.sync(NOW + 15, 1, fleet(1, 0.5)).desired_replicas == 2


# ------------------------------------------------------------------------------------------
# Defaults and validation
# ------------------------------------------------------------------------------------------


def test_default_behavior_values() -> None:
    behavior = default_behavior()
    assert behavior.scale_up == ScalingRules(
        0.0, "Max", (ScalingPolicy("Pods", 4, 15.0), ScalingPolicy("Percent", 100, 15.0))
    )
    assert behavior.scale_down == ScalingRules(300.0, "Max", (ScalingPolicy("Percent", 100, 15.0),))


def test_resolve_behavior_fills_only_unset_fields() -> None:
    mine = (ScalingPolicy("Pods", 1, 60.0),)
    resolved = resolve_behavior(
        Behavior(scale_down=ScalingRules(select_policy="Min", policies=mine)), 120.0
    )
    # Scale-down window unset -> the flag (120 s); policies and selectPolicy kept.
    assert resolved.scale_down == ScalingRules(120.0, "Min", mine)
    # Scale-up entirely unset -> the v2 scale-up defaults.
    assert resolved.scale_up == default_behavior().scale_up


def test_invalid_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="max_replicas"):
        HPAConfig(min_replicas=5, max_replicas=2)
    with pytest.raises(ValueError, match="min_replicas"):
        HPAConfig(min_replicas=0, max_replicas=2)
    with pytest.raises(ValueError, match="period_seconds"):
        ScalingPolicy("Pods", 4, 3600.0)
    with pytest.raises(ValueError, match="select_policy"):
        ScalingRules(select_policy="Biggest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        calculate_resource_replicas(2, 80, [pod("a", 1.0), pod("a", 1.0)], NOW, TOL)
