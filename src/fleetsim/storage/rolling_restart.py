"""Restarting every region server of a cluster in turn: naively, or as
``graceful_stop.sh`` does.

``apache/hbase`` ``bin/graceful_stop.sh`` (and the HBase book, "Rolling Restart"):

1. turn the balancer off, remembering its state;
2. unload the server's regions with the region mover (``RegionMover``, ack mode: each
   region is checked online on its new server before the next one moves;
   ``--maxthreads`` movers at once, default 1), to the other servers in turn;
3. stop the region server cleanly (no write-ahead log to split), start it again;
4. move the saved regions back (``--reload``), the same way;
5. restore the balancer; then, in the rolling loop, wait ``cooldown`` and take the next
   server.

``naive`` restarts each server without moving anything first: its process is killed
and started again, so its regions stay offline until the master notices (here, when the
new instance on the same host registers, which expires the old one at once; else after
the ZooKeeper session timeout), splits its write-ahead log and reopens them.

The restart itself is the cluster's (the kubelet restarts the pod's app); this
procedure only decides when, through ``restart(pod, graceful)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from fleetsim.storage.region import OPEN, RETIRED

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.storage.master import HMaster
    from fleetsim.storage.region import Region, RegionServer

POLL: Final = 0.1
"""How often the procedure checks a move's acknowledgement or a server's return (s)."""

Restart = Callable[[str, bool], None]


class RollingRestart:
    """One rolling restart of every region server of ``master``'s cluster."""

    def __init__(
        self,
        env: Environment,
        master: HMaster,
        restart: Restart,
        *,
        graceful: bool,
        cooldown: float,
        max_threads: int,
    ) -> None:
        self.env = env
        self.master = master
        self.restart = restart
        self.graceful = graceful
        self.cooldown = cooldown
        self.max_threads = max_threads
        self.order: list[str] = []
        self.started_at = 0.0
        self.finished_at: float | None = None
        self.servers_restarted = 0
        self._balancer_was_on = master.balancer_on
        self._saved: list[Region] = []
        self._pending: list[tuple[Region, RegionServer]] = []
        self._moving: list[tuple[Region, RegionServer]] = []
        self._after_moves: Callable[[], None] = self._next

    def start(self) -> None:
        self.started_at = self.env.now
        self.order = sorted(server.pod for server in self.master.servers)
        if self.graceful:
            self._balancer_was_on = self.master.balancer_on
            self.master.balancer_on = False
        self._next()

    # --- one server after the other -------------------------------------------------

    def _next(self) -> None:
        if not self.order:
            if self.graceful:
                self.master.balancer_on = self._balancer_was_on
            self.finished_at = self.env.now
            return
        pod = self.order.pop(0)
        server = self.master.live_server(pod)
        if server is None:
            self._next()  # gone meanwhile: nothing to restart
            return
        if self.graceful:
            self._unload(server)
        else:
            self._stop(server)

    def _unload(self, server: RegionServer) -> None:
        """Move every region off ``server``, to the other servers in turn."""
        others = [s for s in self.master.servers if s is not server]
        self._saved = list(server.regions)
        if not others:
            self._stop(server)
            return
        self._pending = [
            (region, others[index % len(others)]) for index, region in enumerate(self._saved)
        ]
        self._after_moves = lambda: self._stop(server)
        self._move_some()

    def _stop(self, server: RegionServer) -> None:
        self.restart(server.pod, self.graceful)
        self.servers_restarted += 1
        self.env.schedule(POLL, self._await_return, server)

    def _await_return(self, old: RegionServer) -> None:
        """Wait for the new instance on the same host, and for its regions to reopen."""
        new = self.master.live_server(old.pod)
        if new is None or new is old or (not self.graceful and self.master.in_transition):
            self.env.schedule(POLL, self._await_return, old)
            return
        if self.graceful:
            saved = [r for r in self._saved if r.state != RETIRED and r.server is not None]
            self._pending = [(region, new) for region in saved]
            self._after_moves = self._cool_down
            self._move_some()
        else:
            self._cool_down()

    def _cool_down(self) -> None:
        self.env.schedule(self.cooldown, lambda _: self._next())

    # --- the region mover ---------------------------------------------------------------

    def _move_some(self) -> None:
        """Start moves up to ``max_threads`` at once; each is acknowledged when open."""
        while self._pending and len(self._moving) < self.max_threads:
            region, target = self._pending.pop(0)
            if region.state == RETIRED or not target.alive or region.server is target:
                continue
            self.master.move(region, target)
            self._moving.append((region, target))
        if not self._moving:
            self._after_moves()
            return
        self.env.schedule(POLL, self._acknowledge)

    def _acknowledge(self, _: object) -> None:
        still = []
        for region, target in self._moving:
            moved = region.state == OPEN and region.server is target
            if not moved and target.alive and region.state != RETIRED:
                still.append((region, target))
        done = len(still) < len(self._moving)
        self._moving = still
        if done or not still:
            self._move_some()
        else:
            self.env.schedule(POLL, self._acknowledge)
