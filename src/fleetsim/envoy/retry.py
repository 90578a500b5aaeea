"""Retry policy: which failures are retried, how often, and the back-off between tries.

Semantics follow Envoy's router (``router_filter.rst``, ``RetryPolicy`` in
``route_components.proto``) as Istio configures it (``pilot/pkg/networking/core/route/
retry/retry.go``):

- ``attempts`` is the number of retries after the first try (Istio's ``attempts``,
  Envoy's ``num_retries``).
- A 503 is retried under ``5xx``, ``gateway-error``, or ``retriable-status-codes`` with
  503 listed (Istio's default policy lists it).
- A per-try timeout (Envoy answers 504 itself) is retried under ``5xx``,
  ``gateway-error`` or ``reset`` (Envoy: "does not respond at all ... read timeout").
- A refused connection (``CONNECT_FAILURE``, the endpoint's app no longer listens) is
  retried under ``connect-failure``, ``5xx`` or ``gateway-error``; a reset (the container
  died holding the attempt) under ``reset`` or ``5xx``.
- "No healthy upstream" (an empty endpoint list) is Envoy's local reply before any
  upstream try and is never retried.
- Back-off is Envoy's fully jittered exponential: before retry *n* wait a uniform time in
  ``[0, (2**n - 1) * base)``, capped at ``10 * base`` (Istio sets only the base; Envoy's
  default base is 25 ms).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from fleetsim.dataplane.request import (
    CONNECT_FAILURE,
    ERROR_503,
    OVERFLOW_503,
    PER_TRY_TIMEOUT,
    RESET,
)
from fleetsim.scenario.schema import Retries

_RETRY_503: Final = frozenset({"5xx", "gateway-error"})
_RETRY_TIMEOUT: Final = frozenset({"5xx", "gateway-error", "reset"})
_RETRY_CONNECT_FAILURE: Final = frozenset({"5xx", "gateway-error", "connect-failure"})
_RETRY_RESET: Final = frozenset({"5xx", "reset"})


class RetryPolicy:
    """A route's retry settings, resolved for the hot path."""

    __slots__ = (
        "_jitter",
        "attempts",
        "base_interval",
        "max_interval",
        "per_try_timeout",
        "retriable",
    )

    def __init__(self, spec: Retries, jitter: Iterator[float]) -> None:
        self.attempts = spec.attempts
        self.per_try_timeout = spec.per_try_timeout
        self.base_interval = spec.backoff
        self.max_interval = spec.max_backoff
        self._jitter = jitter
        retry_on = set(spec.retry_on)
        retriable: set[int] = set()
        if retry_on & _RETRY_503 or (
            "retriable-status-codes" in retry_on and 503 in spec.retriable_status_codes
        ):
            retriable.update((ERROR_503, OVERFLOW_503))
        if retry_on & _RETRY_TIMEOUT:
            retriable.add(PER_TRY_TIMEOUT)
        if retry_on & _RETRY_CONNECT_FAILURE:
            retriable.add(CONNECT_FAILURE)
        if retry_on & _RETRY_RESET:
            retriable.add(RESET)
        self.retriable = frozenset(retriable)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling: float = min((2**retry_number - 1) * self.base_interval, self.max_interval)
        draw: float = next(self._jitter)
        return draw * ceiling
