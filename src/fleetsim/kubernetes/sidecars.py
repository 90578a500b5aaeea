"""The seams through which a service mesh hooks into the pod lifecycle.

Kubernetes knows nothing of Istio: an injected sidecar is just another container of the
pod. What the kubelet needs from whoever injected it is said here as protocols, which
``fleetsim.istio`` implements:

- :class:`SidecarStartup`: the sidecar container's start-up, before the app starts (as
  with Istio's ``holdApplicationUntilProxyStarts``); it reports back through
  :meth:`Kubelet.sidecar_started <fleetsim.kubernetes.kubelet.Kubelet.sidecar_started>`.
- :class:`SidecarInjector`: the proxy on the pod's data path: the inbound proxy in front
  of the app, the routes the app's outbound calls take, and the pod's removal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleetsim.dataplane.protocols import InboundProxy, Router
    from fleetsim.kubernetes.kubelet import Kubelet
    from fleetsim.kubernetes.pod import Pod


class SidecarStartup(Protocol):
    """Starts the sidecar container of a pod; the kubelet starts the app after it."""

    def start(self, pod: Pod, kubelet: Kubelet) -> None: ...


class SidecarInjector(Protocol):
    """The proxy a mesh puts on each pod's data path."""

    def inbound_proxy(self, pod: Pod) -> InboundProxy:
        """The pod's proxy, created when the pod's first app container starts."""
        ...

    def outbound_routes(self, pod: Pod) -> Mapping[str, Router]:
        """The routes the pod's app calls other services through."""
        ...

    def pod_removed(self, pod: Pod) -> None: ...
