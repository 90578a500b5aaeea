"""metrics-server: pod CPU usage as the resource metrics API serves it to the HPA.

Every ``spec.cluster.metricsResolution`` (metrics-server ``--metric-resolution``, 15 s
by default since v0.6) it scrapes each node's kubelet and stores, per pod, the CPU usage
rate over the window since the previous scrape, stamped with the scrape time. A pod has
no metric until its container has been through one full window (two cumulative points),
so a pod that just started is "missing" to the HPA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetsim.kubernetes.cluster import Cluster


class MetricsServer:
    def __init__(self, cluster: Cluster, resolution: float) -> None:
        self.cluster = cluster
        self.resolution = resolution

    def start(self) -> None:
        self.cluster.env.every(self.resolution, self.scrape)

    def scrape(self, now: float) -> None:
        kubelet = self.cluster.kubelet
        for deployment in self.cluster.deployments.values():
            for pod in deployment.pods:
                container = pod.container
                if container is None:
                    pod.cpu_usage = None
                    pod.cpu_sample_time = None
                    continue
                kubelet.account_cpu(pod, now)
                began = pod.app_started if pod.app_started is not None else now
                previous = now - self.resolution
                if began <= previous:
                    window = self.resolution
                    pod.cpu_usage = (pod.cpu_seconds - pod.cpu_sampled_seconds) / window
                    pod.cpu_sample_time = now
                else:
                    pod.cpu_usage = None
                    pod.cpu_sample_time = None
                pod.cpu_sampled_seconds = pod.cpu_seconds

    def utilization(self, deployment_name: str) -> float | None:
        """Pooled usage / pooled requests of the pods with a sample (a fraction)."""
        deployment = self.cluster.deployments[deployment_name]
        request = deployment.spec.resources.requests.cpu
        if not request:
            return None
        usage = [pod.cpu_usage for pod in deployment.pods if pod.cpu_usage is not None]
        if not usage:
            return None
        return sum(usage) / (request * len(usage))
