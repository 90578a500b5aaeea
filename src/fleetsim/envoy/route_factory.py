"""One place that builds routers from a route's settings, with and without a mesh.

- :func:`client_route`: without a mesh, one shared client-side router per destination
  (the application's own client library, or kube-proxy's view of a Service): a load
  balancer over the endpoints and the route's retry policy. A destination without a
  route gets Envoy's defaults: ``ROUND_ROBIN``, no retries.
- :func:`proxy_route`: in a mesh, the router of one Envoy for one destination, with that
  proxy's own upstream cluster (balancer, locality priorities, outlier detector,
  circuit breakers, connection pools). The mesh resolves its defaults (Istio's retry
  policy and LEAST_REQUEST) before it calls this.

Random streams are named after what owns them (``route/<destination>/...`` or
``proxy/<proxy>/<destination>/...``), so adding a route shifts no other draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fleetsim.envoy.load_balancer import make_load_balancer
from fleetsim.envoy.retry import RetryPolicy
from fleetsim.envoy.router import NoHealthyUpstream, ProxyRoute, Route
from fleetsim.envoy.upstream_cluster import UpstreamCluster

if TYPE_CHECKING:
    from fleetsim.dataplane.service import Service
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.envoy.proxy import SidecarProxy
    from fleetsim.scenario.schema import Retries
    from fleetsim.scenario.schema import Route as RouteSpec

ENVOY_DEFAULT_LOAD_BALANCER: Final = "ROUND_ROBIN"
"""Envoy's default ``LbPolicy`` (``cluster.proto``)."""


def client_route(
    env: Environment, streams: RandomStreams, service: Service, spec: RouteSpec | None
) -> Route:
    """The shared client-side router to ``service`` (no mesh)."""
    destination = service.name
    policy = spec.load_balancer if spec is not None else ENVOY_DEFAULT_LOAD_BALANCER
    balancer = make_load_balancer(
        policy, streams, f"route/{destination}/load-balancer", NoHealthyUpstream()
    )
    retries = None
    if spec is not None and spec.retries is not None:
        jitter = streams.uniform(f"route/{destination}/retry-backoff")
        retries = RetryPolicy(spec.retries, jitter)
    return Route(env, service, balancer, retries)


def proxy_route(
    env: Environment,
    streams: RandomStreams,
    proxy: SidecarProxy,
    service: Service,
    spec: RouteSpec,
    *,
    policy: str,
    retries: Retries | None,
    locality: bool,
    empty: NoHealthyUpstream,
    setup_time: float,
) -> ProxyRoute:
    """The router of ``proxy`` to ``service``, with its own upstream cluster."""
    destination = service.name
    cluster = UpstreamCluster(
        env,
        streams,
        proxy,
        destination,
        spec,
        policy=policy,
        retries=retries,
        locality=locality,
        empty=empty,
    )
    retry_policy = None
    if retries is not None:
        jitter = streams.uniform(f"proxy/{proxy.name}/{destination}/retry-backoff")
        retry_policy = RetryPolicy(retries, jitter)
    return ProxyRoute(
        env,
        service,
        cluster,
        retry_policy,
        timeout=spec.timeout,
        workers=proxy.workers,
        setup_time=setup_time,
        reselect=retries.retry_host_selection_attempts if retries is not None else 0,
    )
