"""The HMaster of one HBase cluster: region servers, region assignment, splits, balancing.

One master per region-server service (one HBase cluster). It learns of region servers
as their pods become Ready (the endpoints controller publishes to it, as a region
server registers in ZooKeeper when it has started) and of their end through its
ZooKeeper watch, evaluated every ``livenessCheckInterval``:

- a server stopped cleanly (SIGTERM: it closes its regions and deletes its znode) is
  expired at once, and its regions reopen elsewhere after ``regionOpenTime``;
- a server that died, became unreachable (killed, its node's zone failed) or froze (a
  stop-the-world pause) keeps its ZooKeeper session until ``zookeeper.session.timeout``
  (90 s) passes without a heartbeat (a frozen server expired so aborts when it thaws,
  ``YouAreDeadException``, and its pod's app is restarted as after a crash); then
  ``ServerCrashProcedure`` splits its write-ahead log (``walSplitTime``) and assigns
  its regions (``apache/hbase`` ``hbase-server/src/main/java/org/apache/hadoop/hbase/
  master/procedure/ServerCrashProcedure.java``).

Regions are assigned round-robin at the start, in one pass over the tables' regions
from a random first server, as HBase's bulk assignment does
(``BaseLoadBalancer.roundRobinAssignment``); so a table with 2.5 regions per server
leaves servers with 2 or 3. A region whose replicas are all in zones
that are down cannot open anywhere: it waits until a zone of its replicas comes back.

Splits follow ``SteppingSplitPolicy`` (:mod:`fleetsim.storage.split_policy`); the
daughters open on the parent's server after ``splitTime``. The balancer
(:mod:`fleetsim.storage.balancer`) runs every ``period`` unless regions are in
transition (HBase skips a run then); each move takes its region offline for
``regionOpenTime``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.request import RESET
from fleetsim.storage.balancer import StochasticLoadBalancer
from fleetsim.storage.placement import reachable, replica_zones
from fleetsim.storage.region import IN_TRANSITION, OPEN, RETIRED, Region, RegionServer
from fleetsim.storage.split_policy import split_size

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.scenario.storage import Storage
    from fleetsim.storage.table import Table


class HMaster:
    """Assigns the regions of ``tables`` over the pods of one region-server service."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        spec: Storage,
        service: str,
        tables: Sequence[Table],
        zones: Sequence[str],
    ) -> None:
        self.env = env
        self.spec = spec
        self.timing = spec.master  # the master's timing settings
        self.service = service
        self.tables = list(tables)
        self.zones = list(zones)
        self.servers: list[RegionServer] = []  # live (not expired)
        self.known: list[RegionServer] = []  # every server registered, live or not
        self._by_container: dict[AppContainer, RegionServer] = {}
        self._start_codes = 0
        self._placement = streams.integers(f"storage/{service}/placement", 1 << 30)
        self.balancer = StochasticLoadBalancer(
            spec.balancer, streams.generator(f"storage/{service}/balancer")
        )
        self.zones_down: set[str] = set()
        self.waiting: list[Region] = []  # offline, for want of a server or a replica
        self.started = False
        self.balancer_on = spec.balancer.enabled  # the balance switch (graceful_stop turns it off)
        self._aborting: list[RegionServer] = []  # expired while frozen: abort when thawed
        self.abort: Callable[[str], None] | None = None  # the cluster crashes a pod's app
        self.registered: Callable[[RegionServer], None] | None = None  # a new server
        self.aborted = 0
        # Counters of the measured window.
        self.moves = 0
        self.splits = 0
        self.reassigned = 0
        self.servers_expired = 0
        self.balancer_runs = 0
        self.balancer_skipped = 0
        self._unavailable = 0
        self._unavailable_since = 0.0
        self.unavailable_seconds = 0.0

    # --- region servers --------------------------------------------------------------

    def set_endpoints(self, endpoints: Sequence[Host]) -> None:
        """The service's Ready pods: any container not seen before is a new server."""
        for host in endpoints:
            if isinstance(host, AppContainer) and host not in self._by_container:
                self._register(host)

    def _register(self, container: AppContainer) -> None:
        # A new instance on the host of a live one: the old one is dead, whatever its
        # ZooKeeper session says (ServerManager.checkAndRecordNewServer: "looks stale").
        for stale in [s for s in self.servers if s.pod == container.name]:
            self._expire(stale, crashed=True)
        self._start_codes += 1
        server = RegionServer(container, container.name, self._start_codes)
        self._by_container[container] = server
        self.servers.append(server)
        self.known.append(server)
        if self.registered is not None:
            self.registered(server)
        if self.started and self.waiting:
            self._assign_waiting()

    def start(self) -> None:
        """Bulk-assign every table round-robin, then watch servers and balance."""
        self.started = True
        env = self.env
        regions = [region for table in self.tables for region in table.regions]
        servers = self.servers
        if not servers:
            self.waiting.extend(regions)
        else:
            first = next(self._placement) % len(servers)
            for index, region in enumerate(regions):
                server = servers[(first + index) % len(servers)]
                self._write_replicas(region, server)
                self._open(region, server)
        self._recount()
        env.every(self.timing.liveness_check_interval, self._watch)
        if self.spec.balancer.enabled:
            env.every(self.spec.balancer.period, self._balance, start=self.spec.balancer.period)

    def _write_replicas(self, region: Region, writer: RegionServer) -> None:
        replication = region.table.spec.replication
        region.replica_zones = replica_zones(
            replication.placement,
            replication.factor,
            writer.zone,
            self.zones,
            next(self._placement),
        )
        region.reachable = reachable(region.replica_zones, self.zones_down)

    def _watch(self, now: float) -> None:
        """The ZooKeeper watch: expire servers whose session ended.

        A server stops heartbeating when it dies, is lost, or freezes (a stop-the-world
        pause). A pause that ends within the session timeout is forgiven; one that
        outlasts it gets the server expired and its regions reassigned, and when it
        thaws it learns it is dead (``YouAreDeadException``) and aborts.
        """
        timeout = self.timing.zookeeper_session_timeout
        for server in list(self.servers):
            container = server.container
            dead = container.lost or container.finish_status == RESET
            frozen = not dead and now < container.frozen_until
            if dead or frozen:
                if server.dead_since is None:
                    server.dead_since = container.frozen_from if frozen else now
                    self._recount()
                if now - server.dead_since >= timeout:
                    self._expire(server, crashed=True)
                    if frozen:
                        self._aborting.append(server)
            elif server.dead_since is not None:
                server.dead_since = None  # the pause ended in time: the session lives
            elif not container.accepting and not container.paused:
                self._expire(server, crashed=False)
        for server in list(self._aborting):
            if now >= server.container.frozen_until:
                self._aborting.remove(server)
                self.aborted += 1
                if self.abort is not None:
                    self.abort(server.pod)

    def _expire(self, server: RegionServer, *, crashed: bool) -> None:
        server.alive = False
        self.servers.remove(server)
        self.servers_expired += 1
        orphans = [region for region in server.regions if region.state != RETIRED]
        server.regions = []
        if server.runtime is not None:
            for region in orphans:
                server.runtime.region_closed(region)  # its WAL replays into a file
        for region in orphans:
            self._take_offline(region)
            region.server = None
        delay = self.timing.wal_split_time if crashed else 0.0
        self.env.schedule(delay, self._reassign, orphans)
        self._recount()

    def _reassign(self, regions: list[Region]) -> None:
        for region in regions:
            if region.state == IN_TRANSITION and region.server is None:
                self.reassigned += 1
                self.waiting.append(region)
        self._assign_waiting()

    def _assign_waiting(self) -> None:
        """Open each waiting region on the live server with fewest regions, if it can."""
        still: list[Region] = []
        for region in self.waiting:
            if region.state == RETIRED:
                continue
            if not self.servers or not region.reachable:
                still.append(region)
                continue
            target = min(self.servers, key=lambda s: (s.held(region.table), len(s.regions)))
            if not region.replica_zones:
                self._write_replicas(region, target)
            self._open(region, target, delay=self.timing.region_open_time)
        self.waiting = still

    # --- opening, moving, splitting ---------------------------------------------------

    def _take_offline(self, region: Region) -> None:
        if region.state == OPEN:
            region.state = IN_TRANSITION
            region.transition_since = self.env.now

    def _open(self, region: Region, server: RegionServer, delay: float = 0.0) -> None:
        """``region`` opens on ``server`` after ``delay`` (offline until then)."""
        server.regions.append(region)
        region.server = server
        if delay <= 0.0:
            region.state = OPEN
            return
        self._take_offline(region)
        self.env.schedule(delay, self._opened, (region, server))

    def _opened(self, argument: tuple[Region, RegionServer]) -> None:
        region, server = argument
        if region.server is not server or region.state == RETIRED:
            return
        if not server.alive:
            return  # its server died meanwhile: the crash procedure reassigns it
        region.state = OPEN
        self._recount()

    def move(self, region: Region, target: RegionServer) -> None:
        """Close ``region`` where it is and open it on ``target``."""
        source = region.server
        if source is not None and region in source.regions:
            source.regions.remove(region)
            if source.runtime is not None:
                source.runtime.region_closed(region)  # closing flushes the memstore
        self.moves += 1
        self._open(region, target, delay=self.timing.region_open_time)
        self._recount()

    def maybe_split(self, region: Region) -> None:
        """A write took ``region`` past its last split check: split it if it is due."""
        threshold = split_size(region)
        if region.size < threshold or region.state != OPEN:
            region.split_check_at = max(threshold, region.size + 1)
            return
        region.split_check_at = 1 << 62  # one split at a time
        self._take_offline(region)
        self._recount()
        self.env.schedule(self.timing.split_time, self._split_done, (region, region.server))

    def _split_done(self, argument: tuple[Region, RegionServer | None]) -> None:
        parent, server = argument
        if server is None or parent.server is not server or not server.alive:
            return  # its server died: the crash procedure reopens the parent elsewhere
        lower, upper = parent.table.split(parent)
        server.regions.remove(parent)
        for daughter in (lower, upper):
            server.regions.append(daughter)
            daughter.server = server
            daughter.state = OPEN
            daughter.split_check_at = split_size(daughter)
        self.splits += 1
        self._recount()

    # --- balancing ---------------------------------------------------------------------

    def _balance(self, _: float) -> None:
        if not self.balancer_on:
            return
        if self.in_transition:
            self.balancer_skipped += 1
            return
        servers = list(self.servers)
        runs = self.balancer.runs
        plan = self.balancer.plan([server.regions for server in servers])
        self.balancer_runs += self.balancer.runs - runs
        for region, target in plan:
            self.move(region, servers[target])

    # --- zones -------------------------------------------------------------------------

    def zone_changed(self, zone: str, up: bool) -> None:
        """A zone failed or came back: which regions still have a replica to read (and,
        for the accounting, which servers were lost with it)."""
        if up:
            self.zones_down.discard(zone)
        else:
            self.zones_down.add(zone)
        for table in self.tables:
            for region in table.regions:
                if region.replica_zones:
                    region.reachable = reachable(region.replica_zones, self.zones_down)
        if up and self.waiting:
            self._assign_waiting()
        self._recount()

    # --- accounting --------------------------------------------------------------------

    def _recount(self) -> None:
        """Accrue region-seconds of unavailability up to now, then count again."""
        now = self.env.now
        self.unavailable_seconds += self._unavailable * (now - self._unavailable_since)
        self._unavailable_since = now
        self._unavailable = sum(
            1 for table in self.tables for region in table.regions if not _available(region)
        )

    def start_window(self) -> None:
        self._recount()
        self.unavailable_seconds = 0.0
        self.moves = self.splits = self.reassigned = self.servers_expired = self.aborted = 0
        self.balancer_runs = self.balancer_skipped = 0

    def finish(self) -> None:
        self._recount()

    def live_server(self, pod: str) -> RegionServer | None:
        """The live region server on ``pod``, if any."""
        for server in self.servers:
            if server.pod == pod:
                return server
        return None

    @property
    def in_transition(self) -> bool:
        return any(
            region.state == IN_TRANSITION for table in self.tables for region in table.regions
        )


def _available(region: Region) -> bool:
    """Whether a request for ``region`` can be served now, as an observer sees it: open,
    with a replica to read, on a server that is still there (the master learns of a
    lost server only when its ZooKeeper session ends)."""
    server = region.server
    if not region.serving or server is None:
        return False
    container = server.container
    return not container.lost and container.finish_status != RESET
