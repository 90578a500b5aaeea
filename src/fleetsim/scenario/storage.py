"""A sharded storage tier in the file format: HBase tables, its master, balancer and client.

Two places in a scenario:

- ``spec.storage``: the tables (split into regions by row key, served by the pods of a
  region-server service), the master's timing, the balancer and the client's retries;
- ``traffic[].storage``: what a client population does to a table: the operation
  (``get``, ``put``, ``scan``) and the distribution of its row keys.

Names and defaults are HBase's own where HBase has them (``hbase-default.xml`` and
``HConstants`` in ``apache/hbase``), spelt in camelCase: ``maxFileSize`` is
``hbase.hregion.max.filesize``, ``regionCountCost`` is
``hbase.master.balancer.stochastic.regionCountCost``. Everything else is a parameter of
the model and says so.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, model_validator

from fleetsim.fileformat import FieldProblem, FileModel
from fleetsim.scenario.fields import Count, Fraction, Name, PositiveDuration
from fleetsim.units import Duration, Memory

__all__ = [
    "Balancer",
    "BlockCache",
    "BucketCache",
    "Client",
    "CompactionScheduler",
    "Compactions",
    "GarbageCollection",
    "KeyDistribution",
    "Master",
    "Memstore",
    "OperationCosts",
    "RegionServer",
    "Replication",
    "Storage",
    "StorageRequest",
    "Table",
]

PositiveBytes = Annotated[Memory, Field(gt=0)]
Cost = Annotated[Fraction, Field(gt=0.0, le=1e6, allow_inf_nan=False)]
Weight = Annotated[Fraction, Field(ge=0.0, le=1e9, allow_inf_nan=False)]

MAX_ZIPF_KEYS: Final = 10_000_000
"""Zipf keys are drawn by inverse CDF over a table of this many entries at most (80 MB)."""
MAX_REGIONS: Final = 100_000


class Replication(FileModel):
    """How a region's data blocks are replicated (HDFS ``dfs.replication``, default 3) and
    where the replicas go, with zones playing HDFS racks.

    - ``single-zone``: every replica in the zone of the region server that wrote the
      data: HDFS's placement when the whole cluster sits in one zone (or no rack
      topology is configured and the DataNodes are in one zone);
    - ``zone-aware``: ``BlockPlacementPolicyDefault`` with zones as racks
      (``apache/hadoop`` ``hadoop-hdfs/.../blockmanagement/BlockPlacementPolicyDefault.java``):
      the first replica in the writer's zone, the second and third in one other zone;
    - ``zone-fault-tolerant``: ``BlockPlacementPolicyRackFaultTolerant``: the replicas
      spread over as many zones as there are.
    """

    factor: Count = Field(default=3, ge=1, le=16)
    placement: Literal["single-zone", "zone-aware", "zone-fault-tolerant"] = "single-zone"


class OperationCosts(FileModel):
    """Model parameter: the region server's work for each operation, as a multiple of its
    service's ``serviceTime`` (1 = one service time)."""

    get: Cost = 1.0
    put: Cost = 1.0
    scan: Cost = 1.0


class Table(FileModel):
    """One HBase table, pre-split into ``regions`` by row key and served by the pods of
    the service ``regionServers``.

    Row keys are spread evenly over the pre-split regions. With ``saltBuckets`` k > 1
    every row key starts with a salt prefix from k buckets (the HBase book, "Rowkey
    Design: Hotspotting"): the table is pre-split at the bucket boundaries, a write goes
    to a random bucket, and a read or scan fans out to all k of them.
    """

    name: Name
    region_servers: Name
    """The service whose pods are this table's region servers."""
    regions: Count = Field(ge=1, le=MAX_REGIONS)
    """Regions at the start (a pre-split table)."""
    salt_buckets: Count = Field(default=1, ge=1, le=4096)
    """1 = row keys without a salt prefix."""
    region_size: Memory = Field(default=1 << 30, ge=0)
    """Model parameter: data each region holds at the start."""
    max_file_size: PositiveBytes = 10 << 30
    """``hbase.hregion.max.filesize`` (10 GB): a region splits beyond it."""
    memstore_flush_size: PositiveBytes = 128 << 20
    """``hbase.hregion.memstore.flush.size`` (128 MB): ``SteppingSplitPolicy`` splits a
    table's only region on a server at twice this size."""
    replication: Replication = Field(default_factory=Replication)
    operation_costs: OperationCosts = Field(default_factory=OperationCosts)
    block_size: Annotated[Memory, Field(ge=4096, le=16 << 20)] = 64 << 10
    """The column family's ``BLOCKSIZE`` (64 KiB): the unit the block cache holds and a
    read fetches from disk. Used when ``spec.storage.regionServer`` is set."""
    bloom_filter: Literal["ROW", "NONE"] = "ROW"
    """The column family's ``BLOOMFILTER`` (``ROW`` since HBase 0.96): with one, a get
    reads one store file's block; without, one block from every store file."""
    row_size: PositiveBytes = 1024
    """Model parameter: the average stored row, which sets the bloom filter's size (about
    10 bits a row at a 1 % error rate) and so the share of index and bloom blocks."""
    store_files: Count = Field(default=1, ge=1, le=1000)
    """Model parameter: store files each region has at the start, of equal size."""

    @model_validator(mode="after")
    def _check_salt(self) -> Self:
        if self.salt_buckets > self.regions:
            raise FieldProblem(
                "saltBuckets",
                f"expected at most {self.regions} salt buckets: each bucket needs a region "
                f"of its own and the table has regions: {self.regions}",
                value=self.salt_buckets,
                has_value=True,
            )
        return self


class Master(FileModel):
    """The HMaster's timing: how long regions stay offline while they change hands."""

    zookeeper_session_timeout: PositiveDuration = 90.0
    """``zookeeper.session.timeout`` (90 000 ms): a region server that stops answering
    ZooKeeper is declared dead this long after, and its regions are reassigned."""
    wal_split_time: Duration = 10.0
    """Model parameter: splitting a dead server's write-ahead log before its regions can
    open elsewhere (``ServerCrashProcedure``); an estimate, not an HBase default."""
    region_open_time: Duration = 1.0
    """Model parameter: a region is offline this long when it is assigned or moved
    (close on one server, open on the next); an estimate."""
    split_time: Duration = 1.0
    """Model parameter: a region is offline this long while it splits; an estimate."""
    liveness_check_interval: PositiveDuration = 1.0
    """Model parameter: how often the master's ZooKeeper watch is evaluated."""


class Balancer(FileModel):
    """The ``StochasticLoadBalancer`` (HBase's default): every ``period`` it searches for
    region moves that lower a weighted cost (``hbase-balancer``,
    ``org/apache/hadoop/hbase/master/balancer/StochasticLoadBalancer.java``).

    Modelled cost functions: region-count skew across servers, per-table skew, and the
    cost of moving regions. The load-based ones (read and write request costs, memstore
    and store-file sizes, locality) are not modelled.
    """

    enabled: bool = True
    """``balance_switch``: the balancer runs (HBase: on)."""
    period: PositiveDuration = 300.0
    """``hbase.balancer.period`` (300 000 ms)."""
    slop: Annotated[Fraction, Field(ge=-1.0, le=10.0)] = 0.2
    """``hbase.regions.slop`` (0.2, ``BaseLoadBalancer``): a server beyond the mean by
    more than this share makes a run happen; negative turns the check off. The stochastic
    balancer ignored it (0.001) before HBase 2.5 (HBASE-22349)."""
    region_count_cost: Weight = 500.0
    """``hbase.master.balancer.stochastic.regionCountCost``."""
    table_skew_cost: Weight = 35.0
    """``hbase.master.balancer.stochastic.tableSkewCost``."""
    move_cost: Weight = 7.0
    """``hbase.master.balancer.stochastic.moveCost``."""
    max_move_percent: Annotated[Fraction, Field(gt=0.0, le=1.0)] = 1.0
    """``hbase.master.balancer.stochastic.maxMovePercent`` (1.0): a run moves at most
    this share of the regions, and never fewer than 600 (``MoveCostFunction``)."""
    steps_per_region: Count = Field(default=800, ge=1)
    """``hbase.master.balancer.stochastic.stepsPerRegion``."""
    max_steps: Count = Field(default=1_000_000, ge=1)
    """``hbase.master.balancer.stochastic.maxSteps``."""
    min_cost_need_balance: Annotated[Fraction, Field(ge=0.0, le=1.0)] = 0.025
    """``hbase.master.balancer.stochastic.minCostNeedBalance``: no run below this cost."""


class Client(FileModel):
    """The HBase client of every traffic to a table: its region-location cache and retries.

    Defaults from ``HConstants`` (``apache/hbase``
    ``hbase-common/src/main/java/org/apache/hadoop/hbase/HConstants.java``).
    """

    pause: PositiveDuration = 0.1
    """``hbase.client.pause`` (100 ms): the base of the retry back-off."""
    retries: Count = Field(default=15, ge=0, le=1000)
    """``hbase.client.retries.number`` (15): an operation makes up to this many tries
    after the first (``ConnectionUtils.retries2Attempts``)."""
    rpc_timeout: PositiveDuration = 60.0
    """``hbase.rpc.timeout`` (60 000 ms): one try's timeout."""
    meta_lookup_time: Duration = 0.001
    """Model parameter: a lookup in ``hbase:meta`` after a cache miss (one RPC)."""


class BucketCache(FileModel):
    """The L2 ``BucketCache`` (``hbase.bucketcache.*``; off by default). With it the
    region server runs a ``CombinedBlockCache``: index and bloom blocks stay in the
    on-heap L1, data blocks go to the bucket cache (``hbase.bucketcache.combinedcache.
    enabled``, true). Only the ``offheap`` engine is modelled."""

    ioengine: Literal["offheap"] = "offheap"
    """``hbase.bucketcache.ioengine``."""
    size: PositiveBytes
    """``hbase.bucketcache.size`` in bytes (HBase also takes a heap fraction below 1)."""


class BlockCache(FileModel):
    """The region server's block cache: the on-heap ``LruBlockCache`` and an optional
    off-heap ``BucketCache``."""

    size: Annotated[Fraction, Field(gt=0.0, lt=0.8)] = 0.4
    """``hfile.block.cache.size`` (0.4): the on-heap L1's share of the heap."""
    bucket_cache: BucketCache | None = None


class Memstore(FileModel):
    """Region memstores (``hbase-default.xml``)."""

    global_size: Annotated[Fraction, Field(gt=0.0, lt=0.8)] = 0.4
    """``hbase.regionserver.global.memstore.size`` (0.4 of the heap): beyond it the
    server flushes its largest memstores."""
    block_multiplier: Annotated[Fraction, Field(ge=1.0, le=100.0)] = 4.0
    """``hbase.hregion.memstore.block.multiplier`` (4): a region whose memstore reaches
    this many flush sizes refuses writes (``RegionTooBusyException``)."""
    mslab: bool = True
    """``hbase.hregion.memstore.mslab.enabled`` (true): memstore data lives in 2 MB
    chunks, so a flush frees whole chunks and leaves no holes in the old generation."""
    flush_interval: Duration = 3600.0
    """``hbase.regionserver.optionalcacheflushinterval`` (1 h): a memstore with edits
    older than this is flushed; 0 = never."""


class GarbageCollection(FileModel):
    """The region server's JVM collector: ParNew for the young generation and CMS for
    the old (``-XX:+UseConcMarkSweepGC``), as HBase ran in the seed's era.

    Model parameters, not JVM defaults, except where a flag is named."""

    collector: Literal["cms"] = "cms"
    young_generation: PositiveBytes = 1 << 30
    """``-Xmn``: eden plus survivors."""
    cms_initiating_occupancy_fraction: Annotated[Fraction, Field(gt=0.0, lt=1.0)] = 0.7
    """``-XX:CMSInitiatingOccupancyFraction`` (HBase's ``hbase-env.sh`` suggests 70;
    the HBase book 60 to 70): a concurrent cycle starts at this old-generation
    occupancy."""
    allocation_per_request: Memory = 16 << 10
    """Short-lived bytes one request allocates (RPC buffers, cells, results)."""
    base_live: Memory = 1 << 30
    """Live old-generation bytes besides the caches and memstores (indexes of open
    files, RPC machinery)."""
    young_pause: Duration = 0.01
    """The fixed part of a young (ParNew) pause; survivors add their copy time."""
    copy_rate: PositiveBytes = 4 << 30
    """Bytes a young pause copies (promotes) per second, over its parallel threads."""
    concurrent_mark_rate: PositiveBytes = 1 << 30
    """Live bytes a concurrent CMS cycle marks per second: its length."""
    full_gc_time_per_gib: PositiveDuration = 2.0
    """A stop-the-world compacting full GC (after a concurrent-mode or promotion
    failure) takes this long per GiB of live heap: an estimate (no reliable rule is
    published; such pauses pass a minute on large heaps)."""
    fragmentation: Annotated[Fraction, Field(ge=0.0, le=1.0)] = 0.1
    """The share of swept old-generation garbage not in MSLAB chunks (evicted cache
    blocks, memstore cells without MSLAB) that a CMS sweep leaves as holes too small
    to promote into, until a full GC compacts the heap."""


class Compactions(FileModel):
    """Flushes, minor and major compactions of each store (``hbase-default.xml``)."""

    min_files: Count = Field(default=3, ge=2, le=1000)
    """``hbase.hstore.compaction.min`` (3)."""
    max_files: Count = Field(default=10, ge=2, le=1000)
    """``hbase.hstore.compaction.max`` (10)."""
    min_size: Memory = 128 << 20
    """``hbase.hstore.compaction.min.size`` (128 MB): smaller files always qualify."""
    ratio: Annotated[Fraction, Field(gt=0.0, le=100.0)] = 1.2
    """``hbase.hstore.compaction.ratio`` (1.2)."""
    off_peak_ratio: Annotated[Fraction, Field(gt=0.0, le=100.0)] = 5.0
    """``hbase.hstore.compaction.ratio.offpeak`` (5.0)."""
    off_peak_start_hour: Annotated[int, Field(ge=-1, le=23)] = -1
    """``hbase.offpeak.start.hour`` (-1 = no off-peak hours). Hour 0 is the start of
    the run."""
    off_peak_end_hour: Annotated[int, Field(ge=-1, le=23)] = -1
    """``hbase.offpeak.end.hour`` (-1)."""
    blocking_store_files: Count = Field(default=16, ge=1, le=10000)
    """``hbase.hstore.blockingStoreFiles`` (16): a store with this many files delays
    its flushes until a compaction brings it under."""
    blocking_wait_time: Duration = 90.0
    """``hbase.hstore.blockingWaitTime`` (90 000 ms): the longest such a delay."""
    major_period: Duration = 7 * 86400.0
    """``hbase.hregion.majorcompaction`` (7 days; 0 = no time-based majors)."""
    major_jitter: Annotated[Fraction, Field(ge=0.0, le=1.0)] = 0.5
    """``hbase.hregion.majorcompaction.jitter`` (0.5)."""
    check_interval: PositiveDuration = 10000.0
    """How often the ``CompactionChecker`` looks for due majors:
    ``hbase.server.thread.wakefrequency`` (10 s) x
    ``hbase.server.compactchecker.interval.multiplier`` (1000)."""
    throughput_controller: Literal["pressure-aware", "no-limit"] = "pressure-aware"
    """``hbase.regionserver.throughput.controller``: the
    ``PressureAwareCompactionThroughputController`` (default) or none."""
    throughput_lower_bound: PositiveBytes = 50 << 20
    """``hbase.hstore.compaction.throughput.lower.bound`` (50 MB/s)."""
    throughput_upper_bound: PositiveBytes = 100 << 20
    """``hbase.hstore.compaction.throughput.upper.bound`` (100 MB/s)."""
    small_threads: Count = Field(default=1, ge=1, le=64)
    """``hbase.regionserver.thread.compaction.small`` (1)."""
    large_threads: Count = Field(default=1, ge=1, le=64)
    """``hbase.regionserver.thread.compaction.large`` (1): compactions over the throttle
    point (2 x max files x flush size) run here."""
    cpu_time_per_gib: Duration = 5.0
    """Model parameter: CPU seconds a compaction spends per GiB it rewrites
    (decompress, merge, compress): one thread is CPU-bound at 1/this GiB/s."""
    io_chunk: Annotated[Memory, Field(ge=4096)] = 1 << 20
    """Model parameter: flushes and compactions read and write the disk in pieces of
    this size, one at a time, so reads interleave with them."""

    @model_validator(mode="after")
    def _check_files(self) -> Self:
        if self.max_files < self.min_files:
            raise FieldProblem(
                "maxFiles",
                f"expected at least minFiles ({self.min_files})",
                value=self.max_files,
                has_value=True,
            )
        return self


class RegionServer(FileModel):
    """``spec.storage.regionServer``: the region server's memory, collector and stores.

    Unset, region servers are handlers only (no heap, cache, GC or compactions). Set,
    every region-server service needs ``process.disk``: cache misses, flushes and
    compactions use that disk of its node.
    """

    heap: PositiveBytes = 16 << 30
    """Model parameter: ``-Xmx`` (HBase has no default; deployments run 16 to 32 GB)."""
    cores: Count = Field(default=8, ge=1, le=1024)
    """Model parameter: cores the handlers and compaction threads share."""
    block_cache: BlockCache = Field(default_factory=BlockCache)
    memstore: Memstore = Field(default_factory=Memstore)
    gc: GarbageCollection = Field(default_factory=GarbageCollection)
    compactions: Compactions = Field(default_factory=Compactions)

    @model_validator(mode="after")
    def _check_heap(self) -> Self:
        shares = self.block_cache.size + self.memstore.global_size
        if shares > 0.8:
            raise FieldProblem(
                ("blockCache", "size"),
                f"expected blockCache.size + memstore.globalSize at most 0.8 (HBase "
                f"refuses to start beyond it: the heap needs 20 % for itself); they sum "
                f"to {shares:g}",
                value=self.block_cache.size,
                has_value=True,
            )
        if self.gc.young_generation >= self.heap // 2:
            raise FieldProblem(
                ("gc", "youngGeneration"),
                f"expected less than half the heap ({self.heap} bytes)",
                value=self.gc.young_generation,
                has_value=True,
            )
        return self


class CompactionScheduler(FileModel):
    """An operator's major-compaction scheduler (the seed's, at Pinterest): time-based
    majors off, and at night it compacts regions a few at a time.

    - bounded concurrency: at most ``concurrency`` regions of the cluster at once;
    - a window: it starts regions from ``startHour`` and stops starting them at
      ``stopHour``, before the daytime ramp (hours from the start of the run, mod 24);
    - it pauses while the region servers' p99 over the last minute is above ``maxP99``;
    - it resumes the next night, skipping regions compacted within ``every``.
    """

    region_servers: Name
    """The region-server service whose regions it compacts."""
    concurrency: Count = Field(default=2, ge=1, le=10000)
    start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    stop_hour: Annotated[int, Field(ge=0, le=23)] = 6
    max_p99: PositiveDuration | None = None
    every: PositiveDuration = 7 * 86400.0


class Storage(FileModel):
    """``spec.storage``: the tables and the HBase processes around them."""

    tables: list[Table] = Field(min_length=1)
    master: Master = Field(default_factory=Master)
    balancer: Balancer = Field(default_factory=Balancer)
    client: Client = Field(default_factory=Client)
    region_server: RegionServer | None = None
    """None = region servers without a memory model (no heap, cache, GC, compactions)."""
    compaction_scheduler: CompactionScheduler | None = None


class KeyDistribution(FileModel):
    """How a client picks row keys.

    - ``uniform``: any key of the table's key space, equally likely;
    - ``zipf``: ``keys`` distinct keys, the one of rank r with weight r^-``exponent``
      (hot keys); the keys are scattered over the key space (hashed ids);
    - ``sequential``: monotonically increasing keys (timestamps): every key is beyond
      every key written before, so all of them land in the table's last region.
    """

    distribution: Literal["uniform", "zipf", "sequential"]
    keys: Count | None = Field(default=None, ge=1, le=MAX_ZIPF_KEYS)
    exponent: Annotated[Fraction, Field(gt=0.0, le=10.0)] | None = None

    @model_validator(mode="after")
    def _check_parameters(self) -> Self:
        if self.distribution == "zipf":
            for name, value in (("keys", self.keys), ("exponent", self.exponent)):
                if value is None:
                    raise FieldProblem(
                        name,
                        f"required field is missing: a zipf distribution takes keys (how "
                        f"many distinct keys) and exponent (its skew, e.g. 1.1); {name} "
                        "is not set",
                    )
        else:
            for name, value in (("keys", self.keys), ("exponent", self.exponent)):
                if value is not None:
                    raise FieldProblem(
                        name,
                        f"not a field of a {self.distribution} distribution: only zipf "
                        "takes keys and exponent",
                    )
        return self


class StorageRequest(FileModel):
    """``traffic[].storage``: a client population's operation on one table."""

    table: Name
    operation: Literal["get", "put", "scan"]
    keys: KeyDistribution
    row_size: PositiveBytes = 1024
    """Model parameter: bytes one ``put`` adds to its region."""
