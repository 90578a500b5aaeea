"""One node's co-tenants together: its agents, its disks, the app processes on it.

The Kubernetes room gives each node a host when the node's pool has agents or disks,
and registers each app process started there (:meth:`NodeHost.add`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.dataplane.distributions import service_time_stream
from fleetsim.node.cadvisor import CAdvisor
from fleetsim.node.disk import BurstWriter, Disk

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.node.process import Process
    from fleetsim.scenario.kubernetes import NodePool


class NodeHost:
    """Agents, disks and processes of one node."""

    __slots__ = ("cadvisor", "disks", "env", "name", "processes", "writers")

    def __init__(self, env: Environment, streams: RandomStreams, name: str, pool: NodePool) -> None:
        self.env = env
        self.name = name
        self.processes: list[Process] = []
        self.disks: dict[str, Disk] = {}
        self.writers: list[BurstWriter] = []
        for disk_spec in pool.disks:
            latencies = service_time_stream(
                disk_spec.latency, streams, f"node/{name}/disk/{disk_spec.name}/latency"
            )
            disk = Disk(disk_spec.name, float(disk_spec.throughput), latencies)
            self.disks[disk.name] = disk
            for writer in disk_spec.writers:
                self.writers.append(BurstWriter(env, writer.name, disk, writer.every, writer.size))
        self._start_writers(streams)
        self.cadvisor: CAdvisor | None = None
        spec = pool.agents.cadvisor
        if spec is not None:
            self.cadvisor = CAdvisor(
                env,
                spec,
                noise=streams.normal(f"node/{name}/cadvisor/walk-noise"),
                uniforms=streams.uniform(f"node/{name}/cadvisor/housekeeping"),
            )

    def _start_writers(self, streams: RandomStreams) -> None:
        phases = streams.uniform(f"node/{self.name}/disk-writers/phase")
        for writer in self.writers:
            writer.start(next(phases) * writer.every)

    def add(self, process: Process) -> None:
        """An app process started on this node: the agents watch it."""
        self.processes = [p for p in self.processes if p.alive]
        self.processes.append(process)
        if self.cadvisor is not None:
            self.cadvisor.watch(process)

    def reset(self) -> None:
        """The measured window starts."""
        if self.cadvisor is not None:
            self.cadvisor.stats.reset()
