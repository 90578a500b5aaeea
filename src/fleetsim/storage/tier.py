"""The storage tier of one run: its tables, one master per region-server service, and
one client per traffic that targets a table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from fleetsim.storage.client import HBaseClient
from fleetsim.storage.compaction_policy import next_major_compaction_delay
from fleetsim.storage.compaction_scheduler import CompactionScheduler
from fleetsim.storage.master import HMaster
from fleetsim.storage.region_server import HRegionServer
from fleetsim.storage.rolling_restart import RollingRestart
from fleetsim.storage.store import Store
from fleetsim.storage.table import Table

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.node.process import Process
    from fleetsim.scenario.kubernetes import Event
    from fleetsim.scenario.schema import Spec
    from fleetsim.storage.region import RegionServer

RestartApp = Callable[[str, str, bool], None]
"""``(service, pod, graceful)``: the cluster restarts that pod's app."""
ProcessOf = Callable[[str, str], "Process | None"]
"""``(service, pod)``: the pod's app process now, if it runs one."""
MAJOR_AGE_SPREAD: Final = 7 * 86400.0
"""Model parameter: at the start, each store's last major compaction happened at a
uniformly drawn time within this long before (the cluster has been running)."""


class StorageTier:
    """Tables, masters and clients built from ``spec.storage`` and the traffic."""

    def __init__(self, env: Environment, streams: RandomStreams, spec: Spec) -> None:
        storage = spec.storage
        assert storage is not None
        self.env = env
        self.spec = storage
        self.restart_app: RestartApp | None = None
        self.crash_app: Callable[[str, str], None] | None = None  # (service, pod)
        self.rolling_restarts: dict[str, list[RollingRestart]] = {}
        self.process_of: ProcessOf | None = None
        self.started = False
        self.tables = {table.name: Table(table) for table in storage.tables}
        self.runtimes: list[HRegionServer] = []  # every region-server process, live or not
        if storage.region_server is not None:
            self._create_stores(streams)
        services = list(dict.fromkeys(table.region_servers for table in storage.tables))
        self.masters = {
            service: HMaster(
                env,
                streams,
                storage,
                service,
                [t for t in self.tables.values() if t.spec.region_servers == service],
                spec.zones,
            )
            for service in services
        }
        for service, master in self.masters.items():
            master.abort = self._aborter(service)
            if storage.region_server is not None:
                master.registered = self._launcher(service)
        self.schedulers: dict[str, CompactionScheduler] = {}
        scheduler = storage.compaction_scheduler
        if scheduler is not None:
            master = self.masters[scheduler.region_servers]
            self.schedulers[scheduler.region_servers] = CompactionScheduler(env, scheduler, master)
        self.clients: dict[str, HBaseClient] = {}
        for traffic in spec.traffic:
            if traffic.storage is None:
                continue
            table = self.tables[traffic.storage.table]
            master = self.masters[table.spec.region_servers]
            self.clients[traffic.name] = HBaseClient(
                env, streams, traffic, table, master, storage.client
            )

    def _create_stores(self, streams: RandomStreams) -> None:
        """Each region's store: its files at the start and its major-compaction clock."""
        spec = self.spec.region_server
        assert spec is not None
        compactions = spec.compactions
        draws = streams.uniform("storage/major-compactions")
        for table in self.tables.values():
            files = table.spec.store_files
            for region in table.regions:
                last = -next(draws) * MAJOR_AGE_SPREAD
                delay = next_major_compaction_delay(
                    compactions.major_period, compactions.major_jitter, next(draws)
                )
                region.store = Store(
                    [max(1, region.size // files)] * files,
                    last_major_at=last,
                    major_delay=delay,
                )

    def _launcher(self, service: str) -> Callable[[RegionServer], None]:
        """A region server registered: start its process's memory model."""

        def launch(server: RegionServer) -> None:
            spec = self.spec.region_server
            if not self.started or spec is None or server.runtime is not None:
                return  # servers registered before the run starts launch at start()
            process = self.process_of(service, server.pod) if self.process_of else None
            if process is None or process.disk is None:
                return
            flush = min(
                (
                    t.spec.memstore_flush_size
                    for t in self.tables.values()
                    if t.spec.region_servers == service
                ),
                default=128 << 20,
            )
            runtime = HRegionServer(self.env, spec, server, process, process.disk, flush)
            server.runtime = runtime
            self.runtimes.append(runtime)
            runtime.start()
            self.env.every(
                spec.compactions.check_interval,
                self._checker(runtime),
                start=self.env.now + spec.compactions.check_interval,
            )

        return launch

    @staticmethod
    def _checker(runtime: HRegionServer) -> Callable[[float], None]:
        def check(now: float) -> None:
            if runtime.alive:
                runtime.check_compactions(now)

        return check

    def _aborter(self, service: str) -> Callable[[str], None]:
        """A region server of ``service`` aborts (expired while frozen): crash its app."""

        def abort(pod: str) -> None:
            if self.crash_app is not None:
                self.crash_app(service, pod)

        return abort

    def rolling_restart(self, event: Event) -> None:
        """A ``rolling-restart`` event: restart every region server of its service."""
        assert event.service is not None and self.restart_app is not None
        service = event.service
        restart_app = self.restart_app

        def restart(pod: str, graceful: bool) -> None:
            restart_app(service, pod, graceful)

        procedure = RollingRestart(
            self.env,
            self.masters[service],
            restart,
            graceful=event.method == "graceful",
            cooldown=event.cooldown or 0.0,
            max_threads=event.max_threads or 1,
        )
        self.rolling_restarts.setdefault(service, []).append(procedure)
        procedure.start()

    def start(self) -> None:
        self.started = True
        for master in self.masters.values():
            if master.registered is not None:
                for server in list(master.servers):
                    master.registered(server)
            master.start()
        for scheduler in self.schedulers.values():
            scheduler.start()

    def zone_changed(self, zone: str, up: bool) -> None:
        for master in self.masters.values():
            master.zone_changed(zone, up)

    def start_window(self) -> None:
        for master in self.masters.values():
            master.start_window()
        for client in self.clients.values():
            client.start_window()
        for table in self.tables.values():
            table.retired.clear()
            for region in table.regions:
                region.requests = 0
        for master in self.masters.values():
            for server in master.known:
                server.requests = 0
                server.table_requests.clear()
                server.latency.reset()
        for runtime in self.runtimes:
            runtime.reset_stats()
        for scheduler in self.schedulers.values():
            scheduler.start_window()

    def finish(self) -> None:
        for master in self.masters.values():
            master.finish()
