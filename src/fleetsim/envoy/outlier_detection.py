"""Envoy's outlier detection (passive health checking), one detector per proxy per
upstream cluster.

Sources: ``api/envoy/config/cluster/v3/outlier_detection.proto`` and
``docs/root/intro/arch_overview/upstream/outlier.rst``; Istio's DestinationRule
``outlierDetection`` (``applyOutlierDetection``, ``cluster_traffic_policy.go``).

- Consecutive 5xx: every answer from a host either resets its count (a success) or adds
  one (a 5xx). With ``splitExternalLocalOriginErrors`` false (the default) local-origin
  errors (connect failure, reset, timeout) count as 5xx too; with it true they count in
  ``consecutiveLocalOriginFailures`` instead. Reaching the threshold ejects the host.
- An ejection is refused when it would take the ejected share above
  ``maxEjectionPercent`` of the cluster's hosts, except that one host can always be
  ejected.
- An ejected host stays out for ``baseEjectionTime`` x (times ejected), capped at
  ``max_ejection_time`` (300 s, or the base if larger). Hosts come back at the interval
  sweep after that time has passed, as Envoy checks them in its interval timer. Each
  sweep that finds a host healthy lowers its ejection multiplier by one.
- The detector only decides who is ejected; the cluster drops ejected hosts from its
  load-balancing set until they return (unless it is in panic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.request import CONNECT_FAILURE, PER_TRY_TIMEOUT, RESET

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.scenario.mesh import OutlierDetection

ENVOY_MAX_EJECTION_TIME: Final = 300.0
LOCAL_ORIGIN: Final = frozenset({CONNECT_FAILURE, RESET, PER_TRY_TIMEOUT})
"""Failures Envoy itself detects (no response from the host)."""


class HostState:
    """What the detector remembers of one host."""

    __slots__ = ("ejected_at", "ejections", "local_failures")

    def __init__(self) -> None:
        self.ejected_at: float | None = None
        self.ejections = 0  # the ejection-time multiplier
        self.local_failures = 0


class OutlierDetector:
    """Ejects hosts of one upstream cluster on consecutive errors."""

    __slots__ = (
        "_on_change",
        "base_ejection_time",
        "consecutive",
        "consecutive_5xx",
        "consecutive_local",
        "ejected",
        "ejections",
        "env",
        "hosts",
        "interval",
        "max_ejection_percent",
        "max_ejection_time",
        "split_local",
        "states",
        "stopped",
    )

    def __init__(
        self,
        env: Environment,
        spec: OutlierDetection,
        on_change: Callable[[Host, bool], None],
    ) -> None:
        self.env = env
        self.consecutive_5xx = spec.consecutive_5xx_errors
        self.consecutive_local = spec.consecutive_local_origin_failures
        self.split_local = spec.split_external_local_origin_errors
        self.interval = spec.interval
        self.base_ejection_time = spec.base_ejection_time
        self.max_ejection_time = max(ENVOY_MAX_EJECTION_TIME, spec.base_ejection_time)
        self.max_ejection_percent = spec.max_ejection_percent
        self._on_change = on_change  # (host, ejected) -> None
        self.consecutive: dict[Host, int] = {}  # hosts with a run of errors going
        self.states: dict[Host, HostState] = {}
        self.ejected: set[Host] = set()
        self.hosts = 0
        self.ejections = 0  # ejections made, for the summary
        self.stopped = False

    def start(self) -> None:
        self.env.schedule(self.interval, self._tick)

    def stop(self) -> None:
        """The proxy is gone: no more sweeps."""
        self.stopped = True

    def _tick(self, _: None) -> None:
        if self.stopped:
            return
        self.sweep(self.env.now)
        self.env.schedule(self.interval, self._tick)

    def set_hosts(self, hosts: list[Host]) -> None:
        """The cluster's membership changed: forget hosts that left."""
        live = set(hosts)
        self.hosts = len(live)
        for host in [h for h in self.states if h not in live]:
            del self.states[host]
            self.ejected.discard(host)
        for host in [h for h in self.consecutive if h not in live]:
            del self.consecutive[host]

    def success(self, host: Host) -> None:
        if host in self.consecutive:
            del self.consecutive[host]
        state = self.states.get(host)
        if state is not None:
            state.local_failures = 0

    def failure(self, host: Host, status: int) -> None:
        if self.split_local and status in LOCAL_ORIGIN:
            state = self._state(host)
            state.local_failures += 1
            if self.consecutive_local and state.local_failures >= self.consecutive_local:
                state.local_failures = 0
                self._eject(host)
            return
        count = self.consecutive.get(host, 0) + 1
        if self.consecutive_5xx and count >= self.consecutive_5xx:
            self.consecutive.pop(host, None)
            self._eject(host)
        else:
            self.consecutive[host] = count

    def _state(self, host: Host) -> HostState:
        state = self.states.get(host)
        if state is None:
            state = self.states[host] = HostState()
        return state

    def _eject(self, host: Host) -> None:
        if host in self.ejected or self.hosts == 0:
            return
        share = 100.0 * (len(self.ejected) + 1) / self.hosts
        if share > self.max_ejection_percent and self.ejected:
            return
        state = self._state(host)
        state.ejections += 1
        state.ejected_at = self.env.now
        self.ejected.add(host)
        self.ejections += 1
        self._on_change(host, True)

    def ejection_time(self, state: HostState) -> float:
        return min(self.base_ejection_time * state.ejections, self.max_ejection_time)

    def sweep(self, now: float) -> None:
        """The interval timer: return hosts whose time is up; age the others' multiplier."""
        for host, state in list(self.states.items()):
            if state.ejected_at is not None:
                if now >= state.ejected_at + self.ejection_time(state):
                    state.ejected_at = None
                    self.ejected.discard(host)
                    self._on_change(host, False)
            elif state.ejections > 0:
                state.ejections -= 1
