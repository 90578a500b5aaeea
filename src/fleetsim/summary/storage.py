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
from fleetsim.storage.block_cache import CombinedBlockCache
from fleetsim.storage.region import IN_TRANSITION
from fleetsim.summary.collector import latency_block, spread
from fleetsim.summary.model import (
    BlockCacheFigures,
    CompactionSchedulerFigures,
    GcFigures,
    HottestRegion,
    HourFigures,
    RegionServerFigures,
    RegionServerProcessFigures,
    RollingRestartFigures,
    StorageClientFigures,
    StorageClusterFigures,
    StorageFigures,
    StoreFigures,
    TableFigures,
)

if TYPE_CHECKING:
    from fleetsim.metrics.histogram import Histogram
    from fleetsim.storage.compaction_scheduler import CompactionScheduler
    from fleetsim.storage.master import HMaster
    from fleetsim.storage.region import RegionServer
    from fleetsim.storage.region_server import HRegionServer
    from fleetsim.storage.rolling_restart import RollingRestart
    from fleetsim.storage.table import Table
    from fleetsim.storage.tier import StorageTier


def storage_figures(tier: StorageTier) -> StorageFigures:
    tier.finish()
    return StorageFigures(
        tables={name: _table(table, tier) for name, table in tier.tables.items()},
        clusters={name: _cluster_of(tier, name) for name in tier.masters},
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
                too_busy=client.too_busy,
                retries=client.retries,
                hourly=_hourly(client.hourly),
            )
            for name, client in tier.clients.items()
        },
    )


def _hourly(histograms: list[Histogram]) -> list[HourFigures]:
    hours: list[HourFigures] = []
    for hour, histogram in enumerate(histograms):
        count = histogram.count
        if count == 0:
            continue
        latency = Accumulator()
        latency.add(histogram)
        p50, p99 = latency.quantiles([0.5, 0.99])
        hours.append(
            HourFigures(
                hour=hour,
                operations=count,
                p50_ms=round(p50 * 1000.0, 3),
                p99_ms=round(p99 * 1000.0, 3),
            )
        )
    return hours


def _cluster_of(tier: StorageTier, service: str) -> StorageClusterFigures:
    figures = _cluster(tier.masters[service], tier.rolling_restarts.get(service, []))
    runtimes = [r for r in tier.runtimes if r.server in tier.masters[service].known]
    if tier.spec.region_server is not None:
        figures["region_servers"] = {r.server.name: _process(r) for r in runtimes}
    scheduler = tier.schedulers.get(service)
    if scheduler is not None:
        figures["compaction_scheduler"] = _scheduler(scheduler, tier.env.now)
    return figures


def _ratio(hits: int, lookups: int) -> float:
    return round(hits / lookups, 4) if lookups else 0.0


def _process(runtime: HRegionServer) -> RegionServerProcessFigures:
    cache = runtime.cache
    off_heap = cache.l2.size if isinstance(cache, CombinedBlockCache) else 0
    stats = runtime.heap.stats
    compactions = runtime.compactions.stats
    stores = [r.store for r in runtime.server.regions if r.store is not None]
    files = [len(store.files) for store in stores]
    return RegionServerProcessFigures(
        pod=runtime.server.pod,
        alive=runtime.alive,
        heap_bytes=runtime.spec.heap,
        block_cache=BlockCacheFigures(
            on_heap_bytes=cache.on_heap_bytes,
            off_heap_bytes=off_heap,
            data_lookups=runtime.data_reads,
            data_hit_ratio=_ratio(runtime.data_reads - runtime.data_misses, runtime.data_reads),
            meta_lookups=runtime.meta_reads,
            meta_hit_ratio=_ratio(runtime.meta_reads - runtime.meta_misses, runtime.meta_reads),
            evicted_on_heap_bytes=cache.evicted_on_heap_bytes,
        ),
        gc=GcFigures(
            young_pauses=stats.young_count,
            young_seconds=round(stats.young_seconds, 3),
            full_pauses=stats.full_count,
            full_seconds=round(stats.full_seconds, 3),
            longest_pause_s=round(stats.longest, 3),
            pauses_over_1s=stats.over_one_second,
            concurrent_cycles=stats.concurrent_cycles,
            concurrent_mode_failures=stats.concurrent_mode_failures,
            promotion_failures=stats.promotion_failures,
            old_generation_peak_bytes=int(runtime.heap.peak_used),
            old_generation_bytes=int(runtime.heap.old_used),
        ),
        stores=StoreFigures(
            regions=len(stores),
            store_files=sum(files),
            store_files_max=max(files, default=0),
            memstore_bytes=runtime.memstore_total,
            flushes=runtime.flushes,
            flushed_bytes=runtime.flushed_bytes,
            blocked_writes=runtime.blocked_writes,
            minor_compactions=compactions.minor,
            major_compactions=compactions.major,
            compacted_bytes=compactions.bytes,
            compaction_seconds=round(compactions.seconds, 3),
            compactions_queued=runtime.compactions.queued,
            compaction_backlog_bytes=runtime.compactions.backlog_bytes,
            disk_reads=runtime.data_misses + runtime.meta_misses,
        ),
    )


def _scheduler(scheduler: CompactionScheduler, now: float) -> CompactionSchedulerFigures:
    return CompactionSchedulerFigures(
        started=scheduler.started,
        completed=scheduler.completed,
        completed_per_night=list(scheduler.nights),
        paused_minutes=scheduler.paused_minutes,
        due_regions=len(scheduler.due(now)),
        overdue_regions=scheduler.overdue(now),
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
