"""Build a fleet from a scenario, run it on the clock, and summarise it."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

from fleetsim import __version__, compiled
from fleetsim.cluster.name_resolution import NameResolution
from fleetsim.dataplane.distributions import service_time_stream
from fleetsim.dataplane.protocols import EndpointSubscriber, Router
from fleetsim.dataplane.service import Service
from fleetsim.dataplane.traffic import TrafficSource
from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.envoy.route_factory import client_route
from fleetsim.envoy.router import Route
from fleetsim.errors import ScenarioError
from fleetsim.istio.mesh import ServiceMesh
from fleetsim.istio.pilot_agent import SidecarStartup
from fleetsim.istio.xds import istiod_service_spec
from fleetsim.kubernetes.cluster import Cluster
from fleetsim.metrics.events import EventLog
from fleetsim.result import Result, spec_hash
from fleetsim.scenario.loader import LoadedScenario
from fleetsim.scenario.mesh import ISTIOD
from fleetsim.scenario.schema import Route as RouteSpec
from fleetsim.scenario.schema import Service as ServiceSpec
from fleetsim.scenario.schema import Spec
from fleetsim.scenario.schema import Traffic as TrafficSpec
from fleetsim.storage.client import StorageOperation
from fleetsim.storage.tier import StorageTier
from fleetsim.summary.build import SummaryBuilder
from fleetsim.summary.collector import Collector
from fleetsim.summary.dns import DnsWindow
from fleetsim.summary.istiod import XdsViews
from fleetsim.summary.model import BuildFigures, RunFigures
from fleetsim.summary.sidecars import ProxyFigures

# Called with (simulated seconds done, simulated seconds in all, events so far).
ProgressCallback = Callable[[float, float, int], None]


class Simulation:
    """One run of one scenario variant with one seed."""

    def __init__(self, loaded: LoadedScenario, seed: int | None = None) -> None:
        self.loaded = loaded
        self.spec: Spec = loaded.scenario.spec
        self.seed = self.spec.seed if seed is None else seed
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ScenarioError(
                loaded.file,
                "seed",
                "expected a whole number >= 0 (random streams are seeded with it)",
                value=self.seed,
                has_value=True,
            )
        self.env = Environment()
        self.streams = RandomStreams(self.seed)
        self.services = {s.name: Service(s) for s in self.spec.services}
        self.routes = {name: self._build_route(name) for name in self.services}
        self.events = EventLog(clock=self._now)
        self.storage = StorageTier(self.env, self.streams, self.spec) if self.spec.storage else None
        self.names = NameResolution(self.env, self.streams, self.spec)
        self.mesh: ServiceMesh | None = None
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
            endpoint_subscribers=self._endpoint_subscribers(),
            sidecar_startups={
                s.name: SidecarStartup(
                    self.env, s.sidecar, self.names.resolver(s.name, "c-ares"), self.events
                )
                for s in self.spec.services
                if s.sidecar is not None
            },
            mesh=self.mesh,
            outside_mesh=frozenset(() if self.names.service is None else (self.names.service,)),
            call_routes=self.names,
            control_plane=self._control_plane(),
        )
        if self.mesh is not None:
            self.mesh.kubelet = self.cluster.kubelet
            self.cluster.node_listeners.append(self.mesh.node_lost)
        self.sources = [self._source(t) for t in self.spec.traffic]
        if self.storage is not None:
            self.cluster.zone_listeners.append(self.storage.zone_changed)
            self.storage.restart_app = self._restart_app
            self.storage.crash_app = self.cluster.crash_app
            self.storage.process_of = self.cluster.process_of
            self.cluster.event_handlers["rolling-restart"] = self.storage.rolling_restart
        self.collector = Collector(
            self.env,
            self.streams,
            self.spec.metrics.interval,
            list(self.services.values()),
            self.sources,
            self._service_columns,
        )
        self.summary = SummaryBuilder(
            self.spec,
            self.services,
            self.routes,
            self.cluster,
            self.collector,
            self.events,
            self.proxy_figures,
            self.storage,
            DnsWindow(self.names) if self.names.modelled else None,
            xds_views=(
                XdsViews(self.mesh.xds, self.services)
                if self.mesh is not None and self.mesh.xds is not None
                else None
            ),
        )

    def _now(self) -> float:
        return self.env.now

    def _restart_app(self, service: str, pod: str, graceful: bool) -> None:
        self.cluster.restart_app(service, pod, graceful=graceful)

    def _control_plane(self) -> list[tuple[ServiceSpec, Service]]:
        """istiod's Deployment, when the mesh models istiod as pods."""
        if self.spec.mesh is None or self.spec.mesh.istiod is None:
            return []
        spec = istiod_service_spec(self.spec.mesh.istiod)
        return [(spec, Service(spec))]

    def _endpoint_subscribers(self) -> dict[str, EndpointSubscriber]:
        """Who hears each service's ready pods: its clients' routes (or istiod's push),
        for region servers their HBase master, and istiod's own pods the proxies."""
        subscribers: dict[str, EndpointSubscriber] = (
            dict(self.mesh.fanouts) if self.mesh is not None else dict(self.routes)
        )
        if self.mesh is not None and self.mesh.xds is not None:
            subscribers[ISTIOD] = self.mesh.xds
        if self.storage is not None:
            subscribers.update(self.storage.masters)
        if self.names.coredns is not None and self.names.service is not None:
            subscribers[self.names.service] = self.names.coredns  # kube-proxy's view
        return subscribers

    def _source(self, traffic: TrafficSpec) -> TrafficSource:
        """A client population: through the HBase client to a table, else to its entry."""
        if self.storage is not None and traffic.name in self.storage.clients:
            client = self.storage.clients[traffic.name]
            return TrafficSource(self.env, traffic, client, self.streams, StorageOperation)
        return TrafficSource(self.env, traffic, self._entry(traffic.target), self.streams)

    def _entry(self, target: str) -> Router:
        """Where external traffic goes: the ingress gateway in a mesh, else the route."""
        if self.mesh is not None:
            return self.mesh.entry(target)
        return self.routes[target]

    def _service_streams(self, spec: ServiceSpec) -> tuple[Iterator[float], Iterator[float] | None]:
        times = service_time_stream(
            spec.service_time, self.streams, f"service/{spec.name}/service-time"
        )
        errors = (
            self.streams.uniform(f"service/{spec.name}/errors") if spec.error_rate > 0 else None
        )
        return times, errors

    def _service_columns(self, name: str) -> dict[str, Any]:
        return self.summary.service_columns(name)

    def _route_spec(self, destination: str) -> RouteSpec | None:
        for route in self.spec.routes:
            if route.destination == destination:
                return route
        return None

    def _build_route(self, destination: str) -> Route:
        spec = self._route_spec(destination)
        return client_route(self.env, self.streams, self.services[destination], spec)

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
            if self.storage is not None:
                self.storage.start()
            self.names.start()
            for source in self.sources:
                source.start()
            self.collector.start_sampling()
            self._advance_to(warmup, interval, total, progress, measure=False)
            self.summary.start_window(warmup)
            self._advance_to(total, interval, total, progress, measure=True)
        finally:
            if collecting:
                gc.enable()
        wall = time.perf_counter() - started
        summary = self.summary.build(
            scenario=self.loaded.scenario.metadata.name,
            variant=self.loaded.variant,
            seed=self.seed,
            wall=wall,
            events=self.env.events_processed,
            now=self.env.now,
        )
        summary["run"] = self._run_figures()
        return Result(
            summary=dict(summary),
            series={
                "services": self.collector.service_rows,
                "traffic": self.collector.traffic_rows,
            },
            events=self.events.rows(),
        )

    def _run_figures(self) -> RunFigures:
        """The summary's ``run`` block. The hash is of the resolved spec, not the file:
        it is what ran (the variant merged, ``--duration``/``--warmup`` applied, units
        parsed, defaults filled in), the same for a scenario given as a dict, and blind
        to comments and formatting. ``variants`` is left out of both (they did not run,
        and editing one must not change this run's hash), ``seed`` out of the hash only
        (``spec.seed`` is the seed that ran): runs of one model with several seeds share
        their hash."""
        model = self.spec.model_dump(mode="json", by_alias=True, exclude={"variants", "seed"})
        build = compiled.status()
        return RunFigures(
            fleetsim_version=__version__,
            build=BuildFigures(
                compiled=build.compiled, reason=build.reason, modules=len(build.modules)
            ),
            scenario_hash=spec_hash(model),
            seed=self.seed,
            spec={"seed": self.seed, **model},
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
