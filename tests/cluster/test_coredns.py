"""CoreDNS as pods: the queries an app's lookups send, what a lost or overloaded pod
does to them, the cache plugin and NodeLocal DNSCache (``fleetsim.cluster.coredns``).

The fleet: a frontend in zone-a whose every request calls a backend after looking its
name up (``backend``: no dot, so the first search suffix, ``default.svc.cluster.local``,
answers; glibc sends A and AAAA), and CoreDNS pods spread over three zones.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from fleetsim.cluster.coredns import RandomEvictionCache
from fleetsim.result import Result
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation

RATE = 300.0
QUERY_TIME = 0.000056


def fleet(
    *,
    lookup: dict[str, Any] | None,
    duration: float = 20.0,
    coredns: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    cluster_dns: dict[str, Any] | None = None,
) -> dict[str, Any]:
    call: dict[str, Any] = {"service": "backend"}
    if lookup is not None:
        call["lookup"] = lookup
    in_zone_a = {"topology.kubernetes.io/zone": "zone-a"}
    dns_service = {
        "name": "coredns",
        "replicas": 3,
        "workers": 2,
        "serviceTime": {"distribution": "exponential", "mean": QUERY_TIME},
    }
    dns_service.update(coredns or {})
    spec: dict[str, Any] = {
        "duration": duration,
        "warmup": 5.0,
        "seed": 5,
        "zones": ["zone-a", "zone-b", "zone-c"],
        "metrics": {"interval": 5.0},
        "clusterDNS": {"service": "coredns", **(cluster_dns or {})},
        "services": [
            dns_service,
            {
                "name": "frontend",
                "replicas": 4,
                "workers": 500,
                "serviceTime": {"distribution": "exponential", "mean": 0.002},
                "nodeSelector": in_zone_a,
                "calls": [call],
            },
            {
                "name": "backend",
                "replicas": 4,
                "workers": 8,
                "serviceTime": {"distribution": "exponential", "mean": 0.005},
                "nodeSelector": in_zone_a,
            },
        ],
        "traffic": [{"name": "users", "target": "frontend", "rate": RATE}],
        "events": events or [],
    }
    return copy.deepcopy(
        {"apiVersion": "fleetsim/v1", "kind": "Scenario", "metadata": {"name": "dns"}, "spec": spec}
    )


def run(document: dict[str, Any]) -> Result:
    return Simulation(load_scenario(document)).run()


def test_a_lookup_per_request_sends_two_queries_per_call() -> None:
    summary = run(fleet(lookup={"name": "backend", "every": "request"})).summary
    dns = summary["dns"]
    client = dns["clients"]["frontend"]
    # Every call looked the name up once: one name tried (the first search suffix
    # answers), an A and an AAAA query each.
    assert client["failed"] == 0
    assert client["queries"] == 2 * client["lookups"]
    assert dns["coredns"]["queries"] == client["queries"]
    calls = summary["services"]["backend"]["attempts"]
    assert abs(client["lookups"] - calls) <= 10  # lookups in flight at the window's edges
    # CoreDNS pods needed = QPS x CPU per query / cores per pod: each pod's utilization
    # is the closed form's share of its two workers.
    qps = dns["coredns"]["queries_per_s"]
    assert qps == pytest.approx(2 * RATE, rel=0.05)  # Poisson: 6,000 calls, sd 1.3 %
    utilization = summary["services"]["coredns"]["utilization"]
    assert utilization == pytest.approx(qps * QUERY_TIME / (3 * 2), rel=0.1)


def test_without_the_lookup_no_query_is_sent() -> None:
    summary = run(fleet(lookup=None)).summary
    assert summary["dns"]["coredns"]["queries"] == 0
    assert summary["dns"]["clients"] == {}


def test_a_library_that_keeps_answers_for_a_ttl_looks_up_once_per_ttl() -> None:
    lookup = {"name": "backend", "every": "ttl", "ttl": "30s"}
    summary = run(fleet(lookup=lookup, duration=70.0)).summary
    client = summary["dns"]["clients"]["frontend"]
    # Each of the 4 frontend pods looked up at its first call (t = 0) and again after
    # each 30 s: at 30 s and 60 s within the window from 5 s to 75 s.
    assert client["lookups"] == 4 * 2
    assert summary["services"]["backend"]["attempts"] > 20_000


def test_an_external_name_costs_two_queries_per_suffix_plus_two() -> None:
    summary = run(fleet(lookup={"name": "api.partner.example"}, duration=5.0)).summary
    client = summary["dns"]["clients"]["frontend"]
    # api.partner.example does not exist upstream either: every candidate is
    # NXDOMAIN, the three search suffixes then the name as given: 2 x (3 + 1) queries.
    assert client["lookups"] > 0
    assert client["failed"] == client["lookups"]
    assert client["queries"] == 8 * client["lookups"]
    coredns = summary["dns"]["coredns"]
    assert coredns["nxdomain"] == coredns["answered"]
    # The bare name is forwarded upstream once per pod and TTL; the denial cache
    # answers the rest.
    assert coredns["cache_hit_ratio"] > 0.99


LOSE_ZONE_C = [{"at": 25.0, "action": "fail-zone", "zone": "zone-c"}]


def test_a_lost_coredns_pod_fails_the_lookups_that_reach_it_until_its_endpoint_goes() -> None:
    result = run(fleet(lookup={"name": "backend"}, duration=110.0, events=LOSE_ZONE_C))
    summary = result.summary
    client = summary["dns"]["clients"]["frontend"]
    # From 25 s kube-proxy still sends a third of the lookups' sockets to the lost pod;
    # glibc waits 5 s twice and gives up. The node turns NotReady 50 s later and the
    # pod's endpoint goes about 1 s after that.
    assert client["failed"] > 0
    assert summary["requests"]["failed"] > 0
    rows = [r for r in result.series["services"] if r["service"] == "frontend"]
    failing = [r["t"] for r in rows if r["dns_lookups_failed"] > 0]
    assert min(failing) >= 25.0 + 10.0 - 1e-9  # the first failures give up after 10 s
    assert max(failing) <= 25.0 + 50.0 + 1.0 + 10.0 + 5.0  # gone with the endpoint
    during = [r for r in rows if 40.0 <= r["t"] <= 75.0]
    share = sum(r["dns_lookups_failed"] for r in during) / sum(r["dns_lookups"] for r in during)
    # One pod of three: a third of the lookups (n ~ 10,000: the sd is 0.5 %).
    assert share == pytest.approx(1 / 3, abs=0.03)


def test_without_the_lookup_the_lost_coredns_pod_touches_no_request() -> None:
    summary = run(fleet(lookup=None, duration=110.0, events=LOSE_ZONE_C)).summary
    assert summary["requests"]["failed"] == 0


def test_an_overloaded_coredns_drops_queries_and_lookups_fail() -> None:
    # One pod of one worker at 5 ms a query takes 200 queries/s; 600 arrive. Pods
    # needed = 600 x 5 ms / 1 worker = 3. With six each runs at 50 %: its queue of 100
    # (the socket's buffer) is full with probability ~0.5^101, never in this run.
    small = {"replicas": 1, "workers": 1, "queueLimit": 100}
    slow = {"distribution": "exponential", "mean": 0.005}
    overloaded = run(fleet(lookup={"name": "backend"}, coredns={**small, "serviceTime": slow}))
    enough = run(
        fleet(lookup={"name": "backend"}, coredns={**small, "replicas": 6, "serviceTime": slow})
    )
    assert overloaded.summary["dns"]["coredns"]["unanswered"] > 0
    assert overloaded.summary["dns"]["clients"]["frontend"]["failed"] > 0
    assert enough.summary["dns"]["clients"]["frontend"]["failed"] == 0
    assert enough.summary["dns"]["clients"]["frontend"]["lookups"] > 5000


def test_node_local_dns_cache_answers_almost_every_query_on_the_node() -> None:
    cached = {"nodeLocalDNSCache": {"enabled": True}}
    summary = run(fleet(lookup={"name": "backend"}, cluster_dns=cached)).summary
    coredns = summary["dns"]["coredns"]
    client = summary["dns"]["clients"]["frontend"]
    # One node in zone-a, a 30 s cache: within the window each name is fetched once.
    assert coredns["queries"] <= 4
    assert coredns["node_local_hits"] >= client["queries"] - 4


def test_the_cache_evicts_a_random_entry_when_full() -> None:
    draws = itertools.cycle([0.0, 0.5])
    cache = RandomEvictionCache(4, draws)
    for index in range(4):
        cache.put(f"name-{index}", 0, expires=100.0)
    cache.put("name-4", 0, expires=100.0)  # evicts keys[0] (draw 0.0)
    assert cache.get("name-0", now=0.0) is None
    assert len(cache.entries) == 4
    assert cache.get("name-4", now=0.0) == 0
    assert cache.get("name-4", now=100.0) is None  # expired at its TTL
