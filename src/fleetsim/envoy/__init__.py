"""Envoy's mechanisms, one file each, named as Envoy names them: the router, the retry
policy, load balancers, locality priorities, outlier detection, circuit breakers,
connection pools, the upstream cluster, the proxy itself, and the route factory that
builds routers with and without a mesh.
"""
