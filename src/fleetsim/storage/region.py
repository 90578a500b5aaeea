"""Regions and region servers, as the HBase master and its clients see them.

A **region** is a contiguous range of a table's row keys, ``[start, end)``. It is
served by one region server at a time; while it changes hands (assigned, moved,
split, or its server died) it is *in transition* and refuses requests (the client
hears a ``NotServingRegionException`` and asks ``hbase:meta`` again). A region that
split is *retired*: its two daughters replace it in the table, and a client that still
holds the parent's location is refused as well.

A region's data lives in files replicated over the cluster's storage
(:mod:`fleetsim.storage.placement`): the zones of its replicas are fixed when the data
is first written, and neither moves nor splits change them (the files stay where HDFS
put them; daughters reference the parent's files).

A **region server** is one run of a region-server pod's app container: the pair of
host and start code HBase calls a ``ServerName``. A restarted container is a new
server, as a restarted HBase process is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.metrics.histogram import Histogram

if TYPE_CHECKING:
    from fleetsim.dataplane.container import AppContainer
    from fleetsim.storage.region_server import HRegionServer
    from fleetsim.storage.store import Store
    from fleetsim.storage.table import Table

OPEN: Final = 0
IN_TRANSITION: Final = 1
RETIRED: Final = 2


class Region:
    """One region of a table."""

    __slots__ = (
        "data_high",
        "data_low",
        "end",
        "name",
        "reachable",
        "replica_zones",
        "requests",
        "server",
        "size",
        "split_check_at",
        "start",
        "state",
        "store",
        "table",
        "transition_since",
    )

    def __init__(self, table: Table, start: int, end: int, size: int, number: int) -> None:
        self.table = table
        self.start = start
        self.end = end
        self.name = f"{table.name},{number}"
        self.server: RegionServer | None = None
        self.state = IN_TRANSITION
        self.transition_since = 0.0
        self.size = size
        # The key range the region's data covers, for the split point.
        self.data_low = start
        self.data_high = end
        self.split_check_at = 0
        self.replica_zones: tuple[str, ...] = ()
        self.reachable = True
        self.requests = 0
        self.store: Store | None = None  # with a region-server memory model

    @property
    def serving(self) -> bool:
        return self.state == OPEN and self.reachable

    def __repr__(self) -> str:
        server = self.server.name if self.server is not None else None
        return f"Region({self.name}, [{self.start}, {self.end}), state={self.state}, {server})"


class RegionServer:
    """One run of a region server: its container, the regions it holds, its counters."""

    __slots__ = (
        "alive",
        "container",
        "dead_since",
        "latency",
        "name",
        "pod",
        "regions",
        "requests",
        "runtime",
        "table_requests",
        "zone",
    )

    def __init__(self, container: AppContainer, pod: str, start_code: int) -> None:
        self.container = container
        self.pod = pod
        self.name = f"{pod},{start_code}"
        self.zone = container.zone
        self.regions: list[Region] = []
        self.alive = True
        self.dead_since: float | None = None
        self.requests = 0
        self.table_requests: dict[str, int] = {}
        self.latency = Histogram()
        self.runtime: HRegionServer | None = None  # its process, with a memory model

    def held(self, table: Table) -> int:
        """Regions of ``table`` this server holds."""
        return sum(1 for region in self.regions if region.table is table)

    def __repr__(self) -> str:
        return f"RegionServer({self.name}, zone={self.zone}, regions={len(self.regions)})"
