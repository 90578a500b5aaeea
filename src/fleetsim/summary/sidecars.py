"""Per-service figures of the mesh's proxies: connections, memory, CPU, restarts.

Connections and memory are sampled at every metrics-interval boundary of the measured
window, over the service's live sidecars: the mean is over pods and samples, the max
over both. ``memory_bytes.start``/``end`` are the pod mean at the first and last
sample. Counters (connects, restarts, retries, overflows, CPU) are differences between
the end of the window and its start, over every proxy the service had.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from fleetsim.summary.model import (
    Connections,
    ConnectsPerSecond,
    MemoryBytes,
    ProxyConfig,
    Restarts,
    SidecarFigures,
    SidecarMemory,
)
from fleetsim.summary.model import Gauge as GaugeBlock

if TYPE_CHECKING:
    from fleetsim.istio.mesh import ServiceMesh


class Gauge:
    """Mean and max of a per-pod value over samples."""

    __slots__ = ("count", "first", "last", "maximum", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.maximum = 0.0
        self.first: float | None = None
        self.last: float | None = None

    def add(self, values: list[int]) -> float | None:
        """Add one sample over pods; returns the pod mean (None without pods)."""
        if not values:
            return None
        mean = sum(values) / len(values)
        self.total += sum(values)
        self.count += len(values)
        self.maximum = max(self.maximum, max(values))
        if self.first is None:
            self.first = mean
        self.last = mean
        return mean

    def block(self) -> GaugeBlock:
        return GaugeBlock(mean=self.total / self.count if self.count else 0.0, max=self.maximum)


class ProxyFigures:
    """Samples and window counters of the mesh, per service."""

    def __init__(self, mesh: ServiceMesh) -> None:
        self.mesh = mesh
        self.sidecar_connections = {name: Gauge() for name in mesh.proxies}
        self.app_connections = {name: Gauge() for name in mesh.proxies}
        self.memory = {name: Gauge() for name in mesh.proxies}
        self.at_start: dict[str, Counter[str]] = {}

    def start_window(self) -> None:
        self.at_start = {name: self.mesh.counters(name) for name in self.mesh.proxies}

    def sample(self, service: str) -> dict[str, Any]:
        """One sample of ``service``'s proxies; returns the series columns."""
        proxies = self.mesh.proxies[service]
        connections = self.sidecar_connections[service].add([p.connections for p in proxies])
        app = self.app_connections[service].add([p.app_connections for p in proxies])
        memory_values = [p.memory_bytes() for p in proxies]
        memory = self.memory[service].add(memory_values)
        return {
            "sidecar_connections": None if connections is None else round(connections, 3),
            "app_connections": None if app is None else round(app, 3),
            "sidecar_memory_bytes": None if memory is None else int(memory),
            "sidecar_memory_max_bytes": max(memory_values, default=None),
        }

    def summary(self, service: str, duration: float) -> SidecarFigures:
        counts = self.mesh.counters(service)
        counts.subtract(self.at_start.get(service, Counter()))
        memory = self.memory[service]
        block = memory.block()
        cpu_seconds = counts["cpu_seconds_micro"] / 1e6
        config = self.mesh.config_size(self.mesh.scope_of(service))
        return SidecarFigures(
            retries=counts["retries"],
            overflows=counts["overflows"] + counts["retry_overflows"],
            connections=Connections(
                sidecar=self.sidecar_connections[service].block(),
                app=self.app_connections[service].block(),
            ),
            connects_per_s=ConnectsPerSecond(
                sidecar=counts["connects_in"] / duration,
                app=counts["app_connects"] / duration,
            ),
            memory_bytes=MemoryBytes(
                sidecar=SidecarMemory(
                    mean=block["mean"],
                    max=block["max"],
                    start=memory.first or 0.0,
                    end=memory.last or 0.0,
                )
            ),
            restarts=Restarts(sidecar=counts["restarts"]),
            sidecar_cpu_cores=cpu_seconds / duration,
            proxy_config=ProxyConfig(clusters=config[0], endpoints=config[1]),
        )
