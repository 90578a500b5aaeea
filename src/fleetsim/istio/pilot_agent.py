"""The istio-proxy sidecar's start-up: pilot-agent, Envoy, and the control plane's name.

Implements ``fleetsim.kubernetes.sidecars.SidecarStartup``; it tells the kubelet when
the sidecar is ready, and the kubelet starts the app.

Envoy turns ready only once it has its first configuration from istiod, and it reaches
istiod by the MeshConfig ``discoveryAddress`` (``istiod.istio-system.svc:15012``), a
DNS name resolved through the pod's resolver (``cluster.dns``). When that lookup fails,
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

from fleetsim.cluster.dns import Resolver, service_fqdn

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.pod import Pod
    from fleetsim.metrics.events import EventLog
    from fleetsim.scenario.kubernetes import DNSConfig, Sidecar


class SidecarStartup:
    """Starts the sidecars of one Deployment's pods."""

    def __init__(
        self,
        env: Environment,
        spec: Sidecar,
        dns_config: DNSConfig,
        events: EventLog,
    ) -> None:
        self.env = env
        self.spec = spec
        # istiod is up: its Service name is the one name that resolves here.
        known = {service_fqdn(spec.discovery_address)}
        self.resolver = Resolver(dns_config, library="c-ares", known=known)
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
        lookup = self.resolver.lookup(self.spec.discovery_address, pod.node, self.env.now)
        if lookup.resolved:
            self.env.schedule(lookup.duration, self._connected, (pod, generation))
        else:
            self.env.schedule(lookup.duration, self._lookup_failed, (pod, generation))

    def _lookup_failed(self, argument: tuple[Pod, int]) -> None:
        """The lookup gave up; Envoy resolves again after ``dnsRefreshRate``."""
        pod, generation = argument
        if pod.generation != generation or pod.deleting:
            return
        self.events.record("dns_lookup_failed", pod.service_name)
        self.env.schedule(self.spec.dns_refresh_rate, self._resolve, (pod, generation))

    def _connected(self, argument: tuple[Pod, int]) -> None:
        pod, generation = argument
        if pod.generation != generation or pod.deleting or self.kubelet is None:
            return
        self.kubelet.sidecar_started(pod)
