"""A table: its regions in row-key order, pre-split at the start and split as it grows.

The table is pre-split evenly over the hashed part of each salt bucket's key range
(:mod:`fleetsim.storage.row_keys`); a table with k salt buckets has its regions shared
out over the buckets, the first ``regions mod k`` buckets one more, so that no region
spans two buckets. The first region starts at key 0 and the last one has no end, as
HBase's first and last regions have empty start and end keys.

A split replaces a region by two daughters at its split point: the middle of the key
range its data covers (HBase splits at the mid key of the region's largest store file,
``RegionSplitPolicy.getSplitPoint``; for data spread over the range, the middle).
Each daughter holds half the data and references the parent's files, so its replicas
are the parent's.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Final

from fleetsim.storage.region import RETIRED, Region
from fleetsim.storage.row_keys import BUCKET_WIDTH, HASHED_SPAN, bucket_start

if TYPE_CHECKING:
    from fleetsim.scenario.storage import Table as TableSpec

NO_END: Final = 1 << 80
"""The end key of the last region (HBase: empty, i.e. past every key)."""


class Table:
    """The regions of one table, in key order."""

    __slots__ = ("_numbered", "name", "regions", "retired", "spec", "starts")

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._numbered = 0
        self.regions: list[Region] = []
        self.retired: list[Region] = []  # regions that split, for their request counts
        bounds = pre_split_points(spec.regions, spec.salt_buckets)
        for index, start in enumerate(bounds):
            end = bounds[index + 1] if index + 1 < len(bounds) else NO_END
            self.regions.append(self._new_region(start, end, spec.region_size))
        self.starts = [region.start for region in self.regions]
        for region in self.regions:
            # Pre-split data covers the hashed part of the region's range.
            region.data_high = min(region.end, _hashed_end(region.start))

    def _new_region(self, start: int, end: int, size: int) -> Region:
        region = Region(self, start, end, size, self._numbered)
        self._numbered += 1
        return region

    def region_for(self, key: int) -> Region:
        """The region whose range holds ``key`` (what a lookup in ``hbase:meta`` finds)."""
        return self.regions[bisect_right(self.starts, key) - 1]

    def split(self, parent: Region) -> tuple[Region, Region]:
        """Replace ``parent`` by its two daughters; they inherit its replicas."""
        point = split_point(parent)
        half = parent.size // 2
        lower = self._new_region(parent.start, point, half)
        upper = self._new_region(point, parent.end, parent.size - half)
        lower.data_low, lower.data_high = parent.data_low, point
        upper.data_low, upper.data_high = point, max(point + 1, parent.data_high)
        for daughter in (lower, upper):
            daughter.replica_zones = parent.replica_zones
            daughter.reachable = parent.reachable
            if parent.store is not None:
                daughter.store = parent.store.daughter()
        index = self.regions.index(parent)
        self.regions[index : index + 1] = [lower, upper]
        self.starts[index : index + 1] = [lower.start, upper.start]
        parent.state = RETIRED
        self.retired.append(parent)
        return lower, upper


def pre_split_points(regions: int, buckets: int) -> list[int]:
    """Start keys of a table pre-split into ``regions`` over ``buckets`` salt buckets."""
    starts: list[int] = []
    for bucket in range(buckets):
        count = regions // buckets + (1 if bucket < regions % buckets else 0)
        base = bucket_start(bucket)
        starts.extend(base + index * HASHED_SPAN // count for index in range(count))
    return starts


def split_point(region: Region) -> int:
    """The middle of the key range the region's data covers, inside the region."""
    low = max(region.data_low, region.start)
    high = min(region.data_high, region.end)
    point = (low + high) // 2
    return min(max(point, region.start + 1), region.end - 1)


def _hashed_end(start: int) -> int:
    """The end of the hashed keys in the bucket that ``start`` falls in."""
    return (start // BUCKET_WIDTH) * BUCKET_WIDTH + HASHED_SPAN
