"""What runs beside the pods on a node, and what an app's process shares with it.

Two places in a scenario:

- ``nodePools[].agents`` and ``nodePools[].disks``: the node agents every node of the
  pool runs (cAdvisor and its page-table scan) and its disks, with the co-tenants that
  write to them in bursts;
- ``services[].process``: the app's process in each pod: the file it memory-maps, how
  often a request needs the address-space lock or writes synchronously to a disk, and
  its stop-the-world pauses.

cAdvisor's fields keep cAdvisor's flag names in camelCase (``housekeepingInterval`` is
``--housekeeping_interval``; ``referencedMemory`` is the ``referenced_memory`` metric
group of ``--disable_metrics``/``--enable_metrics``); the defaults are cAdvisor's own,
from ``google/cadvisor`` ``cmd/cadvisor.go`` and ``manager/container.go``. The rest are
parameters of the model and say so.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from fleetsim.fileformat import FileModel
from fleetsim.scenario.distributions import TimeDistribution
from fleetsim.scenario.fields import Count, Fraction, Name, PositiveDuration
from fleetsim.units import Cpu, Memory

__all__ = [
    "CAdvisor",
    "Disk",
    "DiskWriter",
    "MemoryMap",
    "NodeAgents",
    "Pauses",
    "ProcessSpec",
]

Probability = Annotated[Fraction, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
PositiveBytes = Annotated[Memory, Field(gt=0)]

WALK_SECONDS_PER_TIB: Final = 4.8
"""One page-table walk of a 1 TiB mapping, in CPU seconds (google/cadvisor#2622: with a
1 TB working set in one container ``GetStats()`` took 4.8 s on average, 9 s at peak)."""
WALK_TIME_SIGMA: Final = 0.3
"""Spread of walk times (lognormal sigma): 0.3 puts the 99.9th percentile near 2.5x the
median, the order of #2622's 9 s peak against its 4.8 s average."""


class CAdvisor(FileModel):
    """cAdvisor on each node (a DaemonSet), with its per-container housekeeping.

    cAdvisor keeps one housekeeping loop per container (``manager/container.go``
    ``containerData.housekeeping``): it collects, then waits
    ``jitter(housekeepingInterval, 1.0)`` (the interval plus up to ``jitterFactor``
    times it, uniformly) before the next collection. With the ``referenced_memory``
    metric group on, each collection reads ``/proc/<pid>/smaps`` for every process of
    the container (a page-table walk under the process's ``mmap_lock`` held for
    read) and, every ``referencedResetInterval`` collections, writes ``1`` to
    ``/proc/<pid>/clear_refs`` (a second walk, under ``mmap_lock`` held for write
    since Linux 5.10). The group is off by default in ``cmd/cadvisor.go``, and
    ``--referenced_reset_interval`` defaults to 0 (never clear).
    """

    housekeeping_interval: PositiveDuration = 1.0
    """``--housekeeping_interval`` (cAdvisor's default 1 s; the kubelet's embedded one 10 s)."""
    jitter_factor: Annotated[Fraction, Field(ge=0.0, le=10.0)] = 1.0
    """cAdvisor waits the interval plus up to this factor of it (``jitter(d, 1.0)``)."""
    referenced_memory: bool = False
    """Collect ``container_referenced_bytes`` (the working-set-size estimate)."""
    referenced_reset_interval: Count = Field(default=0, ge=0)
    """Write ``clear_refs`` every this many collections; 0 = never."""
    walk_time_per_tib: PositiveDuration = Field(
        default=WALK_SECONDS_PER_TIB, alias="walkTimePerTiB"
    )
    """Model parameter: CPU time of one walk over 1 TiB of mapped, resident memory."""
    walk_time_sigma: Annotated[Fraction, Field(ge=0.0, le=3.0)] = WALK_TIME_SIGMA
    """Model parameter: lognormal spread of a walk's time around its median."""
    cpu: Annotated[Cpu, Field(gt=0)] | None = None
    """The agent's CPU limit in cores; None = no limit (each walk has one core)."""


class NodeAgents(FileModel):
    """``nodePools[].agents``: the agents on every node of the pool."""

    cadvisor: CAdvisor | None = None


class DiskWriter(FileModel):
    """A co-tenant that writes to the disk in bursts (a log shipper, a backup, logrotate).

    Every ``every`` (from a random phase) it writes ``size`` bytes; the device serves
    writes one at a time in arrival order, so the burst holds it ``size / throughput``.
    """

    name: Name
    every: PositiveDuration
    size: PositiveBytes


class Disk(FileModel):
    """``nodePools[].disks[]``: a device shared by every process of the node.

    A model of one queue: writes are served in arrival order, each taking a draw of
    ``latency`` plus its bytes at ``throughput`` (bytes per second).
    """

    name: Name
    throughput: PositiveBytes
    """Bytes per second (``200Mi`` = 200 MiB/s)."""
    latency: TimeDistribution
    writers: list[DiskWriter] = Field(default_factory=list)


class MemoryMap(FileModel):
    """A file the app memory-maps (a search index), and how it is split.

    A page-table walk visits every resident page of the mapping: all of it when the
    mapping is ``mlocked`` (every page is faulted in and pinned), else
    ``residentFraction`` of it. ``splitAcross`` spreads the same file over that many
    containers of the pod, each its own process with its own address space; a request
    touches one of them.
    """

    size: PositiveBytes
    mlocked: bool = True
    resident_fraction: Annotated[Fraction, Field(gt=0.0, le=1.0)] = 1.0
    split_across: Count = Field(default=1, ge=1, le=1024)


class Pauses(FileModel):
    """Stop-the-world pauses of the process (a JVM's GC, say): every worker freezes.

    Model parameters: the time from one pause's end to the next pause is drawn from
    ``interval``, its length from ``duration``. With ``gcLogDisk`` the pause writes a
    log line to that disk before it ends, and waits for the device as a synchronous
    ``write()`` does (the JVM logs inside the safepoint).
    """

    interval: TimeDistribution
    duration: TimeDistribution
    gc_log_disk: Name | None = None
    gc_log_write_size: PositiveBytes = 4096


class ProcessSpec(FileModel):
    """``services[].process``: the app's process as its node's co-tenants see it.

    Model parameters, per request: ``pageFaultProbability`` is the chance it takes a
    page fault that needs the ``mmap_lock`` for read (a cold or evicted page);
    ``mapChangeProbability`` the chance it maps or unmaps memory (``mmap``/``munmap``,
    a large allocation), which needs the lock for write. ``syncWriteProbability`` is
    the chance it writes ``syncWriteSize`` bytes to ``disk`` and waits for it (a log
    flush on the request path).
    """

    memory_map: MemoryMap | None = None
    page_fault_probability: Probability = 0.0
    map_change_probability: Probability = 0.0
    disk: Name | None = None
    sync_write_probability: Probability = 0.0
    sync_write_size: PositiveBytes = 4096
    pauses: Pauses | None = None
