"""Name resolution in a run: who answers the pods' queries, and the resolvers that ask.

One :class:`NameResolution` per run holds the nameserver (the CoreDNS pods with
``spec.clusterDNS``, else an ideal one on each node), one resolver per service and
library (its pods' ``dnsConfig``), and what each service's pods saw of DNS. It is the
kubelet's seam for the app's own lookups (``Cluster.call_routes``): a call whose
``lookup`` is set gets a :class:`~fleetsim.cluster.name_lookup.ResolvingRoute`, unless
the pod's ``Sidecar`` binds that service to a local socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetsim.cluster.coredns import CoreDNS
from fleetsim.cluster.dns import DnsClientStats, Names, Nameserver, NodeNameserver, Resolver
from fleetsim.cluster.name_lookup import ResolvingRoute

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import Router
    from fleetsim.engine.environment import Environment
    from fleetsim.engine.random import RandomStreams
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.scenario.mesh import Call
    from fleetsim.scenario.schema import Spec


class NameResolution:
    def __init__(self, env: Environment, streams: RandomStreams, spec: Spec) -> None:
        self.env = env
        self.spec = spec
        self.names = Names()
        self.coredns: CoreDNS | None = None
        nameserver: Nameserver
        if spec.cluster_dns is not None:
            self.coredns = CoreDNS(env, streams, spec.cluster_dns, self.names)
            nameserver = self.coredns
        else:
            nameserver = NodeNameserver(env, self.names)
        self.nameserver = nameserver
        self.stats = {service.name: DnsClientStats() for service in spec.services}
        self._specs = {service.name: service for service in spec.services}
        self._resolvers: dict[tuple[str, str], Resolver] = {}
        self._streams = streams

    @property
    def modelled(self) -> bool:
        """The scenario asks about DNS: a cluster DNS service, or apps that look names up."""
        return self.spec.cluster_dns is not None or any(
            call.lookup is not None for service in self.spec.services for call in service.calls
        )

    @property
    def service(self) -> str | None:
        """The cluster DNS service's name, if the scenario has one."""
        return None if self.spec.cluster_dns is None else self.spec.cluster_dns.service

    def resolver(self, service: str, library: str = "glibc") -> Resolver:
        """The resolver of ``service``'s pods (``glibc`` for the app, ``c-ares`` for Envoy)."""
        key = (service, library)
        resolver = self._resolvers.get(key)
        if resolver is None:
            config = self._specs[service].dns_config
            resolver = Resolver(
                self.env, config, self.nameserver, self.stats[service], library=library
            )
            self._resolvers[key] = resolver
        return resolver

    def start(self) -> None:
        if self.coredns is not None:
            self.coredns.start(self._streams)

    # --- the kubelet's seam: the routes of an app's calls ----------------------------

    def call_route(self, pod: Pod, call: Call, route: Router) -> Router:
        """The route the app's ``call`` takes: behind its own lookup, if it makes one."""
        lookup = call.lookup
        if lookup is None:
            return route
        sidecar = pod.deployment.spec.sidecar
        if (
            self.spec.mesh is not None
            and sidecar is not None
            and (call.service in sidecar.local_socket_hosts())
        ):
            return route  # the app calls the proxy's local socket, not a name
        return ResolvingRoute(route, self.resolver(pod.service_name), pod, lookup)
