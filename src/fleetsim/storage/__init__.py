"""A sharded storage tier, named as HBase names things.

- ``row_keys.py``: where row keys sit in a table's key space (salt buckets, hashed and
  time-ordered keys) and how a client draws them (uniform, Zipf, sequential);
- ``region.py``: regions (key ranges, their state and replicas) and region servers;
- ``table.py``: a table's regions in key order, pre-split and split;
- ``placement.py``: where a region's data replicas live (zones as HDFS racks);
- ``split_policy.py``: ``SteppingSplitPolicy``;
- ``balancer.py``: ``StochasticLoadBalancer``;
- ``master.py``: the HMaster: servers, assignment, crash recovery, splits, balancing;
- ``client.py``: the HBase client: region-location cache, retries, salted fan-out;
- ``rolling_restart.py``: restarting every region server, naively or as ``graceful_stop.sh``;
- ``region_server.py``: the region server process (``HRegionServer``): reads through the
  block cache, memstores and flushes, the heap reported to the collector;
- ``block_cache.py``: ``LruBlockCache``, ``BucketCache``, ``CombinedBlockCache``;
- ``garbage_collector.py``: the JVM heap under ParNew and CMS, and its pauses;
- ``store.py``: a region's store (``HStore``): memstore and store files;
- ``compaction_policy.py``: ``ExploringCompactionPolicy`` (and the older ratio-based one),
  off-peak hours, the major-compaction period;
- ``throughput_controller.py``: the pressure-aware compaction throughput controller;
- ``compact_split.py``: the compaction threads (``CompactSplit``) and a compaction's I/O;
- ``compaction_scheduler.py``: an operator's night-time major-compaction scheduler;
- ``tier.py``: builds the tier of a scenario and wires it to the cluster.
"""
