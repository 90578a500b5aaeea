"""A region server's block caches: the on-heap ``LruBlockCache``, the off-heap
``BucketCache`` and the ``CombinedBlockCache`` that puts the two together.

Both caches keep three priorities (``BlockPriority``): a block read for the first time is
SINGLE, a hit on a SINGLE block makes it MULTI, and a block of an in-memory family is
MEMORY from the start and stays so. Each priority has a share of the cache, ``factor x
max size x min factor``; a priority may grow past its share while the others leave room.
Once the cache holds more than ``acceptable factor x max size`` an eviction frees
``size - min size`` bytes: the priorities are taken in increasing order of overflow
(bytes held past their share), and each that overflows frees the lesser of its overflow
and an even part of what is still to free among the priorities not yet visited, least
recently used first. A scan of one-time blocks therefore churns the SINGLE share and
leaves the blocks read more than once alone.

``apache/hbase`` ``hbase-server/src/main/java/org/apache/hadoop/hbase/io/hfile/``:

- ``LruBlockCache.java`` (``cacheBlock``, ``getBlock``, ``evict`` and its
  ``BlockBucket``), ``LruCachedBlock.java`` (``access`` promotes SINGLE to MULTI);
- ``bucket/BucketCache.java`` (``freeSpace`` and its ``BucketEntryGroup``);
- ``CombinedBlockCache.java``: index and bloom blocks go to the LRU cache, data blocks to
  the bucket cache.

Blocks are ``int`` ids with a size in bytes, the size the cache accounts for (the caller
adds any per-entry overhead it wants counted). Evictions run inline on the insert that
crosses the acceptable size, as ``LruBlockCache`` does without its eviction thread; the
``BucketCache``'s RAM queue and writer threads are not modelled (a block is in the cache
as soon as it is cached). The bucket allocator is one pool of bytes: its bucket sizes,
fragmentation and what ``freeSpace`` does about them (a second pass for bucket sizes still
short of free space, ``freeEntireBuckets``) are not modelled, nor is the largest block
either cache accepts.
"""

from __future__ import annotations

from collections import OrderedDict
from math import floor
from typing import Final

SINGLE: Final = 0
MULTI: Final = 1
MEMORY: Final = 2
"""``BlockPriority``: the index of a priority in the caches' per-priority state."""


class BlockCache:
    """What a region server's read path holds: a single LRU cache or a combined one."""

    __slots__ = ()

    def read(self, block: int, size: int, meta: bool) -> bool:
        """Look ``block`` up for a read; True on a hit, else cache it (cacheDataOnRead).
        ``meta``: an index or bloom block rather than a data block."""
        raise NotImplementedError

    @property
    def on_heap_bytes(self) -> int:
        """Bytes of cached blocks on the Java heap now."""
        raise NotImplementedError

    @property
    def evicted_on_heap_bytes(self) -> int:
        """Bytes evicted from the heap since the counters were last reset."""
        raise NotImplementedError

    @property
    def hit_ratio(self) -> float:
        raise NotImplementedError

    def reset_counters(self) -> None:
        raise NotImplementedError


def _poll_order(single: int, multi: int, memory: int) -> tuple[int, int, int]:
    """The order a ``java.util.PriorityQueue`` gives back the three priorities, added
    SINGLE, MULTI, MEMORY and compared by overflow: least first, ties as its sift-up and
    sift-down leave them (all equal: SINGLE, MEMORY, MULTI)."""
    keys = (single, multi, memory)
    first, second = (MULTI, SINGLE) if multi < single else (SINGLE, MULTI)
    third = MEMORY
    if memory < keys[first]:
        first, third = MEMORY, first
    if keys[third] <= keys[second]:
        return first, third, second
    return first, second, third


class PriorityBlockCache(BlockCache):
    """The SINGLE / MULTI / MEMORY cache both HBase caches are built on.

    Each priority is an ``OrderedDict`` of block to size, least recently used first.
    """

    __slots__ = (
        "_acceptable",
        "_by_priority",
        "_memory",
        "_memory_share",
        "_min_size",
        "_multi",
        "_multi_share",
        "_room",
        "_single",
        "_single_share",
        "cached_bytes",
        "count",
        "evicted_blocks",
        "evicted_bytes",
        "eviction_runs",
        "failed_inserts",
        "hits",
        "max_size",
        "memory_size",
        "misses",
        "multi_size",
        "single_size",
        "size",
    )

    def __init__(
        self,
        max_size: int,
        acceptable_factor: float,
        min_factor: float,
        single_factor: float,
        multi_factor: float,
        memory_factor: float,
    ) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be positive")
        if min(single_factor, multi_factor, memory_factor) < 0 or (
            abs(single_factor + multi_factor + memory_factor - 1.0) > 1e-6
        ):
            raise ValueError("single, multi and memory factors must be >= 0 and total 1")
        if not 0.0 < min_factor < acceptable_factor < 1.0:
            raise ValueError("need 0 < min_factor < acceptable_factor < 1")
        self.max_size = max_size
        self._acceptable = floor(max_size * acceptable_factor)
        self._min_size = floor(max_size * min_factor)
        self._single_share = floor(max_size * single_factor * min_factor)
        self._multi_share = floor(max_size * multi_factor * min_factor)
        self._memory_share = floor(max_size * memory_factor * min_factor)
        self._room = max_size  # an insert past this asks _admit first
        self._single: OrderedDict[int, int] = OrderedDict()
        self._multi: OrderedDict[int, int] = OrderedDict()
        self._memory: OrderedDict[int, int] = OrderedDict()
        self._by_priority = (self._single, self._multi, self._memory)
        self.size = 0
        self.count = 0
        self.single_size = 0
        self.multi_size = 0
        self.memory_size = 0
        self.hits = 0
        self.misses = 0
        self.cached_bytes = 0
        self.evicted_blocks = 0
        self.evicted_bytes = 0
        self.eviction_runs = 0
        self.failed_inserts = 0

    def get_or_cache(self, block: int, size: int, in_memory: bool) -> bool:
        """``getBlock``, then ``cacheBlock`` on a miss: True on a hit (the block becomes
        the most recent of its priority, a SINGLE one turns MULTI), False on a miss, the
        block then cached as MEMORY if ``in_memory`` else SINGLE."""
        multi = self._multi
        if block in multi:
            multi.move_to_end(block)
            self.hits += 1
            return True
        single = self._single
        if block in single:
            held = single.pop(block)
            multi[block] = held
            self.single_size -= held
            self.multi_size += held
            self.hits += 1
            return True
        memory = self._memory
        if block in memory:
            memory.move_to_end(block)
            self.hits += 1
            return True
        self.misses += 1
        if self.size + size > self._room and not self._admit(size):
            self.failed_inserts += 1
            return False
        if in_memory:
            memory[block] = size
            self.memory_size += size
        else:
            single[block] = size
            self.single_size += size
        self.size += size
        self.count += 1
        self.cached_bytes += size
        if self.size > self._acceptable:
            self._evict()
        return False

    def read(self, block: int, size: int, meta: bool) -> bool:
        # Alone, a cache holds index, bloom and data blocks alike.
        return self.get_or_cache(block, size, False)

    def contains(self, block: int) -> bool:
        """``containsBlock``."""
        return block in self._multi or block in self._single or block in self._memory

    def blocks(self, priority: int) -> list[int]:
        """The blocks of one priority, least recently used first."""
        return list(self._by_priority[priority])

    @property
    def hit_ratio(self) -> float:
        requests = self.hits + self.misses
        return self.hits / requests if requests else 0.0

    def reset_counters(self) -> None:
        """Zero the counters of a measurement window; what the cache holds stays."""
        self.hits = 0
        self.misses = 0
        self.cached_bytes = 0
        self.evicted_blocks = 0
        self.evicted_bytes = 0
        self.eviction_runs = 0
        self.failed_inserts = 0

    def _admit(self, size: int) -> bool:
        """Whether a block of ``size`` may go in when the cache is past ``_room``."""
        raise NotImplementedError

    def _evict(self) -> None:
        bytes_to_free = self.size - self._min_size
        if bytes_to_free <= 0:
            return
        self.eviction_runs += 1
        self._free_priorities(bytes_to_free)

    def _free_priorities(self, bytes_to_free: int) -> None:
        """The priority queue of ``LruBlockCache.evict`` and ``BucketCache.freeSpace``."""
        overflows = (
            self.single_size - self._single_share,
            self.multi_size - self._multi_share,
            self.memory_size - self._memory_share,
        )
        freed = 0
        remaining = 3
        for priority in _poll_order(overflows[0], overflows[1], overflows[2]):
            overflow = overflows[priority]
            if overflow > 0:
                # Java's long division truncates where // floors: they differ only below
                # zero, where either makes _free take one block.
                part = (bytes_to_free - freed) // remaining
                freed += self._free(priority, min(overflow, part), bytes_to_free)
            remaining -= 1

    def _free(self, priority: int, to_free: int, queued: int) -> int:
        """Evict the least recently used blocks of ``priority`` until ``to_free`` bytes
        are gone, at least one block (``BlockBucket.free``); the eviction's queue holds
        only the oldest ``queued`` bytes' worth of the priority."""
        bucket = self._by_priority[priority]
        target = min(to_free, queued)
        freed = 0
        blocks = 0
        while bucket:
            freed += bucket.popitem(last=False)[1]
            blocks += 1
            if freed >= target:
                break
        if priority == SINGLE:
            self.single_size -= freed
        elif priority == MULTI:
            self.multi_size -= freed
        else:
            self.memory_size -= freed
        self.size -= freed
        self.count -= blocks
        self.evicted_blocks += blocks
        self.evicted_bytes += freed
        return freed


class LruBlockCache(PriorityBlockCache):
    """The on-heap L1 (``LruBlockCache``).

    Defaults as in HBase: ``hbase.lru.blockcache.acceptable.factor`` 0.99,
    ``hbase.lru.blockcache.min.factor`` 0.95, ``hbase.lru.blockcache.single.percentage``
    0.25, ``multi.percentage`` 0.50, ``memory.percentage`` 0.25,
    ``hbase.lru.rs.inmemoryforcemode`` false and
    ``hbase.lru.blockcache.hard.capacity.limit.factor`` 1.2 (an insert is refused, and
    an eviction started, while the cache holds that many times its acceptable size).
    With ``force_in_memory`` (or a memory factor above 0.999) an eviction takes MEMORY
    blocks only once SINGLE and MULTI are empty, and keeps SINGLE to MULTI near 1 to 2.
    """

    __slots__ = ("_force_in_memory", "_hard_limit")

    def __init__(
        self,
        max_size: int,
        *,
        acceptable_factor: float = 0.99,
        min_factor: float = 0.95,
        single_factor: float = 0.25,
        multi_factor: float = 0.50,
        memory_factor: float = 0.25,
        force_in_memory: bool = False,
        hard_capacity_limit_factor: float = 1.2,
    ) -> None:
        super().__init__(
            max_size, acceptable_factor, min_factor, single_factor, multi_factor, memory_factor
        )
        self._force_in_memory = force_in_memory or memory_factor > 0.999
        self._hard_limit = int(hard_capacity_limit_factor * self._acceptable)
        self._room = self._hard_limit

    @property
    def on_heap_bytes(self) -> int:
        return self.size

    @property
    def evicted_on_heap_bytes(self) -> int:
        return self.evicted_bytes

    def _admit(self, size: int) -> bool:
        if self.size >= self._hard_limit:
            self._evict()
            return False
        return True

    def _free_priorities(self, bytes_to_free: int) -> None:
        if not self._force_in_memory:
            super()._free_priorities(bytes_to_free)
            return
        single = self.single_size
        multi = self.multi_size
        if bytes_to_free > single + multi:
            freed = self._free(SINGLE, single, bytes_to_free)
            freed += self._free(MULTI, multi, bytes_to_free)
            self._free(MEMORY, bytes_to_free - freed, bytes_to_free)
            return
        left = single + multi - bytes_to_free
        if 3 * single <= left:
            self._free(MULTI, bytes_to_free, bytes_to_free)
        elif 3 * multi <= 2 * left:
            self._free(SINGLE, bytes_to_free, bytes_to_free)
        else:
            freed = self._free(SINGLE, single - left // 3, bytes_to_free)
            if freed < bytes_to_free:
                self._free(MULTI, bytes_to_free - freed, bytes_to_free)


class BucketCache(PriorityBlockCache):
    """The off-heap L2 (``BucketCache``).

    Defaults as in HBase: ``hbase.bucketcache.acceptfactor`` 0.95,
    ``hbase.bucketcache.minfactor`` 0.85, ``hbase.bucketcache.single.factor`` 0.25,
    ``multi.factor`` 0.50, ``memory.factor`` 0.25. ``freeSpace`` runs once more than the
    acceptable size is used, or when a block does not fit (the allocator is full); it
    frees each priority as ``LruBlockCache`` does, down to the min size.
    """

    __slots__ = ()

    def __init__(
        self,
        max_size: int,
        *,
        acceptable_factor: float = 0.95,
        min_factor: float = 0.85,
        single_factor: float = 0.25,
        multi_factor: float = 0.50,
        memory_factor: float = 0.25,
    ) -> None:
        super().__init__(
            max_size, acceptable_factor, min_factor, single_factor, multi_factor, memory_factor
        )
        # The allocator's goal is (1 - min factor) of its space free.
        self._min_size = max_size - max(floor(max_size * (1.0 - min_factor)), 1)

    @property
    def on_heap_bytes(self) -> int:
        return 0

    @property
    def evicted_on_heap_bytes(self) -> int:
        return 0

    def _admit(self, size: int) -> bool:
        self._evict()  # the writer's CacheFullException: freeSpace, then try again
        return self.size + size <= self.max_size


class CombinedBlockCache(BlockCache):
    """L1 for index and bloom blocks, L2 for data blocks (``CombinedBlockCache``): data
    blocks no longer compete with the blocks every read needs, and stay off the heap."""

    __slots__ = ("l1", "l2")

    def __init__(self, l1: LruBlockCache, l2: BucketCache) -> None:
        self.l1 = l1
        self.l2 = l2

    def read(self, block: int, size: int, meta: bool) -> bool:
        if meta:
            return self.l1.get_or_cache(block, size, False)
        return self.l2.get_or_cache(block, size, False)

    def get_or_cache(self, block: int, size: int, meta: bool) -> bool:
        return self.read(block, size, meta)

    @property
    def hits(self) -> int:
        return self.l1.hits + self.l2.hits

    @property
    def misses(self) -> int:
        return self.l1.misses + self.l2.misses

    @property
    def hit_ratio(self) -> float:
        requests = self.hits + self.misses
        return self.hits / requests if requests else 0.0

    @property
    def on_heap_bytes(self) -> int:
        return self.l1.size

    @property
    def evicted_on_heap_bytes(self) -> int:
        return self.l1.evicted_bytes

    def reset_counters(self) -> None:
        self.l1.reset_counters()
        self.l2.reset_counters()
