"""Fixed-delay timers without one heap entry per timer.

A client timeout or a per-try timeout always has the same delay for a given traffic
source or route, so its deadlines are armed in increasing order. ``FixedDelayTimers``
keeps them in a FIFO and holds at most one event on the clock: when it fires it expires
what is due, skips timers already cancelled (most requests finish long before their
timeout) and re-arms for the first one still live. This turns one heap push and pop per
request into roughly one per timeout period.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from fleetsim.engine.environment import Environment


class FixedDelayTimers:
    """Timers that all fire ``delay`` seconds after they are armed.

    ``is_live(subject, token)`` says whether a timer still matters when it is reached;
    ``on_expire(subject, token)`` runs for the ones that do.
    """

    __slots__ = ("_armed_at", "_entries", "_env", "_is_live", "_on_expire", "delay")

    def __init__(
        self,
        env: Environment,
        delay: float,
        is_live: Callable[[Any, int], bool],
        on_expire: Callable[[Any, int], None],
    ) -> None:
        self._env = env
        self.delay = delay
        self._is_live = is_live
        self._on_expire = on_expire
        self._entries: deque[tuple[float, Any, int]] = deque()
        self._armed_at: float | None = None

    def arm(self, subject: Any, token: int = 0) -> None:
        """Start a timer for ``subject``; ``token`` tells attempts of one subject apart."""
        deadline = self._env.now + self.delay
        self._entries.append((deadline, subject, token))
        if self._armed_at is None:
            self._armed_at = deadline
            self._env.schedule_at(deadline, self._fire)

    def __len__(self) -> int:
        return len(self._entries)

    def _fire(self, _: Any) -> None:
        entries = self._entries
        now = self._env.now
        is_live = self._is_live
        on_expire = self._on_expire
        while entries:
            deadline, subject, token = entries[0]
            if deadline <= now:
                entries.popleft()
                if is_live(subject, token):
                    on_expire(subject, token)
            elif not is_live(subject, token):
                entries.popleft()
            else:
                break
        if entries:
            self._armed_at = entries[0][0]
            self._env.schedule_at(self._armed_at, self._fire)
        else:
            self._armed_at = None
