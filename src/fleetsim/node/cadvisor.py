"""cAdvisor on a node, and the page-table scan behind ``container_referenced_bytes``.

cAdvisor runs one housekeeping loop per container (``google/cadvisor``
``manager/container.go``: ``containerData.housekeeping``). Each round collects the
container's stats, then waits ``jitter(housekeeping_interval, 1.0)``: the interval
plus a uniform share of up to ``jitterFactor`` times it. The next round starts after
that wait, so rounds are the interval plus the collection's own time apart.

With the ``referenced_memory`` metric group on (off by default in ``cmd/cadvisor.go``),
a collection reads ``Referenced:`` from ``/proc/<pid>/smaps`` for each process of the
container (``container/libcontainer/handler.go``), and every
``referenced_reset_interval`` rounds writes ``1`` to ``/proc/<pid>/clear_refs``. Each is
a walk over every page-table entry of the process: the smaps read under the
process's ``mmap_lock`` for read, the clear under it for write
(:mod:`fleetsim.node.mmap_lock`). A container's processes are walked one after another;
the model gives each container one process.

A walk costs CPU in proportion to the resident bytes it visits: ``walkTimePerTiB``
(4.8 s per TiB, google/cadvisor#2622's average ``GetStats()`` time for a 1 TB container;
its peak was 9 s), spread by a lognormal factor of mean 1. The walk runs on one core;
under a CPU limit (``cpu``) the walks in progress on the node share it, and a walk
descheduled by the CFS quota still holds the lock. Without the metric group a
collection reads cgroup files only (``container_memory_working_set_bytes`` is
``usage - inactive_file``, with no walk) and holds no process lock: no loop is run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.node.process import AddressSpace, Process
    from fleetsim.scenario.node import CAdvisor as CAdvisorSpec

TIB = float(1 << 40)


class WalkStats:
    """The agent's walks on one node: how many, how long, the CPU they burnt."""

    __slots__ = ("cpu_seconds", "longest", "walk_seconds", "walks", "write_held_seconds")
    walks: int
    walk_seconds: float
    longest: float
    cpu_seconds: float
    write_held_seconds: float

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.walks = 0
        self.walk_seconds = 0.0
        self.longest = 0.0
        self.cpu_seconds = 0.0
        self.write_held_seconds = 0.0


class CAdvisor:
    """The cAdvisor of one node: a housekeeping loop per container it watches."""

    __slots__ = ("_busy_until", "env", "noise", "phases", "spec", "stats", "uniforms")

    def __init__(
        self,
        env: Environment,
        spec: CAdvisorSpec,
        *,
        noise: Iterator[float],
        uniforms: Iterator[float],
    ) -> None:
        self.env = env
        self.spec = spec
        self.noise = noise  # standard normal draws
        self.uniforms = uniforms
        self.stats = WalkStats()
        self._busy_until: list[float] = []  # ends of the walks in progress

    @property
    def scans(self) -> bool:
        """Whether this cAdvisor walks page tables at all."""
        return self.spec.referenced_memory

    def watch(self, process: Process) -> None:
        """A container started on the node: start its housekeeping loop.

        A pod whose map is split across containers has one loop per container. The first
        round comes at a uniform point of one interval, as containers are discovered at
        different times.
        """
        if not self.scans:
            return
        for space in process.address_spaces:
            first = self.env.now + next(self.uniforms) * self.spec.housekeeping_interval
            self.env.schedule_at(first, self._housekeeping, (process, space, 1))

    def _housekeeping(self, argument: tuple[Process, AddressSpace, int]) -> None:
        process, space, round_number = argument
        if not process.alive:
            return
        spec = self.spec
        reset_every = spec.referenced_reset_interval
        clears = reset_every > 0 and round_number % reset_every == 0
        end = self._walk(space, self.env.now, clears=clears)
        wait = spec.housekeeping_interval * (1.0 + next(self.uniforms) * spec.jitter_factor)
        self.env.schedule_at(end + wait, self._housekeeping, (process, space, round_number + 1))

    def _walk(self, space: AddressSpace, start: float, *, clears: bool) -> float:
        """Walk one address space from ``start`` (smaps, then clear_refs): its end."""
        read = self._walk_time(space.walked_bytes, start)
        write = self._walk_time(space.walked_bytes, start + read) if clears else 0.0
        space.lock.hold(start, start + read, start + read + write)
        stats = self.stats
        stats.walks += 1
        stats.walk_seconds += read + write
        stats.write_held_seconds += write
        stats.longest = max(stats.longest, read + write)
        return start + read + write

    def _walk_time(self, walked_bytes: float, start: float) -> float:
        """Wall time of one walk over ``walked_bytes`` starting at ``start``."""
        spec = self.spec
        sigma = spec.walk_time_sigma
        factor = math.exp(sigma * next(self.noise) - sigma * sigma / 2.0)
        cpu = walked_bytes / TIB * spec.walk_time_per_tib * factor
        self.stats.cpu_seconds += cpu
        if spec.cpu is None:
            return cpu
        running = [end for end in self._busy_until if end > start]
        share = min(1.0, spec.cpu / (len(running) + 1))
        wall = cpu / share
        running.append(start + wall)
        self._busy_until = running
        return wall
