"""Fixed-delay deadlines without one clock event per deadline.

A client timeout or a per-try timeout always has the same delay for a given traffic
source or route, so its deadlines are armed in increasing order. ``FixedDelayDeadlines``
keeps them in a FIFO and holds at most one event on the clock: when it fires it expires
what is due, drops deadlines whose subject has moved on (most requests finish long
before their timeout) and re-arms for the first one still live. This turns one heap push
and pop per request into roughly one per timeout period.

A subject is live while ``subject.done`` is false and, for a deadline armed with a
``token`` (a try number), while ``subject.try_number`` still equals it. The check is
inlined here because it runs once per request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final, Generic, Protocol, TypeVar

from fleetsim.engine.environment import Environment

ANY_TRY: Final = -1


class Deadlined(Protocol):
    """What a deadline watches: finished, and which try is current."""

    @property
    def done(self) -> bool: ...

    @property
    def try_number(self) -> int: ...


SubjectT = TypeVar("SubjectT", bound=Deadlined)


class FixedDelayDeadlines(Generic[SubjectT]):
    """Deadlines that all fall ``delay`` seconds after they are armed.

    ``on_expire(subject, token)`` runs for each deadline reached while its subject is
    still live.
    """

    __slots__ = ("_entries", "_env", "_fire_at", "_on_expire", "delay")

    def __init__(
        self, env: Environment, delay: float, on_expire: Callable[[SubjectT, int], None]
    ) -> None:
        self._env = env
        self.delay = delay
        self._on_expire = on_expire
        self._entries: deque[tuple[float, SubjectT, int]] = deque()
        self._fire_at: float | None = None

    def arm(self, subject: SubjectT, token: int = ANY_TRY) -> None:
        """Start a deadline for ``subject``; ``token`` limits it to one try."""
        deadline = self._env.now + self.delay
        entries = self._entries
        if entries:
            # Drop one finished deadline from the front: most subjects finish long before
            # their deadline, so the FIFO stays near the number of live ones instead of
            # holding a whole delay's worth (a 60 s RPC timeout at 20,000/s: 1.2 million).
            _, head, head_token = entries[0]
            if head.done or (head_token != ANY_TRY and head.try_number != head_token):
                entries.popleft()
        entries.append((deadline, subject, token))
        if self._fire_at is None:
            self._fire_at = deadline
            self._env.schedule_at(deadline, self._fire)

    def __len__(self) -> int:
        return len(self._entries)

    def _fire(self, _: None) -> None:
        entries = self._entries
        now = self._env.now
        on_expire = self._on_expire
        while entries:
            deadline, subject, token = entries[0]
            live = not subject.done and (token == ANY_TRY or subject.try_number == token)
            if deadline <= now:
                entries.popleft()
                if live:
                    on_expire(subject, token)
            elif not live:
                entries.popleft()
            else:
                break
        if entries:
            self._fire_at = entries[0][0]
            self._env.schedule_at(self._fire_at, self._fire)
        else:
            self._fire_at = None
