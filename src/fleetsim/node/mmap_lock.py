"""A process's address-space lock, ``mm->mmap_lock`` (``mmap_sem`` before Linux 5.8).

A reader-writer semaphore over the process's memory map (Linux
``include/linux/mmap_lock.h``). Who takes it, in the model:

- reading ``/proc/<pid>/smaps`` walks every VMA and page-table entry under the lock
  held for **read** (``fs/proc/task_mmu.c`` ``show_smap``/``smap_gather_stats``);
- writing ``/proc/<pid>/clear_refs`` walks them again to clear the referenced and
  young bits, under the lock held for **write**: Linux 5.10 made ``clear_refs_write``
  take the write lock for the whole walk (before, a read lock for the common case);
- a page fault takes it for read (``mm/memory.c``; per-VMA locks since 6.4 let some
  faults skip it, but a walker write-locks each VMA too), so it waits only for a writer;
- a map change (``mmap``, ``munmap``, ``mprotect``, a large allocation) takes it for
  write, so it waits for any holder.

Holds are set by the walker when its walk starts, since it knows how long each part
takes: the lock is held for read from ``held_from`` to ``write_from`` and for write from
``write_from`` to ``held_until``. A request that needs the lock at ``now`` waits until
``held_until`` when it conflicts: waiting writers queue the readers that follow them,
so a page fault caught behind the clear_refs walk waits for all of it.
"""

from __future__ import annotations


class MmapLock:
    """The lock of one address space, with its current (and only) holder's span."""

    __slots__ = ("held_from", "held_until", "write_from")

    def __init__(self) -> None:
        self.held_from = 0.0
        self.write_from = 0.0
        self.held_until = 0.0

    def hold(self, start: float, write_from: float, until: float) -> None:
        """A walker holds it for read over [start, write_from), for write up to until."""
        self.held_from = start
        self.write_from = write_from
        self.held_until = until

    def wait_to_read(self, now: float) -> float:
        """How long a page fault at ``now`` waits: until a write hold ends."""
        if self.write_from <= now < self.held_until:
            return self.held_until - now
        return 0.0

    def wait_to_write(self, now: float) -> float:
        """How long a map change at ``now`` waits: until any hold ends."""
        if self.held_from <= now < self.held_until:
            return self.held_until - now
        return 0.0
