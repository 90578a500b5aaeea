"""Requests and the status codes of attempts.

A *request* is what a traffic source sends; an *attempt* is one try of it at one pod.
An attempt travels as a tuple ``(request, try_number, arrived_at)`` so that a late
answer to an abandoned try (per-try timeout, client gone) is told apart from the
current one: only ``request.try_number`` is current. Kubelet probes travel the same way
with ``try_number`` ``PROBE`` (see ``kubernetes.probes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host, RequestSource, Responder

# Outcomes of one attempt, as the client-side proxy sees them.
OK: Final = 0
ERROR_503: Final = 1  # the app answered 503 at once (errorRate)
OVERFLOW_503: Final = 2  # the pod's queue was full: rejected with a 503
PER_TRY_TIMEOUT: Final = 3  # no answer within perTryTimeout (Envoy answers 504 itself)
CONNECT_FAILURE: Final = 4  # nothing listens at the endpoint any more (Envoy: 503 UF)
RESET: Final = 5  # the container died with the attempt in it (Envoy: 503 UC/UR)
NO_HEALTHY_UPSTREAM: Final = 6  # the client's endpoint list is empty (Envoy: 503 UH, not retried)
ROUTE_TIMEOUT: Final = 7  # the route's overall timeout ran out (Envoy: 504 UT, not retried)
CIRCUIT_OPEN: Final = 8  # a circuit breaker refused the try (Envoy: 503 UO, not retried)
NOT_SERVING_REGION: Final = (
    9  # storage: the server does not hold the region (NotServingRegionException)
)
NO_REPLICA: Final = 10  # storage: no replica of the region's data is reachable (an IOException)
REGION_TOO_BUSY: Final = (
    11  # storage: the region's memstore is over its limit (RegionTooBusyException)
)
DNS_FAILURE: Final = (
    12  # the app's lookup of the destination's name failed: the call was never sent
)

PROBE: Final = -1
"""``try_number`` of a kubelet probe: served like a request, never counted as one."""

Attempt = tuple["Request", int, float]


class Request:
    """One request of a traffic source, alive from its first try to its final outcome."""

    __slots__ = (
        "connection",
        "cost",
        "done",
        "route",
        "source",
        "started",
        "tried",
        "try_number",
    )

    def __init__(self, source: RequestSource, route: Responder, started: float) -> None:
        self.source = source
        self.route = route
        self.started = started
        self.try_number = 0
        self.done = False
        # Envoy's state of the current try (its upstream connection), opaque here.
        self.connection: Any = None
        self.tried: list[Host] | None = None  # in a mesh: hosts of failed tries, for retries
        # The app's work for this request in service times (a storage operation's cost).
        self.cost = 1.0

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"Request(started={self.started:.6f}, try={self.try_number}, {state})"
