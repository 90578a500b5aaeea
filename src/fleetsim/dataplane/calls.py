"""A service that calls other services while it serves a request.

The worker that took a request does its local work (``serviceTime``), then makes the
service's ``calls`` and waits for them, as a thread-per-request server does, then does
``serviceTimeAfterCalls`` and answers. ``callMode: sequential`` makes the calls one
after another, ``parallel`` all at once. Each call is a request of its own, sent through
the calling pod's outbound route for the destination: its sidecar in a mesh, the shared
client route otherwise. A call that fails (after that route's retries) fails the
request: the app answers 503 at once.

The worker stays busy while it waits, so a slow dependency fills the caller's workers
and queue: the usual way latency spreads up a call graph. Utilization counts the wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.request import ERROR_503, OK, Attempt, Request

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import InboundProxy, Router
    from fleetsim.dataplane.service import Service
    from fleetsim.engine.environment import Environment


class CallChain:
    """The calls of one attempt at a calling container: the ``source`` of each call."""

    __slots__ = ("attempt", "container", "failed", "pending", "remaining", "started")

    def __init__(self, container: CallingContainer, attempt: Attempt, calls: list[Router]) -> None:
        self.container = container
        self.attempt = attempt
        self.remaining = calls  # routes still to call, in order (sequential mode)
        self.pending = 0
        self.failed = False
        self.started = container.env.now

    def send_next(self) -> None:
        route = self.remaining.pop()
        self.pending += 1
        route.send(Request(self, route, self.container.env.now))

    def send_all(self) -> None:
        routes, self.remaining = self.remaining, []
        self.pending += len(routes)  # before sending: a call may fail at once
        now = self.container.env.now
        for route in routes:
            route.send(Request(self, route, now))

    def succeed(self, request: Request) -> None:
        request.done = True
        self.pending -= 1
        if self.remaining and not self.container.parallel:
            self.send_next()
        elif self.pending == 0:
            self.container.calls_done(self, ok=not self.failed)

    def fail(self, request: Request, status: int) -> None:
        request.done = True
        self.pending -= 1
        self.failed = True
        self.remaining = []  # a failed call ends the request: no further calls
        if self.pending == 0:
            self.container.calls_done(self, ok=False)


class CallingContainer(AppContainer):
    """An app container whose requests call other services."""

    __slots__ = ("_after", "_answer", "calls", "parallel")

    def __init__(
        self,
        env: Environment,
        service: Service,
        index: int,
        zone: str,
        service_times: Iterator[float],
        error_draws: Iterator[float] | None,
        *,
        calls: list[Router],
        parallel: bool,
        after_calls: Iterator[float] | None,
        inbound: InboundProxy | None = None,
        probe_time: float = 0.001,
    ) -> None:
        super().__init__(
            env,
            service,
            index,
            zone,
            service_times,
            error_draws,
            inbound=inbound,
            probe_time=probe_time,
        )
        self.calls = calls  # routes, one entry per call, in calling order
        self.parallel = parallel
        self._after = after_calls
        self._answer = self.finish
        self._finish = self._local_work_done

    def _local_work_done(self, attempt: Attempt) -> None:
        """The work before the calls is done: a probe answers, a request calls out."""
        if attempt[1] < 0 or not self.calls or self.finish_status != OK:
            self._answer(attempt)
            return
        chain = CallChain(self, attempt, self.calls[::-1])
        if self.parallel:
            chain.send_all()
        else:
            chain.send_next()

    def calls_done(self, chain: CallChain, *, ok: bool) -> None:
        """Every call answered: finish the local work, then answer."""
        self.service.busy_time += self.env.now - chain.started
        if ok and self._after is not None:
            duration = next(self._after) * self.slowdown
            self.service.busy_time += duration
            self.env.schedule(duration, self._answer, chain.attempt)
        elif ok or self.finish_status != OK:
            self._answer(chain.attempt)
        else:
            self.service.errors += 1
            self.answer_now(chain.attempt, ERROR_503)
