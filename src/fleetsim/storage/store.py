"""A region's store (``HStore``, one column family): its memstore and its store files.

Writes go to the memstore; a flush writes it out as a new store file (newest last)
once it reaches ``hbase.hregion.memstore.flush.size``. Compactions replace a run of
files by one. The files live in HDFS, so a store stays with its region when the
region moves to another server; a split gives each daughter half of every file (HBase
gives daughters reference files to the parent's, rewritten by their first compaction).

Blocks are identified per file generation: a compaction writes new files, so the
blocks of the old ones are no longer read and age out of the block cache.
"""

from __future__ import annotations

from itertools import count
from typing import Final

_GENERATIONS: Final = count(1)
BLOCK_ID_SHIFT: Final = 40
"""A generation's block ids are ``generation << 40`` plus a block's number."""


def next_block_base() -> int:
    return next(_GENERATIONS) << BLOCK_ID_SHIFT


class Store:
    """The memstore and store files of one region."""

    __slots__ = (
        "block_base",
        "blocked_since",
        "compacting",
        "edits_since",
        "files",
        "flush_pending",
        "flushing",
        "last_major_at",
        "major_compacted",
        "major_delay",
        "memstore",
    )

    def __init__(self, files: list[int], *, last_major_at: float, major_delay: float) -> None:
        self.files = files  # sizes in bytes, oldest first
        self.memstore = 0
        self.edits_since = -1.0  # the oldest unflushed edit (< 0: none)
        self.flushing = False
        self.flush_pending = False  # a flush waits for a compaction (too many files)
        self.blocked_since = -1.0
        self.compacting = False
        self.major_compacted = len(files) == 1
        self.last_major_at = last_major_at
        # The period with this store's jitter: HBase seeds the jitter per store, so it
        # stays the same from one major compaction to the next.
        self.major_delay = major_delay
        self.block_base = next_block_base()

    def compacted(self, first: int, end: int, size: int, *, major: bool, now: float) -> None:
        """Files ``[first, end)`` were rewritten into one of ``size`` bytes."""
        self.files[first:end] = [size]
        self.block_base = next_block_base()
        self.major_compacted = major or (self.major_compacted and len(self.files) == 1)
        if major:
            self.last_major_at = now

    @property
    def next_major_at(self) -> float:
        """When a time-based major compaction is due (``inf``: never)."""
        return self.last_major_at + self.major_delay

    def daughter(self) -> Store:
        """Half of this store, for a daughter of a split."""
        store = Store(
            [max(1, size // 2) for size in self.files],
            last_major_at=self.last_major_at,
            major_delay=self.major_delay,
        )
        store.memstore = self.memstore // 2
        store.edits_since = self.edits_since
        store.major_compacted = False  # reference files until compacted
        return store
