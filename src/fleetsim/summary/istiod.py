"""istiod's pods and the proxies' xDS views, when the mesh models istiod as pods.

Per proxy group (a service's sidecars, or the ingress gateway), over the measured
window:

- ``stale_endpoint_seconds``: proxy-seconds during which a proxy's view of some
  destination it calls differed from what istiod publishes (the sum over the group's
  proxies; every push makes each proxy briefly stale, a dead istiod for up to its
  proxies' keepalive window);
- ``stale_proxies_max``: the most proxies stale at once, sampled at the metrics
  interval boundaries (the ``stale_proxies`` series column);
- ``tries_to_gone_endpoints``: tries that reached a pod of the *destination* service
  after its container had stopped or was lost (a client's stale endpoint list).

Per istiod pod (``mesh.istiod.pods``, every pod the run had, in creation order): its
node, its state at the end (``running``, ``lost`` with its node, ``deleted``), the
proxies connected now and at most, its debounced pushes and its full pushes (one per
proxy that connected).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetsim.istio.ingress_gateway import GATEWAY
from fleetsim.scenario.mesh import ISTIOD
from fleetsim.summary.model import IstiodFigures, IstiodPodFigures, XdsFigures

if TYPE_CHECKING:
    from fleetsim.dataplane.service import Service
    from fleetsim.istio.xds import XdsControlPlane
    from fleetsim.kubernetes.cluster import Cluster


class XdsViews:
    """Window baselines and interval samples of the proxies' staleness."""

    def __init__(self, xds: XdsControlPlane, services: dict[str, Service]) -> None:
        self.xds = xds
        self.services = services
        self.stale_at_start: dict[str, float] = {}
        self.gone_at_start: dict[str, int] = {}
        self.stale_max: dict[str, int] = {}

    def start_window(self) -> None:
        groups = [*self.services, GATEWAY]
        self.stale_at_start = {group: self.xds.stale_seconds(group) for group in groups}
        self.gone_at_start = {name: s.gone_tries for name, s in self.services.items()}
        self.stale_max = {}

    def sample(self, group: str) -> dict[str, Any]:
        """The series column of one proxy group (called at each interval end)."""
        self._track(GATEWAY)  # the gateway has no series row of its own
        return {"stale_proxies": self._track(group)}

    def _track(self, group: str) -> int:
        stale = self.xds.stale_proxies(group)
        self.stale_max[group] = max(self.stale_max.get(group, 0), stale)
        return stale

    def figures(self, group: str) -> XdsFigures:
        service = self.services.get(group)
        gone = 0 if service is None else service.gone_tries - self.gone_at_start.get(group, 0)
        stale = self.xds.stale_seconds(group) - self.stale_at_start.get(group, 0.0)
        return XdsFigures(
            stale_endpoint_seconds=round(stale, 6),
            stale_proxies_max=self.stale_max.get(group, 0),
            tries_to_gone_endpoints=gone,
        )

    def istiod(self, cluster: Cluster) -> IstiodFigures:
        deployment = cluster.deployments.get(ISTIOD)
        nodes = {
            pod.name: (pod.node.name if pod.node is not None else None)
            for pod in (deployment.all_pods if deployment is not None else [])
        }
        pods = [
            IstiodPodFigures(
                name=server.name,
                node=nodes.get(server.name),
                state=server.state,
                connected_proxies=len(server.clients),
                connected_proxies_max=server.connected_max,
                pushes=server.pushes,
                full_pushes=server.full_pushes,
            )
            for server in self.xds.iter_servers()
        ]
        return IstiodFigures(pods=pods, gateway=self.figures(GATEWAY))
