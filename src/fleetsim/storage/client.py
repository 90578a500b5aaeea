"""The HBase client of one client population: row keys, region locations, retries.

For each operation the client draws a row key, finds the key's region in its cache of
region locations, and sends the operation to the region server that holds it. A cache
miss costs a lookup in ``hbase:meta`` (``metaLookupTime``) and is cached. A location
that is out of date (the region moved, split, or is in transition) makes the server
answer ``NotServingRegionException``: the client drops the cached location and tries
again after its back-off, through ``hbase:meta`` (``AsyncRegionLocatorHelper.
updateCachedLocationOnError`` in ``apache/hbase`` ``hbase-client``). A try that gets
no answer within ``hbase.rpc.timeout``, or whose server is gone, drops the location
too.

Retries: at most ``hbase.client.retries.number`` after the first try, the n-th after
``pause x RETRY_BACKOFF[n - 1]`` plus up to 1 % jitter (``ConnectionUtils.getPauseTime``;
``HConstants.RETRY_BACKOFF``). The traffic's ``timeout`` plays
``hbase.client.operation.timeout``.

A region whose data has no reachable replica cannot be served: its server answers
with an error at once (it cannot read the files; the HDFS client's own timeouts are not
modelled), and a region that lost its server cannot open anywhere (``hbase:meta`` has
it offline). Such tries are retried like the others; the client counts the operations
that met one, and those that failed on one after their last retry.

On a table with salt buckets a ``put`` goes to a random bucket, and a ``get`` or
``scan`` fans out to every bucket (the HBase book: salting "has a cost during reads"):
it ends when all parts have answered, and fails with the first part that fails.

The client sends straight to the region servers, as HBase's RPC client does: no
Envoy and no Kubernetes Service sit on this path.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Final, cast

from fleetsim.dataplane.protocols import Router
from fleetsim.dataplane.request import (
    CONNECT_FAILURE,
    NO_REPLICA,
    NOT_SERVING_REGION,
    OK,
    PER_TRY_TIMEOUT,
    REGION_TOO_BUSY,
    RESET,
    Request,
)
from fleetsim.engine.timers import FixedDelayDeadlines
from fleetsim.metrics.histogram import Histogram
from fleetsim.storage.region import OPEN
from fleetsim.storage.row_keys import BUCKET_WIDTH, KeyGenerator, salt_buckets

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host, RequestSource, Responder
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.scenario.schema import Traffic
    from fleetsim.scenario.storage import Client
    from fleetsim.storage.master import HMaster
    from fleetsim.storage.region import Region, RegionServer
    from fleetsim.storage.table import Table

RETRY_BACKOFF: Final = (1, 2, 3, 5, 10, 20, 40, 100, 100, 100, 100, 200, 200)
"""``HConstants.RETRY_BACKOFF``: multiples of ``hbase.client.pause`` per retry."""
JITTER: Final = 0.01
"""``ConnectionUtils.getPauseTime`` adds up to 1 % of the pause."""
LOSES_LOCATION: Final = frozenset({NOT_SERVING_REGION, PER_TRY_TIMEOUT, CONNECT_FAILURE, RESET})


class StorageOperation(Request):
    """One operation on a table: its row key, and where its current try went."""

    __slots__ = ("key", "met_no_replica", "region", "row_size", "sent_at", "server", "writes")

    def __init__(self, source: RequestSource, route: Responder, started: float) -> None:
        super().__init__(source, route, started)
        self.key = -1
        self.met_no_replica = False
        self.region: Region | None = None
        self.server: RegionServer | None = None
        self.sent_at = started
        self.writes = False
        self.row_size = 0


class SaltedRead:
    """A read on a salted table: one part per bucket, done when all parts are."""

    __slots__ = ("parent", "parts", "pending")

    def __init__(self, parent: StorageOperation, parts: int) -> None:
        self.parent = parent
        self.pending = parts
        self.parts: list[StorageOperation] = []

    def succeed(self, request: Request) -> None:
        request.done = True
        self.pending -= 1
        parent = self.parent
        if self.pending == 0 and not parent.done:
            parent.source.succeed(parent)

    def fail(self, request: Request, status: int) -> None:
        request.done = True
        parent = self.parent
        for part in self.parts:
            part.done = True
        if not parent.done:
            parent.source.fail(parent, status)


class HBaseClient(Router):
    """Sends one traffic's operations on one table to the region servers."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        traffic: Traffic,
        table: Table,
        master: HMaster,
        client: Client,
    ) -> None:
        storage = traffic.storage
        assert storage is not None
        self.env = env
        self.name = traffic.name
        self.table = table
        self.table_name = table.name
        self.master = master
        self.spec = client
        self.operation = storage.operation
        self.cost = getattr(table.spec.operation_costs, storage.operation)
        self.row_size = storage.row_size
        self.writes = storage.operation == "put"
        self.buckets = table.spec.salt_buckets
        self.fans_out = self.buckets > 1 and not self.writes
        base = f"storage/{traffic.name}"
        self.keys = KeyGenerator(env, storage.keys, streams.generator(f"{base}/keys"))
        self._salt = salt_buckets(streams.generator(f"{base}/salt"), self.buckets)
        self._jitter = streams.uniform(f"{base}/retry-jitter")
        self.attempts = client.retries + 1
        self._starts: list[int] = []
        self._entries: list[tuple[Region, RegionServer | None]] = []
        self._rpc_timers: FixedDelayDeadlines[StorageOperation] = FixedDelayDeadlines(
            env, client.rpc_timeout, self._rpc_timeout
        )
        # Counters of the measured window.
        self.tries = 0
        self.parts = 0
        self.meta_lookups = 0
        self.not_serving = 0
        self.no_replica = 0
        self.requests_no_replica = 0  # operations that met a region without a replica
        self.no_replica_failed = 0
        self.retries = 0
        self.too_busy = 0  # tries refused with RegionTooBusyException
        self.hourly: list[Histogram] = []  # operation latency by hour of simulated time

    # --- the region-location cache ---------------------------------------------------

    def _cached(self, key: int) -> tuple[Region, RegionServer | None] | None:
        index = bisect_right(self._starts, key) - 1
        if index >= 0:
            entry = self._entries[index]
            if key < entry[0].end:
                return entry
        return None

    def _cache(self, region: Region, server: RegionServer | None) -> None:
        """Cache ``region``'s location, dropping entries whose ranges it overlaps."""
        starts, entries = self._starts, self._entries
        low = bisect_right(starts, region.start) - 1
        if low >= 0 and entries[low][0].end <= region.start:
            low += 1
        low = max(low, 0)
        high = bisect_left(starts, region.end)
        starts[low:high] = [region.start]
        entries[low:high] = [(region, server)]

    def _uncache(self, region: Region | None) -> None:
        if region is None:
            return
        index = bisect_left(self._starts, region.start)
        if index < len(self._entries) and self._entries[index][0] is region:
            del self._starts[index]
            del self._entries[index]

    # --- sending -----------------------------------------------------------------------

    def send(self, request: Request) -> None:
        """Start the current try of ``request`` (a :class:`StorageOperation`)."""
        if request.done:
            return
        operation = cast(StorageOperation, request)  # this client only sends operations
        if operation.key < 0:
            inner = self.keys.next_key()
            operation.cost = self.cost
            operation.writes = self.writes
            operation.row_size = self.row_size
            if self.fans_out:
                self._fan_out(operation, inner)
                return
            bucket = next(self._salt) if self.buckets > 1 else 0
            operation.key = bucket * BUCKET_WIDTH + inner
        entry = self._cached(operation.key)
        if entry is None:
            self.meta_lookups += 1
            self.env.schedule(self.spec.meta_lookup_time, self._located, operation)
            return
        self._dispatch(operation, entry[0], entry[1])

    def _fan_out(self, parent: StorageOperation, inner: int) -> None:
        read = SaltedRead(parent, self.buckets)
        now = self.env.now
        for bucket in range(self.buckets):
            part = StorageOperation(read, self, now)
            part.key = bucket * BUCKET_WIDTH + inner
            part.cost = self.cost
            read.parts.append(part)
        self.parts += self.buckets
        for part in read.parts:
            self.send(part)

    def _located(self, operation: StorageOperation) -> None:
        """The answer from ``hbase:meta``: the region and the server it names."""
        if operation.done:
            return
        region = self.table.region_for(operation.key)
        self._cache(region, region.server)
        self._dispatch(operation, region, region.server)

    def _dispatch(
        self, operation: StorageOperation, region: Region, server: RegionServer | None
    ) -> None:
        self.tries += 1
        if server is None or region.server is not server or region.state != OPEN:
            self._uncache(region)
            if server is None and region.server is None and not region.reachable:
                # hbase:meta has it offline: it cannot open without a replica.
                self._no_replica(operation)
            else:
                self.not_serving += 1
                self._failed_try(operation, NOT_SERVING_REGION)
            return
        if not region.reachable and server.container.accepting:
            self._no_replica(operation)  # the server answers; it cannot read the data
            return
        runtime = server.runtime
        if self.writes and runtime is not None and runtime.writes_blocked(region):
            self.too_busy += 1  # checkResources refuses it before it queues
            runtime.blocked_writes += 1
            self._failed_try(operation, REGION_TOO_BUSY)
            return
        operation.region = region
        operation.server = server
        operation.sent_at = self.env.now
        region.requests += 1
        server.requests += 1
        counts = server.table_requests
        counts[self.table_name] = counts.get(self.table_name, 0) + 1
        if self.writes:
            self._write(operation.key, region)
        self._rpc_timers.arm(operation, operation.try_number)
        server.container.accept(operation, operation.try_number)

    def _no_replica(self, operation: StorageOperation) -> None:
        self.no_replica += 1
        if not operation.met_no_replica:
            operation.met_no_replica = True
            self.requests_no_replica += 1
        self._failed_try(operation, NO_REPLICA)

    def _write(self, key: int, region: Region) -> None:
        region.size += self.row_size
        if key > region.data_high:
            region.data_high = key
        elif key < region.data_low:
            region.data_low = key
        if region.size >= region.split_check_at:
            self.master.maybe_split(region)

    # --- answers -----------------------------------------------------------------------

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """A region server answered a try; late answers to abandoned tries end here."""
        if request.done or try_number != request.try_number:
            return
        operation = cast(StorageOperation, request)  # this client only sends operations
        if status == OK:
            server = operation.server
            if server is not None:
                latency = self.env.now - operation.sent_at
                server.latency.record(latency)
            self._record_hourly(request)
            request.source.succeed(request)
            return
        if status in LOSES_LOCATION:
            self._uncache(operation.region)
        self._failed_try(operation, status)

    def _record_hourly(self, request: Request) -> None:
        now = self.env.now
        hour = int(now // 3600.0)
        hourly = self.hourly
        while len(hourly) <= hour:
            hourly.append(Histogram())
        hourly[hour].record(now - request.started)

    def _rpc_timeout(self, operation: StorageOperation, _: int) -> None:
        self._uncache(operation.region)
        self._failed_try(operation, PER_TRY_TIMEOUT)

    def _failed_try(self, operation: StorageOperation, status: int) -> None:
        if operation.try_number + 1 < self.attempts:
            backoff = RETRY_BACKOFF[min(operation.try_number, len(RETRY_BACKOFF) - 1)]
            pause = self.spec.pause * backoff
            operation.try_number += 1
            self.retries += 1
            self.env.schedule(pause * (1.0 + JITTER * next(self._jitter)), self._retry, operation)
            return
        if status == NO_REPLICA:
            self.no_replica_failed += 1
        operation.source.fail(operation, status)

    def _retry(self, operation: StorageOperation) -> None:
        source = operation.source
        if isinstance(source, SaltedRead) and source.parent.done:
            operation.done = True  # its read ended (the client gave up): no more tries
        if not operation.done:
            operation.region = None
            operation.server = None
            self.send(operation)

    def start_window(self) -> None:
        self.tries = self.parts = self.meta_lookups = 0
        self.not_serving = self.no_replica = self.no_replica_failed = self.retries = 0
        self.requests_no_replica = 0
        self.too_busy = 0
        self.hourly = []
