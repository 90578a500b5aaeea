"""The replica calculator: the replica count CPU utilization asks for, before any stabilization.

Groups the pods (ready, set aside, missing, dropped), pools their CPU utilization, compares
its ratio to the target with the tolerances and fills in missing and set-aside pods on the
slow path (:func:`calculate_resource_replicas`). It knows nothing of stabilization windows
or rate limits, which are :mod:`fleetsim.kubernetes.podautoscaler.horizontal`'s.

Sources, read in the GitHub repository ``kubernetes/kubernetes``:

- ``pkg/controller/podautoscaler/replica_calculator.go``: ``groupPods``,
  ``GetResourceReplicas``, ``calculateRequests`` and the ``Tolerances`` type of KEP-4951.
- ``pkg/controller/podautoscaler/metrics/utilization.go``: ``GetResourceUtilizationRatio``.

CPU is converted as the metrics pipeline does: metrics-server reports integer nanocores and
the controller reads ``Quantity.MilliValue()``, which rounds up. A value in cores becomes
``ceil(round(cores * 1e9) / 1e6)`` millicores, so ``0.1`` is 100 m and not 101 m.

Deliberate simplifications (each keeps the decisions identical for what the simulator models):

- One metric (CPU utilization). The controller's maximum over several metrics and its
  "invalid metric while scaling down" rule have nothing to choose between.
- Pods and metrics come from one consistent snapshot.
- A pod's request is one number, where Go sums (and rounds up) container by container.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fleetsim.errors import FleetsimError
from fleetsim.kubernetes.podautoscaler.api import PodMetric


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
# Tolerances
# --------------------------------------------------------------------------------------------


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
