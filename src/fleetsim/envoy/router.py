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

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from fleetsim.dataplane.protocols import Host
from fleetsim.dataplane.protocols import Router as RouterSeam
from fleetsim.dataplane.request import (
    CIRCUIT_OPEN,
    CONNECT_FAILURE,
    NO_HEALTHY_UPSTREAM,
    OK,
    PER_TRY_TIMEOUT,
    ROUTE_TIMEOUT,
    Request,
)
from fleetsim.engine.timers import FixedDelayDeadlines

if TYPE_CHECKING:
    from fleetsim.dataplane.service import Service
    from fleetsim.engine.environment import Environment
    from fleetsim.envoy.connection_pool import Connection
    from fleetsim.envoy.load_balancer import LoadBalancer
    from fleetsim.envoy.retry import RetryPolicy
    from fleetsim.envoy.upstream_cluster import UpstreamCluster


class NoHealthyUpstream(Host):
    """The host an empty endpoint list picks: it answers 503 at once."""

    __slots__ = ("inbound", "zone")

    def __init__(self) -> None:
        self.zone = ""
        self.inbound = None

    def accept(self, request: Request, try_number: int) -> None:
        request.route.on_response(request, try_number, NO_HEALTHY_UPSTREAM, self)


class Router(RouterSeam):
    """What every router shares: the retry policy, the retry count, and the retry itself
    (back-off, then ``send`` again unless the request ended meanwhile)."""

    __slots__ = ("_per_try_timers", "_retry_later", "env", "retries", "retry_count", "service")

    env: Environment
    retries: RetryPolicy | None
    retry_count: int
    _retry_later: Callable[[Request], None]

    def send(self, request: Request) -> None:
        raise NotImplementedError

    def _may_retry(self, request: Request, status: int) -> bool:
        retries = self.retries
        return (
            retries is not None
            and request.try_number < retries.attempts
            and status in retries.retriable
        )

    def _schedule_retry(self, request: Request) -> None:
        assert self.retries is not None
        request.try_number += 1
        self.retry_count += 1
        delay = self.retries.backoff(request.try_number)
        self.env.schedule(delay, self._retry_later, request)

    def _retry(self, request: Request) -> None:
        if not request.done:
            self.send(request)


class Route(Router):
    """Sends requests to ``service``'s endpoints with a load balancer and a retry policy."""

    __slots__ = (
        "_active",
        "_pick",
        "endpoints",
        "load_balancer",
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
        self.endpoints: list[Host] = []
        self._pick = load_balancer.pick
        self._active = load_balancer.active
        self.tracks_active = load_balancer.tracks_active
        self.retries = retries
        self.retry_count = 0
        self._per_try_timers: FixedDelayDeadlines[Request] | None = None
        if retries is not None and retries.per_try_timeout is not None:
            self._per_try_timers = FixedDelayDeadlines(
                env, retries.per_try_timeout, self._per_try_timeout
            )
        self._retry_later = self._retry

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
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

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
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
        if self._may_retry(request, status):
            self._schedule_retry(request)
        else:
            request.source.fail(request, status)


class ProxyRoute(Router):
    """Envoy's router in one proxy, for calls to one destination (a mesh route).

    Compared with :class:`Route` (a single client-side router), each try here also
    goes through the proxy's upstream cluster: a worker thread's connection to the
    chosen host (opened on demand, with a set-up time), the circuit breakers, and the
    outlier detector, which hears every answer. On top of the retry policy it applies
    the ``previous_hosts`` retry predicate (a retry re-picks up to
    ``retryHostSelectionAttempts`` times to avoid the hosts already tried) and the
    VirtualService ``timeout`` over the whole request.

    A per-try or route timeout resets the try: its connection is closed (HTTP/1.1) or
    its stream dropped (HTTP/2), and it stops counting as active at once, as Envoy
    resets the upstream request.
    """

    __slots__ = (
        "_deliver_later",
        "_route_timers",
        "_workers",
        "cluster",
        "proxy",
        "reselect",
        "setup_time",
    )

    def __init__(
        self,
        env: Environment,
        service: Service,
        cluster: UpstreamCluster,
        retries: RetryPolicy | None,
        *,
        timeout: float | None,
        workers: Iterator[int],
        setup_time: float,
        reselect: int,
    ) -> None:
        self.env = env
        self.service = service
        self.cluster = cluster
        self.proxy = cluster.proxy
        self.retries = retries
        self.retry_count = 0
        self.reselect = reselect
        self.setup_time = setup_time
        self._workers = workers
        self._per_try_timers: FixedDelayDeadlines[Request] | None = None
        if retries is not None and retries.per_try_timeout is not None:
            self._per_try_timers = FixedDelayDeadlines(
                env, retries.per_try_timeout, self._per_try_timeout
            )
        self._route_timers = (
            FixedDelayDeadlines(env, timeout, self._route_timeout) if timeout else None
        )
        self._retry_later = self._retry
        self._deliver_later = self._deliver

    def send(self, request: Request) -> None:
        """Start the current try: pick a host, take a connection, send."""
        cluster = self.cluster
        breakers = cluster.breakers
        try_number = request.try_number
        if try_number == 0 and self._route_timers is not None:
            self._route_timers.arm(request)
        if cluster.active_requests >= breakers.max_requests:
            breakers.overflows += 1
            request.source.fail(request, CIRCUIT_OPEN)
            return
        host = cluster.pick()
        tried = request.tried
        if tried is not None:
            for _ in range(self.reselect):
                if host not in tried:
                    break
                host = cluster.pick()
        if host is cluster.empty:
            self._failed_try(request, NO_HEALTHY_UPSTREAM, None)
            return
        peer = host.inbound
        if peer is not None and not peer.up:
            self._refused(request, host)  # its Envoy is restarting: nothing listens
            return
        pool = cluster.pool(host, next(self._workers))
        if not pool.available and cluster.open_connections >= breakers.max_connections:
            breakers.overflows += 1
            request.source.fail(request, CIRCUIT_OPEN)
            return
        connection, opened = pool.acquire()
        if peer is not None and not peer.up:
            # Opening this connection took the peer over its memory limit.
            connection.pool.reset(connection)
            self._refused(request, host)
            return
        request.connection = connection
        cluster.active_requests += 1
        active = cluster.active
        active[host] = active.get(host, 0) + 1
        if try_number:
            cluster.active_retries += 1
        if self._per_try_timers is not None:
            self._per_try_timers.arm(request, try_number)
        self.proxy.requests += 1
        if peer is not None:
            peer.app_acquire()
        if opened and self.setup_time > 0.0:
            self.env.schedule(self.setup_time, self._deliver_later, (host, request, try_number))
        else:
            host.accept(request, try_number)

    def _refused(self, request: Request, host: Host) -> None:
        if self.cluster.outlier is not None:
            self.cluster.outlier.failure(host, CONNECT_FAILURE)
        self._failed_try(request, CONNECT_FAILURE, host)

    @staticmethod
    def _deliver(argument: tuple[Host, Request, int]) -> None:
        host, request, try_number = argument
        host.accept(request, try_number)

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """An answer from ``host``; answers to tries already reset are dropped here."""
        inbound = host.inbound
        if inbound is not None:
            inbound.app_release()
        connection: Connection | None = request.connection
        if try_number != request.try_number or connection is None:
            return
        request.connection = None
        self._end_try(connection, host, try_number, reset=False)
        outlier = self.cluster.outlier
        if status == OK:
            if outlier is not None:
                outlier.success(host)
            if not request.done:
                request.source.succeed(request)
        else:
            if outlier is not None:
                outlier.failure(host, status)
            if not request.done:
                self._failed_try(request, status, host)

    def _end_try(self, connection: Connection, host: Host, try_number: int, *, reset: bool) -> None:
        cluster = self.cluster
        cluster.active_requests -= 1
        cluster.active[host] -= 1
        if try_number:
            cluster.active_retries -= 1
        if reset:
            connection.pool.reset(connection)
        else:
            connection.pool.release(connection)

    def _per_try_timeout(self, request: Request, try_number: int) -> None:
        connection: Connection | None = request.connection
        request.connection = None
        host = None
        if connection is not None:
            host = connection.pool.host
            assert host is not None  # an upstream pool always has its host
            self._end_try(connection, host, try_number, reset=True)
            if self.cluster.outlier is not None:
                self.cluster.outlier.failure(host, PER_TRY_TIMEOUT)
        self._failed_try(request, PER_TRY_TIMEOUT, host)

    def _route_timeout(self, request: Request, _: int) -> None:
        connection: Connection | None = request.connection
        request.connection = None
        if connection is not None:
            host = connection.pool.host
            assert host is not None  # an upstream pool always has its host
            self._end_try(connection, host, request.try_number, reset=True)
        request.source.fail(request, ROUTE_TIMEOUT)

    def _failed_try(self, request: Request, status: int, host: Host | None) -> None:
        cluster = self.cluster
        if self._may_retry(request, status) and cluster.breakers.retry_allowed(
            cluster.active_retries, cluster.active_requests
        ):
            if host is not None:
                if request.tried is None:
                    request.tried = [host]
                else:
                    request.tried.append(host)
            self._schedule_retry(request)
        else:
            request.source.fail(request, status)
