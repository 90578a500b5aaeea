"""The istio-proxy sidecar's start-up: pilot-agent, Envoy, and the control plane's name.

Implements ``fleetsim.kubernetes.sidecars.SidecarStartup``; it tells the kubelet when
the sidecar is ready, and the kubelet starts the app.

Envoy turns ready only once it has its first configuration from istiod, and it reaches
istiod by the MeshConfig ``discoveryAddress`` (``istiod.istio-system.svc:15012``), a
DNS name resolved through the pod's resolver (``cluster.dns``) by whoever answers the
cluster's queries (the CoreDNS pods with ``spec.clusterDNS``). When that lookup fails,
Envoy resolves again only after ``dnsRefreshRate`` (Envoy's ``dns_refresh_rate``, used
as the failure refresh rate too when ``dns_failure_refresh_rate`` is unset:
``cluster.proto``). Istio's installer set it to 300 s in 2019-era Helm values; Envoy's
own default is 5 s and current Istio's is 60 s (``pkg/config/mesh/mesh.go``). On a node
whose DNS answers only some time after boot, the refresh rate therefore decides how long
after DNS comes up the sidecar, and with it the pod, turns ready.

The application container starts only after the sidecar is ready, as with Istio's
``holdApplicationUntilProxyStarts`` (and as the containers started in order then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.cluster.dns import Resolver
    from fleetsim.engine.environment import Environment
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.metrics.events import EventLog
    from fleetsim.scenario.kubernetes import Sidecar


class SidecarStartup:
    """Starts the sidecars of one Deployment's pods."""

    def __init__(
        self,
        env: Environment,
        spec: Sidecar,
        resolver: Resolver,
        events: EventLog,
    ) -> None:
        self.env = env
        self.spec = spec
        self.resolver = resolver  # Envoy's: c-ares, over the pod's resolv.conf
        self.events = events
        self.kubelet: Kubelet | None = None

    def start(self, pod: Pod, kubelet: Kubelet) -> None:
        """The sidecar container starts; pilot-agent asks for config after ``start``."""
        self.kubelet = kubelet
        self.env.schedule(self.spec.start, self._resolve, (pod, pod.generation))

    def _resolve(self, argument: tuple[Pod, int]) -> None:
        pod, generation = argument
        if pod.generation != generation or pod.deleting or pod.node is None:
            return
        self.resolver.resolve(
            self.spec.discovery_address, pod.node, _Resolving(self, pod, generation).done
        )

    def lookup_done(self, pod: Pod, generation: int, resolved: bool) -> None:
        if pod.generation != generation or pod.deleting:
            return
        if resolved:
            if self.kubelet is not None:
                self.kubelet.sidecar_started(pod)
            return
        # The lookup gave up; Envoy resolves again after ``dnsRefreshRate``.
        self.events.record("dns_lookup_failed", pod.service_name, pod.name)
        self.env.schedule(self.spec.dns_refresh_rate, self._resolve, (pod, generation))


class _Resolving:
    __slots__ = ("generation", "pod", "startup")

    def __init__(self, startup: SidecarStartup, pod: Pod, generation: int) -> None:
        self.startup = startup
        self.pod = pod
        self.generation = generation

    def done(self, resolved: bool, _elapsed: float) -> None:
        self.startup.lookup_done(self.pod, self.generation, resolved)
