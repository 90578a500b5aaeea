"""The storage tier of one run: its tables, one master per region-server service, and
one client per traffic that targets a table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fleetsim.storage.client import HBaseClient
from fleetsim.storage.master import HMaster
from fleetsim.storage.rolling_restart import RollingRestart
from fleetsim.storage.table import Table

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.scenario.kubernetes import Event
    from fleetsim.scenario.schema import Spec

RestartApp = Callable[[str, str, bool], None]
"""``(service, pod, graceful)``: the cluster restarts that pod's app."""


class StorageTier:
    """Tables, masters and clients built from ``spec.storage`` and the traffic."""

    def __init__(self, env: Environment, streams: RandomStreams, spec: Spec) -> None:
        storage = spec.storage
        assert storage is not None
        self.env = env
        self.restart_app: RestartApp | None = None
        self.crash_app: Callable[[str, str], None] | None = None  # (service, pod)
        self.rolling_restarts: dict[str, list[RollingRestart]] = {}
        self.tables = {table.name: Table(table) for table in storage.tables}
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
        self.clients: dict[str, HBaseClient] = {}
        for traffic in spec.traffic:
            if traffic.storage is None:
                continue
            table = self.tables[traffic.storage.table]
            master = self.masters[table.spec.region_servers]
            self.clients[traffic.name] = HBaseClient(
                env, streams, traffic, table, master, storage.client
            )

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
        for master in self.masters.values():
            master.start()

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

    def finish(self) -> None:
        for master in self.masters.values():
            master.finish()
