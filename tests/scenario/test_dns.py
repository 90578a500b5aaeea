"""The DNS blocks of a scenario (``spec.clusterDNS``, ``calls[].lookup``, a Sidecar's
``egress``): their defaults, and one clear error each."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetsim.scenario.dns import CACHE_CAPACITY, ClusterDNS
from fleetsim.scenario.loader import load_scenario
from tests.scenario_files import assert_one_clear_error, scenario_error, write_scenario

FULL = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata:
  name: dns-full
spec:
  duration: 1m
  clusterDNS:
    service: coredns
    otherQueries: {rate: 100/s}
  mesh: {}
  services:
    - name: coredns
      replicas: 2
      serviceTime: {distribution: constant, mean: 56us}
    - name: frontend
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
      sidecar:
        egress:
          - {hosts: [backend], bind: 127.0.0.1, port: 9090}
      calls:
        - service: backend
          lookup: {name: backend.default, every: ttl, ttl: 10s}
    - name: backend
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
  traffic:
    - name: users
      target: frontend
      rate: 10/s
"""


def test_the_full_dns_scenario_parses(tmp_path: Path) -> None:
    spec = load_scenario(write_scenario(tmp_path, FULL)).scenario.spec
    assert spec.cluster_dns is not None
    assert spec.cluster_dns.service == "coredns"
    frontend = spec.services[1]
    lookup = frontend.calls[0].lookup
    assert lookup is not None
    assert (lookup.name, lookup.every, lookup.ttl) == ("backend.default", "ttl", 10.0)
    assert frontend.sidecar is not None
    assert frontend.sidecar.egress_scope() == {"backend"}
    assert frontend.sidecar.local_socket_hosts() == {"backend"}


def test_cluster_dns_defaults_are_corednss() -> None:
    dns = ClusterDNS.model_validate({"service": "coredns"})
    assert (dns.cache.success, dns.cache.denial) == (CACHE_CAPACITY, 9984)
    assert (dns.cache.max_success_ttl, dns.cache.max_denial_ttl) == (3600.0, 1800.0)
    assert dns.cache.servfail_ttl == 5.0
    assert dns.kubernetes.ttl == 30.0
    assert not dns.node_local_dns_cache.enabled
    assert dns.other_queries is None


@pytest.mark.parametrize(
    "case",
    [
        (
            "    service: coredns\n",
            "    service: kube-dns\n",
            "spec.clusterDNS.service",
            "kube-dns",
            "expected the name of a service in spec.services",
            None,
        ),
        (
            "          - {hosts: [backend], bind: 127.0.0.1, port: 9090}\n",
            "          - {hosts: [backnd], bind: 127.0.0.1, port: 9090}\n",
            "spec.services[1].sidecar.egress[0].hosts[0]",
            "backnd",
            "did you mean 'backend'?",
            None,
        ),
        (
            "          - {hosts: [backend], bind: 127.0.0.1, port: 9090}\n",
            "          - {hosts: [coredns], bind: 127.0.0.1, port: 9090}\n",
            "spec.services[1].calls[0].service",
            "backend",
            "expected a service in the pod's Sidecar egress hosts (coredns)",
            "    - service: backend\n",
        ),
        (
            "      target: frontend\n",
            "      target: coredns\n",
            "spec.traffic[0].target",
            "coredns",
            "expected a service other than the cluster DNS",
            None,
        ),
        (
            "lookup: {name: backend.default, every: ttl, ttl: 10s}",
            "lookup: {name: backend.default, every: call, ttl: 10s}",
            "spec.services[1].calls[0].lookup.every",
            "call",
            "request",
            None,
        ),
    ],
)
def test_each_bad_dns_field_gets_one_clear_error(
    tmp_path: Path, case: tuple[str, str, str, object, str, str | None]
) -> None:
    assert_one_clear_error(tmp_path, FULL, case)


def test_the_cluster_dns_service_makes_no_calls(tmp_path: Path) -> None:
    text = FULL.replace(
        "      serviceTime: {distribution: constant, mean: 56us}\n",
        "      serviceTime: {distribution: constant, mean: 56us}\n"
        "      calls: [{service: backend}]\n",
    )
    error = scenario_error(write_scenario(tmp_path, text))
    assert error.path == "spec.services[0].calls"
    assert "expected no calls on the cluster DNS service 'coredns'" in error.expected
