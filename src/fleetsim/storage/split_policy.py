"""When a region splits: HBase's default ``SteppingSplitPolicy``.

``apache/hbase`` ``hbase-server/src/main/java/org/apache/hadoop/hbase/regionserver/
SteppingSplitPolicy.java`` (the default ``hbase.regionserver.region.split.policy``):
a region splits when it passes twice the memstore flush size if it is its table's only
region on its server, else when it passes ``hbase.hregion.max.filesize``. So a new
table spreads quickly over a few regions, then grows to the full size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.storage.region import Region


def split_size(region: Region) -> int:
    """The size beyond which ``region`` splits, on the server that holds it now."""
    spec = region.table.spec
    server = region.server
    alone = server is not None and server.held(region.table) == 1
    return 2 * spec.memstore_flush_size if alone else spec.max_file_size
