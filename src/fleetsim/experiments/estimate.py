"""What a run will cost, from its scenario alone, before it starts.

A file can validate and still describe centuries of simulated time or billions of
events; a run of it would go on until killed. :func:`estimate` counts the engine events
a run will process from what generates them:

- each request: its arrival, and a completion at every service it visits (the target
  and, for services that call others, each call, recursively); a sidecar mesh adds
  about one event per visit (connections, the proxy's answer);
- DNS: each lookup an app makes before a call (``calls[].lookup``, every request) sends
  two queries per name tried (A and AAAA) and arms one timer per name; each query is a
  completion at a CoreDNS pod; the cluster's other queries are an arrival and a
  completion each;
- periodic work: the collector's Poisson samples (200 per metrics interval), probes
  (two events each: the probe and its answer), the kubelet's one-second housekeeping,
  HPA syncs, cAdvisor rounds, stop-the-world pauses, disk bursts.

Retries, timeouts and overload are not known in advance, so the count is an estimate
(the suite checks it within a factor of 2 on every catalogue scenario). Wall time is the
count at ``EVENTS_PER_WALL_SECOND``, a rate measured on a 2-core VM (the S1 run:
305,000 events per second; the quickstart: 460,000). :meth:`Estimate.problems` names
what is beyond the limits, where the command line refuses to start without ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from fleetsim.cluster.dns import Names, names_tried
from fleetsim.dataplane.arrivals import build_profile
from fleetsim.dataplane.distributions import mean_of
from fleetsim.scenario.schema import Service, Spec
from fleetsim.units import format_duration

EVENTS_PER_WALL_SECOND: Final = 300_000.0
MAX_EVENTS: Final = 1e10
"""About 9 hours of wall at the measured rate."""
MAX_SIMULATED_SECONDS: Final = 365 * 86_400.0
MAX_PODS: Final = 1_000_000
"""Pods alive at once (each a few kilobytes of state, plus its probes)."""
MAX_SERIES_ROWS: Final = 10_000_000
"""Rows of per-interval series kept in memory (one per service and source per interval)."""
SAMPLES_PER_INTERVAL: Final = 200
EVENTS_PER_VISIT: Final = 1.0
EVENTS_PER_MESH_VISIT: Final = 2.0


@dataclass(frozen=True)
class Estimate:
    """Engine events, wall time and series rows one run of a spec will take."""

    simulated_seconds: float
    requests: float
    events: float
    series_rows: float
    pods: float = 0.0
    notes: tuple[str, ...] = ()
    """Warnings: the run is possible but will likely not say much."""

    @property
    def wall_seconds(self) -> float:
        return self.events / EVENTS_PER_WALL_SECOND

    def describe(self) -> str:
        return (
            f"~{self.events:,.0f} events ({self.requests:,.0f} requests) over "
            f"{format_duration(self.simulated_seconds)} simulated: "
            f"{_wall(self.wall_seconds)} of wall"
        )

    def problems(self) -> list[str]:
        """What is beyond the limits a run starts with (empty: nothing)."""
        found = []
        if self.simulated_seconds > MAX_SIMULATED_SECONDS:
            found.append(
                f"simulated span {format_duration(self.simulated_seconds)} is beyond a year"
            )
        if self.events > MAX_EVENTS:
            found.append(f"~{self.events:.2g} events is beyond {MAX_EVENTS:.0e}")
        if self.pods > MAX_PODS:
            found.append(f"{self.pods:,.0f} pods is beyond {MAX_PODS:,}")
        if self.series_rows > MAX_SERIES_ROWS:
            found.append(
                f"~{self.series_rows:.2g} time-series rows is beyond {MAX_SERIES_ROWS:,} "
                "(a longer metrics.interval keeps fewer)"
            )
        return found


def _wall(seconds: float) -> str:
    if seconds < 1.0:
        return "under a second"
    if seconds < 365 * 86_400.0:
        return f"about {format_duration(round(seconds))}"
    return f"about {seconds / (365 * 86_400.0):.2g} years"


def estimate(spec: Spec) -> Estimate:
    """The cost of one run of ``spec`` (a validated scenario spec, variant merged)."""
    span = spec.warmup + spec.duration
    services = {service.name: service for service in spec.services}

    @cache
    def visits(name: str) -> float:
        service = services[name]
        return 1.0 + sum(call.count * visits(call.service) for call in service.calls)

    per_visit = EVENTS_PER_VISIT if spec.mesh is None else EVENTS_PER_MESH_VISIT
    requests = 0.0
    events = 0.0
    for traffic in spec.traffic:
        arrivals = build_profile(traffic.profile, traffic.rate).integral(0.0, span)
        requests += arrivals
        events += arrivals * (1.0 + per_visit * visits(traffic.target))
    events += _dns(spec, span)
    intervals = span / spec.metrics.interval
    events += intervals * (SAMPLES_PER_INTERVAL + 1)
    events += _periodic(spec, span)
    rows = (spec.duration / spec.metrics.interval) * (len(spec.services) + len(spec.traffic))
    pods = sum(_most_pods(service) for service in spec.services)
    return Estimate(span, requests, events, rows, pods, _notes(spec, requests))


def _notes(spec: Spec, requests: float) -> tuple[str, ...]:
    """What makes a run possible but nearly empty: no requests, services slower than it."""
    notes = []
    if requests < 1.0:
        notes.append(f"fewer than one request is expected ({requests:.2g})")
    for service in spec.services:
        mean = mean_of(service.service_time)
        if mean > spec.duration:
            notes.append(
                f"service {service.name}'s mean service time "
                f"{format_duration(mean)} is longer than the run"
            )
    return tuple(notes)


def _most_pods(service: Service) -> float:
    """The most pods a service may run: its replicas, or its HPA's maximum above them."""
    if service.hpa is None:
        return float(service.replicas)
    return float(max(service.replicas, service.hpa.max_replicas))


def _dns(spec: Spec, span: float) -> float:
    """Events of the apps' per-request lookups and of the cluster's other queries."""
    services = {service.name: service for service in spec.services}
    arrivals: dict[str, float] = {}  # requests reaching each service over the span

    def reach(name: str, count: float) -> None:
        arrivals[name] = arrivals.get(name, 0.0) + count
        for call in services[name].calls:
            reach(call.service, count * call.count)

    for traffic in spec.traffic:
        reach(traffic.target, build_profile(traffic.profile, traffic.rate).integral(0.0, span))
    events = 0.0
    bound: set[tuple[str, str]] = set()
    for service in spec.services:
        if spec.mesh is not None and service.sidecar is not None:
            bound |= {(service.name, host) for host in service.sidecar.local_socket_hosts()}
    for service in spec.services:
        config = service.dns_config
        for call in service.calls:
            lookup = call.lookup
            if lookup is None or lookup.every != "request" or (service.name, call.service) in bound:
                continue
            tried = names_tried(lookup.name, list(config.searches), config.ndots, Names())
            events += arrivals.get(service.name, 0.0) * call.count * tried * 3.0
    dns = spec.cluster_dns
    if dns is not None and dns.other_queries is not None:
        events += 2.0 * dns.other_queries.rate * span
    return events


def _periodic(spec: Spec, span: float) -> float:
    """Events of probes, housekeeping, autoscalers and the node room over ``span``."""
    events = 0.0
    housekeeping = False
    for service in spec.services:
        pods = _most_pods(service)
        for probe in (service.readiness_probe, service.liveness_probe):
            if probe is not None:
                events += 2.0 * pods * span / probe.period_seconds
        if service.cpu_per_request > 0 or service.cold_start.warmup_cpu > 0:
            housekeeping = True
        if service.hpa is not None:
            events += span / service.hpa.controller.sync_period
        process = service.process
        if process is not None and process.pauses is not None:
            events += 2.0 * pods * span / mean_of(process.pauses.interval)
    if housekeeping:
        events += span
    for pool in spec.node_pools:
        cadvisor = pool.agents.cadvisor
        if cadvisor is not None and cadvisor.referenced_memory:
            containers = sum(s.replicas for s in spec.services if s.process is not None)
            events += containers * span / cadvisor.housekeeping_interval
        for disk in pool.disks:
            events += sum(pool.count * span / writer.every for writer in disk.writers)
    return events
