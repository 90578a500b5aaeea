"""The app's process in a pod, as the node's co-tenants see it and shape it.

A process has a memory map (a large file it maps, such as a search index), one
address-space lock per address space (``memoryMap.splitAcross`` containers of the pod,
each its own process), a disk it may write to synchronously, and stop-the-world
freezes. It implements the container's :class:`~fleetsim.dataplane.protocols.ProcessHooks`:
when a worker starts a request, :meth:`Process.start_delay` says how long the request
first waits.

Which request needs what is drawn once per needing request, not per request: the
number of requests until the next one that needs the lock or the disk is geometric
(``pageFaultProbability + mapChangeProbability + syncWriteProbability``), and the kind
is drawn only then. A request needs at most one of them. So the per-request cost is one
decrement, whatever the probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from fleetsim.node.mmap_lock import MmapLock

if TYPE_CHECKING:
    from fleetsim.dataplane.container import AppContainer
    from fleetsim.dataplane.request import Request
    from fleetsim.engine.environment import Environment
    from fleetsim.node.disk import Disk
    from fleetsim.node.stalls import StallStats
    from fleetsim.scenario.node import ProcessSpec

NEVER: Final = 1 << 62
"""A countdown that does not run out: no request needs anything."""


def need_probability(spec: ProcessSpec, *, has_disk: bool) -> float:
    """The chance that a request needs the lock or the disk (the kinds exclude each other);
    a synchronous write needs a disk on the node."""
    total = spec.page_fault_probability + spec.map_change_probability
    return total + (spec.sync_write_probability if has_disk else 0.0)


class AddressSpace:
    """One process's address space: the bytes a page-table walk visits, and its lock."""

    __slots__ = ("lock", "name", "walked_bytes")

    def __init__(self, name: str, walked_bytes: float) -> None:
        self.name = name
        self.walked_bytes = walked_bytes
        self.lock = MmapLock()


class Process:
    """The main process (or processes, when the map is split) of one app container."""

    __slots__ = (
        "_countdown",
        "_countdowns",
        "_kinds",
        "_pick_space",
        "address_spaces",
        "alive",
        "container",
        "disk",
        "env",
        "map_change_share",
        "name",
        "page_fault_share",
        "stalls",
        "sync_write_size",
    )

    def __init__(
        self,
        env: Environment,
        container: AppContainer,
        spec: ProcessSpec,
        stalls: StallStats,
        *,
        disk: Disk | None,
        countdowns: Iterator[int],
        kinds: Iterator[float],
        pick_space: Iterator[int],
    ) -> None:
        self.env = env
        self.container = container
        self.name = container.name
        self.stalls = stalls
        self.disk = disk
        self.sync_write_size = spec.sync_write_size
        self.alive = True
        memory_map = spec.memory_map
        split = memory_map.split_across if memory_map is not None else 1
        walked = 0.0
        if memory_map is not None:
            resident = 1.0 if memory_map.mlocked else memory_map.resident_fraction
            walked = memory_map.size * resident / split
        names = [self.name] if split == 1 else [f"{self.name}/{i}" for i in range(split)]
        self.address_spaces = [AddressSpace(name, walked) for name in names]
        total = need_probability(spec, has_disk=disk is not None)
        self.page_fault_share = spec.page_fault_probability / total if total else 0.0
        self.map_change_share = spec.map_change_probability / total if total else 0.0
        self._countdowns = countdowns
        self._kinds = kinds
        self._pick_space = pick_space
        self._countdown = next(countdowns) if total > 0 else NEVER

    @property
    def needs_anything(self) -> bool:
        """Whether any request may wait on the lock or the disk."""
        return self._countdown != NEVER

    def start_delay(self, now: float, request: Request) -> float:
        """A worker starts ``request`` at ``now``: how long it waits first."""
        self._countdown -= 1
        if self._countdown > 0:
            return 0.0
        self._countdown = next(self._countdowns)
        return self._wait(now)

    def _wait(self, now: float) -> float:
        kind = next(self._kinds)
        if kind < self.page_fault_share + self.map_change_share:
            space = self.address_spaces[next(self._pick_space)]
            if kind < self.page_fault_share:
                wait = space.lock.wait_to_read(now)
            else:
                wait = space.lock.wait_to_write(now)
            if wait > 0.0:
                self.stalls.mmap_lock.add(wait, 1, now, self.name)
            return wait
        assert self.disk is not None
        wait = self.disk.write(now, self.sync_write_size) - now
        self.stalls.disk.add(wait, 1, now, self.name)
        return wait

    def freeze(self, duration: float) -> None:
        """Stop the world for ``duration`` seconds."""
        if not self.alive or duration <= 0.0:
            return
        until = self.env.now + duration
        self.container.freeze(until)
        self.env.schedule_at(until, self._thaw, duration)

    def _thaw(self, duration: float) -> None:
        held = self.container.thaw()
        self.stalls.stop_the_world.add(duration, held, self.env.now - duration, self.name)

    def stop(self) -> None:
        """The container stopped: nothing of this process runs any more."""
        self.alive = False
