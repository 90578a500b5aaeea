"""A route: the client side of calls to one destination service.

It plays Envoy's router filter for one upstream cluster: pick an endpoint through the
load balancer, arm the per-try timeout, and on a failed try decide, through the retry
policy, whether to wait out a back-off and try again (each retry goes through the load
balancer again) or give the failure to the client.

The endpoints are the client's view of the service's ready pods, updated by the
endpoints controller after its propagation delay (``kubernetes.endpoints``). With no
endpoint at all Envoy answers 503 "no healthy upstream" itself, without a retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fleetsim.engine.timers import FixedDelayDeadlines
from fleetsim.fleet.request import NO_HEALTHY_UPSTREAM, OK, PER_TRY_TIMEOUT, Request

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.fleet.service import Service
    from fleetsim.mesh.load_balancer import LoadBalancer
    from fleetsim.mesh.retry import RetryPolicy


class NoHealthyUpstream:
    """The host an empty endpoint list picks: it answers 503 at once."""

    __slots__ = ()

    def accept(self, request: Request, try_number: int) -> None:
        request.route.on_response(request, try_number, NO_HEALTHY_UPSTREAM, self)


class Route:
    """Sends requests to ``service``'s endpoints with a load balancer and a retry policy."""

    __slots__ = (
        "_active",
        "_per_try_timers",
        "_pick",
        "_retry_later",
        "endpoints",
        "env",
        "load_balancer",
        "retries",
        "retry_count",
        "service",
        "tracks_active",
    )

    def __init__(
        self,
        env: Environment,
        service: Service,
        load_balancer: LoadBalancer,
        retries: RetryPolicy | None,
    ) -> None:
        self.env = env
        self.service = service
        self.load_balancer = load_balancer
        self.endpoints: list[Any] = []
        self._pick = load_balancer.pick
        self._active = load_balancer.active
        self.tracks_active = load_balancer.tracks_active
        self.retries = retries
        self.retry_count = 0
        self._per_try_timers: FixedDelayDeadlines | None = None
        if retries is not None and retries.per_try_timeout is not None:
            self._per_try_timers = FixedDelayDeadlines(
                env, retries.per_try_timeout, self._per_try_timeout
            )
        self._retry_later = self._retry

    def set_endpoints(self, endpoints: Sequence[Any]) -> None:
        """The client's endpoint list changed (an EDS update)."""
        self.endpoints = list(endpoints)
        self.load_balancer.set_hosts(self.endpoints)
        self._pick = self.load_balancer.pick
        if self.tracks_active:
            live = set(self.endpoints)
            for host in [h for h, count in self._active.items() if count <= 0 and h not in live]:
                del self._active[host]

    def send(self, request: Request) -> None:
        """Start the current try of ``request`` at an endpoint chosen by the balancer."""
        host = self._pick()
        if self.tracks_active:
            self._active[host] = self._active.get(host, 0) + 1
        if self._per_try_timers is not None:
            self._per_try_timers.arm(request, request.try_number)
        host.accept(request, request.try_number)

    def on_response(self, request: Request, try_number: int, status: int, host: Any) -> None:
        """An endpoint answered a try; late answers to abandoned tries are dropped here."""
        if self.tracks_active:
            self._active[host] -= 1
        if request.done or try_number != request.try_number:
            return
        if status == OK:
            request.source.succeed(request)
        else:
            self._failed_try(request, status)

    def _per_try_timeout(self, request: Request, try_number: int) -> None:
        self._failed_try(request, PER_TRY_TIMEOUT)

    def _failed_try(self, request: Request, status: int) -> None:
        retries = self.retries
        if (
            retries is not None
            and request.try_number < retries.attempts
            and status in retries.retriable
        ):
            request.try_number += 1
            self.retry_count += 1
            delay = retries.backoff(request.try_number)
            self.env.schedule(delay, self._retry_later, request)
        else:
            request.source.fail(request, status)

    def _retry(self, request: Request) -> None:
        if not request.done:
            self.send(request)
