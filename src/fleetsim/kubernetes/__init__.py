"""The Kubernetes layer: one module per component, named as Kubernetes names them.

``node`` and ``node_lifecycle`` (nodes boot, become Ready, drain, terminate),
``scheduler`` (kube-scheduler binding pending pods), ``pod`` (the API object and its
status), ``kubelet`` (containers, restarts, termination, CPU accounting), ``probes``
(the kubelet's prober workers), ``endpoints`` (the EndpointSlice controller and the
clients' view), ``deployment`` (replicas and rolling updates), ``metrics_server`` and
``podautoscaler`` (the HPA: API objects, replica calculator, horizontal controller),
``sidecars`` (the seams a service mesh plugs into). ``cluster`` ties them to one clock.
Nothing here imports Envoy or Istio.
"""
