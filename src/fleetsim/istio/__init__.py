"""Istio: istiod (route configuration and endpoint pushes), the ingress gateway,
pilot-agent (the sidecar's start-up) and the mesh (the sidecar injector and the
sidecar's life cycle).
"""
