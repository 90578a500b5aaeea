"""The storage tier's figures: per table and region server, per HBase cluster, per client.

Requests here are tries that reached a region server (a salted read's parts count one
each), in the measured window. A table's imbalance is over the servers that held its
regions at the end or served it in the window: ``max / mean`` and the coefficient of
variation of their request counts, as for pods. The hottest region is the one with the
most requests (a region that split in the window counts up to its split).
Unavailability is region-seconds: each region, for as long as it was in transition, had
no reachable replica, or sat on a server that was lost or killed (before the master
noticed, as after).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.metrics.histogram import Accumulator
from fleetsim.storage.region import IN_TRANSITION
from fleetsim.summary.collector import latency_block, spread
from fleetsim.summary.model import (
    HottestRegion,
    RegionServerFigures,
    RollingRestartFigures,
    StorageClientFigures,
    StorageClusterFigures,
    StorageFigures,
    TableFigures,
)

if TYPE_CHECKING:
    from fleetsim.storage.master import HMaster
    from fleetsim.storage.region import RegionServer
    from fleetsim.storage.rolling_restart import RollingRestart
    from fleetsim.storage.table import Table
    from fleetsim.storage.tier import StorageTier


def storage_figures(tier: StorageTier) -> StorageFigures:
    tier.finish()
    return StorageFigures(
        tables={name: _table(table, tier) for name, table in tier.tables.items()},
        clusters={
            name: _cluster(master, tier.rolling_restarts.get(name, []))
            for name, master in tier.masters.items()
        },
        clients={
            name: StorageClientFigures(
                table=client.table.name,
                operation=client.operation,
                tries=client.tries,
                parts=client.parts,
                meta_lookups=client.meta_lookups,
                not_serving=client.not_serving,
                no_replica=client.no_replica,
                requests_no_replica=client.requests_no_replica,
                failed_no_replica=client.no_replica_failed,
                retries=client.retries,
            )
            for name, client in tier.clients.items()
        },
    )


def _servers(table: Table, master: HMaster) -> list[RegionServer]:
    return [
        server
        for server in master.known
        if server.alive or server.table_requests.get(table.name, 0) > 0
    ]


def _table(table: Table, tier: StorageTier) -> TableFigures:
    master = tier.masters[table.spec.region_servers]
    servers = _servers(table, master)
    requests = [server.table_requests.get(table.name, 0) for server in servers]
    total = sum(requests)
    held = [server.held(table) for server in servers if server.alive]
    max_over_mean, cv = spread(requests)
    regions = [*table.regions, *table.retired]
    hottest = max(regions, key=lambda region: region.requests)
    return TableFigures(
        region_servers=table.spec.region_servers,
        regions=len(table.regions),
        requests=total,
        regions_per_server_min=min(held, default=0),
        regions_per_server_max=max(held, default=0),
        requests_max_over_mean=max_over_mean,
        requests_cv=cv,
        hottest_region=HottestRegion(
            region=hottest.name, share=hottest.requests / total if total else 0.0
        ),
        servers={
            server.name: _server(server, table, count, total)
            for server, count in zip(servers, requests, strict=True)
        },
    )


def _server(server: RegionServer, table: Table, requests: int, total: int) -> RegionServerFigures:
    latency = Accumulator()
    latency.add(server.latency)
    return RegionServerFigures(
        zone=server.zone,
        alive=server.alive,
        regions=server.held(table),
        requests=requests,
        share=requests / total if total else 0.0,
        latency_ms=latency_block(latency, ["p50", "p99"]),
    )


def _cluster(master: HMaster, restarts: list[RollingRestart]) -> StorageClusterFigures:
    return StorageClusterFigures(
        servers=len(master.servers),
        servers_expired=master.servers_expired,
        servers_aborted=master.aborted,
        regions_in_transition=sum(
            1
            for table in master.tables
            for region in table.regions
            if region.state == IN_TRANSITION
        ),
        region_unavailable_seconds=round(master.unavailable_seconds, 3),
        moves=master.moves,
        splits=master.splits,
        reassigned=master.reassigned,
        balancer_runs=master.balancer_runs,
        balancer_skipped=master.balancer_skipped,
        rolling_restarts=[
            RollingRestartFigures(
                method="graceful" if restart.graceful else "naive",
                started_s=round(restart.started_at, 3),
                finished_s=None if restart.finished_at is None else round(restart.finished_at, 3),
                seconds=None
                if restart.finished_at is None
                else round(restart.finished_at - restart.started_at, 3),
                servers=restart.servers_restarted,
            )
            for restart in restarts
        ],
    )
