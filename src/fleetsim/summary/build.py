"""The summary of a run, built in one place from the rooms' own records.

:class:`SummaryBuilder` marks the start of the measured window (per-pod attempt counts,
retry counts, the mesh's counters) and, at the end, reads the collector's totals, the
cluster's Deployments and HPAs, the event log and the mesh's figures into a
:class:`~fleetsim.summary.model.Summary`. It also supplies the Kubernetes and mesh
columns of each service's time-series row.

Per-pod and per-zone shares count attempts by arrival, over the pods that could take
traffic the whole window (pods that came or went part way, through autoscaling or
rollouts, would only add noise); everything else counts by outcome inside the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetsim.metrics.histogram import Accumulator, bucket_of
from fleetsim.summary.collector import TrafficTotals, deep_quantiles, latency_block, spread
from fleetsim.summary.dns import DnsWindow
from fleetsim.summary.model import (
    AgentFigures,
    Autoscaler,
    DiskFigures,
    InFlight,
    LatencyBlock,
    MeshFigures,
    PodShares,
    PoolFigures,
    Readiness,
    ReadyDelay,
    Replicas,
    Requests,
    ServiceSummary,
    SlowRequest,
    Stall,
    StallBlock,
    Summary,
    Tail,
    TrafficFigures,
    ZoneShare,
)
from fleetsim.summary.storage import storage_figures
from fleetsim.summary.warnings import overload_warnings

if TYPE_CHECKING:
    from fleetsim.dataplane.service import Service
    from fleetsim.dataplane.traffic import TrafficSource
    from fleetsim.envoy.router import Route
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.metrics.events import EventLog, ReplicaHistory
    from fleetsim.node.stalls import StallCounter
    from fleetsim.scenario.schema import Spec
    from fleetsim.storage.tier import StorageTier
    from fleetsim.summary.collector import Collector
    from fleetsim.summary.istiod import XdsViews
    from fleetsim.summary.sidecars import ProxyFigures


class SummaryBuilder:
    """Window baselines and the final summary of one run."""

    def __init__(
        self,
        spec: Spec,
        services: dict[str, Service],
        routes: dict[str, Route],
        cluster: Cluster,
        collector: Collector,
        events: EventLog,
        proxy_figures: ProxyFigures | None,
        storage: StorageTier | None = None,
        dns: DnsWindow | None = None,
        xds_views: XdsViews | None = None,
    ) -> None:
        self.spec = spec
        self.dns = dns
        self.storage = storage
        self.services = services
        self.routes = routes
        self.cluster = cluster
        self.collector = collector
        self.events = events
        self.proxy_figures = proxy_figures
        self.xds_views = xds_views
        self._received_at_start: dict[Pod, int] = {}
        self._retries_at_start: dict[str, int] = {}

    # --- the measured window ---------------------------------------------------------

    def start_window(self, now: float) -> None:
        """Begin the measured window: the collector, the event log and the baselines."""
        for deployment in self.cluster.deployments.values():
            for pod in deployment.all_pods:
                self._received_at_start[pod] = pod.total_received()
        self.collector.start_window(now)
        self.events.start_window(now)
        for deployment in self.cluster.deployments.values():
            deployment.stalls.reset()
        for node in self.cluster.nodes:
            if node.host is not None:
                node.host.reset()
        self._retries_at_start = {n: r.retry_count for n, r in self.routes.items()}
        if self.proxy_figures is not None:
            self.proxy_figures.start_window()
        if self.storage is not None:
            self.storage.start_window()
        if self.dns is not None:
            self.dns.start_window()
        if self.xds_views is not None:
            self.xds_views.start_window()

    def _storage_retries(self, name: str) -> int:
        """Retries of the HBase clients whose tables ``name``'s pods serve (window)."""
        if self.storage is None:
            return 0
        return sum(
            client.retries
            for client in self.storage.clients.values()
            if client.table.spec.region_servers == name
        )

    def window_received(self, pod: Pod) -> int:
        """Attempts that reached ``pod`` in the measured window (by arrival)."""
        return pod.total_received() - self._received_at_start.get(pod, 0)

    # --- the time series -------------------------------------------------------------

    def service_columns(self, name: str) -> dict[str, Any]:
        """The Kubernetes (and mesh) columns of one service's series row."""
        deployment = self.cluster.deployments[name]
        pods = deployment.active_pods()
        utilization = None
        if self.cluster.metrics_server is not None:
            utilization = self.cluster.metrics_server.utilization(name)
        columns: dict[str, Any] = {
            "replicas": deployment.replicas,
            "pods": len(pods),
            "ready_pods": sum(1 for pod in pods if pod.ready),
            "cpu_utilization": None if utilization is None else round(utilization, 6),
        }
        if self.proxy_figures is not None and name not in self.cluster.outside_mesh:
            columns.update(self.proxy_figures.sample(name))
        if self.dns is not None:
            columns.update(self.dns.sample(name, self.spec.metrics.interval))
        if self.xds_views is not None:
            columns.update(self.xds_views.sample(name))
        return columns

    # --- the summary -----------------------------------------------------------------

    def build(
        self, *, scenario: str, variant: str, seed: int, wall: float, events: int, now: float
    ) -> Summary:
        duration = self.spec.duration
        client_latency = Accumulator()
        traffic = {name: _requests(t) for name, t in self.collector.traffic_totals.items()}
        for totals in self.collector.traffic_totals.values():
            client_latency.counts += totals.latency.counts
            client_latency.count += totals.latency.count
            client_latency.total += totals.latency.total
            client_latency.maximum = max(client_latency.maximum, totals.latency.maximum)
        all_traffic = list(self.collector.traffic_totals.values())
        requests = _requests(
            TrafficTotals(
                succeeded=sum(t.succeeded for t in all_traffic),
                failed=sum(t.failed for t in all_traffic),
                timed_out=sum(t.timed_out for t in all_traffic),
                rejected=sum(t.rejected for t in all_traffic),
                errored=sum(t.errored for t in all_traffic),
                unavailable=sum(t.unavailable for t in all_traffic),
            )
        )
        total_requests = requests["total"]
        tries = sum(t.tries for t in all_traffic)
        services = {name: self._service(name, now) for name in self.services}
        queries_only = self.cluster.outside_mesh  # DNS queries are no request's tries
        in_flight = InFlight(
            start=sum(t.in_flight_start for t in all_traffic),
            end=sum(source.in_flight for source in self.collector.sources),
        )
        summary = Summary(
            scenario=scenario,
            variant=variant,
            seed=seed,
            simulated_seconds=duration,
            warmup_seconds=self.spec.warmup,
            wall_seconds=round(wall, 3),
            events=events,
            requests=requests,
            attempts=tries,
            retries=tries - total_requests,
            service_attempts=sum(
                s["attempts"] for n, s in services.items() if n not in queries_only
            ),
            service_retries=sum(s["retries"] for n, s in services.items() if n not in queries_only),
            throughput_rps=total_requests / duration,
            goodput_rps=requests["succeeded"] / duration,
            in_flight=in_flight,
            latency_ms=_client_latency(client_latency),
            tail=self._tail(client_latency),
            services=services,
            events_by_kind=self.events.summary(),
            traffic={
                source.name: self._traffic(source, traffic[source.name])
                for source in self.collector.sources
            },
            warnings=[],
        )
        nodes = self._nodes()
        if nodes:
            summary["nodes"] = nodes
        if self.storage is not None:
            summary["storage"] = storage_figures(self.storage)
        if self.dns is not None:
            dns = self.dns.figures(duration)
            if dns["clients"] or "coredns" in dns:
                summary["dns"] = dns
        if self.xds_views is not None:
            summary["mesh"] = MeshFigures(istiod=self.xds_views.istiod(self.cluster))
        sent = {name: totals.sent for name, totals in self.collector.traffic_totals.items()}
        summary["warnings"] = overload_warnings(summary, sent)
        return summary

    def _traffic(self, source: TrafficSource, requests: Requests) -> TrafficFigures:
        totals = self.collector.traffic_totals[source.name]
        return TrafficFigures(
            requests=requests,
            attempts=totals.tries,
            goodput_rps=requests["succeeded"] / self.spec.duration,
            in_flight=InFlight(start=totals.in_flight_start, end=source.in_flight),
            latency_ms=latency_block(totals.latency, ["p50", "p99"]),
        )

    def _tail(self, latency: Accumulator) -> Tail:
        """Requests that took 10x and 100x the median, and the slowest with their times.

        Counted from the latency histogram (buckets above the one holding the
        threshold, so within its 1 % resolution); requests that timed out are in
        ``requests.timed_out``, and among the slowest.
        """
        median = latency.quantiles([0.5])[0] if latency.count else 0.0
        over: list[int] = []
        for factor in (10.0, 100.0):
            threshold = median * factor
            over.append(int(latency.counts[bucket_of(threshold) + 1 :].sum()) if median else 0)
        slowest = sorted(
            (
                (seconds, ended, timed_out, source.name)
                for source in self.collector.sources
                for seconds, (ended, timed_out) in source.slowest.largest_first()
            ),
            key=lambda item: -item[0],
        )[:SLOWEST_REPORTED]
        return Tail(
            median_ms=round(median * 1000.0, 6),
            over_10x_median=over[0],
            over_100x_median=over[1],
            fraction_over_100x_median=over[1] / latency.count if latency.count else 0.0,
            slowest=[
                SlowRequest(
                    t=round(ended, 6),
                    latency_ms=round(seconds * 1000.0, 3),
                    traffic=name,
                    timed_out=timed_out,
                )
                for seconds, ended, timed_out, name in slowest
            ],
        )

    def _nodes(self) -> dict[str, PoolFigures]:
        """Per node pool with agents or disks: the agents' walks and CPU, the disks' load."""
        duration = self.spec.duration
        pools: dict[str, PoolFigures] = {}
        for pool in self.spec.node_pools:
            hosts = [
                node.host
                for node in self.cluster.nodes
                if node.pool == pool.name and node.host is not None
            ]
            if not hosts:
                continue
            figures = PoolFigures(nodes=len(hosts), disks={})
            agents = [h.cadvisor.stats for h in hosts if h.cadvisor is not None]
            if agents:
                walks = sum(a.walks for a in agents)
                cores = [a.cpu_seconds / duration for a in agents]
                figures["cadvisor"] = AgentFigures(
                    walks=walks,
                    walk_seconds_mean=round(sum(a.walk_seconds for a in agents) / walks, 6)
                    if walks
                    else 0.0,
                    walk_seconds_max=round(max(a.longest for a in agents), 6),
                    write_held_seconds=round(sum(a.write_held_seconds for a in agents), 6),
                    cpu_cores_mean=round(sum(cores) / len(cores), 6),
                    cpu_cores_max=round(max(cores), 6),
                )
            for disk_spec in pool.disks:
                disks = [h.disks[disk_spec.name] for h in hosts]
                busy = [d.busy_seconds / (duration + self.spec.warmup) for d in disks]
                figures["disks"][disk_spec.name] = DiskFigures(
                    writes=sum(d.writes for d in disks),
                    busy_fraction_mean=round(sum(busy) / len(busy), 6),
                    busy_fraction_max=round(max(busy), 6),
                )
            pools[pool.name] = figures
        return pools

    def _service(self, name: str, now: float) -> ServiceSummary:
        totals = self.collector.service_totals[name]
        deployment = self.cluster.deployments[name]
        pods = deployment.all_pods
        window_start = self.spec.warmup
        whole = [
            pod
            for pod in pods
            if not pod.deleted and pod.first_ready is not None and pod.first_ready <= window_start
        ] or [pod for pod in pods if not pod.deleted]
        per_pod = [self.window_received(pod) for pod in whole]
        share_max, share_cv = spread(per_pod)
        zones: dict[str, ZoneShare] = {}
        all_attempts = sum(self.window_received(pod) for pod in pods)
        for zone in self.spec.zones:
            in_zone = [pod for pod in pods if pod.zone == zone]
            if in_zone:
                share = sum(self.window_received(pod) for pod in in_zone)
                zones[zone] = ZoneShare(share=share / all_attempts if all_attempts else 0.0)
        summary = ServiceSummary(
            attempts=totals.attempts,
            succeeded=totals.succeeded,
            failed=totals.errors + totals.rejected + totals.unavailable + totals.reset,
            rejected=totals.rejected,
            unavailable=totals.unavailable,
            reset=totals.reset,
            lost=totals.lost,
            in_flight=InFlight(start=totals.in_system_start, end=self.services[name].in_system),
            retries=self.routes[name].retry_count
            - self._retries_at_start.get(name, 0)
            + self._storage_retries(name),
            utilization=totals.busy_area / totals.capacity_area if totals.capacity_area else 0.0,
            in_flight_mean=totals.in_system_area / self.spec.duration,
            latency_ms=latency_block(totals.latency, ["p50", "p90", "p99", "p999"]),
            pods=PodShares(
                count=len(deployment.active_pods()),
                share_max_over_mean=share_max,
                share_cv=share_cv,
                attempts_min=min(per_pod, default=0),
                attempts_max=max(per_pod, default=0),
            ),
            zones=zones,
            replicas=_replicas(self.events.replicas[name], now),
            readiness=_readiness(self.events, name),
            overflows=0,
            ejections=self.events.by_service[name]["outlier_ejection"],
        )
        if self.proxy_figures is not None and name not in self.cluster.outside_mesh:
            figures = self.proxy_figures.summary(name, self.spec.duration)
            summary["retries"] = figures["retries"]
            summary["overflows"] = figures["overflows"]
            summary["connections"] = figures["connections"]
            summary["connects_per_s"] = figures["connects_per_s"]
            summary["memory_bytes"] = figures["memory_bytes"]
            summary["restarts"] = figures["restarts"]
            summary["sidecar_cpu_cores"] = figures["sidecar_cpu_cores"]
            summary["proxy_config"] = figures["proxy_config"]
            summary["restarts"]["app"] = self.events.by_service[name]["container_restart"]
        if self.xds_views is not None:
            summary["xds"] = self.xds_views.figures(name)
        if deployment.spec.process is not None:
            summary["stalls"] = {
                cause: _stall_block(counter)
                for cause, counter in deployment.stalls.by_cause().items()
            }
        autoscaler = self.cluster.autoscalers.get(name)
        if autoscaler is not None:
            decision = autoscaler.last_decision
            summary["hpa"] = Autoscaler(
                syncs=autoscaler.syncs,
                last_utilization_percent=None if decision is None else decision.utilization,
            )
        return summary


SLOWEST_REPORTED = 20


def _requests(totals: TrafficTotals) -> Requests:
    """One traffic's requests by outcome in the window (``total = succeeded + failed``)."""
    return Requests(
        total=totals.succeeded + totals.failed,
        succeeded=totals.succeeded,
        failed=totals.failed,
        timed_out=totals.timed_out,
        rejected=totals.rejected,
        errored=totals.errored,
        unavailable=totals.unavailable,
    )


def _client_latency(latency: Accumulator) -> LatencyBlock:
    """Client latency up to p99.9999, the deep percentiles only where the sample allows."""
    block = latency_block(latency, ["p50", "p90", "p95", "p99", "p999", "p9999"])
    deep = deep_quantiles(latency)
    return LatencyBlock(
        mean=block["mean"],
        p50=block["p50"],
        p90=block["p90"],
        p95=block["p95"],
        p99=block["p99"],
        p999=block["p999"],
        p9999=block["p9999"],
        p99999=deep["p99999"],
        p999999=deep["p999999"],
        max=block["max"],
    )


def _stall_block(counter: StallCounter) -> StallBlock:
    return StallBlock(
        count=counter.count,
        total_seconds=round(counter.total, 6),
        max_seconds=round(counter.maximum, 6),
        requests=counter.requests,
        longest=[
            Stall(t=round(at, 6), pod=pod, seconds=round(seconds, 6))
            for seconds, (at, pod) in counter.longest.largest_first()
        ],
    )


def _replicas(history: ReplicaHistory, now: float) -> Replicas:
    return Replicas(
        min=history.minimum,
        max=history.maximum,
        mean=history.mean(now),
        final=history.current,
        scale_ups=history.scale_ups,
        scale_downs=history.scale_downs,
        reversals=history.reversals,
    )


def _readiness(events: EventLog, service: str) -> Readiness:
    delays = sorted(events.ready_delays[service])
    if delays:
        middle = len(delays) // 2
        p50 = delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2
        ready_delay = ReadyDelay(
            count=len(delays),
            mean=round(sum(delays) / len(delays), 6),
            p50=round(p50, 6),
            max=round(delays[-1], 6),
        )
    else:
        ready_delay = ReadyDelay(count=0, mean=None, p50=None, max=None)
    return Readiness(transitions=events.transitions[service], ready_delay_s=ready_delay)
