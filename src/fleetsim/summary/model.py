"""The summary of a run, typed: what ``summary.json`` holds and the tables read.

The keys are the contract's (``spec/contract.md`` of the project, and the README's
"Results"). TypedDicts cost nothing at run time and stay plain dicts, so the summary is
written as JSON as it is and a summary read back from a file has the same type.
Latencies are in milliseconds, rates per second, times in seconds.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class InFlight(TypedDict):
    """Requests (or attempts) sent and not yet ended when the window began and ended."""

    start: int
    end: int


class LatencyBlock(TypedDict):
    mean: float
    p50: float
    p90: float
    p95: NotRequired[float]  # client latency only
    p99: float
    p999: float
    p9999: NotRequired[float]  # client latency only
    p99999: NotRequired[float | None]  # client latency only; None below 100,000 samples
    p999999: NotRequired[float | None]  # client latency only; None below 1,000,000 samples
    max: float


class SlowRequest(TypedDict):
    t: float  # when its client saw the answer (or gave up), seconds from the run's start
    latency_ms: float
    traffic: str
    timed_out: bool


class Tail(TypedDict):
    """Client-observed outliers: how many requests took 10x and 100x the median."""

    median_ms: float
    over_10x_median: int
    over_100x_median: int
    fraction_over_100x_median: float
    slowest: list[SlowRequest]


class Stall(TypedDict):
    t: float
    pod: str
    seconds: float


class StallBlock(TypedDict):
    count: int
    total_seconds: float
    max_seconds: float
    requests: int
    longest: list[Stall]


class AgentFigures(TypedDict):
    walks: int
    walk_seconds_mean: float
    walk_seconds_max: float
    write_held_seconds: float
    cpu_cores_mean: float
    cpu_cores_max: float


class DiskFigures(TypedDict):
    writes: int
    busy_fraction_mean: float
    busy_fraction_max: float


class PoolFigures(TypedDict):
    nodes: int
    cadvisor: NotRequired[AgentFigures]
    disks: dict[str, DiskFigures]


class Requests(TypedDict):
    total: int
    succeeded: int
    failed: int
    timed_out: int
    rejected: int
    errored: int
    unavailable: int


class PodShares(TypedDict):
    count: int
    share_max_over_mean: float
    share_cv: float
    attempts_min: int
    attempts_max: int


class ZoneShare(TypedDict):
    share: float


class Replicas(TypedDict):
    min: int
    max: int
    mean: float
    final: int
    scale_ups: int
    scale_downs: int
    reversals: int


class ReadyDelay(TypedDict):
    count: int
    mean: float | None
    p50: float | None
    max: float | None


class Readiness(TypedDict):
    transitions: int
    ready_delay_s: ReadyDelay


class Autoscaler(TypedDict):
    syncs: int
    last_utilization_percent: int | None


class Gauge(TypedDict):
    mean: float
    max: float


class Connections(TypedDict):
    sidecar: Gauge
    app: Gauge


class ConnectsPerSecond(TypedDict):
    sidecar: float
    app: float


class SidecarMemory(TypedDict):
    mean: float
    max: float
    start: float
    end: float


class MemoryBytes(TypedDict):
    sidecar: SidecarMemory


class Restarts(TypedDict):
    sidecar: int
    app: NotRequired[int]


class SidecarFigures(TypedDict):
    """What a mesh adds to a service's summary."""

    retries: int
    overflows: int
    connections: Connections
    connects_per_s: ConnectsPerSecond
    memory_bytes: MemoryBytes
    restarts: Restarts
    sidecar_cpu_cores: float
    proxy_config: ProxyConfig


class XdsFigures(TypedDict):
    """A proxy group's xDS view (``spec.mesh.istiod``), over the measured window."""

    stale_endpoint_seconds: float
    stale_proxies_max: int
    tries_to_gone_endpoints: int


class IstiodPodFigures(TypedDict):
    name: str
    node: str | None
    state: str
    connected_proxies: int
    connected_proxies_max: int
    pushes: int
    full_pushes: int


class IstiodFigures(TypedDict):
    pods: list[IstiodPodFigures]
    gateway: XdsFigures


class MeshFigures(TypedDict):
    istiod: IstiodFigures


class ServiceSummary(TypedDict):
    attempts: int
    succeeded: int
    failed: int
    rejected: int
    unavailable: int
    reset: int
    lost: int
    in_flight: InFlight
    retries: int
    utilization: float
    in_flight_mean: float
    latency_ms: LatencyBlock
    pods: PodShares
    zones: dict[str, ZoneShare]
    replicas: Replicas
    readiness: Readiness
    overflows: int
    ejections: int
    connections: NotRequired[Connections]
    connects_per_s: NotRequired[ConnectsPerSecond]
    memory_bytes: NotRequired[MemoryBytes]
    restarts: NotRequired[Restarts]
    sidecar_cpu_cores: NotRequired[float]
    proxy_config: NotRequired[ProxyConfig]
    hpa: NotRequired[Autoscaler]
    stalls: NotRequired[dict[str, StallBlock]]
    xds: NotRequired[XdsFigures]


class RegionServerFigures(TypedDict):
    zone: str
    alive: bool
    regions: int
    requests: int
    share: float
    latency_ms: LatencyBlock


class HottestRegion(TypedDict):
    region: str
    share: float


class TableFigures(TypedDict):
    region_servers: str
    regions: int
    requests: int
    regions_per_server_min: int
    regions_per_server_max: int
    requests_max_over_mean: float
    requests_cv: float
    hottest_region: HottestRegion
    servers: dict[str, RegionServerFigures]


class RollingRestartFigures(TypedDict):
    method: str
    started_s: float
    finished_s: float | None
    seconds: float | None
    servers: int


class BlockCacheFigures(TypedDict):
    """Reads' lookups of one region server's block cache in the window."""

    on_heap_bytes: int
    off_heap_bytes: int
    data_lookups: int
    data_hit_ratio: float
    meta_lookups: int
    meta_hit_ratio: float
    """Index and bloom blocks: every read needs them."""
    evicted_on_heap_bytes: int


class GcFigures(TypedDict):
    """Stop-the-world pauses of one region server's JVM in the window."""

    young_pauses: int
    young_seconds: float
    full_pauses: int
    full_seconds: float
    longest_pause_s: float
    pauses_over_1s: int
    concurrent_cycles: int
    concurrent_mode_failures: int
    promotion_failures: int
    old_generation_peak_bytes: int
    old_generation_bytes: int


class StoreFigures(TypedDict):
    """Memstores, flushes and compactions of one region server in the window."""

    regions: int
    store_files: int
    store_files_max: int
    memstore_bytes: int
    flushes: int
    flushed_bytes: int
    blocked_writes: int
    minor_compactions: int
    major_compactions: int
    compacted_bytes: int
    compaction_seconds: float
    compactions_queued: int
    compaction_backlog_bytes: int
    disk_reads: int


class RegionServerProcessFigures(TypedDict):
    """One region server's process: heap, cache, collector, stores (with
    ``spec.storage.regionServer``)."""

    pod: str
    alive: bool
    heap_bytes: int
    block_cache: BlockCacheFigures
    gc: GcFigures
    stores: StoreFigures


class CompactionSchedulerFigures(TypedDict):
    started: int
    completed: int
    completed_per_night: list[int]
    paused_minutes: int
    due_regions: int
    """Regions due (last major older than ``every`` less a day) at the end."""
    overdue_regions: int
    """Regions whose last major compaction is older than ``every`` at the end."""


class StorageClusterFigures(TypedDict):
    servers: int
    servers_expired: int
    servers_aborted: int
    regions_in_transition: int
    region_unavailable_seconds: float
    moves: int
    splits: int
    reassigned: int
    balancer_runs: int
    balancer_skipped: int
    rolling_restarts: list[RollingRestartFigures]
    region_servers: NotRequired[dict[str, RegionServerProcessFigures]]
    compaction_scheduler: NotRequired[CompactionSchedulerFigures]


class HourFigures(TypedDict):
    hour: int
    operations: int
    p50_ms: float
    p99_ms: float


class StorageClientFigures(TypedDict):
    table: str
    operation: str
    tries: int
    parts: int
    meta_lookups: int
    not_serving: int
    no_replica: int
    requests_no_replica: int
    failed_no_replica: int
    too_busy: int
    """Tries refused with ``RegionTooBusyException`` (memstore over its limit)."""
    retries: int
    hourly: list[HourFigures]
    """Latency of the operations that succeeded, per hour of simulated time in the window."""


class StorageFigures(TypedDict):
    tables: dict[str, TableFigures]
    clusters: dict[str, StorageClusterFigures]
    clients: dict[str, StorageClientFigures]


class TrafficFigures(TypedDict):
    """One client population's requests by outcome in the window, and its latency."""

    requests: Requests
    attempts: int
    goodput_rps: float
    in_flight: InFlight
    latency_ms: LatencyBlock


class DnsClientFigures(TypedDict):
    lookups: int
    failed: int
    queries: int
    queries_per_s: float
    latency_ms: LatencyBlock


class CoreDNSFigures(TypedDict):
    service: str
    queries: int
    queries_per_s: float
    answered: int
    unanswered: int
    noerror: int
    nxdomain: int
    servfail: int
    cache_hit_ratio: float
    forwarded: int
    node_local_hits: int
    other_queries: int


class DnsFigures(TypedDict):
    clients: dict[str, DnsClientFigures]
    coredns: NotRequired[CoreDNSFigures]


class ProxyConfig(TypedDict):
    clusters: int
    endpoints: int


class Summary(TypedDict):
    scenario: str
    variant: str
    seed: int
    simulated_seconds: float
    warmup_seconds: float
    wall_seconds: float
    events: int
    requests: Requests
    attempts: int
    retries: int
    service_attempts: int
    service_retries: int
    throughput_rps: float
    goodput_rps: float
    in_flight: InFlight
    latency_ms: LatencyBlock
    tail: Tail
    services: dict[str, ServiceSummary]
    events_by_kind: dict[str, int]
    traffic: dict[str, TrafficFigures]
    nodes: NotRequired[dict[str, PoolFigures]]
    storage: NotRequired[StorageFigures]
    dns: NotRequired[DnsFigures]
    mesh: NotRequired[MeshFigures]
    warnings: list[str]
    run: NotRequired[RunFigures]


class BuildFigures(TypedDict):
    """Which build of the hot path ran (``fleetsim.compiled``): the mypyc-compiled
    modules or their pure-Python sources, why, and how many modules were compiled.
    Both builds give the same summary; only the wall time differs."""

    compiled: bool
    reason: str
    modules: int


class RunFigures(TypedDict):
    """What ran, to reproduce it or to tell two results apart: ``scenario_hash`` is the
    sha256 of ``spec`` as canonical JSON (the resolved spec of the variant, overrides
    applied), ``seed`` the seed of the run's random streams, ``build`` compiled or pure."""

    fleetsim_version: str
    build: BuildFigures
    scenario_hash: str
    seed: int
    spec: dict[str, Any]
