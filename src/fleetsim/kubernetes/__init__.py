"""The Kubernetes layer: one module per component, named as Kubernetes names them.

``node_lifecycle`` (nodes boot, become Ready, drain, terminate), ``scheduler``
(kube-scheduler binding pending pods), ``kubelet`` (containers, restarts, termination,
CPU accounting), ``probes`` (the kubelet's prober workers), ``endpoints`` (the
EndpointSlice controller and the clients' view), ``deployment`` (replicas and rolling
updates), ``metrics_server`` and ``podautoscaler`` (the HPA controller around the
decision logic in ``hpa``). ``cluster`` ties them to one simulation.
"""
