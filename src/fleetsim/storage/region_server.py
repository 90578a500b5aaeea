"""The region server process (``HRegionServer``): block cache, memstores, JVM heap and
collector, flushes and compactions, on one node's disk.

It sits in front of the app container's per-request hook
(:class:`~fleetsim.dataplane.protocols.ProcessHooks`): when a handler starts an
operation, a **read** looks up, for each store file it must consult, the file's index
and bloom block for the row, then the data block (one file when the family has a
``ROW`` bloom filter, every file without one). A block not in the cache is read from
the node's disk (queued with every other I/O of the device) and cached: the read
path's ``cacheDataOnRead``. The handler waits for the disk; it burns no CPU meanwhile.

Which block holds a row follows from the row key: a region's data of ``size`` bytes
is ``size / BLOCKSIZE`` blocks spread evenly over the key range its data covers, so
the cache sees the key distribution (hot keys make hot blocks). Index and bloom
blocks (``hfile.index.block.max.size`` and ``io.storefile.bloom.block.size``, both
128 KB) each cover as many data blocks as their entries fit: an index entry per data
block and about 10 bits per row for a 1 % bloom filter.

A **write** adds its row to the region's memstore. A memstore at the flush size is
flushed (``MemStoreFlusher``): written to the disk as a new store file, then the
store may ask for a compaction. A store with ``blockingStoreFiles`` files delays its
flush until a compaction brings it under, for at most ``blockingWaitTime``; while the
memstore grows to ``blockMultiplier`` flush sizes the region refuses writes
(``RegionTooBusyException``, which the client retries). Past the global memstore
limit the largest memstore is flushed; a memstore with edits older than
``flushInterval`` is flushed too.

Every :data:`~fleetsim.storage.garbage_collector.TICK` the server reports its heap to
the collector (:mod:`fleetsim.storage.garbage_collector`): bytes allocated by
requests and by cache fills into an on-heap cache, the cells and blocks that survive,
and those that died; the collector's pauses freeze the process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.container import AppContainer
from fleetsim.storage.block_cache import BlockCache, BucketCache, CombinedBlockCache, LruBlockCache
from fleetsim.storage.client import StorageOperation
from fleetsim.storage.compact_split import CompactSplit
from fleetsim.storage.garbage_collector import TICK, ConcurrentMarkSweep
from fleetsim.storage.store import BLOCK_ID_SHIFT

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import ProcessHooks
    from fleetsim.dataplane.request import Request
    from fleetsim.engine.environment import Environment
    from fleetsim.node.disk import Disk
    from fleetsim.node.process import Process
    from fleetsim.scenario.storage import RegionServer as RegionServerSpec
    from fleetsim.storage.region import Region, RegionServer
    from fleetsim.storage.store import Store

COMPACTION: Final = "compaction"
"""The container slowdown cause the compaction threads own."""
META_BLOCK: Final = 128 << 10
"""``hfile.index.block.max.size`` and ``io.storefile.bloom.block.size`` (128 KB)."""
INDEX_ENTRY: Final = 64
"""Bytes of a data block's entry in the block index (key, offset, size): an estimate."""
BLOOM_BITS_PER_ROW: Final = 10
"""A bloom filter at ``io.storefile.bloom.error.rate`` 1 % needs about 9.6 bits a row."""
META_FLAG: Final = 1 << (BLOCK_ID_SHIFT - 1)
FILE_SHIFT: Final = 32
FLUSH_CHECK: Final = 10.0
"""Seconds between checks for memstores older than ``flushInterval``."""


def block_cache(spec: RegionServerSpec) -> BlockCache:
    """The configured cache: an on-heap LRU, or LRU for index and bloom blocks in front
    of an off-heap bucket cache for data blocks."""
    l1 = LruBlockCache(int(spec.heap * spec.block_cache.size))
    bucket = spec.block_cache.bucket_cache
    if bucket is None:
        return l1
    return CombinedBlockCache(l1, BucketCache(bucket.size))


class HRegionServer:
    """One region server process: the master's :class:`RegionServer` and its insides."""

    __slots__ = (
        "_allocated",
        "_died_chunked",
        "_died_holey",
        "_evicted_seen",
        "_flush_check_at",
        "_inner",
        "_promoted",
        "blocked_writes",
        "cache",
        "compactions",
        "container",
        "data_misses",
        "data_reads",
        "disk",
        "env",
        "flushed_bytes",
        "flushes",
        "heap",
        "memstore_total",
        "meta_misses",
        "meta_reads",
        "process",
        "server",
        "spec",
    )

    def __init__(
        self,
        env: Environment,
        spec: RegionServerSpec,
        server: RegionServer,
        process: Process,
        disk: Disk,
        flush_size: int,
    ) -> None:
        self.env = env
        self.spec = spec
        self.server = server
        self.container: AppContainer = server.container
        self.process = process
        self.disk = disk
        self.cache = block_cache(spec)
        self.heap = ConcurrentMarkSweep(spec.gc, spec.heap)
        self.compactions = CompactSplit(
            env,
            spec.compactions,
            disk,
            cores=spec.cores,
            flush_size=flush_size,
            stores=self._regions,
            set_cpu=self._set_compaction_cpu,
            on_done=self._compacted,
        )
        self.memstore_total = 0
        self._allocated = 0.0
        self._promoted = 0.0
        self._died_holey = 0.0
        self._died_chunked = 0.0
        self._evicted_seen = 0
        self._flush_check_at = env.now + FLUSH_CHECK
        self.flushes = 0
        self.flushed_bytes = 0
        self.blocked_writes = 0
        self.meta_reads = self.meta_misses = self.data_reads = self.data_misses = 0
        inner = self.container.process
        self._inner: ProcessHooks | None = inner
        self.container.process = self

    def start(self) -> None:
        self.env.schedule(TICK, self._tick, None)

    def _regions(self) -> list[Region]:
        return self.server.regions

    @property
    def alive(self) -> bool:
        return self.server.alive and self.process.alive

    # --- the per-operation hook ----------------------------------------------------------

    def start_delay(self, now: float, request: Request) -> float:
        """A handler starts ``request``: the time its reads wait for the disk."""
        delay = 0.0
        self._allocated += self.spec.gc.allocation_per_request
        if isinstance(request, StorageOperation):
            region = request.region
            if region is not None and region.store is not None:
                if request.writes:
                    self._write(region, region.store, request.row_size, now)
                else:
                    delay = self._read(region, region.store, request.key, now)
        if self._inner is not None:
            delay += self._inner.start_delay(now + delay, request)
        return delay

    def _read(self, region: Region, store: Store, key: int, now: float) -> float:
        table = region.table.spec
        block_size = table.block_size
        blocks = max(1, region.size // block_size)
        low = region.data_low
        span = max(1, region.data_high - low)
        offset = min(max(key - low, 0), span - 1)
        index = offset * blocks // span
        rows_per_block = max(1, block_size // table.row_size)
        meta_per_block = INDEX_ENTRY
        if table.bloom_filter == "ROW":
            meta_per_block += rows_per_block * BLOOM_BITS_PER_ROW // 8
        meta_bytes = meta_per_block / block_size  # index and bloom bytes per data byte
        cache = self.cache
        disk = self.disk
        base = store.block_base
        ready = now
        sizes = store.files
        files = len(sizes) or 1
        self.meta_reads += files
        for file in range(files):
            # A file's index and bloom blocks cover its own data: few for a small file.
            size = sizes[file] if sizes else region.size
            chunks = int(size * meta_bytes) // META_BLOCK + 1
            meta_index = index * chunks // blocks
            file_base = base + (file << FILE_SHIFT)
            if not cache.read(file_base | META_FLAG | meta_index, META_BLOCK, True):
                self.meta_misses += 1
                ready = disk.read(ready, META_BLOCK)
                self._allocate_on_heap(META_BLOCK, meta=True)
        data_files = files if table.bloom_filter == "NONE" else 1
        self.data_reads += data_files
        for file in range(data_files):
            if not cache.read(base + (file << FILE_SHIFT) + index, block_size, False):
                self.data_misses += 1
                ready = disk.read(ready, block_size)
                self._allocate_on_heap(block_size, meta=False)
        return ready - now

    def _allocate_on_heap(self, size: int, *, meta: bool) -> None:
        """A block read from disk and cached: on the heap unless it went off-heap."""
        if meta or not isinstance(self.cache, CombinedBlockCache):
            self._allocated += size
            self._promoted += size

    def _write(self, region: Region, store: Store, size: int, now: float) -> None:
        store.memstore += size
        self.memstore_total += size
        self._allocated += size
        self._promoted += size
        if store.edits_since < 0.0:
            store.edits_since = now
        if store.memstore >= region.table.spec.memstore_flush_size:
            self._flush(region, store)
        if self.memstore_total >= self.spec.heap * self.spec.memstore.global_size:
            self._flush_largest()

    # --- flushes -------------------------------------------------------------------------

    def writes_blocked(self, region: Region) -> bool:
        """Whether the region refuses writes (``RegionTooBusyException``)."""
        store = region.store
        if store is None:
            return False
        limit = region.table.spec.memstore_flush_size * self.spec.memstore.block_multiplier
        return store.memstore >= limit

    def _flush(self, region: Region, store: Store) -> None:
        if store.flushing or store.memstore <= 0:
            return
        spec = self.spec.compactions
        now = self.env.now
        if len(store.files) >= spec.blocking_store_files:
            if store.blocked_since < 0.0:
                store.blocked_since = now
            if now - store.blocked_since < spec.blocking_wait_time:
                if not store.flush_pending:
                    store.flush_pending = True
                    self.env.schedule(
                        spec.blocking_wait_time - (now - store.blocked_since),
                        self._flush_waited,
                        region,
                    )
                self.compactions.request(region)
                return
        store.flush_pending = False
        store.blocked_since = -1.0
        store.flushing = True
        size = store.memstore
        self._write_out((region, size, size))

    def _flush_waited(self, region: Region) -> None:
        store = region.store
        if store is not None and store.flush_pending:
            store.flush_pending = False
            store.blocked_since = self.env.now - self.spec.compactions.blocking_wait_time
            self._flush(region, store)

    def _write_out(self, argument: tuple[Region, int, int]) -> None:
        """Write the flush's next piece; the store gets its file when all is written."""
        region, size, left = argument
        if left > 0:
            chunk = min(self.spec.compactions.io_chunk, left)
            done = self.disk.write(self.env.now, chunk)
            self.env.schedule_at(done, self._write_out, (region, size, left - chunk))
            return
        store = region.store
        assert store is not None
        store.flushing = False
        store.files.append(size)
        store.memstore -= size
        store.edits_since = self.env.now if store.memstore > 0 else -1.0
        self.memstore_total -= size
        if self.spec.memstore.mslab:
            self._died_chunked += size
        else:
            self._died_holey += size
        self.flushes += 1
        self.flushed_bytes += size
        if len(store.files) >= self.spec.compactions.min_files:
            self.compactions.request(region)

    def _flush_largest(self) -> None:
        stores = [r for r in self.server.regions if r.store is not None and not r.store.flushing]
        if stores:
            largest = max(stores, key=lambda r: r.store.memstore if r.store else 0)
            assert largest.store is not None
            self._flush(largest, largest.store)

    def region_closed(self, region: Region) -> None:
        """The region moved away or its server stopped: its memstore is flushed on close
        (without I/O here) and no longer counts on this heap."""
        store = region.store
        if store is None or store.memstore <= 0:
            return
        self.memstore_total -= store.memstore
        self._died_chunked += store.memstore
        store.files.append(store.memstore)
        store.memstore = 0
        store.edits_since = -1.0

    def _compacted(self, region: Region) -> None:
        store = region.store
        if store is None:
            return
        if store.flush_pending and len(store.files) < self.spec.compactions.blocking_store_files:
            store.flush_pending = False
            store.blocked_since = -1.0
            self._flush(region, store)
        if len(store.files) >= self.spec.compactions.min_files:
            self.compactions.request(region)

    def check_compactions(self, now: float) -> None:
        """The ``CompactionChecker``: time-based majors that are due, and minors."""
        for region in list(self.server.regions):
            store = region.store
            if store is None or store.compacting:
                continue
            if now >= store.next_major_at and self.compactions.request(region, major=True):
                continue
            if len(store.files) >= self.spec.compactions.min_files:
                self.compactions.request(region)

    def _set_compaction_cpu(self, cores: float) -> None:
        total = float(self.spec.cores)
        used = min(cores, total - 0.5)
        self.container.set_slowdown(COMPACTION, total / (total - used))

    # --- the heap ------------------------------------------------------------------------

    def _tick(self, _: None) -> None:
        if not self.alive:
            return
        now = self.env.now
        if now >= self.container.frozen_until:
            evicted = self.cache.evicted_on_heap_bytes
            self._died_holey += evicted - self._evicted_seen
            self._evicted_seen = evicted
            live = self.spec.gc.base_live + self.cache.on_heap_bytes + self.memstore_total
            pause = self.heap.tick(
                now,
                allocated=self._allocated,
                promoted=self._promoted,
                died_holey=self._died_holey,
                died_chunked=self._died_chunked,
                live=float(live),
            )
            self._allocated = self._promoted = self._died_holey = self._died_chunked = 0.0
            if pause > 0.0:
                self.process.freeze(pause)
            if now >= self._flush_check_at:
                self._flush_check_at = now + FLUSH_CHECK
                self._flush_old(now)
        self.env.schedule(TICK, self._tick, None)

    def _flush_old(self, now: float) -> None:
        interval = self.spec.memstore.flush_interval
        if interval <= 0.0:
            return
        for region in list(self.server.regions):
            store = region.store
            if store is not None and 0.0 <= store.edits_since <= now - interval:
                self._flush(region, store)

    def reset_stats(self) -> None:
        self.cache.reset_counters()
        self._evicted_seen = 0
        self.heap.reset_stats()
        self.compactions.reset_stats()
        self.flushes = self.flushed_bytes = self.blocked_writes = 0
        self.meta_reads = self.meta_misses = self.data_reads = self.data_misses = 0
