"""The ingress gateway: the Envoys that external traffic enters the mesh through.

``spec.mesh.ingressGateway.replicas`` gateway proxies (default 3), spread over the zones
in turn, each with a route to every service that external traffic targets. A traffic
source hands each request to one gateway at random, as a cloud load balancer in front of
the gateway Service would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from fleetsim.dataplane.protocols import Router
from fleetsim.engine.random import integers_from

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Host
    from fleetsim.dataplane.request import Request
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.proxy import SidecarProxy
    from fleetsim.envoy.router import ProxyRoute

GATEWAY: Final = "istio-ingressgateway"


class GatewayEntry(Router):
    """Where a traffic source sends: one of the ingress-gateway proxies, at random."""

    __slots__ = ("_draws", "routes")

    def __init__(self, routes: list[ProxyRoute], draws: Iterator[int]) -> None:
        self.routes = routes
        self._draws = draws

    def send(self, request: Request) -> None:
        route = self.routes[next(self._draws)]
        request.route = route
        route.send(request)

    def on_response(self, request: Request, try_number: int, status: int, host: Host) -> None:
        """Never called: a request's route is the gateway route it was handed to."""
        request.route.on_response(request, try_number, status, host)


def gateway_entry(
    gateways: list[SidecarProxy], target: str, streams: RandomStreams
) -> GatewayEntry:
    """The entry for traffic to ``target``: its route in every gateway proxy."""
    routes = [gateway.routes[target] for gateway in gateways]
    draws = integers_from(streams.generator(f"mesh/gateway/{target}"), len(routes))
    return GatewayEntry(routes, draws)
