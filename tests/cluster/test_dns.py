"""The pod's DNS resolver: search-list expansion (``ndots``) and per-library retry timing.

Candidates follow resolv.conf(5) (``search``, ``ndots``; the kubelet's ClusterFirst search
list and ``ndots:5``, ``pkg/kubelet/network/dns/dns.go``); try timeouts follow glibc
(``timeout:5``, ``attempts:2``) and c-ares (``ares_process.c`` doubles the wait each round;
defaults 5 s and 4 tries, ``ares_private.h``), as ``fleetsim.cluster.dns`` describes.
Lookups here are answered by the node's ideal nameserver (no ``clusterDNS``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest

from fleetsim.cluster.dns import (
    ANSWER_TIME,
    DnsClientStats,
    Names,
    NodeNameserver,
    Resolver,
)
from fleetsim.engine.environment import Environment
from fleetsim.kubernetes.node import Node
from fleetsim.scenario.kubernetes import DNSConfig, DNSOption

NEVER = math.inf


def node(dns_ready_at: float) -> Node:
    return Node("n-0", "pool", "zone-a", dns_ready_at=dns_ready_at)


class Outcome(NamedTuple):
    resolved: bool
    duration: float
    queries: int


def make(config: DNSConfig, library: str = "glibc", names: Names | None = None) -> Resolver:
    env = Environment()
    nameserver = NodeNameserver(env, names or Names())
    return Resolver(env, config, nameserver, DnsClientStats(), library=library)


def resolve(resolver: Resolver, name: str, on: Node) -> Outcome:
    """Run one lookup to its end on the resolver's own clock."""
    outcomes: list[tuple[bool, float]] = []
    resolver.resolve(name, on, lambda resolved, took: outcomes.append((resolved, took)))
    resolver.env.run(1000.0)
    assert len(outcomes) == 1
    return Outcome(outcomes[0][0], outcomes[0][1], resolver.stats.queries)


def test_ndots_5_tries_the_search_suffixes_first() -> None:
    resolver = make(DNSConfig())
    assert resolver.candidates("istiod.istio-system.svc") == [
        "istiod.istio-system.svc.default.svc.cluster.local",
        "istiod.istio-system.svc.svc.cluster.local",
        "istiod.istio-system.svc.cluster.local",
        "istiod.istio-system.svc",
    ]


def test_a_name_with_ndots_dots_is_tried_as_given_first() -> None:
    resolver = make(DNSConfig(options=[DNSOption(name="ndots", value=2)]))
    assert resolver.candidates("istiod.istio-system.svc") == [
        "istiod.istio-system.svc",
        "istiod.istio-system.svc.default.svc.cluster.local",
        "istiod.istio-system.svc.svc.cluster.local",
        "istiod.istio-system.svc.cluster.local",
    ]
    # A trailing dot makes it absolute: no search at all.
    assert resolver.candidates("istiod.istio-system.svc.cluster.local.") == [
        "istiod.istio-system.svc.cluster.local"
    ]


def test_istiod_resolves_through_the_cluster_local_suffix() -> None:
    outcome = resolve(make(DNSConfig(), "c-ares"), "istiod.istio-system.svc", node(0.0))
    # default.svc.cluster.local and svc.cluster.local give NXDOMAIN; cluster.local is
    # the third candidate and a Service name: three answered queries (c-ares: A only).
    assert outcome.resolved
    assert outcome.queries == 3
    assert outcome.duration == pytest.approx(3 * ANSWER_TIME)


def test_glibc_sends_a_and_aaaa_for_each_name_tried() -> None:
    outcome = resolve(make(DNSConfig()), "istiod.istio-system.svc", node(0.0))
    assert outcome.resolved
    assert outcome.queries == 2 * 3
    assert outcome.duration == pytest.approx(3 * ANSWER_TIME)


def test_with_ndots_1_the_bare_name_costs_one_more_name() -> None:
    config = DNSConfig(options=[DNSOption(name="ndots", value=1)])
    outcome = resolve(make(config, "c-ares"), "istiod.istio-system.svc", node(0.0))
    assert outcome.resolved
    assert outcome.queries == 4  # as given (NXDOMAIN), then the three suffixes
    assert outcome.duration == pytest.approx(4 * ANSWER_TIME)


@pytest.mark.parametrize(
    "searches",
    [
        ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "ec2.internal"],
    ],
)
def test_an_external_name_costs_two_queries_per_suffix_plus_two(searches: list[str]) -> None:
    # Closed form (semantics 5.1): with ndots:5 an external name such as api.example.com
    # (2 dots) is tried with every suffix (NXDOMAIN each), then as given:
    # 2 x (S + 1) queries with glibc's A + AAAA, of which 2 x S are NXDOMAIN.
    names = Names(external={"api.example.com"})
    outcome = resolve(make(DNSConfig(searches=searches), names=names), "api.example.com", node(0))
    assert outcome.resolved
    assert outcome.queries == 2 * (len(searches) + 1)


def test_a_name_that_exists_nowhere_fails_after_every_candidate() -> None:
    outcome = resolve(make(DNSConfig()), "api.example.com", node(0.0))
    assert not outcome.resolved
    assert outcome.queries == 2 * 4
    assert outcome.duration == pytest.approx(4 * ANSWER_TIME)


def test_c_ares_defaults_give_up_after_75s_of_silence() -> None:
    resolver = make(DNSConfig(), "c-ares")
    assert resolver.try_timeouts == [5.0, 10.0, 20.0, 40.0]
    outcome = resolve(resolver, "istiod.istio-system.svc", node(NEVER))
    # A timeout ends the lookup: the next suffix is not tried.
    assert not outcome.resolved
    assert outcome.duration == pytest.approx(75.0)
    assert outcome.queries == 4


def test_glibc_defaults_give_up_after_10s() -> None:
    resolver = make(DNSConfig())
    assert resolver.try_timeouts == [5.0, 5.0]
    outcome = resolve(resolver, "istiod.istio-system.svc", node(NEVER))
    assert not outcome.resolved
    assert outcome.duration == pytest.approx(10.0)
    assert outcome.queries == 2 * 2


def test_c_ares_takes_resolv_conf_options_when_given() -> None:
    config = DNSConfig(
        options=[DNSOption(name="timeout", value=2), DNSOption(name="attempts", value=3)]
    )
    resolver = make(config, "c-ares")
    assert resolver.try_timeouts == [2.0, 4.0, 8.0]
    outcome = resolve(resolver, "istiod.istio-system.svc", node(NEVER))
    assert outcome.duration == pytest.approx(14.0)


def test_a_try_sent_after_the_node_dns_is_up_succeeds() -> None:
    # DNS answers from 12 s. c-ares tries at 0 and 5 s go unanswered; the third try,
    # sent at 15 s, is answered, and the remaining candidates answer at once.
    outcome = resolve(make(DNSConfig(), "c-ares"), "istiod.istio-system.svc", node(12.0))
    assert outcome.resolved
    assert outcome.duration == pytest.approx(15.0 + 3 * ANSWER_TIME)
    assert outcome.queries == 3 + 2
    # glibc sends its two tries at 0 and 5 s, both before 12 s: it gives up at 10 s.
    glibc = resolve(make(DNSConfig()), "istiod.istio-system.svc", node(12.0))
    assert not glibc.resolved
    assert glibc.duration == pytest.approx(10.0)
    # With DNS up at 4 s glibc's second try (5 s) gets through.
    late = resolve(make(DNSConfig()), "istiod.istio-system.svc", node(4.0))
    assert late.resolved
    assert late.duration == pytest.approx(5.0 + 3 * ANSWER_TIME)
