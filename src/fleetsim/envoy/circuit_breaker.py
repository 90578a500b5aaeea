"""Envoy's circuit breakers for one upstream cluster, as Istio sets them.

Sources: Envoy ``circuit_breaker.proto`` (thresholds per cluster: max_connections,
max_pending_requests, max_requests, max_retries, and the ``RetryBudget``) and Istio's
``getDefaultCircuitBreakerThresholds`` (every limit 2^32-1 unless a DestinationRule
``connectionPool`` sets one).

- ``max_requests`` (Istio ``http2MaxRequests``): requests in flight to the cluster.
- ``max_connections`` (Istio ``tcp.maxConnections``): open connections to the cluster.
  A request that needs a new connection beyond it overflows (fleetsim does not queue it
  as a pending request).
- ``max_retries`` (Istio ``http.maxRetries``): retries in flight. A retry budget
  replaces it: retries may be ``budget_percent`` of the active requests, and at least
  ``min_retry_concurrency``.

An overflow is Envoy's local 503 (flag UO) and is not retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.scenario.mesh import ConnectionPool
    from fleetsim.scenario.schema import Retries


class CircuitBreakers:
    """The thresholds of one cluster and the overflows they caused."""

    __slots__ = (
        "budget_minimum",
        "budget_share",
        "max_connections",
        "max_requests",
        "max_retries",
        "overflows",
        "retry_overflows",
    )

    def __init__(self, pool: ConnectionPool, retries: Retries | None) -> None:
        self.max_connections = pool.tcp.max_connections
        self.max_requests = pool.http.http2_max_requests
        self.max_retries = pool.http.max_retries
        budget = retries.retry_budget if retries is not None else None
        self.budget_share = None if budget is None else budget.budget_percent / 100.0
        self.budget_minimum = 0 if budget is None else budget.min_retry_concurrency
        self.overflows = 0
        self.retry_overflows = 0

    def retry_allowed(self, active_retries: int, active_requests: int) -> bool:
        """Whether one more retry may start (counts the overflow when not)."""
        if self.budget_share is None:
            limit = self.max_retries
        else:
            limit = max(self.budget_minimum, int(self.budget_share * active_requests))
        if active_retries < limit:
            return True
        self.retry_overflows += 1
        return False
