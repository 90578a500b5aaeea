"""A test's router and source for hand-made requests: it records what it hears.

The per-request classes are compiled (``fleetsim.compiled``) and check their arguments'
types at run time, so tests hand them real ``Request`` objects rather than look-alikes;
this class is the route and the source of such requests (it implements the ``Router`` and
``RequestSource`` seams of ``fleetsim.dataplane.protocols``).
"""

from __future__ import annotations

from fleetsim.dataplane.protocols import Host
from fleetsim.dataplane.request import OK, Request


class Answers:
    """Records every status the requests it made heard, in order."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.sent: list[Request] = []

    def request(self, started: float = 0.0, cost: float = 1.0) -> Request:
        """A request whose answers come back here."""
        made = Request(self, self, started)
        made.cost = cost
        return made

    def send(self, request: Request) -> None:
        self.sent.append(request)

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        self.answers.append(status)

    def succeed(self, request: Request) -> None:
        self.answers.append(OK)

    def fail(self, request: Request, status: int) -> None:
        self.answers.append(status)
