"""The app container of a pod: a number of workers in front of one FIFO queue.

This is the app's request handling: ``workers`` attempts are served at once (threads,
event-loop slots), further ones wait in arrival order, and beyond ``queueLimit`` waiting
attempts the app answers 503 at once. The app keeps working on an attempt whose client
has given up, as real servers do: nothing cancels it.

One object lives for one run of the container. Endpoint lists hold it, so a client with
a stale list still reaches it after it stopped: a stopped container refuses connections
(``CONNECT_FAILURE``), a killed one answers what it held with ``RESET``, and a lost one
(its node lost power and network) answers nothing at all. Such tries, sent to an
endpoint that no longer exists, are counted in the service's ``gone_tries``. A
restarted container is a new object (the kubelet starts a new process, cold again).

``accept`` and ``finish`` are the per-attempt hot path, compiled with mypyc (see
``fleetsim.compiled``).

``slowdown`` stretches every service time. It is the product of named causes, each set
by the one component that owns it (:meth:`AppContainer.set_slowdown`): the kubelet's
warm-up curve (``WARM_UP``) and CPU throttling under a CFS quota (``CPU_THROTTLING``);
``NODE_STALL`` and ``GC_PAUSE`` are reserved for what runs beside the app on its node
and inside its runtime.

Two hooks let the app's process (``fleetsim.node``) hold requests up:

- ``process.start_delay(now, request)``: when a worker starts a request, the process may make it
  wait first (the address-space lock held by a page-table walker, a synchronous write
  to a busy disk). The wait holds the worker but burns no CPU.
- :meth:`AppContainer.freeze` and :meth:`AppContainer.thaw`: a stop-the-world pause.
  No worker makes progress: an attempt whose service would end during the freeze ends
  that much after the thaw; queued attempts, new arrivals and probes wait in the queue
  (the connections stay open). Exact when a pause outlasts the remaining service of
  the attempts it catches (pauses of 100 ms and more against services of ms); an
  attempt whose service ends after the thaw is not stretched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.protocols import Host
from fleetsim.dataplane.request import (
    CONNECT_FAILURE,
    ERROR_503,
    OK,
    OVERFLOW_503,
    RESET,
    Attempt,
    Request,
)
from fleetsim.dataplane.service import Service

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import InboundProxy, ProcessHooks
    from fleetsim.engine.environment import Environment

WARM_UP: Final = "warm-up"
CPU_THROTTLING: Final = "cpu-throttling"
NODE_STALL: Final = "node-stall"
GC_PAUSE: Final = "gc-pause"


class AppContainer(Host):
    """One run of a pod's app container, placed in a zone."""

    __slots__ = (
        "_finish",
        "_saved",
        "_slowdown_causes",
        "accepting",
        "blackholed",
        "busy",
        "env",
        "error_draws",
        "error_rate",
        "finish_status",
        "frozen_from",
        "frozen_until",
        "home",
        "inbound",
        "index",
        "lost",
        "name",
        "paused",
        "probe_time",
        "process",
        "queue",
        "queue_limit",
        "received",
        "refused",
        "service",
        "service_times",
        "slowdown",
        "suspended",
        "workers",
        "zone",
    )

    def __init__(
        self,
        env: Environment,
        service: Service,
        index: int,
        zone: str,
        service_times: Iterator[float],
        error_draws: Iterator[float] | None,
        *,
        inbound: InboundProxy | None = None,
        probe_time: float = 0.001,
    ) -> None:
        self.env = env
        self.service = service
        self.home = service  # kept after a kill or a loss, for ``gone_tries``
        self.index = index
        self.name = f"{service.name}-{index}"
        self.zone = zone
        self.inbound = inbound
        self.workers = service.workers
        self.queue_limit = service.queue_limit
        self.error_rate = service.error_rate
        self.service_times = service_times
        self.error_draws = error_draws
        self.probe_time = probe_time
        self.slowdown = 1.0
        self._slowdown_causes: dict[str, float] = {}
        self.accepting = True
        self.paused = False
        self._saved: tuple[int, int, Iterator[float] | None] | None = None
        self.finish_status = OK
        self.busy = 0
        self.queue: deque[Attempt] = deque()
        self.received = 0
        self.refused = 0  # attempts answered without service (503s); for CPU accounting
        self._finish = self.finish
        self.process: ProcessHooks | None = None
        self.frozen_from = 0.0
        self.frozen_until = 0.0
        self.suspended: list[tuple[Attempt, float]] = []
        self.lost = False
        self.blackholed = 0  # attempts that reached it after it was lost: never answered

    def accept(self, request: Request, try_number: int) -> None:
        """An attempt arrives: serve it, queue it, or answer 503.

        A stopped container has no workers, a negative queue limit and no error draws, so
        a refused connection costs the hot path nothing until the last branches.
        """
        now = self.env.now
        service = self.service
        if self.error_draws is not None and next(self.error_draws) < self.error_rate:
            self.received += 1
            self._error(request, try_number)
        elif self.busy < self.workers and now >= self.frozen_until:
            self.received += 1
            service.in_system += 1
            self.busy += 1
            duration = next(self.service_times) * self.slowdown * request.cost
            service.busy_time += duration
            if self.process is not None:
                duration += self.process.start_delay(now, request)
            self.env.schedule_at(now + duration, self._finish, (request, try_number, now))
        elif len(self.queue) < self.queue_limit:
            self.received += 1
            service.in_system += 1
            self.queue.append((request, try_number, now))
        elif not self.accepting:
            home = self.home  # counted to the service even after a kill or a loss
            if not self.paused:
                home.gone_tries += 1  # a stale endpoint: stopped or lost
            if self.lost:
                self.blackholed += 1
                home.lost += 1
            else:
                home.unavailable += 1
                request.route.on_response(request, try_number, CONNECT_FAILURE, self)
        else:
            self.received += 1
            service.rejected += 1
            self.refused += 1
            request.route.on_response(request, try_number, OVERFLOW_503, self)

    def _error(self, request: Request, try_number: int) -> None:
        self.service.errors += 1
        self.refused += 1
        request.route.on_response(request, try_number, ERROR_503, self)

    def accept_probe(self, probe: Request, try_number: int) -> bool:
        """A kubelet probe arrives: it waits in the same queue as requests.

        Returns False when the app cannot take it (not listening, or the queue is full),
        which the prober counts as a failed probe.
        """
        if not self.accepting:
            return False
        now = self.env.now
        if self.busy < self.workers and now >= self.frozen_until:
            self.service.in_system += 1
            self.busy += 1
            duration = self.probe_time * self.slowdown
            self.service.busy_time += duration
            self.env.schedule_at(now + duration, self._finish, (probe, try_number, now))
        elif len(self.queue) < self.queue_limit:
            self.service.in_system += 1
            self.queue.append((probe, try_number, now))
        else:
            return False
        return True

    def finish(self, attempt: Attempt) -> None:
        """A worker is done with ``attempt``: take the next one, then answer.

        The answer is ``finish_status``: OK, or RESET once the container was killed.
        """
        now = self.env.now
        if now < self.frozen_until:
            if not self.lost:
                self.suspended.append((attempt, now - self.frozen_from))
            elif attempt[1] >= 0:
                self.home.lost += 1  # it would have ended now: never answered
            return
        request, try_number, arrived = attempt
        service = self.service
        status = self.finish_status
        service.in_system -= 1
        if try_number >= 0:
            if status == OK:
                service.latency.record(now - arrived)
            else:
                self.home.reset += 1  # it was in service when the container was killed
        if self.queue:
            following = self.queue.popleft()
            if following[1] >= 0:
                duration = next(self.service_times) * self.slowdown * following[0].cost
                service.busy_time += duration
                if self.process is not None:
                    duration += self.process.start_delay(now, following[0])
            else:
                duration = self.probe_time * self.slowdown
                service.busy_time += duration
            self.env.schedule_at(now + duration, self._finish, following)
        else:
            self.busy -= 1
        request.route.on_response(request, try_number, status, self)

    def answer_now(self, attempt: Attempt, status: int) -> None:
        """End ``attempt`` with ``status`` without counting its latency (its calls failed):
        the worker takes the next attempt, then the answer goes back."""
        request, try_number, _ = attempt
        self.service.in_system -= 1
        self.busy -= 1
        if self.queue and self.env.now >= self.frozen_until:
            self._start_queued()
        request.route.on_response(request, try_number, status, self)

    def set_slowdown(self, cause: str, factor: float) -> None:
        """Set one cause's factor; ``slowdown`` is the product of every cause's factor."""
        self._slowdown_causes[cause] = factor
        product = 1.0
        for value in self._slowdown_causes.values():
            product *= value
        self.slowdown = product

    @property
    def started(self) -> int:
        """Attempts whose service has started (arrived, not refused, no longer queued)."""
        return self.received - self.refused - len(self.queue)

    def stop_accepting(self) -> None:
        """SIGTERM: the app closes its listener and finishes what it holds."""
        self.accepting = False
        self.paused = False
        self.workers = 0
        self.queue_limit = -1
        self.error_draws = None

    def pause(self) -> None:
        """Nothing reaches the app for a while (its sidecar restarts): refuse, keep state."""
        if not self.accepting:
            return
        self._saved = (self.workers, self.queue_limit, self.error_draws)
        self.stop_accepting()
        self.paused = True

    def resume(self) -> None:
        """The path to the app is back: accept again with the saved settings."""
        if not self.paused or self._saved is None:
            return
        self.workers, self.queue_limit, self.error_draws = self._saved
        self._saved = None
        self.paused = False
        self.accepting = True
        while self.busy < self.workers and self.queue and self.env.now >= self.frozen_until:
            self._start_queued()

    def _start_queued(self) -> None:
        attempt = self.queue.popleft()
        duration = (
            next(self.service_times) * attempt[0].cost if attempt[1] >= 0 else self.probe_time
        ) * self.slowdown
        self.service.busy_time += duration
        if self.process is not None and attempt[1] >= 0:
            duration += self.process.start_delay(self.env.now, attempt[0])
        self.busy += 1
        self.env.schedule(duration, self._finish, attempt)

    def freeze(self, until: float) -> None:
        """A stop-the-world pause until ``until`` (a longer one extends it)."""
        now = self.env.now
        if now >= self.frozen_until:
            self.frozen_from = now
        if until > self.frozen_until:
            self.frozen_until = until

    def thaw(self) -> int:
        """The pause is over (if nothing extended it): resume work.

        Returns how many attempts the pause held up (those whose service it stretched
        and those it kept queued), 0 while a longer pause still holds.
        """
        now = self.env.now
        if now < self.frozen_until:
            return 0
        suspended = self.suspended
        held = len(suspended) + len(self.queue)
        self.suspended = []
        for attempt, remaining in suspended:
            self.env.schedule_at(now + remaining, self._finish, attempt)
        while self.busy < self.workers and self.queue:
            self._start_queued()
        return held

    def kill(self) -> None:
        """SIGKILL: queued attempts are reset now, those in service when they would end.

        Counters of the service stay right: the attempts it held leave ``in_system`` now,
        and later completions are counted in a detached copy of it that nobody reads.
        """
        self.stop_accepting()
        queued = list(self.queue)
        self.queue.clear()
        self.service.in_system -= len(queued) + self.busy
        self.service = Service(self.home.spec)  # counters nobody reads
        self.finish_status = RESET
        for request, try_number, _ in queued:
            if try_number >= 0:
                self.home.reset += 1
            request.route.on_response(request, try_number, RESET, self)

    def lose(self) -> None:
        """Its node is gone, power and network: from now on nothing comes back from it.

        Attempts queued or in service are never answered and nothing keeps them; new
        attempts vanish (counted in ``blackholed``), so clients see their per-try or
        client timeouts; a probe is refused (the kubelet of a lost node probes nothing).
        The service's ``in_system`` drops by what the container held, as after a kill.

        Costs the hot path nothing: with the listener closed, no workers and a negative
        queue limit an attempt reaches ``accept``'s last branches; an endless freeze
        counts every completion still on the clock as ``lost`` when it comes due.
        """
        if self.lost:
            return
        self.stop_accepting()
        self.lost = True
        self.service.in_system -= len(self.queue) + self.busy
        self.service = Service(self.home.spec)  # counters nobody reads
        held = [*self.queue, *[attempt for attempt, _ in self.suspended]]
        self.home.lost += sum(1 for attempt in held if attempt[1] >= 0)
        self.queue.clear()
        self.busy = 0
        self.finish_status = RESET  # a calling container answers at once, i.e. into the void
        self.frozen_until = float("inf")
        self.suspended = []  # those in service are counted in ``finish`` when due
        self._saved = None

    @property
    def idle(self) -> bool:
        """Nothing in service and nothing queued."""
        return self.busy == 0 and not self.queue
