"""An app that resolves the name of the service it calls: DNS on the request path.

Some client libraries look the destination's name up before every call, even when a
proxy does the routing: the write-up's NodeJS Thrift client resolved the backend's
Service name for each request although Envoy sent the request to an endpoint's IP. Each
call then waits for the lookup, and a lookup that fails fails the call before it is sent
(``getaddrinfo`` returns ``EAI_AGAIN``): with the cluster's DNS on every request path,
a DNS hiccup is an error spike in every service that does this.

:class:`ResolvingRoute` stands in front of the route of one call of one pod. With
``every: request`` each call starts a lookup; with ``every: ttl`` an answer is kept in
the process for ``ttl`` and only the first call after it expires looks the name up
(calls arriving meanwhile wait for that lookup, as a library that coalesces them does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.dataplane.protocols import Router
from fleetsim.dataplane.request import DNS_FAILURE

if TYPE_CHECKING:
    from fleetsim.cluster.dns import Resolver
    from fleetsim.dataplane.protocols import Host
    from fleetsim.dataplane.request import Request
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.scenario.dns import NameLookup


class ResolvingRoute(Router):
    """The route of one call of one pod, behind the app's own name lookup."""

    __slots__ = ("_waiting", "inner", "name", "pod", "resolver", "spec", "valid_until")

    def __init__(self, inner: Router, resolver: Resolver, pod: Pod, spec: NameLookup) -> None:
        self.inner = inner
        self.resolver = resolver
        self.pod = pod
        self.spec = spec
        self.name = spec.name
        self.valid_until = -1.0
        self._waiting: list[Request] | None = None

    def send(self, request: Request) -> None:
        now = self.resolver.env.now
        request.route = self.inner
        if self.spec.every == "ttl" and now < self.valid_until:
            self.inner.send(request)
            return
        node = self.pod.node
        if node is None:
            request.source.fail(request, DNS_FAILURE)
            return
        if self.spec.every == "ttl":
            if self._waiting is not None:
                self._waiting.append(request)
                return
            self._waiting = [request]
            self.resolver.resolve(self.name, node, self._resolved_all)
            return
        self.resolver.resolve(self.name, node, _Pending(self, request).resolved)

    def _resolved_all(self, resolved: bool, _elapsed: float) -> None:
        waiting = self._waiting or []
        self._waiting = None
        if resolved:
            self.valid_until = self.resolver.env.now + self.spec.ttl
        for request in waiting:
            self.deliver(request, resolved)

    def deliver(self, request: Request, resolved: bool) -> None:
        if resolved:
            self.inner.send(request)
        else:
            request.source.fail(request, DNS_FAILURE)

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """Answers go to the inner route (``request.route``), never here."""
        self.inner.on_response(request, try_number, status, host)


class _Pending:
    """A call waiting for its own lookup (``every: request``)."""

    __slots__ = ("request", "route")

    def __init__(self, route: ResolvingRoute, request: Request) -> None:
        self.route = route
        self.request = request

    def resolved(self, resolved: bool, _elapsed: float) -> None:
        self.route.deliver(self.request, resolved)
