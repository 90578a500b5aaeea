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
    "Client",
    "KeyDistribution",
    "Master",
    "OperationCosts",
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


class Storage(FileModel):
    """``spec.storage``: the tables and the HBase processes around them."""

    tables: list[Table] = Field(min_length=1)
    master: Master = Field(default_factory=Master)
    balancer: Balancer = Field(default_factory=Balancer)
    client: Client = Field(default_factory=Client)


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
