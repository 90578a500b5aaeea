"""The typed seams of the per-request path: what one room hands another.

The data plane defines them and the rooms above implement them, so that requests,
containers and traffic sources need not know who routes them:

- a :class:`Host` takes attempts: an app container, or the "no healthy upstream" stand-in
  of a router with no endpoint (a base class, as :class:`Router` is: every
  implementation is compiled with the hot path, see ``fleetsim.compiled``);
- a :class:`Router` sends a request's tries and hears each answer (a
  :class:`Responder`, which a kubelet probe is too): the client-side router
  without a mesh, Envoy's router in a sidecar or the ingress gateway (``fleetsim.envoy``);
- a :class:`RequestSource` hears a request's outcome: a traffic source, or the chain of
  calls a worker makes while it serves a request (``fleetsim.dataplane.calls``);
- an :class:`EndpointSubscriber` is told a service's ready endpoints (the endpoints
  controller publishes to it);
- an :class:`InboundProxy` is the sidecar in front of an app container, as a client's
  proxy sees it (``fleetsim.envoy.proxy``);
- :class:`ProcessHooks` is the app's process as its node's co-tenants shape it: how
  long a request waits when its worker starts it (``fleetsim.node.process``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleetsim.dataplane.request import Request


class ProcessHooks(Protocol):
    """What an app container asks its process on the per-request path."""

    def start_delay(self, now: float, request: Request) -> float:
        """Seconds ``request``, which a worker starts at ``now``, waits before it is
        served (the wait holds the worker)."""
        ...


class InboundProxy(Protocol):
    """The server-side Envoy of a pod: up or restarting, and its connection counts."""

    @property
    def up(self) -> bool: ...

    @property
    def epoch(self) -> int:
        """Bumped at each restart: connections opened before it are gone."""
        ...

    def app_acquire(self) -> None: ...

    def app_release(self) -> None: ...

    def downstream_opened(self) -> None: ...

    def downstream_closed(self) -> None: ...

    def orphan_connection(self) -> None: ...


class Host:
    """An endpoint that takes the attempts of requests: an app container, or the "no
    healthy upstream" stand-in of a router with no endpoint.

    A base class, not a Protocol: once compiled, a router's ``host.accept`` is then a
    direct call instead of a method looked up by name, and this is the hot path.
    """

    __slots__ = ()

    zone: str
    inbound: InboundProxy | None
    """The sidecar in front of it, in a mesh."""

    def accept(self, request: Request, try_number: int) -> None:
        raise NotImplementedError


class Responder(Protocol):
    """Hears the answer to each try of a request: its router, or a kubelet probe itself."""

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """``host`` answered try ``try_number`` with ``status`` (see ``request``)."""
        ...


class Router:
    """Sends the tries of requests to hosts and hears their answers (a ``Responder``).

    A base class for the same reason as ``Host``: traffic sources and calls hand each
    request to ``route.send``.
    """

    __slots__ = ()

    def send(self, request: Request) -> None:
        raise NotImplementedError

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """``host`` answered try ``try_number`` with ``status`` (see ``request``)."""
        raise NotImplementedError


class RequestSource(Protocol):
    """Where a request came from: it hears the final outcome."""

    def succeed(self, request: Request) -> None: ...

    def fail(self, request: Request, status: int) -> None: ...


class EndpointSubscriber(Protocol):
    """Holds a view of one service's ready endpoints."""

    def set_endpoints(self, endpoints: Sequence[Host]) -> None: ...
