"""Build a fleet from a scenario, run it on the clock, and summarise it."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.fleet.distributions import service_time_stream
from fleetsim.fleet.service import Service
from fleetsim.fleet.traffic import TrafficSource
from fleetsim.kubernetes.cluster import Cluster
from fleetsim.mesh.load_balancer import make_load_balancer
from fleetsim.mesh.retry import RetryPolicy
from fleetsim.mesh.route import NoHealthyUpstream, Route
from fleetsim.mesh.service_mesh import ServiceMesh
from fleetsim.metrics.collector import Collector, latency_block, spread
from fleetsim.metrics.events import EventLog
from fleetsim.metrics.histogram import Accumulator
from fleetsim.metrics.proxies import ProxyFigures
from fleetsim.result import Result
from fleetsim.scenario.loader import LoadedScenario
from fleetsim.scenario.schema import Route as RouteSpec
from fleetsim.scenario.schema import Spec

# Called with (simulated seconds done, simulated seconds in all, events so far).
ProgressCallback = Callable[[float, float, int], None]

DEFAULT_LOAD_BALANCER = "ROUND_ROBIN"  # Envoy's default LbPolicy


class Simulation:
    """One run of one scenario variant with one seed."""

    def __init__(self, loaded: LoadedScenario, seed: int | None = None) -> None:
        self.loaded = loaded
        self.spec: Spec = loaded.scenario.spec
        self.seed = self.spec.seed if seed is None else seed
        self.env = Environment()
        self.streams = RandomStreams(self.seed)
        self.services = {s.name: Service(s) for s in self.spec.services}
        self.routes = {name: self._build_route(name) for name in self.services}
        self.events = EventLog()
        self.mesh: ServiceMesh | None = None
        self._retries_at_start: dict[str, int] = {}
        self.proxy_figures: ProxyFigures | None = None
        if self.spec.mesh is not None:
            self.mesh = ServiceMesh(self.env, self.streams, self.spec, self.services, self.events)
            self.proxy_figures = ProxyFigures(self.mesh)
        self.cluster = Cluster(
            self.env,
            self.streams,
            self.spec,
            self.services,
            self.routes,
            self.events,
            {s.name: self._service_streams(s) for s in self.spec.services},
            self.mesh,
        )
        self.sources = [
            TrafficSource(self.env, t, self._entry(t.target), self.streams)
            for t in self.spec.traffic
        ]
        self.collector = Collector(
            self.env,
            self.streams,
            self.spec.metrics.interval,
            list(self.services.values()),
            self.sources,
            self._kubernetes_columns,
        )

    def _entry(self, target: str) -> Any:
        """Where external traffic goes: the ingress gateway in a mesh, else the route."""
        if self.mesh is not None:
            return self.mesh.entry(target)
        return self.routes[target]

    def _service_streams(self, spec: Any) -> tuple[Any, Any]:
        times = service_time_stream(
            spec.service_time, self.streams, f"service/{spec.name}/service-time"
        )
        errors = (
            self.streams.uniform(f"service/{spec.name}/errors") if spec.error_rate > 0 else None
        )
        return times, errors

    def _kubernetes_columns(self, name: str) -> dict[str, Any]:
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
        if self.proxy_figures is not None:
            columns.update(self.proxy_figures.sample(name))
        return columns

    def _route_spec(self, destination: str) -> RouteSpec | None:
        for route in self.spec.routes:
            if route.destination == destination:
                return route
        return None

    def _build_route(self, destination: str) -> Route:
        service = self.services[destination]
        spec = self._route_spec(destination)
        policy = spec.load_balancer if spec is not None else DEFAULT_LOAD_BALANCER
        balancer = make_load_balancer(
            policy, self.streams, f"route/{destination}/load-balancer", NoHealthyUpstream()
        )
        retries = None
        if spec is not None and spec.retries is not None:
            jitter = self.streams.uniform(f"route/{destination}/retry-backoff")
            retries = RetryPolicy(spec.retries, jitter)
        return Route(self.env, service, balancer, retries)

    def run(self, progress: ProgressCallback | None = None) -> Result:
        """Run warm-up then the measured window, interval by interval.

        The hot path creates no reference cycles, so Python's cyclic garbage collector
        is paused for the run (it would otherwise rescan every in-flight request again
        and again) and restored afterwards; reference counting still frees everything.
        """
        started = time.perf_counter()
        warmup, duration = self.spec.warmup, self.spec.duration
        interval = self.spec.metrics.interval
        total = warmup + duration
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.cluster.start({source.name: source for source in self.sources})
            for source in self.sources:
                source.start()
            self.collector.start_sampling()
            self._advance_to(warmup, interval, total, progress, measure=False)
            self.collector.start_window(warmup)
            self.events.start_window(warmup)
            self._retries_at_start = {n: r.retry_count for n, r in self.routes.items()}
            if self.proxy_figures is not None:
                self.proxy_figures.start_window()
            self._advance_to(total, interval, total, progress, measure=True)
        finally:
            if collecting:
                gc.enable()
        wall = time.perf_counter() - started
        return Result(
            summary=self._summary(wall),
            series={
                "services": self.collector.service_rows,
                "traffic": self.collector.traffic_rows,
            },
        )

    def _advance_to(
        self,
        end: float,
        interval: float,
        total: float,
        progress: ProgressCallback | None,
        *,
        measure: bool,
    ) -> None:
        env = self.env
        step = 0
        start = env.now
        while env.now < end:
            step += 1
            boundary = min(start + step * interval, end)
            env.run(boundary)
            if measure:
                self.collector.snapshot(boundary)
            if progress is not None:
                progress(boundary, total, env.events_processed)

    def _summary(self, wall: float) -> dict[str, Any]:
        duration = self.spec.duration
        collector = self.collector
        client_latency = Accumulator()
        succeeded = failed = timed_out = rejected = errored = unavailable = 0
        for totals in collector.traffic_totals.values():
            client_latency.counts += totals.latency.counts
            client_latency.count += totals.latency.count
            client_latency.total += totals.latency.total
            client_latency.maximum = max(client_latency.maximum, totals.latency.maximum)
            succeeded += totals.succeeded
            failed += totals.failed
            timed_out += totals.timed_out
            rejected += totals.rejected
            errored += totals.errored
            unavailable += totals.unavailable
        total_requests = succeeded + failed
        services = {name: self._service_summary(name) for name in self.services}
        attempts = sum(s["attempts"] for s in services.values())
        return {
            "scenario": self.loaded.scenario.metadata.name,
            "variant": self.loaded.variant,
            "seed": self.seed,
            "simulated_seconds": duration,
            "warmup_seconds": self.spec.warmup,
            "wall_seconds": round(wall, 3),
            "events": self.env.events_processed,
            "requests": {
                "total": total_requests,
                "succeeded": succeeded,
                "failed": failed,
                "timed_out": timed_out,
                "rejected": rejected,
                "errored": errored,
                "unavailable": unavailable,
            },
            "attempts": attempts,
            "retries": sum(s["retries"] for s in services.values()),
            "throughput_rps": total_requests / duration,
            "latency_ms": latency_block(client_latency, ["p50", "p90", "p99", "p999", "p9999"]),
            "services": services,
            "events_by_kind": self.events.summary(),
        }

    def _service_summary(self, name: str) -> dict[str, Any]:
        service = self.services[name]
        totals = self.collector.service_totals[name]
        window_start = self.spec.warmup
        # Shares compare pods that could take traffic the whole window; pods that came or
        # went part way (autoscaling, rollouts) would only add noise.
        whole = [
            pod
            for pod in service.pods
            if not pod.deleted and pod.first_ready is not None and pod.first_ready <= window_start
        ] or [pod for pod in service.pods if not pod.deleted]
        per_pod = [pod.window_received() for pod in whole]
        share_max, share_cv = spread(per_pod)
        zones: dict[str, dict[str, float]] = {}
        all_attempts = sum(pod.window_received() for pod in service.pods)
        for zone in self.spec.zones:
            in_zone = [pod for pod in service.pods if pod.zone == zone]
            if in_zone:
                share = sum(pod.window_received() for pod in in_zone)
                zones[zone] = {"share": share / all_attempts if all_attempts else 0.0}
        deployment = self.cluster.deployments[name]
        summary: dict[str, Any] = {
            "attempts": totals.attempts,
            "succeeded": totals.succeeded,
            "failed": totals.errors + totals.rejected + totals.unavailable,
            "rejected": totals.rejected,
            "unavailable": totals.unavailable,
            "retries": self.routes[name].retry_count - self._retries_at_start.get(name, 0),
            "utilization": totals.busy_area / totals.capacity_area if totals.capacity_area else 0.0,
            "in_flight_mean": totals.in_system_area / self.spec.duration,
            "latency_ms": latency_block(totals.latency, ["p50", "p90", "p99", "p999"]),
            "pods": {
                "count": len(deployment.active_pods()),
                "share_max_over_mean": share_max,
                "share_cv": share_cv,
                "attempts_min": min(per_pod, default=0),
                "attempts_max": max(per_pod, default=0),
            },
            "zones": zones,
            "replicas": self.events.replicas[name].summary(self.env.now),
            "readiness": self.events.readiness_summary(name),
        }
        if self.proxy_figures is not None:
            summary.update(self.proxy_figures.summary(name, self.spec.duration))
            summary["restarts"]["app"] = self.events.by_service[name]["container_restart"]
        summary["ejections"] = self.events.by_service[name]["outlier_ejection"]
        summary.setdefault("overflows", 0)
        autoscaler = self.cluster.autoscalers.get(name)
        if autoscaler is not None:
            decision = autoscaler.last_decision
            summary["hpa"] = {
                "syncs": autoscaler.syncs,
                "last_utilization_percent": None if decision is None else decision.utilization,
            }
        return summary
