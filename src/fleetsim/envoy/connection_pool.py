"""Envoy's upstream connection pools: one per worker thread per upstream host.

Source: ``docs/root/intro/arch_overview/upstream/connection_pooling.rst``. Every Envoy
worker has its own pool for every host, so a client proxy with ``concurrency`` workers
ends up holding up to ``concurrency`` connections to each host it talks to.

- HTTP/1.1 (Istio's default between sidecars, ``h2UpgradePolicy: DO_NOT_UPGRADE``): one
  request at a time per connection. A request takes an idle connection if there is one
  (the most recently used, as Envoy's pool keeps its ready clients in a list it takes
  from the front) and opens a new one otherwise.
- HTTP/2: requests share a connection up to ``maxConcurrentStreams``; a new connection
  is opened only when every one is full.
- A connection with no request on it for ``idleTimeout`` (default 1 h) is closed. A
  connection that has served ``maxRequestsPerConnection`` requests is closed after it.

A pool does the bookkeeping of its connections; its ``owner`` (the proxy's upstream
cluster, or the proxy's side towards its own app) counts them and reacts to opens and
closes. A connection has at most one idle timer on the clock: when it fires, a
connection idle for the whole timeout closes, one used since is checked again when its
current idle period would end. So timers grow with connections, not with requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host, InboundProxy
    from fleetsim.engine.environment import Environment


class PoolOwner(Protocol):
    env: Environment
    idle_timeout: float  # 0 = never

    def connection_opened(self, connection: Connection) -> None: ...

    def connection_closed(self, connection: Connection) -> None: ...


class Connection:
    """One connection of a pool. ``done`` once closed."""

    __slots__ = ("done", "idle_since", "peer", "peer_epoch", "pool", "requests", "streams", "timed")

    def __init__(self, pool: ConnectionPool, peer: InboundProxy | None) -> None:
        self.pool = pool
        self.peer = peer  # the sidecar at the other end, or None
        self.peer_epoch = peer.epoch if peer is not None else 0
        self.streams = 0
        self.requests = 0
        self.idle_since = 0.0
        self.timed = False  # an idle timer is on the clock
        self.done = False

    @property
    def stale(self) -> bool:
        """The peer restarted since this connection was opened: it is gone there."""
        peer = self.peer
        return peer is not None and peer.epoch != self.peer_epoch


class ConnectionPool:
    """The connections of one worker thread to one upstream host."""

    __slots__ = ("available", "host", "live", "max_requests", "max_streams", "owner", "peer")

    def __init__(
        self,
        owner: PoolOwner,
        host: Host | None,
        peer: InboundProxy | None,
        *,
        max_streams: int = 1,
        max_requests: int = 0,
    ) -> None:
        self.owner = owner
        self.host = host
        self.peer = peer
        self.max_streams = max_streams  # 1 = HTTP/1.1
        self.max_requests = max_requests  # per connection; 0 = unlimited
        self.available: list[Connection] = []  # connections with room for a request
        self.live: set[Connection] = set()

    @property
    def open(self) -> int:
        return len(self.live)

    def acquire(self) -> tuple[Connection, bool]:
        """A connection for one request, and whether it had to be opened for it."""
        available = self.available
        peer = self.peer
        epoch = peer.epoch if peer is not None else 0
        while available:
            connection = available[-1]
            if connection.peer_epoch != epoch and connection.peer is not None:
                available.pop()
                self._drop(connection)
                continue
            connection.streams += 1
            connection.requests += 1
            if connection.streams >= self.max_streams:
                available.pop()
            return connection, False
        connection = Connection(self, self.peer)
        connection.streams = 1
        connection.requests = 1
        self.live.add(connection)
        if self.max_streams > 1:
            available.append(connection)
        self.owner.connection_opened(connection)
        return connection, True

    def release(self, connection: Connection) -> None:
        """The request on ``connection`` ended normally."""
        if connection.done:
            return
        connection.streams -= 1
        if self.max_requests and connection.requests >= self.max_requests:
            if connection.streams == 0:
                self.close(connection)
            return
        if connection.streams == self.max_streams - 1:
            self.available.append(connection)
        if connection.streams == 0:
            owner = self.owner
            connection.idle_since = owner.env.now
            if owner.idle_timeout > 0.0 and not connection.timed:
                connection.timed = True
                owner.env.schedule(owner.idle_timeout, idle_check, connection)

    def reset(self, connection: Connection) -> None:
        """The request on ``connection`` was reset (a per-try timeout, a route timeout).

        Resetting an HTTP/1.1 request closes its connection; on HTTP/2 only the stream
        goes.
        """
        if self.max_streams == 1:
            self.close(connection)
        else:
            self.release(connection)

    def close(self, connection: Connection) -> None:
        if connection.done:
            return
        if connection in self.available:
            self.available.remove(connection)
        self._drop(connection)

    def _drop(self, connection: Connection) -> None:
        connection.done = True
        self.live.discard(connection)
        self.owner.connection_closed(connection)

    def close_all(self) -> list[Connection]:
        """Close every connection (the host left, the proxy stops); returns them."""
        closing = list(self.live)
        self.available.clear()
        for connection in closing:
            self._drop(connection)
        return closing


def idle_check(connection: Connection) -> None:
    """An idle timer of ``connection`` fired: close it if it stayed idle long enough."""
    connection.timed = False
    if connection.done or connection.streams:
        return  # busy: its next release starts a new timer
    owner = connection.pool.owner
    remaining = connection.idle_since + owner.idle_timeout - owner.env.now
    if remaining <= 1e-9:
        connection.pool.close(connection)
    else:
        connection.timed = True
        owner.env.schedule(remaining, idle_check, connection)
