"""metrics-server: pod CPU usage as the resource metrics API serves it to the HPA.

Every ``spec.cluster.metricsResolution`` (metrics-server ``--metric-resolution``, 15 s
by default since v0.6) it scrapes each node's kubelet and stores, per pod, the CPU usage
rate over the window since the previous scrape, stamped with the scrape time. A pod has
no metric until its container has been through one full window (two cumulative points),
so a pod that just started is "missing" to the HPA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster
    from fleetsim.kubernetes.pod import Pod


class PodSample(NamedTuple):
    """One pod's CPU usage rate (cores) over the window ending at ``time``."""

    usage: float
    time: float


class MetricsServer:
    """Owns the pods' CPU samples; the HPA and the time series ask it."""

    def __init__(self, cluster: Cluster, resolution: float) -> None:
        self.cluster = cluster
        self.resolution = resolution
        self._samples: dict[Pod, PodSample] = {}
        self._sampled_seconds: dict[Pod, float] = {}

    def sample(self, pod: Pod) -> PodSample | None:
        """The pod's latest sample; None while it has none (it is "missing")."""
        return self._samples.get(pod)

    def start(self) -> None:
        self.cluster.env.every(self.resolution, self.scrape)

    def scrape(self, now: float) -> None:
        kubelet = self.cluster.kubelet
        for deployment in self.cluster.deployments.values():
            for pod in deployment.pods:
                container = pod.container
                if container is None or (pod.node is not None and pod.node.unreachable):
                    # Not running, or its node's kubelet cannot be scraped: no metric.
                    self._samples.pop(pod, None)
                    continue
                kubelet.account_cpu(pod, now)
                began = pod.app_started if pod.app_started is not None else now
                previous = now - self.resolution
                if began <= previous:
                    window = self.resolution
                    usage = (pod.cpu_seconds - self._sampled_seconds.get(pod, 0.0)) / window
                    self._samples[pod] = PodSample(usage, now)
                else:
                    self._samples.pop(pod, None)
                self._sampled_seconds[pod] = pod.cpu_seconds

    def utilization(self, deployment_name: str) -> float | None:
        """Pooled usage / pooled requests of the pods with a sample (a fraction)."""
        deployment = self.cluster.deployments[deployment_name]
        request = deployment.spec.resources.requests.cpu
        if not request:
            return None
        samples = self._samples
        usage = [samples[pod].usage for pod in deployment.pods if pod in samples]
        if not usage:
            return None
        return sum(usage) / (request * len(usage))
